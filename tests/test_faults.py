"""Runs that meet bad luck end clearly: non-finite training, data errors before any step, a
full or read-only disk mid-run, and damaged checkpoints (real `dte` processes)."""

from __future__ import annotations

import subprocess

import pytest
from support import dte, info, only_run, run_dirs, start_dte, wait_for_step

pytestmark = pytest.mark.slow


def text(result: subprocess.CompletedProcess) -> str:
    return " ".join(result.stderr.split())


def mounted(*command: str) -> None:
    """Run mount(8), skipping the test where this machine does not allow it."""
    done = subprocess.run(["mount", *command], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount {' '.join(command)} is not permitted here: {done.stderr.strip()}")


def test_a_non_finite_loss_fails_the_run_naming_the_step_or_is_skipped(tmp_path):
    nan = ["--set", "testing.nan_steps=[3]", "--set", "train.epochs=1"]
    stopped = dte("train", "toy", *nan, cwd=tmp_path)
    assert stopped.returncode == 1 and "Traceback" not in stopped.stderr
    assert "non-finite at step 3" in text(stopped) and "train.nonfinite=skip" in text(stopped)
    assert info(only_run(tmp_path))["status"] == "failed"
    (tmp_path / "x").mkdir()
    skipped = dte("train", "toy", *nan, "--set", "train.nonfinite=skip", cwd=tmp_path / "x")
    assert skipped.returncode == 0, skipped.stderr
    assert "step 3: non-finite, skipped" in skipped.stdout + skipped.stderr
    assert info(only_run(tmp_path / "x"))["status"] == "finished"


def test_gradients_that_overflow_under_a_finite_loss_never_reach_a_checkpoint(tmp_path):
    # one process checks only its loss per step: the NaN weights show in the next loss ...
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    early = dte("train", "toy", "--set", "testing.overflow_steps=[3]", "--set",
                "train.epochs=1", cwd=tmp_path / "a")
    assert early.returncode == 1 and "non-finite at step 4" in text(early), early.stderr
    # ... or, after an epoch's last step, in the check of the weights before they are saved
    last = dte("train", "toy", "--set", "testing.overflow_steps=[12]", "--set",
               "train.epochs=1", cwd=tmp_path / "b")
    assert last.returncode == 1 and "weights became non-finite" in text(last), last.stderr
    for folder in ("a", "b"):
        run = only_run(tmp_path / folder)
        assert info(run)["status"] == "failed"
        assert not list((run / "checkpoints").glob("step-*"))


def test_a_data_error_before_the_first_step_leaves_no_run_folder(tmp_path):
    result = dte("train", "toy", "--set", "data.samples=4", "--set", "train.batch_size=8",
                 cwd=tmp_path)
    assert result.returncode == 2 and "fewer than one global batch" in text(result)
    assert run_dirs(tmp_path) == []


def test_a_full_disk_mid_run_fails_cleanly_and_the_last_checkpoint_resumes(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    mounted("-t", "tmpfs", "-o", "size=72k", "tmpfs", str(runs))  # one toy checkpoint fits
    try:
        full = dte("train", "toy", "--set", "train.epochs=3", cwd=tmp_path)
        assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
        assert "the disk is full" in text(full) and "step-00000012" in text(full)
        run = only_run(tmp_path)
        assert info(run)["status"] == "failed"
        assert not list(run.rglob(".tmp-*")) and not list(run.glob(".run.json.*.tmp"))
        mounted("-o", "remount,size=4m", str(runs))
        resumed = dte("train", "toy", "--resume", "latest", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert info(run)["status"] == "finished" and info(run)["step"] == 36
    finally:
        subprocess.run(["umount", str(runs)], check=False)


def test_a_read_only_checkpoint_folder_mid_run_fails_cleanly_and_resumes(tmp_path):
    proc = start_dte("train", "toy", "--set", "testing.step_delay=0.1", cwd=tmp_path)
    run = wait_for_step(tmp_path, 14, proc=proc)  # after step-00000012
    folder = str(run / "checkpoints")
    mounted("--bind", folder, folder)
    try:
        mounted("-o", "remount,bind,ro", folder)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 1 and "Traceback" not in err, err
        assert "read-only" in " ".join(err.split()) and info(run)["status"] == "failed"
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["umount", folder], check=False)
    resumed = dte("train", "toy", "--resume", "latest", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert info(run)["resumes"][-1]["checkpoint"] == "step-00000012"


def test_the_damaged_checkpoint_advice_works_when_followed(tmp_path):
    assert dte("train", "toy", "--set", "train.epochs=2", cwd=tmp_path).returncode == 0
    run = only_run(tmp_path)
    state = run / "checkpoints" / "step-00000024" / "state.pt"
    state.write_bytes(state.read_bytes()[:100])
    evaluated = dte("evaluate", "toy", "--run", run.name, cwd=tmp_path)
    assert evaluated.returncode == 2 and "Traceback" not in evaluated.stderr
    advice = text(evaluated)
    assert f"mv {state.parent} {state.parent}.corrupt" in advice
    subprocess.run(["mv", str(state.parent), f"{state.parent}.corrupt"], check=True)
    again = dte("evaluate", "toy", "--run", run.name, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
