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
from typing import Annotated, Any

import typer

from dte_cli.backends.request import PANEL, SlurmOptions, only_with_slurm, slurm_options
from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, PanelCommand, PresetOpt, ScienceArg, SetOpt
from dte_cli.scaling_model import INTERCONNECTS, INTRA_DEFAULT, NETWORK_DEFAULT

app = new_app()


class ScaleCommand(PanelCommand):
    """`--gpus` alone marks the workers as GPUs; `--gpus 4,8` also gives their counts."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = [("--gpus=" if a == "--gpus" and (i + 1 == len(args) or
                                                args[i + 1].startswith("-")) else a)
                for i, a in enumerate(args)]
        return super().parse_args(ctx, args)


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


@app.command(cls=ScaleCommand)
@slurm_options(omit=("nodes", "array", "task_layout", "check", "remote", "sync_code",
                     "job_name"))
def scale(
    science: ScienceArg,
    workers: Annotated[str, typer.Option("--workers", help="Worker counts, e.g. 1,2,4.")
                       ] = "1,2",
    strategy: Annotated[str, typer.Option(
        "--strategy", help="Comma-separated strategies to compare (ddp, deepspeed, horovod).")
    ] = "ddp",
    gpus: Annotated[str | None, typer.Option(
        "--gpus", metavar="[COUNTS]",
        help="Workers are GPUs (else CPU processes); with counts, e.g. 4,8,16, the GPU "
        "counts to run or predict (instead of --workers).", show_default=False)] = None,
    predict: Annotated[bool, typer.Option(
        "--predict", help="Measure one short 1-worker run here and predict step time, "
        "throughput and efficiency at the counts (model: README, 'Scaling predicted').")
    ] = False,
    interconnect: Annotated[str | None, typer.Option(
        "--interconnect", help="[--predict] Network between nodes: "
        f"{', '.join(INTERCONNECTS)} (default {NETWORK_DEFAULT}).", show_default=False)
    ] = None,
    intra: Annotated[str, typer.Option(
        "--intra", help="[--predict] Link between the GPUs of one node.")] = INTRA_DEFAULT,
    bandwidth: Annotated[float | None, typer.Option(
        "--bandwidth", help="[--predict] Network bandwidth per GPU, GB/s (with --latency).",
        show_default=False)] = None,
    latency: Annotated[float | None, typer.Option(
        "--latency", help="[--predict] Network latency, microseconds (with --bandwidth).",
        show_default=False)] = None,
    weak: Annotated[bool, typer.Option(
        "--weak", help="[--predict] Each worker keeps train.batch_size samples (the global "
        "batch grows with the count) instead of sharing it.")] = False,
    step_s: Annotated[float | None, typer.Option(
        "--step-s", help="[--predict] Seconds per step of one worker measured elsewhere "
        "(e.g. step_s in gpu_check.json); skips the local run.", show_default=False)] = None,
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
        "(default: every point on one node; with --predict: 4).", show_default=False,
        rich_help_panel=PANEL)
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
    preset: PresetOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    *,
    slurm: SlurmOptions,
) -> None:
    """Run a scaling sweep (or collect one from MLflow) and report it against 1 worker."""
    from dte_core import paths, sciences, strategies
    from dte_core.errors import ConfigError

    from dte_cli import scaling

    sci = sciences.load(science)
    folder = (out or paths.state_dir() / "scale" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    if gpus:  # counts given with --gpus
        workers = gpus
    if predict:
        from dte_cli.scaling_predict import run_prediction

        run_prediction(sci, folder, _ints(workers, "--gpus" if gpus else "--workers"),
                       strategy, interconnect, intra, bandwidth, latency, per_node, step_s,
                       epochs, config, set_ or [],
                       lambda f, on_gpu: _Sweep(science, f, on_gpu,
                                                threads or (os.cpu_count() or 1), config,
                                                set_ or [], "local", None, slurm, preset),
                       weak, preset)
        return
    if from_mlflow:
        from dte_core.tracking.mlflow_sink import settle_all

        settle_all(paths.runs_root())  # runs whose upload still goes on in the background
        rows = scaling.from_mlflow(science, experiment, tracking_uri or paths.tracking_uri())
        title = "Scaling from MLflow (medians over epochs after the first)"
    else:
        counts = _ints(workers, "--gpus" if gpus else "--workers")
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
        sweep = _Sweep(science, folder, gpus is not None, per_worker, config, set_ or [], backend,
                       per_node, slurm, preset)
        points = [(name, count, False, epochs) for name in names for count in counts]
        points += [("ddp", count, True, 2) for count in counts
                   if comm and "ddp" in names and count > 1]
        runs = sweep.run(points)
        rows = []
        for (name, count, probe, _), path in zip(points, runs, strict=True):
            if not probe:
                rows.append(scaling.row(name, count, scaling.epochs_of_run_dir(path),
                                        threads_per_worker=None if gpus is not None
                                        else per_worker))
        for (name, count, probe, _), path in zip(points, runs, strict=True):
            if probe:
                mine = next(r for r in rows if r["strategy"] == name and r["workers"] == count)
                mine.update(scaling.comm_share(scaling.epochs_of_run_dir(path)))
        title = "Scaling (medians over epochs after the first)" + (
            "" if gpus is not None else f", {per_worker} thread(s) per worker")
    scaling.relative(rows)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scaling.json").write_text(json.dumps(rows, indent=2))
    scaling.table(rows, title)
    _closing(science, folder, rows, scaling.plot(rows, folder / "scaling.png",
                                                     f"{science}: {title}"), gpus is not None)


def _closing(science: str, folder: Path, rows: list[dict], plot: Path, gpus: bool) -> None:
    """Where the sweep went, its fastest point, and the command that trains like it."""
    from dte_cli.summary import closing

    fastest = max(rows, key=lambda r: r.get("samples_per_s") or 0, default=None)
    facts: list[tuple[str, object]] = [("table", folder / "scaling.json"), ("plot", plot)]
    steps = []
    if fastest is not None:
        facts.insert(0, ("fastest", f"{fastest['strategy']} with {fastest['workers']} "
                                    f"worker(s), efficiency {fastest['efficiency']:.2f}"))
        steps.append(f"dte train {science} --{'gpus' if gpus else 'procs'} "
                     f"{fastest['workers']} --strategy {fastest['strategy']}")
    closing(f"{science} scaling sweep: {len(rows)} point(s)", facts, steps)


class _Sweep:
    """Runs the sweep's points as `dte train` runs, here one by one or as SLURM jobs."""

    def __init__(self, science: str, folder: Path, gpus: bool, threads: int,
                 config: Path | None, sets: list[str], backend: str, per_node: int | None,
                 slurm: SlurmOptions, preset: str | None = None) -> None:
        self.science, self.folder, self.gpus, self.threads = science, folder, gpus, threads
        self.preset = preset
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
                *(["--preset", self.preset] if self.preset else []),
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
