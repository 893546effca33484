"""Trained models of a run, rebuilt from the science package by its engine, never unpickled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dte_core import checkpoint, datasig, rundir, sciences
from dte_core import config as config_layer
from dte_core import engine as engines
from dte_core.science import Science


def load(run_path: Path, which: str | None = None, device: str = "cpu"
         ) -> tuple[Science, Any, dict[str, Any]]:
    """(science, config, models for inference) of a run's checkpoint: `last` (default), `best`
    (by train.checkpoint.best_monitor) or a checkpoint folder."""
    run = rundir.RunDir(run_path)
    science = sciences.load(run.info().get("science", ""))
    config = datasig.attach(config_layer.resolve(science.Config, run.config_path), run_path)
    ckpt = checkpoint.select_of_run(run, which)
    return science, config, engines.of(science).load_checkpoint(science, config, ckpt, device)
