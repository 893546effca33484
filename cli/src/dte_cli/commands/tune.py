"""`dte tune SCIENCE --trials N`: an Optuna study whose trials are real training runs;
`dte tune status STUDY`, `dte tune report STUDY`."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from dte_core.hpo import pruners
from typer.core import TyperGroup

from dte_cli.backends.request import SlurmOptions, only_with_slurm, slurm_options
from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, JsonOpt, PanelCommand, PresetOpt, ScienceArg, SetOpt


class TuneGroup(TyperGroup):
    """`dte tune SCIENCE ...` runs a study; `status` and `report` are subcommands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = new_app(name="tune", cls=TuneGroup, no_args_is_help=True,
              help="Hyper-parameter optimisation: `dte tune SCIENCE --trials N`, "
                   "`dte tune status STUDY`, `dte tune report STUDY`.")
StudyArg = Annotated[str, typer.Argument(help="Study name.", show_default=False)]
StorageOpt = Annotated[str | None, typer.Option(
    "--storage", help="Optuna storage: an RDB URL (postgresql://...) or journal:PATH "
    "(default: .dte/hpo/STUDY.journal).", show_default=False)]


@app.command("run", cls=PanelCommand)
@slurm_options(omit=("nodes", "array", "task_layout"))
def run(
    science: ScienceArg,
    trials: Annotated[int, typer.Option("--trials", help="Trials to add to the study.")],
    space: Annotated[Path | None, typer.Option(
        "--space", help="Search-space YAML (default: the science's own).",
        show_default=False)] = None,
    workers: Annotated[int, typer.Option("--workers", help="Parallel workers.")] = 1,
    storage: StorageOpt = None,
    study: Annotated[str | None, typer.Option(
        "--study", help="Study name; an existing study is continued.", show_default=False)
    ] = None,
    sampler: Annotated[str, typer.Option("--sampler", help="tpe, random, cmaes or grid.")
                       ] = "tpe",
    pruner: Annotated[str, typer.Option(
        "--pruner", help=f"Early stopping of trials: {pruners.names()}; settings after a "
        "colon, e.g. asha:min_resource=2,reduction_factor=4.")] = pruners.DEFAULT,
    metric: Annotated[str | None, typer.Option(
        "--metric", help="Validation metric to optimise (default: the science's).",
        show_default=False)] = None,
    direction: Annotated[str | None, typer.Option(
        "--direction", help="minimize or maximize (default: the science's).",
        show_default=False)] = None,
    procs: Annotated[int, typer.Option("--procs", help="Processes per trial (DDP).")] = 1,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", help="Seconds after which workers take no new trial.",
        show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampler seed.",
                                             show_default=False)] = None,
    grace: Annotated[float, typer.Option(
        "--grace", help="Seconds without a heartbeat after which a running trial counts as "
        "dead (its worker died) and is retried.")] = 30.0,
    preset: PresetOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    backend: Annotated[str, typer.Option(
        "--backend", help="local (workers here) or slurm (an array job, one task per "
        "worker).")] = "local",
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the worker commands (or the sbatch script); create and run "
        "nothing.")] = False,
    *,
    slurm: SlurmOptions,
) -> str | None:
    """Run (or continue) a study: WORKERS workers share one storage until TRIALS more trials
    are complete or pruned."""
    from dte_core import config as config_layer
    from dte_core import sciences
    from dte_core.errors import ConfigError
    from dte_core.hpo import parent_run
    from dte_core.hpo import space as space_module
    from dte_core.hpo import study as studies

    from dte_cli.console import err, verbosity

    _quiet_optuna(verbosity())
    for flag, value in (("--trials", trials), ("--workers", workers), ("--procs", procs)):
        if value < 1:
            raise ConfigError(f"{flag} {value} must be 1 or more.")
    if backend not in ("local", "slurm"):
        raise ConfigError(f"Unknown backend '{backend}': use --backend local or slurm.")
    only_with_slurm(backend, slurm)
    sci = sciences.load(science)
    if sci.framework == "tensorflow" and procs != 1:
        raise ConfigError(f"--procs {procs}: trials of the TensorFlow science '{sci.name}' run "
                          "in one process each; use --workers W for W trials in parallel.")
    direction = direction or sci.tune_direction
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"--direction {direction!r}: use minimize or maximize.")
    metric = metric or sci.tune_metric
    cfg = config_layer.resolve(sci.Config, config, set_ or (), preset)
    if space is not None:
        searched = space_module.load(space, sci.Config)
        raw = config_layer.load_yaml(space)
    else:
        raw = sci.search_space()
        if raw is None:
            raise ConfigError(f"The science '{sci.name}' ships no default search space; give "
                              f"one with --space FILE (keys of `dte config schema {sci.name}`).")
        searched = space_module.parse(raw, sci.Config, f"{sci.name}'s default search space")
    studies.sampler(sampler, searched, seed)  # check the names before anything is created
    pruners.make(pruner, cfg.train.epochs)
    name = studies.check_name(study or f"{sci.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    url = storage or studies.default_storage_url(name)
    shown = studies.redact(url, url)
    if backend == "slurm":
        _check_cluster_storage(url, procs, slurm)
    if dry_run or slurm.check:  # render only: read the study, create nothing
        target = _target(_existing(name, url), trials)
    else:
        opened = studies.create_or_check(name, studies.open_storage(url), direction, metric, {
            "science": sci.name, "space": json.dumps(raw),
            "base_config": json.dumps(cfg.model_dump(mode="json"))})
        target = _target(opened, trials)
        opened.set_user_attr("target", target)
        parent_run.open_for(opened, sci.name, name, cfg)
    # a password travels in the workers' environment, not on their command lines (`ps`)
    secret = studies.has_secret(url)
    worker_args = ["--study", name, *([] if secret else ["--storage", url]), "--target",
                   str(target), "--sampler", sampler, "--pruner", pruner]
    if timeout:
        worker_args += ["--timeout", str(timeout)]
    worker_args += ["--grace", str(grace)]
    err().print(f"study {name}: {trials} more trial(s) (target {target}), {workers} worker(s), "
                f"metric {metric} ({direction}), storage {shown}")
    if backend == "slurm":
        from dte_cli.backends.submit import submit_workers

        seeded = [*worker_args, *(["--seed", str(seed)] if seed is not None else [])]
        if secret:
            slurm = replace(slurm, env=[*slurm.env, f"{studies.STORAGE_ENV}={url}"])
        submit_workers(sci.name, name, seeded, workers, slurm, dry_run=dry_run)
        return
    if dry_run:
        for index in range(workers):
            print(shlex.join(_worker_command(worker_args, index, procs, seed)))
        return
    _run_local(name, url, worker_args, workers, procs, seed, target)
    return name


def _quiet_optuna(level: int) -> None:
    """Optuna's own log lines ("A new study created ...") only with `dte -v`."""
    import logging

    import optuna

    optuna.logging.set_verbosity(logging.INFO if level > 0 else logging.WARNING)


def _target(opened: Any, trials: int) -> int:
    """The study's trial count to reach: those done or running, plus `trials`."""
    from dte_core.hpo.study import counts

    found = {} if opened is None else counts(opened)
    return sum(found.get(s, 0) for s in ("COMPLETE", "PRUNED", "RUNNING")) + trials


def _existing(name: str, url: str) -> Any:
    """The study if it exists, creating nothing (for --dry-run and --check)."""
    import optuna
    from dte_core.hpo.study import check_journal, open_storage

    if url.startswith("journal:") and not Path(url.removeprefix("journal:")).is_file():
        check_journal(Path(url.removeprefix("journal:")))
        return None
    try:
        return optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        return None


def _check_cluster_storage(url: str, procs: int, slurm: SlurmOptions) -> None:
    """Refuse what cluster workers cannot share, before a study is created."""
    from dte_core.errors import ConfigError

    from dte_cli.backends.submit import target

    if procs != 1:
        raise ConfigError("--procs > 1 with --backend slurm is not supported yet for tune "
                          "workers: use one process per trial, or run the study locally.")
    if url.startswith("sqlite"):
        raise ConfigError("SQLite is not safe for parallel workers on a cluster: use the "
                          "default journal file or a PostgreSQL URL.")
    remote = target(slurm, dry_run=True).remote  # dry_run: no ssh yet
    if remote and url.startswith("journal:"):
        raise ConfigError(
            f"The tune workers run on {remote}'s cluster, which cannot see the journal file "
            f"{url.removeprefix('journal:')} on this host, where the study is created. Give "
            f"--storage a database URL that this host and the compute nodes both reach "
            f"(postgresql+psycopg://USER:PASSWORD@HOST/DB), or run dte tune on the login host.")


def _worker_command(worker_args: list[str], index: int, procs: int, seed: int | None
                    ) -> list[str]:
    args = [*worker_args, "--index", str(index)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if procs == 1:
        return [sys.executable, "-m", "dte_core.hpo.worker", *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
            str(procs), "-m", "dte_core.hpo.worker", *args]


def _run_local(name: str, url: str, worker_args: list[str], workers: int, procs: int,
               seed: int | None, target: int) -> None:
    """Start the workers here, show progress, wait; Ctrl-C stops them."""
    from dte_core.errors import DteError
    from dte_core.hpo import parent_run
    from dte_core.hpo import study as studies
    from dte_core.progress import bar

    from dte_cli.console import err

    logs = studies.hpo_dir(name)
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, studies.STORAGE_ENV: url, "OMP_NUM_THREADS": os.environ.get(
        "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // (workers * procs))))}
    procs_list = []
    for index in range(workers):
        log = (logs / f"worker-{index}.log").open("ab")
        procs_list.append((subprocess.Popen(_worker_command(worker_args, index, procs, seed),
                                            stdout=log, stderr=subprocess.STDOUT, env=env),
                           logs / f"worker-{index}.log"))
    storage = studies.open_storage(url)
    opened = studies.load(name, storage)
    progress = bar(f"[bold]{name}", fields=("detail",), console=err())
    try:
        with progress:
            bar = progress.add_task("trials", total=target, detail="")
            while any(p.poll() is None for p, _ in procs_list):
                found = studies.counts(opened)
                done = found.get("COMPLETE", 0) + found.get("PRUNED", 0)
                progress.update(bar, completed=done, detail=", ".join(
                    f"{k.lower()} {v}" for k, v in sorted(found.items())) + _best(opened))
                time.sleep(1)
    except KeyboardInterrupt:
        for p, _ in procs_list:
            p.send_signal(signal.SIGINT)
        for p, _ in procs_list:
            p.wait(60)
        parent_run.close_if_done(studies.load(name, storage), "KILLED")
        raise typer.Exit(130) from None
    failed = [(i, p.returncode, log) for i, (p, log) in enumerate(procs_list) if p.returncode]
    final = studies.load(name, storage)
    parent_run.close_if_done(final, "FINISHED" if not failed else "FAILED")
    _summary(final)
    if failed:
        details = "; ".join(f"worker {i} exit {code} (log {log}: "
                            f"{_tail(log)})" for i, code, log in failed)
        found = studies.counts(final)
        if found.get("COMPLETE", 0) + found.get("PRUNED", 0) >= target:
            err().print(f"Warning: {len(failed)} worker(s) died ({details}); their trials were "
                        f"retried and the study is complete.")
            return
        raise DteError(f"{len(failed)} of {workers} tune worker(s) failed and the study is "
                       f"short of its target: {details}. Continue it with `dte tune SCIENCE "
                       f"--study {name} --trials N`.")


def _best(opened: Any) -> str:
    """`, best 0.123 (trial 4)`, or nothing before a trial completes."""
    try:
        best = opened.best_trial
    except ValueError:
        return ""
    return f", best {best.value:.4g} (trial {best.number})"


def _tail(path: Path, lines: int = 3) -> str:
    text = path.read_text(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])


def _summary(opened: Any) -> None:
    """The closing summary: trials by state, the best trial, its config and the next command."""
    from dte_core.hpo import study as studies

    from dte_cli.summary import closing

    found = studies.counts(opened)
    states = ", ".join(f"{k.lower()} {v}" for k, v in sorted(found.items()))
    science = opened.user_attrs.get("science", "SCIENCE")
    try:
        best = opened.best_trial
    except ValueError:
        closing(f"study {opened.study_name}: no completed trial yet", [("trials", states)],
                [f"dte tune {science} --study {opened.study_name} --trials 4"])
        return
    path = studies.write_best(opened)
    metric = opened.user_attrs.get("metric")
    closing(f"study {opened.study_name}: best trial {best.number}, {metric} = {best.value:.6g}",
            [("trials", states), ("params", json.dumps(best.params)),
             ("run", best.user_attrs.get("run_dir")),
             ("best config", path)],
            [*([f"dte train {science} --config {path}"] if path else []),
             f"dte tune report {opened.study_name}"])


def study_report(study: str, storage: str | None = None) -> dict[str, Any]:
    """A study's science, metric, direction, target, trials by state and best trial."""
    from dte_core.hpo import study as studies

    opened = studies.load(study, studies.open_storage(storage or
                                                      studies.default_storage_url(study)))
    try:
        best = {"number": opened.best_trial.number, "value": opened.best_value,
                "params": opened.best_params, "config": str(studies.write_best(opened) or "")}
    except ValueError:
        best = None
    return {"study": study, "science": opened.user_attrs.get("science"),
            "metric": opened.user_attrs.get("metric"),
            "direction": opened.direction.name.lower(),
            "target": opened.user_attrs.get("target"), "states": studies.counts(opened),
            "best": best}


@app.command()
def status(study: StudyArg, storage: StorageOpt = None, as_json: JsonOpt = False) -> None:
    """Progress of a study: trials by state, target, best value, running trials."""
    report = study_report(study, storage)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    from dte_cli.summary import print_fields

    print_fields(f"study {study}", report)


@app.command()
def report(study: StudyArg, storage: StorageOpt = None,
           out: Annotated[Path | None, typer.Option(
               "--out", help="Folder for the PNG plots (default: .dte/hpo/STUDY).",
               show_default=False)] = None,
           top: Annotated[int, typer.Option("--top", help="Best trials to list.")] = 5) -> None:
    """Best trials, the best config as YAML, and PNG plots of the study."""
    from dte_core.hpo import study as studies
    from dte_core.hpo.report import plots, top_trials

    opened = studies.load(study, studies.open_storage(storage or
                                                      studies.default_storage_url(study)))
    rows = top_trials(opened, top)
    from rich.table import Table
    from rich.text import Text

    from dte_cli.console import out as console

    table = Table(title=f"study {study}: best {len(rows)} trial(s), "
                        f"{opened.user_attrs.get('metric')} ({opened.direction.name.lower()})")
    for column in ("trial", "value", "params", "run"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(row[c])) for c in ("trial", "value", "params", "run")))
    console().print(table)
    folder = out or studies.hpo_dir(study)
    for path in plots(opened, folder):
        console().print(f"wrote {path}")
    best = studies.write_best(opened)
    if best:
        console().print(f"best config: {best}")
