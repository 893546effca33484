"""A model package: weights (safetensors), config, manifest and metadata; loading checks every
file against the sha256 recorded at build time, rebuilds the architecture from the science
package and never unpickles anything."""

from __future__ import annotations

import hashlib
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
    seal(folder, metadata)
    return metadata


def seal(folder: Path, metadata: dict[str, Any]) -> None:
    """Record every file's hash in the metadata and write it (again, after files are added)."""
    metadata["files"] = file_hashes(folder)
    (folder / META).write_text(json.dumps(metadata, indent=2))


#: files a package may hold unsealed: its metadata, and the note MLflow writes beside a model it
#: loads by `models:/` URI (name and version, no code)
UNSEALED = frozenset({META, "registered_model_meta"})


def file_hashes(folder: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file of the package but its metadata, by relative path."""
    return {path.relative_to(folder).as_posix(): {"sha256": _sha256(path),
                                                  "bytes": path.stat().st_size}
            for path in sorted(folder.rglob("*")) if path.is_file()
            and path.relative_to(folder).as_posix() not in UNSEALED}


def verify(folder: Path, meta: dict[str, Any]) -> None:
    """Refuse a package whose files are links, unlisted, missing, or not the ones built."""
    recorded = meta.get("files")
    if not isinstance(recorded, dict):
        raise DteError(_tampered(folder, f"its {META} records no file hashes (made by an older "
                                         f"dte, or edited)"))
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise DteError(_tampered(folder, f"'{name}' is a symbolic link; a package holds "
                                             f"only its own files"))
        if path.is_file() and name not in UNSEALED and name not in recorded:
            raise DteError(_tampered(folder, f"'{name}' is not one of its recorded files"))
    for name, want in recorded.items():
        path = folder / name
        if not isinstance(want, dict) or ".." in Path(name).parts or Path(name).is_absolute() \
                or not path.is_file():
            raise DteError(_tampered(folder, f"the recorded file '{name}' is missing"))
        if path.stat().st_size != want.get("bytes") or _sha256(path) != want.get("sha256"):
            raise DteError(_tampered(folder, f"'{name}' is not the file it was built with "
                                             f"(size or sha256 differ: truncated or changed)"))


def _tampered(folder: Path, why: str) -> str:
    return (f"The model package {folder} cannot be trusted: {why}. Delete the folder (a "
            f"registered model is downloaded again on the next use) or package the run again "
            f"with `dte register`.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_meta(folder: Path) -> dict[str, Any]:
    if (folder / META).is_symlink():
        raise DteError(_tampered(folder, f"its {META} is a symbolic link"))
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError) as exc:  # never echo the file: it may be anything
        raise DteError(f"'{folder}' is not a dte model package (no readable {META}: "
                       f"{type(exc).__name__}).") from None
    if not isinstance(meta, dict):
        raise DteError(f"'{folder}' is not a dte model package ({META} is not an object).")
    return meta


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
    verify(folder, meta)
    science = science or sciences.load(str(meta.get("science")))
    check_compatible(meta, science)
    if meta.get("framework", science.framework) != science.framework:
        raise DteError(f"The model package {folder} says its weights are for "
                       f"{meta.get('framework')!r}, but the science '{science.name}' runs on "
                       f"{science.framework}: it was not made by this science. Package the run "
                       f"again with `dte register`.")
    config = datasig.attach(config_layer.resolve(science.Config, folder / "config.yaml"), folder)
    models = science.task(config).configure_models()
    try:
        engines.get(science.framework).load_weights(models, folder / WEIGHTS, folder, device)
    except DteError:
        raise
    except Exception as exc:  # safetensors and load_state_dict raise many kinds
        raise DteError(f"The weights of the model package {folder} do not fit the science "
                       f"'{science.name}' {science.version} ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}). "
                       f"Package the run again with `dte register`, or install the science "
                       f"version it was made with ({meta.get('science_version')}).") from None
    return science, config, models
