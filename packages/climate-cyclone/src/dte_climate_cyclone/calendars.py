"""CF calendars: one time arithmetic for fields and tracks, whatever calendar they are on.

Times inside dte are `datetime64[s]` values that count the seconds elapsed since 1970-01-01
00:00 *in the data's own calendar* (cftime's `date2num`). On the standard (Gregorian) calendar
these are the ordinary dates; on `noleap`, `360_day`, ... they keep time differences right (a
360-day year is 360 days long) and `label()` turns them back into the calendar's own dates
for anything a user reads. Fields and tracks must be on the same calendar for their times to
mean the same thing: `check_same()` refuses a mix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from dte_core.errors import DteError

UNITS = "seconds since 1970-01-01 00:00:00"

#: CF calendar names and their synonyms, to one canonical name each
CANONICAL = {"standard": "standard", "gregorian": "standard", "proleptic_gregorian": "standard",
             "noleap": "noleap", "365_day": "noleap", "all_leap": "all_leap",
             "366_day": "all_leap", "360_day": "360_day", "julian": "julian"}
NAMES = ("standard", "gregorian", "proleptic_gregorian", "noleap", "365_day", "all_leap",
         "366_day", "360_day", "julian")
_ISO = re.compile(r"^\s*(-?\d{1,4})-(\d{1,2})-(\d{1,2})(?:[T\s]+(\d{1,2})(?::(\d{1,2}))?"
                  r"(?::(\d{1,2})(?:\.\d*)?)?)?\s*$")


class CalendarError(DteError):
    """Times that cannot be read on their calendar, or calendars that do not go together."""


def canonical(calendar: str | None) -> str:
    """The canonical CF name of `calendar` (None: the standard calendar)."""
    if calendar is None or str(calendar).strip() == "":
        return "standard"
    name = str(calendar).strip().lower()
    if name not in CANONICAL:
        raise CalendarError(f"Unknown CF calendar {calendar!r}; CF calendars are "
                            f"{', '.join(NAMES)}.")
    return CANONICAL[name]


def calendar_of(values: np.ndarray, encoding_calendar: str | None = None) -> str:
    """The calendar of decoded time values (datetime64: standard; cftime: theirs)."""
    if np.issubdtype(values.dtype, np.datetime64):
        return canonical(encoding_calendar) if encoding_calendar else "standard"
    for value in values.ravel():
        cal = getattr(value, "calendar", None)
        if cal:
            return canonical(cal)
    return canonical(encoding_calendar)


def to_elapsed(values: np.ndarray, calendar: str) -> np.ndarray:
    """Decoded times (datetime64 or cftime objects) as datetime64[s] elapsed in `calendar`."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.datetime64):
        if canonical(calendar) != "standard":  # xarray decodes only real dates to datetime64
            values = _as_cftime(values, calendar)
        else:
            return values.astype("datetime64[s]")
    import cftime

    flat = values.ravel()
    ok = np.array([v is not None and not (isinstance(v, float) and np.isnan(v))
                   for v in flat], dtype=bool)
    out = np.full(flat.shape, np.datetime64("NaT", "s"))
    if ok.any():
        seconds = cftime.date2num(list(flat[ok]), UNITS, calendar=calendar)
        out[ok] = np.round(np.asarray(seconds, np.float64)).astype(np.int64).astype(
            "datetime64[s]")
    return out.reshape(values.shape)


def _as_cftime(values: np.ndarray, calendar: str) -> np.ndarray:
    import cftime

    out = []
    for v in values.astype("datetime64[s]").astype(object):
        out.append(None if v is None else cftime.datetime(v.year, v.month, v.day, v.hour,
                                                          v.minute, v.second,
                                                          calendar=calendar))
    return np.array(out, dtype=object)


def parse(texts: Sequence[str], calendar: str) -> np.ndarray:
    """ISO date strings ('2001-08-15 06:00:00') on `calendar` as datetime64[s] elapsed; a
    string that is not a date of that calendar (2001-02-30 on the standard one) is NaT."""
    calendar = canonical(calendar)
    if calendar == "standard":
        import pandas as pd

        return pd.to_datetime(pd.Series(list(texts), dtype=object), errors="coerce",
                              format="mixed").to_numpy("datetime64[s]")
    import cftime

    out = np.full(len(texts), np.datetime64("NaT", "s"))
    for i, text in enumerate(texts):
        match = _ISO.match(str(text)) if text is not None else None
        if not match:
            continue
        parts = [int(p) if p else 0 for p in match.groups()]
        try:
            date = cftime.datetime(*parts, calendar=calendar)
        except ValueError:
            continue
        out[i] = np.datetime64(int(round(cftime.date2num(date, UNITS, calendar=calendar))), "s")
    return out


def labels(times: Iterable[np.datetime64] | np.ndarray, calendar: str) -> list[str]:
    """'YYYY-MM-DD HH:MM:SS' of elapsed times, in `calendar`'s own dates."""
    times = np.asarray(times, dtype="datetime64[s]")
    if canonical(calendar) == "standard":
        return [str(t).replace("T", " ") for t in times]
    import cftime

    out = []
    for t in times:
        if np.isnat(t):
            out.append("NaT")
            continue
        date = cftime.num2date(int(t.astype(np.int64)), UNITS, calendar=calendar)
        out.append(f"{date.year:04d}-{date.month:02d}-{date.day:02d} {date.hour:02d}:"
                   f"{date.minute:02d}:{date.second:02d}")
    return out


def label(time: np.datetime64, calendar: str) -> str:
    return labels([time], calendar)[0]


def check_same(fields_calendar: str, tracks_calendar: str, fields: str, tracks: str) -> None:
    """Refuse fields and tracks on different calendars: the same date would be another time."""
    a, b = canonical(fields_calendar), canonical(tracks_calendar)
    if a == b:
        return
    raise CalendarError(
        f"The fields ({fields}) are on the '{a}' calendar, the tracks ({tracks}) on the '{b}' "
        f"calendar, so their dates do not mean the same times (and days such as Feb 29 or Feb 30 "
        f"exist in one only). Use tracks of the same data: observed tracks (IBTrACS, standard "
        f"calendar) go with reanalysis fields such as ERA5, and model fields (CMIP6, often "
        f"noleap or 360_day) with tracks detected in that model run. If the tracks are on the "
        f"fields' calendar but the file does not say so (a CSV), set it: "
        f"--set data.tracks_calendar={a}.")
