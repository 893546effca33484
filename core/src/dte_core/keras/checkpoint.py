"""Keras checkpoints in the layout of dte_core.checkpoint, readable without TensorFlow.

One checkpoint, `checkpoints/step-00000120/`:
  meta.json               step, epoch, position in the epoch, seed, sizes and sha256 of each file
  model-NAME.weights.h5   Keras weights of each model
  optimizer-NAME.npz      every variable of each optimizer (iterations, moments), in order
  trainer.json            early-stopping and best-checkpoint bookkeeping
The chief assembles it under a temporary name and renames it when complete; the other workers
wait at a barrier, so no process leaves (or exits 75) before the checkpoint exists.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dte_core.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    Position,
    name_for,
    publish,
    verify,
    write_json,
)

if TYPE_CHECKING:
    from dte_core.keras.strategies import KerasStrategy

TRAINER = "trainer.json"


def model_file(name: str) -> str:
    return f"model-{name}.weights.h5"


def optimizer_file(name: str) -> str:
    return f"optimizer-{name}.npz"


def save(root: Path, strategy: KerasStrategy, position: Position, models: Mapping[str, Any],
         optimizers: Mapping[str, Any], trainer: dict[str, Any], info: dict[str, Any],
         keep_last: int, best: bool = False) -> Path:
    """Write a checkpoint (every worker calls this; the chief writes); returns its folder."""
    final = root / name_for(position.step)
    if strategy.is_chief and not final.exists():
        tmp = root / f".tmp-{final.name}"
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name, model in models.items():
            model.save_weights(tmp / model_file(name))
        for name, optimizer in optimizers.items():
            arrays = {f"v{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
            with (tmp / optimizer_file(name)).open("wb") as handle:
                np.savez(handle, **arrays)
        write_json(tmp / TRAINER, trainer)
        publish(tmp, final, {"format": FORMAT_VERSION, "framework": "tensorflow",
                             **asdict(position), "world_size": strategy.num_workers,
                             "replicas": strategy.num_replicas, "strategy": strategy.name,
                             **info}, best, keep_last)
    strategy.barrier()
    return final


def check(directory: Path) -> dict[str, Any]:
    """Verify every file against meta.json (naming the previous good checkpoint if one is bad)."""
    meta = verify(directory)
    if meta.get("framework") != "tensorflow":
        raise CheckpointError(f"Checkpoint '{directory}' was not written by the TensorFlow path "
                              f"(framework: {meta.get('framework', 'torch')}); it cannot be "
                              f"loaded into Keras models.")
    return meta


def load_models(directory: Path, models: Mapping[str, Any]) -> None:
    """Load each model's weights (the models are built, under the strategy's scope if any)."""
    for name, model in models.items():
        path = directory / model_file(name)
        if not path.is_file():
            have = sorted(p.name for p in directory.glob("model-*.weights.h5"))
            raise CheckpointError(f"Checkpoint '{directory}' has no weights for the model "
                                  f"'{name}' (it has: {', '.join(have) or 'none'}).")
        try:
            model.load_weights(path)
        except (ValueError, OSError) as exc:
            raise CheckpointError(f"Weights '{path}' do not fit the model '{name}' ({exc}); the "
                                  f"model configuration changed since this checkpoint.") from None


def load_optimizers(directory: Path, optimizers: Mapping[str, Any]) -> None:
    """Restore every optimizer variable (the optimizers are built)."""
    for name, optimizer in optimizers.items():
        with np.load(directory / optimizer_file(name), allow_pickle=False) as saved:
            arrays = [saved[key] for key in sorted(saved.files)]
        variables = list(optimizer.variables)
        shapes = [tuple(v.shape) for v in variables]
        if [a.shape for a in arrays] != shapes:
            raise CheckpointError(f"The optimizer state '{name}' in '{directory}' has "
                                  f"{len(arrays)} variables that do not match this optimizer's "
                                  f"{len(variables)}; the optimizer configuration changed.")
        for variable, array in zip(variables, arrays, strict=True):
            variable.assign(array)


def load_trainer(directory: Path) -> dict[str, Any]:
    try:
        return json.loads((directory / TRAINER).read_text())
    except (OSError, ValueError):
        return {}
