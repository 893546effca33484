"""Run folders: `latest` is the newest by creation, whatever the ids."""

from __future__ import annotations

from dte_core import rundir


def test_latest_is_the_newest_run_not_the_largest_id(tmp_path):
    trial = rundir.create(tmp_path, "toy", "train: {}\n", run_id="toy6-t0005-abcd")
    newer = rundir.create(tmp_path, "toy", "train: {}\n")  # a 2026... id sorts before "toy6"
    assert newer.run_id < trial.run_id
    assert rundir.find(tmp_path, "latest", "toy").run_id == newer.run_id
    assert [r.run_id for r in rundir.list_runs(tmp_path)] == [trial.run_id, newer.run_id]
