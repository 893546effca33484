"""`dte data prepare climate-cyclone --from FIELDS... --from TRACKS --out DIR`: real data in.

Fields (CMIP6 or ERA5 netCDF/zarr files, one per variable or together) are mapped to the
CMIP6 names, put on (time, lat, lon) with ascending latitudes and longitudes, checked (missing
variables, dimensions, time axes, grids) and streamed into a chunked zarr v3 store; the tracks
(IBTrACS CSV or netCDF) that touch the fields' domain and period are kept in the IBTrACS CSV
layout; statistics are computed once. The result trains like a generated dataset:
`--set data.path=DIR`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import ConfigError

from dte_climate_cyclone import io, tracks


def _is_tracks(path: Path) -> bool:
    if path.suffix.lower() == ".csv":
        return True
    if path.suffix.lower() in (".nc", ".nc4") and path.is_file():
        import xarray as xr

        try:
            with xr.open_dataset(path, engine=io.engine_of(path)[0], decode_times=False) as ds:
                return "sid" in ds.variables
        except (OSError, ValueError, io.FieldsError):
            return False
    return False


def prepare(config: Any, sources: list[Path], out: Path) -> dict[str, Any]:
    import xarray as xr

    data = config.data
    track_files = [p for p in sources if _is_tracks(p)]
    field_files = [p for p in sources if p not in track_files]
    if len(track_files) != 1 or not field_files:
        raise ConfigError(
            f"Give the fields (netCDF/zarr, one or more --from) and exactly one tracks file "
            f"(IBTrACS CSV or netCDF, --from); got fields {[str(p) for p in field_files]} and "
            f"tracks {[str(p) for p in track_files]}.")
    fields = io.open_fields(field_files, data.variables, data.mapping, data.time_range)
    points = tracks.read_for(track_files[0], fields, data.tracks_calendar, config)
    centres = tracks.centres_on(points, fields.times, fields.grid)
    tracks.check_overlap(points, centres, fields.times, fields.grid, track_files[0])
    arrays = {}
    for name in data.variables:
        var = fields.arrays[name].astype(np.float32).chunk({"time": data.chunk_time,
                                                            "lat": -1, "lon": -1})
        var.attrs = {"units": "Pa" if name == "psl" else "K" if name.startswith("ta")
                     else "m s-1", "source": fields.origin[name]}
        arrays[name] = var.drop_vars([c for c in var.coords if c not in ("time", "lat", "lon")])
    ds = xr.Dataset(arrays, attrs={"Conventions": "CF-1.8",
                                   "source": "dte data prepare climate-cyclone from "
                                             + ", ".join(p.name for p in field_files)})
    for name in ds.data_vars:
        ds[name].encoding = {}
    ds.to_zarr(out / "fields.zarr", mode="w-", zarr_format=3, consolidated=False)
    kept = points.subset(np.isin(points.sid, np.unique(centres.sid)))
    columns, rows = kept.rows()  # every column the tracks file has, as it has it
    tracks.write_csv(rows, out / "tracks.csv", columns, kept.units)
    stored = io.open_fields(out / "fields.zarr", data.variables,
                            data.mapping.model_copy(update={n: n for n in data.variables}))
    stats = io.compute_stats(stored, data.variables)
    (out / "stats.json").write_text(json.dumps({"fingerprint": io.fingerprint(stored),
                                                "variables": stats}, indent=2))
    grid = stored.grid
    (out / "dataset.json").write_text(json.dumps({
        "format": "zarr", "fields": "fields.zarr", "tracks": "tracks.csv",
        "calendar": stored.calendar, "tracks_calendar": points.calendar,
        "variables": data.variables, "origin": fields.origin,
        "grid": {"lat": [float(grid.lat[0]), float(grid.lat[-1])],
                 "lon": [float(grid.lon[0]), float(grid.lon[-1])], "shape": list(grid.shape)},
        "times": len(stored.times), "first": str(stored.times[0]), "last": str(stored.times[-1]),
        "cyclones": int(len(np.unique(centres.sid))), "track_points": len(rows)}, indent=2))
    return {"fields": fields.origin, "times": len(stored.times), "grid": list(grid.shape),
            "cyclones": int(len(np.unique(centres.sid))), "centres": len(centres),
            "nan": {n: stats[n]["nan"] for n in data.variables}}
