"""Workspace-wide pytest hooks: hardware markers skip with a reason where the hardware is absent;
components the plain test command cannot have (SLURM, PostgreSQL, a Horovod build) skip naming
the command that provides them, unless DTE_TEST_REQUIRE lists them (.ci/run does): then their
absence fails the test, so CI can never pass by skipping."""

from __future__ import annotations

import pytest
from components import missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if not cuda:
        skip = pytest.mark.skip(reason="needs a CUDA GPU (none visible here); "
                                       "run benchmarks/gpu_check.sh on a GPU machine")
        for item in gpu_items:
            item.add_marker(skip)


class MlflowServer:
    """A real `mlflow server` on 127.0.0.1 with its own SQLite store; stoppable, restartable."""

    def __init__(self, root) -> None:
        import socket

        self.root = root
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout: float = 180) -> MlflowServer:
        import os
        import subprocess
        import sys
        import time
        import urllib.request
        from pathlib import Path

        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        mlflow = str(Path(sys.executable).with_name("mlflow"))
        self.log = (self.root / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [mlflow, "server", "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
             "--artifacts-destination", str(self.root / "artifacts"), "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)  # its own process group, so stop() reaches every worker
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.root / "server.log").read_text()
                raise RuntimeError(f"mlflow server exited: {log}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mlflow server not healthy after {timeout} s")

    def stop(self) -> None:
        import os
        import signal

        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """One real MLflow server for the whole session (started once, ~25 s)."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()


@pytest.fixture
def live_mlflow_server(mlflow_server):
    """The session's server, restarted first if an earlier test stopped it."""
    if not mlflow_server.running:
        mlflow_server.start()
    return mlflow_server


def _slurm_env() -> dict[str, str] | None:
    """SLURM_CONF of a cluster that answers (the one .ci/run starts), else None."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    env = dict(os.environ)
    local = Path(__file__).parent / ".ci" / "slurm" / "cluster" / "etc" / "slurm.conf"
    if "SLURM_CONF" not in env and local.is_file():
        env["SLURM_CONF"] = str(local)
    if shutil.which("sinfo") is None or "SLURM_CONF" not in env:
        return None
    try:
        up = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True,
                            text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return None
    if up.returncode != 0 or not up.stdout.strip():
        return None
    return env


@pytest.fixture(scope="session")
def slurm():
    """The environment of the local SLURM cluster; skips (saying how to start one) without."""
    env = _slurm_env()
    if env is None:
        missing("slurm", "no SLURM scheduler answers here")
    return env
