"""The climate-cyclone science object registered under the `dte.sciences` entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dte_core.science import Science

if TYPE_CHECKING:
    from pydantic import BaseModel


class ClimateCyclone(Science):
    """Locate tropical-cyclone centres in patches of gridded atmospheric fields."""

    name = "climate-cyclone"
    distribution = "dte-climate-cyclone"
    framework = "tensorflow"
    summary = "Tropical-cyclone centre localisation in gridded fields (VGG-like CNN, TensorFlow)"

    def config_class(self) -> type[BaseModel]:
        """The climate-cyclone configuration model."""
        from dte_climate_cyclone.config import CycloneConfig

        return CycloneConfig
