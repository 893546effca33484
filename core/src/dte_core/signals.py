"""Stop requests by signal: a handler only sets a flag; the Trainer acts at a step boundary."""

from __future__ import annotations

import signal
from types import FrameType

#: exit code after a checkpoint taken because of SIGTERM or SIGUSR1 (sysexits EX_TEMPFAIL:
#: "try again later"): the scheduler may requeue, `dte train --resume` continues exactly.
EXIT_PREEMPTED = 75
#: exit code after a checkpoint taken because of SIGINT (Ctrl-C), as shells report it.
EXIT_INTERRUPTED = 130
#: the exit codes of a worker that stopped cleanly with a checkpoint.
STOP_CODES = (EXIT_PREEMPTED, EXIT_INTERRUPTED)
HANDLED = ("SIGTERM", "SIGUSR1", "SIGINT")


class StopFlag:
    """Installs handlers for SIGTERM, SIGUSR1 and SIGINT that record the first signal."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def install(self) -> StopFlag:
        for name in HANDLED:
            num = getattr(signal, name)
            self._previous[num] = signal.signal(num, self._handle)
        return self

    def uninstall(self) -> None:
        for num, handler in self._previous.items():
            signal.signal(num, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @staticmethod
    def code_for(signum: int) -> int:
        return EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_PREEMPTED


def describe_exit(code: int) -> str:
    """'exit code 1' or 'killed by SIGKILL (exit code -9)'."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name} (exit code {code})"
        except ValueError:
            pass
    return f"exit code {code}"
