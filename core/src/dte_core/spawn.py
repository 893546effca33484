"""An engine-neutral launcher: this node's worker processes with torchrun's variables (RANK,
LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, ...), without torch. TensorFlow sciences launch with it.

Workers die with the launcher (parent-death signal); stop signals are passed on; the first
failing worker stops the others and is named.

    python -m dte_core.spawn --nproc-per-node 2 [--nnodes N --node-rank R --master HOST:PORT] \\
        -m dte_core.worker RUN_DIR
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from dte_core.errors import DteError, WorkerFailed
from dte_core.parent import die_with_parent
from dte_core.signals import STOP_CODES, describe_exit

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
#: seconds the other workers get to stop after one failed, before SIGKILL
GRACE_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_env(local_rank: int, procs: int, nnodes: int, node_rank: int, master: str,
               port: int) -> dict[str, str]:
    """The launcher variables of one worker (those dte_core.env.detect reads)."""
    return {"RANK": str(node_rank * procs + local_rank), "LOCAL_RANK": str(local_rank),
            "WORLD_SIZE": str(nnodes * procs), "LOCAL_WORLD_SIZE": str(procs),
            "GROUP_RANK": str(node_rank), "MASTER_ADDR": master, "MASTER_PORT": str(port)}


def run(worker_args: list[str], procs: int, nnodes: int = 1, node_rank: int = 0,
        master: str = "127.0.0.1", port: int | None = None, advice: str = "") -> int:
    """Run `python WORKER_ARGS` `procs` times and wait; 0, or 75/130 when the workers stopped
    after a signal (with a checkpoint). A failing worker raises WorkerFailed naming it."""
    port = port or free_port()
    threads = str(max(1, (os.cpu_count() or 1) // procs))
    workers = []
    for local in range(procs):
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", threads),
               **worker_env(local, procs, nnodes, node_rank, master, port)}
        workers.append(subprocess.Popen([sys.executable, *worker_args], env=env,
                                        preexec_fn=die_with_parent))
    received: list[int] = []

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        for proc in workers:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    # the first node answers the other nodes' pre-flight (dte_core.launch) on the master port
    listener = socket.create_server(("", port)) if nnodes > 1 and node_rank == 0 else None
    try:
        return _wait(workers, nnodes * procs, node_rank * procs, received, advice)
    finally:
        if listener is not None:
            listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _wait(workers: list[subprocess.Popen], world: int, first_rank: int, received: list[int],
          advice: str) -> int:
    while True:
        codes = [proc.poll() for proc in workers]
        failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0, *STOP_CODES)]
        if failed:
            index, code = failed[0]
            _stop_others(workers)
            raise WorkerFailed(
                f"Worker rank {first_rank + index} of {world} failed first: "
                f"{describe_exit(code)} (pid {workers[index].pid}). The other workers were "
                f"stopped. {advice}".strip(), code)
        if all(c is not None for c in codes):
            stops = [c for c in codes if c in STOP_CODES]
            if stops:
                return max(stops)
            return 0
        time.sleep(0.1)


def _stop_others(workers: list[subprocess.Popen]) -> None:
    for proc in workers:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + GRACE_S
    for proc in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dte_core.spawn")
    parser.add_argument("--nproc-per-node", type=int, required=True)
    parser.add_argument("--nnodes", type=int, default=1)
    parser.add_argument("--node-rank", type=int, default=0)
    parser.add_argument("--master", default=None, help="HOST:PORT of the first node")
    parser.add_argument("worker", nargs=argparse.REMAINDER, help="python arguments of a worker")
    args = parser.parse_args(argv)
    host, _, port = (args.master or "127.0.0.1:0").rpartition(":")
    try:
        code = run(args.worker, args.nproc_per_node, args.nnodes, args.node_rank, host,
                   int(port) or None)
    except DteError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        code = exc.exit_code
    sys.exit(code)


if __name__ == "__main__":
    main()
