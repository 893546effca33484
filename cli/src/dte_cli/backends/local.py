"""Local backend: one worker in-process, several started by the engine (or horovodrun) here."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dte_core.errors import DteError, WorkerFailed
from dte_core.signals import EXIT_INTERRUPTED, EXIT_PREEMPTED


@dataclass(frozen=True)
class LocalLaunch:
    """How a run's workers start on this host: in-process, by the science's engine, or by
    the strategy's own launcher (horovodrun)."""

    run_dir: Path
    procs: int
    checkpoint: Path | None = None
    engine: Any = None  # dte_core.engine.Engine of the science
    launcher: str = "engine"

    def launch(self) -> Any:
        from dte_core.engine import Launch

        return Launch(self.run_dir, self.checkpoint, self.procs, log_dir=self.run_dir / "logs",
                      advice=f"Its output is above and under {self.run_dir / 'logs'}; the run's "
                             f"last checkpoint (if any) resumes with --resume "
                             f"{self.run_dir.name}.")

    def command(self) -> list[str]:
        """The exact command this launch runs (in-process for one worker)."""
        args = self.launch().worker_args()
        if self.procs == 1:
            return [sys.executable, *args]
        if self.launcher == "horovodrun":
            return ["horovodrun", "--gloo", "-np", str(self.procs), "-H",
                    f"localhost:{self.procs}", sys.executable, *args]
        return self.engine.launch_command(self.launch())

    def describe(self) -> str:
        return shlex.join(self.command())

    def run(self) -> int:
        """Run the workers; returns the exit code (0, or 75/130 after a signal checkpoint)."""
        if self.procs == 1:
            from dte_core.worker import run

            return run(self.run_dir, self.checkpoint)
        if self.launcher == "horovodrun":
            return self._horovodrun()
        return self.engine.launch(self.launch())

    def _horovodrun(self) -> int:
        """Run horovodrun in its own process group, passing on stop signals."""
        import json
        import shutil
        import subprocess

        binary = shutil.which("horovodrun") or shutil.which(
            "horovodrun", path=str(Path(sys.executable).parent))
        if binary is None:
            raise DteError(
                "The horovod strategy starts its workers with horovodrun, which is not on PATH. "
                "Horovod 0.28.1 must be built against this torch: run `bash "
                "scripts/build-horovod.sh` (fetches the sdist from PyPI, patches it and "
                "installs it into this environment), or use --strategy ddp."
            )
        command = [binary, *self.command()[1:]]
        proc = subprocess.Popen(command, start_new_session=True)
        received: list[int] = []

        def forward(signum: int, frame: object) -> None:
            received.append(signum)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signum)  # horovodrun and its workers

        previous = {sig: signal.signal(sig, forward)
                    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)}
        try:
            code = proc.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        try:
            status = json.loads((self.run_dir / "run.json").read_text()).get("status")
        except (OSError, ValueError):
            status = None
        # the run's own record decides: horovodrun reports 1 after its workers checkpointed and
        # stopped, or 0 when the signal reached it first and it shut down quietly
        if status == "stopped":
            return EXIT_INTERRUPTED if signal.SIGINT in received else EXIT_PREEMPTED
        if code == 0 or status == "finished":
            return 0
        raise WorkerFailed(f"horovodrun with {self.procs} workers failed (exit {code}); the "
                           f"workers' output is above.", code)
