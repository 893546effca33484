"""The generic `dte data generate` and `dte evaluate` verbs, through the toy science."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import dte, metrics, only_run

pytestmark = pytest.mark.slow


def test_generate_maps_flags_to_data_keys_and_writes_atomically(tmp_path):
    result = dte("data", "generate", "toy", "--json", "--out", "ds", "--samples", "12",
                 "--features=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["samples"] == 12
    assert np.load(tmp_path / "ds" / "toy.npz")["x"].shape == (12, 3)
    again = dte("data", "generate", "toy", "--out", "ds", cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    bad = dte("data", "generate", "toy", "--out", "ds2", "--sampels", "3", cwd=tmp_path)
    assert bad.returncode == 2 and "Did you mean 'data.samples'" in " ".join(bad.stderr.split())
    assert not (tmp_path / "ds2").exists() and not list(tmp_path.glob(".*partial"))


def test_best_checkpoint_is_kept_and_evaluated(tmp_path):
    trained = dte("train", "toy", "--set", "train.epochs=4", "--set", "optim.lr=0.5",
                  "--set", "train.checkpoint.keep_last=1",
                  "--set", "train.checkpoint.best_monitor=val/loss", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    run = only_run(tmp_path)
    best = json.loads((run / "checkpoints" / "best.json").read_text())
    val_losses = [r["val/loss"] for r in metrics(run) if "val/loss" in r]
    assert best["val"]["val/loss"] == min(val_losses)
    kept = sorted(p.name for p in (run / "checkpoints").glob("step-*"))
    assert kept == sorted({best["checkpoint"], "step-00000048"})
    result = dte("evaluate", "toy", "--json", "--run", "latest", "--checkpoint", "best",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics_out = json.loads(result.stdout)
    assert metrics_out["mse"] > 0
    assert json.loads((run / "evaluation" / "metrics.json").read_text()) == metrics_out
    assert (run / "evaluation" / "report.txt").is_file()
