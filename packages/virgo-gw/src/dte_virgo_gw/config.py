"""Configuration of the virgo-gw science; the defaults run a short CPU job on generated data."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dte_core.schemas import StrictModel, TrackingConfig, TrainConfig
from pydantic import Field


class DataConfig(StrictModel):
    """Strain and auxiliary channels, and their Q-transform maps."""

    path: Path | None = None
    """Dataset directory written by `dte data generate virgo-gw` (null: generate one)."""
    samples: int = Field(256, ge=2)
    """Samples to generate when `path` is null."""
    aux_channels: int = Field(3, ge=1)
    """Auxiliary (witness) channels per sample."""
    sample_rate: int = Field(4096, ge=256)
    """Sample rate of every channel, in Hz."""
    duration: float = Field(2.0, gt=0)
    """Length of one sample, in seconds."""
    q: float = Field(12.0, gt=0)
    """Quality factor of the Q-transform."""
    frequency_range: tuple[float, float] = (8.0, 500.0)
    """Band of the Q-transform, in Hz."""
    map_size: int = Field(64, ge=8)
    """Q-transform maps are map_size x map_size pixels."""
    val_fraction: float = Field(0.2, gt=0, lt=1)
    """Fraction of samples held out for validation."""


class ModelConfig(StrictModel):
    """The denoiser network."""

    kind: Literal["unet", "decoder"] = "unet"
    """Architecture: a U-Net or a plain decoder generator."""
    base_channels: int = Field(16, ge=1)
    """Channels of the first convolution; doubled at each level."""
    depth: int = Field(3, ge=1, le=6)
    """Down-sampling levels."""


class OptimConfig(StrictModel):
    """Optimizer and learning rate."""

    lr: float = Field(1e-3, gt=0)
    """Learning rate of Adam."""
    weight_decay: float = Field(0.0, ge=0)
    """Weight decay (AdamW)."""
    loss: Literal["l1", "l2"] = "l1"
    """Reconstruction loss on the main channel's map."""


class VirgoConfig(StrictModel):
    """Everything a virgo-gw run needs."""

    data: DataConfig = DataConfig()
    """Data generation and loading."""
    model: ModelConfig = ModelConfig()
    """Network architecture."""
    optim: OptimConfig = OptimConfig()
    """Optimization."""
    train: TrainConfig = TrainConfig()
    """Generic training loop."""
    tracking: TrackingConfig = TrackingConfig()
    """Experiment tracking."""
