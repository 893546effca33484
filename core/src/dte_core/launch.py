"""The per-node launcher of a batch job: pre-flight, then the engine starts this node's workers
(torchrun with a c10d rendezvous for torch, dte_core.spawn for TensorFlow).

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

from dte_core import checkpoint, ownership, resume, rundir, sciences
from dte_core import engine as engines
from dte_core.engine import Launch
from dte_core.errors import DteError, WorkerFailed
from dte_core.rendezvous import resolve, wait_until_open


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
        skipped: list[Path] = []
        ckpt = resume.checkpoint_of(run, skipped)
        engine = engines.of(sciences.load(run.info().get("science", "")))
    except DteError as exc:
        print(f"Error (node {node}): {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    if ckpt is not None:
        print(f"[dte] node {node}: resuming from {ckpt.name}", file=sys.stderr)
    signal.signal(signal.SIGUSR1, _forward)
    # the first node owns the run for the job's life; the others only run workers
    owning = ownership.own(run, resume.warn) if node == 0 else contextlib.nullcontext()
    try:
        with owning:
            if node == 0:
                for damaged in skipped:
                    checkpoint.set_aside(damaged)
            advice = (f"Its output is in this job's log; the run resumes with --resume "
                      f"{run.run_id}.")
            code = engine.launch(Launch(run.path, ckpt, args.nproc_per_node, args.nnodes, node,
                                        args.rdzv, args.rdzv_id, advice=advice))
    except (WorkerFailed, ownership.RunOwned) as exc:
        print(f"Error (node {node}): {exc}", file=sys.stderr)
        code = exc.exit_code
    sys.exit(code)


if __name__ == "__main__":
    main()
