"""Run directories `runs/<science>/<run-id>/`: config, manifest, checkpoints, metrics, status."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dte_core import env as cluster_env
from dte_core.errors import DteError

INFO = "run.json"
#: held (flock) around each read-modify-write of run.json
INFO_LOCK = ".run.json.lock"


@dataclass(frozen=True)
class RunDir:
    """One run's directory and its files."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def info(self) -> dict[str, Any]:
        """run.json: science, status, launch options."""
        try:
            return json.loads((self.path / INFO).read_text())
        except (OSError, ValueError):
            return {}

    def update(self, **fields: Any) -> dict[str, Any]:
        """Merge `fields` into run.json: one writer at a time, replaced atomically, no
        temporary file left behind when the write fails."""
        with _exclusive(self.path / INFO_LOCK):
            data = {**self.info(), **fields, "updated": _now()}
            tmp = self.path / f".{INFO}.{os.getpid()}.tmp"
            try:
                tmp.write_text(json.dumps(data, indent=2))
                os.replace(tmp, self.path / INFO)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        return data


def remove_temporaries(run: RunDir) -> None:
    """What an interrupted write left: half-built checkpoints and run.json temporaries."""
    for tmp in [*run.checkpoints.glob(".tmp-step-*"), *run.path.glob(f".{INFO}.*.tmp")]:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus 4 random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def check_writable(root: Path) -> None:
    """Fail early, with the fix, if runs cannot be created under `root`."""
    probe = root / f".write-test-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise DteError(
            f"Cannot write run directories under '{root}' ({exc.strerror or exc}). Choose a "
            f"writable place with --runs-dir DIR or the DTE_RUNS_DIR environment variable."
        ) from None


def create(root: Path, science: str, config_yaml: str, run_id: str | None = None,
           **info: Any) -> RunDir:
    """Make a new run directory holding the resolved config and run.json."""
    check_writable(root)
    run = RunDir(root / science / (run_id or new_run_id()))
    run.path.mkdir(parents=True)
    run.config_path.write_text(config_yaml)
    created = datetime.now(UTC).isoformat(timespec="microseconds")
    run.update(science=science, run_id=run.run_id, created=created, status="created", **info)
    return run


def find(root: Path, ref: str, science: str | None = None, resumable: bool = False) -> RunDir:
    """A run by id, path or `latest` (of `science`; with `resumable`, the newest that has a
    checkpoint); errors list what exists."""
    candidates = list_runs(root, science)
    if ref == "latest":
        if resumable:
            from dte_core import checkpoint

            candidates = [r for r in candidates if checkpoint.latest(r.checkpoints)]
        if not candidates:
            raise DteError(f"There is no earlier run of '{science}' under '{root}' to resume; "
                           f"start one with `dte train {science}`.")
        run = candidates[-1]
    elif Path(ref).is_dir() and (Path(ref) / INFO).is_file():
        run = RunDir(Path(ref).resolve())
    else:
        matches = [r for r in list_runs(root) if r.run_id == ref]
        if not matches:
            recent = ", ".join(r.run_id for r in candidates[-5:]) or "none"
            raise DteError(f"No run '{ref}' under '{root}'. Recent runs"
                           f"{f' of {science}' if science else ''}: {recent}. "
                           f"`dte runs list` shows them all; --resume latest takes the newest.")
        run = matches[-1]
    owner = run.info().get("science")
    if science and owner != science:
        raise DteError(f"Run '{run.run_id}' belongs to the science '{owner}', not '{science}'. "
                       f"Resume it with `dte train {owner} --resume {run.run_id}`.")
    return run


def list_runs(root: Path, science: str | None = None) -> list[RunDir]:
    """Every run under `root` (of one science), oldest first."""
    if not root.is_dir():
        return []
    pattern = f"{science}/*/{INFO}" if science else f"*/*/{INFO}"
    return sorted((RunDir(p.parent) for p in root.glob(pattern)), key=_creation)


def _creation(run: RunDir) -> tuple[str, str]:
    """Sort key of `latest`: when the run was created (not its id: a tune trial's id starts
    with the study name), then its id."""
    return str(run.info().get("created", "")), run.run_id


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _find_upwards(name: str) -> Path | None:
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / name).is_file():
            return folder / name
    return None


def provenance(engine: dict[str, Any], command: list[str] | None = None,
               cluster: cluster_env.ClusterEnv | None = None) -> dict[str, Any]:
    """The manifest around `engine` (framework versions and devices): code, host, launch."""
    lock = _find_upwards("uv.lock")
    commit = _git("rev-parse", "HEAD")
    return {
        "created": _now(),
        "command": shlex.join(command or sys.argv),
        "git": {"commit": commit,
                "dirty": bool(_git("status", "--porcelain")) if commit else None},
        "uv_lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest() if lock else None,
        "python": platform.python_version(),
        **engine,
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cluster": (cluster or cluster_env.detect()).as_dict(),
        "launch_variables": cluster_env.recorded_variables(),
    }
