"""The Keras Task API: what a TensorFlow science gives the Keras trainer.

The trainer owns the loop, the strategy, checkpoints and logging; the task owns the models,
the optimizers, the samples and the maths of one step. Models and optimizers are created
under the strategy's scope, so the same task runs on one device, on the GPUs of one node
(`mirrored`) and on several processes (`multiworker`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from dte_core.errors import DteError
from dte_core.sampling import epoch_order

if TYPE_CHECKING:
    import keras
    import tensorflow as tf
    from pydantic import BaseModel


class Source(ABC):
    """Samples addressed by index and read a batch at a time, as numpy arrays.

    The trainer cuts each epoch's `order` into global batches, gives each replica its
    contiguous share and calls `read` for it inside a tf.data pipeline with prefetching."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of samples."""

    @abstractmethod
    def read(self, indices: np.ndarray, epoch: int) -> tuple[np.ndarray, ...]:
        """Samples `indices` (in that order) as arrays with a leading batch dimension.

        `epoch` keys random augmentation, so a resumed epoch reads exactly the same data."""

    def order(self, epoch: int, seed: int) -> np.ndarray:
        """The order of one training epoch: a permutation keyed by (seed, epoch) by default.

        A source that reads from chunked storage may keep neighbours close together."""
        return epoch_order(len(self), seed, epoch)


class StepContext:
    """Handed to `KerasTask.training_step` (inside the replica function of the strategy)."""

    def __init__(self, optimizers: Mapping[str, Any], variables: Mapping[str, list],
                 replicas: int, grad_clip: float | None) -> None:
        self.optimizers = dict(optimizers)
        self.variables = dict(variables)
        self.replicas = replicas
        self.grad_clip = grad_clip

    def optimize(self, tape: tf.GradientTape, loss: tf.Tensor, name: str | None = None) -> None:
        """Back-propagate `loss` (this replica's mean) and step optimizer `name`.

        The loss is divided by the number of replicas because the optimizer sums gradients
        over replicas, so the update equals one process's on the global batch. With
        train.grad_clip the global norm is clipped per replica, before that sum."""
        import tensorflow as tf

        if name is None:
            if len(self.optimizers) != 1:
                raise DteError(f"The task has optimizers {', '.join(self.optimizers)}: name the "
                               f"one to step, ctx.optimize(tape, loss, name).")
            name = next(iter(self.optimizers))
        variables = self.variables[name]
        grads = tape.gradient(loss, variables)
        if self.replicas > 1:
            grads = [None if g is None else g / self.replicas for g in grads]
        if self.grad_clip is not None:
            grads, _ = tf.clip_by_global_norm(grads, self.grad_clip)
        self.optimizers[name].apply(grads, variables)


class KerasTask(ABC):
    """A TensorFlow science's models, optimizers, samples and steps."""

    def __init__(self, config: BaseModel) -> None:
        self.config = config
        self.models: dict[str, keras.Model] = {}
        self.optimizers: dict[str, keras.optimizers.Optimizer] = {}

    def prepare(self) -> None:
        """Make the data available (generate, open, check) before TensorFlow starts.

        Runs in every process; errors here reach the user before the slow framework import."""

    @abstractmethod
    def configure_models(self) -> dict[str, keras.Model]:
        """Built models by name (Functional, or called once), created under the strategy."""

    @abstractmethod
    def configure_optimizers(self, models: Mapping[str, keras.Model]
                             ) -> dict[str, keras.optimizers.Optimizer]:
        """Optimizers by name."""

    def optimizer_variables(self, models: Mapping[str, keras.Model],
                            optimizers: Mapping[str, Any]) -> dict[str, list]:
        """Which variables each optimizer updates: all trainable ones for a single optimizer,
        else the model of the same name."""
        if len(optimizers) == 1:
            name = next(iter(optimizers))
            return {name: [v for m in models.values() for v in m.trainable_variables]}
        missing = [name for name in optimizers if name not in models]
        if missing:
            raise DteError(f"Optimizers {', '.join(missing)} have no model of the same name; "
                           f"override KerasTask.optimizer_variables to say what they update.")
        return {name: list(models[name].trainable_variables) for name in optimizers}

    @abstractmethod
    def train_source(self) -> Source:
        """The training samples."""

    def val_source(self) -> Source | None:
        """The validation samples (None: no validation)."""
        return None

    @abstractmethod
    def compute_loss(self, batch: tuple[tf.Tensor, ...], training: bool
                     ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """(mean loss over the batch, other metrics as batch means)."""

    def training_step(self, batch: tuple[tf.Tensor, ...], ctx: StepContext
                      ) -> dict[str, tf.Tensor]:
        """One optimizer step on this replica's share; returns metrics (batch means).

        The default differentiates `compute_loss` for a single optimizer; a task with several
        optimizers (a GAN) overrides this and calls `ctx.optimize` for each."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, metrics = self.compute_loss(batch, training=True)
        ctx.optimize(tape, loss)
        return {"loss": loss, **metrics}

    def validation_step(self, batch: tuple[tf.Tensor, ...]) -> dict[str, tf.Tensor]:
        """Metrics of one validation batch (means); averaged over every sample by the trainer."""
        loss, metrics = self.compute_loss(batch, training=False)
        return {"loss": loss, **metrics}

    def validation_summary(self, means: Mapping[str, float]) -> dict[str, float]:
        """Metrics that are not sample means (ratios of means), computed from the means."""
        return {}
