"""The cleaned main channel h(t): the glitch estimate as a time-frequency mask on its STFT.

A Q-transform map keeps only energies, so it cannot be inverted by itself. The cleaning is
done on an invertible transform of the same series instead: each map pixel's kept energy
fraction r = clip(1 - G_hat / main, 0, 1) is interpolated (in log frequency and time)
onto the bins of a short-time Fourier transform of the whitened main channel, the STFT is
scaled by sqrt(r) (so each bin keeps the fraction r of its energy), inverted, and coloured
back with the noise curve that whitened it. Bins outside the maps' band and time window keep
their value, so the series is untouched where the maps say nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

#: STFT segment (s): 8 Hz bins, short enough to follow the maps' 31 ms columns with the overlap
SEGMENT = 0.125
OVERLAP = 0.75


@dataclass(frozen=True)
class Grid:
    """Where a dataset's maps sit inside its series, and the STFT used to clean them."""

    sample_rate: float
    length: int  # points per series
    pad: float  # s before the map window
    frequencies: np.ndarray  # map rows (Hz, log-spaced)
    times: np.ndarray  # map columns (s after the pad)

    @property
    def nperseg(self) -> int:
        return int(round(SEGMENT * self.sample_rate))

    @property
    def noverlap(self) -> int:
        return int(round(OVERLAP * self.nperseg))

    @classmethod
    def of(cls, info, length: int) -> Grid:
        """The grid of a dataset (`data.DatasetInfo`) whose series have `length` points."""
        return cls(float(info.sample_rate), int(length), float(info.attrs["pad"]),
                   np.asarray(info.frequencies, np.float64), np.asarray(info.times, np.float64))


def kept_fraction(main: np.ndarray, g_hat: np.ndarray) -> np.ndarray:
    """Per map pixel, the fraction of the main channel's energy that is not glitch."""
    main = np.asarray(main, np.float64)
    tiny = np.finfo(np.float32).tiny
    return np.clip(1.0 - g_hat / np.maximum(main, tiny), 0.0, 1.0)


def region(grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """STFT bin frequencies (Hz) and times (s after the pad), and which of them the maps
    cover (inside the band; inside the map window)."""
    n_seg, hop = grid.nperseg, grid.nperseg - grid.noverlap
    f_bins = np.fft.rfftfreq(n_seg, 1.0 / grid.sample_rate)
    t_bins = np.arange(-(-grid.length // hop) + 1) * hop / grid.sample_rate - grid.pad
    duration = grid.times[-1] + (grid.times[1] - grid.times[0])
    rows = (f_bins >= grid.frequencies[0]) & (f_bins <= grid.frequencies[-1])
    cols = (t_bins >= 0) & (t_bins < duration)
    return f_bins, t_bins, rows, cols


def bin_mask(kept: np.ndarray, grid: Grid) -> np.ndarray:
    """(STFT frequencies, STFT times) amplitude mask from a map's kept fractions (F, T)."""
    from scipy.interpolate import RegularGridInterpolator

    f_bins, t_bins, rows, cols = region(grid)
    mask = np.ones((len(f_bins), len(t_bins)))
    if not rows.any() or not cols.any():
        return mask
    interp = RegularGridInterpolator((np.log(grid.frequencies), grid.times), kept,
                                     bounds_error=False, fill_value=None)
    ff, tt = np.meshgrid(np.log(f_bins[rows]), np.clip(t_bins[cols], grid.times[0],
                                                       grid.times[-1]), indexing="ij")
    values = interp(np.stack([ff, tt], -1))
    mask[np.ix_(rows, cols)] = np.sqrt(np.clip(values, 0.0, 1.0))
    return mask


def covered_energy(white: np.ndarray, grid: Grid) -> float:
    """Energy of a whitened series in the STFT bins the maps cover."""
    from scipy.signal import stft

    _, _, rows, cols = region(grid)
    _, _, z = stft(white, fs=grid.sample_rate, nperseg=grid.nperseg, noverlap=grid.noverlap)
    return float(np.sum(np.abs(z[np.ix_(rows, cols[:z.shape[1]])]) ** 2))


def apply_mask(white: np.ndarray, mask: np.ndarray, grid: Grid) -> np.ndarray:
    """The whitened series (L,) with its STFT scaled by `mask`, back in the time domain."""
    from scipy.signal import istft, stft

    kw = {"fs": grid.sample_rate, "nperseg": grid.nperseg, "noverlap": grid.noverlap}
    _, _, z = stft(white, **kw)
    _, x = istft(z * mask[:, :z.shape[1]], **kw)
    return x[:grid.length]


class Whitener:
    """Whitens and colours a dataset's main channel: with the generator's noise curve for
    generated data; prepared data is stored whitened already (identity)."""

    def __init__(self, info, length: int) -> None:
        self.psd = None
        self.sample_rate = float(info.sample_rate)
        self.units = "whitened (unit-variance noise)"
        if info.kind == "generated" and "generator" in info.attrs:
            from dte_virgo_gw import noise
            from dte_virgo_gw.config import DataConfig

            data = DataConfig(**json.loads(info.attrs["generator"]))
            freqs = noise.rfft_frequencies(length, self.sample_rate)
            self.psd, _ = noise.main_psd(data, freqs)
            self.units = "strain (as series/main)"

    def whiten(self, x: np.ndarray) -> np.ndarray:
        from dte_virgo_gw import noise

        x = np.asarray(x, np.float64)
        return x if self.psd is None else noise.whiten(x, self.psd, self.sample_rate)

    def colour(self, x: np.ndarray) -> np.ndarray:
        from dte_virgo_gw import noise

        return x if self.psd is None else noise.colour(x, self.psd, self.sample_rate)


def clean(main_series: np.ndarray, main_maps: np.ndarray, g_hat: np.ndarray, grid: Grid,
          whitener: Whitener) -> np.ndarray:
    """Cleaned main-channel series (B, L), in the units of `main_series`."""
    out = np.empty((len(main_series), grid.length), np.float64)
    for j, h in enumerate(main_series):
        mask = bin_mask(kept_fraction(main_maps[j], g_hat[j]), grid)
        out[j] = whitener.colour(apply_mask(whitener.whiten(h), mask, grid))
    return out


def truth_sums(info, length: int, indices, main_maps: np.ndarray,
               estimates: dict[str, np.ndarray], stored: np.ndarray) -> dict[str, dict] | None:
    """Energy sums of the cleaning of generated samples by each glitch estimate (name ->
    (B, F, T) maps), against the samples' regenerated parts, in the STFT bins the maps cover:
    the raw series' glitch energy, what is left after cleaning besides noise and signal, and
    the binary signal's energy before and after the same mask. None when the samples cannot
    be regenerated exactly (another generator version)."""
    from dte_virgo_gw import generate
    from dte_virgo_gw.config import DataConfig

    if info.kind != "generated" or int(info.attrs.get("generator_version", -1)) != \
            generate.GENERATOR_VERSION:
        return None
    plan = generate.make_plan(DataConfig(**json.loads(info.attrs["generator"])))
    grid, whitener = Grid.of(info, length), Whitener(info, length)
    keys = ("glitch_energy", "glitch_residual", "cbc_energy", "cbc_kept")
    sums = {name: dict.fromkeys(keys, 0.0) for name in estimates}
    for j, index in enumerate(indices):
        parts = generate.series(plan, int(index))
        n, g, s = (whitener.whiten(parts[k]) for k in ("noise", "glitch", "cbc"))
        raw = whitener.whiten(stored[j])
        if not np.allclose(raw, n + g + s, atol=1e-3 * np.std(raw)):
            return None
        glitch, cbc = covered_energy(g, grid), covered_energy(s, grid) if np.any(s) else 0.0
        for name, g_hat in estimates.items():
            mask = bin_mask(kept_fraction(main_maps[j], g_hat[j]), grid)
            out = sums[name]
            out["glitch_energy"] += glitch
            out["glitch_residual"] += covered_energy(apply_mask(raw, mask, grid) - n - s, grid)
            if cbc:
                out["cbc_energy"] += cbc
                out["cbc_kept"] += covered_energy(apply_mask(s, mask, grid), grid)
    return sums
