"""Checkpoint folders of every engine: sealed atomically with a manifest, verified on load,
selected (last, best, by name), the last K kept. Readable without torch or TensorFlow.

One checkpoint, `checkpoints/step-00000120/`, holds `meta.json` (step, epoch, position in the
epoch, seed, sizes and sha256 of every file) beside what the engine wrote (dte_core.torch.
checkpoint, dte_core.keras.checkpoint). The folder is assembled under a temporary name and
renamed when complete, so a folder with the final name is always whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dte_core.errors import DteError

PREFIX = "step-"
#: the only folder names that are checkpoints (`step-00000024.corrupt` is not one)
NAME = re.compile(r"step-\d{8}")
META = "meta.json"
BEST = "best.json"
FORMAT_VERSION = 1


class CheckpointError(DteError):
    """A checkpoint that is missing, truncated or corrupt."""


@dataclass
class Position:
    """Where training stands: optimizer steps done, epoch, global batches done in the epoch."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0


def name_for(step: int) -> str:
    return f"{PREFIX}{step:08d}"


def complete(root: Path) -> list[Path]:
    """Checkpoint directories under `root` that were fully written, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir()
             if NAME.fullmatch(p.name) and p.is_dir() and (p / META).is_file()]
    return sorted(found, key=lambda p: p.name)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def publish(tmp: Path, final: Path, meta: dict[str, Any], best: bool, keep_last: int) -> None:
    """Seal a fully written checkpoint folder: meta.json with every file's sha256, an atomic
    rename to its final name, the best marker, and the pruning of older checkpoints."""
    root = final.parent
    files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    meta = {**meta, "files": {f: {"bytes": (tmp / f).stat().st_size, "sha256": sha256(tmp / f)}
                              for f in files}}
    write_json(tmp / META, meta)
    fsync_dir(tmp)
    os.rename(tmp, final)
    if best:
        write_json(root / BEST, {"checkpoint": final.name, "val": meta.get("val", {})})
    fsync_dir(root)
    keep = best_checkpoint(root)
    for old in complete(root)[:-keep_last]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def read_meta(directory: Path) -> dict[str, Any]:
    """The checkpoint's meta.json (readable without torch)."""
    try:
        return json.loads((directory / META).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"Checkpoint '{directory}' has no readable {META} ({exc}).") from None


def verify(directory: Path) -> dict[str, Any]:
    """Check every file against meta.json; a mismatch names the file and the previous
    complete checkpoint of the same run to fall back to."""
    earlier = [p for p in complete(directory.parent) if p.name < directory.name]
    previous = earlier[-1] if earlier else None
    meta = read_meta(directory)
    for name, expected in meta.get("files", {}).items():
        path = directory / name
        problem = None
        if not path.is_file():
            problem = "is missing"
        elif path.stat().st_size != expected["bytes"]:
            problem = (f"has {path.stat().st_size} bytes instead of {expected['bytes']} "
                       f"(truncated or overwritten)")
        elif sha256(path) != expected["sha256"]:
            problem = "does not match its recorded sha256 (corrupt)"
        if problem:
            fallback = (f"The previous checkpoint is '{previous}': move '{directory}' aside "
                        f"(e.g. mv {directory} {directory}.corrupt; only step-NNNNNNNN folders "
                        f"count) and try again to continue from it." if previous else
                        "There is no earlier checkpoint in this run to fall back to.")
            raise CheckpointError(f"Checkpoint file '{path}' {problem}. {fallback}")
    return meta


def newest_verified(root: Path, skipped: Any = None) -> Path | None:
    """The newest checkpoint under `root` whose files match its meta.json; `skipped(folder,
    reason)` is called for each newer one that does not."""
    for candidate in reversed(complete(root)):
        try:
            verify(candidate)
        except CheckpointError as exc:
            if skipped is not None:
                skipped(candidate, str(exc).split(". ")[0])
            continue
        return candidate
    return None


def set_aside(directory: Path) -> Path:
    """Rename a damaged checkpoint to `<name>.corrupt[.N]`, out of the way of a new one."""
    target, n = directory.with_name(f"{directory.name}.corrupt"), 1
    while target.exists():
        n += 1
        target = directory.with_name(f"{directory.name}.corrupt.{n}")
    directory.rename(target)
    return target


def best_checkpoint(root: Path) -> Path | None:
    """The checkpoint marked best by train.checkpoint.best_monitor, if it still exists."""
    try:
        name = json.loads((root / BEST).read_text())["checkpoint"]
    except (OSError, ValueError, KeyError):
        return None
    path = root / name
    return path if (path / META).is_file() else None


def select_of_run(run: Any, which: str | None) -> Path:
    """`select` in a run's checkpoints; a run without any is an error naming the fix."""
    found = select(run.checkpoints, which)
    if found is None:
        science = run.info().get("science", "SCIENCE")
        raise DteError(f"Run '{run.run_id}' has no complete checkpoint (looked in "
                       f"{run.checkpoints}); train it first (dte train {science}) or pick "
                       f"another run.")
    return found


def select(root: Path, which: str | None) -> Path | None:
    """A checkpoint by `last` (default), `best` or a folder path/name."""
    if which in (None, "last", "latest"):
        return latest(root)
    if which == "best":
        return best_checkpoint(root) or latest(root)
    path = Path(which) if Path(which).is_dir() else root / which
    if not (path / META).is_file():
        names = ", ".join(p.name for p in complete(root)) or "none"
        raise CheckpointError(f"No checkpoint '{which}' in {root}; there are: {names} "
                              f"(or use last / best).")
    return path


def latest(root: Path) -> Path | None:
    """The newest complete checkpoint under `root`, or None."""
    found = complete(root)
    return found[-1] if found else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    with path.open("w") as handle:
        json.dump(data, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
