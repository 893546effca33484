"""`dte scale SCIENCE --workers 1,2,4`: a scaling sweep over worker counts and strategies (run
here or as SLURM jobs, or collected from MLflow), reported as samples/s, epoch time, speed-up,
parallel efficiency and DDP's communication share (table, JSON, PNG)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from dte_cli.backends.request import PANEL, SlurmOptions, only_with_slurm, slurm_options
from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, PanelCommand, ScienceArg, SetOpt

app = new_app()


def _ints(text: str, flag: str) -> list[int]:
    from dte_core.errors import ConfigError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{flag} {text!r} must be a comma-separated list of counts >= 1, "
                          f"e.g. {flag} 1,2,4.")
    return sorted(set(values))


@app.command(cls=PanelCommand)
@slurm_options(omit=("nodes", "array", "task_layout", "check", "remote", "sync_code",
                     "job_name"))
def scale(
    science: ScienceArg,
    workers: Annotated[str, typer.Option("--workers", help="Worker counts, e.g. 1,2,4.")
                       ] = "1,2",
    strategy: Annotated[str, typer.Option(
        "--strategy", help="Comma-separated strategies to compare (ddp, deepspeed, horovod).")
    ] = "ddp",
    gpus: Annotated[bool, typer.Option("--gpus", help="Workers are GPUs (else CPU processes).")
                    ] = False,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per run; the first is "
                                        "warm-up and not counted.")] = 3,
    threads: Annotated[int | None, typer.Option(
        "--threads", help="CPU threads per worker (OMP_NUM_THREADS), the same at every point "
        "so that efficiency measures the workers, not threads vs processes (default: cores "
        "// the largest worker count).", show_default=False)] = None,
    comm: Annotated[bool, typer.Option(
        "--comm/--no-comm", help="For ddp with 2+ workers, a probe run that times the gradient "
        "all-reduce (blocking) for the communication share.")] = True,
    backend: Annotated[str, typer.Option(
        "--backend", help="local (runs here, one after another) or slurm (one job per point, "
        "submitted together; waits for them).")] = "local",
    per_node: Annotated[int | None, typer.Option(
        "--per-node", help="Workers per node; larger counts take count/per-node nodes "
        "(default: every point on one node).", show_default=False, rich_help_panel=PANEL)
    ] = None,
    from_mlflow: Annotated[bool, typer.Option(
        "--from-mlflow", help="Run nothing: report the newest finished run per strategy and "
        "worker count of the science's MLflow experiment.")] = False,
    experiment: Annotated[str | None, typer.Option(
        "--experiment", help="[--from-mlflow] Experiment (default: the science's name).",
        show_default=False)] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="[--from-mlflow] MLflow tracking URI (default: "
        "$DTE_TRACKING_URI, else the embedded store).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for runs, JSON and PNG (default: .dte/scale/TIMESTAMP).",
        show_default=False)] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    *,
    slurm: SlurmOptions,
) -> None:
    """Run a scaling sweep (or collect one from MLflow) and report it against 1 worker."""
    from dte_core import paths, sciences, strategies
    from dte_core.errors import ConfigError

    from dte_cli import scaling
    from dte_cli.console import err

    sciences.load(science)
    folder = (out or paths.state_dir() / "scale" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    if from_mlflow:
        from dte_core.tracking.mlflow_sink import settle_all

        settle_all(paths.runs_root())  # runs whose upload still goes on in the background
        rows = scaling.from_mlflow(science, experiment, tracking_uri or paths.tracking_uri())
        title = "Scaling from MLflow (medians over epochs after the first)"
    else:
        counts = _ints(workers, "--workers")
        names = [s.strip() for s in strategy.split(",") if s.strip()]
        for name in names:
            strategies.check_name(name)
        if epochs < 2:
            raise ConfigError("--epochs must be 2 or more: the first epoch is warm-up.")
        if backend not in ("local", "slurm"):
            raise ConfigError(f"--backend {backend!r}: use local or slurm.")
        only_with_slurm(backend, slurm, also=["--per-node"] if per_node else [])
        if threads is not None and threads < 1:
            raise ConfigError(f"--threads {threads} must be 1 or more.")
        per_worker = threads or max(1, (os.cpu_count() or 1) // max(counts))
        sweep = _Sweep(science, folder, gpus, per_worker, config, set_ or [], backend,
                       per_node, slurm)
        points = [(name, count, False, epochs) for name in names for count in counts]
        points += [("ddp", count, True, 2) for count in counts
                   if comm and "ddp" in names and count > 1]
        runs = sweep.run(points)
        rows = []
        for (name, count, probe, _), path in zip(points, runs, strict=True):
            if not probe:
                rows.append(scaling.row(name, count, scaling.epochs_of_run_dir(path),
                                        threads_per_worker=None if gpus else per_worker))
        for (name, count, probe, _), path in zip(points, runs, strict=True):
            if probe:
                mine = next(r for r in rows if r["strategy"] == name and r["workers"] == count)
                mine.update(scaling.comm_share(scaling.epochs_of_run_dir(path)))
        title = "Scaling (medians over epochs after the first)" + (
            "" if gpus else f", {per_worker} thread(s) per worker")
    scaling.relative(rows)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scaling.json").write_text(json.dumps(rows, indent=2))
    scaling.table(rows, title)
    err().print(f"wrote {folder / 'scaling.json'} and {scaling.plot(rows, folder / 'scaling.png')}")


class _Sweep:
    """Runs the sweep's points as `dte train` runs, here one by one or as SLURM jobs."""

    def __init__(self, science: str, folder: Path, gpus: bool, threads: int,
                 config: Path | None, sets: list[str], backend: str, per_node: int | None,
                 slurm: SlurmOptions) -> None:
        self.science, self.folder, self.gpus, self.threads = science, folder, gpus, threads
        self.config, self.sets, self.backend = config, sets, backend
        self.per_node, self.slurm = per_node, slurm
        self.dte = str(Path(sys.executable).with_name("dte"))

    def run(self, points: list[tuple[str, int, bool, int]]) -> list[Path]:
        from dte_cli.console import err

        folders = []
        jobs: list[tuple[str, str, Path]] = []
        for name, count, probe, epochs in points:
            label = f"{name} x {count}" + (" (communication probe)" if probe else "")
            runs = self.folder / "runs" / (f"{name}-{count}" + ("-comm" if probe else ""))
            args = self._args(name, count, probe, epochs, runs)
            folders.append(runs)
            if self.backend == "local":
                err().print(f"scale: {label} ...")
                env = {**os.environ} if self.gpus else {**os.environ,
                                                        "OMP_NUM_THREADS": str(self.threads)}
                done = subprocess.run(args, capture_output=True, text=True, env=env)
                self._check(label, done)
            else:
                done = subprocess.run(args, capture_output=True, text=True)
                self._check(label, done)
                job = done.stdout.strip().splitlines()[-1]
                err().print(f"scale: {label}: SLURM job {job}")
                jobs.append((label, job, runs))
        if jobs:
            self._wait(jobs)
        return folders

    def _args(self, name: str, count: int, probe: bool, epochs: int, runs: Path) -> list[str]:
        args = [self.dte, "train", self.science, "--strategy", name, "--runs-dir", str(runs),
                "--set", f"train.epochs={epochs}", "--set", "tracking.mlflow=false",
                *(["--config", str(self.config)] if self.config else []),
                *[a for item in self.sets for a in ("--set", item)],
                *(["--set", "train.measure_comm=true"] if probe else [])]
        per_node = self.per_node
        nodes, local = 1, count
        if self.backend == "slurm" and per_node and count > per_node:
            from dte_core.errors import ConfigError

            if count % per_node:
                raise ConfigError(f"--workers {count} is not a multiple of --per-node "
                                  f"{per_node}: every node runs the same number of workers.")
            nodes, local = count // per_node, per_node
        args += ["--gpus" if self.gpus else "--procs", str(local)]
        if self.backend == "slurm":
            args += ["--backend", "slurm", "--nodes", str(nodes), *self.slurm.argv()]
            if not self.gpus:
                args += ["--env", f"OMP_NUM_THREADS={self.threads}"]
        return args

    @staticmethod
    def _check(label: str, done: subprocess.CompletedProcess) -> None:
        from dte_core.errors import DteError

        if done.returncode != 0:
            raise DteError(f"The {label} run failed (exit {done.returncode}): "
                           f"{done.stderr.strip()[-1500:]}")

    def _wait(self, jobs: list[tuple[str, str, Path]]) -> None:
        """Wait for every job; a job that ends without a finished run is an error."""
        from dte_core.errors import DteError

        from dte_cli.backends import jobs as index
        from dte_cli.console import err

        pending = {job: (label, runs) for label, job, runs in jobs}
        err().print(f"scale: waiting for {len(pending)} SLURM job(s) (Ctrl-C leaves them "
                    "running; `dte jobs list` shows them)")
        active = ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED")
        while pending:
            time.sleep(2)
            for job in list(pending):
                states = index.state(index.find(job))
                if any(s.split()[0] in active for s in states.values()):
                    continue
                label, runs = pending.pop(job)
                infos = sorted(runs.glob("*/*/run.json"))
                status = json.loads(infos[-1].read_text()).get("status") if infos else None
                if status != "finished":
                    logs = sorted(runs.glob("*/*/slurm-*.out"))
                    raise DteError(f"SLURM job {job} ({label}) ended "
                                   f"{', '.join(states.values())} with its run "
                                   f"{status or 'not started'}; see "
                                   f"{logs[-1] if logs else runs}.")
                err().print(f"scale: {label} done")
