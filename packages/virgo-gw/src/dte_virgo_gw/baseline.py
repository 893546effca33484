"""The linear baseline: least squares from auxiliary maps to the main channel's map.

For every frequency row f, the main map's pixel (f, t) is regressed on the auxiliary maps'
pixels (k, f, t + l) for every channel k and lag |l| <= L, plus an intercept. That is the best
linear time-invariant coupling per frequency (a gain per channel and a delay), the classical
witness-subtraction model; it cannot move energy across frequencies (non-linear coupling) nor
tell a glitch from the witness sensor's own noise. Fitted by streaming the normal equations
over the training samples, so it never holds the dataset in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def lagged(aux: np.ndarray, lags: int) -> np.ndarray:
    """(B, K, F, T) maps -> (B, F, T, K * (2 lags + 1) + 1) features (last one is the 1)."""
    b, k, n_f, n_t = aux.shape
    padded = np.pad(aux, ((0, 0), (0, 0), (0, 0), (lags, lags)), mode="edge")
    shifted = [padded[..., s:s + n_t] for s in range(2 * lags + 1)]  # each (B, K, F, T)
    feats = np.stack(shifted, axis=2).reshape(b, k * (2 * lags + 1), n_f, n_t)
    ones = np.ones((b, 1, n_f, n_t), dtype=feats.dtype)
    return np.concatenate([feats, ones], axis=1).transpose(0, 2, 3, 1)


@dataclass
class LinearBaseline:
    """Per-frequency-row weights (F, D) of the lagged least-squares map."""

    weights: np.ndarray
    lags: int

    @classmethod
    def fit(cls, batches, lags: int, ridge: float) -> LinearBaseline:
        """Fit from an iterable of (aux (B,K,F,T), main (B,F,T)) numpy batches."""
        xtx = xty = None
        for aux, main in batches:
            x = lagged(np.asarray(aux, np.float64), lags)  # (B, F, T, D)
            y = np.asarray(main, np.float64)
            rows = x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1, x.shape[-1])  # (F, BT, D)
            part_xx = np.matmul(rows.transpose(0, 2, 1), rows)
            part_xy = np.einsum("fnd,fn->fd", rows, y.transpose(1, 0, 2).reshape(len(rows), -1))
            xtx = part_xx if xtx is None else xtx + part_xx
            xty = part_xy if xty is None else xty + part_xy
        if xtx is None:
            raise ValueError("no training samples to fit the linear baseline")
        d = xtx.shape[-1]
        scale = np.trace(xtx, axis1=1, axis2=2) / d  # (F,)
        reg = ridge * scale[:, None, None] * np.eye(d)
        reg[:, -1, -1] = 0.0  # the intercept is not shrunk
        weights = np.linalg.solve(xtx + reg, xty[..., None])[..., 0]
        return cls(weights=weights, lags=lags)

    def predict(self, aux: np.ndarray) -> np.ndarray:
        """Predicted main maps (B, F, T) for auxiliary maps (B, K, F, T)."""
        x = lagged(np.asarray(aux, np.float64), self.lags)
        return np.einsum("bftd,fd->bft", x, self.weights).astype(np.float32)
