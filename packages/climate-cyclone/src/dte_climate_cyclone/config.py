"""Configuration of climate-cyclone; the defaults run a short CPU job on generated fields."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from dte_core.schemas import CheckpointConfig, ScienceConfig, StrictModel, TrainConfig
from pydantic import Field, field_validator, model_validator

#: named regions: (lat_min, lat_max, lon_min, lon_max) in degrees, longitudes in -180..180
REGIONS: dict[str, tuple[float, float, float, float]] = {
    "wnp": (0.0, 50.0, 100.0, 180.0),     # western North Pacific
    "nat": (0.0, 50.0, -100.0, -20.0),    # North Atlantic
    "enp": (0.0, 40.0, -150.0, -80.0),    # eastern North Pacific
    "sio": (-45.0, 0.0, 40.0, 120.0),     # south Indian Ocean
    "tiny": (5.0, 45.0, 120.0, 160.0),    # a small box for tests
}
#: model inputs that the data may provide (CMIP6 names); uas/vas are the wind components
CHANNELS = ("sfcWind", "psl", "ta500", "ta300", "uas", "vas")


def parse_region(text: str) -> tuple[float, float, float, float]:
    """A region name or `lat_min,lat_max,lon_min,lon_max`, checked."""
    if text in REGIONS:
        return REGIONS[text]
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ValueError(f"data.region must be one of {', '.join(REGIONS)} or "
                         f"'lat_min,lat_max,lon_min,lon_max' in degrees, not {text!r}")
    lat0, lat1, lon0, lon1 = values
    if not (-90 <= lat0 < lat1 <= 90):
        raise ValueError(f"data.region latitudes must satisfy -90 <= lat_min < lat_max <= 90, "
                         f"got {lat0}, {lat1}")
    if not (-180 <= lon0 < lon1 <= 360) or lon1 - lon0 > 360:
        raise ValueError(f"data.region longitudes must satisfy lon_min < lon_max within -180..360,"
                         f" got {lon0}, {lon1}")
    return values  # type: ignore[return-value]


class VariableMapping(StrictModel):
    """Names of the input variables in a real dataset (null: found by their usual names)."""

    psl: str | None = None
    """Mean sea-level pressure [Pa]; tried when null: psl, msl, slp, mslp."""
    sfcWind: str | None = None  # noqa: N815 - the CMIP6 variable name
    """Near-surface wind speed or gust [m s-1]; tried: sfcWind, fg10, i10fg, si10, wsgsmax, then
    the speed of uas/vas (u10/v10)."""
    uas: str | None = None
    """Eastward near-surface wind [m s-1]; tried: uas, u10."""
    vas: str | None = None
    """Northward near-surface wind [m s-1]; tried: vas, v10."""
    ta500: str | None = None
    """Air temperature at 500 hPa [K]; tried: ta500, t500, then ta/t on a pressure axis."""
    ta300: str | None = None
    """Air temperature at 300 hPa [K]; tried: ta300, t300, then ta/t on a pressure axis."""


class TrackColumns(StrictModel):
    """Column (CSV) or variable (netCDF) names of a track table that is not laid out like
    IBTrACS (null: the IBTrACS name, any case, or its v03 WMO spelling)."""

    sid: str | None = None
    """Storm identifier (IBTrACS SID; v03 Serial_Num)."""
    iso_time: str | None = None
    """Date and time of the point, ISO 8601 ('2001-08-15 06:00:00')."""
    lat: str | None = None
    """Latitude [degrees_north]."""
    lon: str | None = None
    """Longitude [degrees_east], -180..180 or 0..360."""
    wmo_wind: str | None = None
    """Maximum sustained wind [knots] (the intensity is the larger of wmo_wind, usa_wind)."""
    wmo_pres: str | None = None
    """Central pressure [mb]."""
    usa_wind: str | None = None
    """Maximum sustained wind of US agencies [knots]."""
    usa_pres: str | None = None
    """Central pressure of US agencies [mb]."""
    season: str | None = None
    """Season (year)."""
    number: str | None = None
    """Storm number in its season."""
    basin: str | None = None
    """Basin code (NA, EP, WP, NI, SI, SP, SA)."""
    subbasin: str | None = None
    """Sub-basin code."""
    name: str | None = None
    """Storm name."""
    nature: str | None = None
    """Storm nature (TS, ET, DS, SS, NR, MX)."""


class DataConfig(StrictModel):
    """Gridded fields, cyclone tracks and the patches cut from them."""

    path: Path | None = None
    """A dataset folder from `dte data generate|prepare climate-cyclone`, or a zarr store /
    netCDF file of real fields (then `tracks` is needed); null: generate a small dataset into
    .dte/data/climate-cyclone and reuse it."""
    files: list[str] = []
    """Fields as files, folders or glob patterns, e.g. CMIP6 one variable per file split by
    period: `--set data.files='/d/psl_day_*.nc,/d/sfcWind_day_*.nc'` (instead of data.path;
    a variable's files are joined along time, lazily)."""
    time_range: list[str] | None = None
    """Only fields in [start, end] on their own calendar: `--set
    data.time_range=1980-01-01,1989-12-31` (an end date includes its whole day); null: all."""
    tracks: Path | None = None
    """Cyclone tracks in the IBTrACS layout (CSV or netCDF); null: the dataset's tracks.csv."""
    track_columns: TrackColumns = TrackColumns()
    """Names of a track table's columns when they are not IBTrACS' (`--set
    data.track_columns.sid=storm_id --set data.track_columns.iso_time=date`)."""
    tracks_calendar: str | None = None
    """CF calendar of the tracks' dates when the file does not say (CSV); null: the netCDF
    `calendar` attribute, else standard (IBTrACS). Must be the fields' calendar."""
    variables: list[str] = ["sfcWind", "psl", "ta500", "ta300"]
    """Input channels, in order (CMIP6 names: sfcWind, psl, ta500, ta300, uas, vas)."""
    mapping: VariableMapping = VariableMapping()
    """Variable names of a real dataset (`--set data.mapping.psl=msl`)."""
    nan: Literal["error", "fill"] = "error"
    """Missing values (land masks): `error`, or `fill` them with the variable's mean."""
    # ---- generation -------------------------------------------------------------------
    years: list[int] = [2001]
    """Years to generate (`--years 2001-2003` or `--years 2001,2005`)."""
    months: list[int] = [8, 9]
    """Months of each year to generate (the cyclone season)."""
    step_hours: int = Field(6, ge=1, le=24)
    """Hours between generated fields."""
    region: str = "wnp"
    """Region to generate: wnp, nat, enp, sio, tiny, or `lat_min,lat_max,lon_min,lon_max`."""
    resolution: float = Field(0.5, ge=0.1, le=2.0)
    """Grid spacing of generated fields [degrees]."""
    storms_per_month: float = Field(5.0, ge=0)
    """Mean number of tropical cyclones forming in the region per month."""
    lows_per_month: float = Field(10.0, ge=0)
    """Mean number of mid-latitude lows (with fronts) crossing the region per month."""
    format: Literal["zarr", "netcdf"] = "zarr"
    """Storage of generated fields: zarr v3 (chunked) or netCDF4 (h5netcdf)."""
    chunk_time: int = Field(8, ge=1)
    """Time steps per chunk of generated fields (patches are read a chunk at a time)."""
    seed: int = 0
    """Seed of the generated fields and of the patch sampling."""
    # ---- patches ----------------------------------------------------------------------
    patch_size: int = Field(40, ge=8)
    """Patches are patch_size x patch_size grid cells."""
    min_wind_kt: float = Field(34.0, ge=0)
    """Track points at least this strong (WMO_WIND, knots) are cyclones to locate."""
    cyclone_patches: int = Field(2, ge=0)
    """Patches per cyclone and time step, each with the centre at a random place."""
    adjacent_patches: int = Field(2, ge=0)
    """Patches next to each cyclone patch (one patch width away), mostly without a centre."""
    random_patches: int = Field(2, ge=0)
    """Patches at random places per time step."""
    augment: bool = True
    """Random flips and quarter turns of training patches (targets and winds follow)."""
    val_fraction: float = Field(0.2, gt=0, lt=1)
    """Last fraction of the time axis held out for validation and evaluation."""
    shuffle_chunks: int = Field(8, ge=1)
    """Time chunks mixed together when shuffling (more: better mixing, more memory)."""

    @field_validator("years", mode="before")
    @classmethod
    def _year_range(cls, value: Any) -> Any:
        items = value if isinstance(value, list | tuple) else [value]
        years: list[Any] = []
        for item in items:
            if isinstance(item, str) and re.fullmatch(r"\s*\d{4}\s*-\s*\d{4}\s*", item):
                lo, hi = (int(v) for v in item.split("-"))
                years.extend(range(lo, hi + 1))
            else:
                years.append(item)
        return years

    @field_validator("years")
    @classmethod
    def _years(cls, value: list[int]) -> list[int]:
        if not value or any(not 1850 <= y <= 2300 for y in value):
            raise ValueError("give one or more years between 1850 and 2300, e.g. 2001-2003")
        return sorted(set(value))

    @field_validator("months", mode="before")
    @classmethod
    def _one_month(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value

    @field_validator("months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if not value or any(not 1 <= m <= 12 for m in value):
            raise ValueError("give months as numbers 1-12, e.g. 8,9,10")
        return sorted(set(value))

    @field_validator("region", mode="before")
    @classmethod
    def _region_text(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        parse_region(value)
        return value

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in CHANNELS]
        if unknown or not value:
            raise ValueError(f"unknown input variable(s) {unknown}; choose from "
                             f"{', '.join(CHANNELS)}")
        if len(set(value)) != len(value):
            raise ValueError("each variable may appear once")
        if ("uas" in value) != ("vas" in value):
            raise ValueError("uas and vas go together (flips and turns rotate the wind vector)")
        return value

    @field_validator("time_range", mode="before")
    @classmethod
    def _range_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in re.split(r"/|\.\.|,", value) if v.strip()]
        return value

    @field_validator("time_range")
    @classmethod
    def _range(cls, value: list[str] | None) -> list[str] | None:
        date = r"-?\d{1,4}-\d{1,2}-\d{1,2}([T ]\d{1,2}(:\d{1,2}){0,2})?"
        if value is not None and (len(value) != 2 or
                                  not all(re.fullmatch(date, v.strip()) for v in value)):
            raise ValueError("give data.time_range as two dates START,END (YYYY-MM-DD or "
                             "'YYYY-MM-DD HH:MM'), e.g. 1980-01-01,1989-12-31")
        return value

    @field_validator("tracks_calendar")
    @classmethod
    def _calendar(cls, value: str | None) -> str | None:
        from dte_climate_cyclone.calendars import NAMES

        if value is not None and value.strip().lower() not in NAMES:
            raise ValueError(f"data.tracks_calendar must be a CF calendar: {', '.join(NAMES)}")
        return value

    @field_validator("path", "tracks")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"'{value}' does not exist; create it with `dte data generate "
                             f"climate-cyclone --out DIR` or give the right path")
        return value

    @model_validator(mode="after")
    def _tracks_for_real_fields(self) -> DataConfig:
        if self.files and self.path is not None:
            raise ValueError(f"give the fields either as data.path ('{self.path}') or as "
                             f"data.files, not both: --set data.path=null")
        if self.files and self.tracks is None:
            raise ValueError("data.files are fields, so the cyclone tracks must be given too: "
                             "--set data.tracks=IBTrACS.csv (or .nc)")
        path = self.path
        if path is not None and path.is_file() and self.tracks is None:
            raise ValueError(f"data.path '{path}' is a fields file, so the cyclone tracks must "
                             f"be given too: --set data.tracks=IBTrACS.csv (or .nc)")
        return self

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return parse_region(self.region)


class ModelConfig(StrictModel):
    """The VGG-like encoder and its centre heat-map decoder (0.43M parameters by default)."""

    filters: list[int] = [32, 64, 128]
    """Filters of each convolution block (each block but the last ends with 2x2 max pooling;
    the decoder mirrors them back up to the input resolution)."""
    convs_per_block: int = Field(2, ge=1, le=4)
    """3x3 convolutions per block."""
    dropout: float = Field(0.0, ge=0, lt=1)
    """Spatial dropout of the deepest features."""

    @field_validator("filters")
    @classmethod
    def _filters(cls, value: list[int]) -> list[int]:
        if not 1 <= len(value) <= 5 or any(f < 1 for f in value):
            raise ValueError("give 1 to 5 positive filter counts, e.g. 32,64,128")
        return value


class LossConfig(StrictModel):
    """The centre heat map the network learns, and how its cells are weighed."""

    sigma_cells: float = Field(1.5, gt=0.3, le=6)
    """Width (standard deviation, grid cells) of the Gaussian drawn at every centre."""
    centre_weight: float = Field(10.0, ge=0)
    """Extra weight of cells near a centre in the cross-entropy: a cell weighs 1 +
    centre_weight x its target, so the few cyclone cells are not drowned by the background."""


class OptimConfig(StrictModel):
    """Optimizer and learning rate."""

    lr: float = Field(1e-3, gt=0)
    """Learning rate of Adam."""
    weight_decay: float = Field(0.0, ge=0)
    """Decoupled weight decay (AdamW) when positive."""
    schedule: Literal["constant", "cosine"] = "cosine"
    """Learning rate over the run: constant, or cosine decay to a tenth of `lr`."""


class EvaluateConfig(StrictModel):
    """`dte evaluate` and `dte predict`: field-level detection, matching and tracking."""

    threshold: float = Field(0.5, gt=0, lt=1)
    """Height of the heat map (a probability) above which a local maximum is a centre."""
    match_km: float = Field(150.0, gt=0)
    """A detected centre within this distance (great circle) of a true one matches it."""
    suppress_km: float = Field(250.0, ge=0)
    """Of two peaks closer than this, only the stronger is a centre (network and baseline)."""
    max_speed_kmh: float = Field(80.0, gt=0)
    """Tracking: a centre moves at most this fast between consecutive time steps."""
    min_track_steps: int = Field(3, ge=1)
    """Tracking: a track holds at least this many time steps (shorter chains are no track)."""
    stride: int | None = Field(None, ge=1)
    """Tiles start every `stride` cells over a field; null: half a patch."""
    tune_times: int = Field(48, ge=1)
    """Training time steps (evenly spread) on which the baseline's threshold is tuned."""
    maps: int = Field(4, ge=0)
    """Held-out time steps drawn as maps of true and detected centres and tracks."""


class CycloneConfig(ScienceConfig):
    """Everything a climate-cyclone run needs."""

    data: DataConfig = DataConfig()
    """Data generation and loading."""
    model: ModelConfig = ModelConfig()
    """Network architecture."""
    loss: LossConfig = LossConfig()
    """Loss weights."""
    optim: OptimConfig = OptimConfig()
    """Optimization."""
    train: TrainConfig = TrainConfig(epochs=12, batch_size=32,
                                     checkpoint=CheckpointConfig(best_monitor="val/loss"))
    """Generic training loop."""
    evaluate: EvaluateConfig = EvaluateConfig()
    """Evaluation and prediction."""

    @model_validator(mode="after")
    def _patch_fits_the_decoder(self) -> CycloneConfig:
        levels = 2 ** (len(self.model.filters) - 1)
        if self.data.patch_size % levels:
            raise ValueError(f"data.patch_size={self.data.patch_size} must be a multiple of "
                             f"{levels} for {len(self.model.filters)} blocks of model.filters "
                             f"(each but the last halves the patch); e.g. --set "
                             f"data.patch_size={self.data.patch_size // levels * levels or levels}")
        return self
