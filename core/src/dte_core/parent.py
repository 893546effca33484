"""Workers die with their launcher, however it dies (launchers start them in new sessions)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time

#: seconds between checks that the launcher is still there
POLL_S = 0.5


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def watch_parent() -> None:
    """A daemon thread that kills this process once its parent is gone (it was reparented):
    works under any launcher, where a death signal set here would fire when the launcher
    thread that started us ends rather than the launcher itself."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(POLL_S)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="dte-parent-watch", daemon=True).start()

