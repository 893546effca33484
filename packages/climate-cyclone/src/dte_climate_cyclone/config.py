"""Configuration of climate-cyclone; the defaults run a short CPU job on generated fields."""

from __future__ import annotations

from pathlib import Path

from dte_core.schemas import StrictModel, TrackingConfig, TrainConfig
from pydantic import Field


class DataConfig(StrictModel):
    """Gridded fields, cyclone tracks and the patches cut from them."""

    path: Path | None = None
    """Zarr or netCDF dataset from `dte data generate climate-cyclone` (null: generate one)."""
    years: int = Field(1, ge=1)
    """Years of daily fields to generate when `path` is null."""
    variables: list[str] = ["sfcWind", "psl", "ta500", "ta300"]
    """Input variables (CMIP6 names), one channel each."""
    patch_size: int = Field(40, ge=8)
    """Patches are patch_size x patch_size grid cells."""
    val_fraction: float = Field(0.2, gt=0, lt=1)
    """Fraction of patches held out for validation."""


class ModelConfig(StrictModel):
    """The VGG-like localisation network."""

    base_filters: int = Field(32, ge=1)
    """Filters of the first convolution block; doubled at each block."""
    blocks: int = Field(3, ge=1, le=5)
    """Convolution blocks."""


class OptimConfig(StrictModel):
    """Optimizer and learning rate."""

    lr: float = Field(1e-3, gt=0)
    """Learning rate of Adam."""


class CycloneConfig(StrictModel):
    """Everything a climate-cyclone run needs."""

    data: DataConfig = DataConfig()
    """Data generation and loading."""
    model: ModelConfig = ModelConfig()
    """Network architecture."""
    optim: OptimConfig = OptimConfig()
    """Optimization."""
    train: TrainConfig = TrainConfig(epochs=2, batch_size=32)
    """Generic training loop."""
    tracking: TrackingConfig = TrackingConfig()
    """Experiment tracking."""
