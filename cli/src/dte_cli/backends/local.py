"""Local backend: one worker in-process, several under torchrun on this host."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from dte_core.errors import DteError
from dte_core.signals import EXIT_INTERRUPTED, EXIT_PREEMPTED

STOP_CODES = (EXIT_PREEMPTED, EXIT_INTERRUPTED)


class WorkerFailed(DteError):
    """A worker process of a multi-process run failed."""

    exit_code = 1


@dataclass(frozen=True)
class LocalLaunch:
    """How a run's workers start on this host."""

    run_dir: Path
    procs: int
    checkpoint: Path | None = None
    launcher: str = "torchrun"

    def worker_args(self) -> list[str]:
        args = ["-m", "dte_core.worker", str(self.run_dir)]
        if self.checkpoint is not None:
            args += ["--checkpoint", str(self.checkpoint)]
        return args

    def torchrun_args(self) -> list[str]:
        """Arguments of torch.distributed.run (the `torchrun` command)."""
        return ["--standalone", "--nnodes", "1", "--nproc-per-node", str(self.procs),
                "--max-restarts", "0", "--log-dir", str(self.run_dir / "logs"), "--tee", "3",
                *self.worker_args()]

    def command(self) -> list[str]:
        """The exact command this launch runs (in-process for one worker)."""
        if self.procs == 1:
            return [sys.executable, *self.worker_args()]
        if self.launcher == "horovodrun":
            return ["horovodrun", "--gloo", "-np", str(self.procs), "-H",
                    f"localhost:{self.procs}", sys.executable, *self.worker_args()]
        return [sys.executable, "-m", "torch.distributed.run", *self.torchrun_args()]

    def describe(self) -> str:
        return shlex.join(self.command())

    def run(self) -> int:
        """Run the workers; returns the exit code (0, or 75/130 after a signal checkpoint)."""
        if self.procs == 1:
            from dte_core.worker import run

            return run(self.run_dir, self.checkpoint)
        if self.launcher == "horovodrun":
            return self._horovodrun()
        return self._torchrun()

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
        if code == 0 or status == "finished":
            return 0
        if status == "stopped":  # the workers checkpointed; horovodrun itself reports 1
            return EXIT_INTERRUPTED if signal.SIGINT in received else EXIT_PREEMPTED
        error = WorkerFailed(f"horovodrun with {self.procs} workers failed (exit {code}); "
                             f"the workers' output is above.")
        if code == 2:
            error.exit_code = 2
        raise error

    def _torchrun(self) -> int:
        from torch.distributed.elastic.multiprocessing.api import SignalException
        from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
        from torch.distributed.run import get_args_parser
        from torch.distributed.run import run as torchrun

        # torchrun would force 1 thread per worker (with a warning); share the cores instead.
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // self.procs)))
        args = get_args_parser().parse_args(self.torchrun_args())
        try:
            torchrun(args)
        except ChildFailedError as exc:
            codes = {rank: failure.exitcode for rank, failure in exc.failures.items()}
            if set(codes.values()) <= set(STOP_CODES):
                return max(codes.values())
            rank, failure = exc.get_first_failure()
            error = WorkerFailed(
                f"Worker rank {rank} of {self.procs} failed first: "
                f"{describe_exit(failure.exitcode)} (pid {failure.pid}). The other workers "
                f"were stopped. Its output is above and under {self.run_dir / 'logs'}; the "
                f"run's last checkpoint (if any) resumes with --resume {self.run_dir.name}."
            )
            if failure.exitcode == 2:  # the worker reported a configuration problem
                error.exit_code = 2
            raise error from None
        except SignalException as exc:
            return EXIT_INTERRUPTED if exc.sigval == signal.SIGINT else EXIT_PREEMPTED
        return 0


def describe_exit(code: int) -> str:
    """'exit code 1' or 'killed by SIGKILL (exit code -9)'."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name} (exit code {code})"
        except ValueError:
            pass
    return f"exit code {code}"
