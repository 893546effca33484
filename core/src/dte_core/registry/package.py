"""A model package: weights (safetensors), config, manifest and metadata; loading rebuilds the
architecture from the science package and never unpickles anything."""

from __future__ import annotations

import json
import shutil
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from dte_core import checkpoint, datasig, rundir, sciences
from dte_core import config as config_layer
from dte_core import engine as engines
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
    config = config_layer.resolve(science.Config, run.config_path)
    names = engines.of(science).save_weights(science, config, ckpt, folder / WEIGHTS)
    shutil.copy(run.config_path, folder / "config.yaml")
    if run.manifest_path.is_file():
        shutil.copy(run.manifest_path, folder / "manifest.json")
    if (run.path / datasig.FILE).is_file():  # what predict/evaluate check their input against
        shutil.copy(run.path / datasig.FILE, folder / datasig.FILE)
    meta = checkpoint.read_meta(ckpt)
    metadata = {
        "format": FORMAT, "science": science.name, "science_version": science.version,
        "distribution": science.distribution, "framework": science.framework,
        "dte_core": _core_version(), "models": names,
        "run_id": run.run_id, "checkpoint": ckpt.name, "step": meta.get("step"),
        "metrics": info.get("metrics") or meta.get("val") or {},
    }
    example = science.input_example(config)
    if example:
        metadata["input_example"] = {name: [a.tolist() for a in arrays]
                                     for name, arrays in example.items()}
    (folder / META).write_text(json.dumps(metadata, indent=2))
    return metadata


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
    config = datasig.attach(config_layer.resolve(science.Config, folder / "config.yaml"), folder)
    models = science.task(config).configure_models()
    engines.get(meta.get("framework", science.framework)).load_weights(
        models, folder / WEIGHTS, folder, device)
    return science, config, models
