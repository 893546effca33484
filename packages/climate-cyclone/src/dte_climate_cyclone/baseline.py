"""The minimum-psl heuristic at field level: cyclone centres are deep local minima of the
sea-level pressure.

Every local minimum of psl (3 x 3 cells) below a threshold is a centre, the deepest first,
each suppressing shallower ones within `evaluate.suppress_km` (the network's peaks obey the
same rule), placed to a fraction of a cell by a parabola through the pressure. The threshold
is the one with the best F1 of matched centres on training fields, so the baseline is tuned
on the same data as the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dte_climate_cyclone.heatmap import Peak, peaks


@dataclass
class MinPsl:
    threshold: float = 100_000.0  # Pa

    @staticmethod
    def candidates(psl: np.ndarray, radius_cells: float) -> list[Peak]:
        """Every suppressed local minimum of one (lat, lon) psl map; score = -psl [Pa].

        Greedy suppression only looks at deeper minima, so thresholding these afterwards
        equals extracting with the threshold."""
        return peaks(-np.asarray(psl, np.float64), -np.inf, radius_cells)

    def select(self, found: list[Peak]) -> list[Peak]:
        """The candidates deeper than the threshold."""
        return [p for p in found if -p.score < self.threshold]

    def predict(self, psl: np.ndarray, radius_cells: float) -> list[Peak]:
        """Centres of one psl map."""
        return self.select(self.candidates(psl, radius_cells))
