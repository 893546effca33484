"""Register run models in the MLflow Model Registry and fetch them back by URI."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from dte_core import checkpoint, paths, rundir, sciences
from dte_core.errors import DteError
from dte_core.registry import package
from dte_core.registry.uri import ModelRef
from dte_core.tracking.mlflow_sink import client, ensure_run, settled_state


def _client(tracking_uri: str | None = None) -> tuple[Any, str]:
    uri = paths.tracking_uri(tracking_uri)
    return client(uri), uri


def register(run: rundir.RunDir, name: str, aliases: list[str], tags: dict[str, str],
             description: str | None, which: str | None, tracking_uri: str | None = None
             ) -> dict[str, Any]:
    """Package the run's checkpoint, log it to the run's MLflow run, create a model version."""
    ckpt = checkpoint.select_of_run(run, which)
    checkpoint.verify(ckpt)
    mlf, uri = _client(tracking_uri)
    info = run.info()
    state = settled_state(run.path)  # a background upload may still be creating the run
    if state.get("tracking_uri") != uri or not state.get("run_id"):
        state = {"tracking_uri": uri}  # the run never reached this store: give it a run here
        ensure_run(mlf, state, info.get("science", "dte"), run.run_id,
                   {"dte.science": info.get("science", ""), "dte.run_dir": str(run.path)})
        mlf.set_terminated(state["run_id"], "FINISHED")
    with tempfile.TemporaryDirectory() as tmp:
        meta = package.build(run, ckpt, Path(tmp) / "dte-model")
        mlf.log_artifacts(state["run_id"], str(Path(tmp) / "dte-model"), "dte-model")
    _ensure_registered(mlf, name, meta)
    version_tags = {"dte.science": meta["science"], "dte.science_version":
                    meta["science_version"], "dte.framework": meta["framework"],
                    "dte.run_id": run.run_id, "dte.checkpoint": ckpt.name, **tags}
    artifact_uri = mlf.get_run(state["run_id"]).info.artifact_uri
    version = mlf.create_model_version(name, source=f"{artifact_uri}/dte-model",
                                       run_id=state["run_id"], tags=version_tags,
                                       description=description)
    for alias in aliases:
        mlf.set_registered_model_alias(name, alias, version.version)
    return {"name": name, "version": str(version.version), "aliases": aliases, "tracking_uri": uri,
            "mlflow_run_id": state["run_id"], "checkpoint": ckpt.name}


def _ensure_registered(mlf: Any, name: str, meta: dict[str, Any]) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlf.get_registered_model(name)
        return
    except MlflowException:
        pass
    try:
        mlf.create_registered_model(name, tags={"dte.science": meta["science"]})
    except MlflowException as exc:  # created meanwhile by a concurrent registration
        if "RESOURCE_ALREADY_EXISTS" not in str(exc) and "already exists" not in str(exc):
            raise


def names(mlf: Any) -> list[str]:
    return sorted(m.name for m in mlf.search_registered_models())


def version_of(mlf: Any, ref: ModelRef) -> Any:
    """The model version a reference points to; errors list what exists."""
    from mlflow.exceptions import MlflowException

    try:
        model = mlf.get_registered_model(ref.name)
    except MlflowException:
        known = ", ".join(names(mlf)) or "none"
        raise DteError(f"No registered model named '{ref.name}'. Registered models: {known}. "
                       f"Register one with `dte register RUN --name {ref.name}`.") from None
    if ref.alias:
        aliases = dict(model.aliases or {})
        if ref.alias not in aliases:
            shown = ", ".join(f"{a} -> v{v}" for a, v in sorted(aliases.items())) or "none"
            raise DteError(f"Model '{ref.name}' has no alias '{ref.alias}'. Its aliases: "
                           f"{shown}. Set one with `dte models alias {ref.name} VERSION "
                           f"{ref.alias}`.")
        return mlf.get_model_version(ref.name, aliases[ref.alias])
    try:
        return mlf.get_model_version(ref.name, ref.version)
    except MlflowException:
        versions = sorted(int(v.version) for v in mlf.search_model_versions(f"name='{ref.name}'"))
        raise DteError(f"Model '{ref.name}' has no version {ref.version}; it has versions "
                       f"{', '.join(map(str, versions)) or 'none'}.") from None


def fetch(ref: ModelRef, tracking_uri: str | None = None) -> tuple[Path, Any]:
    """Download (once) the package of a model version; (folder, model version)."""
    mlf, _ = _client(tracking_uri)
    mv = version_of(mlf, ref)
    target = paths.state_dir() / "models" / ref.name / str(mv.version)
    if not (target / "dte-model" / package.META).is_file():
        target.mkdir(parents=True, exist_ok=True)
        mlf.download_artifacts(mv.run_id, "dte-model", str(target))
    return target / "dte-model", mv


def describe(mlf: Any, name: str) -> dict[str, Any]:
    """A registered model with its versions and aliases, as plain data."""
    try:
        model = mlf.get_registered_model(name)
    except Exception:
        known = ", ".join(names(mlf)) or "none"
        raise DteError(f"No registered model named '{name}'. Registered models: {known}."
                       ) from None
    versions = sorted(mlf.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    aliases = dict(model.aliases or {})
    return {
        "name": name, "description": model.description, "tags": dict(model.tags or {}),
        "aliases": {a: str(n) for a, n in aliases.items()},
        "versions": [{"version": str(v.version), "aliases": sorted(a for a, n in aliases.items()
                                                              if str(n) == str(v.version)),
                      "run_id": v.tags.get("dte.run_id"), "checkpoint":
                      v.tags.get("dte.checkpoint"), "science": v.tags.get("dte.science"),
                      "science_version": v.tags.get("dte.science_version"),
                      "created": v.creation_timestamp, "description": v.description,
                      "tags": {k: t for k, t in v.tags.items() if not k.startswith("dte.")}}
                     for v in versions],
    }


def load_model(ref: ModelRef, science_name: str | None = None
               ) -> tuple[Any, Any, dict[str, Any]]:
    """(science, config, models) of a registered version, checked against `science_name`."""
    folder, _ = fetch(ref)
    science = sciences.load(science_name) if science_name else None
    return package.load(folder, science)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
