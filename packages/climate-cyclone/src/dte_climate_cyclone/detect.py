"""Cyclones in whole fields: the network slid over the grid, detections merged."""

from __future__ import annotations

from typing import Any

import numpy as np

from dte_climate_cyclone.io import Fields


def windows(size: int, patch: int, stride: int) -> list[int]:
    """Window starts covering [0, size) with `stride`, the last one flush with the edge."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def run_network(net: Any, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """(n, 3) network outputs: presence probability, centre row, centre column."""
    outs = [np.asarray(net(x[i:i + batch], training=False)) for i in range(0, len(x), batch)]
    out = np.concatenate(outs) if outs else np.zeros((0, 3), np.float32)
    out[:, 0] = 1.0 / (1.0 + np.exp(-out[:, 0]))
    return out


def detect(net: Any, fields: Fields, times: list[int], channels: list[str], patch: int,
           threshold: float, stride: int | None = None, fill: np.ndarray | None = None,
           merge_cells: float | None = None) -> list[dict[str, Any]]:
    """Cyclone centres found at each time index: time, lat, lon, probability, grid position."""
    stride = stride or patch // 2
    merge = merge_cells or patch / 4
    nlat, nlon = fields.grid.shape
    rows0, cols0 = windows(nlat, patch, stride), windows(nlon, patch, stride)
    starts = [(r, c) for r in rows0 for c in cols0]
    found: list[dict[str, Any]] = []
    for t in times:
        block = fields.read(t, t + 1, channels)[0]
        if fill is not None:
            block = np.where(np.isnan(block), fill, block)
        x = np.stack([block[r:r + patch, c:c + patch] for r, c in starts])
        out = run_network(net, x)
        hits = np.flatnonzero(out[:, 0] > threshold)
        cand = [(float(out[h, 0]), starts[h][0] + float(out[h, 1]),
                 starts[h][1] + float(out[h, 2])) for h in hits]
        cand.sort(reverse=True)
        kept: list[list[tuple[float, float, float]]] = []
        for c in cand:
            for group in kept:
                if np.hypot(group[0][1] - c[1], group[0][2] - c[2]) <= merge:
                    group.append(c)
                    break
            else:
                kept.append([c])
        for group in kept:
            w = np.array([g[0] for g in group])
            row = float(np.average([g[1] for g in group], weights=w))
            col = float(np.average([g[2] for g in group], weights=w))
            lat, lon = fields.grid.position(row, col)
            found.append({"t": t, "time": fields.label(t),
                          "lat": float(lat), "lon": float(lon), "prob": float(w.max()),
                          "row": row, "col": col, "windows": len(group)})
    return found
