"""Centre heat maps: the Gaussian targets of a patch and the peaks (centres) of a score map.

Target: at every centre at least `data.min_wind_kt` strong, a Gaussian of width
`loss.sigma_cells` (cells), the maximum where two overlap; centres just outside the patch
still reach into it with their tails, so a border cell learns what its neighbour patch sees.
Weaker centres are neither cyclone nor background: their cells get weight 0.

Peaks: local maxima (3x3) above a threshold, strongest first, each suppressing weaker ones
within a radius; the position is refined to a fraction of a cell by a parabola through the
peak and its neighbours along each axis (exact for a Gaussian in log space).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: target channels: Gaussian heat, cell weight, nearest cell of a centre, its sub-cell offset
CHANNELS = ("heat", "weight", "peak", "off_row", "off_col")


def targets(rows: np.ndarray, cols: np.ndarray, strong: np.ndarray, patch: int,
            sigma: float) -> np.ndarray:
    """(P, P, 5) target of one patch with centres at (rows, cols) in patch cells."""
    out = np.zeros((patch, patch, len(CHANNELS)), np.float32)
    out[..., 1] = 1.0
    rr, cc = np.mgrid[0:patch, 0:patch].astype(np.float32)
    reach = 4 * sigma
    ignore = np.zeros((patch, patch), bool)
    for r, c, s in zip(rows, cols, strong, strict=True):
        if not (-reach <= r <= patch - 1 + reach and -reach <= c <= patch - 1 + reach):
            continue
        d2 = (rr - r) ** 2 + (cc - c) ** 2
        if not s:
            ignore |= d2 <= (2 * sigma + 1) ** 2
            continue
        np.maximum(out[..., 0], np.exp(-d2 / (2 * sigma * sigma)), out=out[..., 0])
        nr, nc = int(np.floor(r + 0.5)), int(np.floor(c + 0.5))
        if 0 <= nr < patch and 0 <= nc < patch:
            out[nr, nc, 2:] = (1.0, r - nr, c - nc)
    out[..., 1] = np.where(ignore & (out[..., 0] < 0.5), 0.0, 1.0)
    return out


@dataclass
class Peak:
    """A centre found in a map: fractional row and column (cells) and the map's height."""

    row: float
    col: float
    score: float


def _offset(lo: float, mid: float, hi: float) -> float:
    """Sub-cell position of a maximum from a parabola through three samples."""
    curve = lo - 2 * mid + hi
    if not np.isfinite(curve) or curve >= -1e-12:
        return 0.0
    return float(np.clip(0.5 * (lo - hi) / curve, -0.5, 0.5))


def peaks(score: np.ndarray, threshold: float, radius: float,
          shape: np.ndarray | None = None) -> list[Peak]:
    """Centres of a 2-D map: local maxima above `threshold`, strongest first, none within
    `radius` cells of a stronger one. `shape` (default `score`) is the map whose parabola
    refines the positions (log-probability for the network, -psl for the baseline)."""
    from scipy.ndimage import maximum_filter

    score = np.asarray(score, np.float64)
    if score.ndim != 2:
        raise ValueError(f"peaks() takes a 2-D map, not shape {score.shape}")
    shape = score if shape is None else np.asarray(shape, np.float64)
    nrow, ncol = score.shape
    finite = np.where(np.isfinite(score), score, -np.inf)
    local = finite >= maximum_filter(finite, size=3, mode="constant", cval=-np.inf)
    cand = np.flatnonzero(local & (finite > threshold))
    kept: list[Peak] = []
    taken: list[tuple[int, int]] = []
    for k in cand[np.argsort(-finite.flat[cand], kind="stable")]:
        r, c = divmod(int(k), ncol)
        if any((r - a) ** 2 + (c - b) ** 2 <= radius * radius for a, b in taken):
            continue
        taken.append((r, c))
        dr = _offset(shape[r - 1, c], shape[r, c], shape[r + 1, c]) if 0 < r < nrow - 1 else 0.0
        dc = _offset(shape[r, c - 1], shape[r, c], shape[r, c + 1]) if 0 < c < ncol - 1 else 0.0
        kept.append(Peak(r + dr, c + dc, float(score[r, c])))
    return kept


def log_prob(prob: np.ndarray) -> np.ndarray:
    """The shape map of a probability heat map (a Gaussian's parabola lives in log space)."""
    return np.log(np.clip(prob, 1e-6, 1.0))
