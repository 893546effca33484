"""Config, data and Task of the toy science."""

from __future__ import annotations

import atexit
import os
import time
from typing import Literal

import numpy as np
import torch
from dte_core.schemas import StrictModel, TrackingConfig, TrainConfig
from dte_core.torch.task import Optimization, Task
from pydantic import Field
from torch import nn


class ToyData(StrictModel):
    samples: int = Field(96, ge=1)
    """Training samples."""
    val_samples: int = Field(20, ge=0)
    """Validation samples (0: no validation)."""
    features: int = Field(8, ge=1)
    """Input features."""
    augment_noise: float = Field(0.0, ge=0)
    """Input noise drawn from numpy's global RNG in __getitem__ (exercises RNG restore)."""


class ToyModel(StrictModel):
    hidden: int = Field(16, ge=1)
    """Hidden width."""
    dropout: float = Field(0.0, ge=0, lt=1)
    """Dropout (exercises torch RNG restore)."""


class ToyOptim(StrictModel):
    lr: float = Field(0.05, gt=0)
    """SGD learning rate."""
    optimizers: Literal[1, 2] = 1
    """2: the two layers get separate optimizers, stepped by hand (the GAN pattern)."""


class ToyTesting(StrictModel):
    step_delay: float = Field(0.0, ge=0)
    """Seconds to sleep in every training step (to signal a run mid-epoch)."""
    return_loss: bool = True
    """False: training_step returns None (a broken science)."""
    nan_steps: list[int] = []
    """Optimizer steps (1-based) whose loss is NaN, as a bad batch would make it."""
    nan_lr_above: float | None = None
    """Every loss is NaN when optim.lr is above this: hyperparameters that diverge."""
    abort_at_exit: bool = False
    """Workers other than rank 0 abort while their process exits (a crash in teardown)."""
    overflow_steps: list[int] = []
    """Optimizer steps (1-based) whose gradients are NaN while their loss stays finite."""


class ToyConfig(StrictModel):
    data: ToyData = ToyData()
    """Data."""
    model: ToyModel = ToyModel()
    """Model."""
    optim: ToyOptim = ToyOptim()
    """Optimization."""
    train: TrainConfig = TrainConfig(epochs=3, batch_size=8)
    """Training loop."""
    tracking: TrackingConfig = TrackingConfig(mlflow=False, log_every=2)
    """Tracking."""
    testing: ToyTesting = ToyTesting()
    """Test hooks."""


class ToyDataset(torch.utils.data.Dataset):
    def __init__(self, n: int, features: int, seed: int, noise: float) -> None:
        rng = np.random.default_rng(seed)
        self.x = rng.normal(size=(n, features)).astype(np.float32)
        w = np.linspace(-1, 1, features, dtype=np.float32)
        self.y = (np.tanh(self.x @ w) + 0.1 * rng.normal(size=n)).astype(np.float32)[:, None]
        self.noise = noise

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        x = self.x[i]
        if self.noise:
            x = x + np.float32(self.noise) * np.random.standard_normal(x.shape).astype(np.float32)
        return torch.from_numpy(x), torch.from_numpy(self.y[i])


class ToyTask(Task):
    def configure_models(self):
        c = self.config
        if c.testing.abort_at_exit and os.environ.get("RANK", "0") != "0":
            atexit.register(os.abort)
        if c.optim.optimizers == 2:
            return {"body": nn.Sequential(nn.Linear(c.data.features, c.model.hidden), nn.Tanh(),
                                          nn.Dropout(c.model.dropout)),
                    "head": nn.Linear(c.model.hidden, 1)}
        return {"net": nn.Sequential(nn.Linear(c.data.features, c.model.hidden), nn.Tanh(),
                                     nn.Dropout(c.model.dropout), nn.Linear(c.model.hidden, 1))}

    def configure_optimizers(self, models):
        lr = self.config.optim.lr
        optimizers = {k: torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)
                      for k, m in models.items()}
        schedulers = {k: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.9)
                      for k, o in optimizers.items()}
        return Optimization(optimizers, schedulers)

    def train_dataset(self):
        d = self.config.data
        return ToyDataset(d.samples, d.features, 1, d.augment_noise)

    def val_dataset(self):
        d = self.config.data
        return ToyDataset(d.val_samples, d.features, 2, 0.0) if d.val_samples else None

    def _predict(self, x):
        if "net" in self.models:
            return self.models["net"](x)
        return self.models["head"](self.models["body"](x))

    def training_step(self, batch, ctx):
        if self.config.testing.step_delay:
            time.sleep(self.config.testing.step_delay)
        x, y = batch
        pred = self._predict(x)
        loss = nn.functional.mse_loss(pred, y)
        testing = self.config.testing
        if ctx.step + 1 in testing.nan_steps or (
                testing.nan_lr_above is not None and self.config.optim.lr > testing.nan_lr_above):
            loss = loss * float("nan")
        if ctx.step + 1 in self.config.testing.overflow_steps:
            # d sqrt(u)/du is infinite at u = 0: the loss gains 0, every gradient turns NaN
            loss = loss + sum(p.sum() * 0 for p in self.models["net"].parameters()).abs().sqrt()
        if not self.config.testing.return_loss:
            return None
        if self.config.optim.optimizers == 2:
            # The GAN pattern: two losses, two optimizers, stepped by the task through ctx.
            ctx.optimize("head", loss)
            loss2 = nn.functional.mse_loss(self._predict(x), y)
            ctx.optimize("body", loss2)
            return {"loss": loss.detach(), "loss_after_head": loss2.detach()}
        return {"loss": loss, "abs_err": (pred - y).abs().mean().detach()}

    def validation_step(self, batch):
        x, y = batch
        pred = self._predict(x)
        return {"loss": nn.functional.mse_loss(pred, y), "abs_err": (pred - y).abs().mean()}
