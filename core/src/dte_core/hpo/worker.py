"""A tune worker: takes trials of a study until its budget is spent, each a real training run.

One process per worker, or a torchrun group for multi-process trials: then rank 0 takes the
trial and samples, broadcasts parameters and run directory, and the Trainer broadcasts rank 0's
prune decision so every rank stops together.

    python -m dte_core.hpo.worker --study NAME --storage URL --target N [--sampler tpe] ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dte_core import config as config_layer
from dte_core import engine as engines
from dte_core import paths, rundir, sciences
from dte_core.errors import DteError
from dte_core.hpo import pruners
from dte_core.hpo import space as space_module
from dte_core.hpo import study as studies
from dte_core.loop import Callback, NonFiniteError

#: trials in a row whose training diverges before a worker gives up on the search space
MAX_DIVERGED = 10


class Pruning(Callback):
    """Reports the monitored metric after each validation and asks the pruner."""

    def __init__(self, trial: Any, metric: str) -> None:
        self.trial, self.metric = trial, metric
        self.last: float | None = None

    def on_validation(self, metrics: Mapping[str, float], epoch: int) -> bool:
        key = self.metric if self.metric in metrics else f"val/{self.metric}"
        if key not in metrics:
            raise DteError(f"--metric {self.metric!r} is not a validation metric of this "
                           f"science; it reports: {', '.join(sorted(metrics))}.")
        self.last = float(metrics[key])
        self.trial.report(self.last, epoch + 1)  # the step is epochs trained
        return self.trial.should_prune()


def trial_run(study: Any, trial: Any, space: space_module.SearchSpace, science: Any
              ) -> tuple[Path, dict[str, Any]]:
    """Sample the trial and create its run directory (rank 0)."""
    values = space.sample(trial)
    base = config_layer.validate(science.Config, json.loads(study.user_attrs["base_config"]))
    data = base.model_dump()
    for item in space.overrides(values):
        config_layer.apply_override(science.Config, data, item)
    cfg = config_layer.validate(science.Config, data)
    name = study.study_name
    run = rundir.create(paths.runs_root(), science.name, config_layer.to_yaml(cfg),
                        run_id=f"{name}-t{trial.number:04d}-{rundir.new_run_id()[-4:]}",
                        study=name, trial=trial.number, params=values,
                        tracking_uri=paths.tracking_uri(cfg.tracking.uri),
                        command=["dte", "tune", science.name, "--study", name])
    trial.set_user_attr("run_dir", str(run.path))
    return run.path, values


def work(args: argparse.Namespace) -> int:
    """Run trials until the study holds `target` counted trials (or the deadline passes)."""
    import optuna

    from dte_core.env import detect

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    env = detect()
    storage = studies.open_storage(args.storage) if env.is_global_zero else None
    study = space = science = None
    if env.is_global_zero:
        study = studies.load(args.study, storage)
        science = sciences.load(study.user_attrs["science"])
        space = space_module.parse(json.loads(study.user_attrs["space"]), science.Config)
        seed = None if args.seed is None else args.seed + env.node_rank * 1000 + args.index
        epochs = int(json.loads(study.user_attrs["base_config"])["train"]["epochs"])
        study = studies.load(args.study, storage, studies.sampler(args.sampler, space, seed),
                             pruners.make(args.pruner, epochs))
    # rank 0 knows the science; the other ranks of a multi-process trial run torch
    engine = engines.of(science) if science is not None else engines.get("torch")
    with engine.trials(env) as (fit_run, share):
        return _take_trials(args, env, study, space, science, fit_run, share)


def _take_trials(args: argparse.Namespace, env: Any, study: Any, space: Any, science: Any,
                 fit_run: Any, share: Any) -> int:
    """Claim, train and report trials until none is left; the exit code."""
    from optuna.trial import TrialState

    deadline = time.monotonic() + args.timeout if args.timeout else None
    done = failures = diverged = 0
    while True:
        message = None
        if env.is_global_zero:
            trial = None
            if deadline is None or time.monotonic() < deadline:
                trial = studies.claim(study, args.target, args.grace)
            if trial is not None:
                run_path, values = trial_run(study, trial, space, science)
                message = (str(run_path), trial.number)
        if env.distributed:
            message = share(message)
        if message is None:
            break
        run_path, number = Path(message[0]), message[1]
        callbacks = [Pruning(trial, study.user_attrs["metric"])] if env.is_global_zero \
            else []
        tags = {"dte.study": args.study, "dte.trial": str(number)}
        parent = study.user_attrs.get("mlflow_parent_run_id") if study else None
        if parent:
            tags["mlflow.parentRunId"] = parent
        try:
            if env.is_global_zero:
                with studies.Heartbeat(args.study, number):
                    result = fit_run(run_path, callbacks=callbacks, extra_tags=tags)
            else:
                result = fit_run(run_path)
        except NonFiniteError as exc:
            # these hyperparameters diverged: told as pruned (a failed trial is invisible to
            # the sampler, which would keep proposing its region), unless every trial
            # diverges (then the search space needs changing)
            if env.is_global_zero:
                trial.set_user_attr("diverged", str(exc)[:500])
                study.tell(trial, state=TrialState.PRUNED)
                print(f"[dte tune] trial {number} diverged, told as pruned so that the sampler "
                      f"avoids its region: {exc}", file=sys.stderr)
            diverged += 1
            if diverged >= MAX_DIVERGED:
                raise NonFiniteError(
                    f"{diverged} trials in a row diverged (the last: {exc}) Narrow the search "
                    f"space (a lower optim.lr range, --space FILE) or set train.grad_clip "
                    f"with --set.") from None
            continue
        except Exception as exc:
            if env.is_global_zero:
                if not isinstance(exc, DteError):
                    traceback.print_exc()
                study.tell(trial, state=TrialState.FAIL)
            failures += 1
            if isinstance(exc, DteError) or env.distributed or failures >= 3:
                raise  # a configuration error, a broken group or a task that keeps failing
            continue
        diverged = 0
        failures = 0
        if env.is_global_zero:
            _tell(study, trial, result, callbacks[0])
        done += 1
        if result.signal is not None:
            from dte_core.signals import StopFlag

            return StopFlag.code_for(result.signal)
    if env.is_global_zero:
        print(f"[dte tune] worker {args.index}: {done} trial(s) done", file=sys.stderr)
        from dte_core.hpo import parent_run

        parent_run.close_if_done(study)  # cluster workers: the last one ends the parent run
    return 0


def _tell(study: Any, trial: Any, result: Any, pruning: Pruning) -> None:
    from optuna.trial import TrialState

    if result.status == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    elif result.status == "finished" and pruning.last is not None:
        study.tell(trial, pruning.last)
        studies.write_best(study)
    elif result.status == "finished":
        study.tell(trial, state=TrialState.FAIL)
        print(f"[dte tune] trial {trial.number} reported no '{pruning.metric}': the science "
              f"must validate (data.val_*) for the study to learn from it", file=sys.stderr)
    else:  # stopped by a signal: its heartbeat stops, another worker retries it
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dte_core.hpo.worker")
    parser.add_argument("--study", required=True)
    parser.add_argument("--storage", default=os.environ.get(studies.STORAGE_ENV),
                        help=f"storage URL (default ${studies.STORAGE_ENV}, where a URL with a "
                             f"password is passed)")
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--sampler", default="tpe")
    parser.add_argument("--pruner", default=pruners.DEFAULT)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--index", type=int,
                        default=int(os.environ.get("SLURM_ARRAY_TASK_ID", "0")))
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--grace", type=float, default=studies.GRACE_S)
    args = parser.parse_args(argv)
    if not args.storage:
        parser.error(f"--storage or ${studies.STORAGE_ENV} is required")
    try:
        code = work(args)
    except DteError as exc:
        print(f"Error (tune worker {args.index}): {exc}", file=sys.stderr)
        code = exc.exit_code
    sys.exit(code)


if __name__ == "__main__":
    main()
