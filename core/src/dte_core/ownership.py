"""One writer per run: the launcher holds an advisory lock on `RUN/.owner` for the run's life.

The kernel releases the lock when the launcher dies, however it dies, so a run whose lock is
free while its record still names an owner lost that owner: it reads as `interrupted`. The
record (pid, host, since) names the owner in refusals and reports.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from dte_core.errors import DteError
from dte_core.rundir import RunDir

OWNER = ".owner"
#: statuses that claim someone is working on the run
ACTIVE = ("created", "running")


class RunOwned(DteError):
    """The run is being written by another live process."""


def _record(fd: int) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode() or "{}")
    return {}


def _describe(record: dict[str, Any]) -> str:
    return (f"pid {record.get('pid', '?')} on host {record.get('host', '?')} "
            f"(since {record.get('since', '?')})")


def holder(run: RunDir) -> tuple[bool, dict[str, Any]]:
    """(whether a live process holds the run's lock, the owner record it left)."""
    try:
        fd = os.open(run.path / OWNER, os.O_RDONLY)
    except OSError:
        return False, {}
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True, _record(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False, _record(fd)
    finally:
        os.close(fd)


def _owned(run: RunDir, record: dict[str, Any]) -> RunOwned:
    return RunOwned(
        f"Run '{run.run_id}' is being trained by {_describe(record)}: only one process may "
        f"write a run. Wait for it to end (`dte runs show {run.run_id}`), or stop it (SIGTERM "
        f"checkpoints it) and resume again.")


def check_free(run: RunDir) -> None:
    """Refuse, naming the owner, a run that a live process is writing."""
    held, record = holder(run)
    if held:
        raise _owned(run, record)


def status(run: RunDir, info: dict[str, Any] | None = None) -> str:
    """run.json's status, except that an active run whose owner is gone is `interrupted`."""
    recorded = (info if info is not None else run.info()).get("status", "unknown")
    if recorded not in ACTIVE:
        return recorded
    held, record = holder(run)
    return "interrupted" if record and not held else recorded


@contextlib.contextmanager
def own(run: RunDir, warn: Callable[[str], None]) -> Iterator[None]:
    """Hold `run` for the duration: refused (naming the owner) while another process holds
    it; a previous owner that died without ending the run is reported, then replaced."""
    fd = os.open(run.path / OWNER, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        record = _record(fd)
        os.close(fd)
        raise _owned(run, record) from None
    try:
        previous = _record(fd)
        if previous and run.info().get("status") in ACTIVE:
            here = previous.get("host") == socket.gethostname()
            warn(f"run {run.run_id} was left {run.info().get('status')} by {_describe(previous)}, "
                 f"which {'died' if here else 'no longer holds its lock (its host went down)'} "
                 f"without ending it; this process takes the run over.")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                  "since": datetime.now(UTC).isoformat(timespec="seconds")}
                                 ).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # a clean end leaves no owner record behind
        os.close(fd)  # releases the lock
