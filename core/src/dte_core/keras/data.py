"""Which samples each replica reads (the arithmetic of dte_core.sampling, shared with the torch
engine), and the tf.data pipeline that reads them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from dte_core.errors import DteError
from dte_core.keras.task import Source
from dte_core.sampling import BatchLayout, ValBatches


class BatchPlan:
    """The shares of one worker's replicas in every global batch (dte_core.sampling)."""

    def __init__(self, samples: int, batch_size: int, replicas: int, worker: int,
                 local_replicas: int) -> None:
        self.layout = BatchLayout(batch_size, replicas, unit="replicas (devices x processes)")
        self.per_replica = self.layout.micro_batch
        self.first, self.local = worker * local_replicas, local_replicas
        self.steps_per_epoch = self.layout.steps_per_epoch(samples)

    def train(self, order: np.ndarray, skip_steps: int = 0) -> Iterator[np.ndarray]:
        """Per-replica index arrays, replica by replica, step by step, from `skip_steps` on."""
        return self.layout.shards(np.asarray(order), skip_steps, self.first, self.local)


def val_shard(samples: int, worker: int, workers: int, batch: int) -> list[np.ndarray]:
    """This worker's contiguous validation shard in batches (uneven sizes allowed)."""
    return [np.asarray(b) for b in ValBatches(samples, batch, worker, workers)]


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
