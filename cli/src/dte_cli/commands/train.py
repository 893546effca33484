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

#: config sections that must not change when a run is resumed
LOCKED_ON_RESUME = ("model",)


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
    from dte_core import checkpoint, paths, rundir, sciences, strategies
    from dte_core import config as config_layer
    from dte_core.errors import ConfigError

    from dte_cli.backends.local import LocalLaunch

    if backend not in ("local", "slurm"):
        raise ConfigError(f"Unknown backend '{backend}': use --backend local or slurm.")
    only_with_slurm(backend, slurm)
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

    run = ckpt = None
    if resume is not None:
        run = rundir.find(root, resume, sci.name)
        previous = cfg = config_layer.resolve(sci.Config, run.config_path)
        if config or overrides:
            cfg = _resume_config(sci.Config, run.config_path, config, overrides)
            _check_locked(previous.model_dump(mode="json"), cfg.model_dump(mode="json"))
        ckpt = checkpoint.latest(run.checkpoints)
        if ckpt is None:
            raise ConfigError(f"Run '{run.run_id}' has no complete checkpoint to resume from "
                              f"(looked in {run.checkpoints}). Start a new run instead.")
        checkpoint.verify(ckpt)
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
    # Resolved once here so every worker (and a later `dte sync`) agrees on the server.
    uri = paths.tracking_uri(cfg.tracking.uri)
    yaml_text = config_layer.to_yaml(cfg)

    if dry_run:
        target = run.path if run else root / sci.name / "<new-run-id>"
        launch = LocalLaunch(target, nprocs, ckpt, _launcher(cfg.train.strategy))
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
        if (config or overrides):
            _archive_config(run)
            run.config_path.write_text(yaml_text)
        resumes = run.info().get("resumes", [])
        run.update(command=command, procs=nprocs, tracking_uri=uri,
                   resumes=[*resumes, {"checkpoint": ckpt.name, "command": command}])
    from dte_cli.console import err

    err().print(f"run {run.run_id} -> {run.path}")
    code = LocalLaunch(run.path, nprocs, ckpt, _launcher(cfg.train.strategy)).run()
    if code:
        err().print(f"run {run.run_id} stopped after a checkpoint (exit {code}); continue it "
                    f"with: dte train {sci.name} --resume {run.run_id}")
        raise typer.Exit(code)


def _launcher(strategy: str) -> str:
    """What starts several local workers for `strategy` (torchrun, or the engine's own)."""
    import importlib

    from dte_core.strategies import MODULES, STRATEGIES

    if strategy == "auto" or strategy not in MODULES:
        return "torchrun"
    try:
        importlib.import_module(MODULES[strategy])
    except ImportError:  # the engine is missing: the worker names the install command
        return "torchrun"
    return STRATEGIES[strategy].launcher


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


def _resume_config(model: type, saved: Path, config: Path | None, overrides: list[str]) -> Any:
    """The saved config with a new file and overrides on top."""
    from dte_core import config as config_layer

    data = config_layer.load_yaml(saved)
    if config is not None:
        config_layer.merge(data, config_layer.load_yaml(config))
    for item in overrides:
        config_layer.apply_override(model, data, item)
    return config_layer.validate(model, data)


def _check_locked(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Refuse to resume with a changed model configuration, naming the keys."""
    from dte_core.config import dotted_keys
    from dte_core.errors import ConfigError

    def leaves(data: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key in dotted_keys(data):
            value: Any = data
            for part in key.split("."):
                value = value[part]
            out[key] = value
        return out

    old, new = leaves(before), leaves(after)
    changed = sorted(k for k in set(old) | set(new)
                     if k.split(".")[0] in LOCKED_ON_RESUME and old.get(k) != new.get(k))
    if changed:
        details = "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
        raise ConfigError(
            f"Cannot resume with a changed model configuration ({details}): the checkpoint's "
            f"weights belong to the old model. Drop those overrides to resume, or start a new "
            f"run with them."
        )


def _archive_config(run: Any) -> None:
    """Keep the previous config.yaml of a resumed run as config.<n>.yaml."""
    n = 1
    while (run.path / f"config.{n}.yaml").exists():
        n += 1
    (run.path / f"config.{n}.yaml").write_text(run.config_path.read_text())
