"""Which samples each process sees, for every engine: the same global batches whatever the
number of processes (torch ranks or TensorFlow replicas).

Training: one permutation per epoch (seeded by base seed and epoch) cut into global batches of
`batch_size`; the incomplete last one is dropped, so every rank runs the same number of steps
and no sample is duplicated. Each global batch is split into `world_size` contiguous shards,
each shard into `accumulate` micro-batches, so 1 process and N processes see the same
samples per optimizer step. Validation: every sample exactly once, in contiguous rank shards
(uneven sizes allowed); metrics are weighted by sample counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from dte_core.errors import ConfigError
from dte_core.seeding import derive


@dataclass(frozen=True)
class BatchLayout:
    """How one global batch is cut for this process."""

    batch_size: int
    world_size: int
    accumulate: int = 1
    #: what the shards are called in messages (processes, or replicas on the TensorFlow path)
    unit: str = "process(es)"

    def __post_init__(self) -> None:
        parts = self.world_size * self.accumulate
        if self.batch_size % parts:
            raise ConfigError(
                f"train.batch_size={self.batch_size} cannot be split evenly over "
                f"{self.world_size} {self.unit} x train.accumulate={self.accumulate} "
                f"micro-batches. "
                f"Use a multiple of {parts} (for example --set train.batch_size="
                f"{max(parts, round(self.batch_size / parts) * parts)})."
            )

    @property
    def micro_batch(self) -> int:
        """Samples per forward pass on one process."""
        return self.batch_size // (self.world_size * self.accumulate)

    def steps_per_epoch(self, samples: int) -> int:
        return samples // self.batch_size

    def shards(self, order: Sequence[int], skip_steps: int, first: int, count: int = 1
               ) -> Iterator[Sequence[int]]:
        """Micro-batches of shards first..first+count-1, shard by shard, step by step."""
        shard = self.batch_size // self.world_size
        for step in range(skip_steps, self.steps_per_epoch(len(order))):
            for index in range(first, first + count):
                start = step * self.batch_size + index * shard
                for micro in range(self.accumulate):
                    lo = start + micro * self.micro_batch
                    yield order[lo:lo + self.micro_batch]


def epoch_order(samples: int, seed: int, epoch: int) -> np.ndarray:
    """The order of one training epoch: a permutation keyed by (seed, epoch)."""
    return np.random.default_rng(derive(seed, "data", epoch)).permutation(samples)


class TrainBatches:
    """Batch sampler of one rank for one epoch, optionally skipping steps already done."""

    def __init__(self, samples: int, layout: BatchLayout, rank: int, seed: int, epoch: int,
                 skip_steps: int = 0) -> None:
        self.samples, self.layout, self.rank = samples, layout, rank
        self.steps = layout.steps_per_epoch(samples)
        self.skip = min(skip_steps, self.steps)
        self.order = epoch_order(samples, seed, epoch)

    def __len__(self) -> int:
        return (self.steps - self.skip) * self.layout.accumulate

    def __iter__(self) -> Iterator[list[int]]:
        # slices of one Python list: no per-batch array-to-list conversion
        yield from self.layout.shards(self.order.tolist(), self.skip, self.rank)


class ValBatches:
    """Batch sampler of one rank's contiguous validation shard (no padding, no repeats)."""

    def __init__(self, samples: int, batch: int, rank: int, world_size: int) -> None:
        self.lo = samples * rank // world_size
        self.hi = samples * (rank + 1) // world_size
        self.batch = batch

    def __len__(self) -> int:
        return -(-(self.hi - self.lo) // self.batch)

    def __iter__(self) -> Iterator[list[int]]:
        for lo in range(self.lo, self.hi, self.batch):
            yield list(range(lo, min(lo + self.batch, self.hi)))
