"""MLflow tracking of `dte train`: the embedded store, a real server, a server that dies."""

from __future__ import annotations

import json
import time

import pytest
from support import dte, info, metrics, only_run, run_dirs, start_dte, wait_for_step

pytestmark = pytest.mark.slow


def mlflow_run(tracking_uri: str, run_dir):
    """The run in MLflow, once its uploader (which may outlive `dte train`) has ended."""
    from dte_core.tracking.mlflow_sink import settled_state
    from mlflow.tracking import MlflowClient

    state = settled_state(run_dir)
    client = MlflowClient(tracking_uri=tracking_uri)
    return client, client.get_run(state["run_id"])


def assert_run_recorded(client, run, run_dir) -> None:
    assert run.info.status == "FINISHED"
    assert run.data.params["train.epochs"] == "3"
    assert run.data.params["model.hidden"] == "16"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "manifest.json", "metrics.jsonl"} <= artifacts
    logged = [r for r in metrics(run_dir) if "train/loss" in r]
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in history] == [r["step"] for r in logged]
    assert "val/loss" in run.data.metrics


def test_embedded_store_under_project_dte(tmp_path):
    result = dte("train", "toy", "--set", "tracking.mlflow=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = only_run(tmp_path)
    uri = f"sqlite:///{tmp_path / '.dte' / 'mlflow.db'}"
    assert info(run_dir)["tracking_uri"] == uri
    client, run = mlflow_run(uri, run_dir)
    assert_run_recorded(client, run, run_dir)
    assert run.info.artifact_uri.startswith((tmp_path / ".dte" / "mlartifacts").as_uri())


def test_real_server_with_system_metrics(tmp_path, live_mlflow_server):
    # long enough (36 x 0.25 s) for the uploader to start and sample the machine
    result = dte("train", "toy", "--set", "tracking.mlflow=true",
                 "--set", "testing.step_delay=0.25", cwd=tmp_path,
                 DTE_TRACKING_URI=live_mlflow_server.uri, DTE_MLFLOW_INTERVAL_S="0.5")
    assert result.returncode == 0, result.stderr
    run_dir = only_run(tmp_path)
    client, run = mlflow_run(live_mlflow_server.uri, run_dir)
    assert_run_recorded(client, run, run_dir)
    assert "system/cpu_utilization_percentage" in run.data.metrics
    assert not (tmp_path / ".dte" / "mlflow.db").exists()


def test_server_killed_mid_run_then_sync(tmp_path, live_mlflow_server):
    server = live_mlflow_server
    proc = start_dte("train", "toy", "--set", "tracking.mlflow=true",
                     "--set", "testing.step_delay=0.08", "--tracking-uri", server.uri,
                     cwd=tmp_path, DTE_MLFLOW_FINISH_TIMEOUT="10")
    run_dir = wait_for_step(tmp_path, 4)
    deadline = time.monotonic() + 60  # wait until the sink has reached the server once
    while time.monotonic() < deadline and \
            json.loads((run_dir / "mlflow.json").read_text() if (run_dir / "mlflow.json")
                       .exists() else "{}").get("sent_bytes", 0) == 0:
        time.sleep(0.1)
    server.stop()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "dte sync" in err  # the warning says how to send the rest
    records = metrics(run_dir)
    assert records[-1]["step"] == 36 and info(run_dir)["status"] == "finished"

    server.start()
    synced = dte("sync", run_dir.name, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    client, run = mlflow_run(server.uri, run_dir)
    assert_run_recorded(client, run, run_dir)


def test_four_concurrent_trains_on_a_fresh_project_all_arrive(tmp_path):
    procs = [start_dte("train", "toy", "--set", "tracking.mlflow=true",
                       "--set", f"train.seed={seed}", cwd=tmp_path) for seed in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    runs = run_dirs(tmp_path)
    assert len(runs) == 4
    uri = f"sqlite:///{tmp_path / '.dte' / 'mlflow.db'}"
    for run_dir in runs:
        client, run = mlflow_run(uri, run_dir)
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "train/loss")
        assert len(history) == len([r for r in metrics(run_dir) if "train/loss" in r])
    assert dte("sync", cwd=tmp_path).stderr.startswith("nothing to sync")


def test_uploads_left_unfinished_are_queued_for_sync(tmp_path):
    # nothing listens on port 9: the uploader gives up, `dte sync` sends the run elsewhere
    result = dte("train", "toy", "--set", "tracking.mlflow=true", "--set",
                 "tracking.uri=http://127.0.0.1:9", cwd=tmp_path,
                 DTE_MLFLOW_FINISH_TIMEOUT="0", DTE_MLFLOW_FINISH_WAIT="120")
    assert result.returncode == 0, result.stderr
    assert "dte sync" in result.stderr
    run_dir = only_run(tmp_path)
    good = f"sqlite:///{tmp_path / '.dte' / 'mlflow.db'}"
    synced = dte("sync", "--tracking-uri", good, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert run_dir.name in synced.stderr
    client, run = mlflow_run(good, run_dir)
    assert_run_recorded(client, run, run_dir)


def test_three_processes_open_a_fresh_store_at_once(tmp_path):
    # without the lock MLflow's schema migrations race: `duplicate column name`, alembic errors
    import subprocess
    import sys

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code = ("import sys; from dte_core.tracking.store import client; "
            "client(sys.argv[1]).search_registered_models()")
    procs = [subprocess.Popen([sys.executable, "-c", code, uri], stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err


def test_constants_once_as_params_and_git_source_tags(tmp_path, monkeypatch):
    import subprocess

    from dte_core.tracking.mlflow_sink import sync, write_state

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], cwd=tmp_path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True).stdout.strip()
    monkeypatch.setenv("DTE_PROJECT_DIR", str(tmp_path))
    run_dir = tmp_path / "runs" / "virgo-gw" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("train:\n  epochs: 2\n")
    (run_dir / "metrics.jsonl").write_text("".join(
        json.dumps({"step": s, "epoch": s // 10, "time": 1.0 + s, "val/loss": 1.0 / s,
                    "val/baseline_l1": 0.25, "val/cbc_energy": 3.5}) + "\n" for s in (10, 20)))
    uri = f"sqlite:///{tmp_path / '.dte' / 'mlflow.db'}"  # the project's: artifacts under it
    write_state(run_dir, {"tracking_uri": uri,
                          "job": {"constants": ["val/baseline_*", "val/cbc_energy"]}})
    state = sync(run_dir, "finished", "virgo-gw", "r1", {"dte.science": "virgo-gw"})

    from mlflow.tracking import MlflowClient

    run = MlflowClient(uri).get_run(state["run_id"])
    assert set(run.data.metrics) == {"val/loss", "epoch"}
    assert run.data.params["val/baseline_l1"] == "0.25"
    assert run.data.params["val/cbc_energy"] == "3.5"
    assert run.data.tags["mlflow.source.git.commit"] == head
