"""The Python face of dte; the command line calls these same functions."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: local worker processes allowed per CPU (oversubscribing a little is fine; 100000 is not)
LOCAL_PROCS_PER_CPU = 8

Overrides = Mapping[str, Any] | Iterable[str] | None


def as_overrides(values: Overrides) -> list[str]:
    """`{"train.epochs": 2}` or `["train.epochs=2"]` as the `key=value` list of `--set`."""
    if values is None:
        return []
    if isinstance(values, Mapping):
        return [f"{key}={value if isinstance(value, str) else json.dumps(value)}"
                for key, value in values.items()]
    if isinstance(values, str):
        return [values]
    return list(values)


def _root(runs_dir: Path | str | None) -> Path:
    from dte_core import paths

    return Path(runs_dir or paths.runs_root()).resolve()


# ---- runs -----------------------------------------------------------------------------------
class Run:
    """One run folder: its status, configuration, metrics and checkpoints."""

    def __init__(self, path: Path) -> None:
        from dte_core import rundir

        self._dir = rundir.RunDir(Path(path).resolve())

    @property
    def id(self) -> str:
        return self._dir.run_id

    @property
    def path(self) -> Path:
        return self._dir.path

    @property
    def info(self) -> dict[str, Any]:
        """run.json as it is now (status, step, launch)."""
        return self._dir.info()

    @property
    def science(self) -> str:
        return self.info.get("science", "")

    @property
    def status(self) -> str:
        """run.json's status; `interrupted` where the process that owned the run died."""
        from dte_core import ownership

        return ownership.status(self._dir)

    @property
    def config(self) -> dict[str, Any]:
        """The resolved configuration the run trained with."""
        import yaml

        return yaml.safe_load(self._dir.config_path.read_text(encoding="utf-8")) or {}

    def metrics(self, as_table: bool = True) -> Any:
        """Everything logged (step, epoch, time, metric columns): a pandas DataFrame where
        pandas is installed (or `as_table=False`), else a list of dicts."""
        from dte_core.tracking import jsonl

        records = jsonl.read(self._dir.metrics_path)
        if not as_table:
            return records
        try:
            import pandas
        except ImportError:
            return records
        return pandas.DataFrame.from_records(records)

    @property
    def checkpoints(self) -> list[Path]:
        """Complete checkpoints, oldest first."""
        from dte_core import checkpoint

        return checkpoint.complete(self._dir.checkpoints)

    def checkpoint(self, which: str = "last") -> Path:
        """The `last` or `best` (by train.checkpoint.best_monitor) checkpoint."""
        from dte_core import checkpoint

        return checkpoint.select_of_run(self._dir, which)

    def evaluate(self, out: Path | str | None = None, checkpoint: str | None = None
                 ) -> dict[str, Any]:
        """The science's metrics and figures for this run (written under RUN/evaluation)."""
        return evaluate(self.science, run=str(self.path), checkpoint=checkpoint, out=out)

    def register(self, name: str, alias: str | Iterable[str] = (), **options: Any
                 ) -> dict[str, Any]:
        """This run's model as a new version of the registered model `name`."""
        return register(str(self.path), name, alias=alias, **options)

    def load_model(self, checkpoint: str | None = None) -> Model:
        return load_model(str(self.path), checkpoint=checkpoint)

    def __repr__(self) -> str:
        info = self.info
        return (f"Run({self.id!r}, science={info.get('science')!r}, "
                f"status={info.get('status')!r}, step={info.get('step')!r})")


def runs(science: str | None = None, runs_dir: Path | str | None = None) -> list[Run]:
    """Every run (of `science`), oldest first."""
    from dte_core import rundir

    return [Run(r.path) for r in rundir.list_runs(_root(runs_dir), science)]


def run(ref: str = "latest", science: str | None = None,
        runs_dir: Path | str | None = None) -> Run:
    """A run by id, folder or `latest`."""
    from dte_core import rundir

    return Run(rundir.find(_root(runs_dir), ref, science).path)


# ---- training -------------------------------------------------------------------------------
@dataclass
class TrainPlan:
    """A resolved `dte train`: the science, config, run (new or resumed) and worker count."""

    science: Any
    config: Any
    root: Path
    procs: int
    resumed: Any = None  # dte_core.resume.Resumed of --resume
    tracking_uri: str = ""

    @property
    def run_dir(self) -> Any:
        return self.resumed.run if self.resumed else None

    @property
    def checkpoint(self) -> Path | None:
        return self.resumed.checkpoint if self.resumed else None

    def launch(self, run_path: Path) -> Any:
        """How the workers of this plan start in `run_path` on this host."""
        from dte_cli.backends.local import LocalLaunch
        from dte_core import engine as engines

        engine = engines.of(self.science)
        return LocalLaunch(run_path, self.procs, self.checkpoint, engine,
                           engine.launcher(self.config.train.strategy))


def plan_train(science: str, *, preset: str | None = None,
               config: Path | str | None = None, set: Overrides = None,
               procs: int | None = None, gpus: int | None = None, strategy: str | None = None,
               resume: str | None = None, tracking_uri: str | None = None,
               runs_dir: Path | str | None = None, local: bool = True) -> TrainPlan:
    """Resolve a training request, checking everything before a run folder exists."""
    from dte_core import config as config_layer
    from dte_core import paths, sciences, strategies
    from dte_core import resume as resumes
    from dte_core.errors import ConfigError

    sci = sciences.load(science)
    nprocs = worker_count(procs, gpus, sci) if local else 1
    if "train" not in sci.capabilities():
        raise sci.not_supported("train", "a model and its training Task (`task`)")
    root = _root(runs_dir)
    overrides = as_overrides(set)
    if strategy is not None:
        overrides.append(f"train.strategy={strategy}")
    if tracking_uri is not None:
        overrides.append(f"tracking.uri={tracking_uri}")
    resumed = None
    if resume is not None:
        if preset is not None:
            raise ConfigError(f"--preset {preset} starts a new run; a resumed run continues "
                              f"with its saved config, which already holds the preset it "
                              f"started with. Drop --preset, or drop --resume for a new run.")
        resumed = resumes.open_run(root, resume, sci, config, overrides)
        cfg = resumed.config
    else:
        cfg = config_layer.resolve(sci.Config, config, overrides, preset)
    strategies.check_name(cfg.train.strategy)
    if local and cfg.train.strategy == "single" and nprocs > 1:
        raise ConfigError(f"--strategy single runs one process, but {nprocs} were asked for. "
                          f"Use --strategy ddp (or auto), or drop --procs/--gpus.")
    # Resolved once here so every worker (and a later `dte sync`) agrees on the server.
    return TrainPlan(sci, cfg, root, nprocs, resumed, paths.tracking_uri(cfg.tracking.uri))


def start(plan: TrainPlan, command: list[str], announce: Any = None) -> tuple[Run, int]:
    """Create (or reopen) the plan's run and train it here; (run, exit code: 0 or 75/130)."""
    from dte_core import config as config_layer
    from dte_core import ownership, rundir
    from dte_core import resume as resumes

    yaml_text = config_layer.to_yaml(plan.config)
    if plan.resumed is None:
        made = rundir.create(plan.root, plan.science.name, yaml_text, command=command,
                             procs=plan.procs, tracking_uri=plan.tracking_uri)
    else:
        made = plan.resumed.run
    try:
        with ownership.own(made, resumes.warn):
            if plan.resumed is not None:
                resumes.record(plan.resumed, yaml_text, command, procs=plan.procs,
                               tracking_uri=plan.tracking_uri)
            if announce is not None:
                announce(f"run {made.run_id} -> {made.path}")
            try:
                code = _launched(plan, made)
            except BaseException as exc:
                if plan.resumed is None and _never_started(made, exc):
                    shutil.rmtree(made.path, ignore_errors=True)
                else:
                    _end_unfinished(made, f"{type(exc).__name__}: {exc}")
                raise
            _end_unfinished(made, "the workers ended without recording an outcome")
    except OSError as exc:  # the run folder itself refused a write (lock, run.json, config)
        from dte_core.errors import StorageFault, storage_fault
        from dte_core.worker import storage_message

        fault = storage_fault(exc)
        if fault is None:
            raise
        raise StorageFault(storage_message(made, plan.science.name, fault)) from None
    return Run(made.path), code


def _launched(plan: TrainPlan, run: Any) -> int:
    """Run the plan's workers; a worker that dies while shutting down after the run recorded
    `finished` (its checkpoints complete) is a warning, not a failed run."""
    from dte_core.errors import WorkerFailed

    try:
        return plan.launch(run.path).run()
    except WorkerFailed as exc:
        if run.info().get("status") != "finished":
            raise
        import sys

        print(f"Warning: the run finished and its checkpoints are complete, but a worker "
              f"then died while shutting down: {exc}", file=sys.stderr)
        return 0


def _never_started(run: Any, exc: BaseException) -> bool:
    """A configuration or data problem found while setting up (before training): the new
    run's folder holds nothing worth keeping."""
    from dte_core.errors import DteError

    return (isinstance(exc, DteError) and exc.exit_code == 2
            and run.info().get("failed_in") == "setup")


def _end_unfinished(run: Any, error: str) -> None:
    """A run its workers left `created`/`running` (one was killed) ends `failed`."""
    from dte_core import rundir
    from dte_core.ownership import ACTIVE

    rundir.remove_temporaries(run)
    with contextlib.suppress(OSError):
        if run.info().get("status") in ACTIVE:
            run.update(status="failed", error=error[:2000])


def train(science: str, *, preset: str | None = None, config: Path | str | None = None,
          set: Overrides = None, procs: int = 1, strategy: str | None = None,
          resume: str | None = None, tracking_uri: str | None = None,
          runs_dir: Path | str | None = None) -> Run:
    """Train `science` here with `procs` processes (overrides as `{"train.epochs": 2}`);
    returns the run, `stopped` if a signal (Ctrl-C, a kernel interrupt) checkpointed it."""
    plan = plan_train(science, preset=preset, config=config, set=set, procs=procs,
                      strategy=strategy,
                      resume=resume, tracking_uri=tracking_uri, runs_dir=runs_dir)
    command = ["dte.train", science, *as_overrides(set)]
    return start(plan, command)[0]


def worker_count(procs: int | None, gpus: int | None, science: Any) -> int:
    """Processes to start, checked against what this host has."""
    from dte_core.errors import ConfigError

    if procs is not None and gpus is not None:
        raise ConfigError("Give --procs (CPU processes) or --gpus (one process per GPU), not "
                          "both.")
    if procs is not None and procs < 1:
        raise ConfigError(f"--procs {procs} is not a number of processes: use --procs 1 or "
                          f"more (or leave it out for one in-process worker).")
    most = LOCAL_PROCS_PER_CPU * (os.cpu_count() or 1)
    if procs is not None and procs > most:
        raise ConfigError(
            f"--procs {procs} is more worker processes than this host can run ({os.cpu_count()} "
            f"CPUs; at most {most} here). Ask for fewer, or spread them over nodes with "
            f"--backend slurm --nodes N.")
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


# ---- trained models -------------------------------------------------------------------------
@dataclass
class Model:
    """A trained model ready for inference: from a run's checkpoint or from the registry."""

    science: Any
    config: Any
    models: dict[str, Any]
    source: str
    run_path: Path | None = None
    #: the checkpoint folder's name, where the model came from a run
    checkpoint: str | None = None
    #: (tracking URI, MLflow run id) that evaluations of this model are logged to
    tracked: tuple[str, str] | None = None

    def predict(self, output: Path | str, input: Path | str | None = None,
                **options: Any) -> Any:
        """Write predictions to `output` (from `input` in the science's format, if it takes
        one); `options` are the science's predict options (e.g. generation conditions)."""
        from dte_core.errors import ConfigError

        if input is not None and not Path(input).exists():
            raise ConfigError(f"--input {input} does not exist.")
        writable_output(Path(output))
        return self.science.predict(self.config, self.models, Path(output),
                                    Path(input) if input is not None else None,
                                    {k: str(v) for k, v in options.items()})

    def evaluate(self, out: Path | str) -> dict[str, Any]:
        """The science's metrics and figures for this model, written under `out`."""
        return _evaluate_into(self, Path(out))

    def __repr__(self) -> str:
        return f"Model({self.source!r}, science={self.science.name!r})"


def writable_output(output: Path) -> None:
    """Refuse an --output whose folder is missing or cannot take a new file, before any work."""
    import tempfile

    from dte_core.errors import ConfigError

    folder = output.parent
    if not folder.is_dir():
        raise ConfigError(f"--output {output}: the folder {folder} does not exist. Create it "
                          f"first (mkdir -p {folder}) or write somewhere else.")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".dte-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"--output {output}: the folder {folder} cannot take a new file "
                          f"({exc.strerror or type(exc).__name__}). Write somewhere you can "
                          f"create files, e.g. --output ./{output.name}.") from None


def load_model(ref: str, science: str | None = None, checkpoint: str | None = None,
               runs_dir: Path | str | None = None) -> Model:
    """`models:/NAME@ALIAS`, `models:/NAME/VERSION`, or a run (id, folder, `latest`)."""
    if ref.startswith("models:"):
        return _registered(ref, science)
    from dte_core import checkpoint as checkpoints
    from dte_core import rundir, trained

    found = rundir.find(_root(runs_dir), ref, science)
    sci, cfg, models = trained.load(found.path, checkpoint)
    chosen = checkpoints.select_of_run(found, checkpoint).name
    return Model(sci, cfg, models, found.run_id, found.path, chosen)


def model_of(science: str, run: str | None, model: str | None, checkpoint: str | None,
             runs_dir: Path | str | None) -> Model:
    """The model behind `--run RUN` or `--model URI` (exactly one), of `science`."""
    from dte_core.errors import ConfigError

    if (run is None) == (model is None):
        raise ConfigError("Give the trained model with --run RUN or --model models:/NAME@ALIAS "
                          "(exactly one of them).")
    if model is not None:
        return _registered(model, science)
    return load_model(run, science, checkpoint, runs_dir)


def _registered(ref: str, science: str | None) -> Model:
    from dte_core import paths
    from dte_core.registry import store, uri

    sci, cfg, models, version = store.load_model(uri.parse(ref), science)
    return Model(sci, cfg, models, ref, tracked=(paths.tracking_uri(), version.run_id)
                 if version.run_id else None)


def evaluate(science: str, *, run: str | None = None, model: str | None = None,
             checkpoint: str | None = None, out: Path | str | None = None,
             runs_dir: Path | str | None = None) -> dict[str, Any]:
    """The science's validation metrics and figures for a run or a registered model, written
    to `out` (default: `evaluation_dir`)."""
    loaded = model_of(science, run, model, checkpoint, runs_dir)
    return _evaluate_into(loaded, Path(out or evaluation_dir(loaded)))


def evaluation_dir(loaded: Model) -> Path:
    """Where `dte evaluate` writes by default: RUN/evaluation, or .dte/evaluations/NAME-VERSION
    for a registered model."""
    from dte_core import paths

    if loaded.run_path:
        return loaded.run_path / "evaluation"
    return paths.state_dir() / "evaluations" / (
        loaded.source.removeprefix("models:/").replace("/", "-").replace("@", "-"))


def _evaluate_into(loaded: Model, out: Path) -> dict[str, Any]:
    from dte_core import evaluated

    target = out.resolve()
    target.mkdir(parents=True, exist_ok=True)
    evaluated.write(target, loaded.science.name, loaded.source, loaded.checkpoint)
    metrics = loaded.science.evaluate(loaded.config, loaded.models, target)
    (target / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _log_evaluation(loaded, metrics, target)
    return metrics


def _log_evaluation(loaded: Model, metrics: dict[str, Any], folder: Path) -> None:
    """Send the evaluation to the MLflow run of the evaluated model; a failure only warns."""
    import sys

    tracked = loaded.tracked
    if tracked is None and loaded.run_path is not None:
        from dte_core.tracking.mlflow_sink import settled_state

        state = settled_state(loaded.run_path)  # its upload may still be running
        tracked = (state["tracking_uri"], state["run_id"]) if state.get("run_id") else None
    if tracked is None:
        return
    from dte_core.tracking import evaluation

    try:
        count = evaluation.log(*tracked, metrics, folder)
    except Exception as exc:  # the evaluation is on disk; MLflow is a copy
        print(f"Warning: the evaluation was not logged to MLflow at {tracked[0]} "
              f"({type(exc).__name__}: {str(exc)[:200]}); it is complete in {folder}.",
              file=sys.stderr)
        return
    print(f"logged {count} eval/ metrics and the figures to MLflow run {tracked[1]} "
          f"({tracked[0]})", file=sys.stderr)


def register(run: str, name: str, *, alias: str | Iterable[str] = (),
             tags: Mapping[str, str] | None = None, description: str | None = None,
             checkpoint: str | None = None, tracking_uri: str | None = None,
             runs_dir: Path | str | None = None) -> dict[str, Any]:
    """A run's model as a new version of `name`: {name, version, aliases, run_id, ...}."""
    from dte_core import rundir
    from dte_core.registry import store, uri

    uri.parse(f"models:/{name}/1")  # the name must be usable in a URI
    aliases = [alias] if isinstance(alias, str) else list(alias)
    found = rundir.find(_root(runs_dir), run)
    result = store.register(found, name, aliases, dict(tags or {}), description, checkpoint,
                            tracking_uri)
    return {**result, "run_id": found.run_id}


def models(tracking_uri: str | None = None) -> list[dict[str, Any]]:
    """Registered models: name, science, number of versions, latest version, aliases."""
    from dte_core.registry import store

    mlf = store._client(tracking_uri)[0]
    rows = []
    for found in sorted(mlf.search_registered_models(), key=lambda m: m.name):
        versions = mlf.search_model_versions(f"name='{found.name}'")
        rows.append({"name": found.name, "science": (found.tags or {}).get("dte.science"),
                     "versions": len(versions),
                     "latest": max((int(v.version) for v in versions), default=None),
                     "aliases": {a: str(v) for a, v in sorted((found.aliases or {}).items())}})
    return rows


# ---- data, sciences, studies ----------------------------------------------------------------
def science_and_config(name: str, config: Path | str | None, overrides: Overrides,
                       preset: str | None = None) -> tuple[Any, Any]:
    """The science and its configuration: defaults < preset < file < overrides."""
    from dte_core import config as config_layer
    from dte_core import sciences as registry

    science = registry.load(name)
    return science, config_layer.resolve(science.Config, config, as_overrides(overrides),
                                         preset)


def write_atomically(out: Path | str, overwrite: bool, write: Any) -> tuple[Path, dict]:
    """Let `write(tmp)` fill a temporary sibling folder, then rename it to `out`: `out` is
    never half-written. Returns (out, the summary `write` returned)."""
    import shutil

    from dte_core.errors import ConfigError

    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise ConfigError(f"--out {out} exists and is not empty. Choose a new folder or add "
                          f"--overwrite to replace it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        summary: dict[str, Any] = write(tmp) or {}
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    tmp.rename(out)
    return out, summary


def generate(science: str, out: Path | str, *, preset: str | None = None,
             config: Path | str | None = None, set: Overrides = None,
             overwrite: bool = False) -> dict[str, Any]:
    """Generate a dataset of `science` into the folder `out`; the science's summary."""
    sci, cfg = science_and_config(science, config, set, preset)
    return write_atomically(out, overwrite, lambda tmp: sci.generate(cfg, tmp))[1]


def prepare(science: str, sources: Iterable[Path | str], out: Path | str, *,
            config: Path | str | None = None, set: Overrides = None,
            overwrite: bool = False) -> dict[str, Any]:
    """Convert real-world files into the science's native format in the folder `out`."""
    from dte_core.errors import ConfigError

    sources = [Path(p) for p in sources]
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        raise ConfigError(f"Input file(s) not found: {', '.join(missing)}. Check the --from "
                          f"paths.")
    sci, cfg = science_and_config(science, config, set)
    return write_atomically(out, overwrite, lambda tmp: sci.prepare(cfg, sources, tmp))[1]


def check_data(science: str, paths: Iterable[Path | str], *, config: Path | str | None = None,
               set: Overrides = None) -> list[tuple[str, str]]:
    """What `science` finds in `paths`, opened the way training with this configuration
    would, and how it reads them: (what, found) lines; DataCheckFailed when it would not."""
    from dte_core.errors import ConfigError

    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.exists() and not set_glob(p)]
    if missing:
        raise ConfigError(f"Not found: {', '.join(missing)}. Give existing files or folders to "
                          f"`dte data check {science} PATH...`.")
    sci, cfg = science_and_config(science, config, set)
    return sci.check(cfg, paths)


def set_glob(path: Path) -> bool:
    """A glob pattern (left to the science to expand)."""
    return any(c in str(path) for c in "*?[")


def sciences() -> list[dict[str, Any]]:
    """Installed sciences: name, version, framework, verbs; one that does not fit this
    dte-core has status `incompatible` and the reason."""
    from dte_core import sciences as registry

    return [{"name": s.name, "version": s.version, "framework": s.framework,
             "distribution": s.distribution, "summary": s.summary, "contract": s.contract,
             "verbs": s.capabilities(), "status": "ok"} if s is not None else
            {"name": name, "status": "incompatible", "problem": problem}
            for name, s, problem in registry.survey()]


def tune(science: str, trials: int, *, workers: int = 1, study: str | None = None,
         storage: str | None = None, set: Overrides = None, config: Path | str | None = None,
         preset: str | None = None, **options: Any) -> dict[str, Any]:
    """Run (or continue) an Optuna study of `science`; its report (best value, params, best
    config file). `options` are the other `dte tune` options (sampler, pruner, seed, ...)."""
    from dte_cli.backends.request import SlurmOptions
    from dte_cli.commands import tune as command

    name = command.run.__wrapped__(science, trials, workers=workers, storage=storage, study=study,
                       preset=preset, config=Path(config) if config else None,
                       set_=as_overrides(set),
                       slurm=SlurmOptions(), **options)
    return command.study_report(name, storage)
