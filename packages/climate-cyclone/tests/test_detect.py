"""Centres from heat maps, whole fields from tiles, tracks from centres (no network)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from dte_climate_cyclone.detect import heat_maps, stitch, tiles, windows
from dte_climate_cyclone.grid import Grid
from dte_climate_cyclone.heatmap import peaks, targets
from dte_climate_cyclone.io import Fields
from dte_climate_cyclone.linking import link
from dte_core.errors import DteError


def gaussians(shape, centres, sigma=1.5):
    rr, cc = np.mgrid[0:shape[0], 0:shape[1]]
    out = np.zeros(shape)
    for r, c in centres:
        out = np.maximum(out, np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * sigma ** 2)))
    return out


@pytest.mark.parametrize("centres", [[], [(12.3, 20.6)], [(5.2, 5.7), (30.4, 8.1), (18.0, 33.3)],
                                     [(0.0, 17.4)]], ids=["none", "one", "three", "border"])
def test_peaks_find_every_centre_once_to_a_fraction_of_a_cell(centres):
    heat = gaussians((40, 40), centres)
    rng = np.random.default_rng(0)
    heat = np.clip(heat + rng.normal(0, 0.01, heat.shape), 1e-6, 1)
    found = peaks(heat, 0.5, 3.0, np.log(heat))
    assert len(found) == len(centres)
    for r, c in centres:
        err = min(np.hypot(p.row - r, p.col - c) for p in found)
        assert err < 0.25
    assert all(a.score >= b.score for a, b in zip(found, found[1:], strict=False))


def test_suppression_keeps_the_stronger_of_two_close_peaks():
    heat = np.maximum(gaussians((30, 30), [(10, 10)]), 0.8 * gaussians((30, 30), [(10, 14)]))
    assert [(round(p.row), round(p.col)) for p in peaks(heat, 0.5, 5.0)] == [(10, 10)]
    assert len(peaks(heat, 0.5, 2.0)) == 2


def test_targets_mark_every_strong_centre_and_ignore_weak_ones():
    y = targets(np.array([3.2, 20.0, 30.6, 10.0]), np.array([4.9, 20.0, 39.4, 30.0]),
                np.array([True, True, True, False]), 40, 1.5)
    rows, cols = np.nonzero(y[..., 2])
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [(3, 5), (20, 20),
                                                                     (31, 39)]
    assert y[3, 5, 3:].tolist() == pytest.approx([0.2, -0.1], abs=1e-5)
    assert y[10, 30, 1] == 0 and y[20, 20, 1] == 1 and y[20, 20, 0] == pytest.approx(1.0)


def test_a_centre_on_a_seam_between_tiles_is_found_once():
    shape, patch = (40, 64), 16
    starts = tiles(shape, patch, 8)
    centre = (20.0, 28.0)  # inside several overlapping tiles
    rng = np.random.default_rng(1)
    maps = []
    for r0, c0 in starts:  # each tile sees the centre slightly off, as a network would
        dr, dc = rng.uniform(-0.6, 0.6, 2)
        maps.append(gaussians((patch, patch), [(centre[0] - r0 + dr, centre[1] - c0 + dc)]))
    maps = np.array(maps)
    per_tile = [(r0 + p.row, c0 + p.col) for m, (r0, c0) in zip(maps, starts, strict=True)
                for p in peaks(m, 0.5, 3.0)]
    assert len(per_tile) > 1  # tiles alone would report the cyclone several times
    field = stitch(maps, starts, shape, patch // 8)
    found = peaks(field, 0.5, 3.0)
    assert len(found) == 1
    assert np.hypot(found[0].row - centre[0], found[0].col - centre[1]) < 0.7


class Logits:
    """A stand-in network whose heat-map logits are the patch's first channel."""

    def __call__(self, x, training=False):
        return x[..., :1]


def test_whole_fields_are_tiled_stitched_and_refused_when_smaller_than_a_patch():
    shape = (36, 50)
    centres = [(0.4, 25.0), (17.0, 24.0), (30.0, 49.0)]  # border, seams, corner
    heat = np.clip(gaussians(shape, centres), 1e-6, 1 - 1e-6)
    logit = np.log(heat / (1 - heat)).astype(np.float32)
    grid = Grid.regular((0.0, 36.0, 100.0, 150.0), 1.0)
    times = np.array(["2001-08-01T00", "2001-08-01T06"], dtype="datetime64[s]")
    array = xr.DataArray(np.stack([logit, logit]), dims=("time", "lat", "lon"))
    fields = Fields({"h": array}, grid, times, {"h": "test"}, chunk_time=1)
    out = dict(heat_maps(Logits(), fields, [0, 1], ["h"], 16))
    assert sorted(out) == [0, 1]
    np.testing.assert_allclose(out[1], heat, atol=1e-5)
    assert len(peaks(out[0], 0.5, 3.0)) == 3
    with pytest.raises(DteError, match="smaller than one patch"):
        windows(12, 16, 8)
    with pytest.raises(DteError, match="leaves gaps"):
        list(heat_maps(Logits(), fields, [0], ["h"], 16, stride=16))


def test_a_moving_centre_is_one_track_and_far_centres_are_not_linked():
    hours = np.arange(8) * 6.0
    t = np.r_[np.arange(6), np.arange(6), [7]]
    lat = np.r_[15 + 0.4 * np.arange(6), 40 - 0.1 * np.arange(6), [20.0]]
    lon = np.r_[140 - 0.8 * np.arange(6), 120 + 0.5 * np.arange(6), [100.0]]
    track = link(t, lat, lon, hours, 80.0, 3)
    assert len(set(track[:6])) == 1 and len(set(track[6:12])) == 1
    assert track[0] != track[6] and track[0] >= 0 and track[6] >= 0
    assert track[12] == -1  # alone: shorter than the minimum track length
    jump = link(np.array([0, 1]), np.array([15.0, 15.0]), np.array([140.0, 130.0]),
                hours, 80.0, 1)
    assert jump[0] != jump[1]  # 1070 km in 6 h is faster than the speed gate


def test_scores_match_one_to_one_ignore_weak_storms_and_judge_tracks():
    from dte_climate_cyclone.scoring import centre_scores, match, track_scores
    from dte_climate_cyclone.tracks import Centres

    steps = np.arange(4)
    lat = np.r_[15 + 0.5 * steps, 25 + 0.5 * steps]
    lon = np.r_[140 - 0.5 * steps, 130 + 0.5 * steps]
    truth = Centres(np.r_[steps, steps], lat * 0, lon * 0, lat, lon, np.full(8, 60.0),
                    np.array(["A"] * 4 + ["B"] * 4))
    weak = Centres(np.array([2]), np.zeros(1), np.zeros(1), np.array([40.0]),
                   np.array([120.0]), np.array([20.0]), np.array(["W"]))
    dlat = 0.18  # 20 km north of the truth
    found = {"t": np.r_[steps, [0], [0, 1, 2], [2]],
             "lat": np.r_[lat[:4] + dlat, [lat[4] + dlat], [45.0, 45.2, 45.4], [40.1]],
             "lon": np.r_[lon[:4], [lon[4]], [170.0, 170.5, 171.0], [120.0]]}
    truth_of, ignored, err = match(found, truth, weak, list(steps), 150.0)
    assert truth_of.tolist() == [0, 1, 2, 3, 4, -1, -1, -1, -1]
    assert ignored.tolist() == [False] * 8 + [True]
    scores = centre_scores(truth_of, ignored, err, {"all": np.ones(8, bool)})
    assert (scores["false_alarms"], scores["misses"]) == (3.0, 3.0)
    assert scores["f1"] == pytest.approx(2 * 5 / (2 * 5 + 3 + 3))
    assert scores["centre_err_km"] == pytest.approx(20.0, abs=0.5)
    track = link(found["t"], found["lat"], found["lon"], steps * 6.0, 80.0, 3)
    tracks = track_scores(found, track, truth_of, ignored, truth, 3)
    assert tracks["true_tracks"] == 2 and tracks["tracks"] == 2
    assert tracks["track_hit_rate"] == 0.5 and tracks["false_tracks"] == 1
    assert tracks["track_err_km"] == pytest.approx(20.0, abs=0.5)
