"""Cyclone tracks as IBTrACS ships them (v04 CSV with and without its units line, v04 netCDF,
the v03 WMO subset) and other track tables through data.track_columns: everything the file
has is kept, nothing is invented."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from dte_climate_cyclone import tracks
from dte_climate_cyclone.config import CycloneConfig, TrackColumns

HEADER = ("SID,SEASON,NUMBER,BASIN,SUBBASIN,NAME,ISO_TIME,NATURE,LAT,LON,WMO_WIND,WMO_PRES,"
          "WMO_AGENCY,TRACK_TYPE,DIST2LAND,USA_AGENCY,USA_WIND,USA_PRES,USA_SSHS")
UNITS = " ,Year, , , , , , ,degrees_north,degrees_east,kts,mb, , ,km, ,kts,mb,1"
ROWS = [
    "2001226N12135,2001,52,WP,MM,PABUK,2001-08-14 00:00:00,TS,12.5,135.0,35,1000,tokyo,main,"
    "1500,jtwc_wp,40,998,0",
    "2001226N12135,2001,52,WP,MM,PABUK,2001-08-14 06:00:00,TS,13.1,134.2,45,992,tokyo,main,"
    "1400,jtwc_wp,50,990,0",
    "2001226N12135,2001,52,WP,MM,PABUK,2001-08-14 09:00:00,TS,13.4,133.8, , , ,main,1380,"
    "jtwc_wp,55,987,0",
    "2001230N20300,2001,60,NA,NA,CHANTAL,2001-08-18 00:00:00,DS,20.0,-60.0,25,1008,hurdat_atl,"
    "main,800,hurdat_atl,25,1008,-1",
]


def write_csv(path, units: bool = True, header: str = HEADER, rows=ROWS):
    path.write_text("\n".join([header] + ([UNITS] if units else []) + rows) + "\n")
    return path


@pytest.mark.parametrize("units", [True, False])
def test_ibtracs_csv_keeps_every_column_as_written(tmp_path, units):
    points = tracks.read(write_csv(tmp_path / "ibtracs.csv", units=units))
    assert len(points) == 4
    assert list(points.columns["WMO_PRES"]) == ["1000", "992", "", "1008"]  # missing stays
    assert list(points.columns["SEASON"]) == ["2001"] * 4
    assert list(points.columns["BASIN"]) == ["WP", "WP", "WP", "NA"]  # North Atlantic, not NaN
    assert list(points.columns["NAME"][[0, 3]]) == ["PABUK", "CHANTAL"]
    assert list(points.columns["NATURE"]) == ["TS", "TS", "TS", "DS"]
    assert list(points.columns["USA_SSHS"]) == ["0", "0", "0", "-1"]
    assert points.wind[2] == 55  # WMO blank there: USA_WIND
    assert (points.units.get("WMO_PRES") == "mb") is units


def test_missing_columns_stay_missing(tmp_path):
    header = "SID,ISO_TIME,LAT,LON,WMO_WIND"
    rows = ["S1,2001-08-14 00:00:00,12.5,135.0,35", "S1,2001-08-14 06:00:00,13.0,134.0,"]
    points = tracks.read(write_csv(tmp_path / "few.csv", units=False, header=header,
                                   rows=rows))
    assert set(points.columns) == {"WMO_WIND"}
    names, table = points.rows()
    assert names == ["SID", "ISO_TIME", "LAT", "LON", "WMO_WIND"]
    assert np.isnan(points.wind[1]) and table[1]["WMO_WIND"] == ""


def test_ibtracs_v03_wmo_subset(tmp_path):
    header = ("Serial_Num,Season,Num,Basin,Sub_basin,Name,ISO_time,Nature,Latitude,Longitude,"
              "Wind(WMO),Pres(WMO),Center,Wind(WMO) Percentile,Pres(WMO) Percentile,Track_type")
    units = " ,Year,#, , , , , ,deg_north,deg_east,kt,mb, ,%,%, "
    rows = ["2001226N12135,2001,52, WP, MM,PABUK,2001-08-14 00:00:00, TS,12.50,135.00,35.0,"
            "1000.0,tokyo,50.0,40.0,main"]
    path = tmp_path / "Year.2001.ibtracs_wmo.v03r10.csv"
    path.write_text("IBTrACS -- Version: v03r10\n" + "\n".join([header, units] + rows) + "\n")
    points = tracks.read(path)
    assert points.sid[0] == "2001226N12135" and points.lat[0] == 12.5 and points.wind[0] == 35
    assert points.columns["WMO_PRES"][0] == "1000.0" and points.columns["BASIN"][0] == "WP"
    assert points.columns["WMO_AGENCY"][0] == "tokyo"


def _ibtracs_v04_netcdf(path):
    """The IBTrACS v04 netCDF layout: (storm, date_time) arrays, char iso_time, wmo_/usa_."""
    nan = np.nan
    iso = np.array([[b"2001-08-14 00:00:00", b"2001-08-14 06:00:00", b""],
                    [b"2001-08-18 00:00:00", b"", b""]], dtype="S19")
    days = np.array([[52135.0, 52135.25, nan], [52139.0, nan, nan]])
    ds = xr.Dataset(
        {"sid": ("storm", np.array([b"2001226N12135", b"2001230N20300"], dtype="S13")),
         "name": ("storm", np.array([b"PABUK", b"CHANTAL"], dtype="S7")),
         "season": ("storm", np.array([2001, 2001], dtype=np.int16)),
         "number": ("storm", np.array([52, 60], dtype=np.int16)),
         "basin": (("storm", "date_time"), np.array([[b"WP", b"WP", b""],
                                                     [b"NA", b"", b""]], dtype="S2")),
         "nature": (("storm", "date_time"), np.array([[b"TS", b"TS", b""],
                                                      [b"DS", b"", b""]], dtype="S2")),
         "iso_time": (("storm", "date_time"), iso),
         "time": (("storm", "date_time"), days, {"units": "days since 1858-11-17 00:00:00"}),
         "lat": (("storm", "date_time"), np.array([[12.5, 13.1, nan], [20.0, nan, nan]],
                                                  np.float32), {"units": "degrees_north"}),
         "lon": (("storm", "date_time"), np.array([[135.0, 134.2, nan], [-60.0, nan, nan]],
                                                  np.float32), {"units": "degrees_east"}),
         "wmo_wind": (("storm", "date_time"), np.array([[35, 45, -9999], [25, -9999, -9999]],
                                                       np.int16), {"units": "kts"}),
         "wmo_pres": (("storm", "date_time"), np.array([[1000, 992, -9999],
                                                        [1008, -9999, -9999]], np.int16),
                      {"units": "mb"}),
         "usa_wind": (("storm", "date_time"), np.array([[40, 50, -9999],
                                                        [-9999, -9999, -9999]], np.int16),
                      {"units": "kts"})})
    encoding = {v: {"_FillValue": -9999} for v in ("wmo_wind", "wmo_pres", "usa_wind")}
    encoding["iso_time"] = {"char_dim_name": "char19"}
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    return path


def test_ibtracs_v04_netcdf_layout(tmp_path):
    points = tracks.read(_ibtracs_v04_netcdf(tmp_path / "IBTrACS.ALL.v04r01.nc"))
    assert len(points) == 3 and list(points.sid) == ["2001226N12135"] * 2 + ["2001230N20300"]
    assert str(points.time[1]) == "2001-08-14T06:00:00"
    assert list(points.columns["WMO_PRES"]) == ["1000", "992", "1008"]
    assert list(points.columns["NAME"]) == ["PABUK", "PABUK", "CHANTAL"]
    assert list(points.columns["BASIN"]) == ["WP", "WP", "NA"]
    assert list(points.columns["SEASON"]) == ["2001"] * 3
    assert list(points.columns["NATURE"]) == ["TS", "TS", "DS"]
    assert list(points.columns["USA_WIND"]) == ["40", "50", ""]
    assert list(points.wind) == [40, 50, 25]
    assert points.units["WMO_PRES"] == "mb"


def test_ibtracs_netcdf_with_iso_time_only(tmp_path):
    path = _ibtracs_v04_netcdf(tmp_path / "t.nc")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.drop_vars("time").load()
    ds.to_netcdf(tmp_path / "iso.nc", format="NETCDF3_CLASSIC", engine="scipy")
    points = tracks.read(tmp_path / "iso.nc")
    assert [str(t) for t in points.time] == ["2001-08-14T00:00:00", "2001-08-14T06:00:00",
                                             "2001-08-18T00:00:00"]


def test_column_mapping_reads_another_track_table(tmp_path):
    header = "storm_id,date,latitude_deg,longitude_deg,vmax_kt,pmin_hpa,category"
    rows = ["T01,1985-09-01 00:00,15.0,130.0,60,970,2", "T01,1985-09-01 06:00,15.5,129.0,65,"
            "965,2"]
    path = write_csv(tmp_path / "tempest.csv", units=False, header=header, rows=rows)
    config = CycloneConfig.model_validate({"data": {"track_columns": {
        "sid": "storm_id", "iso_time": "date", "lat": "latitude_deg", "lon": "longitude_deg",
        "wmo_wind": "vmax_kt", "wmo_pres": "pmin_hpa"}}})
    points = tracks.read(path, columns=config.data.track_columns)
    assert list(points.sid) == ["T01", "T01"] and list(points.wind) == [60, 65]
    assert list(points.columns["WMO_PRES"]) == ["970", "965"]
    assert list(points.columns["CATEGORY"]) == ["2", "2"]  # kept under its own name


def test_mapping_a_column_the_file_lacks_names_the_fix(tmp_path):
    path = write_csv(tmp_path / "ibtracs.csv")
    with pytest.raises(tracks.TrackError) as err:
        tracks.read(path, columns=TrackColumns(wmo_pres="pressure"))
    text = str(err.value)
    assert "data.track_columns.wmo_pres='pressure'" in text and "WMO_PRES" in text
    assert "--set data.track_columns.wmo_pres=" in text and "\n" not in text


def test_a_table_without_required_columns_names_the_mapping(tmp_path):
    path = write_csv(tmp_path / "x.csv", units=False, header="id,when,y,x", rows=["a,b,1,2"])
    with pytest.raises(tracks.TrackError, match="data.track_columns.sid=NAME"):
        tracks.read(path)


def test_prepare_writes_the_tracks_columns_it_read(tmp_path):
    from dte_climate_cyclone.prepare import prepare

    times = np.datetime64("2001-08-14") + np.arange(8) * np.timedelta64(3, "h")
    lat, lon = np.arange(5.0, 30.0), np.arange(120.0, 145.0)
    rng = np.random.default_rng(1)
    shape = (8, len(lat), len(lon))
    ds = xr.Dataset({"psl": (("time", "lat", "lon"), 101000 + rng.random(shape), {"units": "Pa"}),
                     "sfcWind": (("time", "lat", "lon"), rng.random(shape), {"units": "m s-1"})},
                    coords={"time": times, "lat": lat, "lon": lon})
    ds.to_netcdf(tmp_path / "f.nc", format="NETCDF3_CLASSIC", engine="scipy")
    config = CycloneConfig.model_validate({"data": {"variables": ["psl", "sfcWind"],
                                                    "patch_size": 16, "chunk_time": 4}})
    out = tmp_path / "prepared"
    out.mkdir()
    prepare(config, [tmp_path / "f.nc", write_csv(tmp_path / "ibtracs.csv")], out)
    lines = (out / "tracks.csv").read_text().splitlines()
    assert lines[0] == HEADER  # the file's columns, in its order; nothing added
    assert lines[1].split(",")[11] == "mb"
    rows = [line.split(",") for line in lines[2:]]
    assert len(rows) == 3  # the storm inside the domain, all its points
    assert [r[11] for r in rows] == ["1000", "992", ""] and rows[0][5] == "PABUK"
    assert json.loads((out / "dataset.json").read_text())["tracks_calendar"] == "standard"
    again = tracks.read(out / "tracks.csv")
    assert list(again.columns["NATURE"]) == ["TS", "TS", "TS"]
