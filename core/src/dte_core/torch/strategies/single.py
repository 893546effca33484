"""One process on the CPU or one CUDA device."""

from __future__ import annotations

from dte_core.strategies import register
from dte_core.torch.strategies.base import Strategy


@register("single")
class SingleDevice(Strategy):
    """No distribution: the model runs where it is."""

    def setup(self) -> None:
        import torch

        if self.env.distributed:
            from dte_core.errors import ConfigError

            raise ConfigError(
                f"The `single` strategy runs one process, but this is rank {self.rank} of "
                f"{self.world_size}. Use --strategy ddp (or auto) with several processes."
            )
        self.device = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)

    def wrap(self, model):
        return model.to(self.device)
