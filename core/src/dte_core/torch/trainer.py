"""The torch Trainer: the shared epoch loop (dte_core.loop) for any Task on any Strategy."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dte_core.checkpoint import Position
from dte_core.errors import DteError
from dte_core.loop import Callback, EpochLoop, StepOutputError, validation_metrics
from dte_core.sampling import BatchLayout, TrainBatches, ValBatches
from dte_core.seeding import derive
from dte_core.torch import checkpoint
from dte_core.torch.precision import Precision
from dte_core.torch.step import StepContext
from dte_core.tracking import Logger

if TYPE_CHECKING:
    import torch

    from dte_core.schemas import TrainConfig
    from dte_core.torch.strategies.base import Strategy
    from dte_core.torch.task import Optimization, Task


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every CUDA device) with `seed`."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move tensors in a (nested) batch to `device`."""
    import torch

    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def batch_length(batch: Any) -> int:
    """Samples in a batch: the leading dimension of its first tensor."""
    import torch

    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, Mapping):
        return batch_length(next(iter(batch.values())))
    if isinstance(batch, list | tuple):
        return batch_length(batch[0])
    raise DteError(f"Cannot tell the size of a batch of type {type(batch).__name__}.")


class Trainer(EpochLoop):
    """Runs `task` under `strategy`: the shared loop with torch steps, states and collectives."""

    def __init__(self, task: Task, config: TrainConfig, strategy: Strategy, logger: Logger,
                 checkpoint_dir: Path | None = None, science: str = "",
                 log_every: int = 10, callbacks: list[Callback] | None = None) -> None:
        super().__init__(task, config, strategy, logger, checkpoint_dir, science, log_every,
                         callbacks)
        self._next_sync, self._sync_step, self._sync_clock = 1, 0, time.perf_counter()

    # ---- setup -------------------------------------------------------------------------
    def _configure(self) -> None:
        import torch

        cfg, strategy = self.cfg, self.strategy
        if cfg.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        self.precision = Precision("32" if strategy.owns_precision else cfg.precision,
                                   strategy.device)
        seed_everything(derive(cfg.seed, "model"))  # identical initial weights on every rank
        plain = self.task.configure_models()
        if not plain:
            raise DteError("The task's configure_models() returned no model.")
        plain = {name: model.to(strategy.device) for name, model in plain.items()}
        self.optimization: Optimization = self.task.configure_optimizers(plain)
        if not self.optimization.optimizers:
            raise DteError("The task's configure_optimizers() returned no optimizer.")
        wrapped = {name: strategy.wrap(model) for name, model in plain.items()}
        self.layout = BatchLayout(cfg.batch_size, strategy.world_size, cfg.accumulate)
        wrapped = strategy.prepare(wrapped, self.optimization, cfg.accumulate,
                                   self.layout.micro_batch)
        if cfg.compile:
            wrapped = {name: torch.compile(model) for name, model in wrapped.items()}
        self.plain, self.wrapped = plain, wrapped
        self.train_data = self.task.train_dataset()
        self.val_data = self.task.val_dataset()
        self._set_steps(len(self.train_data), self.layout.steps_per_epoch(len(self.train_data)))
        self.ctx = StepContext(strategy, self.optimization, self.precision.scaler,
                               cfg.grad_clip, cfg.accumulate, cfg.nonfinite)
        self._single = next(iter(self.optimization.optimizers)) \
            if len(self.optimization.optimizers) == 1 else None
        self._sums: dict[str, Any] = {}
        self._count = 0
        # CPU batches stay where the loader put them; other devices get each batch moved
        self._moves_batches = strategy.device.type != "cpu"

    def _loader(self, dataset: Any, batch_sampler: Any, epoch: int):
        """A DataLoader over `dataset` whose worker seeds depend only on (seed, epoch, rank)."""
        import torch
        from torch.utils.data import DataLoader

        generator = torch.Generator().manual_seed(derive(self.cfg.seed, "loader", epoch,
                                                         self.strategy.rank))
        from dte_core.torch.task import Task

        # torch's own default collate unless the task overrides it (one call less per batch)
        collate = self.task.collate if type(self.task).collate is not Task.collate else None
        return DataLoader(dataset, batch_sampler=batch_sampler, collate_fn=collate,
                          num_workers=self.cfg.num_workers, generator=generator,
                          pin_memory=self.strategy.device.type == "cuda")

    # ---- state ---------------------------------------------------------------------------
    def _states(self) -> dict[str, Any]:
        opt = self.optimization
        return {
            "models": {k: m.state_dict() for k, m in self.plain.items()},
            "optimizers": {k: o.state_dict() for k, o in opt.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in opt.schedulers.items()},
            "scaler": self.precision.state_dict(),
            "trainer": self.watch.state(),
        }

    def _load_states(self, states: dict[str, Any]) -> None:
        opt = self.optimization
        handled = set(states.get("handled_by_strategy", ()))  # e.g. DeepSpeed's own shards
        if "models" not in handled:
            for name, model in self.plain.items():
                model.load_state_dict(states["models"][name])
        if "optimizers" not in handled:
            for name, optimizer in opt.optimizers.items():
                optimizer.load_state_dict(states["optimizers"][name])
        for name, scheduler in opt.schedulers.items():
            scheduler.load_state_dict(states["schedulers"][name])
        self.precision.load_state_dict(states.get("scaler", {}))
        self.watch.load(states.get("trainer", {}))

    def _write_checkpoint(self, position: Position, info: dict[str, Any], best: bool) -> Path:
        if self.ctx.loss_only:
            self._check_weights(position)
        return checkpoint.save(self.checkpoint_dir, self.strategy, position, self._states(),
                               info, self.cfg.checkpoint.keep_last, best=best)

    def _check_weights(self, position: Position) -> None:
        """Finite weights before they are saved: a gradient may overflow while the loss that
        steps check stays finite."""
        import torch

        params = [p.detach() for m in self.plain.values() for p in m.parameters()]
        largest = torch.nn.utils.get_total_norm(params, float("inf")) if params else None
        if largest is not None and not bool(torch.isfinite(largest)):
            self.ctx.guard.skip(position.step, "the weights became non-finite (a gradient "
                                               "overflowed while the loss stayed finite)")

    def restore(self, directory: Path) -> Position:
        meta, states = checkpoint.load(directory, self.strategy)
        self._load_states(states)
        if meta.get("world_size") != self.strategy.world_size:
            self.logger.message(
                f"resuming a {meta.get('world_size')}-process checkpoint on "
                f"{self.strategy.world_size} process(es): weights and data order continue, "
                f"per-rank random streams restart")
        return Position(meta["step"], meta["epoch"], meta["batch_in_epoch"])

    def _start(self, resume_from: Path | None) -> Position:
        if resume_from is not None:
            return self.restore(resume_from)
        seed_everything(derive(self.cfg.seed, "train", self.strategy.rank))
        return Position()

    # ---- steps ---------------------------------------------------------------------------
    def _begin_epoch(self, pos: Position) -> None:
        self._set_mode(train=True)
        sampler = TrainBatches(len(self.train_data), self.layout, self.strategy.rank,
                               self.cfg.seed, pos.epoch, pos.batch_in_epoch)
        self._batches = iter(self._loader(self.train_data, sampler, pos.epoch))

    def _train_step(self, pos: Position) -> None:
        cfg, strategy, ctx = self.cfg, self.strategy, self.ctx
        sums = self._sums
        window: list[dict[str, Any]] = []
        for micro in range(cfg.accumulate):
            batch = next(self._batches)
            if self._moves_batches:
                batch = to_device(batch, strategy.device)
            ctx.begin(pos.epoch, pos.step, micro)
            syncing = micro == cfg.accumulate - 1
            with strategy.no_sync(self.wrapped) if not syncing else nullcontext():
                with self.precision.autocast():
                    out = self.task.training_step(batch, ctx)
                loss, step_metrics = self._split_output(out, self._single)
                if not ctx.optimized:
                    ctx.optimize(self._single, loss)
            if ctx.last_loss is not None and step_metrics.get("loss") is loss:
                # the step already read this loss as a number: no tensor work to sum it
                step_metrics = {**step_metrics, "loss": ctx.last_loss}
            window.append(step_metrics)
        if ctx.skipped:  # a left-out step's metrics are not averaged in
            self.logger.message(f"step {pos.step + 1}: non-finite, skipped "
                                f"(train.nonfinite=skip)")
            window = []
        for step_metrics in window:
            for key, value in step_metrics.items():
                if not isinstance(value, float):
                    value = value.detach().float()
                sums[key] = sums[key] + value if key in sums else value
            self._count += 1
        if self.precision.scaler is not None:
            self.precision.scaler.update()

    def _take_means(self) -> dict[str, float]:
        means = self._reduce_means(self._sums, self._count, prefix="train/")
        self._sums, self._count = {}, 0
        return means

    def _end_epoch(self) -> dict[str, float]:
        if self.optimization.scheduler_interval == "epoch":
            for scheduler in self.optimization.schedulers.values():
                scheduler.step()
        comm = self.strategy.comm_seconds()
        return {} if comm is None else {"train/comm_s": comm}

    def _split_output(self, out: Any, single_optimizer: str | None):
        """(loss or None, metrics) from what training_step returned, with clear errors."""
        import torch

        ctx = self.ctx
        if isinstance(out, torch.Tensor):
            loss, metrics = out, {"loss": out}
        elif isinstance(out, Mapping):
            loss = out.get("loss")
            metrics = {k: v for k, v in out.items() if isinstance(v, torch.Tensor)}
        else:
            loss, metrics = None, {}
        if ctx.optimized:
            return loss, metrics
        if single_optimizer is None:
            raise StepOutputError(
                f"The task has optimizers {', '.join(self.optimization.optimizers)}, so its "
                f"training_step must call ctx.optimize(name, loss) for each of them; it called "
                f"none and returned {type(out).__name__}."
            )
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not loss.requires_grad:
            what = ("a tensor without gradient" if isinstance(loss, torch.Tensor)
                    else type(out).__name__ if loss is None else type(loss).__name__)
            raise StepOutputError(
                f"The training_step of {self.science or type(self.task).__name__} returned "
                f"{what} instead of a loss: return a scalar tensor that requires grad, or a "
                f"dict with a 'loss' entry (other entries are logged as metrics)."
            )
        return loss, metrics

    def _reduce_means(self, sums: Mapping[str, Any], count: int, prefix: str) -> dict[str, float]:
        """Mean of each metric over micro-batches and ranks, as floats (rank 0 logs them)."""
        import torch

        if not sums:
            return {}
        keys = sorted(sums)
        device = self.strategy.device
        packed = torch.stack([torch.as_tensor(sums[k], dtype=torch.float32, device=device)
                              for k in keys] + [torch.tensor(float(count), device=device)])
        if self.strategy.world_size > 1:
            packed = self.strategy.all_reduce(packed)
        values = (packed[:-1] / packed[-1]).tolist()
        return {f"{prefix}{k}": v for k, v in zip(keys, values, strict=True)}

    def validate(self) -> dict[str, float]:
        """Validation metrics, averaged over every sample of every rank."""
        import torch

        strategy = self.strategy
        sampler = ValBatches(len(self.val_data), self.layout.batch_size // strategy.world_size,
                             strategy.rank, strategy.world_size)
        self._set_mode(train=False)
        sums: dict[str, torch.Tensor] = {}
        total = 0
        try:
            with torch.no_grad(), self.precision.autocast():
                for batch in self._loader(self.val_data, sampler, 0):
                    batch = to_device(batch, strategy.device)
                    n = batch_length(batch)
                    for key, value in self.task.validation_step(batch).items():
                        value = value.detach().float() * n
                        sums[key] = sums[key] + value if key in sums else value
                    total += n
        finally:
            self._set_mode(train=True)
        keys = sorted(strategy.broadcast_object(sorted(sums)) if strategy.world_size > 1
                      else sums)
        if not keys:
            return {}
        zero = torch.zeros((), device=strategy.device)
        packed = torch.stack([sums.get(k, zero) for k in keys] +
                             [torch.tensor(float(total), device=strategy.device)])
        if strategy.world_size > 1:
            packed = strategy.all_reduce(packed)
        values = (packed[:-1] / packed[-1].clamp(min=1)).tolist()
        return validation_metrics(self.task, dict(zip(keys, values, strict=True)))

    def _set_mode(self, train: bool) -> None:
        """Train mode with wrapped models, or eval mode with the plain ones."""
        models = self.wrapped if train else self.plain
        for model in models.values():
            model.train(train)
        self.task.models = dict(models)

    def _agreed_signal(self, step: int, now: bool = False) -> int:
        """The stop signal every rank agrees on (0: go on).

        A signal handler only sets a local flag. With several processes they agree in one
        tiny collective, held about every `train.signal_sync_s` seconds (the interval in steps
        comes from the slowest rank's pace, so every rank computes the same schedule) and at
        each epoch end; a collective every step would cost more than the step's own work on
        small models."""
        import torch

        local = int(self.stop.signum or 0)
        if self.strategy.world_size == 1:
            return local
        if not now and step < self._next_sync:
            return 0
        clock = time.perf_counter()
        flag = torch.tensor([float(local), clock - self._sync_clock], dtype=torch.float64)
        if self.strategy.device.type == "cuda":
            flag = flag.to(self.strategy.device)
        agreed, slowest = self.strategy.all_reduce(flag, op="max").tolist()
        seconds_per_step = slowest / max(1, step - self._sync_step)
        steps = int(self.cfg.signal_sync_s / max(seconds_per_step, 1e-6))
        self._next_sync = step + min(max(steps, 1), 10_000)
        self._sync_clock, self._sync_step = clock, step
        return int(agreed)

    def _share(self, decision: bool) -> bool:
        return bool(self.strategy.broadcast_object(decision))
