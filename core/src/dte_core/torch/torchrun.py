"""The one place that runs torch.distributed.run (torchrun) inside this process."""

from __future__ import annotations

import os
import signal

from dte_core.engine import Launch
from dte_core.errors import WorkerFailed
from dte_core.signals import EXIT_INTERRUPTED, EXIT_PREEMPTED, STOP_CODES, describe_exit


def args(launch: Launch) -> list[str]:
    """torchrun's arguments for `launch`: standalone on one node, else a c10d rendezvous."""
    if launch.nnodes == 1 and launch.rdzv is None:
        out = ["--standalone", "--nnodes", "1"]
    else:
        out = ["--nnodes", str(launch.nnodes), "--rdzv-backend", "c10d", "--rdzv-endpoint",
               str(launch.rdzv), "--rdzv-id", launch.rdzv_id]
    out += ["--nproc-per-node", str(launch.procs), "--max-restarts", "0"]
    if launch.log_dir is not None:
        out += ["--log-dir", str(launch.log_dir), "--tee", "3"]
    return out + launch.worker_args()


def run(args: list[str], local_workers: int, world_size: int, advice: str = "") -> int:
    """torchrun with `args` (its command-line arguments); 0, or 75/130 when the workers
    checkpointed after a stop signal. A failing worker raises WorkerFailed naming it."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser
    from torch.distributed.run import run as torchrun

    # torchrun would force 1 thread per worker (with a warning); share the cores instead.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // local_workers)))
    try:
        torchrun(get_args_parser().parse_args(args))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        # The first worker to end decides: one that exited 75/130 had taken part in the
        # stop checkpoint, and what the others report after torchrun stops them follows it.
        if failure.exitcode in STOP_CODES:
            return failure.exitcode
        raise WorkerFailed(
            f"Worker rank {rank} of {world_size} failed first: {describe_exit(failure.exitcode)} "
            f"(pid {failure.pid}). The other workers were stopped. {advice}".strip(),
            failure.exitcode) from None
    except SignalException as exc:
        return EXIT_INTERRUPTED if exc.sigval == signal.SIGINT else EXIT_PREEMPTED
    return 0
