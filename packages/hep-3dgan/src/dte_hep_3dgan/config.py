"""Configuration of the hep-3dgan science; the defaults run a short CPU job on generated showers."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dte_core.schemas import CheckpointConfig, ScienceConfig, StrictModel, TrainConfig
from pydantic import Field, field_validator

#: Limits of the shower parametrisation (GFlash needs ln(E/Ec) well above 2; beyond the
#: angle limits the inclined shower leaves the 51-cell window).
ENERGY_LIMITS = (0.5, 10_000.0)
THETA_LIMITS = (30.0, 150.0)


def _ordered_range(value: tuple[float, float], limits: tuple[float, float], unit: str,
                   name: str) -> tuple[float, float]:
    low, high = value
    if not low < high:
        raise ValueError(f"the range must be written low,high with low < high (got {low},{high})")
    if low < limits[0] or high > limits[1]:
        raise ValueError(f"the shower generator covers {name} from {limits[0]:g} to "
                         f"{limits[1]:g} {unit}; got {low:g},{high:g}")
    return value


class ShowerMapping(StrictModel):
    """Names and layout of the showers in a file written by other tools (null: the names
    ECAL, energy, theta in any case)."""

    ecal: str | None = None
    """HDF5 dataset / ROOT branch or field of the cell deposits."""
    energy: str | None = None
    """Dataset / branch of the primary energy (e.g. `Energy`)."""
    theta: str | None = None
    """Dataset / branch of the incidence angle (e.g. `mtheta`; radians, or degrees when its
    units say so or its values exceed 2 pi)."""
    layout: Literal["auto", "xyz", "layer-first", "flat", "flat-layer-first"] = "auto"
    """Order of the ECAL axes per shower: `xyz` (51, 51, 25), `layer-first` (25, 51, 51),
    `flat` float[65025] flattened from (51, 51, 25), `flat-layer-first` flattened from
    (25, 51, 51); auto: told by the shape (a flat array must be named)."""


class DataConfig(StrictModel):
    """Calorimeter showers: generation, files and the 3DGAN preprocessing."""

    path: Path | None = None
    """HDF5 (.h5) or ROOT (.root) shower file; null: generate one into .dte/data/hep-3dgan."""
    format: Literal["hdf5", "root"] = "hdf5"
    """File format written by `dte data generate` and by the automatic generation."""
    events: int = Field(60, ge=2)
    """Showers to generate (`dte data generate --events N`, or when `path` is null)."""
    energy_range: tuple[float, float] = (2.0, 500.0)
    """Primary electron energy Ep drawn uniformly in this range, in GeV."""
    theta_range: tuple[float, float] = (60.0, 120.0)
    """Incidence (polar) angle drawn uniformly in this range, in degrees; 90 is normal."""
    seed: int = 0
    """Seed of the shower generator; the same seed gives the same file for any `workers`."""
    workers: int | None = Field(None, ge=1)
    """Processes that generate showers (null: one per CPU core)."""
    energy_scale: float = Field(100.0, gt=0)
    """Ep is divided by this (GeV) before it conditions the networks."""
    deposit_scale: float = Field(1.0, gt=0)
    """Cell deposits (GeV) are multiplied by this before the power law."""
    cell_threshold: float = Field(1e-6, ge=0)
    """Cell deposits below this (GeV) are set to zero."""
    power: float = Field(0.85, gt=0, le=1)
    """Deposits are raised to this power before training (compresses the dynamic range)."""
    val_fraction: float = Field(0.2, gt=0, lt=1)
    """Fraction of the file's events (its last ones) held out for validation."""
    root_cache_mb: int = Field(512, ge=16)
    """Decoded ROOT baskets kept in memory per process when reading a .root file."""
    mapping: ShowerMapping = ShowerMapping()
    """Dataset/branch names and ECAL layout of files from other tools
    (`--set data.mapping.energy=Energy --set data.mapping.layout=layer-first`)."""
    ecal_units: Literal["auto", "GeV", "MeV"] = "auto"
    """Units of the cell deposits; auto: the file's `units` attribute (HDF5) or branch title
    (ROOT), else GeV. The deposit/primary energy ratio is checked either way."""
    energy_units: Literal["auto", "GeV", "MeV"] = "auto"
    """Units of the primary energy; auto as for ecal_units."""

    @field_validator("energy_range")
    @classmethod
    def _energy(cls, value: tuple[float, float]) -> tuple[float, float]:
        return _ordered_range(value, ENERGY_LIMITS, "GeV", "energies")

    @field_validator("theta_range")
    @classmethod
    def _theta(cls, value: tuple[float, float]) -> tuple[float, float]:
        return _ordered_range(value, THETA_LIMITS, "degrees", "angles")


class ModelConfig(StrictModel):
    """Generator and discriminator of the 3DGAN."""

    architecture: Literal["paper", "compact"] = "paper"
    """`paper`: the 3DGAN networks of arXiv 2109.07388 (~30 GMAC per shower and step);
    `compact`: a pair ~30x cheaper for CPU runs (strided convolutions on a coarse volume,
    sized by `generator_channels` and `discriminator_channels`)."""
    latent_dim: int = Field(254, ge=1)
    """Size of the generator's noise vector (Ep and theta are appended to it)."""
    generator_channels: int = Field(8, ge=1)
    """Compact architecture only: channels of the generator's coarse (13, 13, 7) volume and
    of its first upsampled stage (half of them in the last)."""
    discriminator_channels: int = Field(8, ge=1)
    """Compact architecture only: channels of the discriminator's first strided
    convolution (twice as many in the next two)."""
    angle_head: bool = True
    """Give the discriminator a theta-regression head (the angle 3DGAN); false: Ep only."""
    dropout: float = Field(0.2, ge=0, lt=1)
    """Dropout after each discriminator convolution."""


class LossConfig(StrictModel):
    """Weights of the 3DGAN multi-loss (generator and discriminator alike)."""

    gan: float = Field(3.0, ge=0)
    """Real/fake binary cross-entropy (on logits)."""
    energy: float = Field(0.1, ge=0)
    """Relative error of the discriminator's Ep regression."""
    deposit: float = Field(25.0, ge=0)
    """Relative error of the total deposit, generated vs real shower of the same Ep and theta."""
    angle: float = Field(0.5, ge=0)
    """Absolute error (rad) of the discriminator's theta regression (needs model.angle_head)."""
    profile: float = Field(2.0, ge=0)
    """Generator only: relative difference of the batch-mean longitudinal profile to the real
    batch's (real and generated showers share Ep and theta); 0 disables it."""
    transverse: float = Field(0.0, ge=0)
    """Generator only: relative difference of the batch-mean x and y transverse profiles
    (normalised) to the real batch's, as `profile` does along depth; 0 disables it."""
    occupancy: float = Field(0.0, ge=0)
    """Generator only: relative error of each generated shower's number of hit cells (a
    smooth count of cells above 1e-5 GeV) against the real shower's; 0 disables it."""
    label_smoothing: float = Field(0.0, ge=0, lt=0.5)
    """Real labels become 1 - this for the discriminator (one-sided smoothing)."""


class OptimConfig(StrictModel):
    """The two optimizers (one per network)."""

    name: Literal["rmsprop", "adam"] = "rmsprop"
    """RMSprop (as the reference 3DGAN) or Adam with beta1 = 0.5."""
    generator_lr: float = Field(1e-3, gt=0)
    """Learning rate of the generator's optimizer."""
    discriminator_lr: float = Field(1e-4, gt=0)
    """Learning rate of the discriminator's optimizer."""
    schedule: Literal["constant", "cosine"] = "constant"
    """Both learning rates constant, or decayed once per epoch along a half cosine from their
    value to `final_lr_fraction` of it at train.epochs (late epochs then swing less)."""
    final_lr_fraction: float = Field(0.1, gt=0, le=1)
    """Cosine schedule only: the learning rates at the last epoch, as a fraction of the first."""


class EvaluateConfig(StrictModel):
    """`dte evaluate hep-3dgan`: generated vs reference showers."""

    events: int = Field(500, ge=10)
    """Reference showers compared (the validation split of the data, topped up by the GFlash
    generator with a different seed when the split is smaller)."""
    batch_size: int = Field(32, ge=1)
    """Showers generated per forward pass."""
    energy_bins: int = Field(5, ge=1)
    """Ep bins for the sampling fraction and its linearity."""
    min_layer_fraction: float = Field(0.01, gt=0, lt=1)
    """Layers (and x, y cells) whose mean deposit is below this fraction of the profile's
    maximum are left out of the profile metrics."""


class Hep3DGANConfig(ScienceConfig):
    """Everything a hep-3dgan run needs."""

    data: DataConfig = DataConfig()
    """Data generation and loading."""
    model: ModelConfig = ModelConfig()
    """Network architecture."""
    loss: LossConfig = LossConfig()
    """Loss weights."""
    optim: OptimConfig = OptimConfig()
    """Optimization."""
    train: TrainConfig = TrainConfig(
        epochs=1, batch_size=8,
        checkpoint=CheckpointConfig(best_monitor="val/profile_max_rel_diff", best_mode="min"))
    """Generic training loop; the best checkpoint is the one with the closest longitudinal
    profile (a physics metric, not a loss)."""
    evaluate: EvaluateConfig = EvaluateConfig()
    """Physics validation."""
