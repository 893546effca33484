"""The epoch loop both engines run: validation cadence, logging, checkpoints (by steps, epochs,
best metric), early stopping, callbacks and stop agreement; engines supply steps and collectives.

Its bookkeeping (best value, bad validations) travels in every checkpoint.
"""

from __future__ import annotations

import math
import signal as signal_module
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dte_core.checkpoint import Position
from dte_core.errors import DteError
from dte_core.signals import StopFlag
from dte_core.tracking import Logger


@dataclass
class FitResult:
    """How a fit ended."""

    status: str  # finished (also after early stopping) | stopped (signal) | pruned (callback)
    step: int
    epoch: int
    metrics: dict[str, float] = field(default_factory=dict)
    signal: int | None = None
    checkpoint: Path | None = None


class Callback:
    """Hooks into the loop; `on_validation` returning True ends the fit (e.g. HPO pruning).

    Only rank 0's answer counts: it is shared so that every process stops together."""

    def on_validation(self, metrics: Mapping[str, float], epoch: int) -> bool:
        return False


class StepOutputError(DteError):
    """A training_step that returned nothing the trainer can optimize."""


class NonFiniteError(DteError):
    """Training produced a non-finite loss or gradient; the run stops `failed`."""

    exit_code = 1


class NonFiniteGuard:
    """`train.nonfinite`: a non-finite step stops the run, or (`skip`) is left out, until
    too many in a row show that the run will not recover."""

    #: consecutive skipped steps after which `skip` stops the run as well
    MAX_SKIPPED = 10

    def __init__(self, policy: str = "stop", can_skip: bool = True) -> None:
        self.policy = policy if can_skip else "stop"
        self.skipped = 0  # in a row

    def finite(self) -> None:
        self.skipped = 0

    def skip(self, step: int, what: str) -> bool:
        """Called for a non-finite optimizer `step` (1-based); True: leave this step out."""
        if self.policy == "skip" and self.skipped < self.MAX_SKIPPED:
            self.skipped += 1
            return True
        after = (f" after skipping {self.skipped} non-finite steps in a row"
                 if self.skipped else "")
        raise NonFiniteError(
            f"Training became non-finite at step {step}{after}: {what}. The run stopped "
            f"before saving these weights (any checkpoint it wrote holds finite ones). Lower "
            f"optim.lr, set train.grad_clip, check the data for NaN/inf, or set "
            f"train.nonfinite=skip to leave such steps out.")


def monitored(val: Mapping[str, float], monitor: str, setting: str) -> float:
    """The value of `monitor` (with or without its `val/` prefix); `setting` names the key."""
    key = monitor if monitor in val else f"val/{monitor}"
    if key not in val:
        raise DteError(f"{setting}='{monitor}' is not a validation metric of this task; it "
                       f"reports: {', '.join(sorted(val))}.")
    return val[key]


def validation_metrics(task: Any, means: dict[str, float]) -> dict[str, float]:
    """`val/` metrics from per-sample means plus the task's summary; keys starting with `_`
    are parts for validation_summary, not metrics to log."""
    means.update(task.validation_summary(means))
    return {f"val/{k}": float(v) for k, v in means.items() if not k.startswith("_")}


class ValidationWatch:
    """Best-checkpoint and early-stopping bookkeeping over a run's validations."""

    def __init__(self, train: Any) -> None:
        self.checkpoint, self.early = train.checkpoint, train.early_stopping
        self.best: float | None = None  # early stopping's best value
        self.bad_validations = 0
        self.best_checkpoint_value: float | None = None

    def best_so_far(self, val: Mapping[str, float] | None) -> bool:
        """Whether `val` beats every earlier validation on train.checkpoint.best_monitor."""
        ck = self.checkpoint
        if not val or ck.best_monitor is None:
            return False
        value = monitored(val, ck.best_monitor, "train.checkpoint.best_monitor")
        previous = self.best_checkpoint_value
        if previous is None or (value < previous if ck.best_mode == "min" else value > previous):
            self.best_checkpoint_value = value
            return True
        return False

    def should_stop(self, val: Mapping[str, float]) -> bool:
        """Early stopping: `patience` validations in a row without a `min_delta` improvement."""
        es = self.early
        if es.monitor is None:
            return False
        value = monitored(val, es.monitor, "train.early_stopping.monitor")
        better = (self.best is None or
                  (value < self.best - es.min_delta if es.mode == "min"
                   else value > self.best + es.min_delta))
        if better:
            self.best, self.bad_validations = value, 0
            return False
        self.bad_validations += 1
        return self.bad_validations >= es.patience

    def checkpoint_due(self, epochs_done: int, val: Mapping[str, float], stop_early: bool,
                       last: bool) -> bool:
        """Whether the end of an epoch writes a checkpoint: every N epochs, before an early
        stop, after a monitored validation (it may be the best), and at the end."""
        every = self.checkpoint.every_epochs
        watched = bool(val) and self.checkpoint.best_monitor is not None
        return bool(every and epochs_done % every == 0) or stop_early or watched or last

    def stop_message(self) -> str:
        return (f"early stopping: {self.early.monitor} has not improved for "
                f"{self.bad_validations} validations")

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "bad_validations": self.bad_validations,
                "best_checkpoint_value": self.best_checkpoint_value}

    def load(self, state: Mapping[str, Any]) -> None:
        self.best, self.bad_validations = state.get("best"), state.get("bad_validations", 0)
        self.best_checkpoint_value = state.get("best_checkpoint_value")


class EpochLoop(ABC):
    """The engine-neutral training loop; a trainer implements the abstract steps."""

    #: set by `_configure`
    steps_per_epoch: int
    total_steps: int

    def __init__(self, task: Any, config: Any, strategy: Any, logger: Logger,
                 checkpoint_dir: Path | None = None, science: str = "",
                 log_every: int = 10, callbacks: list[Callback] | None = None) -> None:
        self.task, self.cfg, self.strategy, self.logger = task, config, strategy, logger
        self.checkpoint_dir, self.science, self.log_every = checkpoint_dir, science, log_every
        self.callbacks = list(callbacks or [])
        self.stop = StopFlag()
        self.watch = ValidationWatch(config)
        self.last_checkpoint: Path | None = None
        self.started = False

    # ---- what an engine provides ---------------------------------------------------------
    @abstractmethod
    def _configure(self) -> None:
        """Build models, optimizers and data; set steps_per_epoch and total_steps."""

    @abstractmethod
    def _start(self, resume_from: Path | None) -> Position:
        """Restore `resume_from` (or seed a fresh start); the position to continue from."""

    @abstractmethod
    def _begin_epoch(self, pos: Position) -> None:
        """Prepare this epoch's batches from `pos.batch_in_epoch` on."""

    @abstractmethod
    def _train_step(self, pos: Position) -> None:
        """One optimizer step; its metrics accumulate until `_take_means`."""

    @abstractmethod
    def _take_means(self) -> dict[str, float]:
        """Means of the accumulated step metrics over steps and processes (`train/` keys),
        then reset; {} when nothing accumulated."""

    @abstractmethod
    def _agreed_signal(self, step: int, now: bool = False) -> int:
        """The stop signal every process agrees on (0: go on); `now` at an epoch end."""

    @abstractmethod
    def _share(self, decision: bool) -> bool:
        """The chief's decision, known to every process (only the chief's vote counts)."""

    @abstractmethod
    def _write_checkpoint(self, position: Position, info: dict[str, Any], best: bool) -> Path:
        """Write one checkpoint collectively; its folder."""

    @abstractmethod
    def validate(self) -> dict[str, float]:
        """Validation metrics averaged over every sample of every process (`val/` keys)."""

    def _end_epoch(self) -> dict[str, float]:
        """Engine work at a full epoch's end (schedulers); extra timing metrics to log."""
        return {}

    # ---- the loop --------------------------------------------------------------------------
    def fit(self, resume_from: Path | None = None, params: Mapping[str, Any] | None = None,
            artifacts: list[Path] | None = None) -> FitResult:
        """Train until the epochs or max_steps are done, a signal arrives or early stopping."""
        self._configure()
        position = self._start(resume_from)
        self.started = True  # past setup (models, data): a failure now is a training failure
        self.stop.install()
        status = "failed"
        self.logger.start(params or {}, artifacts or [], self.total_steps, position.step)
        try:
            result = self._loop(position)
            status = result.status
            return result
        finally:
            self.stop.uninstall()
            self.logger.finish(status)

    def _loop(self, pos: Position) -> FitResult:
        cfg = self.cfg
        metrics: dict[str, float] = {}
        epochs = cfg.epochs if cfg.epochs else math.inf
        while pos.epoch < epochs and pos.step < self.total_steps:
            self._begin_epoch(pos)
            first_batch, t_epoch = pos.batch_in_epoch, time.perf_counter()
            while pos.batch_in_epoch < self.steps_per_epoch and pos.step < self.total_steps:
                self._train_step(pos)
                pos.step += 1
                pos.batch_in_epoch += 1
                self.logger.advance(pos.step)
                if pos.step % self.log_every == 0 or pos.step == self.total_steps:
                    metrics = self._take_means()
                    self.logger.log(metrics, pos.step, pos.epoch)
                every = cfg.checkpoint.every_steps
                if every and pos.step % every == 0:
                    self.save_checkpoint(pos)
                agreed = self._agreed_signal(pos.step)
                if agreed:
                    return self._stopped(pos, agreed)
            # end of the epoch (or of max_steps inside it)
            epoch_done = pos.batch_in_epoch >= self.steps_per_epoch
            stop_early = False
            elapsed = time.perf_counter() - t_epoch
            pending = self._take_means()
            if pending:
                metrics = pending
                self.logger.log(metrics, pos.step, pos.epoch)
            if epoch_done:
                steps = self.steps_per_epoch - first_batch  # fewer after a mid-epoch resume
                self.logger.log({"train/epoch_time_s": elapsed,
                                 "train/samples_per_s": steps * cfg.batch_size
                                 / max(elapsed, 1e-9), **self._end_epoch()},
                                pos.step, pos.epoch)
                val: dict[str, float] = {}
                if self._has_validation() and (pos.epoch + 1) % cfg.val_every == 0:
                    val = self.validate()
                    self.logger.log(val, pos.step, pos.epoch)
                    metrics.update(val)
                    stop_early = self.watch.should_stop(val)
                    if self._callbacks_stop(val, pos.epoch):
                        self.logger.message(f"stopped by a callback (pruned) after epoch "
                                            f"{pos.epoch}")
                        return FitResult("pruned", pos.step, pos.epoch, dict(metrics),
                                         checkpoint=self.last_checkpoint)
                pos.epoch += 1
                pos.batch_in_epoch = 0
                if self.watch.checkpoint_due(pos.epoch, val, stop_early,
                                             pos.step >= self.total_steps):
                    self.save_checkpoint(pos, val)
            elif pos.step >= self.total_steps:
                self.save_checkpoint(pos)
            agreed = self._agreed_signal(pos.step, now=True)
            if agreed:
                return self._stopped(pos, agreed)
            if stop_early:
                self.logger.message(self.watch.stop_message())
                break
        return FitResult("finished", pos.step, pos.epoch, metrics,
                         checkpoint=self.last_checkpoint)

    def _set_steps(self, samples: int, steps_per_epoch: int) -> None:
        """steps_per_epoch and total_steps (by epochs or max_steps); no step is an error."""
        if steps_per_epoch == 0:
            raise DteError(
                f"The training set has {samples} samples, fewer than one global batch "
                f"(train.batch_size={self.cfg.batch_size}): no step could run. Lower "
                f"train.batch_size or use more data.")
        self.steps_per_epoch = steps_per_epoch
        by_epochs = self.cfg.epochs * steps_per_epoch if self.cfg.epochs else math.inf
        self.total_steps = int(min(by_epochs, self.cfg.max_steps or math.inf))

    def _has_validation(self) -> bool:
        return getattr(self, "val_data", None) is not None

    def save_checkpoint(self, position: Position,
                        val: Mapping[str, float] | None = None) -> Path | None:
        """A checkpoint at `position` (marked best if `val` beats every earlier validation)."""
        if self.checkpoint_dir is None:
            return None
        info: dict[str, Any] = {"science": self.science, "seed": self.cfg.seed}
        best = self.watch.best_so_far(val)
        if val:
            info["val"] = dict(val)
        path = self._write_checkpoint(position, info, best)
        self.last_checkpoint = path
        self.logger.message(f"checkpoint {path.name} written")
        return path

    def _callbacks_stop(self, val: Mapping[str, float], epoch: int) -> bool:
        """Ask the callbacks after a validation; the chief decides and every process follows.

        Only the chief may hold callbacks (an HPO trial lives there), so the decision is
        shared whenever several processes train, whatever this process holds."""
        several = self.strategy.processes > 1
        if not self.callbacks and not several:
            return False
        stop = self.strategy.is_chief and any([cb.on_validation(val, epoch)
                                               for cb in self.callbacks])
        return self._share(stop) if several else stop

    def _stopped(self, pos: Position, signum: int) -> FitResult:
        path = self.save_checkpoint(pos)
        name = signal_module.Signals(signum).name
        self.logger.message(f"stopped by {name} at step {pos.step}; resume with --resume")
        return FitResult("stopped", pos.step, pos.epoch, signal=signum, checkpoint=path)
