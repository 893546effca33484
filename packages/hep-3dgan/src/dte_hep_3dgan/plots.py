"""Validation figures (PNG): generated vs reference showers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dte_hep_3dgan.validation import Observables

REAL = {"color": "black", "label": "reference (GFlash)"}
FAKE = {"color": "tab:red", "label": "3DGAN"}


def _figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (6.4, 4.8)):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
    return plt, fig, axes


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def profiles(real: Observables, fake: Observables, out: Path) -> list[Path]:
    """Mean longitudinal profile, and x and y transverse profiles, with ratio panels."""
    written = []
    for name, r, f, xlabel in (("longitudinal", real.longitudinal, fake.longitudinal, "layer"),
                               ("transverse_x", real.x_profile, fake.x_profile, "x cell"),
                               ("transverse_y", real.y_profile, fake.y_profile, "y cell")):
        plt, fig, axes = _figure(2, 1, (6.4, 6.0))
        top, bottom = axes[0, 0], axes[1, 0]
        pos = np.arange(r.shape[1])
        mr, mf = r.mean(axis=0), f.mean(axis=0)
        top.step(pos, mr, where="mid", **REAL)
        top.step(pos, mf, where="mid", **FAKE)
        top.set_yscale("log")
        top.set_ylabel("mean energy per shower [GeV]")
        top.set_title(f"{name.replace('_', ' ')} profile")
        top.legend()
        with np.errstate(divide="ignore", invalid="ignore"):
            bottom.step(pos, mf / mr, where="mid", color=FAKE["color"])
        bottom.axhline(1.0, color="black", lw=0.8)
        for band in (0.9, 1.1):
            bottom.axhline(band, color="grey", lw=0.6, ls="--")
        bottom.set_ylim(0.5, 1.5)
        bottom.set_xlabel(xlabel)
        bottom.set_ylabel("3DGAN / reference")
        written.append(_save(plt, fig, out / f"{name}.png"))
    return written


def deposit(real: Observables, fake: Observables, edges: np.ndarray, ratio_real: np.ndarray,
            err_real: np.ndarray, ratio_fake: np.ndarray, err_fake: np.ndarray,
            out: Path) -> Path:
    """Total deposit vs Ep, and deposit / Ep (sampling fraction) per energy bin."""
    plt, fig, axes = _figure(1, 2, (11, 4.5))
    left, right = axes[0]
    left.scatter(real.energy, real.deposit, s=6, alpha=0.6, **REAL)
    left.scatter(fake.energy, fake.deposit, s=6, alpha=0.6, **FAKE)
    left.set_xlabel("Ep [GeV]")
    left.set_ylabel("total deposit [GeV]")
    left.legend()
    centres = (edges[:-1] + edges[1:]) / 2
    right.errorbar(centres, ratio_real, yerr=err_real, fmt="o", **REAL)
    right.errorbar(centres, ratio_fake, yerr=err_fake, fmt="s", **FAKE)
    right.set_xlabel("Ep [GeV]")
    right.set_ylabel("deposit / Ep (sampling fraction)")
    right.legend()
    return _save(plt, fig, out / "deposit_vs_energy.png")


def shapes(moments_real: dict[str, np.ndarray], moments_fake: dict[str, np.ndarray],
           out: Path) -> Path:
    """Histograms of the shower-shape moments."""
    keys = list(moments_real)
    plt, fig, axes = _figure(2, (len(keys) + 1) // 2, (12, 6.5))
    for ax, key in zip(axes.T.flat, keys, strict=False):
        both = np.concatenate([moments_real[key], moments_fake[key]])
        bins = np.linspace(np.percentile(both, 0.5), np.percentile(both, 99.5) + 1e-9, 30)
        ax.hist(moments_real[key], bins=bins, histtype="step", density=True, **REAL)
        ax.hist(moments_fake[key], bins=bins, histtype="step", density=True, **FAKE)
        ax.set_title(key.replace("_", " ") + (" [layers]" if key.startswith("long")
                                             else " [cells]"))
    axes.flat[0].legend(fontsize=8)
    return _save(plt, fig, out / "shower_shapes.png")


def cells(real: Observables, fake: Observables, out: Path) -> Path:
    """Cell-energy spectrum and occupancy."""
    plt, fig, axes = _figure(1, 2, (11, 4.5))
    left, right = axes[0]
    bins = np.linspace(-5, 1, 61)
    left.hist(real.cell_log_energy, bins=bins, histtype="step", density=True, **REAL)
    left.hist(fake.cell_log_energy, bins=bins, histtype="step", density=True, **FAKE)
    left.set_yscale("log")
    left.set_xlabel("log10(cell energy / GeV)")
    left.set_title("cell-energy spectrum")
    left.legend()
    both = np.concatenate([real.occupancy, fake.occupancy])
    occ_bins = np.linspace(0, both.max() + 1, 30)
    right.hist(real.occupancy, bins=occ_bins, histtype="step", **REAL)
    right.hist(fake.occupancy, bins=occ_bins, histtype="step", **FAKE)
    right.set_xlabel("cells above threshold")
    right.set_title("occupancy")
    return _save(plt, fig, out / "cells.png")
