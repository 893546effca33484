"""Validation metrics: per-batch means logged while training (`batch_metrics`, `summary`) and
the held-out detection and localisation scores of `dte evaluate` (`scores`).

Training validation (Keras, batch means averaged by the trainer): accuracy of the presence
logit, the share of patches with a cyclone, the centre error summed over them, and the true
positive / false positive / false negative rates, turned into precision, recall, F1 and the
mean centre error (cells) by `summary`.

Held-out scores (network `net_*`, baseline `base_*` in `dte evaluate`):
  precision, recall, f1          detection of "this patch holds a cyclone centre"
  centre_err_cells / _km         mean distance of the located centre to the track's, on
                                 patches with a cyclone (grid cells; great-circle km)
  centre_median_km
  hit_rate                       cyclone patches detected with the centre within
                                 evaluate.hit_cells cells
  false_alarm_adjacent / random  detections on cyclone-free adjacent / random patches
  centre_err_km_clear            the same on patches with one cyclone at least 3 cells from
                                 the border
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dte_climate_cyclone.grid import great_circle_km
from dte_climate_cyclone.patches import KINDS, PatchIndex


def batch_metrics(y, out) -> dict[str, Any]:
    """Batch means (TensorFlow tensors) of the detection and localisation metrics of the
    network's output `out` (presence logit, row, col) against the targets `y`."""
    import tensorflow as tf

    present = y[:, 0]
    d = out[:, 1:] - y[:, 1:]
    err_cells = tf.sqrt(tf.reduce_sum(d * d, axis=1) + 1e-12)
    predicted = tf.cast(out[:, 0] > 0, tf.float32)
    return {
        "accuracy": tf.reduce_mean(tf.cast(tf.equal(predicted, present), tf.float32)),
        "positives": tf.reduce_mean(present),
        "err_sum": tf.reduce_mean(present * err_cells),
        "tp": tf.reduce_mean(predicted * present),
        "fp": tf.reduce_mean(predicted * (1 - present)),
        "fn": tf.reduce_mean((1 - predicted) * present),
    }


def summary(means: Mapping[str, float]) -> dict[str, float]:
    """Precision, recall, F1 and the mean centre error (cells) from batch-mean metrics."""
    tp, fp, fn = means.get("tp", 0.0), means.get("fp", 0.0), means.get("fn", 0.0)
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    positives = means.get("positives", 0.0)
    return {"precision": precision, "recall": recall, "f1": f1,
            "centre_err_cells": means.get("err_sum", 0.0) / positives if positives else 0.0}


def scores(pred: np.ndarray, y: np.ndarray, index: PatchIndex, data: Any,
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
