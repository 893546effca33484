"""Open an MLflow store safely: one process at a time creates a fresh embedded SQLite store."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


@contextlib.contextmanager
def file_lock(path: Path, timeout_s: float | None = None) -> Iterator[bool]:
    """Hold an exclusive advisory lock on `path` (created); yields False if `timeout_s` ran out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline else 0))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI (None for servers and other stores)."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    path = urlparse(tracking_uri).path
    return Path(path) if path and path != "/:memory:" else None


def client(tracking_uri: str) -> Any:
    """An MlflowClient with short HTTP retries, so a dead server is noticed in seconds; an
    SQLite store's schema is created or migrated under a file lock beside the database."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    from dte_core.optional import require

    require("mlflow", extra="mlflow")
    from mlflow.tracking import MlflowClient

    db = sqlite_path(tracking_uri)
    if db is None:
        return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    from dte_core import paths

    if tracking_uri == paths.embedded_tracking_uri():
        import sqlite3

        from dte_core.tracking.relocate import follow_project

        with contextlib.suppress(OSError, sqlite3.Error):  # a read-only project stays as is
            follow_project()  # a moved project: its artifact locations follow it first
    # MLflow migrates the schema when it first builds each store; two processes doing so at
    # once on a fresh file fail with `duplicate column name`
    with file_lock(db.with_name(db.name + ".lock")):
        mlf = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        mlf._get_registry_client()
    return mlf
