"""The training Task: a denoiser from auxiliary maps to the main channel's map."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from dte_core.torch.task import Optimization, Task
from torch import nn

from dte_virgo_gw import data as vdata
from dte_virgo_gw import validation
from dte_virgo_gw.baseline import LinearBaseline
from dte_virgo_gw.model import build, compress, inputs, to_energy

READ_CHUNK = 64  # samples per read when a whole split is streamed (floor, baseline fit)
FLOOR_SAMPLES = 256  # noise maps behind each per-frequency floor (x times: ample statistics)


def iter_maps(file: Path, indices: range, names: tuple[str, ...], chunk: int = READ_CHUNK):
    """Contiguous chunks of some datasets of a file, as numpy arrays (never the whole file)."""
    with vdata.open_h5(file) as f:
        for lo in range(indices.start, indices.stop, chunk):
            hi = min(lo + chunk, indices.stop)
            yield tuple(f[name][lo:hi] for name in names)


def noise_floor(file: Path, train: range, statistic: str) -> np.ndarray:
    """(F, 1) floor from the first noise-only maps of the training split (samples are i.i.d.)."""
    first = range(train.start, min(train.stop, train.start + FLOOR_SAMPLES))
    noise = np.concatenate([c[0] for c in iter_maps(file, first, ("truth/noise",))])
    return validation.floor_of(noise, statistic)


def estimate(z: torch.Tensor, main: torch.Tensor, floor, target: str) -> torch.Tensor:
    """The main map P implied by the network's output z (B, 1, F, T) and the main map (B, 1,
    F, T): z itself in energies (`model.target=main`), else the noise floor plus the glitch
    estimate, which is the predicted glitch map (never negative) or the predicted glitch
    fraction times the main map. Either way G_hat = P - floor."""
    if target == "main":
        return to_energy(z)
    if target == "glitch":
        return floor + to_energy(z).clamp(min=0)
    return floor + torch.sigmoid(z) * main.clamp(min=0)


def mask_loss(z: torch.Tensor, batch, cbc_weight: float) -> torch.Tensor:
    """The glitch-power residual sum |G - G_hat| of G_hat = sigmoid(z) x main, per unit of the
    batch's glitch energy plus one per pixel (a batch without glitches still counts), plus a
    small L1 on the fraction itself (a gradient where the main map is quiet) and, weighted,
    the binary-signal energy the estimate removes."""
    main, glitch = batch["main"], batch["glitch"]
    fraction = torch.sigmoid(z)
    g_hat = fraction * main.clamp(min=0)
    truth = (glitch / main.clamp(min=1e-6)).clamp(0, 1)
    loss = ((g_hat - glitch).abs().sum() / (glitch.sum() + fraction.numel())
            + 0.1 * (fraction - truth).abs().mean())
    if cbc_weight:
        cbc = batch["cbc"]
        removed = torch.minimum(cbc, (g_hat - glitch).clamp(min=0))
        loss = loss + cbc_weight * removed.sum() / (cbc.sum() + 1.0)
    return loss


def floor_statistic(config) -> str:
    """The noise floor a trained network converges to on glitch-free pixels: that of its loss
    (targets `glitch` and `mask` estimate the glitch itself: any floor works; the median)."""
    if config.model.target != "main" or config.optim.loss == "l1":
        return "median"
    return "logmean"


class DenoiserTask(Task):
    """Learn the main map, the glitch map or the glitch fraction from the witnesses (and the
    main map); report held-out physics."""

    @cached_property
    def file(self) -> Path:
        from dte_virgo_gw.generate import dataset_for

        return dataset_for(self.config)

    @cached_property
    def info(self) -> vdata.DatasetInfo:
        from dte_core.errors import ConfigError

        info = vdata.inspect(self.file)
        vdata.check_compatible(info, self.config)
        if self.config.model.target != "main" and not info.has_truth:
            raise ConfigError(
                f"model.target={self.config.model.target} trains on the truth glitch maps of "
                f"generated data, and "
                f"{info.file} ({info.kind or 'prepared'}) has none. Train it with "
                f"--set model.target=main, or on a dataset from `dte data generate virgo-gw`.")
        return info

    @cached_property
    def splits(self) -> tuple[range, range]:
        return vdata.split(self.info.samples, self.config.data.val_fraction)

    @cached_property
    def floors(self) -> dict[str, torch.Tensor]:
        """Noise floors (1, 1, F, 1) from the training split's noise-only maps, by statistic."""
        if not self.info.has_truth:
            return {}
        return {stat: torch.from_numpy(noise_floor(self.file, self.splits[0], stat))[None, None]
                for stat in ("median", "mean", "logmean")}

    @cached_property
    def baseline(self) -> LinearBaseline:
        """The linear least-squares baseline fitted on the training split."""
        ev = self.config.evaluate
        chunks = iter_maps(self.file, self.splits[0], ("maps/aux", "maps/main"))
        return LinearBaseline.fit(chunks, ev.baseline_lags, ev.baseline_ridge)

    @property
    def floor_statistic(self) -> str:
        return floor_statistic(self.config)

    @property
    def target(self) -> str:
        return self.config.model.target

    # ---- Task API ------------------------------------------------------------------------
    def configure_models(self) -> dict[str, nn.Module]:
        return {"denoiser": build(self.config)}

    def configure_optimizers(self, models: Mapping[str, nn.Module]) -> Optimization:
        opt = self.config.optim
        optimizer = torch.optim.AdamW(models["denoiser"].parameters(), lr=opt.lr,
                                      weight_decay=opt.weight_decay)
        if opt.schedule == "constant":
            return Optimization({"denoiser": optimizer})
        steps = self.total_steps()
        warmup = max(1, steps // 20)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, steps - warmup))
            return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))  # plain floats:
            # the scheduler's state is saved in checkpoints that load with weights_only

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return Optimization({"denoiser": optimizer}, {"denoiser": scheduler},
                            scheduler_interval="step")

    def total_steps(self) -> int:
        """Optimizer steps of the whole run (for the learning-rate schedule)."""
        train = self.config.train
        per_epoch = max(1, len(self.splits[0]) // train.batch_size)
        by_epochs = train.epochs * per_epoch if train.epochs else float("inf")
        return int(min(by_epochs, train.max_steps or float("inf")))

    def train_dataset(self) -> vdata.MapsDataset:
        return vdata.MapsDataset(self.file, self.splits[0], truth=self.target != "main")

    def val_dataset(self) -> vdata.MapsDataset:
        return vdata.MapsDataset(self.file, self.splits[1], truth=self.info.has_truth)

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.config.optim.loss == "l1":
            return nn.functional.l1_loss(pred, target)
        return nn.functional.mse_loss(pred, target)

    def objective(self, z: torch.Tensor, batch) -> torch.Tensor:
        """The loss of `model.target` for the network's output z."""
        if self.target == "mask":
            return mask_loss(z, batch, self.config.optim.cbc_weight)
        return self.loss(z, compress(batch[self.target]))

    def training_step(self, batch, ctx) -> torch.Tensor:
        return self.objective(self.models["denoiser"](
            inputs(batch["aux"], batch["main"], self.config.model.main_input)), batch)

    def validation_step(self, batch) -> dict[str, torch.Tensor]:
        z = self.models["denoiser"](inputs(batch["aux"], batch["main"],
                                           self.config.model.main_input)).float()
        glitch, cbc = batch.get("glitch"), batch.get("cbc")
        floors = {k: v.to(z.device) for k, v in self.floors.items()}
        floor = floors.get(self.floor_statistic)
        pred = estimate(z, batch["main"], floor, self.target)
        out = {"loss": self.objective(z, batch)}
        out.update(validation.batch_metrics(pred, batch["main"], glitch, cbc, floor))
        base = torch.from_numpy(self.baseline.predict(batch["aux"].cpu().numpy()))
        base = base[:, None].to(pred.device)
        out.update(validation.batch_metrics(base, batch["main"], glitch, cbc,
                                            floors.get("mean"), prefix="baseline_"))
        return out

    def validation_summary(self, means: Mapping[str, float]) -> dict[str, float]:
        out = validation.summary(means)
        out.update(validation.summary(means, prefix="baseline_"))
        return out
