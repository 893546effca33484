"""The Strategy interface: how models, gradients and checkpoints are spread over processes."""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dte_core.env import ClusterEnv
from dte_core.strategies import Lifecycle

if TYPE_CHECKING:
    import torch
    from torch import nn

    from dte_core.torch.task import Optimization


class Strategy(Lifecycle):
    """One engine of distribution; the Trainer talks only to this interface."""

    name: ClassVar[str]
    #: how a batch job starts the workers: one torchrun launcher per node (`torchrun`) or one
    #: scheduler task per worker (`per-task`: Horovod, native DeepSpeed); the first is default
    task_layout: ClassVar[str] = "torchrun"
    task_layouts: ClassVar[tuple[str, ...]] = ("torchrun",)
    #: what starts several local workers: `torchrun`, or the engine's own (`horovodrun`)
    launcher: ClassVar[str] = "torchrun"
    #: the engine accumulates gradients itself (step() every micro-batch, it knows boundaries)
    native_accumulation: ClassVar[bool] = False
    #: the engine clips gradients itself (from train.grad_clip)
    clips_gradients: ClassVar[bool] = False
    #: the engine runs mixed precision itself (no autocast, no grad scaler from the Trainer)
    owns_precision: ClassVar[bool] = False

    def __init__(self, env: ClusterEnv, train: Any = None) -> None:
        self.env = env
        self.train = train  # the run's TrainConfig, for engines configured from it

    @property
    def rank(self) -> int:
        return self.env.rank

    @property
    def world_size(self) -> int:
        return self.env.world_size

    @property
    def is_global_zero(self) -> bool:
        return self.env.is_global_zero

    @property
    def processes(self) -> int:
        return self.env.world_size

    @property
    def is_chief(self) -> bool:
        return self.env.is_global_zero

    @abstractmethod
    def setup(self) -> None:
        """Join the process group (if any) and choose `self.device`."""

    device: torch.device

    @abstractmethod
    def wrap(self, model: nn.Module) -> nn.Module:
        """The model as the training step should call it (e.g. inside DDP)."""

    def unwrap(self, model: nn.Module) -> nn.Module:
        """The plain module inside whatever `wrap` (and torch.compile) added."""
        inner = getattr(model, "_orig_mod", model)
        inner = getattr(inner, "module", inner)
        return getattr(inner, "_orig_mod", inner)

    def no_sync(self, models: Mapping[str, nn.Module]) -> contextlib.AbstractContextManager:
        """Skip gradient synchronisation (accumulation micro-steps); a no-op by default."""
        return contextlib.nullcontext()

    def prepare(self, models: dict[str, nn.Module], optimization: Optimization,
                accumulate: int, micro_batch: int = 1) -> dict[str, nn.Module]:
        """After models are wrapped and optimizers built: engines that own the optimizer
        (DeepSpeed, Horovod) replace what they need; returns the models to train."""
        return models

    def backward(self, loss: torch.Tensor, name: str | None = None) -> None:
        """Back-propagate `loss` (of the optimizer `name`)."""
        loss.backward()

    def step(self, name: str, optimizer: torch.optim.Optimizer) -> None:
        """Apply the optimizer `name`."""
        optimizer.step()

    def all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        """Reduce `tensor` over all processes in place (`sum` or `max`) and return it."""
        return tensor

    def barrier(self) -> None:
        """Wait until every process gets here."""

    def comm_seconds(self) -> float | None:
        """Seconds of gradient communication since the last call; None where not measured."""
        return None

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's `obj` on every process."""
        return obj

    def save_states(self, directory: Path, states: dict[str, Any]) -> list[str]:
        """Write the shared training state into `directory`; returns the files written.

        The default writes one `state.pt` from rank 0 (replicated data parallelism)."""
        if not self.is_global_zero:
            return []
        from dte_core.torch.checkpoint import write

        write(states, directory / "state.pt")
        return ["state.pt"]

    def load_states(self, directory: Path) -> dict[str, Any]:
        """Read what `save_states` wrote, never unpickling arbitrary objects."""
        import torch

        return torch.load(directory / "state.pt", map_location=self.device, weights_only=True)

