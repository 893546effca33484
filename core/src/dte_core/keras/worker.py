"""One TensorFlow training process: `dte_core.worker.run` hands TensorFlow sciences here.

The same run directory, config, loggers, checkpoints and exit codes as the torch worker; the
chief (worker 0 of the TensorFlow cluster) logs and writes run.json and the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dte_core import config as config_layer
from dte_core import rundir, sciences
from dte_core.env import detect
from dte_core.errors import DteError
from dte_core.signals import StopFlag
from dte_core.tracking import Logger, Sink, flatten


def sinks_for(run: rundir.RunDir, science: str, cfg: Any, info: dict[str, Any],
              tags: dict[str, str] | None = None) -> list[Sink]:
    """Console, JSONL and MLflow as for torch runs; TensorBoard through tf.summary."""
    from dte_core.worker import sinks_for as common_sinks

    tracking = cfg.tracking.model_copy(update={"tensorboard": False})
    sinks = common_sinks(run, science, SimpleNamespace(tracking=tracking), info, tags)
    if cfg.tracking.tensorboard:
        from dte_core.keras.tensorboard import TfSummarySink

        sinks.append(TfSummarySink(run.path / "tensorboard"))
    return sinks


def run(run_path: Path, checkpoint: Path | None = None) -> int:
    """Train the run in `run_path` (resuming from `checkpoint`); returns the exit code."""
    result = fit_run(run_path, checkpoint)
    return 0 if result.signal is None else StopFlag.code_for(result.signal)


def fit_run(run_path: Path, checkpoint: Path | None = None, callbacks: list | None = None,
            extra_tags: dict[str, str] | None = None) -> Any:
    """Train a TensorFlow run; returns the KerasTrainer's FitResult."""
    from dte_core.keras import strategies
    from dte_core.keras.task import KerasTask
    from dte_core.keras.trainer import KerasTrainer

    run = rundir.RunDir(run_path)
    info = run.info()
    science = sciences.load(info["science"])
    cfg = config_layer.resolve(science.Config, run.config_path)
    env = detect()
    strategy = strategies.create(cfg.train.strategy, env)
    task = science.task(cfg)
    if not isinstance(task, KerasTask):
        raise DteError(f"The science '{science.name}' is a TensorFlow science, but its task() "
                       f"gives a {type(task).__name__}, not a dte_core.keras.task.KerasTask.")
    try:
        task.prepare()  # data problems surface here, before TensorFlow starts
    except BaseException as exc:
        if env.is_global_zero:
            run.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    with strategy.running():
        chief = strategy.is_chief
        if chief:
            from dte_core.keras.manifest import manifest

            if checkpoint is None or not run.manifest_path.exists():
                run.manifest_path.write_text(json.dumps(
                    manifest(info.get("command"), env, strategy), indent=2))
            run.update(status="running", strategy=strategy.name,
                       world_size=strategy.num_workers, replicas=strategy.num_replicas)
        tags = {"dte.strategy": strategy.name, "dte.world_size": str(strategy.num_workers),
                **(extra_tags or {})}
        logger = Logger(sinks_for(run, science.name, cfg, info, tags) if chief else [])
        trainer = KerasTrainer(task, cfg.train, strategy, logger, run.checkpoints,
                               science.name, log_every=cfg.tracking.log_every,
                               callbacks=callbacks)
        try:
            result = trainer.fit(checkpoint, flatten(cfg.model_dump(mode="json")),
                                 [run.config_path, run.manifest_path])
        except BaseException as exc:
            if chief:
                run.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        if chief:
            run.update(status=result.status, step=result.step, epoch=result.epoch,
                       metrics=result.metrics, error=None,
                       last_checkpoint=str(result.checkpoint) if result.checkpoint else None)
    return result
