"""Tracks from centres: link each time step's centres to the previous step's.

Between consecutive time steps, centres are paired by the shortest total distance
(Hungarian assignment) among pairs no farther apart than `max_speed_kmh` x the hours between
the steps; an unpaired centre starts a new chain. Chains of fewer than `min_steps` time steps
are no track (isolated false alarms rarely persist), their centres get track id -1.
"""

from __future__ import annotations

import numpy as np

from dte_climate_cyclone.grid import great_circle_km


def link(t: np.ndarray, lat: np.ndarray, lon: np.ndarray, hours: np.ndarray,
         max_speed_kmh: float, min_steps: int) -> np.ndarray:
    """Track id (0, 1, ... in order of first appearance; -1: none) of every centre.

    t: time index of each centre; hours: the time (hours) of every time index."""
    from scipy.optimize import linear_sum_assignment

    t = np.asarray(t, dtype=np.int64)
    chain = np.full(len(t), -1, dtype=np.int64)
    if not len(t):
        return chain
    order = np.argsort(t, kind="stable")
    steps = np.unique(t)
    next_id = 0
    previous = np.array([], dtype=np.int64)
    for step in steps:
        here = order[t[order] == step]
        if len(previous) and step - t[previous[0]] == 1:
            gate = max_speed_kmh * abs(hours[step] - hours[step - 1])
            dist = great_circle_km(lat[previous][:, None], lon[previous][:, None],
                                   lat[here][None, :], lon[here][None, :])
            cost = np.where(dist <= gate, dist, 1e12)
            rows, cols = linear_sum_assignment(cost)
            for a, b in zip(rows, cols, strict=True):
                if dist[a, b] <= gate:
                    chain[here[b]] = chain[previous[a]]
        for k in here:
            if chain[k] < 0:
                chain[k] = next_id
                next_id += 1
        previous = here
    ids, counts = np.unique(chain, return_counts=True)
    long = set(ids[counts >= min_steps].tolist())
    renumber: dict[int, int] = {}
    out = np.full(len(t), -1, dtype=np.int64)
    for k in order:
        if int(chain[k]) in long:
            out[k] = renumber.setdefault(int(chain[k]), len(renumber))
    return out
