"""The virgo-gw science object registered under the `dte.sciences` entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dte_core.science import Science

if TYPE_CHECKING:
    from pydantic import BaseModel


class VirgoGW(Science):
    """Reconstruct glitch noise in Virgo's strain channel from auxiliary-channel Q-transforms."""

    name = "virgo-gw"
    distribution = "dte-virgo-gw"
    framework = "torch"
    summary = "Virgo glitch-noise subtraction from auxiliary channels (Q-transform denoiser)"

    def config_class(self) -> type[BaseModel]:
        """The virgo-gw configuration model."""
        from dte_virgo_gw.config import VirgoConfig

        return VirgoConfig
