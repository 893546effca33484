"""The per-node launcher of a batch job: pre-flight, then torchrun for this node's workers.

`srun` starts `python -m dte_core.launch RUN_DIR --nnodes N --nproc-per-node P --rdzv HOST:PORT`
once per node. It resumes from the run's newest checkpoint when there is one (a requeued job),
and forwards SIGUSR1 to its workers, which checkpoint and exit 75.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

from dte_core import checkpoint, rundir
from dte_core.errors import DteError
from dte_core.rendezvous import resolve, wait_until_open
from dte_core.signals import EXIT_INTERRUPTED, EXIT_PREEMPTED


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def _forward(signum: int, frame: object) -> None:
    """Pass the signal on to the workers (and only them: never up to slurmstepd)."""
    for pid in descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def torchrun_args(run_dir: Path, nnodes: int, nproc: int, rdzv: str, rdzv_id: str,
                  ckpt: Path | None) -> list[str]:
    args = ["--nnodes", str(nnodes), "--nproc-per-node", str(nproc), "--rdzv-backend", "c10d",
            "--rdzv-endpoint", rdzv, "--rdzv-id", rdzv_id, "--max-restarts", "0",
            "-m", "dte_core.worker", str(run_dir)]
    return args + (["--checkpoint", str(ckpt)] if ckpt else [])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dte_core.launch")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--nnodes", type=int, default=1)
    parser.add_argument("--nproc-per-node", type=int, default=1)
    parser.add_argument("--rdzv", required=True, help="HOST:PORT of the first node")
    parser.add_argument("--rdzv-id", default="dte")
    parser.add_argument("--preflight-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    host, _, port = args.rdzv.rpartition(":")
    node = int(os.environ.get("SLURM_NODEID", "0"))
    try:
        if node == 0:
            resolve(host, int(port))
        else:
            wait_until_open(host, int(port), args.preflight_timeout)
        run = rundir.RunDir(args.run_dir.resolve())
        ckpt = checkpoint.latest(run.checkpoints)
    except DteError as exc:
        print(f"Error (node {node}): {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    if ckpt is not None:
        print(f"[dte] node {node}: resuming from {ckpt.name}", file=sys.stderr)
    signal.signal(signal.SIGUSR1, _forward)

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser
    from torch.distributed.run import run as torchrun

    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // args.nproc_per_node)))
    parsed = get_args_parser().parse_args(torchrun_args(
        run.path, args.nnodes, args.nproc_per_node, args.rdzv, args.rdzv_id, ckpt))
    try:
        torchrun(parsed)
    except ChildFailedError as exc:
        codes = {f.exitcode for f in exc.failures.values()}
        sys.exit(max(codes) if codes <= {EXIT_PREEMPTED, EXIT_INTERRUPTED} else 1)
    except SignalException as exc:
        sys.exit(EXIT_INTERRUPTED if exc.sigval == signal.SIGINT else EXIT_PREEMPTED)


if __name__ == "__main__":
    main()
