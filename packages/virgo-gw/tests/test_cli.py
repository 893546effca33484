"""End to end through `dte`, as a user runs it: train on the generated default dataset,
reuse it, evaluate with figures, predict; and two processes racing to generate it."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest


def only_run(cwd):
    runs = [p for p in (cwd / "runs" / "virgo-gw").iterdir() if (p / "run.json").is_file()]
    assert len(runs) == 1, runs
    return runs[0]


def generated(cwd):
    root = cwd / ".dte" / "data" / "virgo-gw"
    return sorted(p for p in root.iterdir() if p.is_dir())


@pytest.mark.slow
def test_train_evaluate_predict_on_the_generated_default(tmp_path, dte, tiny_sets):
    flags = tiny_sets("data.samples=32", "train.epochs=3")
    first = dte("train", "virgo-gw", *flags, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    text = " ".join(first.stderr.split())
    assert "data.path is null, generating 32 samples into" in text
    [dataset] = generated(tmp_path)
    assert (dataset / "virgo-gw.h5").is_file() and (dataset / "summary.json").is_file()
    run = only_run(tmp_path)
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished"
    metrics = info["metrics"]
    for key in ("val/l1", "val/glitch_removed_db", "val/baseline_glitch_removed_db",
                "val/cbc_preserved", "val/baseline_l1"):
        assert np.isfinite(metrics[key]), key

    result = dte("evaluate", "virgo-gw", "--json", "--run", "latest", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "using the generated dataset" in " ".join(result.stderr.split())
    scores = json.loads(result.stdout)
    assert scores["heldout_samples"] == 6  # 20 % of 32
    for key in ("l1", "glitch_removed_db", "baseline_glitch_removed_db", "cbc_preserved"):
        assert np.isfinite(scores[key])
    # even this tiny network beats the linear map, which adds the witnesses' sensor noise
    assert scores["glitch_removed_db"] > scores["baseline_glitch_removed_db"]
    assert scores["beats_baseline"] == 1.0
    evaluation = run / "evaluation"
    for name in ("metrics.json", "examples.png", "glitch_power.png"):
        assert (evaluation / name).stat().st_size > 0
    assert (evaluation / "examples.png").read_bytes()[:4] == b"\x89PNG"

    out = tmp_path / "cleaned.h5"
    result = dte("predict", "virgo-gw", "--run", "latest", "--output", str(out),
                 "--input", str(dataset), "--split", "val", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with h5py.File(out) as f, h5py.File(dataset / "virgo-gw.h5") as d:
        assert list(f["samples/index"][()]) == list(range(26, 32))
        assert f["maps/prediction"].shape == (6, 16, 16)
        cleaned = f["maps/cleaned"][()] + f["maps/glitch_estimate"][()]
        assert np.allclose(cleaned, d["maps/main"][26:32], atol=1e-4)
    assert len(generated(tmp_path)) == 1  # evaluate and predict reused it


def test_a_dataset_that_does_not_match_the_model_is_refused(tiny_dataset):
    from dte_core.errors import ConfigError
    from dte_virgo_gw.config import VirgoConfig
    from dte_virgo_gw.task import DenoiserTask

    config = VirgoConfig(data={"path": tiny_dataset, "aux_channels": 2, "map_shape": (16, 16)})
    with pytest.raises(ConfigError, match="--set data.aux_channels=3"):
        DenoiserTask(config).train_dataset()


def test_unknown_predict_options_are_listed(tiny_dataset, tmp_path):
    from dte_core.errors import ConfigError
    from dte_virgo_gw.config import VirgoConfig
    from dte_virgo_gw.model import build
    from dte_virgo_gw.predict import predict

    config = VirgoConfig(data={"path": tiny_dataset, "map_shape": (16, 16)},
                         model={"depth": 2, "base_channels": 4})
    with pytest.raises(ConfigError, match="--split"):
        predict(config, build(config), tmp_path / "p.h5", None, {"shots": "3"})
    out = predict(config, build(config), tmp_path / "p.h5", None, {"split": "train"})
    with h5py.File(out) as f:
        assert f["maps/cleaned"].shape == (10, 16, 16)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.h5"]


@pytest.mark.slow
@pytest.mark.distributed
def test_two_processes_share_one_generation(tmp_path, dte, tiny_sets):
    result = dte("train", "virgo-gw", "--procs", "2",
                 *tiny_sets("data.samples=20", "train.epochs=1"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [dataset] = generated(tmp_path)
    root = dataset.parent
    assert not list(root.glob(".*partial*"))
    info = json.loads((only_run(tmp_path) / "run.json").read_text())
    assert info["status"] == "finished" and info["world_size"] == 2
    assert np.isfinite(info["metrics"]["val/glitch_removed_db"])
