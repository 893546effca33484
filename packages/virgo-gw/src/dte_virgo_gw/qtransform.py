"""Q-transform maps (gwpy) of whitened series, with a normalisation shared by their parts.

gwpy computes the energy of each tile; this module asks it for raw energies (`norm=False`) on
a log-spaced frequency axis and a regular time axis covering the sample (the padding is only
there so that edge tiles see real data), and divides each frequency row by a statistic of a
*reference* map. A channel's own map is its own reference; the parts of the main channel
(glitch, signal, noise) use the main map as reference, so that main ~ noise + glitch + signal
in the same units.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MapSpec:
    """What a map covers: rate, window inside the padded series, band, Q range and shape."""

    sample_rate: float
    start: float  # seconds from the start of the padded series
    duration: float
    q_range: tuple[float, float]
    frequency_range: tuple[float, float]
    shape: tuple[int, int]  # (frequencies, times)
    norm: str = "median"

    @classmethod
    def from_config(cls, data) -> MapSpec:
        return cls(float(data.sample_rate), float(data.pad), float(data.duration),
                   tuple(data.q_range), tuple(data.frequency_range), tuple(data.map_shape),
                   data.norm)

    def frequencies(self) -> np.ndarray:
        """The maps' frequency axis (Hz, log-spaced, as gwpy's `logf=True` lays it out)."""
        lo, hi = self.frequency_range
        return np.geomspace(lo, hi, self.shape[0])

    def times(self) -> np.ndarray:
        """The maps' time axis (s from the start of the sample, padding excluded)."""
        return np.arange(self.shape[1]) * (self.duration / self.shape[1])


def energy(x: np.ndarray, spec: MapSpec, q: float | None = None) -> tuple[np.ndarray, float]:
    """Raw Q-transform energy (frequencies x times) of the whitened series `x`, and the Q of
    the plane used (`q` forces one plane; by default gwpy picks the loudest in q_range)."""
    from gwpy.timeseries import TimeSeries

    series = TimeSeries(np.asarray(x, dtype=np.float64), sample_rate=spec.sample_rate, t0=0)
    n_f, n_t = spec.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gram = series.q_transform(
            qrange=(q, q) if q is not None else spec.q_range, frange=spec.frequency_range,
            whiten=False, norm=False, logf=True, fres=n_f, tres=spec.duration / n_t,
            outseg=(spec.start, spec.start + spec.duration))
    values = np.asarray(gram.value, dtype=np.float64).T[:, :n_t]
    if values.shape != (n_f, n_t):
        raise ValueError(f"gwpy returned a {values.shape} map, expected {(n_f, n_t)}")
    return values, float(getattr(gram, "q", q or spec.q_range[0]))


def row_scale(reference: np.ndarray, norm: str) -> np.ndarray:
    """The per-frequency divisor of a map: the row median or mean of `reference` (F x 1)."""
    stat = np.median(reference, axis=1) if norm == "median" else reference.mean(axis=1)
    floor = np.finfo(np.float64).tiny
    return np.where(stat > floor, stat, 1.0)[:, None]


def channel_map(x: np.ndarray, spec: MapSpec) -> tuple[np.ndarray, np.ndarray, float]:
    """(normalised map, row divisor, Q used) of one whitened channel."""
    raw, q = energy(x, spec)
    scale = row_scale(raw, spec.norm)
    return (raw / scale).astype(np.float32), scale, q


def part_map(x: np.ndarray, spec: MapSpec, scale: np.ndarray, q: float) -> np.ndarray:
    """Map of one part of a channel, in the units of that channel's map."""
    if not np.any(x):
        return np.zeros(spec.shape, dtype=np.float32)
    raw, _ = energy(x, spec, q)
    return (raw / scale).astype(np.float32)
