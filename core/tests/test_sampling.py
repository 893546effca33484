"""Global batches do not depend on the process count; validation sees each sample once."""

from __future__ import annotations

import pytest
from dte_core.errors import ConfigError
from dte_core.sampling import BatchLayout, TrainBatches, ValBatches


def steps(samples, batch, world, accumulate, epoch=0, skip=0):
    layout = BatchLayout(batch, world, accumulate)
    per_rank = [list(TrainBatches(samples, layout, r, seed=3, epoch=epoch, skip_steps=skip))
                for r in range(world)]
    n_steps = len(per_rank[0]) // accumulate
    return [sorted(i for r in range(world) for micro in per_rank[r][s * accumulate:(s + 1) *
                   accumulate] for i in micro) for s in range(n_steps)]


@pytest.mark.parametrize(("world", "accumulate"), [(2, 1), (4, 1), (2, 2), (1, 4)])
def test_each_step_sees_the_same_samples_for_any_layout(world, accumulate):
    assert steps(100, 8, world, accumulate) == steps(100, 8, 1, 1)


def test_incomplete_last_batch_is_dropped_and_nothing_repeats():
    batches = steps(100, 8, 2, 1)
    assert len(batches) == 12
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat)) == 96


def test_epochs_reshuffle_and_skip_resumes_mid_epoch():
    assert steps(64, 8, 2, 1, epoch=0) != steps(64, 8, 2, 1, epoch=1)
    assert steps(64, 8, 2, 1, epoch=1, skip=3) == steps(64, 8, 2, 1, epoch=1)[3:]


def test_indivisible_batch_names_the_fix():
    with pytest.raises(ConfigError, match="multiple of 4"):
        BatchLayout(10, 2, 2)


@pytest.mark.parametrize(("samples", "world"), [(10, 3), (2, 4), (17, 2)])
def test_validation_shards_cover_every_sample_once(samples, world):
    seen = [i for r in range(world) for b in ValBatches(samples, 3, r, world) for i in b]
    assert sorted(seen) == list(range(samples))
