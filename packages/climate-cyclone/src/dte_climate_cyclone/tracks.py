"""Cyclone tracks in the IBTrACS layout (CSV and netCDF), and the centres they give a grid.

CSV: IBTrACS v04 columns (SID, SEASON, NUMBER, BASIN, SUBBASIN, NAME, ISO_TIME, NATURE, LAT,
LON, WMO_WIND, WMO_PRES, ..., USA_WIND, USA_PRES, USA_RMW, STORM_SPEED, STORM_DIR), the second
line holding units, blanks for missing values. netCDF: IBTrACS dimensions (storm, date_time)
with variables sid, name, time (days since 1858-11-17), lat, lon, wmo_wind, wmo_pres, usa_wind,
usa_rmw. Reading needs only SID, ISO_TIME (or time), LAT, LON; the intensity is the larger of
WMO_WIND and USA_WIND (agencies fill different columns).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def write_csv(rows: list[dict], path: Path) -> None:
    """IBTrACS CSV: header, units line, one row per track point."""
    import csv

    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerow([UNITS.get(c, " ") for c in COLUMNS])
        for row in rows:
            writer.writerow([row.get(c, " ") for c in COLUMNS])


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


@dataclass
class Points:
    """Track points: one entry per (storm, time)."""

    sid: np.ndarray
    time: np.ndarray   # datetime64[s]
    lat: np.ndarray
    lon: np.ndarray    # -180..180
    wind: np.ndarray   # knots, NaN unknown
    calendar: str = "standard"

    def __len__(self) -> int:
        return len(self.sid)


def read(path: Path, calendar: str | None = None) -> Points:
    """IBTrACS-layout tracks from CSV or netCDF, with errors that name what is missing;
    `calendar`: of the dates (null: the netCDF's own, else standard)."""
    if path.suffix.lower() in (".nc", ".nc4", ".netcdf", ".h5"):
        return _read_netcdf(path, calendar)
    return _read_csv(path, calendar)


def read_for(path: Path, fields, calendar: str | None = None, config=None) -> Points:
    """The tracks at `path` for `fields`: read, and refused when on another calendar."""
    from dte_climate_cyclone import calendars

    points = read(path, calendar)
    calendars.check_same(fields.calendar, points.calendar,
                         ", ".join(dict.fromkeys(fields.origin.values())), str(path))
    return points


def _read_csv(path: Path, calendar: str | None = None) -> Points:
    import pandas as pd

    from dte_climate_cyclone import calendars

    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=["", " "], dtype=str,
                            skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise TrackError(f"The tracks file '{path}' cannot be read as CSV ({exc}).") from None
    frame.columns = [c.strip().upper() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise TrackError(
            f"The tracks file '{path}' lacks the IBTrACS column(s) {', '.join(missing)}; it has: "
            f"{', '.join(frame.columns[:30]) or 'none'}. Tracks need at least SID, ISO_TIME, LAT, "
            f"LON (and WMO_WIND or USA_WIND), as in IBTrACS v04 CSV files.")
    if len(frame) and pd.to_numeric(frame["LAT"].iloc[:1], errors="coerce").isna().all():
        frame = frame.iloc[1:]  # the units line
    lat = pd.to_numeric(frame["LAT"], errors="coerce").to_numpy(np.float64)
    lon = pd.to_numeric(frame["LON"], errors="coerce").to_numpy(np.float64)
    cal = calendars.canonical(calendar)
    times = pd.Series(calendars.parse(frame["ISO_TIME"].tolist(), cal))
    _refuse_bad_dates(frame["ISO_TIME"], times.isna().to_numpy(), cal, path, calendar)
    winds = [pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64)
             for c in ("WMO_WIND", "USA_WIND") if c in frame.columns]
    wind = np.fmax.reduce(winds) if winds else np.full(len(frame), np.nan)
    bad = np.isnan(lat) | np.isnan(lon) | times.isna().to_numpy()
    if bad.all() and len(frame):
        raise TrackError(f"No row of '{path}' has a valid ISO_TIME, LAT and LON (first row: "
                         f"{dict(frame.iloc[0])}).")
    keep = ~bad
    return Points(frame["SID"].to_numpy(str)[keep],
                  times.to_numpy("datetime64[s]")[keep], lat[keep],
                  wrap180(lon[keep]), wind[keep], cal)


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
    fill = var.attrs.get("_FillValue", var.encoding.get("_FillValue"))
    if fill is not None:
        ok &= days != float(fill)
    if ok.any():
        try:
            dates = cftime.num2date(days[ok], units, calendar=cal)
        except ValueError as exc:
            raise TrackError(f"The time of the tracks file '{path}' cannot be decoded (units "
                             f"'{units}', calendar '{cal}': {exc}).") from None
        out[ok] = calendars.to_elapsed(np.asarray(dates, dtype=object), cal)
    return out, cal


def _read_netcdf(path: Path, calendar: str | None = None) -> Points:
    import xarray as xr

    from dte_climate_cyclone.io import engine_of

    try:
        engine = engine_of(path)[0]
        ds = xr.open_dataset(path, engine=engine, decode_times=False)
    except (OSError, ValueError, DteError) as exc:
        raise TrackError(f"The tracks file '{path}' cannot be opened as netCDF ({exc}).") from None
    with ds:
        missing = [v for v in ("sid", "time", "lat", "lon") if v not in ds.variables]
        if missing:
            raise TrackError(
                f"The tracks file '{path}' lacks the IBTrACS variable(s) {', '.join(missing)}; "
                f"it has: {', '.join(map(str, ds.variables))}.")
        time, cal = _decode_time(ds["time"], path, calendar)
        lat, lon = ds["lat"].values.astype(np.float64), ds["lon"].values.astype(np.float64)
        winds = [ds[v].values.astype(np.float64) for v in ("wmo_wind", "usa_wind")
                 if v in ds.variables]
        raw = np.asarray(ds["sid"].values)
        if raw.ndim > 1:  # undecoded (storm, char) bytes
            raw = np.array([b"".join(row) for row in raw])
        sid = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in raw]).astype(str)
        sid = np.char.strip(sid)
    wind = np.fmax.reduce(winds) if winds else np.full(lat.shape, np.nan)
    sids = np.broadcast_to(sid[:, None], lat.shape)
    keep = ~(np.isnan(lat) | np.isnan(lon) | np.isnat(time))
    return Points(sids[keep], time[keep], lat[keep], wrap180(lon[keep]), wind[keep], cal)


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
