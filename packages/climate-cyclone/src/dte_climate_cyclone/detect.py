"""Cyclones in whole fields: overlapping tiles, their heat maps stitched, one list of centres.

A field is covered by patch-sized tiles every `stride` cells (half a patch by default), the
last tile of a row or column flush with the edge. Each tile's heat map loses a border of
P/8 cells where a neighbouring tile covers it (a tile sees least context at its edges) and
the kept parts are averaged where they overlap: one map per field, in which every centre is
one peak, so a cyclone on a seam between tiles is found once. Peaks are extracted from the
stitched map (heatmap.peaks) with the same suppression as the baseline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from dte_core.errors import DteError

from dte_climate_cyclone.heatmap import Peak, log_prob, peaks


def windows(size: int, patch: int, stride: int) -> list[int]:
    """Window starts covering [0, size) with `stride`, the last one flush with the edge."""
    if size < patch:
        raise DteError(f"The fields are {size} cells across, smaller than one patch "
                       f"(data.patch_size={patch}): give larger fields or a model trained on "
                       f"smaller patches.")
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def tiles(shape: tuple[int, int], patch: int, stride: int) -> list[tuple[int, int]]:
    """Lower-left cells of the tiles covering a (rows, cols) grid."""
    return [(r, c) for r in windows(shape[0], patch, stride)
            for c in windows(shape[1], patch, stride)]


def stitch(maps: np.ndarray, starts: list[tuple[int, int]], shape: tuple[int, int],
           margin: int) -> np.ndarray:
    """One field map from tile maps (n, P, P): each tile minus `margin` cells on the sides
    where the field goes on, averaged where the kept parts overlap."""
    total = np.zeros(shape, np.float64)
    count = np.zeros(shape, np.float64)
    patch = maps.shape[1]
    for tile, (r0, c0) in zip(maps, starts, strict=True):
        ra = 0 if r0 == 0 else margin
        rb = patch if r0 + patch == shape[0] else patch - margin
        ca = 0 if c0 == 0 else margin
        cb = patch if c0 + patch == shape[1] else patch - margin
        total[r0 + ra:r0 + rb, c0 + ca:c0 + cb] += tile[ra:rb, ca:cb]
        count[r0 + ra:r0 + rb, c0 + ca:c0 + cb] += 1
    if (count == 0).any():
        raise ValueError("the tiles leave cells uncovered: the stride is too large for the "
                         "margin (stride <= patch - 2 x margin)")
    return total / count


def run_network(net: Any, x: np.ndarray, batch: int = 128) -> np.ndarray:
    """(n, P, P) heat maps (probabilities) of the network on patches (n, P, P, C)."""
    outs = [np.asarray(net(x[i:i + batch], training=False))[..., 0]
            for i in range(0, len(x), batch)]
    from scipy.special import expit

    logits = np.concatenate(outs) if outs else np.zeros((0, *x.shape[1:3]), np.float32)
    return expit(logits)


def blocks(fields: Any, times: list[int], channels: list[str], fill: np.ndarray | None
           ) -> Iterator[tuple[int, np.ndarray]]:
    """(t, (lat, lon, channel) field) for each time, read a stored chunk at a time."""
    step = max(1, fields.chunk_time)
    times = sorted(times)
    i = 0
    while i < len(times):
        start = times[i] - times[i] % step
        group = [t for t in times[i:] if t < start + step]
        block = fields.read(group[0], group[-1] + 1, channels)
        if fill is not None:
            block = np.where(np.isnan(block), fill, block)
        for t in group:
            yield t, block[t - group[0]]
        i += len(group)


def heat_maps(net: Any, fields: Any, times: list[int], channels: list[str], patch: int,
              stride: int | None = None, fill: np.ndarray | None = None
              ) -> Iterator[tuple[int, np.ndarray]]:
    """(t, stitched heat map) of every time index."""
    shape = fields.grid.shape
    stride = stride or patch // 2
    margin = patch // 8
    if stride > patch - 2 * margin:
        raise DteError(f"--stride {stride} leaves gaps between tiles: at most "
                       f"{patch - 2 * margin} for data.patch_size={patch}.")
    starts = tiles(shape, patch, stride)
    for t, field_t in blocks(fields, times, channels, fill):
        x = np.stack([field_t[r:r + patch, c:c + patch] for r, c in starts])
        yield t, stitch(run_network(net, x), starts, shape, margin)


@dataclass
class Found:
    """Centres found in fields: one entry per centre and time step."""

    t: list[int] = field(default_factory=list)
    row: list[float] = field(default_factory=list)
    col: list[float] = field(default_factory=list)
    score: list[float] = field(default_factory=list)

    def add(self, t: int, found: list[Peak]) -> None:
        for p in found:
            self.t.append(t)
            self.row.append(p.row)
            self.col.append(p.col)
            self.score.append(p.score)

    def __len__(self) -> int:
        return len(self.t)

    def arrays(self) -> dict[str, np.ndarray]:
        """The centres as arrays: t, row, col, score."""
        return {"t": np.asarray(self.t, np.int64), "row": np.asarray(self.row, np.float64),
                "col": np.asarray(self.col, np.float64),
                "score": np.asarray(self.score, np.float64)}


def radius_cells(grid: Any, km: float) -> float:
    """A distance in grid cells (along a meridian)."""
    return km / (111.195 * grid.resolution[0])


def network_centres(heat: np.ndarray, threshold: float, radius: float) -> list[Peak]:
    """Centres of a stitched heat map."""
    return peaks(heat, threshold, radius, log_prob(heat))
