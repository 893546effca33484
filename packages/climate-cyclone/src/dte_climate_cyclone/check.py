"""`dte data check climate-cyclone PATH...`: what is in fields and track files, and how
training would read them (the same readers, the same configuration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import DteError, checking

from dte_climate_cyclone import calendars, io, tracks


def _is_tracks(path: Path) -> bool:
    from dte_climate_cyclone.prepare import _is_tracks as is_tracks

    return is_tracks(path)


def _span(var, label: str) -> str:
    dim = io._time_dim(var)
    if dim is None:
        return "no time axis"
    values = var[dim].values
    if not len(values):
        return "empty time axis"
    if not np.issubdtype(values.dtype, np.datetime64) and not hasattr(values.flat[0],
                                                                       "calendar"):
        return f"time not decoded as dates ({var[dim].attrs.get('units', 'no units')})"
    cal = calendars.calendar_of(values, var[dim].encoding.get("calendar"))
    elapsed = calendars.to_elapsed(values, cal)
    step = ""
    if len(elapsed) > 1:
        hours = float(np.median(np.diff(elapsed.astype(np.int64)))) / 3600
        step = f", every {hours:g} h"
    return (f"{len(values)} times {calendars.label(elapsed[0], cal)} to "
            f"{calendars.label(elapsed[-1], cal)}{step}, calendar {cal}")


def describe_file(path: Path) -> list[tuple[str, str]]:
    """Format, variables (dims, shape, units, chunks) and time span of one fields file."""
    engine, kind = io.engine_of(path)
    ds = io.open_one(path)
    lines = [(str(path), f"{kind} (read with {engine})")]
    for name, var in ds.data_vars.items():
        if str(name).endswith(("_bnds", "_bounds")) or var.ndim < 2:
            continue
        shape = " x ".join(f"{d}={n}" for d, n in var.sizes.items())
        chunks = ""
        if var.chunks:
            chunks = f", chunks {'x'.join(str(c[0]) for c in var.chunks)}"
        lines.append((f"  {name}", f"({shape}) [{var.attrs.get('units', 'no units')}]"
                      f"{chunks}; {_span(var, path.name)}"))
    return lines


def describe_tracks(path: Path, config: Any) -> tuple[list[tuple[str, str]], Any]:
    data = config.data
    points = tracks.read(path, data.tracks_calendar, data.track_columns)
    lines = [(str(path), "cyclone tracks")]
    lines.append(("  points", f"{len(points)} of {len(np.unique(points.sid))} storms"))
    if len(points):
        lines.append(("  time", f"{calendars.label(points.time.min(), points.calendar)} to "
                                f"{calendars.label(points.time.max(), points.calendar)}, "
                                f"calendar {points.calendar}"))
        lines.append(("  area", f"lat {points.lat.min():.1f}..{points.lat.max():.1f}, lon "
                                f"{points.lon.min():.1f}..{points.lon.max():.1f}"))
        known = int(np.isfinite(points.wind).sum())
        lines.append(("  intensity", f"{known} points with WMO_WIND/USA_WIND [kt]"
                      + (f", max {np.nanmax(points.wind):g}" if known else "")))
    lines.append(("  columns", ", ".join(["SID", "ISO_TIME", "LAT", "LON", *points.columns])))
    return lines, points


def check(config: Any, paths: list[Path]) -> list[tuple[str, str]]:
    data = config.data
    lines: list[tuple[str, str]] = []
    with checking(lines):
        items = io.expand(list(paths))
        track_files = [p for p in items if _is_tracks(p)]
        field_files = [p for p in items if p not in track_files]
        for path in paths:  # a dataset folder of dte brings its tracks
            meta = Path(path) / "dataset.json"
            if meta.is_file():
                import json

                track_files.append(Path(path) / json.loads(meta.read_text()).get(
                    "tracks", "tracks.csv"))
        if data.tracks is not None and not track_files:
            track_files = [Path(data.tracks)]
        if len(track_files) > 1:
            raise DteError(f"More than one tracks file ({', '.join(map(str, track_files))}); "
                           f"training reads one (data.tracks).")
        for path in field_files:
            lines += describe_file(path)
        points = None
        for path in track_files:
            found, points = describe_tracks(path, config)
            lines += found
        if not field_files:
            lines.append(("dte reads", "tracks only: give the fields too to check them "
                                       "together"))
            return lines
        fields = io.open_fields(field_files, data.variables, data.mapping, data.time_range)
        for name in data.variables:
            lines.append((f"input {name}", fields.origin[name]))
        grid = fields.grid
        lines.append(("grid", f"{grid.shape[0]} x {grid.shape[1]} cells, lat "
                              f"{grid.lat[0]:g}..{grid.lat[-1]:g}, lon {grid.lon[0]:g}.."
                              f"{grid.lon[-1]:g} ({grid.lon_convention})"))
        lines.append(("time", f"{len(fields.times)} steps {fields.label(0)} to "
                              f"{fields.label(-1)}, calendar {fields.calendar}"
                              + (f" (data.time_range {', '.join(data.time_range)})"
                                 if data.time_range else "")))
        if min(grid.shape) < data.patch_size:
            raise DteError(f"The grid ({grid.shape[0]} x {grid.shape[1]}) is smaller than one "
                           f"patch (data.patch_size={data.patch_size}); use larger fields or "
                           f"--set data.patch_size=N.")
        if points is None:
            lines.append(("dte reads", "these fields; training also needs the tracks: add the "
                                       "tracks file, or --set data.tracks=FILE"))
            return lines
        points = tracks.read_for(track_files[0], fields, data.tracks_calendar, config)
        centres = tracks.centres_on(points, fields.times, fields.grid)
        tracks.check_overlap(points, centres, fields.times, fields.grid, track_files[0])
        strong = int((np.nan_to_num(centres.wind) >= data.min_wind_kt).sum())
        lines.append(("centres", f"{len(centres)} cyclone positions inside the fields "
                                 f"({strong} at least {data.min_wind_kt:g} kt, the ones to "
                                 f"locate)"))
        lines.append(("dte reads", f"yes: {', '.join(data.variables)} lazily (dask), "
                                   f"{len(fields.times)} time steps, patches of "
                                   f"{data.patch_size} x {data.patch_size}; train with "
                                   + _how(track_files[0], paths)))
        return lines


def _how(track: Path, given: list[Path]) -> str:
    given_fields = [str(p) for p in given if Path(p) != track]
    key = (f"--set data.path={given_fields[0]}" if len(given_fields) == 1 and
           Path(given_fields[0]).exists() else f"--set \"data.files={','.join(given_fields)}\"")
    return f"`dte train climate-cyclone {key} --set data.tracks={track}`"
