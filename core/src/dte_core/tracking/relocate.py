"""Keep the embedded MLflow store usable when its project folder is moved or copied.

MLflow records absolute artifact locations (experiments, runs, model versions, logged models).
The store remembers the project folder it was last used in (`.dte/store-root`); opened from
another folder, every location under the old folder is rewritten to the same place under the
new one, once, before MLflow reads it, so new artifacts land in this project and old ones load.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from dte_core import paths
from dte_core.tracking.store import file_lock

RECORD = "store-root"
#: (table, column) pairs that hold artifact locations in MLflow's SQL schema
LOCATIONS = (("experiments", "artifact_location"), ("runs", "artifact_uri"),
             ("model_versions", "source"), ("model_versions", "storage_location"),
             ("logged_models", "artifact_location"))


def _columns(db: sqlite3.Connection) -> set[tuple[str, str]]:
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {(t, row[1]) for t in tables for row in db.execute(f'PRAGMA table_info("{t}")')}


def _rewrite(db_path: Path, old: Path, new: Path) -> int:
    """Replace the prefix `old` by `new` in every location column; returns rows changed."""
    changed = 0
    with sqlite3.connect(db_path, timeout=60) as db:
        present = _columns(db)
        for table, column in LOCATIONS:
            if (table, column) not in present:
                continue
            for before, after in ((old.as_uri(), new.as_uri()), (str(old), str(new))):
                cursor = db.execute(
                    f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) '
                    f'WHERE "{column}" = ? OR "{column}" LIKE ? ESCAPE \'\\\'',
                    (after, len(before) + 1, before, _like_prefix(before + "/")))
                changed += cursor.rowcount
    return changed


def _root_from_locations(db_path: Path) -> Path | None:
    """The project folder the store's experiments were created in, read from their locations."""
    marker = "/.dte/mlartifacts"
    with sqlite3.connect(db_path, timeout=60) as db:
        if ("experiments", "artifact_location") not in _columns(db):
            return None
        row = db.execute("SELECT artifact_location FROM experiments WHERE artifact_location "
                         "LIKE ? LIMIT 1", (f"%{marker}%",)).fetchone()
    if not row:
        return None
    location = row[0].split(marker)[0]
    return Path(location.removeprefix("file://"))


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def follow_project(state_dir: Path | None = None) -> int:
    """Rewrite the embedded store's artifact locations if the project moved; rows changed."""
    state = Path(state_dir or paths.state_dir())
    db_path = state / "mlflow.db"
    project = state.parent.resolve()
    record = state / RECORD
    if not db_path.is_file():
        if state.is_dir():
            record.write_text(str(project))
        return 0
    with file_lock(state / ".store-root.lock"):
        try:
            old = Path(record.read_text().strip())
        except OSError:
            old = _root_from_locations(db_path) or project  # a store from before the record
        changed = _rewrite(db_path, old, project) if old != project else 0
        tmp = state / f".{RECORD}.{os.getpid()}.tmp"
        tmp.write_text(str(project))
        os.replace(tmp, record)
    return changed
