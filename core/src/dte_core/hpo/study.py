"""Studies shared by many workers: storage, exact trial budgets, heartbeats and retries.

Storage is Optuna's journal file by default (`.dte/hpo/<study>.journal`, safe on a shared file
system) or any RDB URL. Workers take trials under a file lock (`.dte/hpo/<study>.lock`), so a
study gets exactly the trials asked for. A running trial touches a heartbeat file; a trial whose
heartbeat is older than the grace period belongs to a dead worker: it is marked FAIL and the
same parameters are enqueued again, so the study still completes.
"""

from __future__ import annotations

import fcntl
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dte_core import paths
from dte_core.errors import ConfigError, DteError, MissingDependencyError
from dte_core.optional import require

HEARTBEAT_S = 5.0
GRACE_S = 30.0
COUNTED = ("COMPLETE", "PRUNED", "RUNNING", "WAITING")


STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: where a storage URL's secret travels to workers instead of their command line (`ps`)
STORAGE_ENV = "DTE_HPO_STORAGE"


def check_name(study: str) -> str:
    """`study` if it is a safe file name (it names files under .dte/hpo/ and runs/)."""
    if not STUDY_NAME.match(study) or ".." in study:
        raise ConfigError(
            f"--study {study!r} is not a usable study name: use up to 100 letters, digits, '.', "
            f"'-' and '_', starting with a letter or digit and without '..' (it names the "
            f"study's files under .dte/hpo/), e.g. --study toy-lr-search.")
    return study


def hpo_dir(study: str) -> Path:
    return paths.state_dir() / "hpo" / check_name(study)


def default_storage_url(study: str) -> str:
    return f"journal:{paths.state_dir() / 'hpo' / (check_name(study) + '.journal')}"


def has_secret(url: str) -> bool:
    """Whether `url` carries a password (`scheme://user:password@host/...`)."""
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def redact(text: str, url: str) -> str:
    """`text` with the password of `url` replaced by *** (as `:password@`, or as the URL)."""
    from urllib.parse import unquote, urlsplit

    try:
        secret = urlsplit(url).password
    except ValueError:
        secret = None
    for form in {secret, unquote(secret or "")} - {None, ""}:
        text = text.replace(f":{form}@", ":***@")
    return text


def open_storage(url: str) -> Any:
    """An Optuna storage for `url` (`journal:PATH` or an RDB URL); errors say which failed."""
    require("optuna", extra="optuna")
    import optuna

    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = Path(url.removeprefix("journal:"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as exc:
            raise _unwritable_journal(path, exc) from None
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
    except ImportError as exc:  # the database driver (Optuna re-raises it as ImportError)
        driver = getattr(exc, "name", None) or url.split(":", 1)[0]
        raise MissingDependencyError(
            f"The study storage {redact(url, url)!r} needs a database driver ({driver}) that "
            f"is not installed. For PostgreSQL: pip install 'dte-core[postgres]'; or leave "
            f"--storage out for a journal file under .dte/hpo/.") from None
    except Exception as exc:  # sqlalchemy raises many types for an unreachable database
        raise ConfigError(
            f"The study storage {redact(url, url)!r} cannot be reached or used "
            f"({type(exc).__name__}: {redact(str(exc).splitlines()[0][:300], url)}). Check the "
            f"URL, that the database server runs and accepts this user, and that its driver is "
            f"installed (PostgreSQL: pip install 'dte-core[postgres]'); or leave --storage out "
            f"for a journal file under .dte/hpo/."
        ) from None


def check_journal(path: Path) -> None:
    """Refuse a journal that could not be created, leaving nothing behind (for --dry-run)."""
    import tempfile

    folder = next(p for p in [path.parent, *path.parent.parents] if p.exists())
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".dte-probe-"):
            pass
    except OSError as exc:
        raise _unwritable_journal(path, exc) from None


def _unwritable_journal(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"The study journal {str(path)!r} cannot be written ({exc.strerror or exc}). Give "
        f"--storage journal:PATH in a folder you can write, or leave --storage out for a "
        f"journal file under .dte/hpo/.")


def sampler(name: str, space: Any, seed: int | None) -> Any:
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        require("cmaes", extra="optuna", package="cmaes")
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    raise ConfigError(f"Unknown sampler {name!r}: use tpe, random, cmaes or grid.")


def create_or_check(name: str, storage: Any, direction: str, metric: str,
                    attrs: dict[str, Any]) -> Any:
    """Create the study, or load it and refuse a different direction or metric."""
    import optuna

    try:
        existing = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        existing = None
    if existing is not None:
        old_dir = existing.direction.name.lower()
        old_metric = existing.user_attrs.get("metric")
        if old_dir != direction or old_metric != metric:
            raise ConfigError(
                f"The study '{name}' exists with direction {old_dir} and metric "
                f"{old_metric!r}, not {direction} and {metric!r}. Continue it with "
                f"--direction {old_dir} --metric {old_metric}, or choose another --study name."
            )
        if existing.user_attrs.get("science") != attrs.get("science"):
            raise ConfigError(f"The study '{name}' belongs to the science "
                              f"'{existing.user_attrs.get('science')}'; choose another --study.")
        return existing
    study = optuna.create_study(study_name=name, storage=storage, direction=direction)
    _name_metric(study, metric)
    for key, value in {**attrs, "metric": metric}.items():
        study.set_user_attr(key, value)
    return study


def _name_metric(study: Any, metric: str) -> None:
    """Name the objective after the metric (Optuna's dashboard and plots show it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # set_metric_names is marked experimental
        study.set_metric_names([metric])


def load(name: str, storage: Any, sampler_obj: Any = None, pruner_obj: Any = None) -> Any:
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler_obj,
                                 pruner=pruner_obj)
    except KeyError:
        raise DteError(f"No study named '{name}' in this storage. `dte tune status` with the "
                       f"right --storage, or start it with `dte tune SCIENCE --study {name}`."
                       ) from None


@contextmanager
def locked(name: str) -> Iterator[None]:
    """An exclusive lock over taking trials of study `name` (a file lock, NFS/Lustre-safe)."""
    folder = paths.state_dir() / "hpo"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.lock").open("a") as handle:
        fcntl.lockf(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def counts(study: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        found[trial.state.name] = found.get(trial.state.name, 0) + 1
    return found


def heartbeat_path(study: str, number: int) -> Path:
    return hpo_dir(study) / "heartbeats" / f"{number}.hb"


def fail_stale(study: Any, grace_s: float = GRACE_S) -> list[int]:
    """Mark RUNNING trials without a fresh heartbeat FAIL and enqueue them again."""
    from optuna.trial import TrialState

    now = time.time()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        beat = heartbeat_path(study.study_name, trial.number)
        last = beat.stat().st_mtime if beat.exists() else (
            trial.datetime_start.timestamp() if trial.datetime_start else now)
        if now - last > grace_s:
            study.tell(trial.number, state=TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            failed.append(trial.number)
    return failed


def claim(study: Any, target: int, grace_s: float = GRACE_S) -> Any | None:
    """Take the next trial if the study has fewer than `target` counted trials, else None."""
    with locked(study.study_name):
        fail_stale(study, grace_s)
        found = counts(study)
        if sum(found.get(s, 0) for s in COUNTED) - found.get("WAITING", 0) >= target:
            return None
        return study.ask()


class Heartbeat:
    """Touches the trial's heartbeat file every few seconds from a daemon thread."""

    def __init__(self, study: str, number: int, every_s: float = HEARTBEAT_S) -> None:
        self.path = heartbeat_path(study, number)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.every_s = every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="dte-heartbeat")

    def _beat(self) -> None:
        while not self.stop.is_set():
            self.path.touch()
            self.stop.wait(self.every_s)

    def __enter__(self) -> Heartbeat:
        self.path.touch()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        self.path.unlink(missing_ok=True)


def write_best(study: Any) -> Path | None:
    """Copy the best trial's config to .dte/hpo/<study>/best.yaml (usable with --config)."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    run_dir = best.user_attrs.get("run_dir")
    if not run_dir or not (Path(run_dir) / "config.yaml").is_file():
        return None
    target = hpo_dir(study.study_name) / "best.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# best trial {best.number} of study {study.study_name}: "
              f"{study.user_attrs.get('metric')} = {best.value}\n"
              f"# params: {json.dumps(best.params)}\n")
    tmp = target.with_suffix(".tmp")
    tmp.write_text(header + (Path(run_dir) / "config.yaml").read_text())
    tmp.replace(target)
    return target
