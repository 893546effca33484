"""The denoiser: auxiliary-channel maps in, the main channel's map out (a U-Net by default)."""

from __future__ import annotations

import torch
from torch import nn


def norm_layer(kind: str, channels: int, groups: int) -> nn.Module:
    """BatchNorm (statistics over the batch: a sample's loudness survives), GroupNorm
    (per sample: loudness is normalised away) or nothing."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        g = max(1, min(groups, channels))
        while channels % g:
            g -= 1
        return nn.GroupNorm(g, channels)
    return nn.Identity()


def block(c_in: int, c_out: int, groups: int, norm: str = "batch") -> nn.Sequential:
    """Two 3x3 convolutions, each with a normalisation and SiLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), norm_layer(norm, c_out, groups), nn.SiLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1), norm_layer(norm, c_out, groups), nn.SiLU())


class Denoiser(nn.Module):
    """Encoder-decoder over Q-transform maps; `skips=True` makes it a U-Net.

    Inputs are the auxiliary maps (normalised energies), compressed with log1p; the output is
    the main channel's map in the same compressed units (`to_energy` undoes it). Energies span
    four decades (noise ~1, loud glitches ~1e3): in log1p units the loss sees glitch shapes and
    quiet pixels alike, and an L1 loss there still estimates the median energy exactly (the
    median commutes with monotone maps). The skip connections carry the
    time-frequency detail that the coupling preserves; the deepest level sees the whole map,
    enough to learn per-channel delays and frequency up-conversion.
    """

    def __init__(self, in_channels: int, base: int = 16, depth: int = 4, groups: int = 8,
                 skips: bool = True, norm: str = "batch") -> None:
        super().__init__()
        widths = [base * 2 ** i for i in range(depth + 1)]
        self.skips = skips
        self.inc = block(in_channels + 1, widths[0], groups, norm)
        self.down = nn.ModuleList(block(widths[i], widths[i + 1], groups, norm)
                                  for i in range(depth))
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                for i in reversed(range(depth)))
        factor = 2 if skips else 1
        self.dec = nn.ModuleList(block(factor * widths[i], widths[i], groups, norm)
                                 for i in reversed(range(depth)))
        self.out = nn.Conv2d(widths[0], 1, 1)

    def forward(self, aux: torch.Tensor) -> torch.Tensor:
        b, _, n_f, n_t = aux.shape
        # Couplings depend on frequency (each path is a band-pass): a row-coordinate channel
        # lets the convolutions, which are translation-invariant, learn a gain per frequency.
        rows = torch.linspace(-1, 1, n_f, device=aux.device, dtype=aux.dtype)
        x = self.inc(torch.cat([compress(aux), rows.view(1, 1, n_f, 1).expand(b, 1, n_f, n_t)],
                               1))
        kept = [x]
        for down in self.down:
            x = down(nn.functional.max_pool2d(x, 2))
            kept.append(x)
        kept.pop()
        for up, dec in zip(self.up, self.dec, strict=True):
            x = up(x)
            skip = kept.pop()
            x = dec(torch.cat([x, skip], 1) if self.skips else x)
        return self.out(x)


def inputs(aux: torch.Tensor, main: torch.Tensor, main_input: bool) -> torch.Tensor:
    """The network's input maps (B, K[+1], F, T): the auxiliary maps, then the main map
    (B, 1, F, T) when `model.main_input` is set."""
    return torch.cat([aux, main], 1) if main_input else aux


def compress(energy: torch.Tensor) -> torch.Tensor:
    """Normalised energies -> the network's log1p units."""
    return torch.log1p(energy.clamp(min=0))


def to_energy(z: torch.Tensor) -> torch.Tensor:
    """The network's log1p units -> normalised energies."""
    return torch.expm1(z.clamp(max=20.0))


def build(config) -> Denoiser:
    """The network described by `config.model` for `config.data.aux_channels` inputs (and the
    main map, with `model.main_input`)."""
    m = config.model
    return Denoiser(config.data.aux_channels + m.main_input, m.base_channels, m.depth,
                    m.norm_groups,
                    skips=m.kind == "unet", norm=m.norm)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
