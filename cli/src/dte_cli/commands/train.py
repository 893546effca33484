"""`dte train SCIENCE`: resolve the config, create (or reopen) the run, launch its workers."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from dte_cli.backends.request import SlurmOptions, only_with_slurm, slurm_options
from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, PresetOpt, ScienceArg, ScienceCommand, SetOpt

app = new_app()


@app.command(cls=ScienceCommand)
@slurm_options()
def train(
    science: ScienceArg,
    preset: PresetOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    procs: Annotated[int | None, typer.Option(
        "--procs", help="Worker processes on this host (CPU, gloo).", show_default=False)] = None,
    gpus: Annotated[int | None, typer.Option(
        "--gpus", help="GPUs on this host, one worker each.", show_default=False)] = None,
    strategy: Annotated[str | None, typer.Option(
        "--strategy", help="single, ddp, ... (default: train.strategy, `auto`).",
        show_default=False)] = None,
    resume: Annotated[str | None, typer.Option(
        "--resume", help="Continue a run (its id, directory or `latest`) from its last "
        "checkpoint.", show_default=False)] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="MLflow tracking URI (default: $DTE_TRACKING_URI, else the "
        "embedded store under .dte/).", show_default=False)] = None,
    runs_dir: Annotated[Path | None, typer.Option(
        "--runs-dir", help="Where run directories go (default: $DTE_RUNS_DIR, else ./runs).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the command (or sbatch script) and the resolved config; run "
        "nothing.")] = False,
    backend: Annotated[str, typer.Option(
        "--backend", help="local (this host) or slurm (a batch job).")] = "local",
    *,
    slurm: SlurmOptions,
) -> None:
    """Train a science's model: in-process, under torchrun, or as a SLURM job."""
    from dte.api import plan_train, start
    from dte_core import config as config_layer
    from dte_core.errors import ConfigError

    if backend not in ("local", "slurm"):
        raise ConfigError(f"Unknown backend '{backend}': use --backend local or slurm.")
    only_with_slurm(backend, slurm)
    plan = plan_train(science, preset=preset, config=config, set=set_, procs=procs, gpus=gpus,
                      strategy=strategy, resume=resume, tracking_uri=tracking_uri,
                      runs_dir=runs_dir, local=backend == "local")
    command = ["dte", *sys.argv[1:]]
    if backend == "slurm":
        from dte_cli.backends.submit import submit

        submit(plan.science, plan.config, plan.root, replace(slurm, gpus=gpus, procs=procs),
               dry_run=dry_run, command=command, resume=plan.run_dir)
        return
    if dry_run:
        target = plan.run_dir.path if plan.run_dir else \
            plan.root / plan.science.name / "<new-run-id>"
        many = plan.procs > 1
        print(f"# command ({plan.procs} worker{'s' if many else ''}"
              f"{'' if many else ', in-process'}):\n{plan.launch(target).describe()}\n"
              f"# tracking: {plan.tracking_uri if plan.config.tracking.mlflow else 'JSONL only'}"
              f"\n# resolved config:\n{config_layer.to_yaml(plan.config)}", end="")
        return
    from dte_cli.console import err

    run, code = start(plan, command, announce=err().print)
    if not code:
        _closing(plan.science, run)
    if code:
        err().print(f"run {run.id} stopped after a checkpoint (exit {code}); continue it "
                    f"with: dte train {plan.science.name} --resume {run.id}")
        raise typer.Exit(code)


def _closing(science: object, run: object) -> None:
    """What the run wrote where, its key metrics beside their baselines, what to run next."""
    from dte_core.errors import DteError

    from dte_cli.summary import closing, key_metrics

    records = run.metrics(as_table=False)
    keys = science.key_metrics
    last = next((r for r in reversed(records) if any(k in r for k in keys)), {})
    checkpoints = {}
    for which in ("last", "best"):
        with contextlib.suppress(DteError, OSError, ValueError):
            checkpoints[which] = run.checkpoint(which).name
    facts = [tuple(line.split(" ", 1)) for line in key_metrics(last, keys)]
    closing(f"{science.name} {run.id}: {run.status}",
            [*facts, ("run", run.path),
             ("checkpoints", ", ".join(f"{w} {n}" for w, n in checkpoints.items())),
             ("metrics", f"{run.path / 'metrics.jsonl'} ({len(records)} records)")],
            [f"dte evaluate {science.name} --run {run.id}",
             f"dte register {run.id} --name {science.name}"])
