"""Held-out metrics: reconstruction error, glitch power removed, binary signal preserved.

All maps are normalised Q-transform energies of the main channel. The network (or baseline)
predicts the main map P from the auxiliary maps; what it attributes to glitches is the excess
over the noise floor, G_hat = P - floor. The floor is what the fit converges to on glitch-free
pixels: a per-frequency statistic of the training samples' noise-only maps (the median for the
network's L1 loss, expm1 of the mean of log1p for its L2 loss in log1p units, the mean for
the baseline's least squares). With the true glitch map G and the
true binary-signal map S of generated data:

- glitch power removed (dB) = 10 log10( sum G / sum |G - G_hat| ): the glitch energy in the
  main channel before subtraction over what is left (or wrongly added) after it; 0 dB means
  nothing was removed;
- binary power preserved = sum min(S, max(S + G - G_hat, 0)) / sum S: the fraction of the
  injected signal's energy that survives subtraction (left-over glitch energy does not count).

Sums run over every pixel of every held-out sample; the Trainer averages per-sample sums, and
`summary` turns the averages into the ratios.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def floor_of(noise_maps: np.ndarray, statistic: str) -> np.ndarray:
    """(F, 1) per-frequency floor of noise-only maps (N, F, T): their 'median', 'mean', or
    'logmean' (expm1 of the mean of log1p: what an L2 loss in log1p units converges to)."""
    rows = np.moveaxis(np.asarray(noise_maps, np.float64), 1, 0).reshape(noise_maps.shape[1], -1)
    if statistic == "median":
        values = np.median(rows, axis=1)
    elif statistic == "logmean":
        values = np.expm1(np.log1p(np.clip(rows, 0, None)).mean(axis=1))
    else:
        values = rows.mean(axis=1)
    return values[:, None].astype(np.float32)


def batch_metrics(pred, main, glitch=None, cbc=None, floor=None, prefix: str = "") -> dict:
    """Per-batch means (torch tensors) of the reconstruction error and, with truth maps, the
    per-sample energy sums that `summary` combines."""
    import torch

    dims = tuple(range(1, pred.dim()))
    out = {f"{prefix}l1": (pred - main).abs().mean(), f"{prefix}mse": ((pred - main) ** 2).mean()}
    if glitch is not None and floor is not None:
        g_hat = pred - floor
        out[f"{prefix}glitch_energy"] = glitch.sum(dims).mean()
        out[f"{prefix}glitch_residual"] = (glitch - g_hat).abs().sum(dims).mean()
        if cbc is not None:
            kept = torch.minimum(cbc, (cbc + glitch - g_hat).clamp(min=0))
            out[f"{prefix}cbc_energy"] = cbc.sum(dims).mean()
            out[f"{prefix}cbc_kept"] = kept.sum(dims).mean()
    return out


def summary(means: Mapping[str, float], prefix: str = "") -> dict[str, float]:
    """glitch_removed_db and cbc_preserved from the averaged energy sums."""
    out = {}
    energy, residual = means.get(f"{prefix}glitch_energy"), means.get(f"{prefix}glitch_residual")
    if energy is not None and residual is not None and residual > 0 and energy > 0:
        out[f"{prefix}glitch_removed_db"] = 10 * math.log10(energy / residual)
    cbc, kept = means.get(f"{prefix}cbc_energy"), means.get(f"{prefix}cbc_kept")
    if cbc is not None and kept is not None and cbc > 0:
        out[f"{prefix}cbc_preserved"] = kept / cbc
    return out


def sample_sums(pred: np.ndarray, glitch: np.ndarray, cbc: np.ndarray,
                floor: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample energy sums (B,) of `batch_metrics`, in numpy, for sums over any subset."""
    g_hat = pred - floor
    axes = tuple(range(1, glitch.ndim))
    kept = np.minimum(cbc, np.clip(cbc + glitch - g_hat, 0, None))
    return {"glitch_energy": glitch.sum(axes), "glitch_residual": np.abs(glitch - g_hat).sum(axes),
            "cbc_energy": cbc.sum(axes), "cbc_kept": kept.sum(axes)}


def per_sample_db(glitch: np.ndarray, g_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample glitch energy before and left after subtraction (for the figures)."""
    axes = tuple(range(1, glitch.ndim))
    return glitch.sum(axes), np.abs(glitch - g_hat).sum(axes)
