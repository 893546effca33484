"""MLflow tracking of `dte train`: the embedded store, a real server, a server that dies."""

from __future__ import annotations

import json
import time

import pytest
from support import dte, info, metrics, only_run, start_dte, wait_for_step

pytestmark = pytest.mark.slow


def mlflow_run(tracking_uri: str, run_dir):
    from mlflow.tracking import MlflowClient

    state = json.loads((run_dir / "mlflow.json").read_text())
    client = MlflowClient(tracking_uri=tracking_uri)
    return client, client.get_run(state["run_id"])


def assert_run_recorded(client, run, run_dir) -> None:
    assert run.info.status == "FINISHED"
    assert run.data.params["train.epochs"] == "3"
    assert run.data.params["model.hidden"] == "16"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "manifest.json"} <= artifacts
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


def test_real_server(tmp_path, live_mlflow_server):
    result = dte("train", "toy", "--set", "tracking.mlflow=true", cwd=tmp_path,
                 DTE_TRACKING_URI=live_mlflow_server.uri)
    assert result.returncode == 0, result.stderr
    run_dir = only_run(tmp_path)
    client, run = mlflow_run(live_mlflow_server.uri, run_dir)
    assert_run_recorded(client, run, run_dir)
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
