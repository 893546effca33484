"""Trained Keras models of a run, rebuilt by the science and loaded from .weights.h5 files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dte_core import checkpoint, rundir, sciences
from dte_core import config as config_layer
from dte_core.keras import checkpoint as keras_checkpoint
from dte_core.science import Science


def load(run_path: Path, which: str | None = None) -> tuple[Science, Any, dict[str, Any]]:
    """(science, config, models) of a run's checkpoint: `last` (default), `best` or a folder."""
    run = rundir.RunDir(run_path)
    science = sciences.load(run.info().get("science", ""))
    config = config_layer.resolve(science.Config, run.config_path)
    ckpt = checkpoint.select_of_run(run, which)
    keras_checkpoint.check(ckpt)
    from dte_core.keras.runtime import keras

    keras().utils.set_random_seed(config.train.seed)
    models = science.task(config).configure_models()
    keras_checkpoint.load_models(ckpt, models)
    return science, config, models
