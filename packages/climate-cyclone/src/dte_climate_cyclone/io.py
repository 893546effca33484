"""Gridded fields in through xarray: zarr or netCDF, CMIP6 or ERA5 names, any lon/lat order.

Every variable becomes a lazy (dask) DataArray with dimensions (time, lat, lon), latitudes
ascending and longitudes ascending in the file's own convention (0..360 or -180..180); nothing
is read until a block of time steps is asked for. Problems are reported as one paragraph that
names the file, what it has and the setting that fixes it.
"""

from __future__ import annotations

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
    times: np.ndarray          # datetime64[s]
    origin: dict[str, str]     # variable -> "msl in era5.nc"
    chunk_time: int            # time steps per stored chunk (reads are aligned to it)

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


def open_sources(path: Path) -> list[tuple[str, xr.Dataset]]:
    """Datasets of a zarr store, a netCDF file, or a folder of them (one file per variable)."""
    import xarray as xr

    def one(p: Path) -> xr.Dataset:
        try:
            if is_zarr(p):
                return xr.open_zarr(p, chunks={}, consolidated=False if (p / "zarr.json").exists()
                                    else None, decode_timedelta=False)
            return xr.open_dataset(p, engine="h5netcdf", chunks={}, decode_timedelta=False)
        except Exception as exc:  # xarray/zarr/h5py raise many types for unreadable stores
            raise FieldsError(f"'{p}' cannot be opened as zarr or netCDF ({type(exc).__name__}: "
                              f"{str(exc)[:300]}).") from None

    if is_zarr(path) or path.is_file():
        return [(path.name, one(path))]
    if path.is_dir():
        members = sorted(p for p in path.iterdir() if p.suffix in (".nc", ".nc4") or is_zarr(p))
        if members:
            return [(p.name, one(p)) for p in members]
    raise FieldsError(f"'{path}' is neither a zarr store, a netCDF file nor a folder of them "
                      f"(nor a dataset folder from `dte data generate climate-cyclone`).")


def describe(sources: list[tuple[str, xr.Dataset]]) -> str:
    """`name (dims) [units]` of every data variable."""
    parts = []
    for label, ds in sources:
        for name, var in ds.data_vars.items():
            unit = var.attrs.get("units", "?")
            parts.append(f"{name} ({', '.join(map(str, var.dims))}) [{unit}]"
                         + (f" in {label}" if len(sources) > 1 else ""))
    return "; ".join(parts) or "no data variables"


def _find(sources, names: tuple[str, ...]):
    for candidate in names:
        for label, ds in sources:
            if candidate in ds.data_vars:
                return ds[candidate], f"{candidate} in {label}"
    return None, ""


def _on_level(sources, level_hpa: float):
    """Temperature on pressure levels, at `level_hpa`."""
    for name in LEVEL_VARIABLES:
        for label, ds in sources:
            if name not in ds.data_vars:
                continue
            var = ds[name]
            dims = [d for d in var.dims if d in LEVEL_DIMS]
            if not dims:
                continue
            dim = dims[0]
            values = np.asarray(var[dim].values, dtype=np.float64)
            in_pa = var[dim].attrs.get("units", "").lower() == "pa" or values.max() > 2000
            target = level_hpa * 100 if in_pa else level_hpa
            hit = np.flatnonzero(np.isclose(values, target, atol=0.5 if not in_pa else 50))
            if not len(hit):
                have = ", ".join(f"{v / 100 if in_pa else v:g}" for v in values)
                raise FieldsError(f"The temperature '{name}' in {label} is on pressure levels "
                                  f"{have} hPa, without {level_hpa:g} hPa. Use a file with that "
                                  f"level, or name another variable with --set data.mapping.ta"
                                  f"{int(level_hpa)}=NAME.")
            where = f"{name} at {level_hpa:g} hPa in {label}"
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


def _standard(var: xr.DataArray, name: str, origin: str) -> xr.DataArray:
    """(time, lat, lon), latitudes and longitudes ascending, SI units."""
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


def _datetimes(var: xr.DataArray, name: str, origin: str) -> np.ndarray:
    values = var["time"].values if "time" in var.coords else None
    if values is None:
        raise FieldsError(f"The variable '{name}' ({origin}) has no time coordinate.")
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[s]")
    try:  # cftime dates (CMIP6 noleap/360_day calendars)
        return np.array([np.datetime64(t.isoformat()[:19]) for t in values], dtype="datetime64[s]")
    except (AttributeError, ValueError):
        raise FieldsError(f"The time axis of '{name}' ({origin}) is not decoded as dates "
                          f"(values like {values[:2]}); it needs CF `units` such as 'hours "
                          f"since 2000-01-01'.") from None


def open_fields(path: Path | list[Path], variables: list[str], mapping: VariableMapping
                ) -> Fields:
    """The input `variables` of the fields at `path` (or several files), checked and opened
    lazily."""
    paths = path if isinstance(path, list) else [path]
    sources = [s for p in paths for s in open_sources(fields_path(Path(p)))]
    path = paths[0] if len(paths) == 1 else Path(", ".join(map(str, paths)))
    arrays, origin, times = {}, {}, {}
    for name in variables:
        var, where = _variable(sources, name, mapping)
        if var is None:
            raise FieldsError(
                f"The fields '{path}' have no variable for '{name}' (looked for "
                f"{', '.join(ALIASES[name])}"
                f"{', ta/t on a pressure axis' if name.startswith('ta') else ''}"
                f"{', or uas/vas (u10/v10)' if name == 'sfcWind' else ''}). They have: "
                f"{describe(sources)}. Name the right one with --set data.mapping.{name}=NAME, "
                f"or drop '{name}' from data.variables.")
        arrays[name] = _standard(var, name, where)
        origin[name] = where
        times[name] = _datetimes(arrays[name], name, where)
    first = variables[0]
    for name in variables[1:]:
        _same_axis(first, name, times, origin)
        _same_grid(arrays[first], arrays[name], first, name, origin)
    grid = Grid(np.asarray(arrays[first]["lat"].values, np.float64),
                np.asarray(arrays[first]["lon"].values, np.float64))
    chunks = arrays[first].chunks
    chunk_time = int(chunks[0][0]) if chunks else 1
    return Fields(arrays, grid, times[first], origin, chunk_time)


def _same_axis(a: str, b: str, times: dict[str, np.ndarray], origin: dict[str, str]) -> None:
    ta, tb = times[a], times[b]
    if len(ta) == len(tb) and np.array_equal(ta, tb):
        return
    n = min(len(ta), len(tb))
    diff = np.flatnonzero(ta[:n] != tb[:n])
    first = (f"; the first difference is at index {diff[0]}: {ta[diff[0]]} vs {tb[diff[0]]}"
             if len(diff) else "")
    raise FieldsError(
        f"The time axes differ: '{a}' ({origin[a]}) has {len(ta)} times from {ta[0]} to "
        f"{ta[-1]}, '{b}' ({origin[b]}) has {len(tb)} from {tb[0]} to {tb[-1]}{first}. Give "
        f"every variable the same times (e.g. ds.sel(time=common_times) for each file).")


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
            "time": [str(fields.times[0]), str(fields.times[-1])]}


def first_nan(fields: Fields, name: str) -> str:
    """Where the first missing value of `name` is (time, lat, lon)."""
    data = fields.arrays[name]
    per_time = np.asarray(data.isnull().any(dim=("lat", "lon")).values)
    t = int(np.argmax(per_time))
    rows, cols = np.nonzero(np.isnan(np.asarray(data.isel(time=t).values)))
    return (f"time {fields.times[t]}, lat {fields.grid.lat[rows[0]]:.2f}, "
            f"lon {fields.grid.lon[cols[0]]:.2f}")
