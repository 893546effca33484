"""Trained models of a run, rebuilt from the science package and loaded without unpickling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dte_core import checkpoint, rundir, sciences
from dte_core import config as config_layer
from dte_core.errors import DteError
from dte_core.science import Science


def load(run_path: Path, which: str | None = None, device: str = "cpu"
         ) -> tuple[Science, Any, dict[str, Any]]:
    """(science, config, models in eval mode) of a run's checkpoint: `last` (default), `best`
    (by train.checkpoint.best_monitor) or a checkpoint folder."""
    run = rundir.RunDir(run_path)
    science = sciences.load(run.info().get("science", ""))
    if science.framework == "tensorflow":
        from dte_core.optional import require

        return require("dte_core.keras.trained", extra="tensorflow").load(run_path, which)
    import torch

    config = config_layer.resolve(science.Config, run.config_path)
    ckpt = checkpoint.select_of_run(run, which)
    checkpoint.verify(ckpt)
    states = torch.load(ckpt / "state.pt", map_location=device, weights_only=True)
    task = science.task(config)
    models = task.configure_models()
    for name, model in models.items():
        if name not in states.get("models", {}):
            raise DteError(f"Checkpoint '{ckpt}' has no weights for the model '{name}' "
                           f"(it has: {', '.join(states.get('models', {}))}).")
        model.load_state_dict(states["models"][name])
        model.to(device).eval()
    return science, config, models
