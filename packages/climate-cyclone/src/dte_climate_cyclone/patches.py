"""Patches: which ones (cyclone, adjacent, random), their labels, and reading them lazily.

Sampling follows the CMCC scheme: for every cyclone centre at a time step, patches holding it
at a random place (`cyclone`); patches one patch width away in the eight directions
(`adjacent`: the cyclone's outer circulation without its centre, the hard negatives); and
patches anywhere (`random`). A patch's target is a heat map of every cyclone centre in or near
it (heatmap.targets; row 0 is the southern edge); the index also keeps the strongest centre
(presence, row, column) for counting and figures. Patches holding only centres weaker than
`data.min_wind_kt` are left out (they are neither cyclones nor background).

Reading: patches are sorted by time and read one stored time chunk at a time through
xarray/dask (never the whole field); an epoch shuffles chunks, then patches within groups of
`data.shuffle_chunks` chunks, so each chunk is read once per epoch.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from dte_core.keras.task import Source
from dte_core.seeding import derive

from dte_climate_cyclone import heatmap
from dte_climate_cyclone.io import Fields
from dte_climate_cyclone.tracks import Centres

KINDS = ("cyclone", "adjacent", "random")
NEIGHBOURS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


@dataclass
class PatchIndex:
    """One entry per patch: time index, lower-left cell, kind and label."""

    t: np.ndarray
    r0: np.ndarray
    c0: np.ndarray
    kind: np.ndarray
    present: np.ndarray
    row: np.ndarray     # centre row in the patch (cells), NaN without a cyclone
    col: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def subset(self, mask: np.ndarray) -> PatchIndex:
        return PatchIndex(*(getattr(self, k)[mask] for k in
                            ("t", "r0", "c0", "kind", "present", "row", "col")))

    def counts(self) -> dict[str, int]:
        out = {kind: int((self.kind == i).sum()) for i, kind in enumerate(KINDS)}
        out["with_cyclone"] = int(self.present.sum())
        return out


def sample(centres: Centres, times: range, shape: tuple[int, int], patch: int,
           min_wind: float, cyclone_patches: int, adjacent_patches: int, random_patches: int,
           seed: int) -> PatchIndex:
    """Patches at the time steps `times` of a grid of `shape`, sorted by time."""
    nlat, nlon = shape
    rng = np.random.default_rng(seed)
    margin = max(1, patch // 8)
    strong = centres.wind >= min_wind  # NaN (unknown) counts as weak
    by_time: dict[int, np.ndarray] = {}
    for i, t in enumerate(centres.t):
        by_time.setdefault(int(t), []).append(i)  # type: ignore[attr-defined]
    out: list[tuple] = []
    for t in times:
        here = np.array(by_time.get(t, []), dtype=int)
        candidates: list[tuple[int, int, int]] = []
        for i in here[strong[here]] if len(here) else []:
            row, col = centres.row[i], centres.col[i]
            first = None
            for _ in range(cyclone_patches):
                r0 = int(np.clip(np.floor(row + 0.5) - rng.integers(margin, patch - margin),
                                 0, nlat - patch))
                c0 = int(np.clip(np.floor(col + 0.5) - rng.integers(margin, patch - margin),
                                 0, nlon - patch))
                candidates.append((r0, c0, 0))
                first = first or (r0, c0)
            if adjacent_patches and first is None:
                first = (int(np.clip(round(row) - patch // 2, 0, nlat - patch)),
                         int(np.clip(round(col) - patch // 2, 0, nlon - patch)))
            inside = [(first[0] + dr * patch, first[1] + dc * patch) for dr, dc in NEIGHBOURS
                      if 0 <= first[0] + dr * patch <= nlat - patch
                      and 0 <= first[1] + dc * patch <= nlon - patch]
            for k in rng.permutation(len(inside))[:adjacent_patches]:
                candidates.append((*inside[k], 1))
        for _ in range(random_patches):
            candidates.append((int(rng.integers(0, nlat - patch + 1)),
                               int(rng.integers(0, nlon - patch + 1)), 2))
        for r0, c0, kind in candidates:
            label = _label(centres, here, strong, r0, c0, patch)
            if label is not None:
                out.append((t, r0, c0, kind, *label))
    if not out:
        empty = np.array([], dtype=np.int32)
        return PatchIndex(empty, empty, empty, empty.astype(np.int8),
                          *(np.array([], np.float32) for _ in range(3)))
    arr = np.array(out, dtype=np.float64)
    return PatchIndex(arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32),
                      arr[:, 2].astype(np.int32), arr[:, 3].astype(np.int8),
                      arr[:, 4].astype(np.float32), arr[:, 5].astype(np.float32),
                      arr[:, 6].astype(np.float32))


def _label(centres: Centres, here: np.ndarray, strong: np.ndarray, r0: int, c0: int,
           patch: int) -> tuple[float, float, float] | None:
    """(present, row, col) of the strongest centre in the patch; None if only weak ones."""
    if not len(here):
        return 0.0, np.nan, np.nan
    rows, cols = centres.row[here] - r0, centres.col[here] - c0
    inside = (rows >= -0.5) & (rows < patch - 0.5) & (cols >= -0.5) & (cols < patch - 0.5)
    if not inside.any():
        return 0.0, np.nan, np.nan
    good = inside & strong[here]
    if not good.any():
        return None
    best = np.flatnonzero(good)[np.argmax(np.nan_to_num(centres.wind[here][good]))]
    return 1.0, float(rows[best]), float(cols[best])


def augment(x: np.ndarray, y: np.ndarray, codes: np.ndarray, wind: tuple[int, int] | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Quarter turns (code % 4) then a west-east flip (code >= 4) of patches and their target
    maps (heatmap.CHANNELS).

    Rows point north and columns east, so a quarter turn (np.rot90: clockwise on a north-up
    map) moves (row, col) to (P-1-col, row): the sub-cell offset (dr, dc) becomes (-dc, dr),
    and the wind (u, v) turns into (v, -u); a flip mirrors the column, dc and u (a northern
    cyclone then turns like a southern one)."""
    x, y = x.copy(), y.copy()
    for code in np.unique(codes):
        sel = np.flatnonzero(codes == code)
        turns, flip = int(code) % 4, int(code) >= 4
        part, target = x[sel], y[sel]
        for _ in range(turns):
            part = np.rot90(part, 1, axes=(1, 2))
            target = np.rot90(target, 1, axes=(1, 2)).copy()
            target[..., 3], target[..., 4] = -target[..., 4], target[..., 3].copy()
            if wind is not None:
                u, v = part[..., wind[0]].copy(), part[..., wind[1]].copy()
                part[..., wind[0]], part[..., wind[1]] = v, -u
        if flip:
            part = part[:, :, ::-1]
            target = target[:, :, ::-1].copy()
            target[..., 4] = -target[..., 4]
            if wind is not None:
                part[..., wind[0]] = -part[..., wind[0]]
        x[sel], y[sel] = part, target
    return x, y


def centres_of(target: np.ndarray) -> np.ndarray:
    """(n, 2) centre positions (row, col in cells) marked in one patch's target map."""
    rows, cols = np.nonzero(target[..., 2] > 0.5)
    return np.stack([rows + target[rows, cols, 3], cols + target[rows, cols, 4]], axis=1)


class PatchSource(Source):
    """Patches of `index` read from `fields` a time chunk at a time, as (x, y) batches.

    x: (batch, P, P, channels) float32 in physical units (the network normalises);
    y: (batch, P, P, 5) float32 target maps of every centre in or near the patch
    (heatmap.targets: Gaussian heat, cell weight, nearest cell of a centre, its offset)."""

    def __init__(self, fields: Fields, index: PatchIndex, channels: list[str], patch: int,
                 centres: Centres, min_wind: float, sigma: float, augment: bool = False,
                 seed: int = 0, shuffle_chunks: int = 8,
                 fill: np.ndarray | None = None) -> None:
        self.fields, self.index, self.channels, self.patch = fields, index, channels, patch
        self.sigma = sigma
        strong = centres.wind >= min_wind  # NaN (unknown) counts as weak
        order = np.argsort(centres.t, kind="stable")
        bounds = np.searchsorted(centres.t[order], np.arange(len(fields.times) + 1))
        self.by_time = [(centres.row[order[a:b]], centres.col[order[a:b]], strong[order[a:b]])
                        for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self.augment, self.seed, self.shuffle_chunks = augment, seed, shuffle_chunks
        self.fill = fill
        self.chunk_time = max(1, fields.chunk_time)
        self.cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.cache_size = 2 * shuffle_chunks + 2
        self.wind = ((channels.index("uas"), channels.index("vas"))
                     if "uas" in channels and "vas" in channels else None)
        self._codes: tuple[int, np.ndarray] | None = None
        self.chunks_read = 0

    def __len__(self) -> int:
        return len(self.index)

    def order(self, epoch: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(derive(seed, "data", epoch))
        chunk_of = self.index.t // self.chunk_time
        chunks = rng.permutation(np.unique(chunk_of))
        parts = []
        for g in range(0, len(chunks), self.shuffle_chunks):
            members = np.flatnonzero(np.isin(chunk_of, chunks[g:g + self.shuffle_chunks]))
            parts.append(rng.permutation(members))
        return np.concatenate(parts) if parts else np.arange(0)

    def _chunk(self, chunk: int) -> np.ndarray:
        if chunk in self.cache:
            self.cache.move_to_end(chunk)
            return self.cache[chunk]
        start = chunk * self.chunk_time
        stop = min(start + self.chunk_time, len(self.fields.times))
        block = self.fields.read(start, stop, self.channels)
        if self.fill is not None:
            block = np.where(np.isnan(block), self.fill.astype(np.float32), block)
        self.cache[chunk] = block
        self.chunks_read += 1
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return block

    def read(self, indices: np.ndarray, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        indices = np.asarray(indices, dtype=np.int64)
        idx, p = self.index, self.patch
        x = np.empty((len(indices), p, p, len(self.channels)), dtype=np.float32)
        t = idx.t[indices]
        for k in np.argsort(t, kind="stable"):
            i = indices[k]
            chunk = int(t[k]) // self.chunk_time
            block = self._chunk(chunk)
            r0, c0 = idx.r0[i], idx.c0[i]
            x[k] = block[int(t[k]) - chunk * self.chunk_time, r0:r0 + p, c0:c0 + p]
        y = np.empty((len(indices), p, p, len(heatmap.CHANNELS)), dtype=np.float32)
        for k, i in enumerate(indices):
            rows, cols, strong = self.by_time[int(idx.t[i])]
            y[k] = heatmap.targets(rows - idx.r0[i], cols - idx.c0[i], strong, p, self.sigma)
        if self.augment:
            x, y = augment(x, y, self.codes(epoch)[indices], self.wind)
        return x, y

    def codes(self, epoch: int) -> np.ndarray:
        """The augmentation of every patch in `epoch` (keyed by seed and epoch)."""
        if self._codes is None or self._codes[0] != epoch:
            rng = np.random.default_rng(derive(self.seed, "augment", epoch))
            self._codes = (epoch, rng.integers(0, 8, size=len(self.index)))
        return self._codes[1]
