"""MLflow sink: a background thread tails metrics.jsonl and sends it in batches.

The step loop never talks to MLflow: it only appends to metrics.jsonl (the JSONL sink). This
thread uploads what was appended since its last success and records how far it got in
`mlflow.json`, so a server that dies mid-run loses nothing: `dte sync RUN` (or the next
resume) sends the rest with the same code.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dte_core import paths
from dte_core.tracking import Sink, flatten

STATE = "mlflow.json"
RESERVED = ("step", "epoch", "time")
STATUS = {"finished": "FINISHED", "failed": "FAILED", "stopped": "KILLED", "running": "RUNNING"}


def read_state(run_dir: Path) -> dict[str, Any]:
    """The run's MLflow bookkeeping (empty if it never reached MLflow)."""
    try:
        state = json.loads((run_dir / STATE).read_text())
    except (OSError, ValueError):
        return {}
    if state.get("tracking_uri"):
        state["tracking_uri"] = paths.recorded_tracking_uri(state["tracking_uri"], run_dir)
    return state


def write_state(run_dir: Path, state: Mapping[str, Any]) -> None:
    tmp = run_dir / f".{STATE}.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, run_dir / STATE)


def client(tracking_uri: str):
    """An MlflowClient with short HTTP retries, so a dead server is noticed in seconds."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    from dte_core.optional import require

    require("mlflow", extra="mlflow")
    from mlflow.tracking import MlflowClient

    if tracking_uri == paths.embedded_tracking_uri():
        from dte_core.tracking.relocate import follow_project

        follow_project()

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def ensure_run(mlf, state: dict[str, Any], experiment: str, run_name: str,
               tags: Mapping[str, str]) -> dict[str, Any]:
    """Create the experiment and run on first contact; reuse the recorded run afterwards."""
    if state.get("run_id"):
        return state
    exp = mlf.get_experiment_by_name(experiment)
    if exp is None:
        location = None
        if state["tracking_uri"] == paths.embedded_tracking_uri():
            location = paths.embedded_artifact_root().as_uri()
        try:
            exp_id = mlf.create_experiment(experiment, artifact_location=location)
        except Exception:  # another process created it meanwhile
            exp_id = mlf.get_experiment_by_name(experiment).experiment_id
    else:
        exp_id = exp.experiment_id
    run = mlf.create_run(exp_id, run_name=run_name, tags=dict(tags))
    state.update(experiment_id=exp_id, run_id=run.info.run_id, sent_bytes=0)
    return state


def send_params_and_artifacts(mlf, run_dir: Path, state: dict[str, Any]) -> None:
    """Log the resolved config as params and config/manifest as artifacts, once."""
    from mlflow.entities import Param

    if not state.get("params_sent"):
        import yaml

        config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        params = [Param(k, json.dumps(v) if isinstance(v, list | dict) else str(v))
                  for k, v in flatten(config).items()]
        for i in range(0, len(params), 100):
            mlf.log_batch(state["run_id"], params=params[i:i + 100])
        state["params_sent"] = True
    for name in ("config.yaml", "manifest.json", "data-signature.json"):
        if (run_dir / name).is_file():
            mlf.log_artifact(state["run_id"], str(run_dir / name))


def send_pending(mlf, run_dir: Path, state: dict[str, Any]) -> int:
    """Upload complete metrics.jsonl lines past `sent_bytes`; returns how many records."""
    from mlflow.entities import Metric

    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return 0
    with path.open("rb") as handle:
        handle.seek(state.get("sent_bytes", 0))
        chunk = handle.read()
    end = chunk.rfind(b"\n") + 1
    if end == 0:
        return 0
    metrics: list[Any] = []
    records = 0
    for line in chunk[:end].decode("utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        records += 1
        stamp = int(record.get("time", time.time()) * 1000)
        step = int(record.get("step", 0))
        metrics.extend(Metric(k, float(v), stamp, step) for k, v in record.items()
                       if k not in RESERVED and isinstance(v, int | float))
        if "epoch" in record:
            metrics.append(Metric("epoch", float(record["epoch"]), stamp, step))
    for i in range(0, len(metrics), 1000):
        mlf.log_batch(state["run_id"], metrics=metrics[i:i + 1000])
    state["sent_bytes"] = state.get("sent_bytes", 0) + end
    write_state(run_dir, state)
    return records


def sync(run_dir: Path, status: str | None, experiment: str, run_name: str,
         tags: Mapping[str, str], tracking_uri: str | None = None) -> dict[str, Any]:
    """Bring the MLflow run up to date with the run directory (used by `dte sync`)."""
    state = read_state(run_dir)
    state.setdefault("tracking_uri", tracking_uri or paths.tracking_uri())
    mlf = client(state["tracking_uri"])
    ensure_run(mlf, state, experiment, run_name, tags)
    write_state(run_dir, state)
    send_params_and_artifacts(mlf, run_dir, state)
    state["last_sync_records"] = send_pending(mlf, run_dir, state)
    if status and status in STATUS:
        mlf.set_terminated(state["run_id"], STATUS[status])
        state["terminated"] = status
    write_state(run_dir, state)
    return state


class MlflowSink(Sink):
    """Sends the run to MLflow from a daemon thread; never blocks or fails the training."""

    #: seconds between uploads; each costs the sink's process some CPU (SQLAlchemy, HTTP)
    interval_s = float(os.environ.get("DTE_MLFLOW_INTERVAL_S", "5"))
    finish_timeout_s = float(os.environ.get("DTE_MLFLOW_FINISH_TIMEOUT", "60"))

    def __init__(self, run_dir: Path, tracking_uri: str, experiment: str, run_name: str,
                 tags: Mapping[str, str], warn: Callable[[str], None] | None = None) -> None:
        self.run_dir = run_dir
        self.experiment, self.run_name, self.tags = experiment, run_name, dict(tags)
        self.state = read_state(run_dir)
        if self.state.get("tracking_uri") not in (None, tracking_uri):
            self.state = {}  # the run moved to another server: start a fresh MLflow run there
        self.state["tracking_uri"] = tracking_uri
        self.warn = warn or (lambda text: print(f"Warning: {text}", file=sys.stderr))
        self.stop = threading.Event()
        self.status: str | None = None
        self.failures = 0
        self.thread = threading.Thread(target=self._loop, name="dte-mlflow", daemon=True)

    def start(self, params, artifacts, total_steps, done_steps) -> None:
        self.thread.start()

    def finish(self, status: str) -> None:
        self.status = status
        self.stop.set()
        self.thread.join(self.finish_timeout_s)
        if self.thread.is_alive() or self.failures:
            self.warn(f"MLflow at {self.state['tracking_uri']} did not receive the whole run; "
                      f"metrics.jsonl is complete. Send the rest later with: dte sync "
                      f"{self.run_dir}")

    def _loop(self) -> None:
        mlf = None
        backoff = self.interval_s
        while True:
            stopping = self.stop.is_set()
            try:
                if mlf is None:
                    mlf = client(self.state["tracking_uri"])
                    ensure_run(mlf, self.state, self.experiment, self.run_name, self.tags)
                    write_state(self.run_dir, self.state)
                    send_params_and_artifacts(mlf, self.run_dir, self.state)
                send_pending(mlf, self.run_dir, self.state)
                if stopping:
                    mlf.set_terminated(self.state["run_id"], STATUS.get(self.status, "FINISHED"))
                    self.state["terminated"] = self.status
                    write_state(self.run_dir, self.state)
                    self.failures = 0
                    return
                backoff = self.interval_s
            except Exception as exc:  # a tracking problem must never stop training
                mlf = None if "run_id" not in self.state else mlf
                if self.failures == 0:
                    self.warn(f"MLflow tracking failed ({type(exc).__name__}: "
                              f"{str(exc)[:200]}); training goes on, metrics.jsonl stays "
                              f"complete, `dte sync {self.run_dir}` sends the rest later.")
                self.failures += 1
                if stopping:
                    return
                backoff = min(backoff * 2, 30.0)
            self.stop.wait(backoff)
