"""Where a run's data is, and everything the task needs from it, checked before training.

`data.path` null: a small dataset is generated once into `.dte/data/climate-cyclone/<key>/`
(key: the generator settings) under a file lock, so parallel workers and later runs reuse it.
A dataset folder from `dte data generate|prepare` brings its tracks and statistics; real
fields elsewhere need `data.tracks`, and their statistics are computed once and cached.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from dte_core import paths
from dte_core.errors import DteError

from dte_climate_cyclone import io, tracks
from dte_climate_cyclone.patches import PatchIndex, PatchSource, sample
from dte_climate_cyclone.tracks import Centres

#: changes whenever the generator's physics change, so cached default datasets are rebuilt
GENERATOR_VERSION = 2
GENERATOR_KEYS = {"years", "months", "step_hours", "region", "resolution", "storms_per_month",
                  "lows_per_month", "format", "chunk_time", "seed"}


def say(text: str) -> None:
    """A note for the user (rank 0 only), on stderr."""
    from dte_core.env import detect

    if detect().is_global_zero:
        print(f"[climate-cyclone] {text}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    return paths.state_dir() / "data" / "climate-cyclone"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def default_dataset(config: Any) -> Path:
    """The generated dataset for data.path null: made on first use (by dte_core.datacache:
    one builder under a lock, published when complete), reused afterwards."""
    from dte_core.datacache import dataset

    from dte_climate_cyclone.generate import generate

    settings = {**config.data.model_dump(mode="json", include=GENERATOR_KEYS),
                "generator": GENERATOR_VERSION}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    target = cache_root() / f"generated-{key}"
    if (target / "dataset.json").is_file():
        say(f"data.path is null: using the generated dataset in {target}")
        return target

    def build(tmp: Path) -> dict[str, Any]:
        say(f"data.path is null: generating a small dataset into {target} (reused by later "
            f"runs; `dte data generate climate-cyclone --out DIR` makes others)")
        summary = generate(config, tmp)
        say(f"generated {summary['times']} time steps, {summary['cyclones']} cyclones, "
            f"{summary['megabytes']} MB")
        return summary

    return dataset(target, build, settings, label="climate-cyclone")


@dataclass
class Located:
    fields: Path | list[Path]
    tracks: Path
    stats: Path
    tracks_calendar: str | None = None


def locate(config: Any) -> Located:
    """Fields, tracks and the statistics file of the configured data."""
    data = config.data
    if data.files:
        files = io.expand(list(data.files))
        digest = hashlib.sha256("\n".join(map(str, files)).encode()).hexdigest()[:12]
        return Located(files, Path(data.tracks).resolve(),
                       cache_root() / "stats" / f"{digest}.json", data.tracks_calendar)
    root = data.path if data.path is not None else default_dataset(config)
    root = Path(root).resolve()
    if root.is_dir() and (root / "dataset.json").is_file():
        meta = json.loads((root / "dataset.json").read_text())
        track_file = data.tracks or root / meta.get("tracks", "tracks.csv")
        return Located(root / meta["fields"], Path(track_file).resolve(), root / "stats.json",
                       data.tracks_calendar or (meta.get("tracks_calendar")
                                                if data.tracks is None else None))
    if data.tracks is None:
        raise DteError(f"data.path '{root}' is not a dataset folder of dte (no dataset.json), "
                       f"so the cyclone tracks must be given: --set data.tracks=FILE (IBTrACS "
                       f"CSV or netCDF).")
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return Located(root, Path(data.tracks).resolve(), cache_root() / "stats" / f"{digest}.json",
                   data.tracks_calendar)


def statistics(fields: io.Fields, names: list[str], path: Path,
               sources: Path | list[Path]) -> dict[str, Any]:
    """Per-variable statistics (with their NaN counts): read from `path` when they match the
    fields and the files behind them (`sources`), else computed once (chunk by chunk) and
    stored there."""
    fingerprint = {**io.fingerprint(fields), "content": io.content(sources)}
    with locked(path.parent / ".stats.lock"):
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            stored = {}
        variables = stored.get("variables", {})
        same = all(stored.get("fingerprint", {}).get(key) == fingerprint[key]
                   for key in ("shape", "time", "content"))
        missing = [n for n in names if n not in variables]
        if not same or missing:
            say(f"computing normalisation statistics of {', '.join(names)} (once)")
            variables = {**(variables if same else {}), **io.compute_stats(fields, names)}
            tmp = path.with_name(f".{path.name}.tmp")
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"fingerprint": fingerprint, "variables": variables},
                                      indent=2))
            tmp.replace(path)
    return variables


def channel_stats(stats: dict[str, Any], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per channel; the wind components share one scale and mean zero, so quarter
    turns and flips keep them normalised."""
    mean = np.array([stats[n]["mean"] for n in names], dtype=np.float32)
    std = np.array([max(stats[n]["std"], 1e-6) for n in names], dtype=np.float32)
    if "uas" in names and "vas" in names:
        iu, iv = names.index("uas"), names.index("vas")
        scale = float(np.sqrt((stats["uas"]["mean_square"] + stats["vas"]["mean_square"]) / 2))
        mean[[iu, iv]] = 0.0
        std[[iu, iv]] = max(scale, 1e-6)
    return mean, std


@dataclass
class CycloneData:
    """Fields, centres, statistics and the train/validation patches of a configuration."""

    config: Any
    fields: io.Fields
    centres: Centres
    stats: dict[str, Any]
    train: PatchIndex
    val: PatchIndex
    split: int            # first time index held out

    @classmethod
    def open(cls, config: Any) -> CycloneData:
        data = config.data
        where = locate(config)
        fields = io.open_fields(where.fields, data.variables, data.mapping, data.time_range)
        nlat, nlon = fields.grid.shape
        if min(nlat, nlon) < data.patch_size:
            raise DteError(f"The fields' grid is {nlat} x {nlon} cells, smaller than one patch "
                           f"(data.patch_size={data.patch_size}). Use larger fields or a smaller "
                           f"--set data.patch_size.")
        if len(fields.times) < 2:
            raise DteError(f"The fields '{where.fields}' have {len(fields.times)} time step(s); "
                           f"training and validation need at least 2.")
        points = tracks.read_for(where.tracks, fields, where.tracks_calendar, config)
        centres = tracks.centres_on(points, fields.times, fields.grid)
        tracks.check_overlap(points, centres, fields.times, fields.grid, where.tracks)
        stats = statistics(fields, data.variables, where.stats, where.fields)
        with_nan = {n: stats[n]["nan"] for n in data.variables if stats[n]["nan"]}
        if with_nan and data.nan == "error":
            name = next(iter(with_nan))
            raise DteError(
                f"The fields have missing values (NaN): "
                f"{', '.join(f'{n}: {c}' for n, c in with_nan.items())}; the first of '{name}' "
                f"({fields.origin[name]}) is at {io.first_nan(fields, name)}. A land mask or "
                f"missing data? Patches must be complete: fill them beforehand, or let dte fill "
                f"them with each variable's mean: --set data.nan=fill.")
        split = int(round(len(fields.times) * (1 - data.val_fraction)))
        split = min(max(split, 1), len(fields.times) - 1)
        common = (fields.grid.shape, data.patch_size, data.min_wind_kt, data.cyclone_patches,
                  data.adjacent_patches, data.random_patches)
        train = sample(centres, range(0, split), *common, seed=data.seed * 7919 + 1)
        val = sample(centres, range(split, len(fields.times)), *common,
                     seed=data.seed * 7919 + 2)
        return cls(config, fields, centres, stats, train, val, split)

    def source(self, split: str, augment: bool = False) -> PatchSource:
        data = self.config.data
        index = self.train if split == "train" else self.val
        fill = None
        if data.nan == "fill":
            fill = np.array([self.stats[n]["mean"] for n in data.variables], np.float32)
        return PatchSource(self.fields, index, data.variables, data.patch_size, self.centres,
                           data.min_wind_kt, self.config.loss.sigma_cells,
                           augment=augment and data.augment, seed=data.seed,
                           shuffle_chunks=data.shuffle_chunks, fill=fill)

    def normalisation(self) -> tuple[np.ndarray, np.ndarray]:
        return channel_stats(self.stats, self.config.data.variables)

    def summary(self) -> dict[str, Any]:
        return {"times": len(self.fields.times),
                "held_out_from": self.fields.label(self.split),
                "calendar": self.fields.calendar,
                "grid": list(self.fields.grid.shape), "centres": len(self.centres),
                "train": self.train.counts(), "val": self.val.counts()}
