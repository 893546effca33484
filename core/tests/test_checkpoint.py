"""Checkpoint directories: atomic, verified, pruned; random states round-trip."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from dte_core import checkpoint
from dte_core.env import ClusterEnv
from dte_core.strategies import create
from dte_core.torch import checkpoint as torch_checkpoint


@pytest.fixture
def strategy():
    s = create("single", ClusterEnv(launcher="none"))
    s.setup()
    return s


def save(root, strategy, step, keep_last=2):
    states = {"models": {"net": {"w": torch.full((3,), float(step))}}}
    return torch_checkpoint.save(root, strategy, checkpoint.Position(step, 0, step), states,
                           {"science": "toy"}, keep_last)


def test_save_writes_meta_and_keeps_last(tmp_path, strategy):
    for step in (1, 2, 3):
        save(tmp_path, strategy, step)
    assert [p.name for p in checkpoint.complete(tmp_path)] == ["step-00000002", "step-00000003"]
    meta = checkpoint.read_meta(tmp_path / "step-00000003")
    assert meta["step"] == 3 and set(meta["files"]) == {"state.pt", "rng-rank0.pt"}
    assert not list(tmp_path.glob(".tmp-*"))


def test_incomplete_directory_is_ignored(tmp_path, strategy):
    save(tmp_path, strategy, 1)
    (tmp_path / "step-00000009").mkdir()  # a crash before meta.json: never "latest"
    assert checkpoint.latest(tmp_path).name == "step-00000001"


def test_load_round_trips_state_and_random_streams(tmp_path, strategy):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    path = save(tmp_path, strategy, 5)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    meta, states = torch_checkpoint.load(path, strategy)
    assert meta["step"] == 5 and torch.equal(states["models"]["net"]["w"], torch.full((3,), 5.0))
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_corrupt_file_names_itself_and_the_previous_checkpoint(tmp_path, strategy):
    save(tmp_path, strategy, 1)
    newest = save(tmp_path, strategy, 2)
    (newest / "rng-rank0.pt").write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError) as err:
        torch_checkpoint.load(newest, strategy)
    assert "rng-rank0.pt" in str(err.value) and "step-00000001" in str(err.value)


def test_only_step_folders_count_and_resume_takes_the_newest_that_verifies(tmp_path, strategy):
    save(tmp_path, strategy, 1, keep_last=5)
    save(tmp_path, strategy, 2, keep_last=5)
    damaged = save(tmp_path, strategy, 3, keep_last=5)
    (damaged / "state.pt").write_bytes(b"garbage")
    moved = checkpoint.set_aside(save(tmp_path, strategy, 4, keep_last=5))  # a folder set aside
    assert moved.name == "step-00000004.corrupt" and (moved / "meta.json").is_file()
    skipped = []
    chosen = checkpoint.newest_verified(tmp_path, lambda folder, why: skipped.append(
        (folder.name, why)))
    assert chosen.name == "step-00000002"
    assert [name for name, _ in skipped] == ["step-00000003"] and "state.pt" in skipped[0][1]
