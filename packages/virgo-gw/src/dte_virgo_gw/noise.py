"""Detector and sensor noise: sensitivity curves, colouring and whitening on an FFT grid.

Everything here works on one sample's padded series of `n` points at `fs` Hz. Whitening divides
the spectrum by sqrt(PSD * fs / 2), so Gaussian noise with that PSD becomes unit-variance white
noise, and colouring is its inverse: the generator draws every component in whitened units
(where SNRs are simple sums of squares) and colours it into physical units for storage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from dte_core.errors import ConfigError


def rfft_frequencies(n: int, fs: float) -> np.ndarray:
    """Frequencies (Hz) of the one-sided spectrum of `n` points at `fs`."""
    return np.fft.rfftfreq(n, 1.0 / fs)


def lalsim_psd(name: str, freqs: np.ndarray, f_low: float) -> np.ndarray:
    """One-sided PSD (1/Hz) of lalsimulation's SimNoisePSD<name> at `freqs`, 0 below `f_low`."""
    import lal
    import lalsimulation

    function = getattr(lalsimulation, f"SimNoisePSD{name}", None)
    if function is None or name.endswith("Ptr"):
        known = sorted(n.removeprefix("SimNoisePSD") for n in dir(lalsimulation)
                       if n.startswith("SimNoisePSDAdV") and not n.endswith("Ptr"))
        raise ConfigError(
            f"data.psd='{name}' is not a lalsimulation noise curve (no SimNoisePSD{name}). "
            f"Virgo curves: {', '.join(known)}; or give a measured ASD with data.asd_file.")
    df = float(freqs[1] - freqs[0])
    series = lal.CreateREAL8FrequencySeries("psd", 0, 0.0, df, lal.DimensionlessUnit,
                                            len(freqs))
    function(series, f_low)
    psd = np.array(series.data.data, dtype=np.float64)
    psd[freqs < f_low] = 0.0
    return psd


def read_asd_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, ASD) from a two-column text file, with clear errors."""
    if not path.is_file():
        raise ConfigError(f"data.asd_file '{path}' does not exist. Give a text file with two "
                          f"columns: frequency [Hz] and ASD [1/sqrt(Hz)].")
    try:
        table = np.loadtxt(path, ndmin=2)
    except ValueError as exc:
        raise ConfigError(f"data.asd_file '{path}' is not a numeric two-column table ({exc}). "
                          f"Expected lines 'frequency asd', '#' comments allowed.") from None
    if table.shape[1] < 2 or len(table) < 2:
        raise ConfigError(f"data.asd_file '{path}' needs at least two rows of two columns "
                          f"(frequency [Hz], ASD [1/sqrt(Hz)]); it has shape {table.shape}.")
    if len(table) > 2 and table.ndim == 2 and table[0, 0] == 0:
        table = table[1:]  # the DC row of many ASD files: never used (noise_f_low > 0)
    f, asd = table[:, 0], table[:, 1]
    if not (np.all(np.isfinite(table[:, :2])) and np.all(np.diff(f) > 0) and np.all(asd > 0)):
        raise ConfigError(f"data.asd_file '{path}' must have increasing frequencies and "
                          f"positive, finite ASD values.")
    return f, asd


def file_psd(path: Path, freqs: np.ndarray, f_low: float) -> np.ndarray:
    """PSD at `freqs` from a measured ASD file (log-log interpolation), 0 outside its range."""
    f, asd = read_asd_file(path)
    f_low = max(f_low, float(f[0]))
    inside = (freqs >= f_low) & (freqs <= f[-1])
    psd = np.zeros_like(freqs)
    psd[inside] = np.exp(2 * np.interp(np.log(freqs[inside]), np.log(f), np.log(asd)))
    return psd


def main_psd(data, freqs: np.ndarray) -> tuple[np.ndarray, str]:
    """The main channel's PSD on `freqs` and a label of where it came from."""
    if data.asd_file is not None:
        return file_psd(Path(data.asd_file), freqs, data.noise_f_low), str(data.asd_file)
    return lalsim_psd(data.psd, freqs, data.noise_f_low), f"lalsimulation:{data.psd}"


def sensor_psd(freqs: np.ndarray, corner: float, level: float) -> np.ndarray:
    """A witness sensor's PSD: flat at `level`**2 above `corner` Hz, rising as f**-4 below
    (seismometers, magnetometers and microphones are all red at low frequency)."""
    f = np.maximum(freqs, 1.0)
    return level ** 2 * (1.0 + (corner / f) ** 4)


def _gain(psd: np.ndarray, fs: float) -> np.ndarray:
    return np.sqrt(psd * fs / 2.0)


def whiten(x: np.ndarray, psd: np.ndarray, fs: float) -> np.ndarray:
    """Divide the spectrum of `x` (last axis) by sqrt(psd * fs / 2); 0 where the PSD is 0."""
    gain = _gain(psd, fs)
    inverse = np.divide(1.0, gain, out=np.zeros_like(gain), where=gain > 0)
    return np.fft.irfft(np.fft.rfft(x, axis=-1) * inverse, n=x.shape[-1], axis=-1)


def colour(x: np.ndarray, psd: np.ndarray, fs: float) -> np.ndarray:
    """Inverse of `whiten`: multiply the spectrum of `x` by sqrt(psd * fs / 2)."""
    return np.fft.irfft(np.fft.rfft(x, axis=-1) * _gain(psd, fs), n=x.shape[-1], axis=-1)


def white_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance Gaussian white noise."""
    return rng.standard_normal(n)
