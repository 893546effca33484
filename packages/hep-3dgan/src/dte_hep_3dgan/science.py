"""The hep-3dgan science object registered under the `dte.sciences` entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dte_core.science import Science

if TYPE_CHECKING:
    from pydantic import BaseModel


class Hep3DGAN(Science):
    """Generate electromagnetic calorimeter showers conditioned on energy and angle."""

    name = "hep-3dgan"
    distribution = "dte-hep-3dgan"
    framework = "torch"
    summary = "Fast ECAL shower simulation with the 3DGAN conditional GAN"

    def config_class(self) -> type[BaseModel]:
        """The hep-3dgan configuration model."""
        from dte_hep_3dgan.config import Hep3DGANConfig

        return Hep3DGANConfig
