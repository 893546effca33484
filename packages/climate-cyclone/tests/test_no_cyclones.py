"""A tracks file with zero cyclones is a clear TrackError, not an IndexError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dte_climate_cyclone import tracks
from dte_climate_cyclone.grid import Grid


def test_zero_track_points_give_no_centre_and_a_clear_refusal():
    empty = np.array([])
    points = tracks.Points(sid=empty.astype(str), time=empty.astype("datetime64[s]"),
                           lat=empty, lon=empty, wind=empty)
    grid = Grid.regular((0.0, 10.0, 100.0, 110.0), 1.0)
    times = np.array(["2020-01-01T00", "2020-01-01T06"], dtype="datetime64[s]")
    centres = tracks.centres_on(points, times, grid)
    assert len(centres) == 0
    with pytest.raises(tracks.TrackError, match="holds no track point"):
        tracks.check_overlap(points, centres, times, grid, Path("tracks.csv"))
