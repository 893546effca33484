"""The generic `dte data generate` and `dte evaluate` verbs, through the toy science."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import dte, only_run

pytestmark = pytest.mark.slow


def test_generate_maps_flags_to_data_keys_and_writes_atomically(tmp_path):
    result = dte("data", "generate", "toy", "--out", "ds", "--samples", "12",
                 "--features=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["samples"] == 12
    assert np.load(tmp_path / "ds" / "toy.npz")["x"].shape == (12, 3)
    again = dte("data", "generate", "toy", "--out", "ds", cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    bad = dte("data", "generate", "toy", "--out", "ds2", "--sampels", "3", cwd=tmp_path)
    assert bad.returncode == 2 and "Did you mean 'data.samples'" in " ".join(bad.stderr.split())
    assert not (tmp_path / "ds2").exists() and not list(tmp_path.glob(".*partial"))


def test_evaluate_a_trained_run(tmp_path):
    assert dte("train", "toy", "--set", "train.epochs=1", cwd=tmp_path).returncode == 0
    result = dte("evaluate", "toy", "--run", "latest", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    run = only_run(tmp_path)
    assert metrics["mse"] > 0
    assert json.loads((run / "evaluation" / "metrics.json").read_text()) == metrics
    assert (run / "evaluation" / "report.txt").is_file()
