"""Configuration sections shared by every science (strict pydantic models)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

#: the largest magnitude a float setting may have: training computes in float32 (or less),
#: where anything larger overflows to inf
FLOAT32_MAX = 3.4028234663852886e38
#: the most epochs a run may ask for (more is a typo, not a schedule)
MAX_EPOCHS = 1_000_000
#: the most optimizer steps a run may ask for
MAX_STEPS = 10**12


class StrictModel(BaseModel):
    """Base of every dte configuration model: unknown keys are errors, docstrings are help,
    numbers are finite (no inf/NaN, nothing that overflows float32)."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, validate_assignment=True,
        allow_inf_nan=False,
    )

    @field_validator("*", mode="after")
    @classmethod
    def _within_float32(cls, value: Any) -> Any:
        numbers = value if isinstance(value, list | tuple) else (value,)
        if any(isinstance(v, float) and abs(v) > FLOAT32_MAX for v in numbers):
            raise ValueError(f"it overflows float32, where training computes (largest "
                             f"magnitude {FLOAT32_MAX:.3g}); use a finite, smaller number")
        return value


class EarlyStoppingConfig(StrictModel):
    """Stop when a monitored validation metric stops improving."""

    monitor: str | None = None
    """Validation metric to watch (for example `val/loss`); null disables early stopping."""
    mode: Literal["min", "max"] = "min"
    """Whether smaller (`min`) or larger (`max`) values of the metric are better."""
    patience: int = Field(3, ge=1)
    """Validations without improvement before training stops."""
    min_delta: float = Field(0.0, ge=0.0)
    """Smallest change that counts as an improvement."""


class CheckpointConfig(StrictModel):
    """When checkpoints are written and how many are kept."""

    every_steps: int | None = Field(None, ge=1)
    """Write a checkpoint every this many optimizer steps (null: not by steps)."""
    every_epochs: int | None = Field(1, ge=1)
    """Write a checkpoint at the end of every this many epochs (null: not by epochs)."""
    keep_last: int = Field(3, ge=1)
    """How many of the newest checkpoints to keep; older ones are deleted."""
    best_monitor: str | None = None
    """Validation metric that marks the best checkpoint, kept beyond keep_last (null: none)."""
    best_mode: Literal["min", "max"] = "min"
    """Whether smaller (`min`) or larger (`max`) values of best_monitor are better."""


class DeepSpeedConfig(StrictModel):
    """DeepSpeed settings (used with train.strategy=deepspeed)."""

    zero_stage: int = Field(0, ge=0, le=3)
    """ZeRO stage: 0 (plain data parallel), 1 (optimizer states), 2 (+gradients), 3 (+weights)."""
    offload_optimizer: Literal["none", "cpu", "nvme"] = "none"
    """Where ZeRO keeps optimizer states."""
    offload_param: Literal["none", "cpu", "nvme"] = "none"
    """Where ZeRO-3 keeps parameters."""
    config_file: Path | None = None
    """A DeepSpeed JSON merged under dte's settings (keys dte derives must agree)."""


class TrainConfig(StrictModel):
    """The generic training loop: duration, batches, precision, seeds, validation."""

    epochs: int = Field(2, ge=0, le=MAX_EPOCHS)
    """Number of passes over the training data."""
    max_steps: int | None = Field(None, ge=1, le=MAX_STEPS)
    """Stop after this many optimizer steps, whatever the epoch (null: no limit)."""
    batch_size: int = Field(16, ge=1)
    """Global batch size per optimizer step, split evenly across processes."""
    accumulate: int = Field(1, ge=1)
    """Micro-batches whose gradients are accumulated before each optimizer step."""
    grad_clip: float | None = Field(None, gt=0)
    """Clip the gradient norm to this value (null: no clipping)."""
    precision: Literal["32", "bf16", "fp16"] = "32"
    """Numeric precision: full fp32, or bf16/fp16 autocast (fp16 needs CUDA)."""
    compile: bool = False
    """Compile the model with torch.compile before training."""
    seed: int = Field(0, ge=0, le=2**32 - 1)
    """Base seed (0 to 2**32-1); model, data and per-rank seeds are derived from it."""
    deterministic: bool = False
    """Use deterministic algorithms only (bit-reproducible runs, sometimes slower)."""
    val_every: int = Field(1, ge=1)
    """Run validation every this many epochs."""
    num_workers: int = Field(0, ge=0)
    """Data-loading worker processes per training process."""
    strategy: str = "auto"
    """Distribution strategy (`auto`, `single`, `ddp`, ...); `auto` picks from the launch."""
    horovod_scale_lr: bool = False
    """With the horovod strategy: multiply every learning rate by the number of processes
    (Horovod's linear scaling rule, for a global batch that grows with the workers)."""
    measure_comm: bool = False
    """Time the gradient all-reduce and log `train/comm_s` per epoch (ddp only). The
    all-reduce is made blocking to be timed, so it no longer overlaps the backward pass: use it
    for a communication-vs-computation probe (as `dte scale` does), not for production runs."""
    nonfinite: Literal["stop", "skip"] = "stop"
    """On a non-finite loss or gradient: `stop` the run (status failed, the step named), or
    `skip` that optimizer step (the run still stops after 10 in a row). Keras and DeepSpeed
    runs always stop: their step is applied inside the engine."""
    signal_sync_s: float = Field(1.0, gt=0)
    """Seconds between the points where processes agree on a stop signal (SIGTERM, SIGUSR1,
    SIGINT) before checkpointing; smaller reacts sooner, each costs one small collective."""
    checkpoint: CheckpointConfig = CheckpointConfig()
    """Checkpoint schedule."""
    deepspeed: DeepSpeedConfig = DeepSpeedConfig()
    """DeepSpeed settings (train.strategy=deepspeed)."""
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()
    """Early stopping on a validation metric."""

    @field_validator("epochs", "max_steps", mode="before")
    @classmethod
    def _bounded(cls, value: Any, info: Any) -> Any:
        bound = MAX_EPOCHS if info.field_name == "epochs" else MAX_STEPS
        if isinstance(value, int | float) and not isinstance(value, bool) and value > bound:
            raise ValueError(f"{value:g} is beyond the upper bound {bound:,}; a run this long "
                             f"is a typo, not a schedule")
        return value

    @field_validator("strategy", mode="after")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        from dte_core import strategies

        if value not in strategies.available():
            raise ValueError(f"Unknown strategy '{value}'; registered strategies: "
                             f"{', '.join(strategies.available())}")
        return value

    @model_validator(mode="after")
    def _has_an_end(self) -> TrainConfig:
        if self.epochs == 0 and self.max_steps is None:
            raise ValueError("train.epochs is 0 and train.max_steps is null: the run would never "
                             "stop. Set train.epochs >= 1 or train.max_steps.")
        return self


class TrackingConfig(StrictModel):
    """Where metrics, parameters and artifacts are recorded."""

    mlflow: bool = True
    """Record the run in MLflow (embedded SQLite store under `.dte/` unless `uri` is set)."""
    uri: str | None = None
    """MLflow tracking URI (`http://host:port` for a server); null: embedded store or
    the DTE_TRACKING_URI environment variable."""
    experiment: str | None = None
    """MLflow experiment name (null: the science name)."""
    system_metrics: bool = True
    """Record CPU, memory, disk, network (and GPU, with pynvml) use as MLflow system metrics
    (needs psutil)."""
    tensorboard: bool = False
    """Also write TensorBoard event files into the run directory."""
    log_every: int = Field(10, ge=1)
    """Log training metrics every this many optimizer steps."""


#: the sections every science's configuration declares itself (their contents differ)
SCIENCE_SECTIONS = ("data", "model", "optim", "evaluate")


class ScienceConfig(StrictModel):
    """Base of a science's whole configuration: the sections every science shares.

    `train` and `tracking` are the same models everywhere (a science may change their
    defaults); `data`, `model`, `optim` and `evaluate` must be declared by each science.
    Sections that were renamed still load from old files and old runs, with a note."""

    #: old top-level section name -> its name now
    renamed_sections: ClassVar[dict[str, str]] = {"eval": "evaluate"}

    train: TrainConfig = TrainConfig()
    """Generic training loop."""
    tracking: TrackingConfig = TrackingConfig()
    """Experiment tracking."""
    #: the training data's signature of a loaded model (dte_core.datasig), not a setting
    _data_signature: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        missing = [name for name in SCIENCE_SECTIONS if name not in cls.model_fields]
        if missing:
            raise TypeError(f"{cls.__name__} must declare the section(s) {', '.join(missing)} "
                            f"(every science has {', '.join(SCIENCE_SECTIONS)}).")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return rename_sections(cls, data)


def rename_sections(model: type[ScienceConfig], data: dict[str, Any]) -> dict[str, Any]:
    """`data` with each old section name folded into its new one (old values win: they came
    from a file, the new section may hold only defaults)."""
    old = [name for name in model.renamed_sections if name in data]
    if not old:
        return data
    data = dict(data)
    for name in old:
        new = model.renamed_sections[name]
        values = data.pop(name)
        current = data.get(new)
        if isinstance(values, dict) and isinstance(current, dict):
            values = {**current, **values}
        data[new] = values
        deprecated(f"the config section '{name}:' is now called '{new}:'; it was read as "
                   f"'{new}' (rename it in the file; runs saved before keep resuming)")
    return data


_noted: set[str] = set()


def deprecated(text: str) -> None:
    """A deprecation note on stderr, once per process and from rank 0 only."""
    from dte_core.env import detect

    if text in _noted or not detect().is_global_zero:
        return
    _noted.add(text)
    print(f"Note: {text}.", file=sys.stderr, flush=True)
