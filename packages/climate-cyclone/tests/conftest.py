"""Shared fixtures: a small generated dataset (40 x 40 cells at 1 degree, one month)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dte_climate_cyclone.config import CycloneConfig
from dte_climate_cyclone.generate import generate

#: settings of the small dataset (data.* keys)
SMALL = {"years": [2001], "months": [8], "region": "10,50,120,160", "resolution": 1.0,
         "storms_per_month": 8.0, "lows_per_month": 10.0, "chunk_time": 8, "patch_size": 16}


def small_config(**data) -> CycloneConfig:
    return CycloneConfig.model_validate({"data": {**SMALL, **data}})


@pytest.fixture(scope="session")
def config_for():
    """Build a config of the small dataset's settings plus `data.*` overrides."""
    return small_config


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A zarr dataset written once per session."""
    out = tmp_path_factory.mktemp("small") / "dataset"
    out.mkdir()
    generate(small_config(), out)
    return out


@pytest.fixture(scope="session")
def small_netcdf(tmp_path_factory) -> Path:
    """The same settings written as netCDF (fields.nc, tracks.csv and tracks.nc)."""
    out = tmp_path_factory.mktemp("small-nc") / "dataset"
    out.mkdir()
    generate(small_config(format="netcdf"), out)
    return out
