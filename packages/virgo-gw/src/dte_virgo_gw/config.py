"""Configuration of the virgo-gw science; the defaults run a short CPU job on generated data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from dte_core.schemas import CheckpointConfig, ScienceConfig, StrictModel, TrainConfig
from pydantic import Field, model_validator

MORPHOLOGIES = ("blip", "scattered_light", "whistle", "chirp", "broadband")
Morphology = Literal["blip", "scattered_light", "whistle", "chirp", "broadband"]


def q_window(q_max: float, f_low: float) -> float:
    """Seconds of data the Q-transform's longest tile needs: gwpy's recommended whitening
    duration q / (2 f_low) for the largest Q at the lowest frequency."""
    return q_max / (2.0 * f_low)


def max_frequency(sample_rate: float, q_min: float) -> float:
    """Highest frequency gwpy's Q tiling resolves at this sample rate and smallest Q."""
    return sample_rate / 2.0 / (1.0 + math.sqrt(11.0) / q_min)


class DataConfig(StrictModel):
    """Strain and auxiliary channels, their Q-transform maps, and the generator's physics."""

    path: Path | None = None
    """Dataset folder (or its virgo-gw.h5) from `dte data generate|prepare virgo-gw`; null: a
    dataset generated from the settings below and kept under .dte/data/virgo-gw."""
    samples: int = Field(512, ge=2)
    """Samples to generate."""
    seed: int = 0
    """Generation seed: the same seed and settings give the same dataset, bit for bit."""
    aux_channels: int = Field(3, ge=1, le=64)
    """Auxiliary (witness) channels per sample; the network's input channels."""
    main: str = "V1:Hrec_hoft_16384Hz"
    """Name of the main (strain) channel; `prepare` reads it from the input files."""
    aux: list[str] = []
    """Names of the auxiliary channels (`prepare` reads them; `generate` labels its channels
    with them when given, else V1:SIM-AUX_<k>)."""
    sample_rate: int = Field(2048, ge=256)
    """Sample rate of every stored channel in Hz (`prepare` resamples to it)."""
    duration: float = Field(2.0, gt=0)
    """Seconds covered by one sample's maps."""
    pad: float = Field(0.5, ge=0)
    """Seconds of data kept on each side of a sample, so the Q-transform's tiles at the map
    edges see real data (at least half the Q-transform window)."""
    stride: float | None = Field(None, gt=0)
    """`prepare`: seconds between the starts of consecutive samples (null: `duration`)."""

    psd: str = "AdVDesignSensitivityP1200087"
    """Main-channel noise: a lalsimulation PSD (SimNoisePSD<name>), Advanced Virgo design by
    default."""
    asd_file: Path | None = None
    """Measured ASD instead of `psd`: text file with two columns, frequency [Hz] and
    amplitude spectral density [1/sqrt(Hz)]."""
    noise_f_low: float = Field(5.0, gt=0)
    """Below this frequency (Hz) the main-channel noise model is cut off."""
    glitch_rate: float = Field(1.5, ge=0)
    """Mean number of glitches per sample (Poisson)."""
    glitch_snr: tuple[float, float] = (8.0, 60.0)
    """Range of glitch SNRs in the auxiliary channel that witnesses them (log-uniform)."""
    morphologies: list[Morphology] = list(MORPHOLOGIES)
    """Glitch morphologies to draw from."""
    coupling_gain: tuple[float, float] = (0.5, 1.5)
    """Range of per-channel gains from auxiliary SNR to main-channel SNR."""
    nonlinearity: float = Field(0.3, ge=0)
    """Scale of the quadratic (non-linear) coupling term of each channel."""
    cbc_fraction: float = Field(0.3, ge=0, le=1)
    """Fraction of samples with a compact-binary (IMRPhenomD) signal in the main channel."""
    cbc_snr: tuple[float, float] = (8.0, 30.0)
    """Range of optimal SNRs of the injected compact-binary signals."""
    cbc_mass: tuple[float, float] = (15.0, 60.0)
    """Range of component masses (solar masses) of the injected binaries."""

    q_range: tuple[float, float] = (12.0, 12.0)
    """Q range of the Q-transform (equal ends: one fixed Q; else gwpy picks the loudest plane
    per map)."""
    frequency_range: tuple[float, float] = (8.0, 500.0)
    """Band of the Q-transform in Hz."""
    map_shape: tuple[int, int] = (64, 64)
    """Q-transform maps are this many frequencies (log-spaced) x times."""
    norm: Literal["median", "mean"] = "median"
    """Normalisation of each frequency row of a map: divided by its median or mean energy."""

    asd_fftlength: float = Field(4.0, gt=0)
    """`prepare`: FFT length (s) of the Welch ASD used to whiten each continuous stretch."""
    whiten_fduration: float = Field(2.0, gt=0)
    """`prepare`: length (s) of the whitening filter; half of it is dropped at each end."""
    skip_nonfinite: bool = False
    """`prepare`: drop the stretches containing NaN or infinite values instead of failing."""

    val_fraction: float = Field(0.2, gt=0, lt=1)
    """Fraction of samples (the last ones) held out for validation and evaluation."""
    workers: int | None = Field(None, ge=1)
    """Processes that generate or prepare samples (null: one per CPU core)."""

    @model_validator(mode="after")
    def _consistent(self) -> DataConfig:
        lo, hi = self.frequency_range
        q_lo, q_hi = self.q_range
        ranges = {"data.frequency_range": self.frequency_range, "data.q_range": self.q_range,
                  "data.glitch_snr": self.glitch_snr, "data.cbc_snr": self.cbc_snr,
                  "data.cbc_mass": self.cbc_mass, "data.coupling_gain": self.coupling_gain}
        for key, (a, b) in ranges.items():
            if not 0 < a <= b:
                raise ValueError(f"{key} must be (low, high) with 0 < low <= high, got ({a}, {b})")
        if lo == hi:
            raise ValueError("data.frequency_range needs a band: low < high")
        top = max_frequency(self.sample_rate, q_lo)
        if hi > top:
            raise ValueError(
                f"data.frequency_range reaches {hi:g} Hz, but at data.sample_rate="
                f"{self.sample_rate} and Q={q_lo:g} the Q-transform resolves at most {top:.0f} "
                f"Hz; lower the upper frequency or raise data.sample_rate")
        window = q_window(q_hi, lo)
        if self.duration < window:
            raise ValueError(
                f"data.duration={self.duration:g} s is shorter than the Q-transform window "
                f"({window:.3g} s = Q {q_hi:g} / (2 x {lo:g} Hz)); use a longer duration, a "
                f"higher lower frequency or a smaller Q")
        if self.pad < window / 2:
            raise ValueError(
                f"data.pad={self.pad:g} s is less than half the Q-transform window "
                f"({window / 2:.3g} s); tiles at the map edges would wrap around. Raise "
                f"data.pad to at least {window / 2:.3g}")
        if not self.morphologies:
            raise ValueError(f"data.morphologies is empty; choose from {', '.join(MORPHOLOGIES)}")
        if min(self.map_shape) < 8:
            raise ValueError("data.map_shape must be at least 8 x 8 pixels")
        return self


class ModelConfig(StrictModel):
    """The denoiser network."""

    kind: Literal["unet", "decoder"] = "unet"
    """Architecture: a U-Net (skip connections) or a plain encoder-decoder."""
    base_channels: int = Field(16, ge=1)
    """Channels of the first level; doubled at each level down."""
    depth: int = Field(4, ge=1, le=6)
    """Down-sampling levels (map sides must be divisible by 2**depth)."""
    norm: Literal["batch", "group", "none"] = "batch"
    """Normalisation after each convolution (batch statistics keep each sample's loudness,
    which the regression needs; group normalises it away per sample)."""
    norm_groups: int = Field(8, ge=1)
    """Groups of GroupNorm layers (fewer if a level has fewer channels)."""
    main_input: bool = False
    """Give the network the main channel's map too, beside the auxiliary maps (it then sees
    where the energy is; what is a glitch it still has to learn from the witnesses)."""
    target: Literal["main", "glitch", "mask"] = "main"
    """What the network predicts from the auxiliary maps: `main`, the main channel's map P
    (glitch estimate G_hat = P minus the noise floor; trains on any dataset); `glitch`, the
    glitch map itself; `mask`, the fraction of each main-map pixel's energy that is glitch
    (G_hat = mask x main map). `glitch` and `mask` train on the truth maps of generated data;
    at inference they see only the auxiliary maps (and, for `mask`, the main map)."""


class OptimConfig(StrictModel):
    """Optimizer, learning rate and loss."""

    lr: float = Field(3e-3, gt=0)
    """Peak learning rate of AdamW."""
    weight_decay: float = Field(1e-4, ge=0)
    """Weight decay of AdamW."""
    loss: Literal["l1", "l2"] = "l2"
    """Loss of `model.target` main or glitch, on the log1p maps: L2 weighs the large errors of
    glitch pixels above the noise pixels' irreducible scatter (faster to learn); L1 estimates
    the median. (`mask` has its own loss: the glitch-power residual itself, see the README.)"""
    schedule: Literal["cosine", "constant"] = "cosine"
    """Learning-rate schedule over the run's optimizer steps."""
    cbc_weight: float = Field(0.0, ge=0)
    """`model.target=mask`: weight of a loss term on the binary-signal energy that the glitch
    estimate removes (the truth signal maps of generated data); 0 leaves it out."""


class EvaluateConfig(StrictModel):
    """Held-out evaluation and the linear baseline."""

    baseline_lags: int = Field(3, ge=0)
    """The linear baseline regresses each main pixel on the auxiliary pixels of the same
    frequency row within this many time columns on each side (delays of the coupling)."""
    baseline_ridge: float = Field(1e-3, ge=0)
    """Ridge regularisation of the baseline's least squares (relative to the feature scale)."""
    examples: int = Field(3, ge=1)
    """Held-out samples drawn in the example figure."""
    batch_size: int = Field(32, ge=1)
    """Samples per forward pass when evaluating and predicting."""


class VirgoConfig(ScienceConfig):
    """Everything a virgo-gw run needs."""

    data: DataConfig = DataConfig()
    """Data generation, preparation and loading."""
    model: ModelConfig = ModelConfig()
    """Network architecture."""
    optim: OptimConfig = OptimConfig()
    """Optimization."""
    evaluate: EvaluateConfig = EvaluateConfig()
    """Evaluation and the linear baseline."""
    train: TrainConfig = TrainConfig(
        epochs=12, batch_size=16,
        checkpoint=CheckpointConfig(best_monitor="val/loss", best_mode="min"))
    """Generic training loop."""

    @model_validator(mode="after")
    def _fits_the_network(self) -> VirgoConfig:
        step = 2 ** self.model.depth
        if any(side % step for side in self.data.map_shape):
            raise ValueError(
                f"data.map_shape {tuple(self.data.map_shape)} cannot be halved model.depth="
                f"{self.model.depth} times: both sides must be multiples of {step}. Change "
                f"data.map_shape or model.depth")
        return self
