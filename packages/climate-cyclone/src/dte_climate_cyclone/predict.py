"""`dte predict climate-cyclone`: cyclone centres detected in whole fields and linked into
tracks, as CSV (one row per centre and time step; TRACK blank where a centre is on no track)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import ConfigError

from dte_climate_cyclone import io
from dte_climate_cyclone.detect import Found, heat_maps, network_centres, radius_cells
from dte_climate_cyclone.linking import link

OPTIONS = ("threshold", "stride", "max_times")
COLUMNS = ["ISO_TIME", "LAT", "LON", "PROB", "ROW", "COL", "TRACK"]


def _options(options: dict[str, str], config: Any) -> tuple[float, int | None, int | None]:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"Unknown option(s) {', '.join('--' + u for u in unknown)} for "
                          f"`dte predict climate-cyclone`; it takes --threshold P, --stride "
                          f"CELLS and --max-times N.")
    try:
        threshold = float(options.get("threshold", config.evaluate.threshold))
        stride = int(options["stride"]) if "stride" in options else None
        max_times = int(options["max_times"]) if "max_times" in options else None
    except ValueError as exc:
        raise ConfigError(f"A predict option is not a number ({exc}).") from None
    if not 0 < threshold < 1 or (stride is not None and stride < 1) or \
            (max_times is not None and max_times < 1):
        raise ConfigError("--threshold must lie in (0, 1); --stride and --max-times must be "
                          "at least 1.")
    return threshold, stride, max_times


def predict(config: Any, models: dict[str, Any], output: Path, inputs: Path | None,
            options: dict[str, str]) -> Path:
    threshold, stride, max_times = _options(options, config)
    data = config.data
    if inputs is not None:
        fields = io.open_fields(inputs, data.variables, data.mapping, data.time_range)
        times = list(range(len(fields.times)))
    else:
        from dte_climate_cyclone.data import CycloneData

        opened = CycloneData.open(config)
        fields = opened.fields
        times = list(range(opened.split, len(fields.times)))
    if min(fields.grid.shape) < data.patch_size:
        raise ConfigError(f"The fields' grid {fields.grid.shape} is smaller than one patch "
                          f"(data.patch_size={data.patch_size}).")
    times = times[:max_times] if max_times else times
    fill = None
    if data.nan == "fill":
        stats = io.compute_stats(fields, data.variables)
        fill = np.array([stats[n]["mean"] for n in data.variables], np.float32)
    ev = config.evaluate
    radius = radius_cells(fields.grid, ev.suppress_km)
    found = Found()
    for t, heat in heat_maps(models["net"], fields, times, data.variables, data.patch_size,
                             stride or ev.stride, fill):
        found.add(t, network_centres(heat, threshold, radius))
    arr = found.arrays()
    lat, lon = fields.grid.position(arr["row"], arr["col"])
    seconds = fields.times.astype("datetime64[s]").astype(np.int64)
    track = link(arr["t"], lat, lon, (seconds - seconds[0]) / 3600.0, ev.max_speed_kmh,
                 ev.min_track_steps)
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for k in np.lexsort((arr["col"], arr["row"], arr["t"])):
            writer.writerow([fields.label(int(arr["t"][k])), round(float(lat[k]), 3),
                             round(float(lon[k]), 3), round(float(arr["score"][k]), 4),
                             round(float(arr["row"][k]), 2), round(float(arr["col"][k]), 2),
                             "" if track[k] < 0 else int(track[k])])
    tmp.replace(output)
    return output
