"""`dte data check climate-cyclone PATH...` as a user runs it: what the files hold, whether and
how dte reads them; exit 2 with the reason, after what was found, when it would not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cftime
import numpy as np
import xarray as xr

DTE = str(Path(sys.executable).with_name("dte"))


def dte(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([DTE, *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def _archive(folder: Path, calendar: str = "noleap") -> None:
    """A CMIP6-like set: psl split by period (netCDF-3), sfcWind and ta (netCDF-4)."""
    units = "hours since 1850-01-01"
    t0 = cftime.date2num(cftime.datetime(1980, 8, 1, calendar=calendar), units,
                         calendar=calendar)
    times = cftime.num2date(t0 + 6 * np.arange(16), units, calendar=calendar)
    rng = np.random.default_rng(0)
    lat, lon = np.arange(10.0, 30.0), np.arange(120.0, 140.0)
    shape = (16, 20, 20)
    ds = xr.Dataset(
        {"psl": (("time", "lat", "lon"), 101000 + rng.random(shape), {"units": "Pa"}),
         "sfcWind": (("time", "lat", "lon"), rng.random(shape), {"units": "m s-1"}),
         "ta": (("time", "plev", "lat", "lon"), 250 + rng.random((16, 2, 20, 20)),
                {"units": "K"})},
        coords={"time": times, "plev": ("plev", [50000.0, 30000.0], {"units": "Pa"}),
                "lat": lat, "lon": lon})
    ds["time"].encoding.update(units=units, calendar=calendar)
    ds[["psl"]].isel(time=slice(0, 8)).to_netcdf(folder / "psl_6hrPlev_M_a.nc",
                                                  format="NETCDF3_CLASSIC", engine="scipy")
    ds[["psl"]].isel(time=slice(8, 16)).to_netcdf(folder / "psl_6hrPlev_M_b.nc",
                                                   format="NETCDF3_CLASSIC", engine="scipy")
    ds[["sfcWind"]].to_netcdf(folder / "sfcWind_6hrPlev_M.nc", engine="h5netcdf")
    ds[["ta"]].to_netcdf(folder / "ta_6hrPlev_M.nc", engine="h5netcdf")
    (folder / "tracks.csv").write_text(
        "SID,ISO_TIME,LAT,LON,WMO_WIND,WMO_PRES\nS1,1980-08-01 00:00:00,20,130,50,980\n"
        "S1,1980-08-01 12:00:00,21,129,60,970\n")


def test_data_check_reports_a_cmip6_set_and_how_to_train_on_it(tmp_path):
    _archive(tmp_path)
    result = dte("data", "check", "climate-cyclone", str(tmp_path / "*_6hrPlev_*.nc"),
                 str(tmp_path / "tracks.csv"), "--tracks-calendar", "noleap",
                 "--patch-size", "16", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "netCDF-3 classic (read with scipy)" in out and "netCDF-4/HDF5" in out
    assert "[Pa]" in out and "[m s-1]" in out and "calendar noleap" in out
    assert "1980-08-01 00:00:00 to 1980-08-04 18:00:00" in out
    assert "(2 files)" in out and "ta in ta_6hrPlev_M.nc at 500 hPa" in out
    assert "columns         SID, ISO_TIME, LAT, LON, WMO_WIND, WMO_PRES" in out
    assert "dte reads         yes" in out and "data.files=" in out


def test_data_check_refuses_tracks_on_another_calendar_with_exit_2(tmp_path):
    _archive(tmp_path)
    result = dte("data", "check", "climate-cyclone", str(tmp_path / "*_6hrPlev_*.nc"),
                 str(tmp_path / "tracks.csv"), "--patch-size", "16", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "calendar noleap" in result.stdout and "dte reads         no" in result.stdout
    assert "--set data.tracks_calendar=noleap" in " ".join(result.stderr.split())


def test_data_check_refuses_a_file_that_is_not_netcdf(tmp_path):
    (tmp_path / "era5.grib").write_bytes(b"GRIB" + b"\x00" * 100)
    result = dte("data", "check", "climate-cyclone", str(tmp_path / "era5.grib"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cdo -f nc copy" in " ".join(result.stderr.split())
