"""climate-cyclone through the `dte` command line, as users run it (subprocesses, real files)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DTE = str(Path(sys.executable).with_name("dte"))
SCIENCE = "climate-cyclone"


def tiny(dataset: Path) -> list[str]:
    """A run of seconds: the small dataset, 16-cell patches, a small network."""
    sets = [f"data.path={dataset}", "data.patch_size=16", "model.filters=8,16",
            "train.batch_size=16", "tracking.mlflow=false",
            "tracking.log_every=2", "evaluate.maps=2"]
    return [arg for item in sets for arg in ("--set", item)]


def dte(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DTE_TRACKING_URI"}
    env.update(COLUMNS="200")
    return subprocess.run([DTE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def start_dte(*args: str, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DTE_TRACKING_URI"}
    env.update(COLUMNS="200")
    return subprocess.Popen([DTE, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def runs(cwd: Path) -> list[Path]:
    return sorted(p.parent for p in (cwd / "runs" / SCIENCE).glob("*/run.json"))


def info(run: Path) -> dict:
    return json.loads((run / "run.json").read_text())


def records(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def wait_for_step(cwd: Path, step: int, timeout: float = 240) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in runs(cwd):
            if any(r.get("step", 0) >= step for r in records(run)):
                return run
        time.sleep(0.05)
    raise TimeoutError(f"no run reached step {step} within {timeout} s")


def error_paragraph(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return " ".join(result.stderr.split())


def test_generate_netcdf_and_refuse_a_bad_region(tmp_path):
    done = dte("data", "generate", SCIENCE, "--json", "--out", "nc", "--years", "2003",
               "--months", "9",
               "--region", "tiny", "--resolution", "1.0", "--format", "netcdf", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["files"][:3] == ["fields.nc", "tracks.csv", "tracks.nc"]
    assert summary["times"] == 30 * 4 and summary["grid"].startswith("40 x 40")
    assert json.loads((tmp_path / "nc" / "dataset.json").read_text())["first"].startswith(
        "2003-09-01")
    bad = dte("data", "generate", SCIENCE, "--out", "bad", "--region", "atlantis",
              cwd=tmp_path)
    text = error_paragraph(bad)
    assert "data.region must be one of wnp, nat" in text
    assert not (tmp_path / "bad").exists() and not (tmp_path / ".bad.partial").exists()


def test_bad_data_and_strategy_fail_before_training(small_dataset, tmp_path):
    import xarray as xr

    ds = xr.open_zarr(small_dataset / "fields.zarr", consolidated=False)
    ds.drop_vars("psl").to_netcdf(tmp_path / "nopsl.nc", engine="h5netcdf")
    missing = dte("train", SCIENCE, *tiny(small_dataset), "--set",
                  f"data.path={tmp_path / 'nopsl.nc'}", "--set",
                  f"data.tracks={small_dataset / 'tracks.csv'}", cwd=tmp_path)
    text = error_paragraph(missing)
    assert "no variable for 'psl'" in text and "--set data.mapping.psl=NAME" in text
    assert not runs(tmp_path)  # a data error leaves no failed run folder behind
    torch_only = dte("train", SCIENCE, *tiny(small_dataset), "--strategy", "ddp", cwd=tmp_path)
    assert "'ddp' (train.strategy / --strategy) is a PyTorch strategy" in \
        error_paragraph(torch_only)
    unknown = dte("train", SCIENCE, "--strategy", "mirorred", cwd=tmp_path)
    text = error_paragraph(unknown)
    assert "Unknown strategy 'mirorred'" in text and "tf-single, mirrored, multiworker" in text


@pytest.mark.slow
def test_train_stop_resume_evaluate_predict(small_dataset, tmp_path):
    """SIGTERM mid-run checkpoints and exits 75; --resume finishes at the same step count;
    evaluate writes metrics and maps; predict writes detections."""
    proc = start_dte("train", SCIENCE, *tiny(small_dataset), "--set", "train.epochs=6",
                     cwd=tmp_path)
    run = wait_for_step(tmp_path, 4)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 75, err[-3000:]
    stopped = info(run)
    assert stopped["status"] == "stopped" and stopped["strategy"] == "mirrored"
    last = run / "checkpoints" / f"step-{stopped['step']:08d}"
    meta = json.loads((last / "meta.json").read_text())
    assert meta["framework"] == "tensorflow" and meta["step"] == stopped["step"]
    assert {"model-net.weights.h5", "optimizer-adam.npz"} <= set(meta["files"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["framework"] == "tensorflow" and manifest["tensorflow"]

    resumed = dte("train", SCIENCE, "--resume", "latest", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    done = info(run)
    assert done["status"] == "finished" and done["epoch"] == 6 and done["step"] > stopped["step"]
    logged = [r["step"] for r in records(run) if "train/loss" in r]
    assert logged == sorted(logged) and logged[-1] == done["step"]
    assert any("val/centre_err_cells" in r for r in records(run))

    evaluated = dte("evaluate", SCIENCE, "--run", "latest", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
    for who in ("net", "base"):
        for key in ("f1", "precision", "recall", "centre_err_km", "centre_median_km",
                    "centre_err_km_single", "centre_err_km_multiple", "centre_err_km_border",
                    "track_hit_rate", "false_tracks", "track_err_km", "tracks"):
            assert f"{who}_{key}" in metrics, key
    assert metrics["match_km"] == 150.0 and metrics["cyclones"] > 0
    assert 0 <= metrics["net_f1"] <= 1 and metrics["base_f1"] > 0
    for figure in ("maps.png", "patches.png", "errors.png"):
        assert (run / "evaluation" / figure).stat().st_size > 1000

    predicted = dte("predict", SCIENCE, "--run", "latest", "--output", "found.csv",
                    "--threshold", "0.3", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    rows = list(csv.DictReader((tmp_path / "found.csv").open()))
    assert rows and list(rows[0]) == ["ISO_TIME", "LAT", "LON", "PROB", "ROW", "COL", "TRACK"]
    assert all(10 <= float(r["LAT"]) <= 50 and float(r["PROB"]) > 0.3 for r in rows)
    tracked = [r for r in rows if r["TRACK"]]
    for track in {r["TRACK"] for r in tracked}:  # a track: one centre per time, >= 3 steps
        times = [r["ISO_TIME"] for r in tracked if r["TRACK"] == track]
        assert len(times) == len(set(times)) >= 3
    seen = [(r["ISO_TIME"], round(float(r["ROW"])), round(float(r["COL"]))) for r in rows]
    assert len(seen) == len(set(seen))  # one centre per place and time: no seam duplicates

    # the registry: a registered version predicts what the run predicts; SavedModel export
    registered = dte("register", "latest", "--name", "cyclone", "--alias", "production",
                     cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr[-3000:]
    again = dte("predict", SCIENCE, "--model", "models:/cyclone@production", "--output",
                "again.csv", "--threshold", "0.3", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "found.csv").read_text()
    exported = dte("export", "models:/cyclone@production", "--json", "--out", "saved", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr[-3000:]
    report = json.loads(exported.stdout)
    assert report["format"] == "savedmodel" and report["ok"] and report["max_abs_diff"] <= 1e-4
    assert (tmp_path / "saved" / "saved_model.pb").is_file()
    onnx = dte("export", "models:/cyclone@production", "--format", "onnx", cwd=tmp_path)
    assert "exports savedmodel" in error_paragraph(onnx)


@pytest.mark.slow
@pytest.mark.distributed
def test_two_worker_processes_multiworker(small_dataset, tmp_path):
    """--procs 2: torchrun starts two TensorFlow workers that agree through TF_CONFIG."""
    done = dte("train", SCIENCE, *tiny(small_dataset), "--set", "train.epochs=2", "--procs",
               "2", cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    run = runs(tmp_path)[-1]
    result = info(run)
    assert result["status"] == "finished" and result["strategy"] == "multiworker"
    assert result["world_size"] == 2 and result["replicas"] == 2
    meta = json.loads((sorted((run / "checkpoints").glob("step-*"))[-1] / "meta.json")
                      .read_text())
    assert meta["world_size"] == 2 and meta["epoch"] == 2
    assert any("val/loss" in r for r in records(run))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["launch_variables"]["WORLD_SIZE"] == "2"


def test_tune_runs_keras_trials_prunes_a_hopeless_one_and_writes_the_best_config(
        small_dataset, tmp_path):
    import optuna
    from dte_core import config as config_layer
    from dte_core import sciences
    from dte_core.hpo import study as studies

    sets = tiny(small_dataset) + ["--set", "train.epochs=2"]
    url = f"journal:{tmp_path / '.dte' / 'hpo' / 'cyc.journal'}"
    science = sciences.load(SCIENCE)
    cfg = config_layer.resolve(science.Config, None, [s for s in sets if s != "--set"])
    study = studies.create_or_check("cyc", studies.open_storage(url), "minimize", "val/loss", {
        "science": SCIENCE, "space": json.dumps(science.search_space()),
        "base_config": json.dumps(cfg.model_dump(mode="json"))})
    fixed = {"optim.weight_decay": 1e-6, "model.convs_per_block": 1, "model.dropout": 0.0,
             "loss.centre_weight": 0.5}
    for lr in (3e-3, 2e-3, 1e-4):  # the last learns nothing in one epoch: pruned after it
        study.enqueue_trial({"optim.lr": lr, **fixed})
    result = dte("tune", SCIENCE, "--study", "cyc", "--trials", "3", "--pruner", "median",
                 *sets, cwd=tmp_path, timeout=900)  # median: judges a trial against the others
    assert result.returncode == 0, result.stderr[-3000:]
    trials = sorted(optuna.load_study(study_name="cyc", storage=studies.open_storage(url)).trials,
                    key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    pruned = Path(trials[2].user_attrs["run_dir"])
    assert info(pruned)["status"] == "pruned" and info(pruned)["epoch"] == 0
    assert all(info(Path(t.user_attrs["run_dir"]))["status"] == "finished" for t in trials[:2])
    best = tmp_path / ".dte" / "hpo" / "cyc" / "best.yaml"
    shown = dte("config", "show", SCIENCE, "--config", str(best), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "lr: 0.00" in shown.stdout
    refused = dte("tune", SCIENCE, "--trials", "1", "--procs", "2", *sets, cwd=tmp_path)
    assert refused.returncode == 2 and "--workers" in refused.stderr
