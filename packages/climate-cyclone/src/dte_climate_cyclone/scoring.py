"""Held-out scores of whole fields: centres matched to the tracks, and tracks to tracks.

Centres: at each time step, detected and true centres (at least data.min_wind_kt) are paired
one to one by the shortest total great-circle distance (Hungarian), pairs farther apart than
`evaluate.match_km` not allowed. A paired detection is a true positive; an unpaired one a
false positive unless it lies within match_km of a weaker (ignored) centre; an unpaired true
centre a miss. Centre errors are over ALL matched cyclones and by category of the true centre:
  border    within P/8 cells of the field's edge,
  multiple  another cyclone within one patch width (P cells) at the same time,
  single    neither.
Tracks: the true tracks are the storms with at least `evaluate.min_track_steps` held-out
cyclone points. A true track is hit when one detected track holds at least half of its
points (matched as above); its position error is the mean distance over those points. A
detected track is false when fewer than half of its centres match any storm (weak included).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dte_climate_cyclone.grid import great_circle_km

CATEGORIES = ("single", "multiple", "border")


def pairs(lat_d, lon_d, lat_t, lon_t, radius_km: float) -> list[tuple[int, int, float]]:
    """(detection, truth, km) pairs: one-to-one, shortest total distance, within radius."""
    from scipy.optimize import linear_sum_assignment

    if not len(lat_d) or not len(lat_t):
        return []
    dist = great_circle_km(np.asarray(lat_d)[:, None], np.asarray(lon_d)[:, None],
                           np.asarray(lat_t)[None, :], np.asarray(lon_t)[None, :])
    rows, cols = linear_sum_assignment(np.where(dist <= radius_km, dist, 1e9))
    return [(int(a), int(b), float(dist[a, b])) for a, b in zip(rows, cols, strict=True)
            if dist[a, b] <= radius_km]


def categories(truth: Any, grid_shape: tuple[int, int], patch: int) -> dict[str, np.ndarray]:
    """Masks over true centres: single, multiple, border."""
    nlat, nlon = grid_shape
    edge = np.minimum.reduce([truth.row + 0.5, nlat - 0.5 - truth.row, truth.col + 0.5,
                              nlon - 0.5 - truth.col]) if len(truth) else np.zeros(0)
    border = edge < patch / 8
    multiple = np.zeros(len(truth), bool)
    for k in range(len(truth)):
        same = np.flatnonzero(truth.t == truth.t[k])
        d = np.hypot(truth.row[same] - truth.row[k], truth.col[same] - truth.col[k])
        multiple[k] = ((d > 0) & (d < patch)).any()
    return {"single": ~border & ~multiple, "multiple": multiple, "border": border}


def match(found: dict[str, np.ndarray], truth: Any, weak: Any, times: list[int],
          radius_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per detection: the true centre it matches (-1: none), whether it is ignored (near a
    weak centre); per true centre: its distance to the matching detection (NaN: missed)."""
    truth_of = np.full(len(found["t"]), -1, dtype=np.int64)
    ignored = np.zeros(len(found["t"]), bool)
    err = np.full(len(truth), np.nan)
    for t in times:
        d = np.flatnonzero(found["t"] == t)
        s = np.flatnonzero(truth.t == t)
        for a, b, km in pairs(found["lat"][d], found["lon"][d], truth.lat[s], truth.lon[s],
                              radius_km):
            truth_of[d[a]] = s[b]
            err[s[b]] = km
        w = np.flatnonzero(weak.t == t)
        free = d[truth_of[d] < 0]
        if len(free) and len(w):
            dist = great_circle_km(found["lat"][free][:, None], found["lon"][free][:, None],
                                   weak.lat[w][None, :], weak.lon[w][None, :])
            ignored[free] = (dist <= radius_km).any(axis=1)
    return truth_of, ignored, err


def centre_scores(truth_of: np.ndarray, ignored: np.ndarray, err: np.ndarray,
                  cats: dict[str, np.ndarray]) -> dict[str, float]:
    """Precision, recall, F1 and centre errors (km) of matched detections."""
    tp = float((truth_of >= 0).sum())
    fp = float(((truth_of < 0) & ~ignored).sum())
    fn = float(np.isnan(err).sum())
    hit = ~np.isnan(err)
    out = {"precision": tp / (tp + fp) if tp + fp else 0.0,
           "recall": tp / (tp + fn) if tp + fn else 0.0,
           "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
           "centre_err_km": float(err[hit].mean()) if hit.any() else float("nan"),
           "centre_median_km": float(np.median(err[hit])) if hit.any() else float("nan"),
           "false_alarms": fp, "misses": fn}
    for name, mask in cats.items():
        out[f"recall_{name}"] = float(hit[mask].mean()) if mask.any() else float("nan")
        sel = mask & hit
        out[f"centre_err_km_{name}"] = float(err[sel].mean()) if sel.any() else float("nan")
    return out


def track_scores(found: dict[str, np.ndarray], track: np.ndarray, truth_of: np.ndarray,
                 ignored: np.ndarray, truth: Any, min_steps: int) -> dict[str, float]:
    """Track-level hit rate, false tracks and the position error along hit tracks (km)."""
    sids, counts = np.unique(truth.sid, return_counts=True) if len(truth) else ([], [])
    true_tracks = [s for s, n in zip(sids, counts, strict=True) if n >= min_steps]
    hits, errors = 0, []
    sid_of = np.where(truth_of >= 0, truth.sid[np.maximum(truth_of, 0)] if len(truth) else "",
                      "")
    for sid in true_tracks:
        points = int((truth.sid == sid).sum())
        mine = (sid_of == sid) & (track >= 0)
        if not mine.any():
            continue
        ids, n = np.unique(track[mine], return_counts=True)
        best = ids[np.argmax(n)]
        if n.max() >= 0.5 * points:
            hits += 1
            on = mine & (track == best)
            errors.append(float(np.mean(great_circle_km(
                found["lat"][on], found["lon"][on], truth.lat[truth_of[on]],
                truth.lon[truth_of[on]]))))
    detected = np.unique(track[track >= 0])
    false = sum(1 for k in detected
                if ((truth_of >= 0) | ignored)[track == k].mean() < 0.5)
    return {"tracks": float(len(detected)), "true_tracks": float(len(true_tracks)),
            "track_hit_rate": hits / len(true_tracks) if true_tracks else float("nan"),
            "false_tracks": float(false),
            "track_err_km": float(np.mean(errors)) if errors else float("nan")}
