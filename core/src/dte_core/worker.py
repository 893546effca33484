"""One training process: reads its run directory, trains, records the outcome.

`dte train` calls `run()` in-process for one worker; for several, torchrun starts
`python -m dte_core.worker RUN_DIR [--checkpoint DIR]` once per process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dte_core import config as config_layer
from dte_core import paths, rundir, sciences, strategies
from dte_core.env import detect
from dte_core.errors import DteError
from dte_core.signals import StopFlag
from dte_core.tracking import Logger, Sink, flatten

if TYPE_CHECKING:
    from dte_core.strategies.base import Strategy
    from dte_core.trainer import FitResult


def sinks_for(run: rundir.RunDir, science: str, cfg: Any, info: dict[str, Any],
              extra_tags: dict[str, str] | None = None) -> list[Sink]:
    """The sinks of rank 0: console, JSONL (always), MLflow and TensorBoard as configured."""
    from dte_core.tracking.console import ConsoleSink
    from dte_core.tracking.jsonl import JsonlSink

    tracking = cfg.tracking
    sinks: list[Sink] = [ConsoleSink(f"{science} {run.run_id}"), JsonlSink(run.metrics_path)]
    if tracking.mlflow:
        from dte_core.tracking.mlflow_sink import MlflowSink

        sinks.append(MlflowSink(run.path, info.get("tracking_uri") or paths.tracking_uri(),
                                tracking.experiment or science, run.run_id,
                                {"dte.science": science, "dte.run_dir": str(run.path),
                                 **(extra_tags or {})}))
    if tracking.tensorboard:
        from dte_core.tracking.tensorboard import TensorBoardSink

        sinks.append(TensorBoardSink(run.path / "tensorboard"))
    return sinks


def run(run_path: Path, checkpoint: Path | None = None) -> int:
    """Train the run in `run_path` (resuming from `checkpoint`); returns the exit code."""
    science = sciences.load(rundir.RunDir(run_path).info()["science"])
    if science.framework == "tensorflow":  # the Keras path has the same outward behaviour
        from dte_core.optional import require

        return require("dte_core.keras.worker", extra="tensorflow").run(run_path, checkpoint)
    result = fit_run(run_path, checkpoint)
    return 0 if result.signal is None else StopFlag.code_for(result.signal)


def fit_run(run_path: Path, checkpoint: Path | None = None, callbacks: list | None = None,
            strategy: Strategy | None = None, extra_tags: dict[str, str] | None = None
            ) -> FitResult:
    """Train a torch run; with `strategy` given (already set up) it is reused, not torn down."""
    from dte_core.trainer import Trainer

    run = rundir.RunDir(run_path)
    info = run.info()
    science = sciences.load(info["science"])
    cfg = config_layer.resolve(science.Config, run.config_path)
    own = strategy is None
    if strategy is None:
        strategy = strategies.create(cfg.train.strategy, detect(), train=cfg.train)
        strategy.setup()
    env = strategy.env
    try:
        if env.is_global_zero:
            manifest = rundir.manifest(info.get("command"), env)
            if checkpoint is None or not run.manifest_path.exists():
                run.manifest_path.write_text(json.dumps(manifest, indent=2))
            run.update(status="running", strategy=strategy.name, world_size=env.world_size)
        tags = {"dte.strategy": strategy.name, "dte.world_size": str(env.world_size),
                **(extra_tags or {})}  # `dte scale --from-mlflow` groups runs by these
        sinks = sinks_for(run, science.name, cfg, info, tags) if env.is_global_zero else []
        trainer = Trainer(science.task(cfg), cfg.train, strategy, Logger(sinks),
                          run.checkpoints, science.name, log_every=cfg.tracking.log_every,
                          callbacks=callbacks)
        try:
            result = trainer.fit(checkpoint, flatten(cfg.model_dump(mode="json")),
                                 [run.config_path, run.manifest_path])
        except BaseException as exc:
            if env.is_global_zero:
                run.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        if env.is_global_zero:
            run.update(status=result.status, step=result.step, epoch=result.epoch,
                       metrics=result.metrics, error=None,
                       last_checkpoint=str(result.checkpoint) if result.checkpoint else None)
    except BaseException:
        if own:
            strategy.teardown(clean=False)
        raise
    if own:
        strategy.teardown(clean=True)
    return result


def main(argv: list[str] | None = None) -> None:
    """Entry point of each torchrun worker."""
    parser = argparse.ArgumentParser(prog="python -m dte_core.worker")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint folder to resume from, or `latest` (if any)")
    args = parser.parse_args(argv)
    try:
        ckpt = Path(args.checkpoint) if args.checkpoint else None
        if args.checkpoint == "latest":
            from dte_core import checkpoint

            ckpt = checkpoint.latest(rundir.RunDir(args.run_dir).checkpoints)
        code = run(args.run_dir, ckpt)
    except DteError as exc:
        rank = detect().rank
        print(f"Error (rank {rank}): {exc}", file=sys.stderr)
        code = exc.exit_code
    sys.exit(code)


if __name__ == "__main__":
    main()
