"""Backends turn one resource request into processes (local now; SLURM next)."""
