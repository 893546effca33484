"""The GFlash shower generator: physics the training data relies on, and determinism."""

import math

import numpy as np
import pytest
from dte_hep_3dgan import gflash


def showers(energy, theta=90.0, n=40, seed=1):
    rng = np.random.default_rng(seed)
    return np.stack([gflash.shower(energy, theta, rng) for _ in range(n)])


def test_layout_and_units():
    x = gflash.shower(50.0, 90.0, np.random.default_rng(0))
    assert x.shape == (51, 51, 25) and x.dtype == np.float32
    assert (x >= 0).all() and np.isfinite(x).all()
    # visible energy: the Si-W sampling fraction (about 2%) of the primary energy
    assert 0.5 < x.sum() < 1.5


def test_sampling_fraction_and_resolution():
    f = gflash.ECAL.sampling_fraction
    assert 0.015 < f < 0.03
    sums = showers(20.0).sum(axis=(1, 2, 3))
    assert sums.mean() / 20.0 == pytest.approx(f, rel=0.05)  # small leakage at 20 GeV
    resolution = sums.std() / sums.mean()
    expected = gflash.ECAL.stochastic / math.sqrt(20.0)
    assert 0.6 * expected < resolution < 1.6 * expected


def test_shower_maximum_moves_deeper_logarithmically():
    depth = {}
    for energy in (5.0, 50.0, 500.0):
        profile = showers(energy, n=20).sum(axis=(0, 1, 2))
        depth[energy] = (profile * np.arange(25)).sum() / profile.sum()
    step_low, step_high = depth[50.0] - depth[5.0], depth[500.0] - depth[50.0]
    # one decade of energy adds ln(10) X0, about 2.9 layers of 0.8 X0, to the depth
    assert 1.8 < step_low < 4.0 and 1.8 < step_high < 4.0


def test_lateral_core_is_narrow_and_centred():
    x = showers(100.0, n=20).sum(axis=(0, 3))
    column = x.sum(axis=1) / x.sum()
    assert column.argmax() == 25 and column[24:27].sum() > 0.8


@pytest.mark.parametrize("theta", [60.0, 90.0, 120.0])
def test_axis_shifts_with_angle(theta):
    x = showers(100.0, theta, n=20).sum(axis=(0, 1))  # (y, layer)
    centroid = (x * (np.arange(51)[:, None] + 0.5)).sum(axis=0) / x.sum(axis=0)
    slope = np.polyfit(np.arange(5, 20), centroid[5:20], 1)[0]
    expected = gflash.ECAL.derived["pitch_mm"] / math.tan(math.radians(theta)) / 5.1
    assert slope == pytest.approx(expected, abs=0.08)


def test_blocks_are_deterministic_per_seed():
    a = gflash.block(32, 3, 7, (10.0, 20.0), (80.0, 100.0))
    b = gflash.block(32, 3, 7, (10.0, 20.0), (80.0, 100.0))
    c = gflash.block(32, 3, 8, (10.0, 20.0), (80.0, 100.0))
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    assert ((a[1] >= 10) & (a[1] <= 20)).all()
    assert np.allclose(np.degrees(a[2]).clip(80, 100), np.degrees(a[2]), atol=1e-4)
