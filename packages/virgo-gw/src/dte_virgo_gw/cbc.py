"""Compact-binary signals (lalsimulation IMRPhenomD) for the main channel only.

No witness channel sees an astrophysical signal, so whatever the denoiser subtracts from such a
signal is loss: the injections measure how much of it survives the cleaning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F_START = 15.0  # Hz, where the waveforms start (below the maps' band at the defaults)


@dataclass(frozen=True)
class Injection:
    """One binary: masses, spins, merger time (s from the start of the padded series), SNR."""

    m1: float
    m2: float
    chi1: float
    chi2: float
    merger: float
    snr: float


def imrphenomd(m1: float, m2: float, chi1: float, chi2: float, inclination: float,
               polarization: float, phase: float, fs: float) -> tuple[np.ndarray, int]:
    """Detector strain F+ h+ + Fx hx at 1 Mpc (arbitrary scale: it is set by the SNR later)
    and the index of the merger (the waveform's time origin)."""
    import lal
    import lalsimulation

    hp, hc = lalsimulation.SimInspiralChooseTDWaveform(
        m1 * lal.MSUN_SI, m2 * lal.MSUN_SI, 0.0, 0.0, chi1, 0.0, 0.0, chi2,
        1e6 * lal.PC_SI, inclination, phase, 0.0, 0.0, 0.0, 1.0 / fs, F_START, F_START,
        lal.CreateDict(), lalsimulation.IMRPhenomD)
    strain = (np.cos(2 * polarization) * hp.data.data
              + np.sin(2 * polarization) * hc.data.data)
    merger = int(round(-float(hp.epoch) * fs))
    return strain, merger


def place(strain: np.ndarray, merger: int, n: int, at: int) -> np.ndarray:
    """The waveform on an `n`-point series with its merger at index `at`, the cut-off start
    tapered over 0.1 s worth of samples so that truncation adds no broadband click."""
    out = np.zeros(n)
    start = at - merger
    lo, hi = max(start, 0), min(start + len(strain), n)
    if hi <= lo:
        return out
    piece = strain[lo - start:hi - start].copy()
    ramp = min(len(piece), max(8, len(piece) // 20))
    piece[:ramp] *= 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
    out[lo:hi] = piece
    return out


def draw(rng: np.random.Generator, mass: tuple[float, float], snr: tuple[float, float],
         merger_window: tuple[float, float]) -> Injection:
    """Random binary parameters (uniform masses and aligned spins, merger inside the window)."""
    m1, m2 = sorted(rng.uniform(*mass, size=2), reverse=True)
    return Injection(m1=float(m1), m2=float(m2), chi1=float(rng.uniform(-0.5, 0.5)),
                     chi2=float(rng.uniform(-0.5, 0.5)),
                     merger=float(rng.uniform(*merger_window)),
                     snr=float(rng.uniform(*snr)))
