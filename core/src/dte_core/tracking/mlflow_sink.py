"""MLflow sink: a separate uploader process tails metrics.jsonl and sends it in batches.

The step loop never talks to MLflow and never imports it: it only appends to metrics.jsonl (the
JSONL sink). The uploader (`dte_core.tracking.uploader`) sends what was appended since its last
success and records how far it got in `mlflow.json`, so a server that dies mid-run loses
nothing: `dte sync` (or the next resume) sends the rest with the same code.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dte_core import paths
from dte_core.tracking import Sink, flatten
from dte_core.tracking.store import client, file_lock

__all__ = ["MlflowSink", "client", "ensure_run", "pending", "read_state", "settle_all",
           "settled_state", "sync"]

STATE = "mlflow.json"
RESERVED = ("step", "epoch", "time")
STATUS = {"finished": "FINISHED", "failed": "FAILED", "stopped": "KILLED", "running": "RUNNING"}
#: held by whoever uploads a run (its uploader, `dte sync`), so two never send the same lines
UPLOAD_LOCK = ".mlflow.lock"
LOG = "mlflow.log"


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


def is_constant(key: str, patterns: list[str]) -> bool:
    """Whether a metric is one a science declared constant over the run (logged once)."""
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


def send_pending(mlf, run_dir: Path, state: dict[str, Any]) -> int:
    """Upload complete metrics.jsonl lines past `sent_bytes`; returns how many records.
    Declared constants (`job.constants`) go once as params instead of a metric per epoch."""
    from mlflow.entities import Metric, Param

    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return 0
    with path.open("rb") as handle:
        handle.seek(state.get("sent_bytes", 0))
        chunk = handle.read()
    end = chunk.rfind(b"\n") + 1
    if end == 0:
        return 0
    patterns = list(state.get("job", {}).get("constants", []))
    sent = set(state.get("constants_sent", []))
    metrics: list[Any] = []
    constants: dict[str, float] = {}
    records = 0
    for line in chunk[:end].decode("utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        records += 1
        stamp = int(record.get("time", time.time()) * 1000)
        step = int(record.get("step", 0))
        for key, value in record.items():
            if key in RESERVED or not isinstance(value, int | float):
                continue
            if is_constant(key, patterns):
                if key not in sent:
                    constants.setdefault(key, float(value))
            else:
                metrics.append(Metric(key, float(value), stamp, step))
        if "epoch" in record:
            metrics.append(Metric("epoch", float(record["epoch"]), stamp, step))
    if constants:
        mlf.log_batch(state["run_id"], params=[Param(k, repr(v)) for k, v in constants.items()])
        state["constants_sent"] = sorted(sent | set(constants))
    for i in range(0, len(metrics), 1000):
        mlf.log_batch(state["run_id"], metrics=metrics[i:i + 1000])
    state["sent_bytes"] = state.get("sent_bytes", 0) + end
    write_state(run_dir, state)
    return records


def send_final(mlf, run_dir: Path, state: dict[str, Any], status: str) -> None:
    """The complete metrics.jsonl as an artifact, then the run's end status."""
    if (run_dir / "metrics.jsonl").is_file():
        mlf.log_artifact(state["run_id"], str(run_dir / "metrics.jsonl"))
    mlf.set_terminated(state["run_id"], STATUS.get(status, "FINISHED"))
    state["terminated"] = status
    state.pop("error", None)
    write_state(run_dir, state)


def settled_state(run_dir: Path, timeout_s: float = 120) -> dict[str, Any]:
    """The run's MLflow bookkeeping once no uploader is sending it (waits up to `timeout_s`)."""
    try:
        with file_lock(run_dir / UPLOAD_LOCK, timeout_s):
            return read_state(run_dir)
    except OSError:  # a read-only run folder: nobody can be uploading from it
        return read_state(run_dir)


def settle_all(runs_root: Path, timeout_s: float = 120) -> None:
    """Wait until no uploader is sending a run under `runs_root` (before reading MLflow)."""
    deadline = time.monotonic() + timeout_s
    for state_file in sorted(runs_root.glob(f"*/*/{STATE}")):
        settled_state(state_file.parent, max(0.0, deadline - time.monotonic()))


def sync(run_dir: Path, status: str | None, experiment: str, run_name: str,
         tags: Mapping[str, str], tracking_uri: str | None = None) -> dict[str, Any]:
    """Bring the MLflow run up to date with the run directory (used by `dte sync`)."""
    from dte_core.errors import DteError

    with file_lock(run_dir / UPLOAD_LOCK, 120) as held:
        if not held:
            raise DteError(f"The MLflow upload of {run_dir} is still running after 120 s "
                           f"(see {run_dir / LOG}); run `dte sync` again when it has ended.")
        state = read_state(run_dir)
        if tracking_uri and state.get("tracking_uri") not in (None, tracking_uri):
            state = {"job": state.get("job", {})}  # sent elsewhere: a fresh MLflow run there
        state.setdefault("tracking_uri", tracking_uri or paths.tracking_uri())
        mlf = client(state["tracking_uri"])
        ensure_run(mlf, state, experiment, run_name, {**tags, **source_tags(paths.project_dir())})
        write_state(run_dir, state)
        send_params_and_artifacts(mlf, run_dir, state)
        state["last_sync_records"] = send_pending(mlf, run_dir, state)
        if status and status in STATUS:
            send_final(mlf, run_dir, state, status)
        write_state(run_dir, state)
    return state


def pending(runs_root: Path) -> list[Path]:
    """Run folders whose MLflow upload ended unfinished, queued for `dte sync`."""
    found = []
    for state_file in sorted(runs_root.glob(f"*/*/{STATE}")):
        state = read_state(state_file.parent)
        if state.get("run_id") and state.get("terminated"):
            continue
        with file_lock(state_file.parent / UPLOAD_LOCK, 0) as free:
            if free:  # else its uploader is still at work
                found.append(state_file.parent)
    return found


def source_tags(project: Path) -> dict[str, str]:
    """MLflow's source tags (git commit, branch, remote) when the project is a git checkout."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(project), *args], capture_output=True,
                                  text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    tags = {"mlflow.source.type": "LOCAL", "mlflow.source.name": "dte"}
    commit = git("rev-parse", "HEAD")
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags.update({k: v for k, v in {
            "mlflow.source.git.branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "mlflow.source.git.repoURL": git("config", "--get", "remote.origin.url"),
            "dte.git.dirty": "true" if git("status", "--porcelain", "--untracked-files=no")
            else "false"}.items() if v})
    return tags


class MlflowSink(Sink):
    """Starts the run's uploader process; never blocks, slows or fails the training."""

    #: seconds `finish` waits for the upload to end before leaving it to the background; a
    #: SLURM job's processes die with the job, so there it waits as long as the uploader tries
    in_job = "SLURM_JOB_ID" in os.environ
    finish_wait_s = float(os.environ.get("DTE_MLFLOW_FINISH_WAIT") or (
        float(os.environ.get("DTE_MLFLOW_FINISH_TIMEOUT", "60")) + 30 if in_job else 0.5))

    def __init__(self, run_dir: Path, tracking_uri: str, experiment: str, run_name: str,
                 tags: Mapping[str, str], warn: Callable[[str], None] | None = None,
                 constants: tuple[str, ...] = (), system_metrics: bool = True) -> None:
        self.run_dir = run_dir
        self.tracking_uri = tracking_uri
        self.job = {"experiment": experiment, "run_name": run_name, "tags": dict(tags),
                    "constants": list(constants), "system_metrics": system_metrics}
        self.warn = warn or (lambda text: print(f"Warning: {text}", file=sys.stderr))
        self.proc: subprocess.Popen | None = None

    def start(self, params, artifacts, total_steps, done_steps) -> None:
        state = settled_state(self.run_dir, 0) if (self.run_dir / STATE).exists() else {}
        if state.get("tracking_uri") not in (None, self.tracking_uri):
            state = {}  # the run moved to another server: start a fresh MLflow run there
        state.update(tracking_uri=self.tracking_uri, job=self.job)
        state.pop("terminated", None)
        write_state(self.run_dir, state)

    def log(self, metrics, step, epoch) -> None:
        if self.proc is None:
            self._spawn()  # after the first steps: its start-up never delays the first one

    def _spawn(self) -> None:
        with (self.run_dir / LOG).open("ab") as log:
            # its own session: Ctrl-C and the launcher's group signals leave the upload running
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dte_core.tracking.uploader", str(self.run_dir)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True)

    def finish(self, status: str) -> None:
        if self.proc is None:
            if not (self.run_dir / STATE).exists():
                return  # the run ended before it started: nothing to record
            self._spawn()
        try:
            self.proc.stdin.write(f"{status}\n".encode())
            self.proc.stdin.close()
        except OSError:
            pass  # the uploader already ended; its log and mlflow.json say why
        # an uploader still starting (no MLflow run yet) takes seconds: a short wait won't help
        started = self.in_job or "DTE_MLFLOW_FINISH_WAIT" in os.environ or \
            read_state(self.run_dir).get("run_id")
        wait = self.finish_wait_s if started else 0
        try:
            code = self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.warn(f"MLflow: the upload to {self.tracking_uri} finishes in the background "
                      f"(pid {self.proc.pid}, log {self.run_dir / LOG}); if it does not arrive, "
                      f"`dte sync` sends every unsent run.")
            return
        if code != 0:
            error = read_state(self.run_dir).get("error", f"see {self.run_dir / LOG}")
            self.warn(f"MLflow at {self.tracking_uri} did not receive the whole run ({error}); "
                      f"metrics.jsonl is complete. Send the rest later with: dte sync "
                      f"{self.run_dir}")
