"""The Keras trainer: the torch Trainer's loop and outward behaviour on tf.distribute.

Epochs, `max_steps`, validation every `val_every` epochs, checkpoints by steps and epochs (last K
kept, best by a validation metric), early stopping, exact position on resume, and SIGTERM /
SIGUSR1 / SIGINT: a handler only sets a flag; the flag rides along in the all-reduce that every
step already does, so all workers stop at the same step, checkpoint and exit 75 (130 for SIGINT).
"""

from __future__ import annotations

import math
import signal as signal_module
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dte_core.checkpoint import Position
from dte_core.errors import ConfigError, DteError
from dte_core.keras import checkpoint as keras_checkpoint
from dte_core.keras.data import BatchPlan, pipeline, signature, val_shard
from dte_core.keras.runtime import keras as import_keras
from dte_core.keras.runtime import tensorflow
from dte_core.keras.task import KerasTask, StepContext
from dte_core.seeding import derive
from dte_core.signals import StopFlag
from dte_core.tracking import Logger
from dte_core.watch import ValidationWatch

if TYPE_CHECKING:
    from dte_core.keras.strategies import KerasStrategy
    from dte_core.schemas import TrainConfig

#: weight of SIGINT in the summed stop flag (any other signal counts 1)
_INTERRUPT = 1000.0


@dataclass
class FitResult:
    """How a fit ended (as dte_core.trainer.FitResult)."""

    status: str
    step: int
    epoch: int
    metrics: dict[str, float] = field(default_factory=dict)
    signal: int | None = None
    checkpoint: Path | None = None


class StepOutputError(DteError):
    """A training_step that returned no metrics dict with a loss."""


class KerasTrainer:
    """Runs a KerasTask under a KerasStrategy."""

    def __init__(self, task: KerasTask, config: TrainConfig, strategy: KerasStrategy,
                 logger: Logger, checkpoint_dir: Path | None = None, science: str = "",
                 log_every: int = 10, callbacks: list | None = None) -> None:
        self.task, self.cfg, self.strategy, self.logger = task, config, strategy, logger
        self.callbacks = list(callbacks or [])  # dte_core.trainer.Callback (HPO pruning)
        self.checkpoint_dir, self.science, self.log_every = checkpoint_dir, science, log_every
        self.stop = StopFlag()
        self.watch = ValidationWatch(config)
        self.last_checkpoint: Path | None = None

    # ---- setup -------------------------------------------------------------------------
    def _configure(self) -> None:
        tf, keras = tensorflow(), import_keras()
        cfg, strategy, task = self.cfg, self.strategy, self.task
        if cfg.accumulate != 1:
            raise ConfigError(
                f"train.accumulate={cfg.accumulate}: gradient accumulation is not available on "
                f"the TensorFlow path. Use train.accumulate=1 (a larger train.batch_size over "
                f"more replicas gives the same samples per step).")
        if cfg.precision == "fp16":
            raise ConfigError("train.precision=fp16 is not available on the TensorFlow path; "
                              "use --set train.precision=bf16 (mixed bfloat16) or 32.")
        if cfg.precision == "bf16":
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        if cfg.deterministic:
            tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(derive(cfg.seed, "model"))  # same weights on every worker
        with strategy.scope():
            models = task.configure_models()
            if not models:
                raise DteError("The task's configure_models() returned no model.")
            optimizers = task.configure_optimizers(models)
            if not optimizers:
                raise DteError("The task's configure_optimizers() returned no optimizer.")
            variables = task.optimizer_variables(models, optimizers)
            for name, optimizer in optimizers.items():
                optimizer.build(variables[name])
        task.models, task.optimizers = dict(models), dict(optimizers)
        self.ctx = StepContext(optimizers, variables, strategy.num_replicas, cfg.grad_clip)
        self.train_data = task.train_source()
        self.val_data = task.val_source()
        self.plan = BatchPlan(len(self.train_data), cfg.batch_size, strategy.num_replicas,
                              strategy.worker_index, strategy.local_replicas)
        if self.plan.steps_per_epoch == 0:
            raise DteError(
                f"The training set has {len(self.train_data)} samples, fewer than one global "
                f"batch (train.batch_size={cfg.batch_size}): no step could run. Lower "
                f"train.batch_size or use more data.")
        by_epochs = cfg.epochs * self.plan.steps_per_epoch if cfg.epochs else math.inf
        self.total_steps = int(min(by_epochs, cfg.max_steps or math.inf))
        self.train_spec = signature(self.train_data, self.plan.per_replica)
        self._keys: list[str] = []
        self._tf = tf
        self._train_step = tf.function(self._replicated_step, jit_compile=cfg.compile or None)
        self.val_spec = signature(self.val_data, None) if self.val_data is not None else None
        self._val_step = tf.function(task.validation_step, input_signature=[self.val_spec]) \
            if self.val_spec is not None else None

    def _replicated_step(self, batch: Any, flag: Any) -> Any:
        tf = self._tf
        run = self.strategy.tf_strategy

        def replica(batch, flag):
            out = self.task.training_step(batch, self.ctx)
            if not isinstance(out, Mapping) or "loss" not in out:
                raise StepOutputError(
                    f"The training_step of {self.science or type(self.task).__name__} returned "
                    f"{type(out).__name__}; return a dict of scalar metrics with a 'loss'.")
            if not self._keys:
                self._keys.extend(sorted(out))
            packed = tf.stack([tf.cast(tf.reshape(out[k], []), tf.float32) for k in self._keys]
                              + [flag])
            return tf.distribute.get_replica_context().all_reduce("sum", packed)

        return run.experimental_local_results(run.run(replica, args=(batch, flag)))[0]

    # ---- state -------------------------------------------------------------------------
    def save_checkpoint(self, position: Position,
                        val: Mapping[str, float] | None = None) -> Path | None:
        if self.checkpoint_dir is None:
            return None
        info: dict[str, Any] = {"science": self.science, "seed": self.cfg.seed}
        best = self.watch.best_so_far(val)
        if val:
            info["val"] = dict(val)
        trainer = self.watch.state()
        path = keras_checkpoint.save(self.checkpoint_dir, self.strategy, position,
                                     self.task.models, self.task.optimizers, trainer, info,
                                     self.cfg.checkpoint.keep_last, best=best)
        self.last_checkpoint = path
        self.logger.message(f"checkpoint {path.name} written")
        return path

    def restore(self, directory: Path) -> Position:
        meta = keras_checkpoint.check(directory)
        with self.strategy.scope():
            keras_checkpoint.load_models(directory, self.task.models)
            keras_checkpoint.load_optimizers(directory, self.task.optimizers)
        self.watch.load(keras_checkpoint.load_trainer(directory))
        if meta.get("replicas") != self.strategy.num_replicas:
            self.logger.message(
                f"resuming a checkpoint of {meta.get('replicas')} replica(s) on "
                f"{self.strategy.num_replicas}: weights and data order continue")
        return Position(meta["step"], meta["epoch"], meta["batch_in_epoch"])

    # ---- loop --------------------------------------------------------------------------
    def fit(self, resume_from: Path | None = None, params: Mapping[str, Any] | None = None,
            artifacts: list[Path] | None = None) -> FitResult:
        """Train until the epochs or max_steps are done, a signal arrives or early stopping."""
        self._configure()
        position = self.restore(resume_from) if resume_from is not None else Position()
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

    def _local_flag(self) -> float:
        signum = self.stop.signum
        if signum is None:
            return 0.0
        return _INTERRUPT if signum == signal_module.SIGINT else 1.0

    def _agreed_signal(self, total: float) -> int:
        if total <= 0:
            return 0
        if total >= _INTERRUPT:
            return int(signal_module.SIGINT)
        local = self.stop.signum
        return int(local if local not in (None, signal_module.SIGINT) else signal_module.SIGTERM)

    def _loop(self, pos: Position) -> FitResult:
        tf = tensorflow()
        cfg, strategy, plan = self.cfg, self.strategy, self.plan
        run = strategy.tf_strategy
        metrics: dict[str, float] = {}
        epochs = cfg.epochs if cfg.epochs else math.inf
        while pos.epoch < epochs and pos.step < self.total_steps:
            order = self.train_data.order(pos.epoch, cfg.seed)
            chunks = list(plan.train(order, pos.batch_in_epoch))
            epoch = pos.epoch
            dataset = run.distribute_datasets_from_function(
                lambda _ctx, chunks=chunks, epoch=epoch: pipeline(
                    self.train_data, chunks, epoch, self.train_spec))
            batches = iter(dataset)
            sums: np.ndarray | None = None
            count = 0
            t_epoch = time.perf_counter()
            while pos.batch_in_epoch < plan.steps_per_epoch and pos.step < self.total_steps:
                flag = tf.constant(self._local_flag(), tf.float32)
                values = self._train_step(next(batches), flag).numpy().astype(np.float64)
                step_means = values[:-1] / strategy.num_replicas
                sums = step_means if sums is None else sums + step_means
                count += 1
                pos.step += 1
                pos.batch_in_epoch += 1
                self.logger.advance(pos.step)
                if pos.step % self.log_every == 0 or pos.step == self.total_steps:
                    metrics = self._means(sums, count)
                    self.logger.log(metrics, pos.step, pos.epoch)
                    sums, count = None, 0
                every = cfg.checkpoint.every_steps
                if every and pos.step % every == 0:
                    self.save_checkpoint(pos)
                agreed = self._agreed_signal(values[-1])
                if agreed:
                    return self._stopped(pos, agreed)
            epoch_done = pos.batch_in_epoch >= plan.steps_per_epoch
            stop_early = False
            elapsed = time.perf_counter() - t_epoch
            if count:
                metrics = self._means(sums, count)
                self.logger.log(metrics, pos.step, pos.epoch)
            if epoch_done:
                self.logger.log({"train/epoch_time_s": elapsed,
                                 "train/samples_per_s": plan.steps_per_epoch * cfg.batch_size
                                 / max(elapsed, 1e-9)}, pos.step, pos.epoch)
                val: dict[str, float] = {}
                if self.val_data is not None and (pos.epoch + 1) % cfg.val_every == 0:
                    val = self.validate()
                    self.logger.log(val, pos.step, pos.epoch)
                    metrics.update(val)
                    stop_early = self.watch.should_stop(val)
                    if self._callbacks_stop(val, pos.epoch):
                        self.logger.message(f"stopped by a callback (pruned) after epoch "
                                            f"{pos.epoch}")
                        return FitResult("pruned", pos.step, pos.epoch, metrics,
                                         checkpoint=self.last_checkpoint)
                pos.epoch += 1
                pos.batch_in_epoch = 0
                if self.watch.checkpoint_due(pos.epoch, val, stop_early,
                                             pos.step >= self.total_steps):
                    self.save_checkpoint(pos, val)
            elif pos.step >= self.total_steps:
                self.save_checkpoint(pos)
            agreed = self._agreed_signal(float(strategy.all_sum(np.array([self._local_flag()]))[0]))
            if agreed:
                return self._stopped(pos, agreed)
            if stop_early:
                self.logger.message(self.watch.stop_message())
                break
        return FitResult("finished", pos.step, pos.epoch, metrics,
                         checkpoint=self.last_checkpoint)

    def _callbacks_stop(self, val: Mapping[str, float], epoch: int) -> bool:
        """Ask the callbacks after a validation; the chief decides and every worker follows."""
        if not self.callbacks and self.strategy.num_workers == 1:
            return False
        stop = self.strategy.is_chief and any([cb.on_validation(val, epoch)
                                               for cb in self.callbacks])
        if self.strategy.num_workers > 1:  # only the chief's vote is non-zero
            stop = bool(self.strategy.all_sum(np.array([float(stop)]))[0] > 0)
        return stop

    def _means(self, sums: np.ndarray | None, count: int) -> dict[str, float]:
        if sums is None or not count:
            return {}
        return {f"train/{k}": float(v) for k, v in zip(self._keys, sums / count, strict=True)}

    def validate(self) -> dict[str, float]:
        """Validation metrics averaged over every sample of every worker."""
        strategy, data = self.strategy, self.val_data
        batch = max(1, self.cfg.batch_size // strategy.num_workers)
        chunks = val_shard(len(data), strategy.worker_index, strategy.num_workers, batch)
        sums: dict[str, float] = {}
        total = 0
        for arrays in pipeline(data, chunks, 0, self.val_spec):
            n = int(arrays[0].shape[0])
            for key, value in self._val_step(arrays).items():
                sums[key] = sums.get(key, 0.0) + float(value) * n
            total += n
        if not sums:  # an empty shard still has to name the metrics for the collective sum
            keys = sorted(self._val_step(pipeline(data, [np.arange(1)], 0, self.val_spec)
                                         .get_single_element()))
        else:
            keys = sorted(sums)
        packed = strategy.all_sum(np.array([sums.get(k, 0.0) for k in keys] + [float(total)]))
        means = dict(zip(keys, (packed[:-1] / max(packed[-1], 1.0)).tolist(), strict=True))
        means.update(self.task.validation_summary(means))
        return {f"val/{k}": float(v) for k, v in means.items()}

    def _stopped(self, pos: Position, signum: int) -> FitResult:
        path = self.save_checkpoint(pos)
        name = signal_module.Signals(signum).name
        self.logger.message(f"stopped by {name} at step {pos.step}; resume with --resume")
        return FitResult("stopped", pos.step, pos.epoch, signal=signum, checkpoint=path)
