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
    # the glitch-fraction model of the `clean` preset, tiny, on loud glitches (for h(t))
    flags = tiny_sets("data.samples=32", "train.epochs=3", "model.target=mask",
                      "model.main_input=true", "data.glitch_snr=30,60")
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

    result = dte("evaluate", "virgo-gw", "--run", "latest", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "using the generated dataset" in " ".join(result.stderr.split())
    shown = " ".join(result.stdout.split())
    scores = json.loads((run / "evaluation" / "metrics.json").read_text())
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

    # per glitch family: every held-out sample falls in exactly one group
    groups = {k.split("/", 1)[1]: v for k, v in scores.items()
              if k.startswith("heldout_samples/")}
    whole = {g: n for g, n in groups.items() if not g.endswith("_weak")}
    assert sum(whole.values()) == scores["heldout_samples"]
    for group, n in groups.items():  # the weak ones of a family are some of its samples
        assert not group.endswith("_weak") or n <= groups[group.removesuffix("_weak")]
    for group in set(groups) - {"none"}:
        assert np.isfinite(scores[f"glitch_removed_db/{group}"])
        assert np.isfinite(scores[f"baseline_glitch_removed_db/{group}"])
    assert np.isfinite(scores["strain_glitch_removed_db"])
    some = sorted(set(groups) - {"none"})[0]
    value = float(f"{scores[f'glitch_removed_db/{some}']:.4g}")
    assert f"glitch_removed_db/{some}: {value}" in shown
    assert "(baseline" in shown

    strained = tmp_path / "strain.h5"
    result = dte("predict", "virgo-gw", "--run", "latest", "--output", str(strained),
                 "--strain", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    cleaned_h_lowers_the_loudest_glitch(strained, dataset / "virgo-gw.h5")

    result = dte("predict", "virgo-gw", "--run", "latest", "--output", str(tmp_path / "x.h5"),
                 "--strain", "maybe", cwd=tmp_path)
    assert result.returncode == 2
    assert "--strain maybe is not a yes/no value" in " ".join(result.stderr.split())
    assert not (tmp_path / "x.h5").exists()


def cleaned_h_lowers_the_loudest_glitch(predicted, source):
    """series/cleaned: the input's length, rate and units, finite, and on the held-out sample
    with the loudest glitch less glitch power than the raw h(t) (against the regenerated
    parts), while an empty glitch estimate gives back h(t) itself."""
    from dte_virgo_gw import data as vdata
    from dte_virgo_gw import generate, strain
    from dte_virgo_gw.config import DataConfig

    info = vdata.inspect(source)
    with h5py.File(predicted) as f, h5py.File(source) as d:
        index = f["samples/index"][()]
        cleaned = f["series/cleaned"][()]
        assert cleaned.shape == (len(index), d["series/main"].shape[1])
        assert f["series/cleaned"].attrs["sample_rate"] == d["series"].attrs["sample_rate"]
        assert np.isfinite(cleaned).all()
        loudest = int(np.argmax(d["truth/glitch"][index[0]:index[-1] + 1].sum((1, 2))))
        raw = d["series/main"][index[loudest]]
        main_map = d["maps/main"][index[loudest]]
    length = len(raw)
    grid, whitener = strain.Grid.of(info, length), strain.Whitener(info, length)
    plan = generate.make_plan(DataConfig(**json.loads(info.attrs["generator"])))
    parts = generate.series(plan, int(index[loudest]))
    n, g, s = (whitener.whiten(parts[k]) for k in ("noise", "glitch", "cbc"))
    assert np.allclose(whitener.whiten(raw), n + g + s, atol=1e-3)
    left = strain.covered_energy(whitener.whiten(cleaned[loudest]) - n - s, grid)
    assert left < 0.8 * strain.covered_energy(g, grid)
    same = strain.clean(raw[None], main_map[None], np.zeros((1, *main_map.shape)), grid,
                        whitener)[0]
    assert np.allclose(same, raw, atol=1e-3 * np.abs(raw).max())


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
    with pytest.raises(ConfigError, match="bare --strain"):
        predict(config, build(config), tmp_path / "p.h5", None, {"strain": "sometimes"})
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


def test_the_clean_preset_resolves_and_validates(tmp_path, dte):
    result = dte("config", "show", "virgo-gw", "--preset", "clean", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "main_input: true target: mask" in text and "samples: 2048" in text
    listed = dte("config", "presets", "virgo-gw", cwd=tmp_path)
    assert listed.returncode == 0 and "clean" in listed.stdout


def test_a_glitch_map_target_needs_truth_maps(tmp_path):
    from dte_core.errors import ConfigError
    from dte_virgo_gw.config import VirgoConfig
    from dte_virgo_gw.task import DenoiserTask

    prepared = tmp_path / "virgo-gw.h5"
    with h5py.File(prepared, "w") as f:  # what `prepare` writes, minus the samples' values
        f.attrs.update({"format": "dte-virgo-gw", "format_version": 1, "complete": True,
                        "kind": "prepared", "aux_channels": ["A", "B", "C"]})
        f["maps/aux"] = np.zeros((4, 3, 16, 16), np.float32)
        f["maps/main"] = np.zeros((4, 16, 16), np.float32)
        f["maps/frequencies"] = np.geomspace(16, 256, 16)
        f["maps/times"] = np.arange(16) / 16
    config = VirgoConfig(data={"path": prepared, "map_shape": (16, 16)},
                         model={"depth": 2, "target": "glitch"})
    with pytest.raises(ConfigError, match="--set model.target=main"):
        DenoiserTask(config).train_dataset()
