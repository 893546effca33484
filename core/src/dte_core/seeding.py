"""Seeds derived from one base seed, keyed by purpose (model, data, rank)."""

from __future__ import annotations

import hashlib

import numpy as np


def derive(base: int, *purpose: str | int) -> int:
    """A 32-bit seed for `purpose` (e.g. "data", epoch) from the base seed, stable across runs."""
    key = [int(hashlib.sha256(str(p).encode()).hexdigest()[:8], 16) for p in purpose]
    return int(np.random.SeedSequence([base, *key]).generate_state(1)[0])
