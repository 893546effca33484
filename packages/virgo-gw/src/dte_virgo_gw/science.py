"""The virgo-gw science object registered under the `dte.sciences` entry point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dte_core.science import Science

if TYPE_CHECKING:
    from pydantic import BaseModel


class VirgoGW(Science):
    """Reconstruct glitch noise in Virgo's strain channel from auxiliary-channel Q-transforms."""

    name = "virgo-gw"
    distribution = "dte-virgo-gw"
    framework = "torch"
    summary = "Virgo glitch-noise subtraction from auxiliary channels (Q-transform denoiser)"
    contract = 2
    # printed by training (val/...) and by `dte evaluate` (the same names, per family too)
    key_metrics = ("val/glitch_removed_db", "val/cbc_preserved",
                   *(f"val/glitch_removed_db/{m}" for m in
                     ("blip", "scattered_light", "whistle", "chirp", "broadband", "mixed")),
                   "val/glitch_removed_db/chirp_weak", "val/cbc_preserved/none",
                   "val/strain_glitch_removed_db",
                   "val/strain_cbc_preserved")
    tune_metric = "val/glitch_removed_db"
    tune_direction = "maximize"
    # the linear baseline is fitted once and the injected signals are fixed
    constant_metrics = ("val/baseline_*", "val/cbc_energy")

    def config_class(self) -> type[BaseModel]:
        """The virgo-gw configuration model."""
        from dte_virgo_gw.config import VirgoConfig

        return VirgoConfig

    def input_example(self, config: Any) -> dict[str, tuple[Any, ...]]:
        """One batch of input maps (auxiliary, then main with `model.main_input`) at the noise
        level (normalised energy 1)."""
        import numpy as np

        shape = (1, config.data.aux_channels + config.model.main_input, *config.data.map_shape)
        return {"denoiser": (np.ones(shape, dtype=np.float32),)}

    def search_space(self) -> dict[str, Any]:
        """`dte tune virgo-gw`'s default search: learning rate, width, loss, decay."""
        return {"optim.lr": {"low": 3e-4, "high": 1e-2, "log": True},
                "model.base_channels": {"choices": [8, 16, 24]},
                "optim.loss": {"choices": ["l2", "l1"]},
                "optim.weight_decay": {"low": 1e-6, "high": 1e-2, "log": True}}

    def generate(self, config: Any, out: Path) -> dict[str, Any]:
        """Synthetic Virgo noise, witnessed glitches and binary signals (see the README)."""
        from dte_virgo_gw.generate import generate

        return generate(config.data, out)

    def prepare(self, config: Any, sources: list[Path], out: Path) -> dict[str, Any]:
        """GWOSC HDF5, gwpy HDF5 or GWF files -> the native format (see the README)."""
        from dte_virgo_gw.prepare import prepare

        return prepare(config.data, sources, out)

    def task(self, config: Any) -> Any:
        """The denoiser's training Task."""
        from dte_virgo_gw.task import DenoiserTask

        return DenoiserTask(config)

    def evaluate(self, config: Any, models: dict[str, Any], out: Path) -> dict[str, float]:
        """Held-out metrics of the denoiser and the linear baseline, and figures."""
        from dte_virgo_gw.evaluate import evaluate

        return evaluate(config, models["denoiser"], out)

    def check(self, config: Any, paths: list[Path]) -> list[tuple[str, str]]:
        """Datasets (sample rate, band, durations, maps, channels) and strain files
        (channels, sample rates, GPS spans), and how dte reads them."""
        from dte_virgo_gw.check import check

        return check(config, paths)

    def data_signature(self, config: Any) -> dict[str, Any]:
        """Sample rate, band, durations, map size, Q range, channels of the training data."""
        from dte_virgo_gw.signature import of_config

        return of_config(config)

    def predict(self, config: Any, models: dict[str, Any], output: Path,
                inputs: Path | None = None, options: dict[str, str] | None = None) -> Path:
        """Predicted and cleaned main-channel maps of a dataset, as HDF5."""
        from dte_virgo_gw.predict import predict

        return predict(config, models["denoiser"], output, inputs, options or {})
