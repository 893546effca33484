"""Shared fixtures: tiny settings that exercise every path in seconds, and a tiny dataset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DTE = str(Path(sys.executable).with_name("dte"))

#: 1 s samples at 1024 Hz, 16 x 16 maps over 16-256 Hz: a few milliseconds per map
TINY_DATA = {"samples": 12, "sample_rate": 1024, "duration": 1.0, "pad": 0.5,
             "frequency_range": (16.0, 256.0), "q_range": (8.0, 8.0), "map_shape": (16, 16),
             "workers": 1}
TINY_SETS = ["data.sample_rate=1024", "data.duration=1", "data.frequency_range=16,256",
             "data.q_range=8,8", "data.map_shape=16,16", "model.base_channels=4",
             "model.depth=2", "train.batch_size=4", "tracking.mlflow=false"]


def _dte(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `dte ARGS` in `cwd` as a user would (its runs/ and .dte/ live there)."""
    env = {k: v for k, v in os.environ.items() if k != "DTE_TRACKING_URI"}
    env["COLUMNS"] = "200"
    return subprocess.run([DTE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def _sets(*extra: str) -> list[str]:
    """--set flags of the tiny configuration plus `extra` overrides."""
    out = []
    for item in [*TINY_SETS, *extra]:
        out += ["--set", item]
    return out


@pytest.fixture(scope="session")
def dte():
    """Run `dte ARGS` in a folder: dte(*args, cwd=folder)."""
    return _dte


@pytest.fixture(scope="session")
def tiny_sets():
    """--set flags of a tiny training configuration (plus extra overrides)."""
    return _sets


@pytest.fixture(scope="session")
def gwpy_data() -> Path:
    """gwpy's own test data folder (real H1, L1, V1 strain)."""
    import gwpy

    return Path(gwpy.__file__).parent / "testing" / "data"


@pytest.fixture(scope="session")
def tiny_config():
    from dte_virgo_gw.config import DataConfig

    return DataConfig(**TINY_DATA)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, tiny_config) -> Path:
    """A generated dataset folder (12 samples, every glitch morphology, some binaries)."""
    from dte_virgo_gw.generate import generate

    out = tmp_path_factory.mktemp("tiny")
    generate(tiny_config.model_copy(update={"cbc_fraction": 0.5, "glitch_rate": 2.0}), out,
             progress=False)
    return out
