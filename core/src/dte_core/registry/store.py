"""Register run models in the MLflow Model Registry and fetch them back by URI."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dte_core import checkpoint, paths, rundir, sciences
from dte_core.errors import DteError
from dte_core.registry import package, pyfunc
from dte_core.registry.uri import ModelRef
from dte_core.tracking.mlflow_sink import client, settled_state, sync


def _client(tracking_uri: str | None = None) -> tuple[Any, str]:
    uri = paths.tracking_uri(tracking_uri)
    _check_reachable(uri)
    return client(uri), uri


def _check_reachable(uri: str) -> None:
    """Name an MLflow server that does not answer, before anything is packaged or sent."""
    import urllib.error
    import urllib.request

    if not uri.startswith(("http://", "https://")):
        return
    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=10).close()
    except urllib.error.HTTPError:
        return  # it answers (a proxy may not route /health)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DteError(
            f"The MLflow server {uri} does not answer ({reason}). Start it (e.g. `mlflow "
            f"server --host 127.0.0.1 --port 5000`), fix --tracking-uri or $DTE_TRACKING_URI, "
            f"or leave both unset to use the project's embedded store (.dte/mlflow.db)."
        ) from None


def register(run: rundir.RunDir, name: str, aliases: list[str], tags: dict[str, str],
             description: str | None, which: str | None, tracking_uri: str | None = None
             ) -> dict[str, Any]:
    """Package the run's checkpoint, log it to the run's MLflow run, create a model version."""
    ckpt = checkpoint.select_of_run(run, which)
    checkpoint.verify(ckpt)
    mlf, uri = _client(tracking_uri)
    info = run.info()
    _check_science(mlf, name, run, info.get("science", ""))  # before anything is written
    mlflow_run = tracked_run(mlf, uri, run)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "dte-model"
        meta = package.build(run, ckpt, folder)
        flavoured = pyfunc.add_flavour(folder, meta)
        mlf.log_artifacts(mlflow_run, str(folder), "dte-model")
    _ensure_registered(mlf, name, meta)
    version_tags = {"dte.science": meta["science"], "dte.science_version":
                    meta["science_version"], "dte.framework": meta["framework"],
                    "dte.run_id": run.run_id, "dte.checkpoint": ckpt.name,
                    "dte.pyfunc": str(flavoured).lower(), **tags}
    artifact_uri = mlf.get_run(mlflow_run).info.artifact_uri
    version = mlf.create_model_version(name, source=f"{artifact_uri}/dte-model",
                                       run_id=mlflow_run, tags=version_tags,
                                       description=description)
    for alias in aliases:
        mlf.set_registered_model_alias(name, alias, version.version)
    return {"name": name, "version": str(version.version), "aliases": aliases, "tracking_uri": uri,
            "mlflow_run_id": mlflow_run, "checkpoint": ckpt.name, "pyfunc": flavoured}


def _check_science(mlf: Any, name: str, run: rundir.RunDir, science: str) -> None:
    """Refuse a run of one science as a new version of another science's model."""
    from mlflow.exceptions import MlflowException

    try:
        owner = (mlf.get_registered_model(name).tags or {}).get("dte.science")
    except MlflowException:
        return
    if owner and owner != science:
        raise DteError(
            f"The registered model '{name}' holds '{owner}' models and the run {run.run_id} "
            f"trained '{science}': a version must be of the same science. Register it under "
            f"another name (`dte register {run.run_id} --name {science}-model`), or pick a run "
            f"of '{owner}' (`dte runs list --science {owner}`).")


def tracked_run(mlf: Any, uri: str, run: rundir.RunDir) -> str:
    """The MLflow run id of `run` in the store at `uri`, uploading the run there when it has
    never reached that store (offline, or tracked elsewhere) instead of an empty twin."""
    state = settled_state(run.path)  # a background upload may still be creating the run
    if state.get("tracking_uri") == uri and state.get("run_id"):
        return state["run_id"]
    info = run.info()
    science = info.get("science", "dte")
    experiment = mlf.get_experiment_by_name(_experiment_of(run, science))
    if experiment is not None:  # uploaded by an earlier registration
        found = mlf.search_runs([experiment.experiment_id],
                                f"tags.`dte.run_uid` = '{_uid(run)}'", max_results=1)
        if found:
            return found[0].info.run_id
    tags = {"dte.science": science, "dte.run_dir": str(run.path), "dte.run_uid": _uid(run)}
    status = info.get("status")
    if not state.get("tracking_uri"):  # never tracked: the run is now tracked here
        return sync(run.path, status, _experiment_of(run, science), run.run_id, tags, uri)["run_id"]
    with tempfile.TemporaryDirectory() as tmp:  # tracked elsewhere: a copy, its record intact
        for item in ("config.yaml", "manifest.json", "metrics.jsonl", "data-signature.json"):
            if (run.path / item).is_file():
                shutil.copy(run.path / item, Path(tmp) / item)
        return sync(Path(tmp), status, _experiment_of(run, science), run.run_id, tags,
                    uri)["run_id"]


def _experiment_of(run: rundir.RunDir, science: str) -> str:
    import yaml

    try:
        config = yaml.safe_load(run.config_path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    return ((config.get("tracking") or {}).get("experiment")) or science


def _uid(run: rundir.RunDir) -> str:
    """A run's identity across stores: its id and creation time."""
    return f"{run.run_id}@{run.info().get('created', '')}"


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
               ) -> tuple[Any, Any, dict[str, Any], Any]:
    """(science, config, models, model version) of a registered version, checked against
    `science_name`."""
    folder, version = fetch(ref)
    science = sciences.load(science_name) if science_name else None
    return (*package.load(folder, science), version)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
