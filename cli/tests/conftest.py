"""Run the installed `dte` entry point in a subprocess, as users do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DTE = Path(sys.executable).with_name("dte")


def run_dte(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `dte ARGS...` and capture its output."""
    return subprocess.run([str(DTE), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env={"COLUMNS": "200", "PATH": str(DTE.parent)})


@pytest.fixture
def dte():
    return run_dte
