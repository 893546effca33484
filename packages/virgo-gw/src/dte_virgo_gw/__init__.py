"""dte science: Virgo glitch-noise subtraction from auxiliary channels."""

from dte_virgo_gw.science import VirgoGW

science = VirgoGW()

__all__ = ["science", "VirgoGW"]
