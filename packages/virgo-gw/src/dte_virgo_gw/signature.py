"""What a trained denoiser assumes about its input maps, and the check that input matches.

The signature of a dataset is read from its attributes (sample rate, band, durations, map
size, Q range, normalisation, channel names and count). Training stores the training data's
signature with the run (`data-signature.json`, packaged with the registered model);
`predict` and `evaluate` compare their input with it and refuse a mismatch naming both sides
and a command that gives matching input.
"""

from __future__ import annotations

import shlex
from typing import Any

import numpy as np
from dte_core import datasig
from dte_core.errors import ConfigError

from dte_virgo_gw import data as vdata

#: signature key -> (what it is, the data.* key / prepare flag that sets it)
FIELDS = {
    "sample_rate": ("sample rate [Hz]", "sample-rate"),
    "frequency_range": ("band [Hz]", "frequency-range"),
    "duration": ("sample duration [s]", "duration"),
    "pad": ("padding [s]", "pad"),
    "q_range": ("Q range", "q-range"),
    "map_shape": ("map size (frequencies x times)", "map-shape"),
    "norm": ("map normalisation", "norm"),
    "main_channel": ("main channel", "main"),
    "aux_count": ("number of auxiliary channels", "aux"),
    "aux_channels": ("auxiliary channels", "aux"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def of_info(info: vdata.DatasetInfo) -> dict[str, Any]:
    """The signature of an opened dataset, from its attributes."""
    attrs = info.attrs
    sig: dict[str, Any] = {"science": "virgo-gw", "file": str(info.file), "kind": info.kind}
    for key in ("sample_rate", "frequency_range", "duration", "pad", "q_range", "norm"):
        if key in attrs:
            sig[key] = _plain(attrs[key])
    sig["map_shape"] = [int(v) for v in info.map_shape]
    sig["main_channel"] = info.main
    sig["aux_channels"] = list(info.aux)
    sig["aux_count"] = info.aux_channels
    return sig


def of_config(config: Any) -> dict[str, Any]:
    """The signature of the data a configuration trains on (at train time)."""
    from dte_virgo_gw.generate import dataset_for

    return of_info(vdata.inspect(dataset_for(config)))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(np.isclose(float(a), float(b), rtol=1e-6, atol=1e-9))
    return a == b


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value) if value else "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def differences(trained: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """'what: trained on A, this input has B' for every attribute that differs."""
    out = []
    for key, (what, _) in FIELDS.items():
        if key not in trained or key not in found:
            continue
        if key == "aux_channels" and trained.get("aux_count") != found.get("aux_count"):
            continue  # the count line says it
        if not _same(trained[key], found[key]):
            out.append(f"{what}: the model was trained on {_show(trained[key])}, this input "
                       f"has {_show(found[key])}")
    return out


def _prepare_command(trained: dict[str, Any]) -> str:
    parts = ["dte", "data", "prepare", "virgo-gw", "--from", "STRAIN_FILES"]
    parts += ["--main", str(trained.get("main_channel", "MAIN"))]
    for channel in trained.get("aux_channels", []):
        parts += ["--aux", str(channel)]
    for key in ("sample_rate", "frequency_range", "duration", "pad", "q_range", "map_shape",
                "norm"):
        if key in trained:
            value = trained[key]
            text = ",".join(_show(v) for v in value) if isinstance(value, list) else _show(value)
            parts += [f"--{FIELDS[key][1]}", text]
    parts += ["--out", "DIR"]
    return shlex.join(parts)


def check(config: Any, info: vdata.DatasetInfo, verb: str) -> None:
    """Refuse input (`info`) whose signature differs from the training data's, when the
    model carries one (runs made before signatures fall back to the config check)."""
    trained = datasig.trained_on(config)
    if not trained:
        vdata.check_compatible(info, config, verb)
        return
    problems = differences(trained, of_info(info))
    if not problems:
        return
    retrain = shlex.join(["dte", "train", "virgo-gw", "--set", f"data.path={info.file}",
                          "--set", f"data.aux_channels={info.aux_channels}", "--set",
                          f"data.map_shape={info.map_shape[0]},{info.map_shape[1]}"])
    if verb == "evaluate":
        raise ConfigError(
            f"`dte evaluate virgo-gw` refuses {info.file}: the run's dataset no longer matches "
            f"the data the model was trained on ({trained.get('file', 'unknown file')}; "
            f"replaced or regenerated since?). {'; '.join(problems)}. Restore the training "
            f"data, or make it again with the training settings: `{_prepare_command(trained)}`"
            f" (real strain), or train a model on the data there now: `{retrain}`.")
    raise ConfigError(
        f"`dte {verb} virgo-gw` refuses {info.file}: it was made with other settings than the "
        f"model's training data ({trained.get('file', 'unknown file')}), so the network would "
        f"run on maps it never saw and give plausible-looking nonsense. "
        f"{'; '.join(problems)}. Prepare the input with the training settings: "
        f"`{_prepare_command(trained)}` and pass --input DIR; or train a model on data like "
        f"this input: `{retrain}`.")
