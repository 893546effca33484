"""The Keras trainer: the shared epoch loop (dte_core.loop) on tf.distribute.

SIGTERM / SIGUSR1 / SIGINT: a handler only sets a flag; the flag rides along in the all-reduce
that every step already does, so all workers stop at the same step, checkpoint and exit 75 (130
for SIGINT).
"""

from __future__ import annotations

import signal as signal_module
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dte_core.checkpoint import Position
from dte_core.errors import ConfigError, DteError
from dte_core.keras import checkpoint as keras_checkpoint
from dte_core.keras.data import BatchPlan, pipeline, signature, val_shard
from dte_core.keras.runtime import keras as import_keras
from dte_core.keras.runtime import tensorflow
from dte_core.keras.task import StepContext
from dte_core.loop import EpochLoop, NonFiniteGuard, StepOutputError, validation_metrics
from dte_core.seeding import derive

#: weight of SIGINT in the summed stop flag (any other signal counts 1)
_INTERRUPT = 1000.0


class KerasTrainer(EpochLoop):
    """Runs a KerasTask under a KerasStrategy: the shared loop with tf.function steps."""

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
        self._set_steps(len(self.train_data), self.plan.steps_per_epoch)
        self._sums: np.ndarray | None = None
        self._count = 0
        self._flag_total = 0.0
        self.train_spec = signature(self.train_data, self.plan.per_replica)
        self._keys: list[str] = []
        self._tf = tf
        self._train_step_fn = tf.function(self._replicated_step, jit_compile=cfg.compile or None)
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
    def _write_checkpoint(self, position: Position, info: dict[str, Any], best: bool) -> Path:
        return keras_checkpoint.save(self.checkpoint_dir, self.strategy, position,
                                     self.task.models, self.task.optimizers, self.watch.state(),
                                     info, self.cfg.checkpoint.keep_last, best=best)

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

    def _start(self, resume_from: Path | None) -> Position:
        return self.restore(resume_from) if resume_from is not None else Position()

    # ---- steps -------------------------------------------------------------------------
    def _local_flag(self) -> float:
        signum = self.stop.signum
        if signum is None:
            return 0.0
        return _INTERRUPT if signum == signal_module.SIGINT else 1.0

    def _signal_of(self, total: float) -> int:
        if total <= 0:
            return 0
        if total >= _INTERRUPT:
            return int(signal_module.SIGINT)
        local = self.stop.signum
        return int(local if local not in (None, signal_module.SIGINT) else signal_module.SIGTERM)

    def _begin_epoch(self, pos: Position) -> None:
        order = self.train_data.order(pos.epoch, self.cfg.seed)
        chunks = list(self.plan.train(order, pos.batch_in_epoch))
        epoch = pos.epoch
        dataset = self.strategy.tf_strategy.distribute_datasets_from_function(
            lambda _ctx, chunks=chunks, epoch=epoch: pipeline(
                self.train_data, chunks, epoch, self.train_spec))
        self._batches = iter(dataset)

    def _train_step(self, pos: Position) -> None:
        tf = self._tf
        flag = tf.constant(self._local_flag(), tf.float32)
        values = self._train_step_fn(next(self._batches), flag).numpy().astype(np.float64)
        step_means = values[:-1] / self.strategy.num_replicas
        if not np.isfinite(step_means).all():  # summed over replicas: all of them agree
            shown = ", ".join(f"{k} {v}" for k, v in zip(self._keys, step_means, strict=True))
            # the update is already applied inside the compiled step: never skipped, stopped
            NonFiniteGuard("stop").skip(pos.step + 1, f"the step's metrics are {shown}")
        self._sums = step_means if self._sums is None else self._sums + step_means
        self._count += 1
        self._flag_total = float(values[-1])  # the stop flags rode along in the step's sum

    def _take_means(self) -> dict[str, float]:
        sums, count = self._sums, self._count
        self._sums, self._count = None, 0
        if sums is None or not count:
            return {}
        return {f"train/{k}": float(v) for k, v in zip(self._keys, sums / count, strict=True)}

    def _agreed_signal(self, step: int, now: bool = False) -> int:
        if now:
            return self._signal_of(float(self.strategy.all_sum(
                np.array([self._local_flag()]))[0]))
        return self._signal_of(self._flag_total)

    def _share(self, decision: bool) -> bool:
        return bool(self.strategy.all_sum(np.array([float(decision)]))[0] > 0)

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
        return validation_metrics(self.task, dict(zip(
            keys, (packed[:-1] / max(packed[-1], 1.0)).tolist(), strict=True)))
