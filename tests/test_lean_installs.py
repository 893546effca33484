"""Installing one science alone pulls only its own framework (fresh venvs from the lock)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def install_alone(uv: str, distribution: str, venv) -> None:
    """Sync only `distribution` and its dependencies from uv.lock into a new venv."""
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run([uv, "sync", "--locked", "--package", distribution, "--no-default-groups",
                    "--quiet"], cwd=ROOT, env=env, check=True, timeout=900)


def has_module(venv, module: str) -> bool:
    code = f"import importlib.util as u; print(u.find_spec({module!r}) is not None)"
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                         text=True, check=True)
    return out.stdout.strip() == "True"


def dte(venv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "dte"), *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("distribution", "science", "absent", "present"), [
    ("dte-virgo-gw", "virgo-gw", "tensorflow", "torch"),
    ("dte-climate-cyclone", "climate-cyclone", "torch", "tensorflow"),
])
def test_one_science_alone(uv, tmp_path, distribution, science, absent, present):
    venv = tmp_path / "venv"
    install_alone(uv, distribution, venv)
    listed = dte(venv, "sciences", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["name"] for row in json.loads(listed.stdout)] == [science]
    assert not has_module(venv, absent), f"installing {distribution} pulled {absent}"
    assert has_module(venv, present)
    other = "hep-3dgan"
    missing = dte(venv, "config", "show", other)
    assert missing.returncode == 2
    assert f"pip install dte-{other}" in " ".join(missing.stderr.split())
