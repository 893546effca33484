"""Validation metrics logged while training: peak-level scores of a batch of patches.

For the network (its heat-map logits) and, on the same patches, for the min-psl baseline
(minus the sea-level pressure, its threshold tuned on training fields): peaks are local
maxima over 5 x 5 cells above the threshold, placed to a fraction of a cell by a parabola
(log-probability for the network, pressure for the baseline). A true centre (the nearest cell
of a centre at least data.min_wind_kt strong) is found when a peak lies within 2 cells
(5 x 5 window); a peak far from every centre, and not next to a weak one, is a false alarm.
Batch means of the counts and of the error sum become precision, recall, F1 and the mean
centre error (cells) in `summary`. `dte evaluate` scores whole fields (scoring.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

WINDOW = 5


def _offsets(shape, axis: int):
    """Sub-cell offset of a maximum along `axis` from a parabola through three cells."""
    import tensorflow as tf

    lo, hi = tf.roll(shape, 1, axis=axis), tf.roll(shape, -1, axis=axis)
    curve = lo - 2.0 * shape + hi
    safe = tf.where(curve < -1e-9, curve, -1.0)
    off = tf.where(curve < -1e-9, tf.clip_by_value(0.5 * (lo - hi) / safe, -0.5, 0.5), 0.0)
    n = shape.shape[axis]
    inner = tf.logical_and(tf.range(n) > 0, tf.range(n) < n - 1)
    inner = tf.reshape(inner, [1, n, 1] if axis == 1 else [1, 1, n])
    return tf.where(inner, off, 0.0)


def batch_metrics(y, score, threshold: float, shape=None, prefix: str = "") -> dict[str, Any]:
    """Batch means (TensorFlow) of the peak-level counts of a (batch, P, P) score map against
    the target maps `y` (heatmap.CHANNELS); `shape` refines positions (default `score`)."""
    import tensorflow as tf

    score = tf.cast(score, tf.float32)
    shape = score if shape is None else tf.cast(shape, tf.float32)
    s4 = score[..., None]
    local = s4 >= tf.nn.max_pool2d(s4, WINDOW, 1, "SAME")
    pred = tf.cast(tf.logical_and(local, s4 > threshold), tf.float32)[..., 0]
    p = tf.shape(score)[1]
    grid = tf.cast(tf.range(p), tf.float32)
    rows = grid[None, :, None] + _offsets(shape, 1)
    cols = grid[None, None, :] + _offsets(shape, 2)
    stack = tf.stack([pred, pred * rows, pred * cols], axis=-1)
    sums = tf.nn.depthwise_conv2d(stack, tf.ones((WINDOW, WINDOW, 3, 1)), [1, 1, 1, 1], "SAME")
    count = sums[..., 0]
    peak, weight = y[..., 2], y[..., 1]
    found = peak * tf.cast(count > 0.5, tf.float32)
    safe = tf.maximum(count, 1.0)
    err = tf.sqrt((sums[..., 1] / safe - (grid[None, :, None] + y[..., 3])) ** 2
                  + (sums[..., 2] / safe - (grid[None, None, :] + y[..., 4])) ** 2 + 1e-12)
    near = tf.nn.max_pool2d(peak[..., None], WINDOW, 1, "SAME")[..., 0]
    n = tf.cast(tf.shape(score)[0], tf.float32)
    tp = tf.reduce_sum(found)
    return {f"{prefix}tp": tp / n,
            f"{prefix}fn": (tf.reduce_sum(peak) - tp) / n,
            f"{prefix}fp": tf.reduce_sum(pred * (1.0 - near) * weight) / n,
            f"{prefix}err_sum": tf.reduce_sum(found * err) / n}


def summary(means: Mapping[str, float], prefix: str = "") -> dict[str, float]:
    """Precision, recall, F1 and the mean centre error (cells) from batch-mean counts."""
    tp, fp, fn = (means.get(f"{prefix}{k}", 0.0) for k in ("tp", "fp", "fn"))
    return {f"{prefix}precision": tp / (tp + fp) if tp + fp > 0 else 0.0,
            f"{prefix}recall": tp / (tp + fn) if tp + fn > 0 else 0.0,
            f"{prefix}f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 0.0,
            f"{prefix}centre_err_cells": means.get(f"{prefix}err_sum", 0.0) / tp if tp > 0
            else float("nan")}


def logit(p: float) -> float:
    """The logit of a probability threshold."""
    return float(np.log(p / (1.0 - p)))
