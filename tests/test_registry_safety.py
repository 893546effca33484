"""Registry safety: a model keeps to one science, a run never gets an empty MLflow twin, a
moved project keeps its store, a registered version is an MLflow pyfunc model that
`mlflow models serve` answers with, and `dte evaluate` reaches the evaluated run."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from support import dte, dte_env

pytestmark = pytest.mark.slow


def store(cwd):
    """The project's store, opened the way dte opens it (a background upload may still be
    creating its schema)."""
    from dte_core.tracking.store import client

    return client(f"sqlite:///{cwd / '.dte' / 'mlflow.db'}")


def run_ids(cwd):
    return sorted(p.parent.name for p in (cwd / "runs" / "toy").glob("*/run.json"))


def tracked_and_offline(cwd) -> tuple[str, str]:
    """The fixture's two runs: (tracked in MLflow, never tracked)."""
    import yaml

    def offline(run):
        config = yaml.safe_load((cwd / "runs" / "toy" / run / "config.yaml").read_text())
        return config["tracking"]["mlflow"] is False

    first, second = run_ids(cwd)[:2]
    return (second, first) if offline(first) else (first, second)


def named_runs(mlf, name):
    exp = mlf.get_experiment_by_name("toy")
    return mlf.search_runs([exp.experiment_id], f"attributes.run_name = '{name}'")


def assert_error(result, *needles):
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    text = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in text, text


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with one tracked and one offline (never tracked: the toy's default) run."""
    cwd = tmp_path_factory.mktemp("regsafe")
    for extra in (("--set", "tracking.mlflow=true"), ()):
        result = dte("train", "toy", *extra, cwd=cwd)
        assert result.returncode == 0, result.stderr
    np.savez(cwd / "x.npz", x=np.random.default_rng(1).normal(size=(4, 8)).astype("f4"))
    return cwd


def test_a_model_keeps_to_its_science(project):
    tracked = tracked_and_offline(project)[0]
    store(project).create_registered_model("denoiser", tags={"dte.science": "virgo-gw"})
    assert_error(dte("register", tracked, "--name", "denoiser", cwd=project),
                 "'denoiser' holds 'virgo-gw' models", "trained 'toy'")
    assert not store(project).search_model_versions("name='denoiser'")  # nothing half-made


def test_an_offline_run_is_uploaded_not_twinned(project):
    offline = tracked_and_offline(project)[1]
    for name in ("offline-a", "offline-b"):
        result = dte("register", offline, "--name", name, cwd=project)
        assert result.returncode == 0, result.stderr
    mlf = store(project)
    found = named_runs(mlf, offline)
    assert len(found) == 1  # two registrations, one MLflow run
    lines = (project / "runs" / "toy" / offline / "metrics.jsonl").read_text().splitlines()
    logged = mlf.get_metric_history(found[0].info.run_id, "train/loss")
    assert len(logged) == sum('"train/loss"' in line for line in lines) > 0
    assert found[0].data.params  # the config came along


def test_a_foreign_store_run_is_uploaded_once_and_keeps_its_record(project, live_mlflow_server):
    from mlflow.tracking import MlflowClient

    tracked = tracked_and_offline(project)[0]
    record = (project / "runs" / "toy" / tracked / "mlflow.json").read_text()
    for name in ("foreign-a", "foreign-b"):
        result = dte("register", tracked, "--name", name, cwd=project,
                     DTE_TRACKING_URI=live_mlflow_server.uri)
        assert result.returncode == 0, result.stderr
    server = MlflowClient(tracking_uri=live_mlflow_server.uri)
    found = named_runs(server, tracked)
    assert len(found) == 1 and server.get_metric_history(found[0].info.run_id, "train/loss")
    assert (project / "runs" / "toy" / tracked / "mlflow.json").read_text() == record


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_registered_version_is_a_pyfunc_model_that_mlflow_serves(project):
    import mlflow.pyfunc

    tracked = tracked_and_offline(project)[0]
    result = dte("register", tracked, "--name", "served-toy", cwd=project)
    assert result.returncode == 0, result.stderr
    x = np.load(project / "x.npz")["x"]
    assert dte("predict", "toy", "--model", "models:/served-toy/1", "--input", "x.npz",
               "--output", "y.npz", cwd=project).returncode == 0
    expected = np.load(project / "y.npz")["y"]
    uri = f"sqlite:///{project / '.dte' / 'mlflow.db'}"
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model("models:/served-toy/1")
    assert model.metadata.signature is not None
    np.testing.assert_allclose(model.predict({"net": x}), expected, rtol=1e-6)
    port = free_port()
    import os

    bin_dir = str(Path(sys.executable).parent)  # mlflow serves with the venv's uvicorn
    env = dte_env(MLFLOW_TRACKING_URI=uri, MLFLOW_REGISTRY_URI=uri,
                  PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    mlflow_cli = shutil.which("mlflow", path=bin_dir) or "mlflow"
    server = subprocess.Popen([mlflow_cli, "models", "serve", "-m", "models:/served-toy/1",
                               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=project, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "mlflow models serve did not come up"
                time.sleep(1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", method="POST",
            data=json.dumps({"inputs": {"net": x.tolist()}}).encode(),
            headers={"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
        np.testing.assert_allclose(np.asarray(answer["predictions"], dtype="f4"), expected,
                                   rtol=1e-5)
    finally:
        import signal

        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def test_evaluate_reaches_the_evaluated_run(project):
    tracked = tracked_and_offline(project)[0]
    result = dte("evaluate", "toy", "--run", tracked, cwd=project)
    assert result.returncode == 0, result.stderr
    state = json.loads((project / "runs" / "toy" / tracked / "mlflow.json").read_text())
    mlf = store(project)
    run = mlf.get_run(state["run_id"])
    mse = json.loads((project / "runs" / "toy" / tracked / "evaluation" /
                      "metrics.json").read_text())["mse"]
    assert run.data.metrics["eval/mse"] == pytest.approx(mse)
    files = {f.path for f in mlf.list_artifacts(state["run_id"], "evaluation")}
    assert {"evaluation/report.txt", "evaluation/metrics.json"} <= files


def test_a_moved_project_keeps_its_store(tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    on = ("--set", "tracking.mlflow=true")
    assert dte("train", "toy", *on, cwd=before).returncode == 0
    first = run_ids(before)[0]
    assert dte("register", first, "--name", "moving", cwd=before).returncode == 0
    after = tmp_path / "after"
    shutil.move(before, after)
    np.savez(after / "x.npz", x=np.zeros((2, 8), dtype="f4"))
    # the version registered before the move still downloads (its artifacts moved too)
    result = dte("predict", "toy", "--model", "models:/moving/1", "--input", "x.npz",
                 "--output", "y.npz", cwd=after)
    assert result.returncode == 0, result.stderr
    # a resumed run and a new one keep writing into the moved project
    resumed = dte("train", "toy", "--set", "train.epochs=3", "--resume", first, cwd=after)
    assert resumed.returncode == 0, resumed.stderr
    assert dte("train", "toy", *on, cwd=after).returncode == 0
    second = [r for r in run_ids(after) if r != first][0]
    assert dte("register", second, "--name", "moving", cwd=after).returncode == 0
    assert not before.exists()  # nothing was written to the old place
    mlf = store(after)
    assert len(named_runs(mlf, first)) == 1  # the resumed run kept its MLflow run
    for version in mlf.search_model_versions("name='moving'"):
        assert str(after) in version.source
    assert dte("predict", "toy", "--model", "models:/moving/2", "--input", "x.npz",
               "--output", "z.npz", cwd=after).returncode == 0


def test_an_unreachable_server_is_named_before_anything_is_sent(project):
    tracked = tracked_and_offline(project)[0]
    assert_error(dte("register", tracked, "--name", "nowhere", "--tracking-uri",
                     f"http://127.0.0.1:{free_port()}", cwd=project),
                 "does not answer", "--tracking-uri")
