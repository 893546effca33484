"""Where dte keeps things: the project's `.dte/` (embedded MLflow store) and `runs/`."""

from __future__ import annotations

import os
from pathlib import Path


def project_dir() -> Path:
    """The project directory: $DTE_PROJECT_DIR, else the current directory."""
    return Path(os.environ.get("DTE_PROJECT_DIR") or Path.cwd()).resolve()


def state_dir() -> Path:
    """The project's `.dte/` folder (embedded tracking store and artifacts, jobs index)."""
    return project_dir() / ".dte"


def runs_root() -> Path:
    """Where run directories live: $DTE_RUNS_DIR, else `<project>/runs`."""
    return Path(os.environ.get("DTE_RUNS_DIR") or project_dir() / "runs").resolve()


def embedded_tracking_uri() -> str:
    """The default MLflow tracking and registry URI: SQLite under `.dte/`."""
    return f"sqlite:///{state_dir() / 'mlflow.db'}"


def embedded_artifact_root() -> Path:
    """Artifact folder of the embedded MLflow store."""
    return state_dir() / "mlartifacts"


def tracking_uri(configured: str | None = None) -> str:
    """The tracking URI in force: config (or --tracking-uri) > $DTE_TRACKING_URI > embedded."""
    return configured or os.environ.get("DTE_TRACKING_URI") or embedded_tracking_uri()


def _embedded_db(uri: str) -> Path | None:
    """The database file of a recorded embedded-store URI (`sqlite:///.../.dte/mlflow.db`)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or not uri.endswith("/.dte/mlflow.db"):
        return None
    return Path(uri[len(prefix):])


def recorded_tracking_uri(recorded: str | None, run_dir: Path) -> str | None:
    """A tracking URI recorded with a run, read in today's project: a run that moved (or was
    copied) with its project keeps using that project's embedded store, not the old path."""
    if not recorded or _embedded_db(recorded) is None:
        return recorded
    try:
        Path(run_dir).resolve().relative_to(project_dir())
    except ValueError:
        return recorded  # a run outside the project keeps the store it names
    return embedded_tracking_uri()
