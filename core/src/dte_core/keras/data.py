"""Which samples each replica reads, and the tf.data pipeline that reads them.

As in the torch engine, `train.batch_size` is the global batch of one optimizer step: each
epoch's order is cut into global batches (the incomplete last one is dropped) and every global
batch into one contiguous share per replica, so 1 or N replicas see the same samples per step
and a resumed epoch skips exactly the batches already done.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from dte_core.errors import ConfigError, DteError
from dte_core.keras.task import Source


class BatchPlan:
    """The shares of one worker's replicas in every global batch."""

    def __init__(self, samples: int, batch_size: int, replicas: int, worker: int,
                 local_replicas: int) -> None:
        if batch_size % replicas:
            fit = max(replicas, round(batch_size / replicas) * replicas)
            raise ConfigError(
                f"train.batch_size={batch_size} cannot be split evenly over {replicas} "
                f"replicas (devices x processes). Use a multiple of {replicas} (for example "
                f"--set train.batch_size={fit}).")
        self.samples, self.batch_size = samples, batch_size
        self.per_replica = batch_size // replicas
        self.first = worker * local_replicas
        self.local = local_replicas
        self.steps_per_epoch = samples // batch_size

    def train(self, order: np.ndarray, skip_steps: int = 0) -> Iterator[np.ndarray]:
        """Per-replica index arrays, replica by replica, step by step, from `skip_steps` on."""
        b = self.per_replica
        for step in range(skip_steps, self.steps_per_epoch):
            batch = order[step * self.batch_size:(step + 1) * self.batch_size]
            for replica in range(self.first, self.first + self.local):
                yield batch[replica * b:(replica + 1) * b]


def val_shard(samples: int, worker: int, workers: int, batch: int) -> list[np.ndarray]:
    """This worker's contiguous validation shard in batches (uneven sizes allowed)."""
    lo, hi = samples * worker // workers, samples * (worker + 1) // workers
    return [np.arange(start, min(start + batch, hi)) for start in range(lo, hi, batch)]


def signature(source: Source, batch: int | None) -> tuple[Any, ...]:
    """TensorSpecs of one batch of `source` (leading dimension `batch`, None: any)."""
    import tensorflow as tf

    if len(source) == 0:
        raise DteError("The data source has no samples.")
    example = source.read(np.arange(1), 0)
    if not isinstance(example, tuple):
        raise DteError(f"Source.read must return a tuple of arrays, not "
                       f"{type(example).__name__}.")
    return tuple(tf.TensorSpec((batch, *np.shape(a)[1:]), tf.as_dtype(np.asarray(a).dtype))
                 for a in example)


def pipeline(source: Source, chunks: list[np.ndarray] | Iterator[np.ndarray], epoch: int,
             spec: tuple[Any, ...], prefetch: int | None = None):
    """A tf.data.Dataset reading `chunks` of `source` in order, prefetched."""
    import tensorflow as tf

    chunks = list(chunks)

    def generate():
        for indices in chunks:
            yield source.read(indices, epoch)

    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options).prefetch(prefetch or tf.data.AUTOTUNE)
