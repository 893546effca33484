"""`dte train SCIENCE`: resolve the config, create (or reopen) the run, launch its workers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, ScienceArg, SetOpt

app = new_app()

@app.command()
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
    nodes: Annotated[int | None, typer.Option("--nodes", help="[slurm] Nodes.",
                                              show_default=False)] = None,
    time: Annotated[str | None, typer.Option("--time", help="[slurm] Time limit (HH:MM:SS, "
                                             "D-HH:MM, minutes).", show_default=False)] = None,
    partition: Annotated[str | None, typer.Option("--partition", help="[slurm] Partition.",
                                                  show_default=False)] = None,
    account: Annotated[str | None, typer.Option("--account", help="[slurm] Account.",
                                                show_default=False)] = None,
    qos: Annotated[str | None, typer.Option("--qos", help="[slurm] QOS.",
                                            show_default=False)] = None,
    mem: Annotated[str | None, typer.Option("--mem", help="[slurm] Memory per node (64G).",
                                            show_default=False)] = None,
    cpus_per_task: Annotated[int | None, typer.Option(
        "--cpus-per-task", help="[slurm] CPUs per task.", show_default=False)] = None,
    constraint: Annotated[str | None, typer.Option(
        "--constraint", help="[slurm] Node features.", show_default=False)] = None,
    container: Annotated[str | None, typer.Option(
        "--container", help="[slurm] Run the workers in this image.", show_default=False)] = None,
    env: Annotated[list[str] | None, typer.Option(
        "--env", help="[slurm] NAME=VALUE exported in the job (repeatable).",
        show_default=False)] = None,
    setup: Annotated[list[str] | None, typer.Option(
        "--setup", help="[slurm] Shell line run before the workers (repeatable).",
        show_default=False)] = None,
    site: Annotated[str | None, typer.Option(
        "--site", help="[slurm] Site profile (default: $DTE_SITE or dte.toml's default_site).",
        show_default=False)] = None,
    remote: Annotated[str | None, typer.Option(
        "--remote", help="[slurm] Submit on user@login-host through ssh.",
        show_default=False)] = None,
    sync_code: Annotated[bool, typer.Option(
        "--sync-code", help="[slurm] Also copy the project's git-tracked files to the remote "
        "work directory (as $DTE_CODE_DIR).")] = False,
    array: Annotated[int | None, typer.Option(
        "--array", help="[slurm] N independent runs as one array job (seeds seed..seed+N-1).",
        show_default=False)] = None,
    job_name: Annotated[str | None, typer.Option(
        "--job-name", help="[slurm] Job name (default: dte-SCIENCE).", show_default=False)
    ] = None,
    task_layout: Annotated[str | None, typer.Option(
        "--task-layout", help="[slurm] torchrun (one launcher per node) or per-task (one srun "
        "task per worker); default: the strategy's own.", show_default=False)] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="[slurm] Ask the scheduler (sbatch --test-only); submit nothing.")
    ] = False,
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
    slurm_only = {"--nodes": nodes, "--time": time, "--partition": partition,
                  "--account": account, "--qos": qos, "--mem": mem,
                  "--cpus-per-task": cpus_per_task, "--constraint": constraint,
                  "--container": container, "--env": env, "--setup": setup, "--site": site,
                  "--remote": remote, "--array": array, "--job-name": job_name,
                  "--task-layout": task_layout}
    given = [flag for flag, value in slurm_only.items() if value] + \
        [flag for flag, on in (("--check", check), ("--sync-code", sync_code)) if on]
    if backend == "local" and given:
        raise ConfigError(f"{', '.join(given)} only apply to batch jobs: add --backend slurm.")
    nprocs = _worker_count(procs, gpus) if backend == "local" else 1
    sci = sciences.load(science)
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
        from dte_cli.backends.submit import SlurmOptions, submit

        submit(sci, cfg, root, SlurmOptions(
            site=site, nodes=nodes, gpus=gpus, procs=procs, time=time, partition=partition,
            account=account, qos=qos, mem=mem, cpus_per_task=cpus_per_task,
            constraint=constraint, container=container, env=list(env or []),
            setup=list(setup or []), remote=remote, sync_code=sync_code, array=array,
            job_name=job_name, task_layout=task_layout),
            dry_run=dry_run, check=check, command=["dte", *sys.argv[1:]], resume=run)
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


def _worker_count(procs: int | None, gpus: int | None) -> int:
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
        import torch

        have = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if have < gpus:
            raise ConfigError(
                f"--gpus {gpus} asks for {gpus} GPU(s), but this host has {have}. To run "
                f"{gpus} worker processes on the CPU instead, use --procs {gpus}; on a cluster, "
                f"use --backend slurm."
            )
        return gpus
    return procs or 1
