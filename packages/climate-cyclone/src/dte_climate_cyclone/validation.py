"""`dte evaluate climate-cyclone`: detection and localisation on held-out fields, the
minimum-psl baseline on the same patches, and figures.

Metrics (network `net_*`, baseline `base_*`), on the held-out patches (the last
`data.val_fraction` of the time axis, never trained on):
  precision, recall, f1          detection of "this patch holds a cyclone centre"
  centre_err_cells / _km         mean distance of the located centre to the track's, on
                                 patches with a cyclone (grid cells; great-circle km)
  centre_median_km
  hit_rate                       cyclone patches detected with the centre within
                                 evaluate.hit_cells cells
  false_alarm_adjacent / random  detections on cyclone-free adjacent / random patches
  centre_err_km_clear            the same on patches with one cyclone at least 3 cells from
                                 the border (several cyclones in a patch, or a centre at its
                                 edge, are the hard cases of a single-centre output)
Figures: maps.png (fields with true and detected centres), patches.png (a gallery),
errors.png (centre error distributions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dte_climate_cyclone.baseline import MinPsl
from dte_climate_cyclone.data import CycloneData
from dte_climate_cyclone.detect import detect, run_network
from dte_climate_cyclone.grid import great_circle_km
from dte_climate_cyclone.patches import KINDS, PatchIndex


def read_all(source, indices: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for i in range(0, len(indices), batch):
        x, y = source.read(indices[i:i + batch], 0)
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def clear_patches(index: PatchIndex, y: np.ndarray, data: CycloneData, patch: int,
                  min_wind: float) -> np.ndarray:
    """Cyclone patches holding exactly one cyclone, at least 3 cells inside the border."""
    centres = data.centres
    strong = centres.wind >= min_wind
    single = np.zeros(len(index), dtype=bool)
    for k in np.flatnonzero(y[:, 0] > 0.5):
        here = (centres.t == index.t[k]) & strong
        rows, cols = centres.row[here] - index.r0[k], centres.col[here] - index.c0[k]
        inside = (rows >= -0.5) & (rows < patch - 0.5) & (cols >= -0.5) & (cols < patch - 0.5)
        single[k] = inside.sum() == 1
    edge = np.minimum.reduce([y[:, 1] + 0.5, patch - 0.5 - y[:, 1], y[:, 2] + 0.5,
                              patch - 0.5 - y[:, 2]])
    return single & (edge >= 3)


def scores(pred: np.ndarray, y: np.ndarray, index: PatchIndex, data: CycloneData,
           hit_cells: float, clear: np.ndarray | None = None) -> dict[str, float]:
    """Detection and localisation metrics of predictions (presence 0/1, row, col)."""
    present, detected = y[:, 0] > 0.5, pred[:, 0] > 0.5
    tp = float((detected & present).sum())
    fp, fn = float((detected & ~present).sum()), float((~detected & present).sum())
    err = np.hypot(pred[:, 1] - y[:, 1], pred[:, 2] - y[:, 2])
    grid = data.fields.grid
    lat_t, lon_t = grid.position(index.r0 + y[:, 1], index.c0 + y[:, 2])
    lat_p, lon_p = grid.position(index.r0 + pred[:, 1], index.c0 + pred[:, 2])
    km = great_circle_km(lat_t, lon_t, lat_p, lon_p)
    out = {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "centre_err_cells": float(err[present].mean()) if present.any() else float("nan"),
        "centre_err_km": float(km[present].mean()) if present.any() else float("nan"),
        "centre_median_km": float(np.median(km[present])) if present.any() else float("nan"),
        "hit_rate": float((detected & present & (err <= hit_cells)).sum()
                          / max(present.sum(), 1)),
    }
    for k, kind in enumerate(KINDS[1:], start=1):
        empty = (index.kind == k) & ~present
        out[f"false_alarm_{kind}"] = float(detected[empty].mean()) if empty.any() else 0.0
    if clear is not None and clear.any():
        out["centre_err_km_clear"] = float(km[clear].mean())
    return out


def evaluate(config: Any, models: dict[str, Any], out: Path) -> dict[str, float]:
    """Metrics of the trained network and of the baseline on the held-out patches; figures."""
    data = CycloneData.open(config)
    net = models["net"]
    channels = config.data.variables
    rng = np.random.default_rng(config.data.seed)
    val = data.val
    pick = np.sort(rng.permutation(len(val))[:config.evaluate.max_patches])
    index = val.subset(pick)
    source = data.source("val")
    x, y = read_all(source, pick)
    raw = run_network(net, x)
    net_pred = np.stack([(raw[:, 0] > config.evaluate.threshold).astype(np.float32),
                         raw[:, 1], raw[:, 2]], axis=1)
    clear = clear_patches(index, y, data, config.data.patch_size, config.data.min_wind_kt)
    metrics = {f"net_{k}": v for k, v in scores(net_pred, y, index, data,
                                                 config.evaluate.hit_cells, clear).items()}
    base_pred = None
    if "psl" in channels:
        p = channels.index("psl")
        train_pick = np.sort(rng.permutation(len(data.train))[:config.evaluate.max_patches])
        tx, ty = read_all(data.source("train"), train_pick)
        baseline = MinPsl().fit(tx[..., p], ty[:, 0])
        base_pred = baseline.predict(x[..., p])
        metrics.update({f"base_{k}": v for k, v in scores(base_pred, y, index, data,
                                                          config.evaluate.hit_cells, clear).items()})
        metrics["base_threshold_hpa"] = baseline.threshold / 100.0
    metrics["patches"] = float(len(index))
    metrics["cyclone_patches"] = float((y[:, 0] > 0.5).sum())
    metrics["clear_cyclone_patches"] = float(clear.sum())
    from dte_climate_cyclone import figures

    figures.errors(out / "errors.png", net_pred, base_pred, y)
    figures.gallery(out / "patches.png", x, y, raw, base_pred, channels, config.evaluate.threshold)
    if config.evaluate.maps:
        times = np.unique(data.centres.t[data.centres.t >= data.split])
        chosen = times[np.linspace(0, len(times) - 1, min(config.evaluate.maps, len(times)))
                       .astype(int)] if len(times) else []
        fill = (np.array([data.stats[n]["mean"] for n in channels], np.float32)
                if config.data.nan == "fill" else None)
        found = detect(net, data.fields, [int(t) for t in chosen], channels,
                       config.data.patch_size, config.evaluate.threshold, fill=fill)
        figures.maps(out / "maps.png", data, [int(t) for t in chosen], found)
    return metrics
