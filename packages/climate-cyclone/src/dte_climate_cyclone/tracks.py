"""Cyclone tracks in the IBTrACS layout (CSV and netCDF), and the centres they give a grid.

CSV: IBTrACS v04 columns (SID, SEASON, NUMBER, BASIN, SUBBASIN, NAME, ISO_TIME, NATURE, LAT,
LON, WMO_WIND, WMO_PRES, ..., USA_WIND, USA_PRES, USA_RMW, STORM_SPEED, STORM_DIR), the second
line holding units, blanks for missing values. netCDF: IBTrACS dimensions (storm, date_time)
with variables sid, name, time (days since 1858-11-17), lat, lon, wmo_wind, wmo_pres, usa_wind,
usa_rmw. Reading needs only SID, ISO_TIME (or time), LAT, LON; the intensity is the larger of
WMO_WIND and USA_WIND (agencies fill different columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from dte_core.errors import DteError

from dte_climate_cyclone.grid import Grid, wrap180, wrap360
from dte_climate_cyclone.storms import MS_TO_KT, Track

COLUMNS = ["SID", "SEASON", "NUMBER", "BASIN", "SUBBASIN", "NAME", "ISO_TIME", "NATURE", "LAT",
           "LON", "WMO_WIND", "WMO_PRES", "WMO_AGENCY", "TRACK_TYPE", "USA_WIND", "USA_PRES",
           "USA_RMW", "STORM_SPEED", "STORM_DIR"]
UNITS = {"SEASON": "Year", "LAT": "degrees_north", "LON": "degrees_east", "WMO_WIND": "kts",
         "WMO_PRES": "mb", "USA_WIND": "kts", "USA_PRES": "mb", "USA_RMW": "nmile",
         "STORM_SPEED": "kts", "STORM_DIR": "degrees"}
REQUIRED = ("SID", "ISO_TIME", "LAT", "LON")
IBTRACS_EPOCH = np.datetime64("1858-11-17T00:00:00")
KM_PER_NMI = 1.852


class TrackError(DteError):
    """Tracks that cannot be read or do not fit the fields."""


def basin_code(bounds: tuple[float, float, float, float]) -> str:
    lat0, lat1, lon0, lon1 = bounds
    lon = float(wrap180((lon0 + lon1) / 2))
    if lat0 + lat1 < 0:
        return "SI" if lon < 135 else "SP"
    if lon >= 100 or lon < -180 + 0.1:
        return "WP"
    if -140 <= lon < -100 or (lon < -80 and lat1 <= 30):
        return "EP"
    if lon < 100 and lon > 30:
        return "NI"
    return "NA"


def table(systems: list[Track], origin: np.datetime64, end_h: float, bounds) -> list[dict]:
    """IBTrACS rows of every cyclone point inside [0, end_h] hours after `origin`."""
    rows: list[dict] = []
    basin = basin_code(bounds)
    cyclones = [s for s in systems if s.kind == "tc"]
    for number, track in enumerate(cyclones, start=1):
        hours = track.hours
        keep = (hours >= 0) & (hours <= end_h)
        if not keep.any():
            continue
        times = origin + (hours * 3600).astype("timedelta64[s]")
        first = int(np.argmax(keep))
        t0 = times[first].astype("datetime64[s]").item()
        sid = (f"{t0.year}{t0.timetuple().tm_yday:03d}{'N' if track.lat[first] >= 0 else 'S'}"
               f"{abs(track.lat[first]):02.0f}{float(wrap360(track.lon[first])):03.0f}")
        wind = track.wind_kt()
        speed = np.hypot(track.u, track.v) * MS_TO_KT
        heading = np.degrees(np.arctan2(track.u, track.v)) % 360
        for i in np.flatnonzero(keep):
            rows.append({
                "SID": sid, "SEASON": t0.year, "NUMBER": number, "BASIN": basin,
                "SUBBASIN": "MM", "NAME": f"SYNTH{number:02d}",
                "ISO_TIME": str(times[i].astype("datetime64[s]")).replace("T", " "),
                "NATURE": "TS", "LAT": round(float(track.lat[i]), 2),
                "LON": round(float(wrap180(track.lon[i])), 2),
                "WMO_WIND": round(float(wind[i])), "WMO_PRES": round(1010.0 - track.dp[i]),
                "WMO_AGENCY": "dte", "TRACK_TYPE": "main",
                "USA_WIND": round(float(wind[i])), "USA_PRES": round(1010.0 - track.dp[i]),
                "USA_RMW": round(float(track.radius[i] / KM_PER_NMI)),
                "STORM_SPEED": round(float(speed[i])), "STORM_DIR": round(float(heading[i])),
            })
    return rows


def write_csv(rows: list[dict], path: Path, columns: list[str] | None = None,
              units: dict[str, str] | None = None) -> None:
    """IBTrACS CSV: header, units line, one row per track point (`columns`: those to write,
    default all of IBTrACS; `units`: the source's units line, else IBTrACS')."""
    import csv

    columns = columns or COLUMNS
    units = {**UNITS, **(units or {})}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerow([units.get(c, " ") for c in columns])
        for row in rows:
            writer.writerow([row.get(c, " ") for c in columns])


def write_netcdf(rows: list[dict], path: Path) -> None:
    """IBTrACS netCDF layout: (storm, date_time) arrays with fill values."""
    import xarray as xr

    sids = list(dict.fromkeys(r["SID"] for r in rows))
    per = {sid: [r for r in rows if r["SID"] == sid] for sid in sids}
    width = max((len(v) for v in per.values()), default=1)
    shape = (len(sids), width)

    def grid(key: str, fill: float) -> np.ndarray:
        out = np.full(shape, fill, dtype=np.float32)
        for i, sid in enumerate(sids):
            out[i, :len(per[sid])] = [r[key] for r in per[sid]]
        return out

    days = np.full(shape, np.nan)
    for i, sid in enumerate(sids):
        stamps = np.array([np.datetime64(r["ISO_TIME"].replace(" ", "T")) for r in per[sid]])
        days[i, :len(stamps)] = (stamps - IBTRACS_EPOCH) / np.timedelta64(1, "D")
    fill = -9999.0
    ds = xr.Dataset(
        {"sid": ("storm", np.array(sids, dtype=object)),
         "name": ("storm", np.array([per[s][0]["NAME"] for s in sids], dtype=object)),
         "season": ("storm", np.array([per[s][0]["SEASON"] for s in sids], dtype=np.int16)),
         "time": (("storm", "date_time"), days,
                  {"units": "days since 1858-11-17 00:00:00", "long_name": "time"}),
         "lat": (("storm", "date_time"), grid("LAT", fill),
                 {"units": "degrees_north", "_FillValue": fill}),
         "lon": (("storm", "date_time"), grid("LON", fill),
                 {"units": "degrees_east", "_FillValue": fill}),
         "wmo_wind": (("storm", "date_time"), grid("WMO_WIND", fill),
                      {"units": "kts", "_FillValue": fill}),
         "wmo_pres": (("storm", "date_time"), grid("WMO_PRES", fill),
                      {"units": "mb", "_FillValue": fill}),
         "usa_wind": (("storm", "date_time"), grid("USA_WIND", fill),
                      {"units": "kts", "_FillValue": fill}),
         "usa_rmw": (("storm", "date_time"), grid("USA_RMW", fill),
                     {"units": "nmile", "_FillValue": fill})},
        attrs={"title": "IBTrACS-layout tracks of synthetic tropical cyclones (dte)",
               "Conventions": "CF-1.8"})
    ds.to_netcdf(path, engine="h5netcdf", encoding={"time": {"_FillValue": np.nan}})


#: other spellings of the IBTrACS columns: v03 WMO subset (`Serial_Num, ISO_time, Latitude,
#: Longitude, Wind(WMO), Pres(WMO), Center, ...`) and common lower-case variants
ALIASES = {"SERIAL_NUM": "SID", "NUM": "NUMBER", "SUB_BASIN": "SUBBASIN", "LATITUDE": "LAT",
           "LONGITUDE": "LON", "WIND(WMO)": "WMO_WIND", "PRES(WMO)": "WMO_PRES",
           "CENTER": "WMO_AGENCY", "WIND(WMO) PERCENTILE": "WMO_WIND_PERCENTILE",
           "PRES(WMO) PERCENTILE": "WMO_PRES_PERCENTILE"}
#: data.track_columns keys -> IBTrACS column
MAPPABLE = {"sid": "SID", "iso_time": "ISO_TIME", "lat": "LAT", "lon": "LON",
            "wmo_wind": "WMO_WIND", "wmo_pres": "WMO_PRES", "usa_wind": "USA_WIND",
            "usa_pres": "USA_PRES", "season": "SEASON", "number": "NUMBER", "basin": "BASIN",
            "subbasin": "SUBBASIN", "name": "NAME", "nature": "NATURE"}


@dataclass
class Points:
    """Track points: one entry per (storm, time), and every other column the file has, as
    the file writes it (strings; nothing dropped, nothing invented)."""

    sid: np.ndarray
    time: np.ndarray   # datetime64[s], elapsed on `calendar`
    lat: np.ndarray
    lon: np.ndarray    # -180..180
    wind: np.ndarray   # knots, NaN unknown
    calendar: str = "standard"
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # IBTrACS name -> values
    units: dict[str, str] = field(default_factory=dict)           # IBTrACS name -> unit
    order: list[str] = field(default_factory=list)  # the file's column order (CSV)

    def __len__(self) -> int:
        return len(self.sid)

    def subset(self, keep: np.ndarray) -> Points:
        return Points(self.sid[keep], self.time[keep], self.lat[keep], self.lon[keep],
                      self.wind[keep], self.calendar,
                      {k: v[keep] for k, v in self.columns.items()}, dict(self.units),
                      list(self.order))

    def rows(self) -> tuple[list[str], list[dict]]:
        """IBTrACS columns (those the file had, in IBTrACS order) and one row per point."""
        from dte_climate_cyclone import calendars

        have = set(self.columns) | set(REQUIRED)
        names = [c for c in self.order if c in have] or \
            [c for c in COLUMNS if c in have] + [c for c in self.columns if c not in COLUMNS]
        names += [c for c in REQUIRED if c not in names]
        stamps = calendars.labels(self.time, self.calendar)
        out = []
        for i in range(len(self)):
            row = {k: v[i] for k, v in self.columns.items()}
            row.update(SID=self.sid[i], ISO_TIME=stamps[i], LAT=round(float(self.lat[i]), 4),
                       LON=round(float(self.lon[i]), 4))
            out.append(row)
        return names, out


def read(path: Path, calendar: str | None = None, columns=None) -> Points:
    """IBTrACS-layout tracks from CSV or netCDF, with errors that name what is missing;
    `calendar`: of the dates (null: the netCDF's own, else standard); `columns`: the
    data.track_columns mapping (IBTrACS name -> the file's column) for other tables."""
    mapping = {MAPPABLE[k]: v for k, v in (columns.model_dump() if columns is not None
                                            else {}).items() if v}
    if path.suffix.lower() in (".nc", ".nc4", ".netcdf", ".h5", ".cdf"):
        return _read_netcdf(path, calendar, mapping)
    return _read_csv(path, calendar, mapping)


def read_for(path: Path, fields, calendar: str | None = None, config=None) -> Points:
    """The tracks at `path` for `fields`: read, and refused when on another calendar."""
    from dte_climate_cyclone import calendars

    columns = getattr(getattr(config, "data", None), "track_columns", None)
    points = read(path, calendar, columns)
    calendars.check_same(fields.calendar, points.calendar,
                         ", ".join(dict.fromkeys(fields.origin.values())), str(path))
    return points


def _rename(have: list[str], mapping: dict[str, str], path: Path, what: str) -> dict[str, str]:
    """The file's column -> IBTrACS name, from data.track_columns, then IBTrACS spellings."""
    lookup = {c.strip().upper(): c for c in have}
    out: dict[str, str] = {}
    for target, given in mapping.items():
        source = given if given in have else lookup.get(given.strip().upper())
        if source is None:
            key = next(k for k, v in MAPPABLE.items() if v == target)
            raise TrackError(
                f"data.track_columns.{key}={given!r}, but the tracks file '{path}' has no "
                f"{what} '{given}'. It has: {', '.join(have[:40]) or 'none'}. Set "
                f"--set data.track_columns.{key}= one of those names (or null for the IBTrACS "
                f"name {target}).")
        out[source] = target
    for column in have:
        if column in out:
            continue
        upper = column.strip().upper()
        target = ALIASES.get(upper, upper)
        if target not in out.values():
            out[column] = target
    return out


def _required(present: set[str], path: Path, have: list[str], what: str) -> None:
    missing = [c for c in REQUIRED if c not in present]
    if "ISO_TIME" in missing and "TIME" in present:
        missing.remove("ISO_TIME")
    if missing:
        keys = ", ".join(f"data.track_columns.{k}=NAME" for k, v in MAPPABLE.items()
                         if v in missing)
        raise TrackError(
            f"The tracks file '{path}' lacks the IBTrACS {what}(s) {', '.join(missing)}; it has: "
            f"{', '.join(have[:40]) or 'none'}. Tracks need at least SID, ISO_TIME, LAT, LON "
            f"(and WMO_WIND or USA_WIND), as in IBTrACS v04 files; for another table name its "
            f"columns: {keys}.")


def _wind(columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    import pandas as pd

    winds = [pd.to_numeric(pd.Series(columns[c]), errors="coerce").to_numpy(np.float64)
             for c in ("WMO_WIND", "USA_WIND") if c in columns]
    return np.fmax.reduce(winds) if winds else np.full(n, np.nan)


def _read_csv(path: Path, calendar: str | None = None,
              mapping: dict[str, str] | None = None) -> Points:
    import pandas as pd

    from dte_climate_cyclone import calendars

    try:
        with path.open(newline="", errors="replace") as handle:
            head = [handle.readline() for _ in range(2)]
        skip = 1 if head[0].upper().startswith("IBTRACS") and "," not in head[0][:40] else 0
        frame = pd.read_csv(path, keep_default_na=False, na_values=["", " "], dtype=str,
                            skipinitialspace=True, skiprows=skip)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise TrackError(f"The tracks file '{path}' cannot be read as CSV ({exc}).") from None
    have = [str(c) for c in frame.columns]
    rename = _rename(have, mapping or {}, path, "column")
    frame = frame.rename(columns=rename)[list(rename.values())]
    _required(set(frame.columns), path, have, "column")
    units: dict[str, str] = {}
    if len(frame) and pd.to_numeric(frame["LAT"].iloc[:1], errors="coerce").isna().all():
        units = {c: str(u).strip() for c, u in frame.iloc[0].items()
                 if isinstance(u, str) and u.strip()}
        frame = frame.iloc[1:]  # the units line
    lat = pd.to_numeric(frame["LAT"], errors="coerce").to_numpy(np.float64)
    lon = pd.to_numeric(frame["LON"], errors="coerce").to_numpy(np.float64)
    cal = calendars.canonical(calendar)
    times = pd.Series(calendars.parse(frame["ISO_TIME"].tolist(), cal))
    _refuse_bad_dates(frame["ISO_TIME"], times.isna().to_numpy(), cal, path, calendar)
    bad = np.isnan(lat) | np.isnan(lon) | times.isna().to_numpy()
    if bad.all() and len(frame):
        raise TrackError(f"No row of '{path}' has a valid ISO_TIME, LAT and LON (first row: "
                         f"{dict(frame.iloc[0])}).")
    keep = ~bad
    others = {c: frame[c].fillna("").to_numpy(str)[keep] for c in frame.columns
              if c not in REQUIRED}
    return Points(frame["SID"].to_numpy(str)[keep],
                  times.to_numpy("datetime64[s]")[keep], lat[keep],
                  wrap180(lon[keep]), _wind(others, int(keep.sum())), cal, others, units,
                  [str(c) for c in frame.columns])


def _refuse_bad_dates(texts, bad: np.ndarray, calendar: str, path: Path, given) -> None:
    """Dates that are written but are no date of the calendar (2001-02-30 read as standard)."""
    written = np.array([str(t).strip() not in ("", "nan", "None") for t in texts])
    wrong = bad & written
    if not wrong.any():
        return
    example = str(np.asarray(texts)[wrong][0])
    how = (f"data.tracks_calendar={given}" if given else
           "no data.tracks_calendar, so the standard calendar")
    raise TrackError(
        f"{int(wrong.sum())} time(s) of '{path}' are not dates of the '{calendar}' calendar "
        f"(first: '{example}'; read with {how}). Tracks from a model run on another calendar: "
        f"--set data.tracks_calendar=360_day (or noleap, ...); else fix those rows.")


def _decode_time(var, path: Path, calendar: str | None) -> tuple[np.ndarray, str]:
    """A netCDF time variable (undecoded numbers, CF units) as elapsed datetime64[s] on its
    calendar (the file's `calendar` attribute unless `calendar` is given)."""
    import cftime

    from dte_climate_cyclone import calendars

    units = var.attrs.get("units") or "days since 1858-11-17 00:00:00"
    cal = calendars.canonical(calendar or var.attrs.get("calendar"))
    days = np.asarray(var.values, dtype=np.float64)
    out = np.full(days.shape, np.datetime64("NaT", "s"))
    ok = np.isfinite(days)
    if ok.any():
        try:
            dates = cftime.num2date(days[ok], units, calendar=cal)
        except ValueError as exc:
            raise TrackError(f"The time of the tracks file '{path}' cannot be decoded (units "
                             f"'{units}', calendar '{cal}': {exc}).") from None
        out[ok] = calendars.to_elapsed(np.asarray(dates, dtype=object), cal)
    return out, cal


def _text(values: np.ndarray) -> np.ndarray:
    """Decoded netCDF strings or bytes (a char dimension already joined by xarray) as str."""
    values = np.asarray(values)
    if values.dtype.kind == "S" and values.dtype.itemsize == 1 and values.ndim > 1:
        values = values.view(f"S{values.shape[-1]}")[..., 0]
    if values.dtype.kind in "SO":
        return np.vectorize(lambda v: (v.decode("utf-8", "replace") if isinstance(v, bytes)
                                       else str(v)).strip(), otypes=[str])(values)
    return values.astype(str)


def _number_text(values: np.ndarray) -> np.ndarray:
    """Numbers as the CSV writes them: integers without '.0', missing as ''."""
    out = np.full(values.shape, "", dtype=object)
    finite = np.isfinite(values)
    whole = finite & (values == np.round(values))
    out[whole] = [str(int(v)) for v in values[whole]]
    rest = finite & ~whole
    out[rest] = [f"{v:g}" for v in values[rest]]
    return out.astype(str)


def _read_netcdf(path: Path, calendar: str | None = None,
                 mapping: dict[str, str] | None = None) -> Points:
    import xarray as xr

    from dte_climate_cyclone import calendars
    from dte_climate_cyclone.io import engine_of

    try:
        engine = engine_of(path)[0]
        ds = xr.open_dataset(path, engine=engine, decode_times=False)
    except (OSError, ValueError, DteError) as exc:
        raise TrackError(f"The tracks file '{path}' cannot be opened as netCDF ({exc}).") from None
    with ds:
        have = [str(v) for v in ds.variables]
        rename = _rename(have, mapping or {}, path, "variable")
        present = set(rename.values())
        _required(present, path, have, "variable")
        source = {target: name for name, target in rename.items()}
        lat_var = ds[source["LAT"]]
        if lat_var.ndim != 2:
            raise TrackError(f"The tracks file '{path}' has '{source['LAT']}' on "
                             f"({', '.join(map(str, lat_var.dims))}); IBTrACS netCDF holds "
                             f"(storm, date_time) arrays.")
        storm, step = lat_var.dims
        shape = lat_var.shape
        lat = lat_var.values.astype(np.float64)
        lon = ds[source["LON"]].values.astype(np.float64)
        if "TIME" in source and not ("ISO_TIME" in source and calendar):
            time, cal = _decode_time(ds[source["TIME"]], path, calendar)
        else:
            cal = calendars.canonical(calendar)
            stamps = _text(ds[source["ISO_TIME"]].values)
            time = calendars.parse(stamps.ravel().tolist(), cal).reshape(shape)
        columns: dict[str, np.ndarray] = {}
        units: dict[str, str] = {}
        for name, target in rename.items():
            var = ds[name]
            if target in ("LAT", "LON", "TIME") or var.dims[:1] != (storm,) or \
                    var.ndim > 2 or (var.ndim == 2 and var.dims[1] != step):
                continue
            values = np.asarray(var.values)
            text = (_number_text(values.astype(np.float64)) if values.dtype.kind in "fiu"
                    else _text(values))
            columns[target] = np.broadcast_to(text[:, None], shape) if var.ndim == 1 else text
            if var.attrs.get("units"):
                units[target] = str(var.attrs["units"])
    keep = ~(np.isnan(lat) | np.isnan(lon) | np.isnat(time))
    sid = columns.pop("SID")
    columns.pop("ISO_TIME", None)
    columns = {k: np.asarray(v)[keep] for k, v in columns.items()}
    wind = _wind(columns, int(keep.sum()))
    return Points(np.asarray(sid)[keep], time[keep], lat[keep], wrap180(lon[keep]), wind, cal,
                  columns, units)


@dataclass
class Centres:
    """Cyclone centres at the fields' times, in grid coordinates."""

    t: np.ndarray      # time index
    row: np.ndarray    # fractional row (latitude index)
    col: np.ndarray    # fractional column (longitude index)
    lat: np.ndarray
    lon: np.ndarray
    wind: np.ndarray
    sid: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def subset(self, mask: np.ndarray) -> Centres:
        return Centres(*(getattr(self, k)[mask] for k in
                         ("t", "row", "col", "lat", "lon", "wind", "sid")))


def centres_on(points: Points, times: np.ndarray, grid: Grid, max_gap_h: float = 12.0
               ) -> Centres:
    """Each storm's position at every field time inside its life (linear in time between
    points at most `max_gap_h` apart), kept where it falls inside the grid."""
    field_s = times.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    out: dict[str, list] = {k: [] for k in ("t", "lat", "lon", "wind", "sid")}
    order = np.lexsort((points.time, points.sid))
    sid_sorted = points.sid[order]
    bounds = np.flatnonzero(np.r_[True, sid_sorted[1:] != sid_sorted[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        idx = order[a:b]
        if not len(idx):  # no track points at all (a file with zero cyclones)
            continue
        ts = points.time[idx].astype(np.int64).astype(np.float64)
        ts, unique = np.unique(ts, return_index=True)
        idx = idx[unique]
        inside = np.flatnonzero((field_s >= ts[0]) & (field_s <= ts[-1]))
        if not len(inside):
            continue
        at = field_s[inside]
        if len(ts) > 1:  # no interpolation across gaps in a track
            right = np.clip(np.searchsorted(ts, at, side="left"), 1, len(ts) - 1)
            ok = np.isin(at, ts) | (ts[right] - ts[right - 1] <= max_gap_h * 3600)
            inside, at = inside[ok], at[ok]
        lon_unwrapped = np.degrees(np.unwrap(np.radians(points.lon[idx])))
        out["t"].append(inside)
        out["lat"].append(np.interp(at, ts, points.lat[idx]))
        out["lon"].append(wrap180(np.interp(at, ts, lon_unwrapped)))
        wind = points.wind[idx]
        ok = ~np.isnan(wind)
        out["wind"].append(np.interp(at, ts[ok], wind[ok]) if ok.any()
                           else np.full(len(at), np.nan))
        out["sid"].append(np.full(len(at), points.sid[idx[0]]))
    arrays = {k: np.concatenate(v) if v else np.array([]) for k, v in out.items()}
    if not len(arrays["t"]):
        empty = np.array([])
        return Centres(empty.astype(int), empty, empty, empty, empty, empty, empty.astype(str))
    rows, cols = grid.fractional_index(arrays["lat"], arrays["lon"])
    keep = grid.contains(arrays["lat"], arrays["lon"])
    return Centres(arrays["t"].astype(int)[keep], rows[keep], cols[keep], arrays["lat"][keep],
                   arrays["lon"][keep], arrays["wind"][keep], arrays["sid"][keep])


def check_overlap(points: Points, centres: Centres, times: np.ndarray, grid: Grid,
                  path: Path) -> None:
    """Refuse tracks that give no centre inside the fields' domain and time range."""
    if len(centres):
        return
    if not len(points):
        raise TrackError(f"The tracks file '{path}' holds no track point.")
    from dte_climate_cyclone import calendars

    t_lo, t_hi = (calendars.label(t, points.calendar)[:16] for t in (times.min(), times.max()))
    p_lo, p_hi = (calendars.label(t, points.calendar)[:16]
                  for t in (points.time.min(), points.time.max()))
    in_time = (points.time >= times.min()) & (points.time <= times.max())
    lat0, lat1 = grid.lat[0], grid.lat[-1]
    lon0, lon1 = grid.lon[0], grid.lon[-1]
    why = (f"the tracks cover {p_lo} to {p_hi}, the fields {t_lo} to {t_hi}"
           if not in_time.any() else
           f"during the fields' time range the tracks lie at latitudes "
           f"{points.lat[in_time].min():.1f}..{points.lat[in_time].max():.1f} and longitudes "
           f"{points.lon[in_time].min():.1f}..{points.lon[in_time].max():.1f} (-180..180), the "
           f"fields cover latitudes {lat0:.2f}..{lat1:.2f} and longitudes {lon0:.2f}..{lon1:.2f}"
           f" ({grid.lon_convention})")
    raise TrackError(
        f"No cyclone of '{path}' falls inside the fields' domain and time range: {why}. Use "
        f"tracks of the same region and period (IBTrACS files by basin or season), or fields "
        f"that cover them.")
