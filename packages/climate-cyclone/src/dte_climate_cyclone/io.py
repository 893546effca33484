"""Gridded fields in through xarray: zarr or netCDF, CMIP6 or ERA5 names, any lon/lat order.

Every variable becomes a lazy (dask) DataArray with dimensions (time, lat, lon), latitudes
ascending and longitudes ascending in the file's own convention (0..360 or -180..180); nothing
is read until a block of time steps is asked for. Problems are reported as one paragraph that
names the file, what it has and the setting that fixes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from dte_core.errors import DteError

from dte_climate_cyclone.grid import Grid

if TYPE_CHECKING:
    import xarray as xr

    from dte_climate_cyclone.config import VariableMapping

ALIASES: dict[str, tuple[str, ...]] = {
    "psl": ("psl", "msl", "slp", "mslp", "MSL", "PSL"),
    "sfcWind": ("sfcWind", "fg10", "i10fg", "si10", "wsgsmax", "ws10"),
    "uas": ("uas", "u10", "U10"),
    "vas": ("vas", "v10", "V10"),
    "ta500": ("ta500", "t500"),
    "ta300": ("ta300", "t300"),
}
#: temperature on pressure levels (CMIP6 ta on plev [Pa]; ERA5 t on level/pressure_level [hPa])
LEVEL_VARIABLES = ("ta", "t", "air", "T")
LEVEL_DIMS = ("plev", "level", "pressure_level", "isobaricInhPa", "lev", "pressure")
TIME_DIMS = ("time", "valid_time", "Time", "date")
LAT_DIMS = ("lat", "latitude", "Latitude", "LAT", "nav_lat")
LON_DIMS = ("lon", "longitude", "Longitude", "LON", "nav_lon")


class FieldsError(DteError):
    """Fields that cannot be used as they are; the message names the fix."""


@dataclass
class Fields:
    """Lazy (time, lat, lon) arrays of the input variables on one grid and time axis."""

    arrays: dict[str, xr.DataArray]
    grid: Grid
    times: np.ndarray          # datetime64[s], elapsed in `calendar` (see calendars.py)
    origin: dict[str, str]     # variable -> "msl in era5.nc"
    chunk_time: int            # time steps per stored chunk (reads are aligned to it)
    calendar: str = "standard"  # CF calendar of the time axis (canonical name)

    def label(self, t: int) -> str:
        """Time step `t` as 'YYYY-MM-DD HH:MM:SS' on the fields' own calendar."""
        from dte_climate_cyclone import calendars

        return calendars.label(self.times[t], self.calendar)

    def read(self, start: int, stop: int, names: list[str]) -> np.ndarray:
        """Time steps [start, stop) of `names` as one (time, lat, lon, channel) float32 array."""
        import dask

        blocks = dask.compute(*[self.arrays[n].data[start:stop] for n in names])
        return np.stack([np.asarray(b, dtype=np.float32) for b in blocks], axis=-1)


def fields_path(path: Path) -> Path:
    """The fields inside a dataset folder written by dte, else `path` itself."""
    meta = path / "dataset.json"
    if path.is_dir() and meta.is_file():
        return path / json.loads(meta.read_text())["fields"]
    return path


def is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / f).exists() for f in ("zarr.json", ".zgroup",
                                                              ".zmetadata"))


#: first bytes of a file -> (xarray engine, what the format is called)
SIGNATURES = ((b"\x89HDF\r\n\x1a\n", "h5netcdf", "netCDF-4/HDF5"),
              (b"CDF\x01", "scipy", "netCDF-3 classic"),
              (b"CDF\x02", "scipy", "netCDF-3 64-bit offset"),
              (b"CDF\x05", "netcdf4", "netCDF-3 64-bit data (CDF-5)"))
GLOB_CHARS = set("*?[")


def engine_of(path: Path) -> tuple[str, str]:
    """The xarray engine that reads `path`, and the name of its format, from its first bytes
    (a file's suffix says nothing: CMIP archives hold netCDF-3 and netCDF-4 as `.nc`)."""
    if isinstance(path, Url):
        return "opendap", "OPeNDAP URL"
    if is_zarr(path):
        return "zarr", "zarr"
    with path.open("rb") as handle:
        head = handle.read(8)
    for magic, engine, kind in SIGNATURES:
        if head.startswith(magic):
            return engine, kind
    raise FieldsError(f"'{path}' is not a netCDF (3 or 4/HDF5) file nor a zarr store: its first "
                      f"bytes are {head!r}. Give netCDF or zarr fields (GRIB, e.g. from the "
                      f"CDS, converts with `grib_to_netcdf` or `cdo -f nc copy IN.grib OUT.nc`).")


def open_one(p: Path) -> xr.Dataset:
    """One zarr store or netCDF file, lazily (dask chunks as stored), times decoded on their
    own calendar (cftime for noleap, 360_day, ...)."""
    import xarray as xr

    if isinstance(p, Url):
        import importlib.util

        engine = "netcdf4" if importlib.util.find_spec("netCDF4") else "pydap"
        try:
            return xr.open_dataset(p.url, engine=engine, chunks={}, decode_timedelta=False)
        except Exception as exc:  # network and server errors of many kinds
            raise FieldsError(f"The OPeNDAP URL '{p.url}' cannot be opened ({type(exc).__name__}"
                              f": {str(exc)[:300]}); check the address and the network, or "
                              f"download the files.") from None
    engine, kind = engine_of(p)
    if engine == "netcdf4":
        import importlib.util

        if importlib.util.find_spec("netCDF4") is None:
            raise FieldsError(f"'{p}' is {kind}, which only the netCDF4 library reads: "
                              f"`pip install netCDF4`, or convert the file once with "
                              f"`nccopy -k nc4 {p} OUT.nc`.")
    try:
        if engine == "zarr":
            return xr.open_zarr(p, chunks={}, consolidated=False if (p / "zarr.json").exists()
                                else None, decode_timedelta=False)
        return xr.open_dataset(p, engine=engine, chunks={}, decode_timedelta=False)
    except Exception as exc:  # xarray/zarr/h5py/scipy raise many types for unreadable files
        text = str(exc)[:300]
        hint = (" Its time axis needs CF units such as 'days since 1850-01-01' and a CF "
                "calendar." if "time" in text.lower() or "calendar" in text.lower() else "")
        raise FieldsError(f"'{p}' ({kind}) cannot be opened: {type(exc).__name__}: {text}."
                          f"{hint}") from None


URL_SCHEMES = ("http://", "https://", "dap2://", "dap4://")


class Url(type(Path())):  # type: ignore[misc]
    """An OPeNDAP URL among the fields' paths (kept as written)."""

    url: str = ""

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.url


def _url(text: str) -> Path:
    """An OPeNDAP address: xarray opens it with the netCDF4 or pydap engine, if installed."""
    import importlib.util

    engines = [e for e, mod in (("netcdf4", "netCDF4"), ("pydap", "pydap"))
               if importlib.util.find_spec(mod) is not None]
    if not engines:
        raise FieldsError(f"'{text}' is an OPeNDAP URL; xarray reads those through the netCDF4 "
                          f"or pydap library, and neither is installed: `pip install netCDF4` "
                          f"(or pydap), or download the files (e.g. with wget or the ESGF "
                          f"wget script) and give their paths in data.files.")
    url = Url(text)
    url.url = text
    return url


def expand(items: list[Path | str]) -> list[Path]:
    """Files, zarr stores, folders of them and glob patterns, as the list of files to open."""
    out: list[Path] = []
    for item in items:
        text = str(item)
        if text.startswith(URL_SCHEMES):
            out.append(_url(text))
            continue
        if GLOB_CHARS & set(text) and not Path(text).exists():
            import glob

            hits = sorted(glob.glob(text))
            if not hits:
                raise FieldsError(f"The pattern '{text}' matches no file. Give existing files "
                                  f"or a pattern that matches them, e.g. data.files="
                                  f"'/data/psl_day_*.nc,/data/sfcWind_day_*.nc'.")
            out.extend(fields_path(Path(h)) for h in hits)
            continue
        path = fields_path(Path(text))
        if is_zarr(path) or path.is_file():
            out.append(path)
        elif path.is_dir():
            members = sorted(p for p in path.iterdir()
                             if p.suffix in (".nc", ".nc4", ".cdf") or is_zarr(p))
            if not members:
                raise FieldsError(f"The folder '{path}' holds no netCDF file (.nc, .nc4) nor zarr "
                                  f"store (nor is it a dataset folder from `dte data generate "
                                  f"climate-cyclone`).")
            out.extend(members)
        else:
            raise FieldsError(f"'{path}' does not exist; give the fields' files, folder or a glob "
                              f"pattern in data.path or data.files.")
    return list(dict.fromkeys(out))


def open_sources(path: Path | list[Path | str]) -> list[tuple[str, xr.Dataset]]:
    """Datasets of zarr stores, netCDF files, folders of them or glob patterns."""
    items = path if isinstance(path, list) else [path]
    return [(p.name, open_one(p)) for p in expand(items)]


def describe(sources: list[tuple[str, xr.Dataset]]) -> str:
    """`name (dims) [units]` of every data variable (once per name, with its file count)."""
    seen: dict[str, list[str]] = {}
    first: dict[str, Any] = {}
    for label, ds in sources:
        for name, var in ds.data_vars.items():
            if str(name).endswith(("_bnds", "_bounds")):
                continue
            seen.setdefault(str(name), []).append(label)
            first.setdefault(str(name), var)
    parts = []
    for name, labels in seen.items():
        var = first[name]
        where = (f" in {labels[0]}" if len(labels) == 1 else f" in {len(labels)} files")
        parts.append(f"{name} ({', '.join(map(str, var.dims))}) [{var.attrs.get('units', '?')}]"
                     + (where if len(sources) > 1 else ""))
    return "; ".join(parts) or "no data variables"


def _time_dim(var: xr.DataArray) -> str | None:
    return next((str(d) for d in var.dims if d in TIME_DIMS), None)


def _combined(sources, name: str):
    """Variable `name` from every file that has it, joined along time (CMIP6 files split by
    period), checked for one calendar, no overlap and one grid."""
    import xarray as xr

    from dte_climate_cyclone import calendars

    parts = [(label, ds[name]) for label, ds in sources if name in ds.data_vars]
    if len(parts) <= 1:
        return (parts[0][1], f"{name} in {parts[0][0]}") if parts else (None, "")
    dims = {_time_dim(v) for _, v in parts}
    if len(dims) != 1 or None in dims:
        raise FieldsError(f"'{name}' is in {len(parts)} files ({', '.join(p for p, _ in parts)})"
                          f" but not all along one time dimension, so they cannot be joined; "
                          f"give one file per period of each variable.")
    dim = dims.pop()
    spans = []
    for label, var in parts:
        values = var[dim].values
        cal = calendars.calendar_of(values, var[dim].encoding.get("calendar"))
        if not np.issubdtype(values.dtype, np.datetime64) and not hasattr(values.flat[0],
                                                                           "calendar"):
            raise FieldsError(f"The time axis of '{name}' in {label} is not decoded as dates "
                              f"(values like {values[:2]}); it needs CF units such as 'days "
                              f"since 1850-01-01'.")
        elapsed = calendars.to_elapsed(values, cal)
        spans.append((elapsed[0], elapsed[-1], label, var, cal))
    cals = {s[4] for s in spans}
    if len(cals) > 1:
        raise FieldsError(f"The files of '{name}' are on different calendars ("
                          + ", ".join(f"{s[2]}: {s[4]}" for s in spans)
                          + "); give files of one model run (one calendar).")
    cal = cals.pop()
    spans.sort(key=lambda s: s[0])
    for a, b in zip(spans[:-1], spans[1:], strict=True):
        if b[0] <= a[1]:
            raise FieldsError(
                f"The files of '{name}' overlap in time: {a[2]} covers "
                f"{calendars.label(a[0], cal)} to {calendars.label(a[1], cal)}, {b[2]} covers "
                f"{calendars.label(b[0], cal)} to {calendars.label(b[1], cal)}. Give each period "
                f"once (a duplicate file, or two models/experiments mixed?), or select one "
                f"period with data.time_range.")
    try:
        joined = xr.concat([s[3] for s in spans], dim=dim, coords="minimal", compat="override",
                           join="exact")
    except ValueError as exc:
        raise FieldsError(f"The files of '{name}' ({', '.join(s[2] for s in spans)}) cannot be "
                          f"joined along time: {str(exc)[:200]}. They must share one grid "
                          f"(lat, lon) and levels; regrid them to one grid first.") from None
    joined.attrs = dict(spans[0][3].attrs)
    return joined, f"{name} in {spans[0][2]} .. {spans[-1][2]} ({len(spans)} files)"


def _find(sources, names: tuple[str, ...]):
    for candidate in names:
        var, origin = _combined(sources, candidate)
        if var is not None:
            return var, origin
    return None, ""


PA_UNITS = ("pa", "pascal", "pascals")
HPA_UNITS = ("hpa", "mbar", "mb", "millibar", "millibars", "hectopascal", "hectopascals")


def level_scale(coord: xr.DataArray, label: str) -> float:
    """Pascals per unit of a pressure axis: 1 (Pa, CMIP6 `plev`) or 100 (hPa/mbar, ERA5
    `level`/`pressure_level`); without units, told apart by magnitude (Pa levels exceed 2000)."""
    units = str(coord.attrs.get("units", "")).strip().lower()
    if units in PA_UNITS:
        return 1.0
    if units in HPA_UNITS:
        return 100.0
    if units:
        raise FieldsError(f"The pressure axis '{coord.name}' in {label} has units '{units}'; dte "
                          f"understands Pa and hPa (mbar). Convert it (e.g. ds['{coord.name}'] "
                          f"= ds['{coord.name}'] * k with units 'Pa').")
    values = np.asarray(coord.values, dtype=np.float64)
    return 1.0 if np.nanmax(values) > 2000 else 100.0


def _on_level(sources, level_hpa: float):
    """Temperature on pressure levels, at `level_hpa`."""
    for name in LEVEL_VARIABLES:
        var, label = _combined(sources, name)
        if var is None:
            continue
        dims = [d for d in var.dims if d in LEVEL_DIMS]
        if not dims:
            continue
        dim = dims[0]
        scale = level_scale(var[dim], label)
        values_hpa = np.asarray(var[dim].values, dtype=np.float64) * scale / 100.0
        hit = np.flatnonzero(np.isclose(values_hpa, level_hpa, atol=0.5))
        if not len(hit):
            have = ", ".join(f"{v:g}" for v in values_hpa)
            raise FieldsError(f"The temperature '{name}' ({label}) is on pressure levels "
                              f"{have} hPa, without {level_hpa:g} hPa. Use a file with that "
                              f"level, or name another variable with --set data.mapping.ta"
                              f"{int(level_hpa)}=NAME.")
        where = f"{label} at {level_hpa:g} hPa"
        return var.isel({dim: int(hit[0])}, drop=True), where
    return None, ""


def _variable(sources, name: str, mapping: VariableMapping):
    """The DataArray for input `name` (mapped, aliased, on a level, or derived)."""
    import xarray as xr

    wanted = getattr(mapping, name)
    if wanted:
        var, origin = _find(sources, (wanted,))
        if var is None:
            raise FieldsError(
                f"data.mapping.{name}={wanted!r}, but there is no variable '{wanted}'. The data "
                f"has: {describe(sources)}. Set --set data.mapping.{name}= one of those names.")
        return var, origin
    var, origin = _find(sources, ALIASES[name])
    if var is None and name in ("ta500", "ta300"):
        var, origin = _on_level(sources, float(name[2:]))
    if var is None and name == "sfcWind":
        u, u_origin = _variable(sources, "uas", mapping)
        v, v_origin = _variable(sources, "vas", mapping)
        if u is not None and v is not None:
            speed = xr.apply_ufunc(np.hypot, u, v, dask="allowed")
            speed.attrs = {"units": u.attrs.get("units", "m s-1")}
            return speed, f"speed of ({u_origin}, {v_origin})"
    return var, origin


ROTATED_DIMS = ("rlat", "rlon")
UNSTRUCTURED_DIMS = ("ncells", "cell", "ncol", "values", "nCells")


def _regular_grid(var: xr.DataArray, name: str, origin: str) -> None:
    """Refuse rotated-pole, curvilinear and unstructured grids with what is needed instead."""
    dims = [str(d) for d in var.dims]
    kind = ""
    if set(ROTATED_DIMS) & set(dims) or "rotated" in str(var.attrs.get("grid_mapping", "")):
        kind = "a rotated-pole grid (CORDEX style: rlat/rlon"
        kind += f", grid_mapping '{var.attrs['grid_mapping']}')" if "grid_mapping" in \
            var.attrs else ")"
    else:
        two_d = [c for c in ("lat", "lon", "latitude", "longitude", "nav_lat", "nav_lon")
                 if c in var.coords and var[c].ndim > 1]
        if two_d:
            kind = (f"a curvilinear grid (2-D coordinates {', '.join(two_d)} on "
                    f"{', '.join(map(str, var[two_d[0]].dims))})")
        elif any(d in UNSTRUCTURED_DIMS for d in dims):
            kind = f"an unstructured grid (dimensions {', '.join(dims)})"
    if kind:
        raise FieldsError(
            f"The variable '{name}' ({origin}) is on {kind}. dte reads regular "
            f"latitude-longitude grids: dimensions time, lat, lon with 1-D, evenly spaced lat "
            f"and lon coordinates. Regrid the files first, e.g. `cdo remapbil,r1440x720 IN.nc "
            f"OUT.nc` (0.25 degrees) or xESMF, then give the regridded files in data.path or "
            f"data.files.")


def _standard(var: xr.DataArray, name: str, origin: str) -> xr.DataArray:
    """(time, lat, lon), latitudes and longitudes ascending, SI units."""
    _regular_grid(var, name, origin)
    rename = {}
    for dim in var.dims:
        for target, aliases in (("time", TIME_DIMS), ("lat", LAT_DIMS), ("lon", LON_DIMS)):
            if dim in aliases and dim != target:
                rename[dim] = target
    var = var.rename(rename)
    for dim in [d for d in var.dims if d not in ("time", "lat", "lon")]:
        if var.sizes[dim] == 1:
            var = var.isel({dim: 0}, drop=True)
    if set(var.dims) != {"time", "lat", "lon"}:
        raise FieldsError(
            f"The variable '{name}' ({origin}) has dimensions ({', '.join(map(str, var.dims))}); "
            f"it needs exactly time, lat and lon (also understood: "
            f"{', '.join(TIME_DIMS[1:] + LAT_DIMS[1:] + LON_DIMS[1:])}). Rename or select the "
            f"others first, e.g. ds.rename({{'x': 'lon', 'y': 'lat'}}) or ds.isel(member=0).")
    var = var.transpose("time", "lat", "lon")
    for dim in ("lat", "lon"):
        if dim not in var.coords or var[dim].ndim != 1:
            raise FieldsError(f"The variable '{name}' ({origin}) has no 1-D '{dim}' coordinate; "
                              f"only regular latitude-longitude grids are supported.")
    lat = np.asarray(var["lat"].values, dtype=np.float64)
    if len(lat) > 1 and lat[0] > lat[-1]:
        var = var.isel(lat=slice(None, None, -1))
    lon = np.asarray(var["lon"].values, dtype=np.float64)
    if len(lon) > 1 and np.any(np.diff(lon) <= 0):
        var = var.sortby("lon")
    for dim in ("lat", "lon"):
        step = np.diff(np.asarray(var[dim].values, dtype=np.float64))
        if len(step) and (np.any(step <= 0) or not np.allclose(step, step[0], rtol=1e-3,
                                                                 atol=1e-6)):
            raise FieldsError(f"The '{dim}' coordinate of '{name}' ({origin}) is not evenly "
                              f"spaced and increasing; regrid the data to a regular grid first.")
    units = str(var.attrs.get("units", "")).strip()
    if name == "psl" and (units.lower() in ("hpa", "mb", "mbar", "millibar") or
                          (not units and float(var.isel(time=0).median()) < 2000)):
        var = var * 100.0
    elif name.startswith("ta") and units.lower() in ("degc", "c", "celsius", "deg_c"):
        var = var + 273.15
    return var


def _datetimes(var: xr.DataArray, name: str, origin: str) -> tuple[np.ndarray, str]:
    """The time axis as datetime64[s] elapsed on its calendar, and the calendar."""
    from dte_climate_cyclone import calendars

    values = var["time"].values if "time" in var.coords else None
    if values is None:
        raise FieldsError(f"The variable '{name}' ({origin}) has no time coordinate.")
    if not np.issubdtype(values.dtype, np.datetime64) and not (
            len(values) and hasattr(values.flat[0], "calendar")):
        raise FieldsError(f"The time axis of '{name}' ({origin}) is not decoded as dates "
                          f"(values like {values[:2]}); it needs CF `units` such as 'hours "
                          f"since 2000-01-01' (and a CF calendar).")
    calendar = calendars.calendar_of(values, var["time"].encoding.get("calendar"))
    elapsed = calendars.to_elapsed(values, calendar)
    if len(elapsed) > 1 and np.any(np.diff(elapsed.astype(np.int64)) <= 0):
        order = np.argsort(elapsed, kind="stable")
        if np.any(np.diff(elapsed[order].astype(np.int64)) == 0):
            raise FieldsError(f"The time axis of '{name}' ({origin}) repeats times; give each "
                              f"time once.")
        raise FieldsError(f"The time axis of '{name}' ({origin}) is not increasing; sort it "
                          f"first (ds.sortby('time')).")
    return elapsed, calendar


def parse_range(bounds: list[str], calendar: str) -> tuple[np.datetime64, np.datetime64]:
    """data.time_range [start, end] on `calendar`; an end without a time of day includes that
    whole day."""
    from dte_climate_cyclone import calendars

    start, end = bounds
    lo, hi = calendars.parse([start, end], calendar)
    for text, value in ((start, lo), (end, hi)):
        if np.isnat(value):
            raise FieldsError(f"data.time_range: '{text}' is not a date of the fields' "
                              f"'{calendar}' calendar; give YYYY-MM-DD or 'YYYY-MM-DD HH:MM', "
                              f"e.g. --set data.time_range=1980-01-01,1989-12-31.")
    if len(end.strip()) <= 10:
        hi = hi + np.timedelta64(86399, "s")
    if hi < lo:
        raise FieldsError(f"data.time_range starts at {start}, after its end {end}.")
    return lo, hi


def note(text: str) -> None:
    import sys

    print(f"[climate-cyclone] {text}", file=sys.stderr, flush=True)


def open_fields(path: Path | list[Path] | list[str], variables: list[str],
                mapping: VariableMapping, time_range: list[str] | None = None) -> Fields:
    """The input `variables` of the fields at `path` (a file, folder, glob pattern or a list of
    them; variables may come from different files and a variable from several files split by
    time), checked, cut to `time_range` and to the period all variables cover, opened lazily."""
    from dte_climate_cyclone import calendars

    paths = path if isinstance(path, list) else [path]
    sources = open_sources(list(paths))
    path = paths[0] if len(paths) == 1 else Path(", ".join(map(str, paths)))
    arrays, origin, times, cals = {}, {}, {}, {}
    for name in variables:
        var, where = _variable(sources, name, mapping)
        if var is None:
            raise FieldsError(
                f"The fields '{path}' have no variable for '{name}' (looked for "
                f"{', '.join(ALIASES[name])}"
                f"{', ta/t on a pressure axis' if name.startswith('ta') else ''}"
                f"{', or uas/vas (u10/v10)' if name == 'sfcWind' else ''}). They have: "
                f"{describe(sources)}. Name the right one with --set data.mapping.{name}=NAME, "
                f"add the file that has it to data.files, or drop '{name}' from data.variables.")
        arrays[name] = _standard(var, name, where)
        origin[name] = where
        times[name], cals[name] = _datetimes(arrays[name], name, where)
    first = variables[0]
    for name in variables[1:]:
        if cals[name] != cals[first]:
            raise FieldsError(
                f"'{first}' ({origin[first]}) is on the '{cals[first]}' calendar, '{name}' "
                f"({origin[name]}) on '{cals[name]}': the variables come from different models "
                f"or sources. Give files of one model run.")
    calendar = cals[first]
    label = {n: (calendars.label(times[n][0], calendar), calendars.label(times[n][-1], calendar))
             for n in variables}
    lo = max(times[n][0] for n in variables)
    hi = min(times[n][-1] for n in variables)
    if lo > hi:
        spans = "; ".join(f"'{n}' ({origin[n]}) covers {label[n][0]} to {label[n][1]}"
                          for n in variables)
        raise FieldsError(f"The variables' time axes do not overlap: {spans}. Give files of the "
                          f"same period for every variable (data.path / data.files).")
    if time_range:
        r_lo, r_hi = parse_range(list(time_range), calendar)
        if r_lo > hi or r_hi < lo:
            raise FieldsError(
                f"data.time_range {time_range[0]} to {time_range[1]} lies outside the period the "
                f"fields cover ({calendars.label(lo, calendar)} to "
                f"{calendars.label(hi, calendar)}); choose dates inside it.")
        lo, hi = max(lo, r_lo), min(hi, r_hi)
    cut = []
    for name in variables:
        keep = np.flatnonzero((times[name] >= lo) & (times[name] <= hi))
        if len(keep) != len(times[name]):
            arrays[name] = arrays[name].isel(time=slice(int(keep[0]), int(keep[-1]) + 1))
            times[name] = times[name][keep[0]:keep[-1] + 1]
            if not time_range:
                cut.append(f"{name} ({label[name][0]} to {label[name][1]})")
    if cut:
        note(f"using the period all variables cover, {calendars.label(lo, calendar)} to "
             f"{calendars.label(hi, calendar)}; cut: {', '.join(cut)}")
    for name in variables[1:]:
        _same_axis(first, name, times, origin, calendar)
        _same_grid(arrays[first], arrays[name], first, name, origin)
    grid = Grid(np.asarray(arrays[first]["lat"].values, np.float64),
                np.asarray(arrays[first]["lon"].values, np.float64))
    chunks = arrays[first].chunks
    chunk_time = int(chunks[0][0]) if chunks else 1
    return Fields(arrays, grid, times[first], origin, chunk_time, calendar)


def _same_axis(a: str, b: str, times: dict[str, np.ndarray], origin: dict[str, str],
               calendar: str = "standard") -> None:
    from dte_climate_cyclone import calendars

    ta, tb = times[a], times[b]
    if len(ta) == len(tb) and np.array_equal(ta, tb):
        return

    def show(t):
        return calendars.label(t, calendar)

    n = min(len(ta), len(tb))
    diff = np.flatnonzero(ta[:n] != tb[:n])
    first = (f"; the first difference is at index {diff[0]}: {show(ta[diff[0]])} vs "
             f"{show(tb[diff[0]])}" if len(diff) else "")
    raise FieldsError(
        f"The time axes differ: '{a}' ({origin[a]}) has {len(ta)} times from {show(ta[0])} to "
        f"{show(ta[-1])}, '{b}' ({origin[b]}) has {len(tb)} from {show(tb[0])} to "
        f"{show(tb[-1])}{first}. Give every variable the same times (same frequency, e.g. "
        f"both `day` or both `6hrPlevPt` CMIP6 tables; or ds.sel(time=common_times)).")


def _same_grid(a_var, b_var, a: str, b: str, origin: dict[str, str]) -> None:
    for dim in ("lat", "lon"):
        x, y = np.asarray(a_var[dim].values), np.asarray(b_var[dim].values)
        if x.shape != y.shape or not np.allclose(x, y, atol=1e-4):
            raise FieldsError(
                f"'{a}' ({origin[a]}) and '{b}' ({origin[b]}) are on different grids ({dim}: "
                f"{len(x)} points {x.min():g}..{x.max():g} vs {len(y)} points "
                f"{y.min():g}..{y.max():g}); regrid them to one grid first.")


# ---- normalisation statistics ---------------------------------------------------------
def compute_stats(fields: Fields, names: list[str]) -> dict[str, Any]:
    """Mean, standard deviation and missing values of each variable, chunk by chunk (dask)."""
    import dask

    tasks = {}
    for name in names:
        data = fields.arrays[name].data.astype(np.float64)
        tasks[name] = (dask.array.nanmean(data), dask.array.nanmean(data ** 2),
                       dask.array.isnan(data).sum(), dask.array.nanmin(data),
                       dask.array.nanmax(data))
    (results,) = dask.compute(tasks)
    stats: dict[str, Any] = {}
    for name, (mean, square, nans, lo, hi) in results.items():
        stats[name] = {"mean": float(mean), "std": float(np.sqrt(max(square - mean ** 2, 0.0))),
                       "mean_square": float(square), "nan": int(nans), "min": float(lo),
                       "max": float(hi)}
    return stats


def fingerprint(fields: Fields) -> dict[str, Any]:
    """What statistics were computed from (they are recomputed when it changes)."""
    return {"origin": fields.origin, "shape": [len(fields.times), *fields.grid.shape],
            "time": [str(fields.times[0]), str(fields.times[-1])], "calendar": fields.calendar}


def content(sources: Path | list[Path]) -> str:
    """A digest of every file behind the fields (relative path, size, modification time):
    deleted or rewritten chunks of a zarr store change it, a moved dataset does not."""
    digest = hashlib.sha256()
    for source in sources if isinstance(sources, list) else [sources]:
        source = Path(source)
        files = sorted(source.rglob("*")) if source.is_dir() else [source]
        for path in files:
            if path.is_file():
                stat = path.stat()
                name = path.relative_to(source) if source.is_dir() else path.name
                digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def first_nan(fields: Fields, name: str) -> str:
    """Where the first missing value of `name` is (time, lat, lon)."""
    data = fields.arrays[name]
    per_time = np.asarray(data.isnull().any(dim=("lat", "lon")).values)
    t = int(np.argmax(per_time))
    rows, cols = np.nonzero(np.isnan(np.asarray(data.isel(time=t).values)))
    return (f"time {fields.label(t)}, lat {fields.grid.lat[rows[0]]:.2f}, "
            f"lon {fields.grid.lon[cols[0]]:.2f}")
