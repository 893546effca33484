"""Exact resume after SIGTERM mid-epoch, and corrupt checkpoints (one in-process worker)."""

from __future__ import annotations

import pytest
from support import (
    EXACT,
    assert_same_state,
    dte,
    final_state,
    info,
    interrupted_then_resumed,
    run_dirs,
)

pytestmark = pytest.mark.slow

def test_sigterm_mid_epoch_then_resume_is_bit_identical(tmp_path):
    ref_dir, cut_dir = tmp_path / "ref", tmp_path / "cut"
    ref_dir.mkdir(), cut_dir.mkdir()
    ref = dte("train", "toy", *EXACT, cwd=ref_dir)
    assert ref.returncode == 0, ref.stderr
    run = interrupted_then_resumed(cut_dir)
    assert_same_state(final_state(run_dirs(ref_dir)[0]), final_state(run))


def test_resume_with_changed_model_config_names_the_keys(tmp_path):
    assert dte("train", "toy", "--set", "train.epochs=1", cwd=tmp_path).returncode == 0
    result = dte("train", "toy", "--resume", "latest", "--set", "model.hidden=32",
                 "--set", "train.epochs=2", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "model.hidden: 16 -> 32" in " ".join(result.stderr.split())
    # a longer schedule is a legitimate change: resume trains epoch 2 only
    longer = dte("train", "toy", "--resume", "latest", "--set", "train.epochs=2", cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr
    assert info(run_dirs(tmp_path)[0])["step"] == 24


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_resume_skips_a_corrupt_checkpoint_naming_it_and_sets_it_aside(tmp_path, damage):
    assert dte("train", "toy", "--set", "train.epochs=2", cwd=tmp_path).returncode == 0
    run = run_dirs(tmp_path)[0]
    state = run / "checkpoints" / "step-00000024" / "state.pt"
    data = bytearray(state.read_bytes())
    if damage == "truncate":
        state.write_bytes(data[: len(data) // 2])
    else:
        data[len(data) // 2] ^= 0xFF
        state.write_bytes(bytes(data))
    result = dte("train", "toy", "--resume", run.name, "--set", "train.epochs=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stderr.split())
    assert "skipping checkpoint step-00000024" in text and str(state) in text
    assert info(run)["resumes"][-1]["checkpoint"] == "step-00000012"
    assert (run / "checkpoints" / "step-00000024.corrupt").is_dir()
    assert info(run)["status"] == "finished" and info(run)["step"] == 36
