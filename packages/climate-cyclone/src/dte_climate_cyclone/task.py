"""The Keras task of climate-cyclone: network, Adam, patch sources, loss; validation scores
the network's heat-map peaks beside the min-psl baseline's on the same patches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dte_core.keras.task import KerasTask, Source

from dte_climate_cyclone import model, validation
from dte_climate_cyclone.data import CycloneData, say


class CycloneTask(KerasTask):
    """Locate every cyclone centre in patches: a centre heat map."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._data: CycloneData | None = None
        self._base_threshold: float | None = None

    @property
    def base_threshold(self) -> float | None:
        """The min-psl baseline's threshold [Pa], tuned on training fields (None without psl)."""
        if self._base_threshold is None and "psl" in self.config.data.variables:
            from dte_climate_cyclone.detect import radius_cells
            from dte_climate_cyclone.evaluate import tune_baseline

            radius = radius_cells(self.data.fields.grid, self.config.evaluate.suppress_km)
            self._base_threshold = tune_baseline(self.data, radius).threshold
        return self._base_threshold

    @property
    def data(self) -> CycloneData:
        if self._data is None:
            self._data = CycloneData.open(self.config)
        return self._data

    def prepare(self) -> None:
        summary = self.data.summary()
        say(f"{summary['times']} time steps on a {summary['grid'][0]} x {summary['grid'][1]} "
            f"grid, {summary['centres']} cyclone centres; patches: train {summary['train']}, "
            f"validation {summary['val']} (held out from {summary['held_out_from']})")
        if self.base_threshold is not None:
            say(f"min-psl baseline: centres below {self.base_threshold / 100:.1f} hPa (tuned on "
                f"training fields)")

    def configure_models(self) -> dict[str, Any]:
        """The network; without opened data (loading a checkpoint) the normalisation weights
        are placeholders that the checkpoint's weights replace."""
        import numpy as np

        cfg = self.config
        channels = len(cfg.data.variables)
        mean, std = (self._data.normalisation() if self._data is not None else
                     (np.zeros(channels, np.float32), np.ones(channels, np.float32)))
        return {"net": model.build(cfg.model, cfg.data.patch_size, channels, mean, std)}

    def configure_optimizers(self, models: Mapping[str, Any]) -> dict[str, Any]:
        from dte_core.keras.runtime import keras

        optim, train = self.config.optim, self.config.train
        lr: Any = optim.lr
        if optim.schedule == "cosine":
            per_epoch = max(1, len(self.data.train) // train.batch_size)
            total = min(train.epochs * per_epoch if train.epochs else 10**9,
                        train.max_steps or 10**9)
            lr = keras().optimizers.schedules.CosineDecay(optim.lr, max(total, 1), alpha=0.1)
        if optim.weight_decay:
            return {"adam": keras().optimizers.AdamW(lr, weight_decay=optim.weight_decay)}
        return {"adam": keras().optimizers.Adam(lr)}

    def train_source(self) -> Source:
        return self.data.source("train", augment=True)

    def val_source(self) -> Source | None:
        return self.data.source("val") if len(self.data.val) else None

    def compute_loss(self, batch, training: bool):
        x, y = batch
        out = self.models["net"](x, training=training)
        cfg = self.config
        psl = None
        if not training and self.base_threshold is not None:
            psl = x[..., cfg.data.variables.index("psl")]
        return model.loss_and_metrics(y, out, cfg.loss.centre_weight, cfg.evaluate.threshold,
                                      self.base_threshold, psl)

    def validation_summary(self, means: Mapping[str, float]) -> dict[str, float]:
        return {**validation.summary(means), **validation.summary(means, prefix="baseline_")}
