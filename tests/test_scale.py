"""`dte scale`: a real sweep writes a table, JSON and a plot with efficiencies."""

from __future__ import annotations

import json

import pytest
from support import dte

pytestmark = [pytest.mark.slow, pytest.mark.distributed]


def test_sweep_reports_speedup_and_efficiency(tmp_path):
    result = dte("scale", "toy", "--workers", "1,2", "--strategy", "ddp", "--epochs", "2",
                 "--out", "sweep", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "sweep" / "scaling.json").read_text())
    assert [(r["strategy"], r["workers"]) for r in rows] == [("ddp", 1), ("ddp", 2)]
    assert rows[0]["speedup"] == 1.0 and rows[0]["efficiency"] == 1.0
    assert rows[1]["efficiency"] == pytest.approx(rows[1]["speedup"] / 2)
    assert all(r["samples_per_s"] > 0 and r["epochs_counted"] == 1 for r in rows)
    assert (tmp_path / "sweep" / "scaling.png").stat().st_size > 5000
    assert "efficiency" in result.stdout


def test_bad_worker_list(tmp_path):
    result = dte("scale", "toy", "--workers", "1,zero", cwd=tmp_path)
    assert result.returncode == 2 and "comma-separated list" in result.stderr
