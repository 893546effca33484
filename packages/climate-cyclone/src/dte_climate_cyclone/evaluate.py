"""`dte evaluate climate-cyclone`: the network and the minimum-psl baseline on the held-out
patches (the last `data.val_fraction` of the time axis, never trained on), scored by
`validation.scores` (network `net_*`, baseline `base_*`), and figures: maps.png (fields with
true and detected centres), patches.png (a gallery), errors.png (centre error distributions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dte_climate_cyclone import plots
from dte_climate_cyclone.baseline import MinPsl
from dte_climate_cyclone.data import CycloneData
from dte_climate_cyclone.detect import detect, run_network
from dte_climate_cyclone.patches import PatchIndex
from dte_climate_cyclone.validation import scores


def read_all(source, indices: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Patches and targets of `indices`, read in batches."""
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


def evaluate(config: Any, models: dict[str, Any], out: Path) -> dict[str, float]:
    """Metrics of the trained network and of the baseline on the held-out patches; plots."""
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
        base = scores(base_pred, y, index, data, config.evaluate.hit_cells, clear)
        metrics.update({f"base_{k}": v for k, v in base.items()})
        metrics["base_threshold_hpa"] = baseline.threshold / 100.0
    metrics["patches"] = float(len(index))
    metrics["cyclone_patches"] = float((y[:, 0] > 0.5).sum())
    metrics["clear_cyclone_patches"] = float(clear.sum())
    plots.errors(out / "errors.png", net_pred, base_pred, y)
    plots.gallery(out / "patches.png", x, y, raw, base_pred, channels, config.evaluate.threshold)
    if config.evaluate.maps:
        times = np.unique(data.centres.t[data.centres.t >= data.split])
        chosen = times[np.linspace(0, len(times) - 1, min(config.evaluate.maps, len(times)))
                       .astype(int)] if len(times) else []
        fill = (np.array([data.stats[n]["mean"] for n in channels], np.float32)
                if config.data.nan == "fill" else None)
        found = detect(net, data.fields, [int(t) for t in chosen], channels,
                       config.data.patch_size, config.evaluate.threshold, fill=fill)
        plots.maps(out / "maps.png", data, [int(t) for t in chosen], found)
    return metrics
