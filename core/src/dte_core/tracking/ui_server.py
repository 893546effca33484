"""MLflow's web UI over a project's store: `mlflow server` on a local port, run and stopped."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from dte_core.errors import ConfigError, DteError, MissingDependencyError


def check_installed() -> None:
    """The web UI is in full `mlflow`, not in the lean mlflow-skinny of dte-core[mlflow]."""
    if importlib.util.find_spec("mlflow") is None or \
            importlib.util.find_spec("mlflow.server") is None or \
            importlib.util.find_spec("flask") is None:
        raise MissingDependencyError(
            "MLflow's web UI is not installed here (dte-core[mlflow] carries only the lean "
            "client). Install it with: pip install \"dte-core[ui]\"")


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another program holds, before anything starts."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"Cannot serve the UI on {host}:{port}: {exc.strerror or exc} (another program, "
                f"perhaps an earlier `dte ui`, holds it). Choose another port with --port, "
                f"e.g. --port {port + 1}.") from None


def command(store_uri: str, artifacts: Path, host: str, port: int) -> list[str]:
    """`mlflow server` over `store_uri`, serving the embedded artifact folder."""
    return [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store_uri,
            "--default-artifact-root", artifacts.as_uri(), "--host", host, "--port", str(port),
            "--workers", "1"]


def serve(store_uri: str, artifacts: Path, host: str, port: int, log: Path,
          ready: Callable[[str], None], timeout: float = 180.0) -> int:
    """Start the server, call `ready(url)` once it answers, wait until it ends or a signal
    (Ctrl-C, SIGTERM) stops it; the exit code of the server, 0 after a stop."""
    check_installed()
    check_port_free(host, port)
    log.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://{host}:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with log.open("ab") as out:
        proc = subprocess.Popen(command(store_uri, artifacts, host, port), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)  # gunicorn/uvicorn workers with it
    stopped: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopped.append(signum)  # only signal here: the main flow waits for the server
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if not _wait_healthy(url, proc, timeout, stopped):
            if stopped:
                return 0
            _kill(proc)
            raise DteError(f"MLflow's UI did not start within {timeout:.0f} s (or exited: code "
                           f"{proc.poll()}). Its log is {log}.")
        ready(url)
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _kill(proc)
    return 0 if stopped else code


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float, stopped: list) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None and not stopped:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
