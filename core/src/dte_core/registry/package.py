"""A model package: weights (safetensors), config, manifest and metadata; loading rebuilds the
architecture from the science package and never unpickles anything."""

from __future__ import annotations

import json
import shutil
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from dte_core import checkpoint, rundir, sciences
from dte_core import config as config_layer
from dte_core.errors import DteError
from dte_core.science import Science

META = "dte-model.json"
WEIGHTS = "weights.safetensors"
FORMAT = 1


def _core_version() -> str:
    try:
        return version("dte-core")
    except PackageNotFoundError:
        return "0+unknown"


def build(run: rundir.RunDir, ckpt: Path, folder: Path) -> dict[str, Any]:
    """Write the package of `run` at checkpoint `ckpt` into `folder`; returns its metadata."""
    info = run.info()
    science = sciences.load(info["science"])
    folder.mkdir(parents=True, exist_ok=True)
    if science.framework == "tensorflow":
        names = _save_keras(run, ckpt, folder / WEIGHTS)
    else:
        names = _save_torch(ckpt, folder / WEIGHTS)
    shutil.copy(run.config_path, folder / "config.yaml")
    if run.manifest_path.is_file():
        shutil.copy(run.manifest_path, folder / "manifest.json")
    meta = checkpoint.read_meta(ckpt)
    metadata = {
        "format": FORMAT, "science": science.name, "science_version": science.version,
        "distribution": science.distribution, "framework": science.framework,
        "dte_core": _core_version(), "models": names,
        "run_id": run.run_id, "checkpoint": ckpt.name, "step": meta.get("step"),
        "metrics": info.get("metrics") or meta.get("val") or {},
    }
    example = science.input_example(config_layer.resolve(science.Config, run.config_path))
    if example:
        metadata["input_example"] = {name: [a.tolist() for a in arrays]
                                     for name, arrays in example.items()}
    (folder / META).write_text(json.dumps(metadata, indent=2))
    return metadata


def _save_torch(ckpt: Path, path: Path) -> list[str]:
    import torch
    from safetensors.torch import save_file

    states = torch.load(ckpt / "state.pt", map_location="cpu", weights_only=True)
    flat = {f"{model}/{key}": tensor.detach().contiguous().clone()
            for model, state in states["models"].items() for key, tensor in state.items()}
    save_file(flat, str(path))
    return sorted(states["models"])


def _save_keras(run: rundir.RunDir, ckpt: Path, path: Path) -> list[str]:
    """Keras weights in model order, keyed `model/index:variable-path` (paths may repeat)."""
    import numpy as np
    from safetensors.numpy import save_file

    from dte_core.keras import trained

    _, _, models = trained.load(run.path, str(ckpt))
    flat = {f"{name}/{i:05d}:{w.path}": np.ascontiguousarray(np.asarray(w))
            for name, model in models.items() for i, w in enumerate(model.weights)}
    save_file(flat, str(path))
    return sorted(models)


def _load_keras(flat: dict[str, Any], models: dict[str, Any], folder: Path) -> None:
    for name, model in models.items():
        saved = sorted((k, v) for k, v in flat.items() if k.startswith(name + "/"))
        weights = model.weights
        found = [k.split(":", 1)[1] for k, _ in saved]
        expected = [w.path for w in weights]
        if found != expected or any(tuple(v.shape) != tuple(w.shape)
                                    for (_, v), w in zip(saved, weights, strict=True)):
            raise DteError(f"The weights of '{name}' in the model package {folder} do not fit "
                           f"the model the installed science builds from the stored config "
                           f"({len(saved)} saved vs {len(weights)} variables): the package "
                           "was made with another architecture.")
        model.set_weights([v for _, v in saved])


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / META).read_text())
    except (OSError, ValueError) as exc:
        raise DteError(f"'{folder}' is not a dte model package (no readable {META}: "
                       f"{exc}).") from None


def check_compatible(meta: dict[str, Any], science: Science) -> None:
    """Refuse another science or another major version; warn on another minor version."""
    if meta.get("science") != science.name:
        raise DteError(
            f"This model was registered by the science '{meta.get('science')}' "
            f"({meta.get('distribution')} {meta.get('science_version')}), not '{science.name}'. "
            f"Use `dte ... {meta.get('science')} --model ...`, or pick a model of "
            f"'{science.name}'."
        )
    have, made = science.version.split("."), str(meta.get("science_version", "0")).split(".")
    if have[0] != made[0]:
        raise DteError(
            f"This model was made with {meta.get('distribution')} {meta.get('science_version')}"
            f" and the installed version is {science.version}: a different major version may "
            f"build a different architecture. Install {meta.get('distribution')}=="
            f"{meta.get('science_version')} to use it."
        )
    if have[:2] != made[:2]:
        warnings.warn(f"model made with {meta.get('distribution')} "
                      f"{meta.get('science_version')}, loaded with {science.version}", stacklevel=2)


def load(folder: Path, science: Science | None = None, device: str = "cpu"
         ) -> tuple[Science, Any, dict[str, Any]]:
    """(science, config, models in eval mode) from a package folder."""
    meta = read_meta(folder)
    science = science or sciences.load(meta["science"])
    check_compatible(meta, science)
    config = config_layer.resolve(science.Config, folder / "config.yaml")
    if meta.get("framework") == "tensorflow":
        from safetensors.numpy import load_file as load_numpy

        models = science.task(config).configure_models()
        _load_keras(load_numpy(str(folder / WEIGHTS)), models, folder)
        return science, config, models
    from safetensors.torch import load_file

    flat = load_file(str(folder / WEIGHTS), device=device)
    models = science.task(config).configure_models()
    for name, model in models.items():
        state = {k.split("/", 1)[1]: v for k, v in flat.items() if k.startswith(name + "/")}
        if not state:
            raise DteError(f"The model package {folder} has no weights for '{name}' (it has: "
                           f"{', '.join(meta.get('models', []))}).")
        model.load_state_dict(state)
        model.to(device).eval()
    return science, config, models
