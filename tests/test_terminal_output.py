"""What a user sees after a run, through the toy science: the closing summary, piped tables
that keep whole ids, tables instead of dict reprs, --json that parses, one-paragraph errors."""

from __future__ import annotations

import json
import subprocess

import pytest
from support import DTE, dte, dte_env

pytestmark = pytest.mark.slow


def narrow(*args: str, cwd) -> subprocess.CompletedProcess:
    """`dte ARGS` with COLUMNS=40, its output captured (a pipe, not a terminal)."""
    env = {**dte_env(), "COLUMNS": "40"}
    return subprocess.run([DTE, *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short toy run (no MLflow) and what `dte train` printed."""
    cwd = tmp_path_factory.mktemp("terminal")
    done = dte("train", "toy", "--set", "train.epochs=1", "--set", "tracking.mlflow=false",
               cwd=cwd)
    assert done.returncode == 0, done.stderr
    run_id = next((cwd / "runs" / "toy").iterdir()).name
    return cwd, run_id, done


def test_train_closes_with_key_metric_where_and_next_commands(trained):
    cwd, run_id, done = trained
    assert f"toy {run_id}: finished" in done.stdout
    assert "loss: " in done.stdout and f"metrics: {cwd}" in done.stdout
    assert f"dte evaluate toy --run {run_id}" in done.stdout
    assert f"dte register {run_id} --name toy" in done.stdout
    assert "val/loss" in done.stderr  # the validation line shows the key metric


def test_piped_tables_keep_whole_ids_and_show_is_a_table(trained):
    cwd, run_id, _ = trained
    listed = narrow("runs", "list", cwd=cwd)
    assert run_id in listed.stdout and str(cwd / "runs") in listed.stdout
    shown = narrow("runs", "show", run_id, cwd=cwd)
    assert shown.returncode == 0 and "{'" not in shown.stdout and "':" not in shown.stdout
    assert "status" in shown.stdout and "finished" in shown.stdout
    assert json.loads(dte("runs", "show", run_id, "--json", cwd=cwd).stdout)["run_id"] == run_id


def test_evaluate_summary(trained):  # its --json: test_data_and_evaluate.py
    cwd, run_id, _ = trained
    human = dte("evaluate", "toy", "--run", run_id, cwd=cwd)
    assert human.returncode == 0, human.stderr
    folder = cwd / "runs" / "toy" / run_id / "evaluation"
    assert f"metrics: {folder / 'metrics.json'}" in human.stdout
    assert f"dte register {run_id} --name toy" in human.stdout


def test_quiet_generate_prints_only_its_summary(trained):  # its --json: as above
    cwd, _, _ = trained
    human = dte("-q", "data", "generate", "toy", "--out", "ds", "--samples", "8", cwd=cwd)
    assert human.returncode == 0 and human.stderr == ""
    assert f"toy dataset: {cwd / 'ds'}" in human.stdout
    assert "samples: 8" in human.stdout and "dte train toy" in human.stdout


def test_predict_to_an_unwritable_output_is_one_paragraph(trained, tmp_path):
    import numpy as np

    cwd, run_id, _ = trained
    np.savez(tmp_path / "in.npz", x=np.zeros((2, 8), dtype="float32"))
    bad = dte("predict", "toy", "--run", run_id, "--input", str(tmp_path / "in.npz"),
              "--output", "/proc/x.h5", cwd=cwd)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("Error: --output /proc/x.h5")
