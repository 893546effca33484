"""Figures of `dte evaluate virgo-gw`: example maps and glitch power before/after."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: what the map pixels are: Q-transform energy normalised by each row's median/mean noise
ENERGY_UNIT = "energy (noise level = 1)"


def _show(ax, image, freqs, times, title, vmax, cmap="viridis", vmin=0.0):
    extent = (times[0], times[-1] + (times[1] - times[0]), 0, len(freqs))
    im = ax.imshow(image, origin="lower", aspect="auto", extent=extent, cmap=cmap,
                   vmin=vmin, vmax=vmax, interpolation="nearest")
    ticks = np.linspace(0, len(freqs) - 1, 4).astype(int)
    ax.set_yticks(ticks + 0.5, [f"{freqs[i]:.0f}" for i in ticks])
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    return im


def examples(path: Path, samples: list[dict], aux_names: list[str], freqs, times,
             title: str = "virgo-gw") -> Path:
    """One row per sample: auxiliary maps, target, prediction, residual, true glitch; each map
    with its colour bar, the figure titled with what was evaluated and its headline metric."""
    plt = _pyplot()
    k = len(aux_names)
    cols = k + 4
    fig, axes = plt.subplots(len(samples), cols, figsize=(2.1 * cols, 2.0 * len(samples)),
                             squeeze=False)
    for row, s in enumerate(samples):
        vmax = float(np.quantile(s["main"], 0.995)) or 1.0
        panels = [(s["aux"][i], f"aux {aux_names[i]}", float(np.quantile(s["aux"][i], 0.995)))
                  for i in range(k)]
        panels += [(s["main"], f"target: main (#{s['index']})", vmax),
                   (s["prediction"], "prediction", vmax),
                   (s["cleaned"], "cleaned = main - glitch est.", vmax)]
        panels.append((s["glitch"], "true glitch", vmax) if s.get("glitch") is not None
                      else (s["prediction"] - s["cleaned"], "glitch estimate", vmax))
        for col, (image, label, top) in enumerate(panels):
            im = _show(axes[row, col], image, freqs, times, label, top or 1.0)
            bar = fig.colorbar(im, ax=axes[row, col], fraction=0.046, pad=0.02)
            bar.set_label(ENERGY_UNIT, fontsize=6)
            bar.ax.tick_params(labelsize=5)
        axes[row, 0].set_ylabel("frequency (Hz)", fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def glitch_power(path: Path, before: np.ndarray, after: dict[str, np.ndarray],
                 db: dict[str, float]) -> Path:
    """Per held-out sample: glitch energy in the main map before vs left after subtraction."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    has = before > 0
    lo = max(float(before[has].min()) if has.any() else 1.0, 1e-2)
    hi = max(float(before.max()), max(float(a.max()) for a in after.values()), 1.0)
    for (name, values), marker in zip(after.items(), "o^", strict=False):
        left.scatter(np.maximum(before, lo), np.maximum(values, lo), s=10, marker=marker,
                     alpha=0.7, label=f"{name}: {db.get(name, float('nan')):.1f} dB removed")
    left.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="nothing removed")
    left.set(xscale="log", yscale="log", xlabel="glitch energy before (sum of map)",
             ylabel="glitch energy left |G - G_hat|", title="held-out samples")
    left.legend(fontsize=7)
    names = list(after)
    right.bar(names, [db.get(n, 0.0) for n in names], color=["C0", "C1"][:len(names)])
    right.axhline(0, color="k", lw=0.8)
    right.set(ylabel="glitch power removed (dB)", title="total over held-out samples")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
