"""The uploader process of one run: `python -m dte_core.tracking.uploader RUN_DIR`.

Started by the MLflow sink with the job in `mlflow.json`; it imports MLflow and opens the store
away from the training process, at low priority, and sends metrics.jsonl as it grows. The
training writes the run's end status to its stdin (EOF alone: the trainer died; run.json then
says how it ended). It outlives the command that started it until the run has arrived or the
server stayed away for DTE_MLFLOW_FINISH_TIMEOUT seconds; `dte sync` sends what it could not.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from dte_core import paths
from dte_core.tracking import mlflow_sink as sink
from dte_core.tracking.store import client, file_lock

INTERVAL_S = float(os.environ.get("DTE_MLFLOW_INTERVAL_S", "5"))
GIVE_UP_S = float(os.environ.get("DTE_MLFLOW_FINISH_TIMEOUT", "60"))


class EndOfRun:
    """The run's end status, read from the trainer's pipe in a thread."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.event = threading.Event()
        self.status: str | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        line = sys.stdin.readline().strip()
        self.status = line or self._from_run_json()
        self.event.set()

    def _from_run_json(self) -> str:
        try:
            status = json.loads((self.run_dir / "run.json").read_text()).get("status")
        except (OSError, ValueError):
            status = None
        return status if status in sink.STATUS and status != "running" else "stopped"


def system_monitor(state: dict[str, Any]) -> Any:
    """MLflow's system metrics (CPU, memory, disk, network, GPU) for the run, where psutil is."""
    if not state["job"].get("system_metrics", True):
        return None
    try:
        import psutil  # noqa: F401
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
    except ImportError:
        return None
    monitor = SystemMetricsMonitor(state["run_id"], sampling_interval=INTERVAL_S,
                                   resume_logging=True, tracking_uri=state["tracking_uri"])
    monitor.start()
    return monitor


def close_monitor(monitor: Any) -> None:
    """Stop sampling and send what was sampled (MLflow's monitor drops a partial interval)."""
    if monitor is None:
        return
    with contextlib.suppress(Exception):
        monitor.finish()
        monitor.collect_metrics()
        monitor.publish_metrics(monitor.aggregate_metrics())
        monitor.mlflow_logger.flush()


def upload(run_dir: Path, end: EndOfRun) -> int:
    """Send the run until it has ended and arrived (0) or the server stayed away (1)."""
    state = sink.read_state(run_dir)
    job = state["job"]
    mlf = monitor = None
    backoff, ended_at = INTERVAL_S, None
    while True:
        if end.event.is_set() and ended_at is None:
            ended_at = time.monotonic()
        try:
            if mlf is None:
                mlf = client(state["tracking_uri"])
                sink.ensure_run(mlf, state, job["experiment"], job["run_name"],
                                {**job["tags"], **sink.source_tags(paths.project_dir())})
                sink.write_state(run_dir, state)
                sink.send_params_and_artifacts(mlf, run_dir, state)
                if ended_at is None:
                    monitor = system_monitor(state)
            sink.send_pending(mlf, run_dir, state)
            if ended_at is not None:
                monitor = close_monitor(monitor)
                sink.send_final(mlf, run_dir, state, end.status)
                return 0
            backoff = INTERVAL_S
        except Exception as exc:  # a tracking problem must never stop training
            if "run_id" not in state:
                mlf = None
            state["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            sink.write_state(run_dir, state)
            traceback.print_exc()
            if ended_at is not None and time.monotonic() - ended_at > GIVE_UP_S:
                return 1
            backoff = min(backoff * 2, 30.0)
        end.event.wait(backoff if ended_at is None else min(backoff, 5.0))


def main(argv: list[str] | None = None) -> int:
    run_dir = Path((argv or sys.argv[1:])[0])
    with contextlib.suppress(OSError):  # below the training: uploads take the CPU steps leave
        os.nice(10)
    end = EndOfRun(run_dir)
    with file_lock(run_dir / sink.UPLOAD_LOCK):
        return upload(run_dir, end)


if __name__ == "__main__":
    sys.exit(main())
