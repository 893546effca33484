"""The climate-cyclone science object registered under the `dte.sciences` entry point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dte_core.science import Science

if TYPE_CHECKING:
    from pydantic import BaseModel

class ClimateCyclone(Science):
    """Detect and track every tropical-cyclone centre in gridded atmospheric fields."""

    name = "climate-cyclone"
    distribution = "dte-climate-cyclone"
    framework = "tensorflow"
    summary = ("Tropical-cyclone centre detection and tracking in gridded fields (VGG-like "
               "heat-map CNN, TensorFlow)")
    contract = 2
    key_metrics = ("val/f1", "val/centre_err_cells")
    constant_metrics = ("val/baseline_*",)

    def config_class(self) -> type[BaseModel]:
        """The climate-cyclone configuration model."""
        from dte_climate_cyclone.config import CycloneConfig

        return CycloneConfig

    def input_example(self, config: Any) -> dict[str, tuple[Any, ...]]:
        """One patch of a quiet tropical atmosphere (typical values per variable, SI units)."""
        import numpy as np

        typical = {"psl": 101000.0, "sfcWind": 8.0, "uas": 5.0, "vas": -3.0, "ta500": 268.0,
                   "ta300": 240.0}
        size = config.data.patch_size
        values = [typical.get(v, 0.0) for v in config.data.variables]
        patch = np.broadcast_to(np.asarray(values, np.float32), (1, size, size, len(values)))
        return {"net": (np.ascontiguousarray(patch),)}

    def search_space(self) -> dict[str, Any]:
        """`dte tune climate-cyclone`'s default search: learning rate, decay, depth, dropout
        and the weight of the cells near a centre in the loss."""
        return {"optim.lr": {"low": 1e-4, "high": 3e-3, "log": True},
                "optim.weight_decay": {"low": 1e-6, "high": 1e-3, "log": True},
                "model.convs_per_block": {"choices": [1, 2]},
                "model.dropout": {"low": 0.0, "high": 0.5},
                "loss.centre_weight": {"low": 2.0, "high": 40.0, "log": True}}

    def generate(self, config: Any, out: Path) -> dict[str, Any]:
        """Synthetic fields (zarr v3 or netCDF), IBTrACS tracks and statistics."""
        from dte_climate_cyclone.generate import generate

        return generate(config, out)

    def prepare(self, config: Any, sources: list[Path], out: Path) -> dict[str, Any]:
        """Real fields (CMIP6/ERA5 netCDF or zarr) and IBTrACS tracks as a native dataset."""
        from dte_climate_cyclone.prepare import prepare

        return prepare(config, sources, out)

    def check(self, config: Any, paths: list[Path]) -> list[tuple[str, str]]:
        """Fields (variables, shapes, units, calendars, time span) and tracks, read as
        training would, and whether and how dte reads them."""
        from dte_climate_cyclone.check import check

        return check(config, paths)

    def task(self, config: Any) -> Any:
        from dte_climate_cyclone.task import CycloneTask

        return CycloneTask(config)

    def evaluate(self, config: Any, models: dict[str, Any], out: Path) -> dict[str, float]:
        from dte_climate_cyclone.evaluate import evaluate

        return evaluate(config, models, out)

    def predict(self, config: Any, models: dict[str, Any], output: Path,
                inputs: Path | None = None, options: dict[str, str] | None = None) -> Path:
        """Detected centres in every time step of `inputs` (a dataset folder, zarr store or
        netCDF file; default: the held-out part of the run's data), as CSV."""
        from dte_climate_cyclone.predict import predict

        return predict(config, models, output, inputs, options or {})
