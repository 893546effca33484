"""The 3DGAN training Task: two networks, two optimizers, the weighted multi-loss.

Each step: (1) the generator makes showers for the real batch's (Ep, theta) without gradient;
the discriminator sees real and generated showers in one forward pass (one DDP forward per
backward) and is stepped on BCE(real/fake) + energy and angle regression; (2) the generator
makes fresh showers for the same conditions and is stepped on the frozen discriminator's
verdict, its Ep/theta regression, the total deposit against the real shower's, the
batch-mean longitudinal (and, when weighted, transverse) profile against the real batch's,
and, when weighted, each shower's number of hit cells against the real shower's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from dte_core.torch.task import Optimization, Task
from torch import nn

from dte_hep_3dgan import model as networks
from dte_hep_3dgan import validation
from dte_hep_3dgan.config import Hep3DGANConfig
from dte_hep_3dgan.data import ShowerDataset, Transform, open_split

LAYERS = 25
#: the axes summed away for each profile of (batch, 1, x, y, layer) showers
PROFILE_AXES = {"longitudinal": (1, 2, 3), "x": (1, 3, 4), "y": (1, 2, 4)}
#: sharpness of the smooth hit count: a cell at half (twice) the threshold counts 0.06 (0.94)
OCCUPANCY_SHARPNESS = 4.0


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside DDP / torch.compile wrappers."""
    while True:
        inner = getattr(module, "module", None) or getattr(module, "_orig_mod", None)
        if inner is None:
            return module
        module = inner


def relative_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute relative error (the 3DGAN's MAPE, as a fraction)."""
    return ((pred - target).abs() / target.abs().clamp(min=1e-6)).mean()


def layer_profile(gev: torch.Tensor) -> torch.Tensor:
    """(batch, 25) energy per layer from (batch, 1, 51, 51, 25) GeV."""
    return gev.sum(dim=PROFILE_AXES["longitudinal"])


def normalised_profile_difference(fake: torch.Tensor, real: torch.Tensor, axes: tuple
                                  ) -> torch.Tensor:
    """Mean relative difference of the normalised batch-mean profiles of GeV showers."""
    fake_p, real_p = fake.sum(dim=axes).sum(0), real.sum(dim=axes).sum(0)
    fake_p = fake_p / fake_p.sum().clamp(min=1e-9)
    real_p = real_p / real_p.sum().clamp(min=1e-9)
    return ((fake_p - real_p).abs() / (real_p + 1e-3)).mean()


class RunningProfiles:
    """Transverse-profile loss on running means: where the validation metric looks, unbiased.

    One batch's mean profile of a few showers is noisy in the tail cells, and a relative
    difference to it is minimised below the true mean (the loss then pulls tails low). Real and
    generated normalised profiles are kept as running means over about 1 / (1 - momentum)
    batches of the same conditions; the loss is the root-mean-square relative difference over
    the cells whose real mean is at least `min_fraction` of the profile's maximum (the cells
    the metric scores), scaled so its gradient through the current batch keeps its size."""

    def __init__(self, momentum: float = 0.9, min_fraction: float = 0.01) -> None:
        self.momentum, self.min_fraction = momentum, min_fraction
        self.real: dict[str, torch.Tensor] = {}
        self.fake: dict[str, torch.Tensor] = {}

    def loss(self, name: str, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Loss of the `name` profile from this batch's (batch, cells) GeV profiles."""
        fake_p = fake.sum(0) / fake.sum().clamp(min=1e-9)
        real_p = (real.sum(0) / real.sum().clamp(min=1e-9)).detach()
        m = self.momentum if name in self.real else 0.0
        run_real = m * self.real.get(name, real_p) + (1 - m) * real_p
        run_fake = m * self.fake.get(name, fake_p.detach()) + (1 - m) * fake_p
        self.real[name], self.fake[name] = run_real, run_fake.detach()
        scored = run_real >= self.min_fraction * run_real.max()
        rel = (run_fake - run_real)[scored] / run_real[scored]
        return rel.pow(2).mean().add(1e-12).sqrt() / (1 - m)


def smooth_hits(gev: torch.Tensor) -> torch.Tensor:
    """(batch,) differentiable count of cells above validation.HIT_THRESHOLD GeV."""
    r = (gev / validation.HIT_THRESHOLD).pow(OCCUPANCY_SHARPNESS)
    return (r / (1 + r)).sum(dim=(1, 2, 3, 4))


class ShowerGAN(Task):
    """The 3DGAN as a dte Task."""

    config: Hep3DGANConfig

    def __init__(self, config: Hep3DGANConfig, data_path: Path | None = None) -> None:
        super().__init__(config)
        self.transform = Transform.of(config.data)
        self._data_path = data_path
        self._plain: dict[str, nn.Module] = {}
        self._transverse = RunningProfiles(min_fraction=config.evaluate.min_layer_fraction)

    # ---- data ------------------------------------------------------------------------------
    def data_path(self) -> Path:
        """data.path, or the generated file under .dte/data/hep-3dgan (made on first use)."""
        if self._data_path is None:
            from dte_hep_3dgan.generate import cached_dataset

            path = self.config.data.path
            self._data_path = Path(path) if path is not None else \
                cached_dataset(self.config.data)
        return self._data_path

    def train_dataset(self) -> ShowerDataset:
        dataset = open_split(self.data_path(), self.config.data, "train")
        generator = self._plain.get("generator")
        if generator is not None:  # record the trained domain with the weights
            file, idx = dataset.file, list(dataset.indices)
            energy, theta = file.energy[idx], torch.rad2deg(torch.from_numpy(file.theta[idx]))
            generator.domain.copy_(torch.tensor(
                [energy.min(), energy.max(), theta.min(), theta.max()], dtype=torch.float32))
        return dataset

    def val_dataset(self) -> ShowerDataset:
        return open_split(self.data_path(), self.config.data, "val")

    # ---- models ----------------------------------------------------------------------------
    def configure_models(self) -> dict[str, nn.Module]:
        self._plain = networks.build(self.config)
        return dict(self._plain)

    def configure_optimizers(self, models: Mapping[str, nn.Module]) -> Optimization:
        o = self.config.optim

        def make(params, lr: float) -> torch.optim.Optimizer:
            if o.name == "adam":
                return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
            return torch.optim.RMSprop(params, lr=lr)

        optimizers = {
            "discriminator": make(models["discriminator"].parameters(), o.discriminator_lr),
            "generator": make(models["generator"].parameters(), o.generator_lr)}
        if o.schedule == "constant":
            return Optimization(optimizers)
        epochs = max(1, (self.config.train.epochs or 1) - 1)
        low = o.final_lr_fraction

        def factor(epoch: int) -> float:
            return low + (1 - low) * 0.5 * (1 + math.cos(math.pi * min(epoch, epochs) / epochs))

        return Optimization(optimizers, {name: torch.optim.lr_scheduler.LambdaLR(opt, factor)
                                         for name, opt in optimizers.items()})

    def generate(self, generator: nn.Module, energy: torch.Tensor, theta: torch.Tensor,
                 noise: torch.Tensor | None = None) -> torch.Tensor:
        """Showers in network space for Ep (GeV) and theta (rad)."""
        if noise is None:
            noise = torch.randn(len(energy), self.config.model.latent_dim, device=energy.device)
        cond = networks.conditions(energy, theta, self.config.data.energy_scale)
        return generator(noise, cond)

    # ---- steps -----------------------------------------------------------------------------
    def _regression(self, out: tuple, energy: torch.Tensor, theta: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(energy loss, angle loss) of discriminator outputs against the conditions."""
        target = energy / self.config.data.energy_scale
        energy_loss = relative_error(out[1], target)
        angle = out[2]
        angle_loss = (angle - (theta - torch.pi / 2)).abs().mean() if angle is not None \
            else torch.zeros((), device=energy.device)
        return energy_loss, angle_loss

    def training_step(self, batch: dict[str, torch.Tensor], ctx: Any) -> dict[str, torch.Tensor]:
        w = self.config.loss
        gen, disc = self.models["generator"], self.models["discriminator"]
        real, energy, theta, deposit = batch["ecal"], batch["energy"], batch["theta"], \
            batch["deposit"]
        n = len(real)
        bce = nn.functional.binary_cross_entropy_with_logits

        # (1) discriminator: real and generated showers in one forward pass
        with torch.no_grad():
            fake = self.generate(gen, energy, theta)
        out = disc(torch.cat([real, fake]))
        labels = torch.cat([torch.full((n,), 1.0 - w.label_smoothing, device=real.device),
                            torch.zeros(n, device=real.device)])
        d_gan = bce(out[0], labels)
        e2, t2 = torch.cat([energy, energy]), torch.cat([theta, theta])
        d_energy, d_angle = self._regression(out, e2, t2)
        d_loss = w.gan * d_gan + w.energy * d_energy + w.angle * d_angle
        ctx.optimize("discriminator", d_loss)

        # (2) generator, judged by the plain discriminator with frozen weights
        judge = unwrap(disc)
        judge.requires_grad_(False)
        try:
            fake = self.generate(gen, energy, theta)
            out = judge(fake)
        finally:
            judge.requires_grad_(True)
        g_gan = bce(out[0], torch.ones(n, device=real.device))
        g_energy, g_angle = self._regression(out, energy, theta)
        g_deposit = relative_error(out[3], deposit)
        g_profile, g_transverse, g_occupancy = self._shape_losses(fake, real)
        g_loss = (w.gan * g_gan + w.energy * g_energy + w.angle * g_angle
                  + w.deposit * g_deposit + w.profile * g_profile
                  + w.transverse * g_transverse + w.occupancy * g_occupancy)
        ctx.optimize("generator", g_loss)
        fake_score = torch.sigmoid(out[0].detach()).mean()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "d_gan": d_gan.detach(),
                "g_gan": g_gan.detach(), "g_deposit": g_deposit.detach(),
                "g_profile": g_profile.detach(), "g_transverse": g_transverse.detach(),
                "g_occupancy": g_occupancy.detach(), "d_energy": d_energy.detach(),
                "fake_score": fake_score}

    def _shape_losses(self, fake: torch.Tensor, real: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(longitudinal profile, transverse profile, occupancy) losses of the generator;
        a term weighted 0 is not computed."""
        w, zero = self.config.loss, torch.zeros((), device=fake.device)
        if w.profile == 0 and w.transverse == 0 and w.occupancy == 0:
            return zero, zero, zero
        fake_gev, real_gev = self.transform.inverse(fake), self.transform.inverse(real)
        profile = normalised_profile_difference(fake_gev, real_gev,
                                                PROFILE_AXES["longitudinal"]) \
            if w.profile else zero
        transverse = sum(self._transverse.loss(axis, fake_gev.sum(dim=PROFILE_AXES[axis]),
                                               real_gev.sum(dim=PROFILE_AXES[axis]))
                         for axis in ("x", "y")) / 2 if w.transverse else zero
        if w.occupancy:
            hits = (real_gev >= validation.HIT_THRESHOLD).sum(dim=(1, 2, 3, 4)).float()
            occupancy = relative_error(smooth_hits(fake_gev), hits.clamp(min=1))
        else:
            occupancy = zero
        return profile, transverse, occupancy

    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-shower means of each layer's and x / y cell's GeV (real and generated), of the
        hit cells, and of deposit / Ep overall and in each Ep bin of data.energy_range."""
        gen = self.models["generator"]
        energy, theta = batch["energy"], batch["theta"]
        seed = int(batch["index"][0])  # the same noise for the same showers at every epoch
        noise = torch.randn(len(energy), self.config.model.latent_dim,
                            generator=torch.Generator().manual_seed(seed)).to(energy.device)
        fake = self.transform.inverse(self.generate(gen, energy, theta, noise))
        real = self.transform.inverse(batch["ecal"])
        low, high = self.config.data.energy_range
        which = ((energy - low) / (high - low) * validation.VAL_ENERGY_BINS).long().clamp(
            0, validation.VAL_ENERGY_BINS - 1)
        out: dict[str, torch.Tensor] = {}
        for b in range(validation.VAL_ENERGY_BINS):
            out[f"_bin/{b}"] = (which == b).float().mean()
        for name, showers in (("real", real), ("fake", fake)):
            for axis, dims in PROFILE_AXES.items():
                profile = showers.sum(dim=dims).mean(0)
                for i, value in enumerate(profile):
                    out[f"_{validation.PART[axis]}/{name}_{i:02d}"] = value
            ratio = showers.sum(dim=(1, 2, 3, 4)) / energy
            out[f"deposit_ratio_{name}"] = ratio.mean()
            for b in range(validation.VAL_ENERGY_BINS):
                out[f"_deposit_bin/{name}_{b}"] = (ratio * (which == b)).mean()
            out[f"occupancy_{name}"] = (showers >= validation.HIT_THRESHOLD).sum(
                dim=(1, 2, 3, 4)).float().mean()
        return out

    def validation_summary(self, means: Mapping[str, float]) -> dict[str, float]:
        """The physics metrics of an epoch (validation.training_summary)."""
        return validation.training_summary(means, self.config.evaluate.min_layer_fraction)
