"""The cleaned strain h(t): the STFT mask from a glitch estimate, scored against the
regenerated parts of generated samples."""

from __future__ import annotations

import h5py
import numpy as np


def loudest(tiny_dataset):
    """The tiny dataset's info, and its sample with the most glitch energy: index, series, maps."""
    from dte_virgo_gw import data as vdata

    info = vdata.inspect(tiny_dataset)
    with h5py.File(info.file) as f:
        i = int(np.argmax(f["truth/glitch"][()].sum((1, 2))))
        return info, i, f["series/main"][i], f["maps/main"][i], f["truth/glitch"][i]


def test_the_true_glitch_map_as_mask_removes_most_glitch_power_and_none_changes_nothing(
        tiny_dataset):
    from dte_virgo_gw import strain

    info, i, raw, main, glitch = loudest(tiny_dataset)
    grid = strain.Grid.of(info, len(raw))
    whitener = strain.Whitener(info, len(raw))
    [cleaned] = strain.clean(raw[None], main[None], glitch[None], grid, whitener)
    assert cleaned.shape == raw.shape and np.isfinite(cleaned).all()
    sums = strain.truth_sums(info, len(raw), [i], main[None], {"truth": glitch[None],
                                                              "none": 0 * glitch[None]},
                             raw[None])
    assert sums["truth"]["glitch_residual"] < 0.25 * sums["truth"]["glitch_energy"]
    assert np.isclose(sums["none"]["glitch_residual"], sums["none"]["glitch_energy"], rtol=0.01)
    [same] = strain.clean(raw[None], main[None], 0 * glitch[None], grid, whitener)
    assert np.allclose(same, raw, atol=1e-4 * np.abs(raw).max())


def test_the_mask_is_one_outside_the_maps_and_follows_the_kept_fraction(tiny_dataset):
    from dte_virgo_gw import strain

    info, _, raw, main, _ = loudest(tiny_dataset)
    grid = strain.Grid.of(info, len(raw))
    kept = np.ones(main.shape)
    kept[:, : main.shape[1] // 2] = 0.25  # the first half of the map window keeps a quarter
    mask = strain.bin_mask(kept, grid)
    f_bins, t_bins, rows, cols = strain.region(grid)
    assert np.all(mask[~rows] == 1) and np.all(mask[:, ~cols] == 1)
    early = cols & (t_bins < 0.4 * (grid.times[-1] + grid.times[1]))
    assert np.allclose(mask[np.ix_(rows, early)], 0.5)  # amplitude: sqrt of the energy kept
    assert np.allclose(strain.kept_fraction(np.array([4.0, 0.0]), np.array([1.0, 3.0])),
                       [0.75, 0.0])
