"""A dataset built once into a folder and shared by every process that needs it.

One rule for every science: the local rank 0 of each node builds under an exclusive file lock
(so two runs side by side, or two nodes on a shared file system, build it once), into a
temporary folder that is renamed into place with its marker file only when complete; the other
ranks wait for that marker. The local rank rather than the global one builds because `.dte/`
may live on a node-local disk, where rank 0's folder is invisible to the other nodes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dte_core.errors import DteError

#: the file whose presence (with a matching fingerprint) marks a complete dataset
MARKER = "dte-dataset.json"
#: how long ranks other than the builder wait for the marker, unless DTE_DATA_WAIT_S says
DEFAULT_WAIT_S = 3600.0
POLL_S = 0.2

Build = Callable[[Path], "dict[str, Any] | None"]


class DatasetError(DteError):
    """A shared dataset that could not be built or did not appear in time."""


def dataset(folder: Path | str, build: Build, fingerprint: Any, *, label: str = "dte",
            is_builder: bool | None = None) -> Path:
    """The folder holding the dataset described by `fingerprint`, built by `build(tmp)` if
    missing; `build` fills the empty folder `tmp` and may return a summary for the marker."""
    folder = Path(folder)
    fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True))
    if _ready(folder, fingerprint):
        return folder
    if not (_local_rank_zero() if is_builder is None else is_builder):
        return _wait(folder, fingerprint, label)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"{label}: waiting for another process to build {folder}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if _ready(folder, fingerprint):
            return folder
        _publish(folder, build, fingerprint)
    return folder


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of a complete dataset folder, or None when there is none (or it is torn)."""
    try:
        return json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def say(message: str) -> None:
    """A note for the user on stderr."""
    print(message, file=sys.stderr, flush=True)


def wait_seconds() -> float:
    """How long a rank waits for the builder: DTE_DATA_WAIT_S, else DEFAULT_WAIT_S."""
    raw = os.environ.get("DTE_DATA_WAIT_S", "").strip()
    if not raw:
        return DEFAULT_WAIT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise DatasetError(f"DTE_DATA_WAIT_S={raw!r} is not a positive number of seconds. Set "
                           f"it to how long processes may wait for rank 0 to build a dataset "
                           f"(for example DTE_DATA_WAIT_S=7200), or unset it for "
                           f"{DEFAULT_WAIT_S:g} s.")
    return value


def _ready(folder: Path, fingerprint: Any) -> bool:
    marker = read_marker(folder)
    if marker is None:
        return False
    if marker.get("fingerprint") != fingerprint:
        raise DatasetError(
            f"The dataset folder {folder} was built for other settings than the ones asked for "
            f"now (its {MARKER} holds another fingerprint). Delete the folder so it is built "
            f"again, or point the run at the data it should use with --set data.path=DIR.")
    return True


def _local_rank_zero() -> bool:
    from dte_core.env import detect

    return detect().local_rank == 0


def _wait(folder: Path, fingerprint: Any, label: str) -> Path:
    limit = wait_seconds()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if _ready(folder, fingerprint):
            return folder
        time.sleep(POLL_S)
    raise DatasetError(
        f"{label}: waited {limit:g} s for the process with local rank 0 to build the dataset "
        f"{folder} ({MARKER} never appeared). If that process failed, its error is above; if "
        f"building takes longer, raise DTE_DATA_WAIT_S (seconds), or build the data first "
        f"with `dte data generate` and train on it with --set data.path=DIR.")


def _publish(folder: Path, build: Build, fingerprint: Any) -> None:
    """Build into a temporary sibling and rename it into place; the caller holds the lock."""
    parent = folder.parent
    for stale in parent.glob(f".{folder.name}.partial-*"):  # left by a process that died
        shutil.rmtree(stale, ignore_errors=True)
    if folder.exists():  # an unmarked folder: an older layout or a torn copy, never complete
        aside = parent / f".{folder.name}.partial-stale-{os.getpid()}"
        folder.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    partial = parent / f".{folder.name}.partial-{os.getpid()}"
    partial.mkdir()
    try:
        summary = build(partial)
        marker = {"fingerprint": fingerprint, "built_at": time.time(), "pid": os.getpid(),
                  "summary": summary}
        (partial / MARKER).write_text(json.dumps(marker, indent=1, default=str))
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
