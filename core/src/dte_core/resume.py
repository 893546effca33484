"""Resuming a run, in one place: open it, pick and verify its checkpoint, layer new settings
over its saved config while the keys that may not change stay locked, and record the resume."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dte_core import checkpoint, ownership, rundir
from dte_core import config as config_layer
from dte_core.errors import ConfigError

#: config sections that must not change when a run is resumed (the weights belong to them)
LOCKED_ON_RESUME = ("model",)


@dataclass(frozen=True)
class Resumed:
    """A run about to continue: its folder, the checkpoint and the config it continues with."""

    run: rundir.RunDir
    checkpoint: Path
    config: Any
    changed: bool  # a new --config or --set layered over the saved config
    skipped: list[Path] = field(default_factory=list)  # newer checkpoints that did not verify


def warn(text: str) -> None:
    print(f"Warning: {text}", file=sys.stderr, flush=True)


def checkpoint_of(run: rundir.RunDir, skipped: list[Path] | None = None) -> Path | None:
    """The checkpoint a resume of `run` continues from: its newest one that verifies (each
    newer one is warned about and added to `skipped`), or None."""
    def skip(folder: Path, reason: str) -> None:
        warn(f"run {run.run_id}: skipping checkpoint {folder.name}, which does not verify "
             f"({reason}); continuing from an earlier one.")
        if skipped is not None:
            skipped.append(folder)

    return checkpoint.newest_verified(run.checkpoints, skip)


def open_run(root: Path, ref: str, science: Any, config_file: Path | None = None,
             overrides: Iterable[str] = ()) -> Resumed:
    """The run `ref` (id, folder or `latest`) of `science`, ready to continue; errors name
    the fix (no checkpoint, a corrupt one, a changed model configuration)."""
    run = rundir.find(root, ref, science.name, resumable=True)
    ownership.check_free(run)  # before reading checkpoints its owner may be pruning
    overrides = list(overrides)
    saved = config_layer.resolve(science.Config, run.config_path)
    cfg = saved
    if config_file or overrides:
        data = config_layer.load_yaml(run.config_path)
        if config_file is not None:
            config_layer.merge(data, config_layer.load_yaml(config_file))
        for item in overrides:
            config_layer.apply_override(science.Config, data, item)
        cfg = config_layer.validate(science.Config, data)
        check_locked(saved.model_dump(mode="json"), cfg.model_dump(mode="json"))
    skipped: list[Path] = []
    ckpt = checkpoint_of(run, skipped)
    if ckpt is None:
        damaged = f" ({len(skipped)} damaged, named above)" if skipped else ""
        raise ConfigError(f"Run '{run.run_id}' has no complete checkpoint to resume from"
                          f"{damaged} (looked in {run.checkpoints}). Start a new run instead.")
    return Resumed(run, ckpt, cfg, bool(config_file or overrides), skipped)


def check_locked(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Refuse to resume with a changed model configuration, naming the keys."""
    old, new = _leaves(before), _leaves(after)
    changed = sorted(k for k in set(old) | set(new)
                     if k.split(".")[0] in LOCKED_ON_RESUME and old.get(k) != new.get(k))
    if changed:
        details = "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
        raise ConfigError(
            f"Cannot resume with a changed model configuration ({details}): the checkpoint's "
            f"weights belong to the old model. Drop those overrides to resume, or start a new "
            f"run with them."
        )


def record(resumed: Resumed, config_yaml: str, command: list[str], **info: Any) -> None:
    """Note the resume in run.json; a changed config replaces config.yaml, the previous one
    is kept as config.<n>.yaml."""
    run = resumed.run
    for damaged in resumed.skipped:  # a new checkpoint at the same step must not meet it
        if damaged.is_dir():
            warn(f"moved {damaged.name} aside to {checkpoint.set_aside(damaged).name}")
    if resumed.changed:
        n = 1
        while (run.path / f"config.{n}.yaml").exists():
            n += 1
        (run.path / f"config.{n}.yaml").write_text(run.config_path.read_text())
        run.config_path.write_text(config_yaml)
    resumes = run.info().get("resumes", [])
    run.update(command=command, **info,
               resumes=[*resumes, {"checkpoint": resumed.checkpoint.name, "command": command}])


def _leaves(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in config_layer.dotted_keys(data):
        value: Any = data
        for part in key.split("."):
            value = value[part]
        out[key] = value
    return out
