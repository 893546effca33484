"""Generator physics, file formats, real-data mapping, labels and bad input (no TensorFlow)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import xarray as xr
from dte_climate_cyclone import io, tracks
from dte_climate_cyclone.config import CycloneConfig, VariableMapping
from dte_climate_cyclone.data import CycloneData
from dte_climate_cyclone.patches import augment, centres_of
from dte_climate_cyclone.storms import holland_pressure, holland_vmax, holland_wind
from dte_core import config as config_layer
from dte_core.errors import ConfigError, DteError

CHANNELS = ["sfcWind", "psl", "ta500", "ta300"]


def test_holland_profiles():
    r = np.linspace(1, 500, 5000)
    wind = holland_wind(r, dp_hpa=50.0, rmax_km=40.0, b=1.5, f=0.0)
    assert abs(r[np.argmax(wind)] - 40.0) < 0.5  # cyclostrophic maximum at Rmax
    assert wind.max() == pytest.approx(holland_vmax(50.0, 1.5), rel=1e-3)
    assert holland_pressure(40.0, 960.0, 50.0, 40.0, 1.5) == pytest.approx(960 + 50 / np.e)
    assert holland_pressure(1e6, 960.0, 50.0, 40.0, 1.5) == pytest.approx(1010.0, abs=1e-3)
    assert holland_wind(np.array([200.0]), 50.0, 40.0, 1.5, 5e-5)[0] < \
        holland_wind(np.array([200.0]), 50.0, 40.0, 1.5, 0.0)[0]  # Coriolis slows it


def test_generated_zarr_has_cf_metadata_chunks_and_ibtracs_tracks(small_dataset):
    store = small_dataset / "fields.zarr"
    assert json.loads((store / "zarr.json").read_text())["zarr_format"] == 3
    ds = xr.open_zarr(store, consolidated=False)
    assert set(ds.data_vars) == {"psl", "sfcWind", "uas", "vas", "ta500", "ta300"}
    assert ds["psl"].dims == ("time", "lat", "lon") and ds["psl"].attrs["units"] == "Pa"
    assert ds["ta300"].attrs["standard_name"] == "air_temperature"
    assert ds["lat"].attrs["units"] == "degrees_north" and ds.attrs["Conventions"] == "CF-1.8"
    assert ds["psl"].encoding["chunks"] == (8, 40, 40)
    assert ds.sizes["time"] == 31 * 4 and bool((np.diff(ds["lat"].values) > 0).all())
    lines = (small_dataset / "tracks.csv").read_text().splitlines()
    assert lines[0].startswith("SID,SEASON,NUMBER,BASIN,SUBBASIN,NAME,ISO_TIME,NATURE,LAT,LON")
    assert "degrees_north" in lines[1]  # the IBTrACS units line
    stats = json.loads((small_dataset / "stats.json").read_text())["variables"]
    assert 95_000 < stats["psl"]["mean"] < 103_000 and stats["psl"]["nan"] == 0


def test_cyclones_have_a_pressure_minimum_and_a_warm_core_at_the_track(small_dataset):
    cfg = CycloneConfig.model_validate({"data": {"path": small_dataset}})
    fields = io.open_fields(small_dataset, ["psl", "ta300", "sfcWind"], cfg.data.mapping)
    points = tracks.read(small_dataset / "tracks.csv")
    centres = tracks.centres_on(points, fields.times, fields.grid)
    strong = np.flatnonzero((centres.wind >= 64) & (centres.row > 5) & (centres.row < 34)
                            & (centres.col > 5) & (centres.col < 34))
    assert len(strong) >= 3
    for i in strong[:5]:
        t, r, c = int(centres.t[i]), int(round(centres.row[i])), int(round(centres.col[i]))
        block = fields.read(t, t + 1, ["psl", "ta300", "sfcWind"])[0]
        near = block[r - 4:r + 5, c - 4:c + 5]
        low = np.unravel_index(np.argmin(near[..., 0]), near.shape[:2])
        assert np.hypot(low[0] - 4, low[1] - 4) <= 1.5
        ring = block[max(r - 7, 0):r + 8, max(c - 7, 0):c + 8, 1]
        assert near[4, 4, 1] > np.median(ring) + 2.0  # warm core aloft
        assert near[..., 2].max() > 25.0  # hurricane-force winds near the centre


def test_netcdf_and_ibtracs_netcdf_round_trip(small_netcdf):
    assert (small_netcdf / "fields.nc").is_file()
    cfg = CycloneConfig.model_validate({"data": {"path": small_netcdf}})
    fields = io.open_fields(small_netcdf, CHANNELS, cfg.data.mapping)
    assert fields.grid.shape == (40, 40) and len(fields.times) == 124
    csv_points, nc_points = (tracks.read(small_netcdf / f) for f in ("tracks.csv", "tracks.nc"))
    assert len(csv_points) == len(nc_points) > 0
    np.testing.assert_array_equal(np.sort(csv_points.sid), np.sort(nc_points.sid))
    order_c, order_n = (np.lexsort((p.time, p.sid)) for p in (csv_points, nc_points))
    np.testing.assert_allclose(csv_points.lat[order_c], nc_points.lat[order_n], atol=1e-3)
    np.testing.assert_array_equal(csv_points.time[order_c], nc_points.time[order_n])


def _era5_like(src, out):
    """ERA5 names and layout: msl [hPa], u10/v10, t on pressure_level, valid_time,
    latitude descending, longitude 0..360."""
    ds = xr.open_zarr(src / "fields.zarr", consolidated=False).load()
    t = xr.concat([ds["ta500"], ds["ta300"]], dim=xr.DataArray([500.0, 300.0],
                                                               dims="pressure_level"))
    era = xr.Dataset({"msl": ds["psl"] / 100.0, "u10": ds["uas"], "v10": ds["vas"], "t": t})
    era["msl"].attrs["units"] = "hPa"
    era = era.rename(time="valid_time", lat="latitude", lon="longitude")
    era = era.isel(latitude=slice(None, None, -1))
    era = era.assign_coords(longitude=era["longitude"] % 360)
    era = era.transpose("valid_time", "pressure_level", "latitude", "longitude")
    era.to_netcdf(out, engine="h5netcdf")
    return ds


def test_era5_names_levels_and_orders_map_onto_cmip6(small_dataset, tmp_path):
    original = _era5_like(small_dataset, tmp_path / "era5.nc")
    fields = io.open_fields(tmp_path / "era5.nc", CHANNELS, VariableMapping())
    assert fields.origin["psl"].startswith("msl") and "pressure_level" not in str(fields.origin)
    assert fields.origin["sfcWind"].startswith("speed of (u10")
    block = fields.read(10, 12, CHANNELS)
    np.testing.assert_allclose(block[..., 1], original["psl"].values[10:12], rtol=1e-6)
    np.testing.assert_allclose(block[..., 3], original["ta300"].values[10:12], rtol=1e-6)
    expected = np.hypot(original["uas"].values[10:12], original["vas"].values[10:12])
    np.testing.assert_allclose(block[..., 0], expected, rtol=1e-5)


def test_prepare_turns_real_files_into_a_native_dataset(small_dataset, tmp_path, config_for):
    from dte_climate_cyclone.prepare import prepare

    _era5_like(small_dataset, tmp_path / "era5.nc")
    out = tmp_path / "prepared"
    out.mkdir()
    summary = prepare(config_for(), [tmp_path / "era5.nc", small_dataset / "tracks.csv"], out)
    assert summary["fields"]["psl"].startswith("msl") and summary["times"] == 124
    assert json.loads((out / "fields.zarr" / "zarr.json").read_text())["zarr_format"] == 3
    prepared = CycloneData.open(config_for(path=out))
    original = CycloneData.open(config_for(path=small_dataset))
    np.testing.assert_allclose(prepared.centres.row, original.centres.row, atol=1e-6)
    assert prepared.stats["psl"]["mean"] == pytest.approx(original.stats["psl"]["mean"])
    assert prepared.fields.chunk_time == 8


def test_longitudes_0_360_and_tracks_in_180_give_the_same_labels(tmp_path, config_for):
    from dte_climate_cyclone.generate import generate

    out = tmp_path / "atlantic"
    out.mkdir()
    generate(config_for(region="10,50,-80,-40", storms_per_month=10.0), out)
    ds = xr.open_zarr(out / "fields.zarr", consolidated=False).load()
    shifted = ds.assign_coords(lon=ds["lon"] % 360)
    shifted.to_netcdf(tmp_path / "east.nc", engine="h5netcdf")
    base = CycloneData.open(config_for(path=out))
    moved = CycloneData.open(config_for(path=tmp_path / "east.nc", tracks=out / "tracks.csv"))
    assert moved.fields.grid.lon_convention == "0-360" and len(base.centres) > 0
    np.testing.assert_allclose(moved.centres.row, base.centres.row)
    np.testing.assert_allclose(moved.centres.col, base.centres.col)


def test_labels_and_augmentation_follow_the_pressure_minimum(small_dataset, config_for):
    data = CycloneData.open(config_for(path=small_dataset, variables=["psl", "uas", "vas"]))
    source = data.source("train")
    cyc = np.flatnonzero((data.train.kind == 0) & (data.train.present > 0))[:40]
    x, y = source.read(cyc, 0)
    assert all(len(centres_of(m)) >= 1 for m in y)  # every centre in a patch, not one
    assert max(len(centres_of(m)) for m in y) >= 2
    for codes in (np.zeros(len(cyc), int), np.arange(len(cyc)) % 8):
        xa, ya = augment(x, y, codes, wind=(1, 2))
        lows = [np.unravel_index(np.argmin(p[..., 0]), p.shape[:2]) for p in xa]
        # the deepest low is one of the marked centres, and the Gaussian peaks there
        dist = [np.hypot(*(centres_of(m) - low).T) for m, low in zip(ya, lows, strict=True)]
        assert np.median([d.min() for d in dist]) <= 1.0
        assert np.median([m[low][0] for m, low in zip(ya, lows, strict=True)]) > 0.7
        near = [centres_of(m)[np.argmin(d)] for m, d in zip(ya, dist, strict=True)]
        # circulation: the vorticity sign of the centre flips with a mirror, not with turns
        dvdx = np.gradient(xa[..., 2], axis=2)
        dudy = np.gradient(xa[..., 1], axis=1)
        for k in range(len(cyc)):
            r, c = (int(round(v)) for v in near[k])
            if 3 <= r < 13 and 3 <= c < 13:
                zeta = (dvdx - dudy)[k, r - 2:r + 3, c - 2:c + 3].mean()
                assert np.sign(zeta) == (-1 if codes[k] >= 4 else 1)


def test_patch_kinds_and_an_epoch_order_read_each_chunk_once(small_dataset, config_for):
    data = CycloneData.open(config_for(path=small_dataset))
    counts = data.train.counts()
    assert counts["cyclone"] > 0 and counts["adjacent"] > 0 and counts["random"] > 0
    assert (data.train.t < data.split).all() and (data.val.t >= data.split).all()
    source = data.source("train", augment=True)
    order = source.order(3, 7)
    np.testing.assert_array_equal(np.sort(order), np.arange(len(source)))
    np.testing.assert_array_equal(order, source.order(3, 7))
    for start in range(0, len(order), 16):
        source.read(order[start:start + 16], 3)
    assert source.chunks_read == len(np.unique(data.train.t // 8))
    x, y = source.read(order[:5], 3)
    assert x.shape == (5, 16, 16, 4) and x.dtype == np.float32 and y.shape == (5, 16, 16, 5)
    assert (y[..., 0] >= 0).all() and (y[..., 0] <= 1).all()
    assert ((y[..., 3:] == 0) | (y[..., 2:3] == 1)).all()  # an offset only at a centre


def test_config_accepts_year_ranges_and_rejects_bad_regions_and_half_winds():
    cfg = config_layer.resolve(CycloneConfig, overrides=["data.years=2001-2003",
                                                         "data.region=0,40,100,170"])
    assert cfg.data.years == [2001, 2002, 2003] and cfg.data.bounds == (0, 40, 100, 170)
    with pytest.raises(ConfigError, match="wnp, nat"):
        config_layer.resolve(CycloneConfig, overrides=["data.region=atlantis"])
    with pytest.raises(ConfigError, match="uas and vas go together"):
        config_layer.resolve(CycloneConfig, overrides=["data.variables=psl,uas"])
    with pytest.raises(ConfigError, match="data.tracks"):
        config_layer.resolve(CycloneConfig, overrides=[f"data.path={__file__}"])


# ---- bad input: one paragraph naming the fix -------------------------------------------
def _fields_copy(small_dataset, tmp_path):
    ds = xr.open_zarr(small_dataset / "fields.zarr", consolidated=False).load()
    return ds, tmp_path / "fields.nc"


def test_missing_variable_lists_what_the_file_has(small_dataset, tmp_path, config_for):
    ds, path = _fields_copy(small_dataset, tmp_path)
    ds.drop_vars(["ta300"]).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(DteError) as err:
        CycloneData.open(config_for(path=path, tracks=small_dataset / "tracks.csv"))
    text = str(err.value)
    assert "no variable for 'ta300'" in text and "ta500 (time, lat, lon) [K]" in text
    assert "--set data.mapping.ta300=NAME" in text


def test_wrong_dimensions_are_named(small_dataset, tmp_path, config_for):
    ds, path = _fields_copy(small_dataset, tmp_path)
    ds.rename(lat="y", lon="x").to_netcdf(path, engine="h5netcdf")
    with pytest.raises(DteError, match=r"has dimensions \(time, y, x\); it needs exactly time"):
        CycloneData.open(config_for(path=path, tracks=small_dataset / "tracks.csv"))


def test_nans_are_an_error_unless_filled(small_dataset, tmp_path, config_for):
    ds, path = _fields_copy(small_dataset, tmp_path)
    ds["psl"][:, 30:, :5] = np.nan  # a "land mask"
    ds.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(DteError) as err:
        CycloneData.open(config_for(path=path, tracks=small_dataset / "tracks.csv"))
    assert "missing values (NaN): psl: 6200" in str(err.value)
    assert "--set data.nan=fill" in str(err.value) and "lon 120.50" in str(err.value)
    filled = CycloneData.open(config_for(path=path, tracks=small_dataset / "tracks.csv",
                                         nan="fill"))
    x, _ = filled.source("train").read(np.arange(len(filled.train)), 0)
    assert not np.isnan(x).any()


def test_inconsistent_time_axes_between_files(small_dataset, tmp_path, config_for):
    ds, _ = _fields_copy(small_dataset, tmp_path)
    folder = tmp_path / "cmip6"
    folder.mkdir()
    for name in CHANNELS:
        part = ds[[name]]
        if name == "ta500":
            part = part.drop_isel(time=range(40, 44))  # a gap inside the common period
        part.to_netcdf(folder / f"{name}_6hrPlev_synthetic.nc", engine="h5netcdf")
    with pytest.raises(DteError) as err:
        CycloneData.open(config_for(path=folder, tracks=small_dataset / "tracks.csv"))
    assert "The time axes differ" in str(err.value) and "has 120 from" in str(err.value)


def test_tracks_outside_the_domain_or_period(small_dataset, tmp_path, config_for):
    lines = (small_dataset / "tracks.csv").read_text().splitlines()
    header = lines[0].split(",")
    lon, when = header.index("LON"), header.index("ISO_TIME")
    moved, late = lines[:2], lines[:2]
    for line in lines[2:]:
        cells = line.split(",")
        moved.append(",".join(cells[:lon] + [str(float(cells[lon]) - 100)] + cells[lon + 1:]))
        cells[when] = cells[when].replace("2001-", "1999-")
        late.append(",".join(cells))
    (tmp_path / "moved.csv").write_text("\n".join(moved))
    (tmp_path / "late.csv").write_text("\n".join(late))
    with pytest.raises(DteError, match="the fields cover latitudes"):
        CycloneData.open(config_for(path=small_dataset, tracks=tmp_path / "moved.csv"))
    with pytest.raises(DteError, match="the tracks cover 1999-"):
        CycloneData.open(config_for(path=small_dataset, tracks=tmp_path / "late.csv"))
    (tmp_path / "bad.csv").write_text("NAME,LAT\nX,10\n")
    with pytest.raises(DteError, match="lacks the IBTrACS column"):
        CycloneData.open(config_for(path=small_dataset, tracks=tmp_path / "bad.csv"))


def test_a_dataset_folder_can_be_copied_and_used_elsewhere(small_dataset, tmp_path, config_for):
    copy = tmp_path / "copy"
    shutil.copytree(small_dataset, copy)
    data = CycloneData.open(config_for(path=copy))
    assert len(data.train) > 0 and data.stats["psl"]["std"] > 0


def test_predict_options_are_checked():
    from dte_climate_cyclone.predict import _options

    cfg = CycloneConfig()
    assert _options({"threshold": "0.3", "stride": "10"}, cfg) == (0.3, 10, None)
    with pytest.raises(ConfigError, match="--treshold"):
        _options({"treshold": "0.3"}, cfg)
    with pytest.raises(ConfigError, match="must lie in"):
        _options({"threshold": "2"}, cfg)


def test_deleted_zarr_chunks_are_found_despite_cached_statistics(small_dataset, tmp_path,
                                                                 config_for):
    copy = tmp_path / "copy"
    shutil.copytree(small_dataset, copy)
    assert CycloneData.open(config_for(path=copy)).stats["psl"]["nan"] == 0  # cached now
    meta = json.loads((copy / "dataset.json").read_text())
    chunks = [p for p in (copy / meta["fields"] / "psl").rglob("*")
              if p.is_file() and not p.name.startswith((".z", "zarr.json"))]
    assert chunks
    chunks[0].unlink()  # reads back as the fill value, NaN
    with pytest.raises(DteError, match=r"missing values \(NaN\): psl"):
        CycloneData.open(config_for(path=copy))
