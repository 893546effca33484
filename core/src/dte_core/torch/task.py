"""The Task API: what a torch science gives the Trainer (models, optimizers, data, steps)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch
    from pydantic import BaseModel
    from torch import nn
    from torch.utils.data import Dataset

    from dte_core.torch.step import StepContext


@dataclass
class Optimization:
    """Named optimizers and the schedulers that drive them."""

    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, Any] = field(default_factory=dict)
    #: step schedulers after every optimizer step, or once per epoch
    scheduler_interval: Literal["step", "epoch"] = "epoch"


class Task(ABC):
    """A science's model(s), optimizers and steps; one Trainer runs it on every strategy.

    During training `self.models` holds the models as the strategy wrapped them (DDP, ...);
    during validation it holds the plain modules. With one optimizer, `training_step` returns
    the loss (or a dict with a `loss` entry) and the Trainer does backward and step; with
    several (a GAN) it calls `ctx.optimize(name, loss)` for each and returns its metrics.
    """

    def __init__(self, config: BaseModel) -> None:
        self.config = config
        self.models: dict[str, nn.Module] = {}

    @abstractmethod
    def configure_models(self) -> dict[str, nn.Module]:
        """Build the model(s) by name; called once, after seeding."""

    @abstractmethod
    def configure_optimizers(self, models: Mapping[str, nn.Module]) -> Optimization:
        """Optimizers (and schedulers) over the plain modules' parameters."""

    @abstractmethod
    def train_dataset(self) -> Dataset:
        """The training samples (map-style, indexable)."""

    def val_dataset(self) -> Dataset | None:
        """The validation samples, or None to skip validation."""
        return None

    def collate(self, samples: list[Any]) -> Any:
        """Stack samples into a batch (torch's default collate unless overridden)."""
        from torch.utils.data import default_collate

        return default_collate(samples)

    @abstractmethod
    def training_step(self, batch: Any, ctx: StepContext) -> Any:
        """One micro-batch: a loss (automatic optimization) or metrics after ctx.optimize()."""

    def validation_step(self, batch: Any) -> Mapping[str, torch.Tensor]:
        """Metrics of one validation batch (batch means; the Trainer weights them by size)."""
        return {}

    def validation_summary(self, means: Mapping[str, float]) -> Mapping[str, float]:
        """Derived metrics from the validation means over all samples and ranks.

        For statistics that are not means themselves: validation_step returns per-batch means
        of the parts (e.g. each layer's mean deposit, real and generated) and this combines
        them (e.g. the largest relative difference of the profiles). Returned keys are added;
        keys starting with "_" (the parts) are not logged."""
        return {}
