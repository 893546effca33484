"""`dte train` with one in-process worker: the run directory, runs listing, bad input."""

from __future__ import annotations

import json

import pytest
from support import dte, info, metrics, only_run

pytestmark = pytest.mark.slow


def test_run_directory_holds_config_manifest_metrics_and_checkpoints(tmp_path):
    result = dte("train", "toy", "--set", "train.checkpoint.keep_last=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    assert info(run)["status"] == "finished" and info(run)["step"] == 36
    assert "epochs: 3" in (run / "config.yaml").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    for key in ("git", "uv_lock_sha256", "python", "torch", "devices", "hostname", "command",
                "launch_variables"):
        assert key in manifest
    assert manifest["command"].startswith("dte train toy")
    records = metrics(run)
    assert [r["step"] for r in records if "train/loss" in r][:3] == [2, 4, 6]
    assert sum("val/loss" in r for r in records) == 3
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["step-00000024", "step-00000036"]  # keep_last=2
    meta = json.loads((run / "checkpoints" / "step-00000036" / "meta.json").read_text())
    assert meta["epoch"] == 3 and set(meta["files"]) == {"state.pt", "rng-rank0.pt"}

    listed = json.loads(dte("runs", "list", "--json", cwd=tmp_path).stdout)
    assert [r["run_id"] for r in listed] == [run.name]
    shown = json.loads(dte("runs", "show", run.name, "--json", cwd=tmp_path).stdout)
    assert shown["checkpoints"] == ckpts


def test_max_steps_two_optimizers_accumulation_bf16_and_tensorboard(tmp_path):
    result = dte("train", "toy", "--set", "train.max_steps=5", "--set", "optim.optimizers=2",
                 "--set", "train.accumulate=2", "--set", "train.precision=bf16",
                 "--set", "tracking.tensorboard=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = only_run(tmp_path)
    assert info(run)["step"] == 5
    assert any("train/loss_after_head" in r for r in metrics(run))
    assert (run / "checkpoints" / "step-00000005").is_dir()
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def test_early_stopping_stops_before_the_last_epoch(tmp_path):
    result = dte("train", "toy", "--set", "train.epochs=30", "--set", "optim.lr=0.5",
                 "--set", "train.early_stopping.monitor=val/loss",
                 "--set", "train.early_stopping.patience=1",
                 "--set", "train.early_stopping.min_delta=10", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "early stopping" in result.stderr
    assert info(only_run(tmp_path))["epoch"] == 2  # first validation sets best, second stops


def test_dry_run_prints_command_and_config_and_writes_nothing(tmp_path):
    result = dte("train", "toy", "--procs", "2", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "torch.distributed.run" in result.stdout and "--nproc-per-node 2" in result.stdout
    assert "dte_core.worker" in result.stdout and "epochs: 3" in result.stdout
    assert not (tmp_path / "runs").exists()


def assert_clean_error(result, *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    text = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in text, text


def test_unknown_strategy_lists_registered(tmp_path):
    assert_clean_error(dte("train", "toy", "--strategy", "horovodd", cwd=tmp_path),
                       "Unknown strategy 'horovodd'", "single", "ddp")
    assert not (tmp_path / "runs").exists()


def test_procs_zero(tmp_path):
    assert_clean_error(dte("train", "toy", "--procs", "0", cwd=tmp_path), "--procs 0")


def test_gpus_on_a_host_without_them_suggests_procs(tmp_path):
    assert_clean_error(dte("train", "toy", "--gpus", "64", cwd=tmp_path),
                       "--gpus 64", "--procs 64")


def test_resume_of_missing_run(tmp_path):
    assert_clean_error(dte("train", "toy", "--resume", "20990101-000000-beef", cwd=tmp_path),
                       "No run '20990101-000000-beef'")
    assert_clean_error(dte("train", "toy", "--resume", "latest", cwd=tmp_path),
                       "no earlier run of 'toy'")


def test_resume_of_another_sciences_run(tmp_path):
    other = tmp_path / "runs" / "virgo-gw" / "20260101-000000-aaaa"
    other.mkdir(parents=True)
    (other / "run.json").write_text(json.dumps({"science": "virgo-gw"}))
    assert_clean_error(dte("train", "toy", "--resume", other.name, cwd=tmp_path),
                       "belongs to the science 'virgo-gw'")


def test_run_dir_not_writable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_clean_error(dte("train", "toy", "--runs-dir", str(blocker / "runs"), cwd=tmp_path),
                       "Cannot write run directories", "--runs-dir")


def test_batch_that_cannot_be_split(tmp_path):
    assert_clean_error(dte("train", "toy", "--set", "train.batch_size=7",
                           "--set", "train.accumulate=2", cwd=tmp_path),
                       "train.batch_size=7", "multiple of 2")


def test_step_returning_no_loss(tmp_path):
    result = dte("train", "toy", "--set", "testing.return_loss=false", cwd=tmp_path)
    assert_clean_error(result, "returned NoneType instead of a loss", "'loss' entry")
    assert info(only_run(tmp_path))["status"] == "failed"
