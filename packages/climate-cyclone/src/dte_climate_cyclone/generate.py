"""`dte data generate climate-cyclone`: fields, IBTrACS tracks and statistics in one folder.

  fields.zarr/   zarr v3, or fields.nc (netCDF4 via h5netcdf): psl, sfcWind, uas, vas, ta500,
                 ta300 on (time, lat, lon), chunked by `data.chunk_time` time steps, CF metadata
  tracks.csv     the cyclones in the IBTrACS v04 CSV layout (and tracks.nc for netCDF)
  stats.json     mean and standard deviation of each variable (the network's normalisation)
  dataset.json   what was generated: generator settings, grid, times, counts
The fields are computed a chunk at a time by dask and streamed to storage, so the size of a
dataset is limited by the disk, not by memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import ConfigError

from dte_climate_cyclone import io, tracks
from dte_climate_cyclone.fields import VARIABLES, FieldModel
from dte_climate_cyclone.grid import Grid
from dte_climate_cyclone.storms import draw_systems

FIELD_FILES = {"zarr": "fields.zarr", "netcdf": "fields.nc"}


@dataclass
class Period:
    """A run of consecutive months of one year."""

    start: np.datetime64
    steps: int
    model: FieldModel | None = None


def periods(years: list[int], months: list[int], step_hours: int) -> list[Period]:
    """Consecutive months of each year as one period each."""
    runs: list[list[int]] = []
    for month in months:
        if runs and month == runs[-1][-1] + 1:
            runs[-1].append(month)
        else:
            runs.append([month])
    out = []
    for year in years:
        for run in runs:
            start = np.datetime64(f"{year}-{run[0]:02d}-01T00:00:00", "s")
            end_month = run[-1] + 1
            end = np.datetime64(f"{year + (end_month > 12)}-{(end_month - 1) % 12 + 1:02d}-01", "s")
            out.append(Period(start, int((end - start) / np.timedelta64(step_hours, "h"))))
    return out


def generate(config: Any, out: Path) -> dict[str, Any]:
    """Write a dataset into the empty folder `out`; returns a summary for the console."""
    import dask
    import dask.array as darr
    import xarray as xr

    data = config.data
    bounds = data.bounds
    grid = Grid.regular(bounds, data.resolution)
    if min(grid.shape) < data.patch_size:
        raise ConfigError(f"data.region {data.region} at data.resolution={data.resolution} gives a "
                         f"{grid.shape[0]} x {grid.shape[1]} grid, smaller than data.patch_size="
                         f"{data.patch_size}. Choose a larger region or a finer resolution.")
    runs = periods(data.years, data.months, data.step_hours)
    rows: list[dict] = []
    steps: list[tuple[int, float]] = []  # (period, hour) of every time step
    times: list[np.ndarray] = []
    for p, period in enumerate(runs):
        hours = period.steps * data.step_hours
        systems = draw_systems(data.seed * 1000 + p, bounds, hours, data.storms_per_month,
                               data.lows_per_month)
        period.model = FieldModel(grid, systems, data.seed * 1000 + p)
        rows += tracks.table(systems, period.start, hours, bounds)
        steps += [(p, k * data.step_hours) for k in range(period.steps)]
        times.append(period.start + np.arange(period.steps) * np.timedelta64(data.step_hours, "h"))
    time = np.concatenate(times).astype("datetime64[ns]")
    names = list(VARIABLES)

    def block(start: int, stop: int) -> np.ndarray:
        out_block = np.empty((len(names), stop - start, *grid.shape), dtype=np.float32)
        for k, index in enumerate(range(start, stop)):
            p, hour = steps[index]
            values = runs[p].model.at(hour, index)
            for v, name in enumerate(names):
                out_block[v, k] = values[name]
        return out_block

    chunk = data.chunk_time
    pieces = []
    for start in range(0, len(steps), chunk):
        stop = min(start + chunk, len(steps))
        pieces.append(darr.from_delayed(dask.delayed(block)(start, stop),
                                        (len(names), stop - start, *grid.shape), np.float32))
    stacked = darr.concatenate(pieces, axis=1)
    ds = xr.Dataset(
        {name: (("time", "lat", "lon"), stacked[v], VARIABLES[name])
         for v, name in enumerate(names)},
        coords={"time": ("time", time, {"standard_name": "time", "axis": "T"}),
                "lat": ("lat", grid.lat, {"standard_name": "latitude",
                                          "units": "degrees_north", "axis": "Y"}),
                "lon": ("lon", grid.lon, {"standard_name": "longitude",
                                          "units": "degrees_east", "axis": "X"})},
        attrs={"Conventions": "CF-1.8", "title": "Synthetic tropical-cyclone fields (dte)",
               "source": "dte-climate-cyclone generator: zonal climate, planetary waves, "
                         "mid-latitude lows with fronts, tropical disturbances, Holland (1980) "
                         "cyclones with warm cores",
               "frequency": f"{data.step_hours}hr", "region": data.region,
               "history": f"{datetime.now(UTC).isoformat(timespec='seconds')} dte data "
                          f"generate climate-cyclone"})
    time_encoding = {"units": f"hours since {data.years[0]}-01-01 00:00:00",
                     "calendar": "proleptic_gregorian", "dtype": "float64"}
    target = out / FIELD_FILES[data.format]
    shape = (chunk, *grid.shape)
    if data.format == "zarr":
        encoding = {name: {"chunks": shape} for name in names}
        ds.to_zarr(target, mode="w-", zarr_format=3, consolidated=False,
                   encoding={**encoding, "time": time_encoding})
    else:
        encoding = {name: {"chunksizes": shape, "zlib": True, "complevel": 4} for name in names}
        ds.to_netcdf(target, engine="h5netcdf", encoding={**encoding, "time": time_encoding})
    tracks.write_csv(rows, out / "tracks.csv")
    files = [target.name, "tracks.csv"]
    if data.format == "netcdf":
        tracks.write_netcdf(rows, out / "tracks.nc")
        files.append("tracks.nc")
    fields = io.open_fields(out / target.name, names, config.data.mapping.model_copy(
        update={n: n for n in names}))
    stats = io.compute_stats(fields, names)
    (out / "stats.json").write_text(json.dumps(
        {"fingerprint": io.fingerprint(fields), "variables": stats}, indent=2))
    cyclones = sorted({r["SID"] for r in rows})
    description = {
        "format": data.format, "fields": target.name, "tracks": "tracks.csv",
        "variables": names, "grid": {"lat": [float(grid.lat[0]), float(grid.lat[-1])],
                                     "lon": [float(grid.lon[0]), float(grid.lon[-1])],
                                     "shape": list(grid.shape), "resolution": data.resolution},
        "times": len(time), "first": str(time[0])[:19], "last": str(time[-1])[:19],
        "cyclones": len(cyclones), "track_points": len(rows),
        "generator": data.model_dump(mode="json", include={
            "years", "months", "step_hours", "region", "resolution", "storms_per_month",
            "lows_per_month", "format", "chunk_time", "seed"}),
    }
    (out / "dataset.json").write_text(json.dumps(description, indent=2))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"files": files + ["stats.json", "dataset.json"], "times": len(time),
            "grid": f"{grid.shape[0]} x {grid.shape[1]} at {data.resolution} deg",
            "cyclones": len(cyclones), "track_points": len(rows),
            "megabytes": round(size / 1e6, 1)}
