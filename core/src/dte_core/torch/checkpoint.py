"""Torch checkpoints in the layout of dte_core.checkpoint.

Beside `meta.json`, one checkpoint holds:
  state.pt          models, optimizers, schedulers, grad scaler (written by the strategy)
  rng-rank{R}.pt    python, numpy, torch and CUDA random states of rank R
Every rank writes its part into the temporary folder; rank 0 seals it (dte_core.checkpoint.
publish) once all have, so no process leaves before the checkpoint exists.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dte_core.checkpoint import FORMAT_VERSION, CheckpointError, Position, name_for, publish, verify

if TYPE_CHECKING:
    from dte_core.torch.strategies.base import Strategy


def rng_state() -> dict[str, Any]:
    """Every random state of this process, as tensors and plain data (weights_only-safe)."""
    import torch

    version, mt, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(mt), "gauss": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "cached": cached},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` captured."""
    import torch

    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def write(obj: Any, path: Path) -> None:
    """torch.save through a Python file, so a full or read-only disk raises OSError with its
    errno (torch's own writer reports only an internal RuntimeError)."""
    import torch

    with path.open("wb") as handle:
        torch.save(obj, handle)


def save(root: Path, strategy: Strategy, position: Position, states: dict[str, Any],
         info: dict[str, Any], keep_last: int, best: bool = False) -> Path:
    """Write a checkpoint collectively (every rank calls this); returns its directory."""

    final = root / name_for(position.step)
    tmp = root / f".tmp-{final.name}"
    if strategy.is_global_zero:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    strategy.barrier()
    if final.exists():  # already written at this step (an epoch end that is also a signal stop)
        strategy.barrier()
        return final
    write(rng_state(), tmp / f"rng-rank{strategy.rank}.pt")
    strategy.save_states(tmp, states)
    strategy.barrier()
    if strategy.is_global_zero:
        publish(tmp, final, {"format": FORMAT_VERSION, **asdict(position),
                             "world_size": strategy.world_size, "strategy": strategy.name,
                             **info}, best, keep_last)
    strategy.barrier()
    return final



def load(directory: Path, strategy: Strategy) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify and read a checkpoint: (meta, states); restores this rank's random state."""
    import torch

    meta = verify(directory)
    try:
        states = strategy.load_states(directory)
        rng_file = directory / f"rng-rank{strategy.rank}.pt"
        rng = torch.load(rng_file, weights_only=True) if rng_file.is_file() else None
    except Exception as exc:  # torch raises several types for damaged archives
        raise CheckpointError(f"Checkpoint '{directory}' cannot be loaded: {exc}") from None
    if rng is not None:
        set_rng_state(rng)
    return meta, states
