"""The default dataset: generated once into .dte/data/virgo-gw/<key>, keyed by its settings.

Every training process builds the Task, so several may ask for the same dataset at once
(`--procs 2`, or two runs side by side): an exclusive lock on <key>.lock lets one generate
(into a temporary folder, renamed when complete) while the others wait and then reuse it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from dte_virgo_gw.data import FILE

#: DataConfig keys that do not change the generated samples
NOT_IN_KEY = {"path", "workers", "val_fraction", "main", "stride", "asd_fftlength",
              "whiten_fduration", "skip_nonfinite"}


def key(data) -> str:
    """Short hash of everything that shapes a generated dataset."""
    from dte_virgo_gw.generate import GENERATOR_VERSION

    settings = data.model_dump(mode="json", exclude=NOT_IN_KEY)
    settings["generator_version"] = GENERATOR_VERSION
    if data.asd_file is not None and Path(data.asd_file).is_file():
        settings["asd_file"] = hashlib.sha256(Path(data.asd_file).read_bytes()).hexdigest()
    text = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _say(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(message)


def _is_rank_zero() -> bool:
    return os.environ.get("RANK", "0") == "0"


def dataset_for(config) -> Path:
    """The dataset file to train on: data.path, else the generated default (made if needed)."""
    from dte_virgo_gw.data import dataset_file

    if config.data.path is not None:
        return dataset_file(Path(config.data.path))
    return default_dataset(config.data)


def default_dataset(data) -> Path:
    """.dte/data/virgo-gw/<key>/virgo-gw.h5, generated under a lock when missing."""
    import fcntl

    from dte_core import paths

    from dte_virgo_gw.generate import generate

    root = paths.state_dir() / "data" / "virgo-gw"
    name = key(data)
    target = root / name
    if (target / FILE).is_file():
        if _is_rank_zero():
            _say(f"virgo-gw: data.path is null, using the generated dataset {target}")
        return target / FILE
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"virgo-gw: waiting for another process to generate {target}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / FILE).is_file():
            return target / FILE
        for stale in root.glob(f".{name}.partial-*"):  # left by a process that died
            shutil.rmtree(stale, ignore_errors=True)
        _say(f"virgo-gw: data.path is null, generating {data.samples} samples into {target} "
             f"(reused by later runs with the same data settings)")
        partial = root / f".{name}.partial-{os.getpid()}"
        partial.mkdir()
        try:
            summary = generate(data, partial)
            (partial / "summary.json").write_text(json.dumps(summary, indent=2))
            partial.rename(target)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        _say(f"virgo-gw: generated {summary['samples']} samples in {summary['seconds']} s "
             f"({summary['samples_per_s']} samples/s, {summary['workers']} process(es))")
    return target / FILE
