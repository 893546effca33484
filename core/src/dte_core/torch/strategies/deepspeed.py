"""DeepSpeed: ZeRO stages 0-3, offload, bf16/fp16, DeepSpeed's own checkpoint shards.

Each model becomes a DeepSpeed engine with the optimizer of the same name; the engine owns
backward, gradient accumulation, clipping and mixed precision. Checkpoints hold DeepSpeed's
shards under `deepspeed/<model>/` (every rank writes its own) next to dte's state.pt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dte_core.errors import ConfigError
from dte_core.optional import require
from dte_core.strategies import register
from dte_core.torch.strategies.ddp import DistributedDataParallel

SHARDS = "deepspeed"


def build_config(train: Any, micro_batch: int, accumulate: int) -> dict[str, Any]:
    """The DeepSpeed JSON for dte's config, merged with a user's file; contradictions fail."""
    ds = train.deepspeed
    derived: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": micro_batch,
        "gradient_accumulation_steps": accumulate,
        "zero_optimization": {"stage": ds.zero_stage},
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if ds.offload_optimizer != "none":
        derived["zero_optimization"]["offload_optimizer"] = {"device": ds.offload_optimizer}
    if ds.offload_param != "none":
        if ds.zero_stage != 3:
            raise ConfigError("train.deepspeed.offload_param needs ZeRO stage 3 "
                              "(--set train.deepspeed.zero_stage=3).")
        derived["zero_optimization"]["offload_param"] = {"device": ds.offload_param}
    # DeepSpeed clips at 1.0 unless told otherwise: dte's null means no clipping
    derived["gradient_clipping"] = train.grad_clip if train.grad_clip is not None else 0.0
    if train.precision == "bf16":
        derived["bf16"] = {"enabled": True}
    elif train.precision == "fp16":
        derived["fp16"] = {"enabled": True}
    if ds.config_file is None:
        return derived
    try:
        user = json.loads(Path(ds.config_file).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"train.deepspeed.config_file {ds.config_file}: cannot read it as "
                          f"JSON ({exc}).") from None
    conflicts = _conflicts(user, derived)
    if conflicts:
        raise ConfigError(
            f"The DeepSpeed JSON {ds.config_file} contradicts dte's config: "
            + "; ".join(f"{key} is {mine!r} there but {ours!r} from dte ({why})"
                        for key, mine, ours, why in conflicts)
            + ". Remove those keys from the JSON (dte derives them) or change dte's config."
        )
    return _merge(user, derived)


WHY = {"train_micro_batch_size_per_gpu": "train.batch_size / processes / train.accumulate",
       "gradient_accumulation_steps": "train.accumulate",
       "zero_optimization.stage": "train.deepspeed.zero_stage",
       "gradient_clipping": "train.grad_clip",
       "bf16.enabled": "train.precision", "fp16.enabled": "train.precision",
       "train_batch_size": "train.batch_size"}


def _conflicts(user: dict[str, Any], derived: dict[str, Any]) -> list[tuple[str, Any, Any, str]]:
    found = []
    flat_derived = dict(_leaves(derived))
    flat_derived["train_batch_size"] = None  # checked separately below
    for key, value in _leaves(user):
        if key in WHY and key in flat_derived and flat_derived[key] is not None \
                and flat_derived[key] != value:
            found.append((key, value, flat_derived[key], WHY[key]))
    for key in ("bf16.enabled", "fp16.enabled"):
        if dict(_leaves(user)).get(key) is True and key not in flat_derived:
            found.append((key, True, False, WHY[key]))
    return found


def _leaves(data: dict[str, Any], prefix: str = ""):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and \
            isinstance(out.get(key), dict) else value
    out.pop("train_batch_size", None)  # DeepSpeed derives it from micro batch x gas x ranks
    return out


@register("deepspeed")
class DeepSpeed(DistributedDataParallel):
    """ZeRO data parallelism through DeepSpeed engines (torchrun or one task per GPU)."""

    native_accumulation = True
    clips_gradients = True
    owns_precision = True
    task_layouts = ("torchrun", "per-task")

    def __init__(self, env: Any, train: Any = None) -> None:
        super().__init__(env, train)
        self.engines: dict[str, Any] = {}

    def setup(self) -> None:
        import torch

        if not torch.cuda.is_available():
            os.environ.setdefault("DS_ACCELERATOR", "cpu")
        require("deepspeed", extra="deepspeed")
        super().setup()  # the process group (gloo on CPU, NCCL on CUDA) and the device

    def wrap(self, model):
        return model.to(self.device)  # the engine is made in prepare(), with its optimizer

    def prepare(self, models, optimization, accumulate, micro_batch=1):
        import deepspeed

        if self.train is None:
            raise ConfigError("The deepspeed strategy needs the train config (create it with "
                              "strategies.create('deepspeed', env, train=config.train)).")
        missing = set(optimization.optimizers) - set(models)
        if missing:
            raise ConfigError(
                f"With --strategy deepspeed each optimizer must be named after the model it "
                f"trains; optimizers {sorted(missing)} have no model of that name (models: "
                f"{', '.join(models)}).")
        config = build_config(self.train, micro_batch, accumulate)
        engines = dict(models)
        for name, optimizer in optimization.optimizers.items():
            engine, ds_optimizer, _, _ = deepspeed.initialize(
                model=models[name], optimizer=optimizer, config=config,
                dist_init_required=False)
            self.engines[name] = engine
            optimization.optimizers[name] = ds_optimizer
            engines[name] = engine
        return engines

    def backward(self, loss, name=None):
        self.engines[name].backward(loss)

    def step(self, name, optimizer):
        self.engines[name].step()

    def no_sync(self, models):
        import contextlib

        return contextlib.nullcontext()  # the engines accumulate and reduce by themselves

    def unwrap(self, model):
        return getattr(model, "module", model)

    def save_states(self, directory: Path, states: dict[str, Any]) -> list[str]:
        from dte_core.torch.checkpoint import write

        stage3 = self.train.deepspeed.zero_stage == 3
        models = dict(states["models"])
        for name, engine in self.engines.items():
            engine.save_checkpoint(str(directory / SHARDS), tag=name, save_latest=False)
            if stage3:  # gather the partitioned weights for a usable state.pt (collective)
                models[name] = engine._zero3_consolidated_16bit_state_dict()
        if not self.is_global_zero:
            return []
        handled = ["optimizers", *(["models"] if stage3 else [])]
        kept = {**states, "models": models, "optimizers": {},
                "handled_by_strategy": handled}
        write(kept, directory / "state.pt")
        return ["state.pt"]

    def load_states(self, directory: Path) -> dict[str, Any]:
        for name, engine in self.engines.items():
            # DeepSpeed unpickles its shards with weights_only=False: a copied or shared run
            # folder could run any pickle. Load them as plain tensors and data instead.
            engine.checkpoint_engine.load = safe_shard_load
            engine.load_checkpoint(str(directory / SHARDS), tag=name,
                                   load_optimizer_states=True, load_lr_scheduler_states=False)
        return super().load_states(directory)


def shard_globals() -> list[Any]:
    """The DeepSpeed types its own shards hold, allowed besides tensors and plain data."""
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    return [LossScaler, DynamicLossScaler, ZeroStageEnum, fragment_address]


def safe_shard_load(path: str, map_location: Any = None) -> Any:
    """torch.load of one DeepSpeed shard with weights_only=True and `shard_globals` allowed."""
    import pickle

    import torch

    from dte_core.errors import DteError

    try:
        with torch.serialization.safe_globals(shard_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise DteError(
            f"The DeepSpeed shard {path} holds objects that are not tensors or plain data "
            f"({str(exc).splitlines()[0][:200]}); dte does not unpickle them, since a shard from "
            f"a copied or shared run folder could run code. Resume from a checkpoint this dte "
            f"wrote, or start the run again.") from None
