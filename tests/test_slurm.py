"""Real jobs on the single-node SLURM cluster that .ci/run starts (skipped without one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import DTE, dte_env, info, metrics

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
ACTIVE = ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED")


def dte(slurm_env, *args, cwd, timeout=300):
    env = {**dte_env(), **{k: v for k, v in slurm_env.items() if k.startswith("SLURM_CONF")}}
    return subprocess.run([DTE, *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=timeout)


def submit(slurm_env, cwd, *args) -> str:
    result = dte(slurm_env, "train", "toy", "--backend", "slurm", "--time", "10", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def scheduler_state(slurm_env, job_id: str) -> str:
    out = subprocess.run(["scontrol", "-o", "show", "job", job_id], env=slurm_env,
                         capture_output=True, text=True).stdout
    states = [part.split("=", 1)[1] for line in out.splitlines() for part in line.split()
              if part.startswith("JobState=")]
    return ",".join(states) or "UNKNOWN"


def wait_done(slurm_env, job_id: str, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = scheduler_state(slurm_env, job_id)
        if not any(s in ACTIVE for s in state.split(",")):
            return state
        time.sleep(1)
    subprocess.run(["scancel", job_id], env=slurm_env)
    raise TimeoutError(f"job {job_id} still {state} after {timeout} s")


def run_of(cwd: Path) -> Path:
    runs = sorted((cwd / "runs" / "toy").glob("*/run.json"))
    assert runs
    return runs[-1].parent


def test_two_worker_ddp_job_finishes_with_its_run_in_mlflow(slurm, tmp_path):
    start = time.monotonic()
    job = submit(slurm, tmp_path, "--procs", "2", "--set", "tracking.mlflow=true")
    wait_done(slurm, job)
    run = run_of(tmp_path)
    assert info(run)["status"] == "finished" and info(run)["step"] == 36, \
        (run / f"slurm-{job}.out").read_text()
    assert info(run)["job_id"] == job and info(run)["world_size"] == 2
    from mlflow.tracking import MlflowClient

    state = json.loads((run / "mlflow.json").read_text())
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / '.dte' / 'mlflow.db'}")
    assert client.get_run(state["run_id"]).info.status == "FINISHED"
    status = json.loads(dte(slurm, "jobs", "status", job, "--json", cwd=tmp_path).stdout)
    assert status["scheduler"][job].startswith("COMPLETED")
    assert [e["event"] for e in status["events"]] == ["started", "finished"]
    assert "finished" in dte(slurm, "jobs", "logs", job, cwd=tmp_path).stdout
    print(f"2-worker job {job}: submit to finished {time.monotonic() - start:.1f} s")


def test_per_task_layout_runs_one_srun_task_per_worker(slurm, tmp_path):
    job = submit(slurm, tmp_path, "--procs", "2", "--task-layout", "per-task",
                 "--set", "train.epochs=1")
    wait_done(slurm, job)
    run = run_of(tmp_path)
    assert info(run)["status"] == "finished", (run / f"slurm-{job}.out").read_text()
    assert json.loads((run / "manifest.json").read_text())["cluster"]["launcher"] == "slurm"


def test_time_limit_signal_requeues_and_resumes(slurm, tmp_path):
    job = submit(slurm, tmp_path, "--procs", "2", "--set", "testing.step_delay=0.1",
                 "--set", "train.signal_sync_s=0.05")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = sorted((tmp_path / "runs" / "toy").glob("*/metrics.jsonl"))
        if runs and any(r.get("step", 0) >= 14 for r in metrics(runs[0].parent)):
            break
        time.sleep(0.2)
    signalled = time.monotonic()
    subprocess.run(["scancel", "--signal=USR1", "--batch", job], env=slurm, check=True)
    run = run_of(tmp_path)
    # SLURM holds a requeued job until its BeginTime (~2 min); release it for the test.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        events = [json.loads(x) for x in (run / "slurm-events.jsonl").read_text().splitlines()]
        if any(e["event"] == "time_limit" for e in events) and \
                "PENDING" in scheduler_state(slurm, job):
            break
        time.sleep(0.2)
    requeued = time.monotonic()
    while time.monotonic() < deadline:  # the first instance must be gone from the node
        node = subprocess.run(["sinfo", "-h", "-o", "%T"], env=slurm, capture_output=True,
                              text=True).stdout.strip()
        if node == "idle":
            break
        time.sleep(0.2)
    # slurmd revokes the first instance's credential with one-second resolution: a restart
    # in the same second is refused ("Job credential revoked") and the job FAILS.
    time.sleep(2)
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=slurm)
    assert wait_done(slurm, job).startswith("COMPLETED")
    log = (run / f"slurm-{job}.out").read_text()
    stopped = [e for e in events if e["event"] == "time_limit"][0]
    assert stopped["exit"] == 75, log
    assert info(run)["status"] == "finished" and info(run)["step"] == 36, log
    assert "resuming from step-" in log
    stop_step = int(log.split("stopped by SIGUSR1 at step ")[1].split(";")[0])
    resumed_at = int(log.split("resuming at step ")[1].split()[0])
    assert stop_step == resumed_at  # no step redone
    status = json.loads(dte(slurm, "jobs", "status", job, "--json", cwd=tmp_path).stdout)
    assert status["requeues_after_time_limit"] == 1 and status["preemptions"] == 0
    print(f"signal->requeued {requeued - signalled:.1f} s, stop step {stop_step}, "
          f"steps redone {stop_step - resumed_at}")


def test_cancel(slurm, tmp_path):
    job = submit(slurm, tmp_path, "--set", "testing.step_delay=1", "--set", "train.epochs=50")
    result = dte(slurm, "jobs", "cancel", job, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert wait_done(slurm, job, timeout=60).startswith("CANCELLED")


def test_array_job_trains_one_run_per_task_with_its_own_seed(slurm, tmp_path):
    job = submit(slurm, tmp_path, "--array", "2", "--set", "train.epochs=1")
    wait_done(slurm, job)
    runs = sorted(p.parent for p in (tmp_path / "runs" / "toy").glob("*/run.json"))
    assert [r.name[-3:] for r in runs] == ["-a0", "-a1"]
    assert [info(r)["status"] for r in runs] == ["finished", "finished"]
    seeds = [next(line for line in (r / "config.yaml").read_text().splitlines()
                  if line.strip().startswith("seed:")) for r in runs]
    assert seeds[0] != seeds[1]
    assert len(json.loads(dte(slurm, "jobs", "status", job, "--json", cwd=tmp_path).stdout)
               ["scheduler"]) >= 1


def test_hostile_job_name_and_env_stay_inert(slurm, tmp_path):
    job = submit(slurm, tmp_path, "--job-name", "$(touch pwned)", "--env",
                 "PAYLOAD=$(touch pwned2)", "--set", "train.max_steps=1")
    wait_done(slurm, job)
    shown = subprocess.run(["scontrol", "show", "job", job], env=slurm, capture_output=True,
                           text=True).stdout
    assert "JobName=$(touch pwned)" in shown
    run = run_of(tmp_path)
    assert info(run)["status"] == "finished"
    assert not list(tmp_path.rglob("pwned*"))


def test_check_asks_the_scheduler_and_submits_nothing(slurm, tmp_path):
    ok = dte(slurm, "train", "toy", "--backend", "slurm", "--check", cwd=tmp_path)
    assert ok.returncode == 0 and "sbatch --test-only" in ok.stderr, ok.stderr
    bad = dte(slurm, "train", "toy", "--backend", "slurm", "--check", "--partition", "nope",
              cwd=tmp_path)
    assert bad.returncode == 2 and "rejected" in bad.stderr
    assert not (tmp_path / "runs").exists()


def test_sbatch_missing_names_remote(tmp_path):
    env = {**dte_env(), "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([DTE, "train", "toy", "--backend", "slurm"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "--remote user@login-host" in " ".join(
        result.stderr.split())


def test_unknown_job_id(slurm, tmp_path):
    result = dte(slurm, "jobs", "status", "424242", cwd=tmp_path)
    assert result.returncode == 2 and "No job '424242'" in result.stderr


def test_unknown_site_profile(tmp_path):
    (tmp_path / "dte.toml").write_text('[sites.cluster-a]\npartition = "gpu"\n')
    result = subprocess.run([DTE, "train", "toy", "--backend", "slurm", "--site", "cluster-b",
                             "--dry-run"], cwd=tmp_path, env=dte_env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "Known profiles: cluster-a" in result.stderr
    assert os.path.exists(tmp_path / "dte.toml")


def test_scale_sweep_as_slurm_jobs(slurm, tmp_path):
    result = dte(slurm, "scale", "toy", "--backend", "slurm", "--workers", "1,2", "--epochs", "2",
                 "--no-comm", "--time", "10", "--out", "sweep", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads((tmp_path / "sweep" / "scaling.json").read_text())
    assert [(r["strategy"], r["workers"]) for r in rows] == [("ddp", 1), ("ddp", 2)]
    assert all(r["samples_per_s"] > 0 and r["epochs_counted"] == 1 for r in rows)
    for count in (1, 2):
        run = next((tmp_path / "sweep" / "runs" / f"ddp-{count}").glob("*/*/run.json")).parent
        assert info(run)["job_id"] and info(run)["world_size"] == count
        assert "OMP_NUM_THREADS=1" in (run / "job.sbatch").read_text()
    assert "SLURM job" in result.stderr and "efficiency" in result.stdout
