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


def errors(path: Path, net: dict | None, base: dict | None, truth: Any,
           cats: dict[str, np.ndarray]) -> None:
    """Histogram of the centre error (km) of matched cyclones, network vs baseline, with the
    mean per category."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 150, 31)
    for found, label in ((net, "network"), (base, "min-psl baseline")):
        if found is None or not len(truth):
            continue
        err = found["err"]
        hit = ~np.isnan(err)
        if not hit.any():
            continue
        parts = ", ".join(f"{k} {np.nanmean(err[m & hit]):.0f}" for k, m in cats.items()
                          if (m & hit).any())
        ax.hist(err[hit], bins=bins, alpha=0.6,
                label=f"{label}: mean {err[hit].mean():.0f} km ({parts})")
    ax.set_xlabel("centre error of matched cyclones [km]")
    ax.set_ylabel("cyclone centres")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def gallery(path: Path, x: np.ndarray, y: np.ndarray, heat: np.ndarray, channels: list[str],
            threshold: float) -> None:
    """Patches (psl, else the first channel) with the true centres (x), the heat map's
    contours and its peaks (+)."""
    from dte_climate_cyclone.heatmap import log_prob, peaks
    from dte_climate_cyclone.patches import centres_of

    plt = _plt()
    channel = channels.index("psl") if "psl" in channels else 0
    cols = 4
    rows = max(1, int(np.ceil(len(x) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, k in zip(axes.flat, range(len(x)), strict=False):
        ax.imshow(x[k, :, :, channel], origin="lower", cmap="viridis")
        ax.contour(heat[k], levels=[threshold], colors="w", linewidths=0.8)
        true = centres_of(y[k])
        ax.plot(true[:, 1], true[:, 0], "rx", ms=10, mew=2)
        found = peaks(heat[k], threshold, 2.0, log_prob(heat[k]))
        ax.plot([p.col for p in found], [p.row for p in found], "w+", ms=12, mew=2)
        ax.set_title(f"max p={heat[k].max():.2f}", fontsize=9)
    fig.suptitle(f"{channels[channel]}: truth x, network peaks +, heat map p={threshold}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _tracks(ax, found: dict, t: int, style: str, colour: str) -> None:
    """The tracks that pass through time `t`, as lines."""
    for k in np.unique(found["track"][(found["t"] == t) & (found["track"] >= 0)]):
        on = np.flatnonzero(found["track"] == k)
        on = on[np.argsort(found["t"][on])]
        ax.plot(found["lon"][on], found["lat"][on], style, color=colour, lw=1.2)


def maps(path: Path, data: Any, times: list[int], net: dict,
         base: dict | None = None) -> None:
    """Sea-level pressure and wind at held-out times with true centres and tracks, the
    network's and the baseline's detections and tracks."""
    plt = _plt()
    if not times:
        return
    fields, grid = data.fields, data.fields.grid
    names = [n for n in ("psl", "sfcWind") if n in fields.arrays] or [next(iter(fields.arrays))]
    strong = data.centres.wind >= data.config.data.min_wind_kt
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
        now = (data.centres.t == t) & strong
        for sid in np.unique(data.centres.sid[now]):
            on = np.flatnonzero((data.centres.sid == sid) & (data.centres.t >= data.split))
            ax.plot(data.centres.lon[on], data.centres.lat[on], "--", color="r", lw=1)
        ax.plot(data.centres.lon[now], data.centres.lat[now], "rx", ms=11, mew=2,
                label="track (IBTrACS)")
        _tracks(ax, net, t, "-", "magenta")
        hits = net["t"] == t
        ax.plot(net["lon"][hits], net["lat"][hits], "o", mfc="none", mec="magenta", ms=12,
                mew=2, label="network")
        if base is not None:
            _tracks(ax, base, t, ":", "orange")
            hits = base["t"] == t
            ax.plot(base["lon"][hits], base["lat"][hits], "s", mfc="none", mec="orange",
                    ms=9, mew=1.5, label="min-psl baseline")
        ax.set_xlim(grid.lon[0], grid.lon[-1])
        ax.set_ylim(grid.lat[0], grid.lat[-1])
        ax.set_title(fields.label(t))
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
