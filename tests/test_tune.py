"""`dte tune`: exact trial budgets over parallel workers, retries of dead workers' trials,
pruning (one and two processes per trial), PostgreSQL storage, a SLURM array study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from components import missing
from support import DTE, dte, dte_env, info

pytestmark = pytest.mark.slow
PG_URL = "postgresql+psycopg://optuna:optuna@127.0.0.1:5499/optuna"


def study_of(cwd: Path, name: str, storage: str | None = None):
    import optuna

    url = storage or f"journal:{cwd / '.dte' / 'hpo' / (name + '.journal')}"
    from dte_core.hpo.study import open_storage

    return optuna.load_study(study_name=name, storage=open_storage(url))


def states(study) -> dict[str, int]:
    found: dict[str, int] = {}
    for t in study.trials:
        found[t.state.name] = found.get(t.state.name, 0) + 1
    return found


def test_two_workers_run_exactly_the_trials_asked_for(tmp_path):
    result = dte("tune", "toy", "--trials", "6", "--workers", "2", "--study", "exact",
                 "--set", "train.epochs=2", "--set", "tracking.mlflow=true", "--pruner", "none",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    study = study_of(tmp_path, "exact")
    assert states(study) == {"COMPLETE": 6}
    assert sorted(t.number for t in study.trials) == list(range(6))
    runs = {t.user_attrs["run_dir"] for t in study.trials}
    assert len(runs) == 6 and all(info(Path(r))["status"] == "finished" for r in runs)
    best = (tmp_path / ".dte" / "hpo" / "exact" / "best.yaml").read_text()
    assert f"# best trial {study.best_trial.number}" in best
    # continuing the study adds trials, and the best config trains as is
    more = dte("tune", "toy", "--trials", "1", "--study", "exact", "--set", "train.epochs=2",
               "--set", "tracking.mlflow=true", "--pruner", "none", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert states(study_of(tmp_path, "exact")) == {"COMPLETE": 7}
    parent = _mlflow_run(tmp_path, study_of(tmp_path, "exact").user_attrs["mlflow_parent_run_id"])
    best_trial = study_of(tmp_path, "exact").best_trial
    assert parent.info.status == "FINISHED"  # ended with the study, not left RUNNING
    metric = study.user_attrs["metric"]
    assert parent.data.metrics[f"best/{metric}"] == pytest.approx(best_trial.value)
    assert parent.data.metrics["trials/complete"] == 7
    assert parent.data.tags["dte.best_trial"] == str(best_trial.number)
    assert parent.data.tags["best.optim.lr"] == str(best_trial.params["optim.lr"])
    report = dte("tune", "report", "exact", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    for plot in ("history", "importances", "parallel"):
        assert (tmp_path / ".dte" / "hpo" / "exact" / f"{plot}.png").stat().st_size > 1000


def _mlflow_run(cwd: Path, run_id: str):
    from dte_core.tracking.store import client

    return client(f"sqlite:///{cwd / '.dte' / 'mlflow.db'}").get_run(run_id)


def worker_pids(parent: int) -> dict[int, int]:
    """index -> pid of the tune workers started by `dte tune` (from /proc)."""
    found = {}
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"dte_core.hpo.worker" in cmd:
                found[int(cmd[cmd.index(b"--index") + 1])] = int(pid)
    return found


def test_a_killed_workers_trial_is_retried_and_the_study_completes(tmp_path):
    proc = subprocess.Popen([DTE, "tune", "toy", "--trials", "4", "--workers", "2", "--study",
                             "crash", "--grace", "3", "--pruner", "none",
                             "--set", "testing.step_delay=0.05", "--set", "train.epochs=2"],
                            cwd=tmp_path, env=dte_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    beats = tmp_path / ".dte" / "hpo" / "crash" / "heartbeats"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (beats.is_dir() and len(list(beats.iterdir()))):
        time.sleep(0.2)
    time.sleep(1)
    os.kill(worker_pids(proc.pid)[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    study = study_of(tmp_path, "crash")
    found = states(study)
    assert found["COMPLETE"] == 4 and found["FAIL"] == 1, found
    failed = next(t for t in study.trials if t.state.name == "FAIL")
    retry = next(t for t in study.trials if t.user_attrs.get("retry_of") == failed.number)
    assert retry.state.name == "COMPLETE" and retry.params == failed.params
    assert "retried" in err


def enqueue_study(cwd: Path, name: str, lrs: list[float], storage: str | None = None,
                  sets: tuple[str, ...] = ("train.epochs=3",)) -> None:
    """A toy study whose trials come in a known order: the last learning rate is hopeless."""
    os.environ["DTE_PROJECT_DIR"] = str(cwd)
    try:
        from dte_core import config as config_layer
        from dte_core import sciences
        from dte_core.hpo import study as studies

        toy = sciences.load("toy")
        url = storage or studies.default_storage_url(name)
        cfg = config_layer.resolve(toy.Config, None, list(sets))
        opened = studies.create_or_check(name, studies.open_storage(url), "minimize",
                                         "val/loss", {
                                             "science": "toy",
                                             "space": json.dumps(toy.search_space()),
                                             "base_config": json.dumps(
                                                 cfg.model_dump(mode="json"))})
        for lr in lrs:
            opened.enqueue_trial({"optim.lr": lr, "model.hidden": 16})
    finally:
        del os.environ["DTE_PROJECT_DIR"]


@pytest.mark.parametrize("procs", [1, pytest.param(2, marks=pytest.mark.distributed)])
def test_a_hopeless_trial_is_pruned(tmp_path, procs):
    enqueue_study(tmp_path, "prune", [0.05, 0.06, 1e-3 * 1e-3])
    result = dte("tune", "toy", "--study", "prune", "--trials", "3", "--procs", str(procs),
                 "--set", "train.epochs=3", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    study = study_of(tmp_path, "prune")
    assert [t.state.name for t in sorted(study.trials, key=lambda t: t.number)] == \
        ["COMPLETE", "COMPLETE", "PRUNED"]
    pruned = Path(study.trials[2].user_attrs["run_dir"])
    assert info(pruned)["status"] == "pruned" and info(pruned)["epoch"] == 0
    if procs == 2:
        assert info(pruned)["world_size"] == 2


def test_a_diverging_trial_is_told_as_pruned_and_the_study_goes_on(tmp_path):
    # the study's base config comes from its creation, as for a continued study
    enqueue_study(tmp_path, "diverge", [0.05, 5.0, 0.06],
                  sets=("train.epochs=1", "testing.nan_lr_above=1.0"))
    result = dte("tune", "toy", "--study", "diverge", "--trials", "3", cwd=tmp_path,
                 timeout=600)
    assert result.returncode == 0, result.stderr
    study = study_of(tmp_path, "diverge")
    trials = sorted(study.trials, key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED", "COMPLETE"]
    assert "non-finite" in trials[1].user_attrs["diverged"]
    assert info(Path(trials[1].user_attrs["run_dir"]))["status"] == "failed"
    assert "trial 1 diverged, told as pruned" in result.stderr + worker_logs(tmp_path)


def worker_logs(cwd: Path) -> str:
    return " ".join(p.read_text() for p in (cwd / ".dte" / "hpo").rglob("worker-*.log"))


def _postgres_up() -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", 5499)) == 0


def test_postgresql_storage(tmp_path):
    if not _postgres_up():
        missing("postgres", "no PostgreSQL on 127.0.0.1:5499")
    name = f"pg-{int(time.time() * 1000)}"
    result = dte("tune", "toy", "--trials", "3", "--workers", "2", "--study", name,
                 "--storage", PG_URL, "--set", "train.epochs=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sum(states(study_of(tmp_path, name, PG_URL)).values()) == 3


@pytest.mark.parametrize(("space", "message"), [
    ("optim.lrr: {low: 0.001, high: 0.1}", "Did you mean 'optim.lr'"),
    ("optim.lr: {low: 0.1, high: 0.001}", "low (0.1) must be smaller than high (0.001)"),
    ("model.hidden: {choices: []}", "non-empty `choices`"),
    ("optim.lr: {low: 0, high: 0.1}", "not valid for the config"),
])
def test_bad_search_spaces(tmp_path, space, message):
    path = tmp_path / "space.yaml"
    path.write_text(space + "\n")
    result = dte("tune", "toy", "--trials", "1", "--space", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "runs").exists()


def test_unreachable_storage_says_which(tmp_path):
    url = "postgresql+psycopg://optuna:optuna@127.0.0.1:1/optuna"
    result = dte("tune", "toy", "--trials", "1", "--storage", url, cwd=tmp_path)
    shown = "postgresql+psycopg://optuna:***@127.0.0.1:1/optuna"  # the password never shows
    assert result.returncode == 2 and shown in result.stderr and url not in result.stderr


def test_existing_study_with_other_direction(tmp_path):
    enqueue_study(tmp_path, "fixed", [])
    result = dte("tune", "toy", "--trials", "1", "--study", "fixed", "--direction", "maximize",
                 cwd=tmp_path)
    assert result.returncode == 2
    assert "exists with direction minimize" in " ".join(result.stderr.split())


@pytest.mark.slurm
def test_slurm_array_study(slurm, tmp_path):
    env = {**dte_env(), "SLURM_CONF": slurm["SLURM_CONF"]}
    submitted = subprocess.run([DTE, "tune", "toy", "--trials", "4", "--workers", "2",
                                "--study", "array", "--backend", "slurm", "--time", "10",
                                "--set", "train.epochs=2"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120)
    assert submitted.returncode == 0, submitted.stderr
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = subprocess.run([DTE, "tune", "status", "array", "--json"], cwd=tmp_path,
                                env=env, capture_output=True, text=True)
        found = json.loads(status.stdout)["states"]
        if found.get("COMPLETE", 0) + found.get("PRUNED", 0) >= 4:
            break
        time.sleep(2)
    assert found.get("COMPLETE", 0) + found.get("PRUNED", 0) == 4, found
    assert len(list((tmp_path / ".dte" / "hpo").glob("slurm-*_*.out"))) == 2
    job = submitted.stdout.strip()
    assert "#SBATCH --array=0-1" in (tmp_path / ".dte" / "hpo" / "array" / "workers.sbatch"
                                     ).read_text()
    assert job in (tmp_path / ".dte" / "jobs.jsonl").read_text()  # `dte jobs` knows it


def test_slurm_dry_run_prints_the_worker_array_and_creates_nothing(tmp_path):
    enqueue_study(tmp_path, "dry", [])
    journal = tmp_path / ".dte" / "hpo" / "dry.journal"
    before = journal.read_bytes()
    result = dte("tune", "toy", "--trials", "3", "--workers", "2", "--study", "dry",
                 "--backend", "slurm", "--dry-run", "--time", "10", "--partition", "debug",
                 "--env", "X=1", "--job-name", "my tune", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    script = result.stdout
    assert script.startswith("#!/bin/bash") and "#SBATCH --array=0-1" in script
    assert "#SBATCH --partition=debug" in script and "#SBATCH --job-name='my tune'" in script
    assert "export X=1" in script and f"export DTE_PROJECT_DIR={tmp_path}" in script
    assert "-m dte_core.hpo.worker --study dry" in script and "--target 3" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    assert journal.read_bytes() == before  # the study is read, not changed
    assert not (tmp_path / ".dte" / "jobs.jsonl").exists()
    assert not (tmp_path / ".dte" / "hpo" / "dry" / "workers.sbatch").exists()


def test_local_dry_run_prints_one_command_per_worker(tmp_path):
    result = dte("tune", "toy", "--trials", "2", "--workers", "2", "--study", "d",
                 "--dry-run", "--seed", "7", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all("dte_core.hpo.worker --study d" in x for x in lines)
    assert lines[1].endswith("--index 1 --seed 7")
    assert not (tmp_path / ".dte").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--time", "10"], "--time only applies to batch jobs"),
    (["--backend", "slurm", "--remote", "me@login", "--dry-run"], "cannot see the journal file"),
    (["--backend", "slurm", "--storage", "sqlite:///x.db", "--dry-run"], "SQLite is not safe"),
    (["--backend", "slurm", "--procs", "2", "--dry-run"], "--procs > 1"),
])
def test_bad_cluster_requests_name_the_fix(tmp_path, args, message):
    result = dte("tune", "toy", "--trials", "1", "--study", "bad", *args, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / ".dte").exists()


@pytest.mark.slurm
def test_slurm_check_asks_the_scheduler_and_submits_nothing(slurm, tmp_path):
    env = {**dte_env(), "SLURM_CONF": slurm["SLURM_CONF"]}
    base = [DTE, "tune", "toy", "--trials", "2", "--workers", "2", "--study", "chk",
            "--backend", "slurm", "--check", "--time", "10"]
    ok = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "sbatch --test-only" in ok.stderr and "to start at" in ok.stderr
    bad = subprocess.run([*base, "--partition", "nope"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "rejected the job" in " ".join(bad.stderr.split())
    assert not (tmp_path / ".dte").exists()  # no study, no job record


def test_pruner_settings_are_checked_before_a_study_exists(tmp_path):
    bad = dte("tune", "toy", "--trials", "2", "--study", "typo", "--pruner",
              "asha:min_resources=2", cwd=tmp_path)
    assert bad.returncode != 0
    assert "no setting min_resources: it takes min_resource, reduction_factor" in bad.stderr
    assert not (tmp_path / ".dte" / "hpo" / "typo.journal").exists()
    good = dte("tune", "toy", "--trials", "3", "--study", "set", "--set", "train.epochs=3",
               "--set", "tracking.mlflow=false", "--pruner",
               "asha:min_resource=2,reduction_factor=2", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert sum(states(study_of(tmp_path, "set")).values()) == 3
