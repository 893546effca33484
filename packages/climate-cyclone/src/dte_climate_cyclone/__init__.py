"""dte science: tropical-cyclone localisation in CMIP6/ERA5-style fields."""

from dte_climate_cyclone.science import ClimateCyclone

science = ClimateCyclone()

__all__ = ["science", "ClimateCyclone"]
