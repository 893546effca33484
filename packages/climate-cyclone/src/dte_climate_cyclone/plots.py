"""PNG figures of the evaluation (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def errors(path: Path, net: np.ndarray, base: np.ndarray | None, y: np.ndarray) -> None:
    """Histogram of the centre error (cells) on cyclone patches, network vs baseline."""
    plt = _plt()
    present = y[:, 0] > 0.5
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 20, 41)
    for pred, label in ((net, "network"), (base, "min-psl baseline")):
        if pred is None or not present.any():
            continue
        err = np.hypot(pred[present, 1] - y[present, 1], pred[present, 2] - y[present, 2])
        ax.hist(np.minimum(err, 20), bins=bins, alpha=0.6,
                label=f"{label} (mean {err.mean():.2f})")
    ax.set_xlabel("centre error [grid cells] (clipped at 20)")
    ax.set_ylabel("cyclone patches")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def gallery(path: Path, x: np.ndarray, y: np.ndarray, out: np.ndarray, base: np.ndarray | None,
            channels: list[str], threshold: float, count: int = 16) -> None:
    """Patches (psl, else the first channel) with true (x), network (+) and baseline (o)."""
    plt = _plt()
    channel = channels.index("psl") if "psl" in channels else 0
    present = np.flatnonzero(y[:, 0] > 0.5)
    empty = np.flatnonzero(y[:, 0] <= 0.5)
    pick = np.concatenate([present[:count * 3 // 4], empty[:count - min(len(present),
                                                                         count * 3 // 4)]])
    cols = 4
    rows = max(1, int(np.ceil(len(pick) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, pick, strict=False):
        ax.imshow(x[i, :, :, channel], origin="lower", cmap="viridis")
        if y[i, 0] > 0.5:
            ax.plot(y[i, 2], y[i, 1], "rx", ms=10, mew=2)
        if out[i, 0] > threshold:
            ax.plot(out[i, 2], out[i, 1], "w+", ms=12, mew=2)
        if base is not None and base[i, 0] > 0.5:
            ax.plot(base[i, 2], base[i, 1], "o", mfc="none", mec="orange", ms=10, mew=2)
        ax.set_title(f"p={out[i, 0]:.2f}", fontsize=9)
    fig.suptitle(f"{channels[channel]}: truth x, network +, min-psl baseline o")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def maps(path: Path, data: Any, times: list[int], found: list[dict[str, Any]]) -> None:
    """Sea-level pressure and wind at held-out times with true and detected centres."""
    plt = _plt()
    if not times:
        return
    fields, grid = data.fields, data.fields.grid
    names = [n for n in ("psl", "sfcWind") if n in fields.arrays] or [next(iter(fields.arrays))]
    fig, axes = plt.subplots(len(times), 1, figsize=(9, 3.6 * len(times)), squeeze=False)
    for ax, t in zip(axes[:, 0], times, strict=True):
        block = fields.read(t, t + 1, names)[0]
        if "sfcWind" in names:
            mesh = ax.pcolormesh(grid.lon, grid.lat, block[..., names.index("sfcWind")],
                                 cmap="Blues", shading="auto")
            fig.colorbar(mesh, ax=ax, label="sfcWind [m/s]")
        if "psl" in names:
            ax.contour(grid.lon, grid.lat, block[..., names.index("psl")] / 100.0,
                       levels=np.arange(940, 1040, 4), colors="k", linewidths=0.6)
        truth = data.centres.t == t
        ax.plot(data.centres.lon[truth], data.centres.lat[truth], "rx", ms=11, mew=2,
                label="track (IBTrACS)")
        hits = [f for f in found if f["t"] == t]
        ax.plot([f["lon"] for f in hits], [f["lat"] for f in hits], "o", mfc="none",
                mec="magenta", ms=12, mew=2, label="network")
        ax.set_title(fields.label(t))
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
