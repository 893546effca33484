"""Errors that reach the user as one clear paragraph instead of a traceback."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager


class DteError(Exception):
    """A problem the user can fix; the message names the fix. The CLI exits with `exit_code`."""

    exit_code: int = 2


class ConfigError(DteError):
    """A configuration file, key or value that cannot be used."""


class UnknownScienceError(DteError):
    """A science name that no installed package provides."""


class MissingDependencyError(DteError):
    """An optional engine (torch, mlflow, ...) that is not installed."""


class NotSupportedError(DteError):
    """A verb that a science (or a strategy) does not provide."""


class WorkerFailed(DteError):
    """A worker process of a multi-process run failed; exit 2 if the worker reported a
    configuration problem (its own exit 2), else 1."""

    def __init__(self, message: str, worker_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = 2 if worker_code == 2 else 1


class DataCheckFailed(DteError):
    """`dte data check`: files dte would not read. `lines` are the (what, found) findings
    made before the problem, printed above the message."""

    def __init__(self, message: str, lines: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.lines = list(lines or [])


@contextmanager
def checking(lines: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    """A science's `check`: a DteError raised inside becomes DataCheckFailed carrying the
    findings made so far."""
    try:
        yield lines
    except DataCheckFailed:
        raise
    except DteError as exc:
        lines.append(("dte reads", "no"))
        raise DataCheckFailed(str(exc), lines) from None


#: errno -> (what happened, the fix) for a disk that cannot take a run's files
STORAGE_FAULTS = {
    errno.ENOSPC: ("the disk is full", "free space there (or give another --runs-dir)"),
    errno.EDQUOT: ("the disk quota is used up", "free space there (or give another --runs-dir)"),
    errno.EROFS: ("the file system is read-only", "make it writable (or give another --runs-dir)"),
    errno.EACCES: ("permission was denied", "make the run folder writable for this user"),
    errno.EPERM: ("the operation was not permitted", "make the run folder writable for this user"),
}


class StorageFault(DteError):
    """The run's files could not be written (disk full, read-only, no permission)."""

    exit_code = 1


def storage_fault(exc: BaseException | None) -> OSError | None:
    """The OSError of a storage fault behind `exc` (itself or a cause), if there is one."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in STORAGE_FAULTS:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None
