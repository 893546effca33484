"""`dte scale`: a real sweep writes a table, JSON and a plot with efficiencies."""

from __future__ import annotations

import json

import pytest
from support import dte

pytestmark = [pytest.mark.slow, pytest.mark.distributed]


def test_sweep_reports_speedup_and_efficiency(tmp_path):
    result = dte("scale", "toy", "--workers", "1,2", "--strategy", "ddp", "--epochs", "2",
                 "--out", "sweep", "--threads", "1", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "sweep" / "scaling.json").read_text())
    assert [(r["strategy"], r["workers"]) for r in rows] == [("ddp", 1), ("ddp", 2)]
    assert rows[0]["speedup"] == 1.0 and rows[0]["efficiency"] == 1.0
    assert rows[1]["efficiency"] == pytest.approx(rows[1]["speedup"] / 2)
    assert all(r["samples_per_s"] > 0 and r["epochs_counted"] == 1 for r in rows)
    assert rows[0]["threads_per_worker"] == rows[1]["threads_per_worker"] == 1  # 2 cores / 2
    assert "comm_s" not in rows[0] and 0 < rows[1]["comm_share"] < 1  # the probe's all-reduce
    probe = json.loads(next((tmp_path / "sweep" / "runs" / "ddp-2-comm").glob(
        "*/*/config.yaml")).with_name("run.json").read_text())
    assert probe["status"] == "finished" and probe["world_size"] == 2
    assert (tmp_path / "sweep" / "scaling.png").stat().st_size > 5000
    assert "efficiency" in result.stdout


def test_bad_worker_list(tmp_path):
    result = dte("scale", "toy", "--workers", "1,zero", cwd=tmp_path)
    assert result.returncode == 2 and "comma-separated list" in result.stderr


def test_from_mlflow_reports_the_newest_finished_run_per_strategy_and_size(tmp_path):
    for procs in ("1", "2", "2"):
        done = dte("train", "toy", "--procs", procs, "--set", "train.epochs=3",
                   "--set", "tracking.mlflow=true", cwd=tmp_path, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    result = dte("scale", "toy", "--from-mlflow", "--out", "report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "report" / "scaling.json").read_text())
    assert [(r["strategy"], r["workers"]) for r in rows] == [("ddp", 2), ("single", 1)]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / '.dte' / 'mlflow.db'}")
    newest = client.search_runs([client.get_experiment_by_name("toy").experiment_id],
                                order_by=["attributes.start_time DESC"])[0]
    ddp, single = rows
    assert ddp["run"] == newest.info.run_id and ddp["baseline"] == "single x 1"
    assert ddp["speedup"] == pytest.approx(ddp["samples_per_s"] / single["samples_per_s"])
    assert ddp["epochs_counted"] == single["epochs_counted"] == 2  # 3 epochs, warm-up dropped
    wrong = dte("scale", "toy", "--from-mlflow", "--experiment", "nope", cwd=tmp_path)
    assert wrong.returncode != 0 and "No MLflow experiment 'nope'" in wrong.stderr
    assert "toy" in wrong.stderr.split("experiments there:")[1]


def test_predict_measures_one_short_run_and_predicts_each_gpu_count(tmp_path):
    result = dte("scale", "toy", "--predict", "--gpus", "4,8,16", "--per-node", "4", "--weak",
                 "--interconnect", "25gbe", "--epochs", "2", "--out", "pred", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "pred" / "prediction.json").read_text())
    assert report["gradient_bytes"] == 4 * report["parameters"] > 0
    assert report["network"]["bandwidth_gbs"] == 3.125 and report["compute_s"] > 0
    rows = report["rows"]
    assert [(r["workers"], r["nodes"], r["global_batch"]) for r in rows] == [
        (4, 1, 32), (8, 2, 64), (16, 4, 128)]  # toy's batch of 8 kept by each worker
    assert all(r["step_s"] == pytest.approx(report["compute_s"] + r["comm_s"]) for r in rows)
    assert rows[0]["efficiency"] > rows[1]["efficiency"] > rows[2]["efficiency"]
    assert (tmp_path / "pred" / "prediction.png").stat().st_size > 5000
    bad = dte("scale", "toy", "--predict", "--gpus", "4", "--bandwidth", "10", cwd=tmp_path)
    assert bad.returncode == 2 and "--bandwidth and --latency go together" in bad.stderr
    strong = dte("scale", "toy", "--predict", "--gpus", "16", "--step-s", "0.01", cwd=tmp_path)
    assert strong.returncode == 2 and "train.batch_size=128" in strong.stderr
