"""The native HDF5 format (schema in the README), its writer, checks, and a streaming Dataset."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import ConfigError

FILE = "virgo-gw.h5"
FORMAT = "dte-virgo-gw"
FORMAT_VERSION = 1
TRUTH = ("glitch", "cbc", "noise")


def dataset_file(path: Path) -> Path:
    """The HDF5 file of a dataset given as its folder or the file itself, or a clear error."""
    path = Path(path)
    file = path / FILE if path.is_dir() else path
    if not file.exists():
        where = (f"the folder {path} has no {FILE}" if path.is_dir()
                 else f"{path} does not exist")
        raise ConfigError(
            f"No virgo-gw dataset at data.path: {where}. Create one with `dte data generate "
            f"virgo-gw --out DIR` (or `dte data prepare virgo-gw ...` from real data), or set "
            f"data.path=null to use a generated default dataset.")
    return file


def open_h5(file: Path, what: str = "dataset"):
    """h5py.File opened read-only, turning h5py's low-level errors into one clear paragraph."""
    import h5py

    if file.is_file() and file.stat().st_size == 0:
        raise ConfigError(f"The {what} file {file} is empty (0 bytes). Regenerate it, or check "
                          f"that the copy or download finished.")
    try:
        return h5py.File(file, "r")
    except OSError as exc:
        raise ConfigError(
            f"The {what} file {file} cannot be read as HDF5 ({exc}). It is truncated, corrupt "
            f"or not HDF5: regenerate it (dte data generate virgo-gw) or copy it again."
        ) from None


@dataclass
class DatasetInfo:
    """What a dataset file holds, read from its attributes."""

    file: Path
    kind: str
    samples: int
    main: str
    aux: list[str]
    map_shape: tuple[int, int]
    sample_rate: float
    has_truth: bool
    frequencies: np.ndarray
    times: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def aux_channels(self) -> int:
        return len(self.aux)


def inspect(path: Path) -> DatasetInfo:
    """Open and check a dataset (format, version, complete groups), without reading samples."""
    file = dataset_file(path)
    with open_h5(file) as f:
        attrs = dict(f.attrs)
        if attrs.get("format") != FORMAT:
            raise ConfigError(
                f"{file} is an HDF5 file but not a virgo-gw dataset (its 'format' attribute is "
                f"{attrs.get('format')!r}, expected {FORMAT!r}). Real strain files are converted "
                f"with `dte data prepare virgo-gw --from FILE --main CH --aux CH --out DIR`.")
        if int(attrs.get("format_version", 0)) > FORMAT_VERSION:
            raise ConfigError(f"{file} has format version {attrs.get('format_version')}, newer "
                              f"than this dte-virgo-gw reads ({FORMAT_VERSION}): upgrade it.")
        missing = [name for name in ("maps/aux", "maps/main") if name not in f]
        if missing or not attrs.get("complete", False):
            raise ConfigError(f"{file} is an incomplete virgo-gw dataset (missing "
                              f"{', '.join(missing) or 'its completion mark'}): its writer was "
                              f"interrupted. Generate or prepare it again.")
        n, k, n_f, n_t = f["maps/aux"].shape
        if n == 0:
            raise ConfigError(f"{file} holds no samples. Generate or prepare it again with "
                              f"more data.")
        return DatasetInfo(
            file=file, kind=str(attrs.get("kind", "")), samples=int(n),
            main=str(attrs.get("main_channel", "")),
            aux=[str(a) for a in attrs.get("aux_channels", [])] or [f"aux{i}" for i in range(k)],
            map_shape=(int(n_f), int(n_t)), sample_rate=float(attrs.get("sample_rate", 0)),
            has_truth=all(f"truth/{t}" in f for t in TRUTH),
            frequencies=np.asarray(f["maps/frequencies"][()]),
            times=np.asarray(f["maps/times"][()]), attrs=attrs)


def check_compatible(info: DatasetInfo, config, verb: str = "train") -> None:
    """The model is built from the config: the dataset must match its channels and map shape.
    For `train` the fix is a --set; for `predict`/`evaluate` (the model is fixed) it is input
    made like the training data, or a model trained on data like this input."""
    problems, sets = [], []
    takes = "the model takes " if verb != "train" else ""
    if info.aux_channels != config.data.aux_channels:
        problems.append(f"it has {info.aux_channels} auxiliary channel(s) "
                        f"({', '.join(info.aux)}) but {takes or 'data.aux_channels='}"
                        f"{config.data.aux_channels}")
        sets.append(f"--set data.aux_channels={info.aux_channels}")
    if tuple(info.map_shape) != tuple(config.data.map_shape):
        problems.append(f"its maps are {info.map_shape[0]}x{info.map_shape[1]} but "
                        f"{takes or 'data.map_shape='}"
                        f"{tuple(config.data.map_shape)}")
        sets.append(f"--set data.map_shape={info.map_shape[0]},{info.map_shape[1]}")
    if not problems:
        return
    if verb == "train":
        fix = (f"Set those keys to match the dataset ({' '.join(sets)}), or generate a dataset "
               f"with the configured settings.")
    else:
        aux = config.data.aux_channels
        fix = (f"Give input made like the model's training data ({aux} auxiliary channel(s), "
               f"{config.data.map_shape[0]}x{config.data.map_shape[1]} maps): `dte data prepare "
               f"virgo-gw --from STRAIN_FILES --main MAIN{' --aux AUX' * aux} --map-shape "
               f"{config.data.map_shape[0]},{config.data.map_shape[1]} --out DIR` and --input "
               f"DIR; or train a model on data like this: `dte train virgo-gw --set "
               f"data.path={info.file} {' '.join(sets)}`.")
    raise ConfigError(f"The dataset {info.file} does not fit "
                      f"{'this configuration' if verb == 'train' else 'the model'}: "
                      f"{'; '.join(problems)}. {fix}")


def split(samples: int, val_fraction: float) -> tuple[range, range]:
    """(training, held-out) indices: the held-out samples are the last ones."""
    n_val = min(samples - 1, max(1, round(samples * val_fraction)))
    return range(0, samples - n_val), range(samples - n_val, samples)


class MapsDataset:
    """Map-style dataset over some samples of a dataset file, read one sample at a time.

    The HDF5 file is opened on first access in each process (DataLoader workers, DDP ranks),
    never shared across a fork; items are numpy arrays that torch's collate stacks.
    """

    def __init__(self, file: Path, indices: range | list[int], truth: bool = False) -> None:
        self.file = Path(file)
        self.indices = list(indices)
        self.truth = truth
        self._h5 = None
        self._pid = -1

    def __len__(self) -> int:
        return len(self.indices)

    def _handle(self):
        if self._h5 is None or self._pid != os.getpid():
            self._h5 = open_h5(self.file)
            self._pid = os.getpid()
        return self._h5

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_h5": None, "_pid": -1}

    def __getitem__(self, item: int) -> dict[str, np.ndarray]:
        f = self._handle()
        i = self.indices[item]
        out = {"aux": f["maps/aux"][i], "main": f["maps/main"][i][None]}
        if self.truth:
            for name in ("glitch", "cbc"):
                out[name] = f[f"truth/{name}"][i][None]
        return out


class Writer:
    """Writes a dataset file sample by sample; marks it complete only at the end."""

    def __init__(self, file: Path, samples: int, aux: list[str], main: str, spec,
                 series_length: int, truth: bool, attrs: dict[str, Any]) -> None:
        import h5py

        self.f = h5py.File(file, "w")
        n, k = samples, len(aux)
        n_f, n_t = spec.shape
        f = self.f
        f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, "complete": False,
                        "main_channel": main, "aux_channels": list(aux),
                        "sample_rate": spec.sample_rate, "duration": spec.duration,
                        "pad": spec.start, "q_range": list(spec.q_range),
                        "frequency_range": list(spec.frequency_range),
                        "map_shape": list(spec.shape), "norm": spec.norm})
        for key, value in attrs.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, dict | list) else value
        f.create_dataset("maps/frequencies", data=spec.frequencies())
        f.create_dataset("maps/times", data=spec.times())
        f["maps/frequencies"].attrs["unit"] = "Hz"
        f["maps/times"].attrs["unit"] = "s from the start of the sample (after the pad)"
        f32 = np.float32
        f.create_dataset("maps/aux", (n, k, n_f, n_t), f32, chunks=(1, k, n_f, n_t))
        f.create_dataset("maps/main", (n, n_f, n_t), f32, chunks=(1, n_f, n_t))
        f.create_dataset("maps/q", (n, k + 1), np.float32)
        f.create_dataset("series/main", (n, series_length), f32, chunks=(1, series_length))
        f.create_dataset("series/aux", (n, k, series_length), f32,
                         chunks=(1, k, series_length))
        f["series/main"].attrs["channel"] = main
        f["series/aux"].attrs["channels"] = list(aux)
        f["series"].attrs.update({"sample_rate": spec.sample_rate, "pad": spec.start,
                                  "duration": spec.duration})
        f.create_dataset("samples/gps_start", (n,), np.float64)
        if truth:
            for name in TRUTH:
                f.create_dataset(f"truth/{name}", (n, n_f, n_t), f32, chunks=(1, n_f, n_t))

    def write(self, i: int, item: dict[str, Any]) -> None:
        f = self.f
        f["maps/aux"][i] = item["aux_maps"]
        f["maps/main"][i] = item["main_map"]
        f["maps/q"][i] = item["q"]
        f["series/main"][i] = item["main"]
        f["series/aux"][i] = item["aux"]
        f["samples/gps_start"][i] = item["gps_start"]
        for name in TRUTH:
            if f"{name}_map" in item:
                f[f"truth/{name}"][i] = item[f"{name}_map"]

    def table(self, name: str, columns: dict[str, np.ndarray]) -> None:
        """A per-sample or per-event table as one group of equal-length columns."""
        group = self.f.require_group(name)
        for key, values in columns.items():
            values = np.asarray(values)
            if values.dtype.kind == "U":
                values = values.astype("S")
            group.create_dataset(key, data=values)

    def close(self, complete: bool = True) -> None:
        if complete:
            self.f.attrs["complete"] = True
        self.f.close()
