"""The training data: showers streamed from a file with the 3DGAN preprocessing.

Preprocessing (configurable under `data.`): cells below `cell_threshold` GeV are zeroed, then
deposits become (deposit_scale * E_cell) ** power (the power law compresses the five decades
between a shower's core and its halo). The primary energy stays in GeV and the angle in
radians; the task scales them (`energy_scale`) when they condition the networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from dte_core.errors import DteError

from dte_hep_3dgan.files import ShowerFile

if TYPE_CHECKING:
    import torch

    from dte_hep_3dgan.config import DataConfig


@dataclass(frozen=True)
class Transform:
    """Cell deposits in GeV <-> the network's representation."""

    threshold: float = 1e-6
    scale: float = 1.0
    power: float = 0.85

    @classmethod
    def of(cls, data: DataConfig) -> Transform:
        return cls(data.cell_threshold, data.deposit_scale, data.power)

    def forward(self, gev: np.ndarray) -> np.ndarray:
        """GeV -> network space (numpy); the power is taken only where cells are hit (a few
        percent of them), which makes this several times faster than on the whole array."""
        out = np.zeros(gev.shape, dtype=np.float32)
        hit = gev >= self.threshold
        out[hit] = np.power(gev[hit].astype(np.float32) * np.float32(self.scale),
                            np.float32(self.power))
        return out

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """Network space -> GeV (torch, differentiable; negative values count as zero)."""
        return x.clamp(min=0).pow(1.0 / self.power) / self.scale


def split(events: int, val_fraction: float) -> tuple[range, range]:
    """(train, validation) indices: the validation showers are the file's last ones."""
    n_val = max(1, round(events * val_fraction))
    if events - n_val < 1:
        raise DteError(f"The shower file has {events} shower(s): too few to hold out "
                       f"{n_val} for validation and train on the rest. Use more showers.")
    return range(0, events - n_val), range(events - n_val, events)


class ShowerDataset:
    """Map-style torch dataset over some showers of a file; reads each shower on demand.

    Items: {"ecal": (1, 51, 51, 25) float32 in network space, "energy": GeV, "theta": rad,
    "deposit": the shower's total GeV after the threshold, "index": position in the file}."""

    def __init__(self, file: ShowerFile, indices: range | np.ndarray, transform: Transform):
        self.file, self.indices, self.transform = file, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> dict[str, Any]:
        import torch

        index = int(self.indices[item])
        gev = self.file.read(index)
        if not np.isfinite(gev).all():
            bad = int((~np.isfinite(gev)).sum())
            raise DteError(f"Shower {index} of '{self.file.path}' has {bad} NaN or infinite "
                           f"cell(s). Remove or repair that shower; every cell must be a "
                           f"finite deposit in GeV.")
        kept = self.transform.forward(gev)
        deposit = float(gev[gev >= self.transform.threshold].sum(dtype=np.float64))
        return {"ecal": torch.from_numpy(kept[None]),
                "energy": torch.tensor(self.file.energy[index], dtype=torch.float32),
                "theta": torch.tensor(self.file.theta[index], dtype=torch.float32),
                "deposit": torch.tensor(deposit, dtype=torch.float32),
                "index": torch.tensor(index)}


def open_split(path: Path, data: DataConfig, which: str) -> ShowerDataset:
    """The `which` ('train' or 'val') split of the file at `path`."""
    file = ShowerFile(path, data.root_cache_mb, data)
    train, val = split(file.events, data.val_fraction)
    return ShowerDataset(file, train if which == "train" else val, Transform.of(data))
