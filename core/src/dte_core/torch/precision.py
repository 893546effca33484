"""Mixed precision: autocast contexts and the fp16 gradient scaler."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from dte_core.errors import ConfigError

if TYPE_CHECKING:
    import torch


class Precision:
    """fp32, bf16 autocast (CPU or CUDA) or fp16 autocast with gradient scaling (CUDA)."""

    def __init__(self, mode: str, device: torch.device) -> None:
        import torch

        if mode == "fp16" and device.type != "cuda":
            raise ConfigError(
                "train.precision=fp16 needs a CUDA device, and this run is on the CPU. Use "
                "--set train.precision=bf16 (CPU autocast) or 32."
            )
        self.mode, self.device = mode, device
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mode)
        self.scaler = torch.amp.GradScaler("cuda") if mode == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager:
        """Context for forward passes."""
        if self.dtype is None:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(self.device.type, dtype=self.dtype)

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
