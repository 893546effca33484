"""A science written by `dte science new`, installed from freshly built wheels into an empty
venv, trains with two processes, evaluates, predicts and passes its own tests.

Third-party packages are pinned to uv.lock's versions (so uv takes them from its cache);
uv tries `--offline` first and falls back to the index when the cache lacks index metadata."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DTE = str(Path(sys.executable).with_name("dte"))
FRAMEWORKS = ["torch"] + (["tensorflow"] if importlib.util.find_spec("tensorflow") else [])

pytestmark = [pytest.mark.slow, pytest.mark.distributed]


def run(*cmd: str, cwd: Path | None = None, timeout: float = 600,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheels(uv, tmp_path_factory) -> tuple[Path, Path]:
    """(folder with dte-core and dte-cli wheels built now, constraints pinned to uv.lock)."""
    out = tmp_path_factory.mktemp("wheels")
    for dist in ("dte-core", "dte-cli"):
        ok(run(uv, "build", "--quiet", "--wheel", "--package", dist, "--out-dir", str(out),
               cwd=ROOT))
    constraints = out / "constraints.txt"
    ok(run(uv, "export", "--quiet", "--frozen", "--all-packages", "--no-emit-workspace",
           "--no-hashes", "--no-dev", "--format", "requirements-txt", "-o", str(constraints),
           cwd=ROOT))
    return out, constraints


def install(uv: str, venv: Path, wheels: Path, constraints: Path, dist: str) -> None:
    ok(run(uv, "venv", "--quiet", "--python", sys.executable, str(venv)))
    args = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
            "-c", str(constraints), "--find-links", str(wheels), dist, "pytest"]
    if run(*args, "--offline").returncode != 0:
        ok(run(*args))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_new_science_installs_from_wheels_and_trains_with_two_processes(
        uv, wheels, tmp_path, framework):
    folder, constraints = wheels
    name = f"tiny-{framework}"
    ok(run(DTE, "science", "new", name, "--framework", framework, "--out", str(tmp_path)))
    ok(run(uv, "build", "--quiet", "--wheel", "--out-dir", str(folder), str(tmp_path / name)))
    venv = tmp_path / "venv"
    install(uv, venv, folder, constraints, f"dte-{name}")
    dte = str(venv / "bin" / "dte")
    env = {k: v for k, v in os.environ.items() if k not in ("DTE_TRACKING_URI", "VIRTUAL_ENV")}
    env.update(COLUMNS="200", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")

    listed = json.loads(ok(run(dte, "sciences", "--json", env=env)).stdout)
    assert [(r["name"], r["framework"], r["status"]) for r in listed] == \
        [(name, framework, "ok")]
    project = tmp_path / "project"
    project.mkdir()
    ok(run(dte, "train", name, "--procs", "2", cwd=project, env=env))
    [run_dir] = [p for p in (project / "runs" / name).iterdir() if (p / "run.json").is_file()]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "finished" and info["world_size"] == 2
    assert info["epoch"] == 3 and math.isfinite(info["metrics"]["val/r2"])
    assert not any(k.startswith("val/_") for k in info["metrics"])

    scores = json.loads(ok(run(dte, "evaluate", name, "--run", "latest", "--json", cwd=project,
                               env=env)).stdout)
    assert scores["heldout_samples"] == 102 and scores["r2"] > 0.5
    assert (run_dir / "evaluation" / "predictions.png").stat().st_size > 1000
    ok(run(dte, "predict", name, "--run", "latest", "--output", "pred.npz", cwd=project,
           env=env))
    assert (project / "pred.npz").is_file()
    ok(run(str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
           cwd=tmp_path / name, env=env))
