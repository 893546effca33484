"""Configuration of the hep-3dgan science; the defaults run a short CPU job on generated showers."""

from __future__ import annotations

from pathlib import Path

from dte_core.schemas import StrictModel, TrackingConfig, TrainConfig
from pydantic import Field


class DataConfig(StrictModel):
    """Calorimeter showers and their preprocessing."""

    path: Path | None = None
    """HDF5 or ROOT shower file from `dte data generate hep-3dgan` (null: generate one)."""
    events: int = Field(128, ge=2)
    """Events to generate when `path` is null."""
    energy_range: tuple[float, float] = (2.0, 500.0)
    """Primary energy Ep range, in GeV."""
    theta_range: tuple[float, float] = (60.0, 120.0)
    """Incidence angle range, in degrees."""
    energy_scale: float = Field(100.0, gt=0)
    """Ep is divided by this before it conditions the networks."""
    cell_threshold: float = Field(1e-6, ge=0)
    """Cell deposits below this (GeV) are set to zero."""
    power: float = Field(0.85, gt=0)
    """Deposits are raised to this power before training."""
    val_fraction: float = Field(0.2, gt=0, lt=1)
    """Fraction of events held out for validation."""


class ModelConfig(StrictModel):
    """Generator and discriminator of the 3DGAN."""

    latent_dim: int = Field(254, ge=1)
    """Size of the generator's noise vector."""
    loss_weights: tuple[float, float, float] = (3.0, 0.1, 25.0)
    """Weights of the real/fake, Ep-regression and total-deposit losses."""


class OptimConfig(StrictModel):
    """The two optimizers."""

    generator_lr: float = Field(1e-3, gt=0)
    """Learning rate of the generator's optimizer."""
    discriminator_lr: float = Field(1e-5, gt=0)
    """Learning rate of the discriminator's optimizer."""


class Hep3DGANConfig(StrictModel):
    """Everything a hep-3dgan run needs."""

    data: DataConfig = DataConfig()
    """Data generation and loading."""
    model: ModelConfig = ModelConfig()
    """Network architecture."""
    optim: OptimConfig = OptimConfig()
    """Optimization."""
    train: TrainConfig = TrainConfig(epochs=1, batch_size=16)
    """Generic training loop."""
    tracking: TrackingConfig = TrackingConfig()
    """Experiment tracking."""
