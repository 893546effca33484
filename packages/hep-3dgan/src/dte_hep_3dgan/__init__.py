"""dte science: fast calorimeter-shower simulation with the 3DGAN conditional GAN."""

from dte_hep_3dgan.science import Hep3DGAN

science = Hep3DGAN()

__all__ = ["science", "Hep3DGAN"]
