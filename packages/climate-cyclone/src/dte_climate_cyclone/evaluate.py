"""`dte evaluate climate-cyclone`: network and min-psl baseline on the held-out whole fields.

Both find centres in every held-out field (the network through stitched tile heat maps,
detect.py; the baseline through local pressure minima, baseline.py), with the same
suppression, the same tracking (linking.py) and the same matching to the tracks (scoring.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dte_climate_cyclone import plots
from dte_climate_cyclone.baseline import MinPsl
from dte_climate_cyclone.data import CycloneData
from dte_climate_cyclone.detect import (
    Found,
    blocks,
    heat_maps,
    network_centres,
    radius_cells,
    run_network,
)
from dte_climate_cyclone.linking import link
from dte_climate_cyclone.scoring import categories, centre_scores, match, track_scores


def hours_of(fields: Any) -> np.ndarray:
    """Hours since the first time step, per time index."""
    seconds = fields.times.astype("datetime64[s]").astype(np.int64)
    return (seconds - seconds[0]) / 3600.0


def split_truth(data: CycloneData, times: list[int]) -> tuple[Any, Any]:
    """The cyclone centres (at least data.min_wind_kt) and the weaker ones at `times`."""
    centres = data.centres
    at = np.isin(centres.t, times)
    strong = centres.wind >= data.config.data.min_wind_kt
    return centres.subset(at & strong), centres.subset(at & ~strong)


def positions(found: Found, grid: Any) -> dict[str, np.ndarray]:
    """The found centres' arrays with latitude and longitude."""
    arr = found.arrays()
    arr["lat"], arr["lon"] = grid.position(arr["row"], arr["col"])
    return arr


def fill_of(data: CycloneData, names: list[str]) -> np.ndarray | None:
    """The values that replace missing ones (data.nan=fill: each variable's mean), else None."""
    if data.config.data.nan != "fill":
        return None
    return np.array([data.stats[n]["mean"] for n in names], np.float32)


def assess(found: Found, data: CycloneData, times: list[int]) -> tuple[dict[str, float],
                                                                       dict[str, np.ndarray]]:
    """Centre and track scores of centres found at `times`; the centres with track ids."""
    cfg = data.config
    ev = cfg.evaluate
    grid = data.fields.grid
    truth, weak = split_truth(data, times)
    arr = positions(found, grid)
    arr["track"] = link(arr["t"], arr["lat"], arr["lon"], hours_of(data.fields),
                        ev.max_speed_kmh, ev.min_track_steps)
    truth_of, ignored, err = match(arr, truth, weak, times, ev.match_km)
    scores = centre_scores(truth_of, ignored, err,
                           categories(truth, grid.shape, cfg.data.patch_size))
    scores.update(track_scores(arr, arr["track"], truth_of, ignored, truth,
                               ev.min_track_steps))
    arr["err"] = err
    return scores, arr


def tune_baseline(data: CycloneData, radius: float) -> MinPsl:
    """The min-psl threshold with the best centre F1 on evenly spread training fields."""
    cfg = data.config
    times = sorted(set(np.linspace(0, data.split - 1, min(cfg.evaluate.tune_times, data.split))
                       .astype(int).tolist()))
    truth, weak = split_truth(data, times)
    grid = data.fields.grid
    candidates = Found()
    for t, psl in blocks(data.fields, times, ["psl"], fill_of(data, ["psl"])):
        candidates.add(t, MinPsl.candidates(psl[..., 0], radius))
    arr = positions(candidates, grid)
    depth = -arr["score"]
    low = depth[depth < 101_500.0]
    best, best_f1 = MinPsl(), -1.0
    for thr in np.unique(np.quantile(low, np.linspace(0, 1, 81))) if len(low) else []:
        keep = depth < thr
        part = {k: v[keep] for k, v in arr.items()}
        truth_of, ignored, err = match(part, truth, weak, times, cfg.evaluate.match_km)
        f1 = centre_scores(truth_of, ignored, err, {})["f1"]
        if f1 > best_f1:
            best, best_f1 = MinPsl(float(thr)), f1
    return best


def evaluate(config: Any, models: dict[str, Any], out: Path) -> dict[str, float]:
    """Centre and track scores of the network and of the baseline on the held-out fields."""
    data = CycloneData.open(config)
    ev, channels, patch = config.evaluate, config.data.variables, config.data.patch_size
    fields = data.fields
    grid = fields.grid
    times = list(range(data.split, len(fields.times)))
    radius = radius_cells(grid, ev.suppress_km)
    net_found = Found()
    for t, heat in heat_maps(models["net"], fields, times, channels, patch, ev.stride,
                             fill_of(data, channels)):
        net_found.add(t, network_centres(heat, ev.threshold, radius))
    net_scores, net_arr = assess(net_found, data, times)
    metrics = {f"net_{k}": v for k, v in net_scores.items()}
    base_arr = None
    if "psl" in channels:
        baseline = tune_baseline(data, radius)
        base_found = Found()
        for t, psl in blocks(fields, times, ["psl"], fill_of(data, ["psl"])):
            base_found.add(t, baseline.predict(psl[..., 0], radius))
        base_scores, base_arr = assess(base_found, data, times)
        metrics.update({f"base_{k}": v for k, v in base_scores.items()})
        metrics["base_threshold_hpa"] = baseline.threshold / 100.0
    truth, _ = split_truth(data, times)
    cats = categories(truth, grid.shape, patch)
    metrics.update({"match_km": ev.match_km, "suppress_km": ev.suppress_km,
                    "threshold": ev.threshold, "fields": float(len(times)),
                    "cyclones": float(len(truth)),
                    **{f"cyclones_{k}": float(v.sum()) for k, v in cats.items()}})
    plots.errors(out / "errors.png", net_arr, base_arr, truth, cats)
    gallery(out / "patches.png", data, models["net"], ev.threshold)
    if ev.maps:
        with_centres = sorted(set(truth.t.tolist())) or times
        chosen = [with_centres[int(i)] for i in
                  np.linspace(0, len(with_centres) - 1, min(ev.maps, len(with_centres)))]
        plots.maps(out / "maps.png", data, chosen, net_arr, base_arr)
    return metrics


def gallery(path: Path, data: CycloneData, net: Any, threshold: float, count: int = 16) -> None:
    """Held-out patches with their true centres and the network's heat-map peaks."""
    index = data.val
    if not len(index):
        return
    cyclone = np.flatnonzero(index.present > 0.5)
    empty = np.flatnonzero(index.present <= 0.5)
    pick = np.sort(np.concatenate([cyclone[:count * 3 // 4],
                                   empty[:count - min(len(cyclone), count * 3 // 4)]]))
    x, y = data.source("val").read(pick, 0)
    plots.gallery(path, x, y, run_network(net, x), data.config.data.variables, threshold)
