"""The release check (scripts/release_check.py): every wheel built, each science installed
alone into an empty venv and used end to end; its JSON is the lean-install record."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_release_check(tmp_path):
    if shutil.which("uv") is None:
        pytest.fail("uv is needed to build and install the wheels: pip install uv")
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "release_check.py"), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=3600)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-3000:]
    summary = lines[-1]
    print(json.dumps(summary, indent=2))  # sizes, package counts, install times (-s shows them)
    assert summary["ok"] and done.returncode == 0, summary["problems"]
    built = {Path(w).name.split("-")[0] for w in summary["wheels"]}
    assert {"dte_core", "dte_cli", "dte_virgo_gw", "dte_hep_3dgan",
            "dte_climate_cyclone"} <= built  # beside the refused test science's wheel
    per_science = {r["science"]: r for r in lines[:-1]}
    assert set(per_science) == {"virgo-gw", "hep-3dgan", "climate-cyclone"}
    for report in per_science.values():
        names = " ".join(step["cmd"] if isinstance(step["cmd"], str) else " ".join(step["cmd"])
                         for step in report["steps"])
        for verb in ("sciences", "train", "register", "predict", "tune"):
            assert verb in names, (verb, report["steps"])
