"""The minimum-psl heuristic: the centre is the lowest sea-level pressure of the patch.

A patch holds a cyclone when that minimum is below a threshold and lies inside the patch (not
on its border, where a minimum is only the edge of a pressure gradient). The threshold is the
one that maximises F1 on the training patches, so the baseline is tuned on the same data as
the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MinPsl:
    threshold: float = 100_000.0  # Pa

    @staticmethod
    def candidates(psl: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(minimum, row, col, interior) of each (batch, P, P) patch of psl."""
        n, p, _ = psl.shape
        flat = psl.reshape(n, -1)
        arg = np.argmin(flat, axis=1)
        rows, cols = arg // p, arg % p
        interior = (rows > 0) & (rows < p - 1) & (cols > 0) & (cols < p - 1)
        return flat[np.arange(n), arg], rows.astype(np.float32), cols.astype(np.float32), interior

    def fit(self, psl: np.ndarray, present: np.ndarray) -> MinPsl:
        """Choose the threshold with the best F1 on labelled patches."""
        low, _, _, interior = self.candidates(psl)
        best, best_f1 = self.threshold, -1.0
        for thr in np.unique(np.quantile(low, np.linspace(0.01, 0.99, 99))):
            pred = (low < thr) & interior
            tp = float((pred & (present > 0.5)).sum())
            fp, fn = float((pred & (present < 0.5)).sum()), float((~pred & (present > 0.5)).sum())
            f1 = 2 * tp / max(2 * tp + fp + fn, 1.0)
            if f1 > best_f1:
                best, best_f1 = float(thr), f1
        self.threshold = best
        return self

    def predict(self, psl: np.ndarray) -> np.ndarray:
        """(batch, 3): presence (0/1), centre row, centre column."""
        low, rows, cols, interior = self.candidates(psl)
        present = ((low < self.threshold) & interior).astype(np.float32)
        return np.stack([present, rows, cols], axis=1)
