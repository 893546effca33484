"""The 3DGAN networks (Khattak et al., arXiv 2109.07388), conditioned on Ep and theta.

Generator (~1.36M parameters): [z * Ep', Ep', theta'] -> linear -> 8 x (9, 9, 8) ->
trilinear upsampling x6 -> four 3D convolutions (LeakyReLU, batch norm) -> ReLU deposits of
shape (1, 51, 51, 25) in network space. Ep' = Ep / energy_scale, theta' = theta - pi/2.

Discriminator (~87k parameters, +19k with the angle head): four 3D convolutions (LeakyReLU,
batch norm, dropout) -> average pooling -> flat features -> linear heads: the real/fake logit
(raw: the loss applies the one sigmoid), the Ep regression and, optionally, the theta
regression; plus the total-deposit "head", the sum of the input's cells back in GeV, which
has no weights.

`model.architecture=compact` swaps both for a pair ~30x cheaper per shower, for CPU runs:
the generator fills a coarse (13, 13, 7) volume and upsamples it twice with transposed 3D
convolutions, to (26, 26, 14) and (52, 52, 28), cropped to (51, 51, 25), and scaled by
(Ep / energy_scale) ** power, so that it draws the shower per unit of energy, on top of a
learned per-cell template (the mean shower, one parameter per cell); the
discriminator has three strided convolutions. Both keep the same inputs, outputs and heads.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dte_hep_3dgan.config import Hep3DGANConfig
from dte_hep_3dgan.data import Transform


def conditions(energy: torch.Tensor, theta: torch.Tensor, energy_scale: float) -> torch.Tensor:
    """(batch, 2) network conditions from Ep (GeV) and theta (rad)."""
    return torch.stack([energy / energy_scale, theta - math.pi / 2], dim=1)


class Generator(nn.Module):
    """Latent noise and conditions -> a shower in network space."""

    def __init__(self, latent_dim: int, energy_range: tuple[float, float],
                 theta_range: tuple[float, float]) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.dense = nn.Linear(latent_dim + 2, 8 * 9 * 9 * 8)
        self.upsample = nn.Upsample(scale_factor=6, mode="trilinear", align_corners=False)
        self.conv1 = nn.Conv3d(8, 8, (6, 6, 8))  # (54, 54, 48) -> (49, 49, 41)
        self.norm1 = nn.BatchNorm3d(8, eps=1e-6)
        self.conv2 = nn.Conv3d(8, 6, (4, 4, 6))  # padded (53, 53, 41) -> (50, 50, 36)
        self.norm2 = nn.BatchNorm3d(6, eps=1e-6)
        self.conv3 = nn.Conv3d(6, 6, (4, 4, 6))  # padded (54, 54, 36) -> (51, 51, 31)
        self.norm3 = nn.BatchNorm3d(6, eps=1e-6)
        self.conv4 = nn.Conv3d(6, 6, (3, 3, 5), padding=(1, 1, 0))  # -> (51, 51, 27)
        self.conv5 = nn.Conv3d(6, 1, (1, 1, 3))  # -> (51, 51, 25)
        self.act = nn.LeakyReLU(0.2)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            nn.init.kaiming_uniform_(conv.weight, a=0.2)
        # start with small, live outputs (~1e-3 per cell, about a real shower's total): a large
        # start makes the deposit loss drive every output below zero, where ReLU has no gradient
        nn.init.normal_(self.conv5.weight, std=1e-4)
        nn.init.constant_(self.conv5.bias, 1e-3)
        # the (Ep GeV, theta deg) domain it was trained on, saved with its weights
        self.register_buffer("domain", torch.tensor([*energy_range, *theta_range]))

    def forward(self, noise: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        energy = cond[:, :1]
        x = self.dense(torch.cat([noise * energy, cond], dim=1)).view(-1, 8, 9, 9, 8)
        x = self.upsample(x)
        x = self.norm1(self.act(self.conv1(x)))
        x = self.norm2(self.act(self.conv2(nn.functional.pad(x, (0, 0, 2, 2, 2, 2)))))
        x = self.norm3(self.act(self.conv3(nn.functional.pad(x, (0, 0, 2, 2, 2, 2)))))
        x = self.act(self.conv4(x))
        return torch.relu(self.conv5(x))


class _Judge(nn.Module):
    """What both discriminators share: the real/fake, Ep' and theta' heads on the features."""

    def _heads(self, features: int, angle_head: bool) -> None:
        self.real_fake = nn.Linear(features, 1)
        self.energy = nn.Linear(features, 1)
        self.angle = nn.Linear(features, 1) if angle_head else None

    def _outputs(self, h: torch.Tensor, deposit: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        angle = self.angle(h)[:, 0] if self.angle is not None else None
        return self.real_fake(h)[:, 0], self.energy(h)[:, 0], angle, deposit


class Discriminator(_Judge):
    """A shower in network space -> (real/fake logit, Ep', theta' or None, total GeV)."""

    def __init__(self, transform: Transform, dropout: float, angle_head: bool) -> None:
        super().__init__()
        self.transform = transform
        self.conv1 = nn.Conv3d(1, 16, (6, 6, 5), padding=(3, 3, 2))  # -> (52, 52, 25)
        self.conv2 = nn.Conv3d(16, 8, (6, 6, 5))  # padded (54, 54, 25) -> (49, 49, 21)
        self.norm2 = nn.BatchNorm3d(8, eps=1e-6)
        self.conv3 = nn.Conv3d(8, 8, (6, 6, 5))  # padded (51, 51, 21) -> (46, 46, 17)
        self.norm3 = nn.BatchNorm3d(8, eps=1e-6)
        self.conv4 = nn.Conv3d(8, 8, (6, 6, 5))  # -> (41, 41, 13)
        self.norm4 = nn.BatchNorm3d(8, eps=1e-6)
        self.pool = nn.AvgPool3d(2)  # -> (20, 20, 6)
        self.act = nn.LeakyReLU(0.2)
        self.drop = nn.Dropout(dropout)
        features = 8 * 20 * 20 * 6
        self._heads(features, angle_head)

    def forward(self, x: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        deposit = self.transform.inverse(x).sum(dim=(1, 2, 3, 4))
        h = self.drop(self.act(self.conv1(x)))
        h = nn.functional.pad(h, (0, 0, 1, 1, 1, 1))
        h = self.drop(self.norm2(self.act(self.conv2(h))))
        h = nn.functional.pad(h, (0, 0, 1, 1, 1, 1))
        h = self.drop(self.norm3(self.act(self.conv3(h))))
        h = self.drop(self.norm4(self.act(self.conv4(h))))
        h = self.pool(h).flatten(1)
        return self._outputs(h, deposit)


class CompactGenerator(nn.Module):
    """The generator's contract on a coarse volume upsampled twice (CPU-sized)."""

    def __init__(self, latent_dim: int, energy_range: tuple[float, float],
                 theta_range: tuple[float, float], channels: int, power: float) -> None:
        super().__init__()
        c = channels
        self.latent_dim, self.channels, self.power = latent_dim, c, power
        self.dense = nn.Linear(latent_dim + 2, c * 13 * 13 * 7)
        self.up1 = nn.ConvTranspose3d(c, c, 4, stride=2, padding=1)  # -> (26, 26, 14)
        self.norm1 = nn.BatchNorm3d(c, eps=1e-6)
        self.conv2 = nn.Conv3d(c, c, 3, padding=1)
        self.norm2 = nn.BatchNorm3d(c, eps=1e-6)
        self.up3 = nn.ConvTranspose3d(c, 1, 4, stride=2, padding=1)  # -> (52, 52, 28)
        self.act = nn.LeakyReLU(0.2)
        # small, live outputs at the start (see Generator)
        nn.init.normal_(self.up3.weight, std=1e-3)
        nn.init.constant_(self.up3.bias, 1e-3)
        # a learned mean shower per unit Ep' that the convolutions modulate: each cell's mean
        # is then one parameter, learnt in hundreds of steps instead of through every layer
        self.template = nn.Parameter(torch.zeros(1, 1, 51, 51, 25))
        self.register_buffer("domain", torch.tensor([*energy_range, *theta_range]))

    def forward(self, noise: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        energy = cond[:, :1]
        x = self.act(self.dense(torch.cat([noise * energy, cond], dim=1)))
        x = self.norm1(self.act(self.up1(x.view(-1, self.channels, 13, 13, 7))))
        x = self.norm2(self.act(self.conv2(x)))
        # deposits grow about linearly with Ep: the network draws the shower per unit of Ep'
        # (cells in network space are GeV ** power), cropped from (52, 52, 28) to the window
        scale = energy.clamp(min=1e-6).pow(self.power).view(-1, 1, 1, 1, 1)
        return torch.relu(self.up3(x)[:, :, :51, :51, 1:26] + self.template) * scale


class CompactDiscriminator(_Judge):
    """The discriminator's contract with three strided convolutions (CPU-sized)."""

    def __init__(self, transform: Transform, dropout: float, angle_head: bool,
                 channels: int) -> None:
        super().__init__()
        c = channels
        self.transform = transform
        self.conv1 = nn.Conv3d(1, c, 4, stride=2, padding=1)  # -> (25, 25, 12)
        self.conv2 = nn.Conv3d(c, 2 * c, 4, stride=2, padding=1)  # -> (12, 12, 6)
        self.norm2 = nn.BatchNorm3d(2 * c, eps=1e-6)
        self.conv3 = nn.Conv3d(2 * c, 2 * c, 3, stride=2, padding=1)  # -> (6, 6, 3)
        self.norm3 = nn.BatchNorm3d(2 * c, eps=1e-6)
        self.act = nn.LeakyReLU(0.2)
        self.drop = nn.Dropout(dropout)
        features = 2 * c * 6 * 6 * 3
        self._heads(features, angle_head)

    def forward(self, x: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        deposit = self.transform.inverse(x).sum(dim=(1, 2, 3, 4))
        h = self.drop(self.act(self.conv1(x)))
        h = self.drop(self.norm2(self.act(self.conv2(h))))
        h = self.drop(self.norm3(self.act(self.conv3(h)))).flatten(1)
        return self._outputs(h, deposit)


def build(config: Hep3DGANConfig) -> dict[str, nn.Module]:
    """The two networks of `config`."""
    m, d = config.model, config.data
    if m.architecture == "compact":
        return {"generator": CompactGenerator(m.latent_dim, d.energy_range, d.theta_range,
                                              m.generator_channels, d.power),
                "discriminator": CompactDiscriminator(Transform.of(d), m.dropout,
                                                      m.angle_head, m.discriminator_channels)}
    return {"generator": Generator(m.latent_dim, d.energy_range, d.theta_range),
            "discriminator": Discriminator(Transform.of(d), m.dropout, m.angle_head)}


def parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
