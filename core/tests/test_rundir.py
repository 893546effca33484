"""Run folders: `latest` is the newest by creation, whatever the ids."""

from __future__ import annotations

import pytest
from dte_core import rundir


def test_latest_is_the_newest_run_not_the_largest_id(tmp_path):
    trial = rundir.create(tmp_path, "toy", "train: {}\n", run_id="toy6-t0005-abcd")
    newer = rundir.create(tmp_path, "toy", "train: {}\n")  # a 2026... id sorts before "toy6"
    assert newer.run_id < trial.run_id
    assert rundir.find(tmp_path, "latest", "toy").run_id == newer.run_id
    assert [r.run_id for r in rundir.list_runs(tmp_path)] == [trial.run_id, newer.run_id]


def test_resume_latest_passes_over_runs_without_a_checkpoint(tmp_path):
    good = rundir.create(tmp_path, "toy", "train: {}\n")
    (good.checkpoints / "step-00000012").mkdir(parents=True)
    (good.checkpoints / "step-00000012" / "meta.json").write_text("{}")
    rundir.create(tmp_path, "toy", "train: {}\n").update(status="failed")  # newer, no checkpoint
    assert rundir.find(tmp_path, "latest", "toy", resumable=True).run_id == good.run_id


def test_update_leaves_no_temporary_when_the_write_fails(tmp_path):
    run = rundir.create(tmp_path, "toy", "train: {}\n")
    with pytest.raises(TypeError):
        run.update(status="running", value=object())  # not JSON: the write fails half-way
    assert run.info()["status"] == "created"
    assert not list(run.path.glob(".run.json.*.tmp"))
