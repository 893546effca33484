"""Fields as the community writes them: netCDF-3 (classic, 64-bit offset), netCDF-4, zarr, CF
calendars through cftime, CMIP6 one-variable-per-file archives split by period, pressure levels
in Pa or hPa, and the grids dte refuses. Every file is written by xarray's own writers."""

from __future__ import annotations

import cftime
import numpy as np
import pytest
import xarray as xr
from dte_climate_cyclone import calendars, io, tracks
from dte_climate_cyclone.config import CycloneConfig, VariableMapping

LAT = np.arange(10.0, 30.0, 1.0)
LON = np.arange(120.0, 140.0, 1.0)
CHANNELS = ["sfcWind", "psl", "ta500", "ta300"]


def cmip_like(times, calendar: str = "standard", plev_units: str = "Pa",
              seed: int = 0) -> xr.Dataset:
    """psl [Pa], sfcWind [m s-1], ta on pressure levels, CMIP6 names, on `times`."""
    rng = np.random.default_rng(seed)
    shape = (len(times), len(LAT), len(LON))
    scale = 1.0 if plev_units == "Pa" else 0.01
    plev = np.array([85000.0, 50000.0, 30000.0]) * scale
    ta = 240 + 30 * rng.random((len(times), 3, len(LAT), len(LON)))
    ds = xr.Dataset(
        {"psl": (("time", "lat", "lon"), 101000 + 500 * rng.random(shape), {"units": "Pa"}),
         "sfcWind": (("time", "lat", "lon"), 10 * rng.random(shape), {"units": "m s-1"}),
         "ta": (("time", "plev", "lat", "lon"), ta, {"units": "K"})},
        coords={"time": times, "plev": ("plev", plev, {"units": plev_units}),
                "lat": ("lat", LAT, {"units": "degrees_north"}),
                "lon": ("lon", LON, {"units": "degrees_east"})})
    ds["time"].encoding.update({"units": "hours since 1850-01-01", "calendar": calendar})
    return ds


def cf_times(start: tuple[int, int, int], count: int, calendar: str, hours: int = 6):
    first = cftime.datetime(*start, calendar=calendar)
    units = "hours since 1850-01-01"
    base = cftime.date2num(first, units, calendar=calendar)
    return cftime.num2date(base + hours * np.arange(count), units, calendar=calendar)


def std_times(count: int = 12, start: str = "2001-08-01"):
    return np.datetime64(start) + np.arange(count) * np.timedelta64(6, "h")


def _check(fields: io.Fields, ds: xr.Dataset) -> None:
    block = fields.read(2, 4, CHANNELS)
    np.testing.assert_allclose(block[..., 1], ds["psl"].values[2:4], rtol=1e-6)
    np.testing.assert_allclose(block[..., 2], ds["ta"].values[2:4, 1], rtol=1e-6)
    np.testing.assert_allclose(block[..., 3], ds["ta"].values[2:4, 2], rtol=1e-6)
    assert fields.grid.shape == (len(LAT), len(LON))


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT"])
def test_netcdf3_files_are_read_with_the_scipy_engine(tmp_path, fmt):
    ds = cmip_like(std_times())
    path = tmp_path / f"psl_{fmt}.nc"
    ds.to_netcdf(path, format=fmt, engine="scipy")
    assert path.read_bytes()[:4] == (b"CDF\x01" if fmt == "NETCDF3_CLASSIC" else b"CDF\x02")
    assert io.engine_of(path)[0] == "scipy"
    fields = io.open_fields(path, CHANNELS, VariableMapping())
    _check(fields, ds)
    assert fields.calendar == "standard"
    assert fields.label(0) == "2001-08-01 00:00:00"


def test_netcdf4_file_is_read_with_h5netcdf(tmp_path):
    ds = cmip_like(std_times())
    ds.to_netcdf(tmp_path / "f.nc", engine="h5netcdf", format="NETCDF4")
    assert io.engine_of(tmp_path / "f.nc") == ("h5netcdf", "netCDF-4/HDF5")
    _check(io.open_fields(tmp_path / "f.nc", CHANNELS, VariableMapping()), ds)


def test_zarr_store_is_read(tmp_path):
    ds = cmip_like(cf_times((2001, 8, 1), 12, "noleap"), "noleap")
    ds.to_zarr(tmp_path / "f.zarr", zarr_format=3, consolidated=False)
    fields = io.open_fields(tmp_path / "f.zarr", CHANNELS, VariableMapping())
    _check(fields, ds)
    assert fields.calendar == "noleap"


def test_noleap_calendar_keeps_time_differences_and_dates(tmp_path):
    times = cf_times((2004, 2, 28), 8, "noleap")  # a leap year: noleap has no Feb 29
    ds = cmip_like(times, "noleap")
    ds.to_netcdf(tmp_path / "noleap.nc", format="NETCDF3_CLASSIC", engine="scipy")
    fields = io.open_fields(tmp_path / "noleap.nc", CHANNELS, VariableMapping())
    assert fields.calendar == "noleap"
    steps = np.diff(fields.times).astype("timedelta64[h]").astype(int)
    assert set(steps) == {6}  # Feb 28 18:00 -> Mar 1 00:00 is 6 hours on noleap
    assert fields.label(4) == "2004-03-01 00:00:00"


def test_360_day_calendar_has_february_30(tmp_path):
    times = cf_times((2001, 2, 29), 8, "360_day")
    ds = cmip_like(times, "360_day")
    ds.to_netcdf(tmp_path / "d360.nc", engine="h5netcdf")
    fields = io.open_fields(tmp_path / "d360.nc", CHANNELS, VariableMapping())
    assert fields.calendar == "360_day"
    assert fields.label(4) == "2001-02-30 00:00:00"
    assert fields.label(7) == "2001-02-30 18:00:00"
    _check(fields, ds)


def _cmip6_archive(tmp_path, calendar="noleap"):
    """psl in two files split by period, sfcWind and ta in one each (CMIP6 names)."""
    times = cf_times((1980, 1, 1), 16, calendar, hours=24)
    ds = cmip_like(times, calendar)
    model = "MODEL_historical_r1i1p1f1_gn"
    ds[["psl"]].isel(time=slice(0, 8)).to_netcdf(
        tmp_path / f"psl_day_{model}_19800101-19800108.nc", format="NETCDF3_64BIT",
        engine="scipy")
    ds[["psl"]].isel(time=slice(8, 16)).to_netcdf(
        tmp_path / f"psl_day_{model}_19800109-19800116.nc", format="NETCDF3_64BIT",
        engine="scipy")
    ds[["sfcWind"]].to_netcdf(tmp_path / f"sfcWind_day_{model}_19800101-19800116.nc",
                              engine="h5netcdf")
    ds[["ta"]].to_netcdf(tmp_path / f"ta_day_{model}_19800101-19800116.nc", engine="h5netcdf")
    return ds


def test_cmip6_files_split_by_variable_and_period_are_joined(tmp_path):
    ds = _cmip6_archive(tmp_path)
    patterns = [str(tmp_path / "psl_day_*.nc"), str(tmp_path / "sfcWind_day_*.nc"),
                str(tmp_path / "ta_day_*.nc")]
    fields = io.open_fields(patterns, CHANNELS, VariableMapping())
    assert len(fields.times) == 16 and fields.calendar == "noleap"
    assert "(2 files)" in fields.origin["psl"]
    block = fields.read(6, 10, CHANNELS)  # across the two psl files
    np.testing.assert_allclose(block[..., 1], ds["psl"].values[6:10], rtol=1e-6)
    assert fields.arrays["psl"].chunks is not None  # lazy (dask)


def test_a_folder_of_cmip6_files_and_data_files_config(tmp_path):
    _cmip6_archive(tmp_path)
    _csv(tmp_path / "tracks.csv", ["1980-01-03 00:00:00"])
    config = CycloneConfig.model_validate({"data": {
        "files": [str(tmp_path / "*_day_*.nc")], "tracks": str(tmp_path / "tracks.csv"),
        "time_range": "1980-01-03,1980-01-10"}})
    assert config.data.time_range == ["1980-01-03", "1980-01-10"]
    fields = io.open_fields(tmp_path, CHANNELS, VariableMapping(), config.data.time_range)
    assert fields.label(0) == "1980-01-03 00:00:00"
    assert fields.label(-1) == "1980-01-10 00:00:00" and len(fields.times) == 8


def test_time_range_outside_the_fields_is_refused(tmp_path):
    _cmip6_archive(tmp_path)
    with pytest.raises(io.FieldsError, match="outside the period the fields cover"):
        io.open_fields(tmp_path, CHANNELS, VariableMapping(), ["1990-01-01", "1990-12-31"])


def test_time_range_date_not_on_the_calendar_is_refused(tmp_path):
    _cmip6_archive(tmp_path)
    with pytest.raises(io.FieldsError, match="not a date of the fields' 'noleap' calendar"):
        io.open_fields(tmp_path, CHANNELS, VariableMapping(), ["1980-02-29", "1980-03-10"])


def test_overlapping_files_of_one_variable_are_refused(tmp_path):
    ds = cmip_like(std_times(12))
    ds[["psl"]].isel(time=slice(0, 8)).to_netcdf(tmp_path / "psl_a.nc", engine="h5netcdf")
    ds[["psl"]].isel(time=slice(4, 12)).to_netcdf(tmp_path / "psl_b.nc", engine="h5netcdf")
    ds[["sfcWind", "ta"]].to_netcdf(tmp_path / "rest.nc", engine="h5netcdf")
    with pytest.raises(io.FieldsError, match="overlap in time: psl_a.nc covers"):
        io.open_fields(tmp_path, CHANNELS, VariableMapping())


def test_variables_whose_periods_do_not_overlap_are_refused(tmp_path):
    cmip_like(std_times(8, "1980-01-01"))[["psl", "ta"]].to_netcdf(tmp_path / "a.nc",
                                                                   engine="h5netcdf")
    cmip_like(std_times(8, "1990-01-01"))[["sfcWind"]].to_netcdf(tmp_path / "b.nc",
                                                                 engine="h5netcdf")
    with pytest.raises(io.FieldsError, match="time axes do not overlap") as err:
        io.open_fields(tmp_path, CHANNELS, VariableMapping())
    assert "1990-01-01 00:00:00" in str(err.value) and "1980-01-01" in str(err.value)


def test_partly_overlapping_variables_use_the_common_period(tmp_path, capsys):
    cmip_like(std_times(12, "1980-01-01"))[["psl", "ta"]].to_netcdf(tmp_path / "a.nc",
                                                                    engine="h5netcdf")
    cmip_like(std_times(12, "1980-01-02"))[["sfcWind"]].to_netcdf(tmp_path / "b.nc",
                                                                  engine="h5netcdf")
    fields = io.open_fields(tmp_path, CHANNELS, VariableMapping())
    assert len(fields.times) == 8 and fields.label(0) == "1980-01-02 00:00:00"
    assert "the period all variables cover" in capsys.readouterr().err


def test_variables_on_different_calendars_are_refused(tmp_path):
    cmip_like(cf_times((1980, 1, 1), 8, "noleap"), "noleap")[["psl", "ta"]].to_netcdf(
        tmp_path / "a.nc", engine="h5netcdf")
    cmip_like(std_times(8, "1980-01-01"))[["sfcWind"]].to_netcdf(tmp_path / "b.nc",
                                                                 engine="h5netcdf")
    with pytest.raises(io.FieldsError, match="on the 'standard' calendar, 'psl' .* on 'noleap'"):
        io.open_fields(tmp_path, CHANNELS, VariableMapping())


@pytest.mark.parametrize("units", ["Pa", "hPa", "millibars", ""])
def test_pressure_levels_in_pa_or_hpa(tmp_path, units):
    ds = cmip_like(std_times(), plev_units=units or "hPa")
    if not units:
        del ds["plev"].attrs["units"]
    ds = ds.rename(plev="level")
    ds.to_netcdf(tmp_path / "f.nc", engine="h5netcdf")
    fields = io.open_fields(tmp_path / "f.nc", CHANNELS, VariableMapping())
    assert "at 500 hPa" in fields.origin["ta500"]
    _check(fields, ds.rename(level="plev"))


def test_pressure_axis_in_other_units_is_refused(tmp_path):
    ds = cmip_like(std_times())
    ds["plev"] = ds["plev"] / 1e5
    ds["plev"].attrs["units"] = "bar"
    ds.to_netcdf(tmp_path / "f.nc", engine="h5netcdf")
    with pytest.raises(io.FieldsError, match="units 'bar'; dte understands Pa and hPa"):
        io.open_fields(tmp_path / "f.nc", CHANNELS, VariableMapping())


def test_rotated_pole_grid_is_refused_naming_what_is_needed(tmp_path):
    ds = cmip_like(std_times()).rename(lat="rlat", lon="rlon")
    ds["psl"].attrs["grid_mapping"] = "rotated_pole"
    ds["rotated_pole"] = xr.DataArray(0, attrs={"grid_mapping_name":
                                                "rotated_latitude_longitude"})
    ds.to_netcdf(tmp_path / "cordex.nc", engine="h5netcdf")
    with pytest.raises(io.FieldsError, match="rotated-pole grid") as err:
        io.open_fields(tmp_path / "cordex.nc", CHANNELS, VariableMapping())
    assert "regular latitude-longitude" in str(err.value) and "cdo remapbil" in str(err.value)


def test_curvilinear_grid_is_refused_naming_what_is_needed(tmp_path):
    ds = cmip_like(std_times()).rename(lat="y", lon="x")
    lon2, lat2 = np.meshgrid(LON, LAT)
    ds = ds.drop_vars(["x", "y"]).assign_coords(lat=(("y", "x"), lat2 + 0.1 * lon2),
                                                 lon=(("y", "x"), lon2))
    ds.to_netcdf(tmp_path / "ocean.nc", engine="h5netcdf")
    with pytest.raises(io.FieldsError, match="curvilinear grid .*2-D coordinates lat, lon"):
        io.open_fields(tmp_path / "ocean.nc", CHANNELS, VariableMapping())


def test_a_file_that_is_not_netcdf_names_the_conversion(tmp_path):
    (tmp_path / "era5.grib").write_bytes(b"GRIB\x00\x00\x00\x02" + b"\x00" * 64)
    with pytest.raises(io.FieldsError, match="first bytes are b'GRIB"):
        io.open_fields(tmp_path / "era5.grib", CHANNELS, VariableMapping())


def test_glob_that_matches_nothing_is_refused(tmp_path):
    with pytest.raises(io.FieldsError, match="matches no file"):
        io.open_fields([str(tmp_path / "psl_*.nc")], CHANNELS, VariableMapping())


# ---- calendars of fields and tracks ---------------------------------------------------
def _csv(path, times):
    lines = ["SID,ISO_TIME,LAT,LON,WMO_WIND", "xx,xx,degrees_north,degrees_east,kts"]
    lines += [f"S1,{t},{15 + i * 0.5},{125 + i * 0.5},50" for i, t in enumerate(times)]
    path.write_text("\n".join(lines) + "\n")


def test_model_tracks_on_the_fields_calendar_give_centres(tmp_path):
    ds = cmip_like(cf_times((2001, 2, 29), 8, "360_day"), "360_day")
    ds.to_netcdf(tmp_path / "f.nc", engine="h5netcdf")
    fields = io.open_fields(tmp_path / "f.nc", CHANNELS, VariableMapping())
    _csv(tmp_path / "t.csv", ["2001-02-30 00:00:00", "2001-02-30 06:00:00",
                              "2001-02-30 12:00:00"])
    points = tracks.read_for(tmp_path / "t.csv", fields, "360_day")
    centres = tracks.centres_on(points, fields.times, fields.grid)
    assert list(centres.t) == [4, 5, 6]


def test_observed_tracks_with_noleap_model_fields_are_refused(tmp_path):
    ds = cmip_like(cf_times((2001, 8, 1), 8, "noleap"), "noleap")
    ds.to_netcdf(tmp_path / "f.nc", engine="h5netcdf")
    fields = io.open_fields(tmp_path / "f.nc", CHANNELS, VariableMapping())
    _csv(tmp_path / "t.csv", ["2001-08-01 00:00:00", "2001-08-01 06:00:00"])
    with pytest.raises(calendars.CalendarError, match="'noleap' calendar, the tracks") as err:
        tracks.read_for(tmp_path / "t.csv", fields)
    assert "--set data.tracks_calendar=noleap" in str(err.value)


def test_track_dates_that_the_calendar_lacks_are_refused(tmp_path):
    _csv(tmp_path / "t.csv", ["2001-02-29 00:00:00", "2001-02-30 06:00:00"])
    with pytest.raises(tracks.TrackError, match="not dates of the 'standard' calendar"):
        tracks.read(tmp_path / "t.csv")


def test_tracks_netcdf_on_a_model_calendar(tmp_path):
    days = np.array([[0.0, 0.25, 0.5]])
    ds = xr.Dataset({"sid": ("storm", np.array(["S1"], dtype=object)),
                     "time": (("storm", "date_time"), days,
                              {"units": "days since 2001-02-30", "calendar": "360_day"}),
                     "lat": (("storm", "date_time"), [[15.0, 15.5, 16.0]]),
                     "lon": (("storm", "date_time"), [[125.0, 125.5, 126.0]])})
    ds.to_netcdf(tmp_path / "t.nc", format="NETCDF3_CLASSIC", engine="scipy")
    points = tracks.read(tmp_path / "t.nc")
    assert points.calendar == "360_day"
    assert calendars.labels(points.time, "360_day")[2] == "2001-02-30 12:00:00"


def test_an_opendap_url_without_a_dap_library_names_the_install(tmp_path):
    import importlib.util

    if importlib.util.find_spec("netCDF4") or importlib.util.find_spec("pydap"):
        pytest.skip("a DAP library is installed here")
    url = "https://esgf.example.org/thredds/dodsC/CMIP6/psl_day_MODEL_19800101-19891231.nc"
    with pytest.raises(io.FieldsError, match="is an OPeNDAP URL.*`pip install netCDF4`"):
        io.open_fields([url], CHANNELS, VariableMapping())
