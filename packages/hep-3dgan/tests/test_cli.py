"""hep-3dgan through the `dte` command line, as users run it (subprocesses, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from dte_hep_3dgan.files import ShowerFile

DTE = str(Path(sys.executable).with_name("dte"))
#: a tiny, fast run: 8 showers (6 train, 2 validation), one epoch of 3 batches of 2
TINY = ["--set", "data.events=8", "--set", "data.energy_range=10,100",
        "--set", "train.batch_size=2",
        "--set", "tracking.mlflow=false", "--set", "evaluate.events=10",
        "--set", "evaluate.batch_size=6"]


def dte(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `dte ARGS` in `cwd` (its runs/ and .dte/ live there)."""
    env = {k: v for k, v in os.environ.items() if k != "DTE_TRACKING_URI"}
    env.update(COLUMNS="200")
    return subprocess.run([DTE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def one_paragraph_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


@pytest.mark.slow
def test_generate_hdf5_and_root(tmp_path):
    for fmt in ("hdf5", "root"):
        result = dte("data", "generate", "hep-3dgan", "--json", "--out", fmt, "--events", "6",
                     "--energy-range", "20,40", "--theta-range", "80,100", "--format", fmt,
                     "--seed", "3", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["events"] == 6 and summary["format"] == fmt
        path = tmp_path / fmt / summary["file"]
        f = ShowerFile(path)
        assert f.events == 6 and f.energy.min() >= 20 and f.energy.max() <= 40
    a, b = ShowerFile(tmp_path / "hdf5" / "showers.h5"), ShowerFile(tmp_path / "root" /
                                                                     "showers.root")
    assert np.array_equal(a.read_range(0, 6), b.read_range(0, 6))  # same seed, same showers


@pytest.mark.slow
def test_bad_generation_options(tmp_path):
    bad = dte("data", "generate", "hep-3dgan", "--out", "x", "--energy-range", "50,10",
              cwd=tmp_path)
    assert "low < high" in one_paragraph_error(bad)
    bad = dte("data", "generate", "hep-3dgan", "--out", "x", "--format", "csv", cwd=tmp_path)
    assert "data.format" in one_paragraph_error(bad)
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".*partial"))


@pytest.mark.slow
def test_training_on_a_bad_file_fails_clearly(tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as h5:
        h5["ECAL"] = np.zeros((4, 25, 25, 25), np.float32)
        h5["energy"] = np.ones(4, np.float32)
        h5["theta"] = np.ones(4, np.float32)
    result = dte("train", "hep-3dgan", *TINY, "--set", f"data.path={tmp_path / 'bad.h5'}",
                 cwd=tmp_path)
    assert "(N, 51, 51, 25)" in one_paragraph_error(result)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One tiny training run in a fresh project folder (data generated on the fly)."""
    cwd = tmp_path_factory.mktemp("project")
    result = dte("train", "hep-3dgan", *TINY, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "data.path is null, so 8 showers" in " ".join(result.stderr.split())
    assert list((cwd / ".dte" / "data" / "hep-3dgan").glob("*/showers.h5"))
    return cwd


def only_run(cwd: Path) -> Path:
    runs = [p for p in (cwd / "runs" / "hep-3dgan").glob("*") if (p / "run.json").is_file()]
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.slow
def test_train_keeps_the_best_checkpoint_by_the_profile(trained):
    run = only_run(trained)
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["step"] == 3
    best = json.loads((run / "checkpoints" / "best.json").read_text())
    assert "val/profile_max_rel_diff" in best["val"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("train/g_deposit" in r for r in rows)


@pytest.mark.slow
def test_evaluate_writes_metrics_and_figures(trained):
    result = dte("evaluate", "hep-3dgan", "--json", "--run", "latest", "--checkpoint", "best",
                 cwd=trained)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    for key in ("longitudinal_max_rel_diff", "transverse_x_max_rel_diff",
                "transverse_y_max_rel_diff", "deposit_ratio_max_rel_diff", "occupancy_real",
                "occupancy_generated", "occupancy_rel_diff", "target_ratio",
                "sampling_fraction_real", "w1_long_centroid", "w1_cell_log10_energy",
                "w1_occupancy", "gan_showers_per_s", "gflash_showers_per_s"):
        assert key in metrics, key
        assert f"baseline_{key}" in metrics or not key.endswith("_rel_diff"), key
    assert 0.015 < metrics["sampling_fraction_real"] < 0.03
    assert 500 < metrics["occupancy_real"] < 5000
    # the GFlash baseline (another sample for the same conditions) is the statistical floor
    assert metrics["baseline_deposit_ratio_max_rel_diff"] < 0.25
    assert metrics["baseline_occupancy_generated"] == pytest.approx(metrics["occupancy_real"],
                                                                   rel=0.3)
    text = " ".join(result.stderr.split())
    assert "physics targets" in text and "longitudinal_max_rel_diff" in text and "0.25" in text
    out = only_run(trained) / "evaluation"
    for figure in ("longitudinal", "transverse_x", "transverse_y", "deposit_vs_energy",
                   "shower_shapes", "cells"):
        assert (out / f"{figure}.png").stat().st_size > 1000, figure
    assert len(json.loads((out / "details.json").read_text())["longitudinal_rel_diff"]) == 25


@pytest.mark.slow
def test_predict_writes_showers_in_the_training_layout(trained):
    result = dte("predict", "hep-3dgan", "--run", "latest", "--energy", "50", "--theta", "95",
                 "--events", "3", "--out", "gen.h5", cwd=trained)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    f = ShowerFile(trained / "gen.h5")
    assert f.events == 3 and np.allclose(f.energy, 50) and np.allclose(np.degrees(f.theta), 95)
    assert (f.read_range(0, 3) >= 0).all()
    same_conditions = dte("predict", "hep-3dgan", "--run", "latest", "--input", "gen.h5",
                          "--out", "again.h5", cwd=trained)
    assert same_conditions.returncode == 0, same_conditions.stderr
    assert np.allclose(ShowerFile(trained / "again.h5").energy, 50)
    outside = dte("predict", "hep-3dgan", "--run", "latest", "--energy", "400", "--events", "1",
                  "--out", "far.root", cwd=trained)
    assert outside.returncode == 0, outside.stderr
    text = " ".join(outside.stderr.split())
    assert "outside the range the model was trained on" in text and "GeV" in text
    assert ShowerFile(trained / "far.root").events == 1


@pytest.mark.slow
@pytest.mark.parametrize("args, expected", [
    (("--energy", "-5"), "positive value in GeV"),
    (("--energy", "nan"), "not a finite number"),
    (("--energy", "50", "--events", "two"), "not a whole number"),
    (("--energy", "50", "--theta", "10"), "outside 30-150 degrees"),
    (("--energy", "50", "--colour", "red"), "does not take --colour"),
    ((), "needs the conditions"),
])
def test_predict_rejects_bad_options(trained, args, expected):
    result = dte("predict", "hep-3dgan", "--run", "latest", *args, "--out", "bad.h5",
                 cwd=trained)
    assert expected in one_paragraph_error(result)
    assert not (trained / "bad.h5").exists()


@pytest.mark.slow
@pytest.mark.distributed
def test_two_processes_share_one_generated_dataset(tmp_path):
    result = dte("train", "hep-3dgan", *TINY, "--procs", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert " ".join(result.stderr.split()).count("are generated into") == 1
    assert len(list((tmp_path / ".dte" / "data" / "hep-3dgan").glob("*/showers.h5"))) == 1
    info = json.loads((only_run(tmp_path) / "run.json").read_text())
    assert info["status"] == "finished" and info["world_size"] == 2
    again = dte("train", "hep-3dgan", *TINY, cwd=tmp_path)
    assert again.returncode == 0 and "using the generated showers" in again.stderr
