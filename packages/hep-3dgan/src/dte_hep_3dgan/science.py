"""The hep-3dgan science object registered under the `dte.sciences` entry point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dte_core.science import Science

if TYPE_CHECKING:
    from pydantic import BaseModel


class Hep3DGAN(Science):
    """Generate electromagnetic calorimeter showers conditioned on energy and angle."""

    name = "hep-3dgan"
    distribution = "dte-hep-3dgan"
    framework = "torch"
    summary = "Fast ECAL shower simulation with the 3DGAN conditional GAN"
    contract = 2
    #: the physics targets of issue 17, named alike in training (`val/`) and in evaluate
    key_metrics = ("val/longitudinal_max_rel_diff", "val/transverse_x_max_rel_diff",
                   "val/transverse_y_max_rel_diff", "val/deposit_ratio_max_rel_diff",
                   "val/occupancy_rel_diff", "val/target_ratio")
    #: what `dte tune` optimises: the physics of the showers, not a GAN loss
    tune_metric = "val/profile_max_rel_diff"
    tune_direction = "minimize"

    def config_class(self) -> type[BaseModel]:
        """The hep-3dgan configuration model."""
        from dte_hep_3dgan.config import Hep3DGANConfig

        return Hep3DGANConfig

    def search_space(self) -> dict[str, Any]:
        """`dte tune hep-3dgan`'s default search: the two learning rates and the weights of
        the physics terms of the multi-loss."""
        return {"optim.generator_lr": {"low": 1e-4, "high": 3e-3, "log": True},
                "optim.discriminator_lr": {"low": 1e-5, "high": 1e-3, "log": True},
                "loss.deposit": {"low": 5.0, "high": 50.0, "log": True},
                "loss.profile": {"low": 0.5, "high": 8.0, "log": True},
                "model.dropout": {"low": 0.0, "high": 0.4}}

    def generate(self, config: Any, out: Path) -> dict[str, Any]:
        """GFlash showers into `out/showers.h5` (or `.root` with --format root)."""
        from dte_hep_3dgan.generate import file_name, generate_file

        return generate_file(out / file_name(config.data), config.data, progress=True)

    def dataset_path(self, config: Any, folder: Path) -> list[str]:
        """Training reads the one shower file that `generate` wrote into `folder`."""
        from dte_hep_3dgan.generate import file_name

        return [f"data.path={folder / file_name(config.data)}"]

    def prepare(self, config: Any, sources: list[Path], out: Path) -> dict[str, Any]:
        """Check and convert shower files (HDF5 in the community layout, or ROOT) into one
        file in the native layout (chunked, compressed, theta in radians)."""
        from dte_hep_3dgan.prepare import prepare

        return prepare(config.data, sources, out)

    def check(self, config: Any, paths: list[Path]) -> list[tuple[str, str]]:
        """Shower files: names, layout, units, energy and angle ranges, deposit ratio."""
        from dte_hep_3dgan.check import check

        return check(config, paths)

    def task(self, config: Any) -> Any:
        """The 3DGAN Task."""
        from dte_hep_3dgan.task import ShowerGAN

        return ShowerGAN(config)

    def evaluate(self, config: Any, models: dict[str, Any], out: Path) -> dict[str, float]:
        """Physics validation of the generator against reference showers; figures in `out`."""
        from dte_hep_3dgan.evaluate import evaluate

        return evaluate(config, models, out)

    def predict(self, config: Any, models: dict[str, Any], output: Path,
                inputs: Path | None = None, options: dict[str, str] | None = None) -> Path:
        """Generated showers for `--energy E --theta T --events N` (or for the conditions of
        the showers in `--input`), written in the same layout as the training data."""
        from dte_hep_3dgan.predict import predict

        return predict(config, models, output, inputs, options or {})
