"""What a training step may do: back-propagate and step an optimizer, with accumulation,
clipping and gradient scaling handled the same way for every strategy."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from dte_core.torch.strategies.base import Strategy
    from dte_core.torch.task import Optimization


class StepContext:
    """Handed to `Task.training_step`; one per micro-batch."""

    def __init__(self, strategy: Strategy, optimization: Optimization, scaler: Any,
                 grad_clip: float | None, accumulate: int, nonfinite: str = "stop") -> None:
        from dte_core.loop import NonFiniteGuard

        # an engine that accumulates and steps itself cannot leave one rank's step out
        self.guard = NonFiniteGuard(nonfinite, can_skip=not strategy.native_accumulation)
        self.strategy = strategy
        self.optimization = optimization
        self.scaler = scaler
        self.grad_clip = grad_clip
        self.accumulate = accumulate
        self.epoch = 0
        self.step = 0  # optimizer steps done so far
        self.micro_step = 0  # index of this micro-batch within the accumulation window
        self.optimized: list[str] = []
        self.skipped = False  # this optimizer step was left out (train.nonfinite=skip)
        #: steps check only their loss (`stop`, one process, no fp16 scaler); the weights
        #: are then checked before each checkpoint
        self.loss_only = (self.guard.policy == "stop" and strategy.world_size == 1
                          and scaler is None and not strategy.native_accumulation)
        self.last_loss: float | None = None  # the loss value `loss_only` steps read

    @property
    def device(self) -> torch.device:
        return self.strategy.device


    @property
    def syncing(self) -> bool:
        """Whether this micro-batch ends an accumulation window (the optimizer steps)."""
        return self.micro_step == self.accumulate - 1

    def begin(self, epoch: int, step: int, micro_step: int) -> None:
        """Prepare for the next micro-batch."""
        self.epoch, self.step, self.micro_step = epoch, step, micro_step
        self.optimized = []
        self.last_loss = None
        if micro_step == 0:
            self.skipped = False

    def optimize(self, name: str, loss: torch.Tensor) -> None:
        """Back-propagate `loss` for optimizer `name`; at the window's end clip and step it."""
        optimizers = self.optimization.optimizers
        if name not in optimizers:
            from dte_core.errors import DteError

            raise DteError(f"ctx.optimize('{name}', ...) names no optimizer of this task; its "
                           f"optimizers are: {', '.join(optimizers)}.")
        optimizer = optimizers[name]
        strategy = self.strategy
        native = strategy.native_accumulation
        scaled = loss / self.accumulate if self.accumulate > 1 and not native else loss
        if self.scaler is not None:
            scaled = self.scaler.scale(scaled)
        strategy.backward(scaled, name)
        self.optimized.append(name)
        if native:  # the engine steps at its own accumulation boundary
            self._check_loss(loss)
            strategy.step(name, optimizer)
        elif self.loss_only:
            self._check_loss(loss)
            if not self.syncing:
                return
            self._clip_and_step(name, optimizer)
        elif not self.syncing:
            return
        else:
            self._clip_and_step(name, optimizer)
        if self.syncing and self.optimization.scheduler_interval == "step" and \
                name in self.optimization.schedulers:
            self.optimization.schedulers[name].step()

    def _check_loss(self, loss: torch.Tensor) -> None:
        """A non-finite loss stops the run (one scalar read per micro-batch: the policy
        `stop` needs no gradient norm, which would cost a reduction over every gradient)."""
        if loss.dim() == 0:
            self.last_loss = loss.item()
            finite = math.isfinite(self.last_loss)
        else:
            import torch

            finite = bool(torch.isfinite(loss.detach()).all())
        if not finite:
            self.guard.skip(self.step + 1, f"the loss is {loss.detach().float().sum().item()}")
        self.guard.finite()

    def _finite_gradients(self, name: str, optimizer: Any) -> bool:
        """Whether the (synchronized) gradients of `optimizer` are finite; a non-finite
        step stops the run or, with train.nonfinite=skip, is dropped. fp16's grad scaler
        already skips overflowing steps itself."""
        import torch

        if self.scaler is not None:
            return True
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]
                 if p.grad is not None]
        # the largest |g|, not the 2-norm: huge but finite gradients must not overflow a sum
        norm = torch.nn.utils.get_total_norm(grads, float("inf")) if grads else None
        if norm is None or bool(torch.isfinite(norm)):
            self.guard.finite()
            return True
        self.guard.skip(self.step + 1, f"the gradient norm of optimizer '{name}' is "
                                       f"{norm.item()}")
        return False

    def _clip_and_step(self, name: str, optimizer: Any) -> None:
        # several processes decide on the synchronized gradients, so that all of them agree;
        # one process alone checked its loss (cheaper) and checks its weights at checkpoints
        if not self.loss_only and not self._finite_gradients(name, optimizer):
            optimizer.zero_grad(set_to_none=True)
            self.skipped = True
            return
        if self.grad_clip is not None and not self.strategy.clips_gradients:
            import torch

            if self.scaler is not None:
                self.scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(optimizer)
        else:
            self.strategy.step(name, optimizer)
        optimizer.zero_grad(set_to_none=True)
