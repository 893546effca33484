"""`dte train SCIENCE`: resolve the config, create (or reopen) the run, launch its workers."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from dte_cli.backends.request import SlurmOptions, only_with_slurm, slurm_options
from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, PanelCommand, ScienceArg, SetOpt

app = new_app()


@app.command(cls=PanelCommand)
@slurm_options()
def train(
    science: ScienceArg,
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
    from dte_core import config as config_layer
    from dte_core import engine as engines
    from dte_core import paths, rundir, sciences, strategies
    from dte_core import resume as resumes
    from dte_core.errors import ConfigError

    from dte_cli.backends.local import LocalLaunch

    if backend not in ("local", "slurm"):
        raise ConfigError(f"Unknown backend '{backend}': use --backend local or slurm.")
    only_with_slurm(backend, slurm)
    sci = sciences.load(science)
    nprocs = _worker_count(procs, gpus, sci) if backend == "local" else 1
    if "train" not in sci.capabilities():
        raise sci.not_supported("train", "a model and its training Task (`task`)")
    root = (runs_dir or paths.runs_root()).resolve()
    overrides = list(set_ or [])
    if strategy is not None:
        overrides.append(f"train.strategy={strategy}")
    if tracking_uri is not None:
        overrides.append(f"tracking.uri={tracking_uri}")

    resumed = run = ckpt = None
    if resume is not None:
        resumed = resumes.open_run(root, resume, sci, config, overrides)
        run, ckpt, cfg = resumed.run, resumed.checkpoint, resumed.config
    else:
        cfg = config_layer.resolve(sci.Config, config, overrides)
    strategies.check_name(cfg.train.strategy)
    if backend == "slurm":
        from dte_cli.backends.submit import submit

        submit(sci, cfg, root, replace(slurm, gpus=gpus, procs=procs),
               dry_run=dry_run, command=["dte", *sys.argv[1:]], resume=run)
        return
    if cfg.train.strategy == "single" and nprocs > 1:
        raise ConfigError(f"--strategy single runs one process, but {nprocs} were asked for. "
                          f"Use --strategy ddp (or auto), or drop --procs/--gpus.")
    engine = engines.of(sci)
    # Resolved once here so every worker (and a later `dte sync`) agrees on the server.
    uri = paths.tracking_uri(cfg.tracking.uri)
    yaml_text = config_layer.to_yaml(cfg)

    if dry_run:
        target = run.path if run else root / sci.name / "<new-run-id>"
        launch = LocalLaunch(target, nprocs, ckpt, engine, engine.launcher(cfg.train.strategy))
        print(f"# command ({nprocs} worker{'s' if nprocs > 1 else ''}"
              f"{', in-process' if nprocs == 1 else ''}):\n{launch.describe()}\n"
              f"# tracking: {uri if cfg.tracking.mlflow else 'JSONL only'}\n"
              f"# resolved config:\n{yaml_text}", end="")
        return

    command = ["dte", *sys.argv[1:]]
    if run is None:
        run = rundir.create(root, sci.name, yaml_text, command=command, procs=nprocs,
                            tracking_uri=uri)
    else:
        resumes.record(resumed, yaml_text, command, procs=nprocs, tracking_uri=uri)
    from dte_cli.console import err

    err().print(f"run {run.run_id} -> {run.path}")
    code = LocalLaunch(run.path, nprocs, ckpt, engine,
                       engine.launcher(cfg.train.strategy)).run()
    if code:
        err().print(f"run {run.run_id} stopped after a checkpoint (exit {code}); continue it "
                    f"with: dte train {sci.name} --resume {run.run_id}")
        raise typer.Exit(code)


def _worker_count(procs: int | None, gpus: int | None, science: Any) -> int:
    """Processes to start, checked against what this host has."""
    from dte_core.errors import ConfigError

    if procs is not None and gpus is not None:
        raise ConfigError("Give --procs (CPU processes) or --gpus (one process per GPU), not "
                          "both.")
    if procs is not None and procs < 1:
        raise ConfigError(f"--procs {procs} is not a number of processes: use --procs 1 or "
                          f"more (or leave it out for one in-process worker).")
    if gpus is not None:
        if gpus < 1:
            raise ConfigError(f"--gpus {gpus} is not a number of GPUs: use --gpus 1 or more.")
        from dte_core import engine as engines

        have = engines.of(science).gpu_count()
        if have < gpus:
            raise ConfigError(
                f"--gpus {gpus} asks for {gpus} GPU(s), but this host has {have}. To run "
                f"{gpus} worker processes on the CPU instead, use --procs {gpus}; on a cluster, "
                f"use --backend slurm."
            )
        return gpus
    return procs or 1
