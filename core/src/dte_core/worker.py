"""One training process of any engine: reads its run directory, trains, records the outcome.

`dte train` calls `run()` in-process for one worker; for several, a launcher starts
`python -m dte_core.worker RUN_DIR [--checkpoint DIR|latest]` once per process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dte_core import config as config_layer
from dte_core import datasig, paths, rundir, sciences
from dte_core import engine as engines
from dte_core.env import detect
from dte_core.errors import STORAGE_FAULTS, DteError, StorageFault, storage_fault
from dte_core.signals import StopFlag
from dte_core.tracking import Logger, Sink, flatten

if TYPE_CHECKING:
    from dte_core.engine import Engine
    from dte_core.loop import FitResult


def sinks_for(run: rundir.RunDir, science: str, cfg: Any, info: dict[str, Any],
              engine: Engine, extra_tags: dict[str, str] | None = None,
              key_metrics: tuple[str, ...] = (),
              constants: tuple[str, ...] = ()) -> list[Sink]:
    """The sinks of the chief: console, JSONL (always), MLflow and TensorBoard as configured."""
    from dte_core.tracking.console import ConsoleSink
    from dte_core.tracking.jsonl import JsonlSink

    tracking = cfg.tracking
    console = ConsoleSink(f"{science} {run.run_id}",
                          key_metrics=key_metrics)
    sinks: list[Sink] = [console, JsonlSink(run.metrics_path)]
    if tracking.mlflow:
        from dte_core.tracking.mlflow_sink import MlflowSink

        uri = paths.recorded_tracking_uri(info.get("tracking_uri"), run.path)
        sinks.append(MlflowSink(run.path, uri or paths.tracking_uri(),
                                tracking.experiment or science, run.run_id,
                                {"dte.science": science, "dte.run_dir": str(run.path),
                                 **(extra_tags or {})},
                                constants=constants, system_metrics=tracking.system_metrics))
    if tracking.tensorboard:
        sinks.append(engine.tensorboard_sink(run.path / "tensorboard"))
    return sinks


def run(run_path: Path, checkpoint: Path | None = None) -> int:
    """Train the run in `run_path` (resuming from `checkpoint`); returns the exit code."""
    result = fit_run(run_path, checkpoint)
    return 0 if result.signal is None else StopFlag.code_for(result.signal)


def fit_run(run_path: Path, checkpoint: Path | None = None, callbacks: list | None = None,
            strategy: Any = None, extra_tags: dict[str, str] | None = None) -> FitResult:
    """Train a run with its science's engine; a `strategy` given (already set up) is reused,
    not torn down (HPO trials in one process)."""
    run = rundir.RunDir(run_path)
    info = run.info()
    science = sciences.load(info["science"])
    cfg = config_layer.resolve(science.Config, run.config_path)
    engine = engines.of(science)
    env = detect()
    chief = env.is_global_zero
    trainer = None
    try:
        with engine.session(science, cfg, env, strategy) as (strategy, task):
            chief = strategy.is_chief
            if chief:
                if checkpoint is None or not run.manifest_path.exists():
                    run.manifest_path.write_text(json.dumps(
                        engine.manifest(info.get("command"), env, strategy), indent=2))
                if checkpoint is None or not (run.path / datasig.FILE).exists():
                    datasig.write(science, cfg, run.path)
                run.update(status="running", strategy=strategy.name, **strategy.describe())
            # `dte scale --from-mlflow` groups runs by these
            tags = {"dte.strategy": strategy.name, "dte.world_size": str(strategy.processes),
                    **(extra_tags or {})}
            logger = Logger(sinks_for(run, science.name, cfg, info, engine, tags,
                                      science.key_metrics, science.constant_metrics)
                            if chief else [])
            trainer = engine.trainer(task, cfg.train, strategy, logger, run.checkpoints,
                                     science.name, cfg.tracking.log_every, callbacks)
            result = trainer.fit(checkpoint, flatten(cfg.model_dump(mode="json")),
                                 [run.config_path, run.manifest_path,
                                  *[p for p in [run.path / datasig.FILE] if p.is_file()]])
    except BaseException as exc:
        fault = storage_fault(exc)
        error = storage_message(run, info.get("science", ""), fault) if fault else None
        if chief:
            rundir.remove_temporaries(run)
            with contextlib.suppress(OSError):  # the disk may refuse this too
                run.update(status="failed", error=(error or f"{type(exc).__name__}: {exc}")[:2000],
                           failed_in="training" if trainer and trainer.started else "setup")
        if error:
            raise StorageFault(error) from None
        raise
    if chief:
        run.update(status=result.status, step=result.step, epoch=result.epoch,
                   metrics=result.metrics, error=None,
                   last_checkpoint=str(result.checkpoint) if result.checkpoint else None)
    return result


def storage_message(run: rundir.RunDir, science: str, fault: OSError) -> str:
    """One paragraph for a run stopped by its disk: what, where, the fix, how to continue."""
    from dte_core import checkpoint

    what, fix = STORAGE_FAULTS[fault.errno]
    where = f" writing {fault.filename}" if fault.filename else ""
    last = checkpoint.latest(run.checkpoints)
    then = (f"its last good checkpoint, {last.name}, is intact; {fix}, then continue it with "
            f"`dte train {science} --resume {run.run_id}`" if last else
            f"it had written no checkpoint yet; {fix}, then start it again")
    return (f"Run '{run.run_id}' stopped: {what}{where} ({fault.strerror}). It is marked "
            f"failed (where the disk allowed) and {then}.")


def main(argv: list[str] | None = None) -> None:
    """Entry point of each worker process a launcher starts."""
    parser = argparse.ArgumentParser(prog="python -m dte_core.worker")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint folder to resume from, or `latest` (if any)")
    args = parser.parse_args(argv)
    from dte_core.parent import watch_parent

    watch_parent()
    try:
        ckpt = Path(args.checkpoint) if args.checkpoint else None
        if args.checkpoint == "latest":
            from dte_core import resume

            ckpt = resume.checkpoint_of(rundir.RunDir(args.run_dir))
        code = run(args.run_dir, ckpt)
    except DteError as exc:
        print(f"Error (rank {detect().rank}): {exc}", file=sys.stderr)
        code = exc.exit_code
    sys.exit(code)


if __name__ == "__main__":
    main()
