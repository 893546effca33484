"""`dte ui`: MLflow's web UI on a project's embedded store, checked through its REST API."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from support import DTE, dte, dte_env

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_ui_shows_the_projects_runs_and_models_then_stops(tmp_path):
    trained = dte("train", "toy", "--set", "train.epochs=1", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert dte("register", "latest", "--name", "toyui", "--alias", "prod",
               cwd=tmp_path).returncode == 0
    port = free_port()
    proc = subprocess.Popen([DTE, "ui", "--port", str(port)], cwd=tmp_path, env=dte_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()  # printed once the server answers
        assert url == f"http://127.0.0.1:{port}", proc.stderr.read()
        api = f"{url}/api/2.0/mlflow"
        experiments = post(f"{api}/experiments/search", {"max_results": 10})["experiments"]
        toy = [e for e in experiments if e["name"] == "toy"]
        assert toy, experiments
        found = post(f"{api}/runs/search", {"experiment_ids": [toy[0]["experiment_id"]]})
        assert [r["info"]["status"] for r in found["runs"]] == ["FINISHED"]
        with urllib.request.urlopen(f"{api}/registered-models/search", timeout=30) as got:
            models = json.loads(got.read())["registered_models"]
        assert [m["name"] for m in models] == ["toyui"]
        with urllib.request.urlopen(url, timeout=30) as page:  # the web app itself
            assert page.status == 200 and b"<html" in page.read(4096).lower()
        busy = dte("ui", "--port", str(port), cwd=tmp_path)
        assert busy.returncode == 2 and "--port" in busy.stderr and \
            "Traceback" not in busy.stderr, busy.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the server's workers went with it
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                break
        time.sleep(0.2)
    else:
        pytest.fail(f"port {port} still answers after dte ui stopped")


def test_ui_with_a_server_prints_its_url(tmp_path):
    result = dte("ui", cwd=tmp_path, DTE_TRACKING_URI="http://mlflow.example.org:5000")
    assert result.returncode == 0 and result.stdout.strip() == "http://mlflow.example.org:5000"
