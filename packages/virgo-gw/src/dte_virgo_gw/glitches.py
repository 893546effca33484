"""Glitch morphologies seen by witness channels, and how each channel couples into h(t).

Waveforms are in whitened units (unit-variance noise), normalised to a chosen SNR: for white
noise of unit variance the optimal SNR of a waveform is the root of its sum of squares. The
shapes follow the classes of transient noise found in the interferometers (Gravity Spy):

- blip: a short sine-Gaussian, a few cycles at 40-250 Hz;
- scattered_light: arches, light scattered off a slowly moving surface, whose instantaneous
  frequency |f_max cos(2 pi f_mod t)| follows the surface speed;
- whistle: a fast V-shaped frequency sweep at a few hundred Hz (radio-frequency beat notes);
- chirp: a rising power-law sweep f ~ (t_c - t)^(-3/8), like a binary but in a witness;
- broadband: a few-millisecond burst of band-limited noise (koi fish, tomte).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: quadratic coupling is measured against this amplitude (in units of the main noise's sigma)
NONLINEAR_REFERENCE = 10.0
CHANNEL_KINDS = ("SEISMIC", "MAGNETIC", "ACOUSTIC", "CONTROL")


@dataclass(frozen=True)
class Glitch:
    """One transient: its morphology, where it is and how loud."""

    morphology: str
    channel: int
    time: float  # seconds from the start of the padded series (peak or merger)
    frequency: float  # characteristic frequency (Hz)
    snr_aux: float


@dataclass(frozen=True)
class Coupling:
    """How one auxiliary channel's disturbance reaches h(t): filter, delay, gain, non-linearity,
    and the witness sensor's own noise."""

    band: tuple[float, float]  # Butterworth band-pass of the path (Hz)
    delay: float  # seconds
    gain: float  # main-channel SNR per auxiliary SNR, in the pass band
    beta: float  # quadratic term: h = y + beta * y**2 / NONLINEAR_REFERENCE
    sensor_corner: float  # Hz, where the sensor noise turns red
    sensor_level: float  # sensor noise ASD far above the corner (arbitrary sensor units)

    def sos(self, fs: float) -> np.ndarray:
        from scipy.signal import butter

        return butter(2, self.band, btype="bandpass", fs=fs, output="sos")

    def apply(self, d: np.ndarray, fs: float) -> np.ndarray:
        """The contribution to whitened h(t) of the disturbance `d` seen by this channel."""
        from scipy.signal import sosfilt

        y = self.gain * sosfilt(self.sos(fs), d)
        y = np.roll(y, int(round(self.delay * fs)))
        return y + self.beta * y * y / NONLINEAR_REFERENCE


def couplings(rng: np.random.Generator, channels: int, fs: float, f_range: tuple[float, float],
              gain: tuple[float, float], nonlinearity: float) -> list[Coupling]:
    """The detector's couplings: drawn once per dataset, so they are a property of the
    (simulated) instrument that the network has to learn."""
    top = min(f_range[1] * 0.98, fs / 2 * 0.9)
    out = []
    for _ in range(channels):
        lo = float(rng.uniform(max(f_range[0], 10.0), 45.0))
        hi = float(rng.uniform(max(lo * 4, top * 0.45), top))
        out.append(Coupling(
            band=(lo, hi), delay=float(rng.uniform(0.0, 0.04)), gain=float(rng.uniform(*gain)),
            beta=float(nonlinearity * rng.uniform(0.5, 1.5)),
            sensor_corner=float(rng.uniform(5.0, 30.0)),
            sensor_level=float(10 ** rng.uniform(-3, 1)),
        ))
    return out


def _normalised(x: np.ndarray, snr: float) -> np.ndarray:
    norm = float(np.sqrt(np.sum(x * x)))
    return x * (snr / norm) if norm > 0 else x


def blip(rng, t, t0):
    f0 = float(np.exp(rng.uniform(np.log(40), np.log(250))))
    q = float(rng.uniform(2.0, 8.0))
    tau = q / (np.sqrt(2.0) * np.pi * f0)
    u = t - t0
    return np.exp(-(u / tau) ** 2) * np.sin(2 * np.pi * f0 * u + rng.uniform(0, 2 * np.pi)), f0


def scattered_light(rng, t, t0):
    f_max = float(rng.uniform(25.0, 90.0))
    f_mod = float(rng.uniform(1.0, 3.0))
    width = float(rng.uniform(0.25, 0.5))
    u = t - t0
    phase = (f_max / f_mod) * np.sin(2 * np.pi * f_mod * u) + rng.uniform(0, 2 * np.pi)
    return np.exp(-0.5 * (u / width) ** 2) * np.sin(phase), f_max


def whistle(rng, t, t0, f_top: float):
    half = float(rng.uniform(0.05, 0.2))
    f_min = float(rng.uniform(150.0, 0.7 * f_top))
    f_max = float(rng.uniform(f_min + 40.0, f_top))
    u = t - t0
    phase = 2 * np.pi * (f_min * u + (f_max - f_min) * u ** 3 / (3 * half ** 2))
    return np.exp(-0.5 * (u / (0.6 * half)) ** 2) * np.sin(phase), f_min


def chirp(rng, t, t0, f_top: float):
    f_start = 30.0
    f_end = float(rng.uniform(150.0, f_top))
    t_c = float(rng.uniform(0.15, 0.6))
    length = t_c * (1 - (f_start / f_end) ** (8 / 3))  # seconds from f_start to f_end
    u = t - (t0 - length)  # the sweep ends at t0
    inside = (u >= 0) & (u <= length)
    v = np.clip(1 - u / t_c, 1e-6, None)
    freq = f_start * v ** (-3 / 8)
    phase = 2 * np.pi * f_start * t_c * (8 / 5) * (1 - v ** (5 / 8))
    ramp = np.clip(u / (0.1 * length), 0, 1) * np.clip((length - u) / 0.01, 0, 1)
    return np.where(inside, (freq / f_start) ** (2 / 3) * ramp * np.sin(phase), 0.0), f_end


def broadband(rng, t, t0, fs: float, f_top: float):
    from scipy.signal import butter, sosfiltfilt

    sigma = float(rng.uniform(0.003, 0.015))
    u = t - t0
    near = np.abs(u) < 6 * sigma
    burst = np.zeros_like(t)
    burst[near] = rng.standard_normal(int(near.sum())) * np.exp(-0.5 * (u[near] / sigma) ** 2)
    sos = butter(4, (20.0, f_top), btype="bandpass", fs=fs, output="sos")
    return sosfiltfilt(sos, burst), float(np.sqrt(20.0 * f_top))


def waveform(morphology: str, rng: np.random.Generator, t: np.ndarray, t0: float, fs: float,
             f_top: float, snr: float) -> tuple[np.ndarray, float]:
    """A glitch of `morphology` centred at `t0` with optimal SNR `snr` (whitened units)."""
    if morphology == "blip":
        x, f = blip(rng, t, t0)
    elif morphology == "scattered_light":
        x, f = scattered_light(rng, t, t0)
    elif morphology == "whistle":
        x, f = whistle(rng, t, t0, f_top)
    elif morphology == "chirp":
        x, f = chirp(rng, t, t0, f_top)
    elif morphology == "broadband":
        x, f = broadband(rng, t, t0, fs, f_top)
    else:  # the config's Literal keeps this unreachable
        raise ValueError(f"unknown glitch morphology {morphology!r}")
    return _normalised(x, snr), f
