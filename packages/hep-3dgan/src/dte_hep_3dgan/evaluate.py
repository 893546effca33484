"""`dte evaluate hep-3dgan --run R`: the generator against reference showers, with figures."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dte_hep_3dgan import gflash, plots
from dte_hep_3dgan.validation import (
    TARGETS,
    Observables,
    compare,
    deposit_ratio_by_bin,
    energy_bins,
)

#: metrics of the GAN also computed for the GFlash baseline (keys `baseline_NAME`)
BASELINE_KEYS = (*TARGETS, "target_ratio", "longitudinal_mean_rel_diff",
                 "deposit_ratio_generated", "occupancy_generated", "w1_cell_log10_energy")


def reference_sample(config: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(showers GeV, energy GeV, theta rad, description): the data's validation split, topped
    up with freshly generated GFlash showers (another seed) when the data was generated and
    its split is smaller than evaluate.events."""
    from dte_hep_3dgan.data import split
    from dte_hep_3dgan.files import ShowerFile
    from dte_hep_3dgan.task import ShowerGAN

    wanted = config.evaluate.events
    path = ShowerGAN(config).data_path()
    file = ShowerFile(path, config.data.root_cache_mb, config.data)
    _, val = split(file.events, config.data.val_fraction)
    take = range(val.start, min(val.stop, val.start + wanted))
    showers = file.read_range(take.start, take.stop)
    energy, theta = file.energy[take.start:take.stop], file.theta[take.start:take.stop]
    described = f"{len(take)} validation showers of {path}"
    missing = wanted - len(take)
    if missing > 0 and config.data.path is None:
        d = config.data
        extra = [gflash.block(start, min(64, missing - start), d.seed + 1_000_003,
                              d.energy_range, d.theta_range) for start in range(0, missing, 64)]
        showers = np.concatenate([showers, *(e[0] for e in extra)])
        energy = np.concatenate([energy, *(e[1] for e in extra)])
        theta = np.concatenate([theta, *(e[2] for e in extra)])
        described += f" + {missing} new GFlash showers (seed {d.seed + 1_000_003})"
    return showers, energy.astype(np.float64), theta.astype(np.float64), described


def gflash_sample(energy: np.ndarray, theta: np.ndarray, seed: int = 7
                  ) -> tuple[np.ndarray, float]:
    """(GFlash showers for the same conditions with another random stream, showers per
    second in this process): the baseline, whose differences from the reference are the
    statistical floor of every metric."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(energy), *gflash.SHAPE), dtype=np.float32)
    started = time.perf_counter()
    for i, (e, t) in enumerate(zip(energy, theta, strict=True)):
        out[i] = gflash.shower(float(e), float(np.degrees(t)), rng)
    return out, len(energy) / (time.perf_counter() - started)


def targets_table(metrics: dict[str, float]) -> str:
    """The physics targets beside the GAN's and the GFlash baseline's values."""
    lines = [f"{'metric':<28} {'GAN':>8} {'GFlash':>8} {'target':>7}  met"]
    for key, target in TARGETS.items():
        gan, base = metrics[key], metrics[f"baseline_{key}"]
        lines.append(f"{key:<28} {gan:>8.3f} {base:>8.3f} {target:>7.2f}  "
                     f"{'yes' if abs(gan) <= target else 'no'}")
    lines.append(f"{'occupancy (cells)':<28} {metrics['occupancy_generated']:>8.0f} "
                 f"{metrics['baseline_occupancy_generated']:>8.0f}    real "
                 f"{metrics['occupancy_real']:.0f}")
    return "\n".join(lines)


def evaluate(config: Any, models: dict[str, Any], out: Path) -> dict[str, float]:
    """Metrics of the generator vs the reference; PNG figures and details.json into `out`."""
    import torch

    from dte_hep_3dgan.predict import generate

    ev = config.evaluate
    real, energy, theta, described = reference_sample(config)
    print(f"hep-3dgan: comparing with {described}", file=sys.stderr, flush=True)
    generator = models["generator"]
    generate(config, generator, energy[:ev.batch_size], theta[:ev.batch_size],
             batch_size=ev.batch_size)  # warm-up, not timed
    device = next(generator.parameters()).device
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    fake = generate(config, generator, energy, theta, seed=1, batch_size=ev.batch_size)
    if device.type == "cuda":
        torch.cuda.synchronize()
    gan_rate = len(fake) / (time.perf_counter() - started)
    baseline, gflash_rate = gflash_sample(energy, theta)

    obs_real, obs_fake = Observables.of(real, energy), Observables.of(fake, energy)
    metrics, details = compare(obs_real, obs_fake, ev.min_layer_fraction, ev.energy_bins)
    floor, _ = compare(obs_real, Observables.of(baseline, energy), ev.min_layer_fraction,
                       ev.energy_bins)
    metrics.update({f"baseline_{k}": floor[k] for k in BASELINE_KEYS})
    metrics.update(events=float(len(real)), gan_showers_per_s=gan_rate,
                   gflash_showers_per_s=gflash_rate, speedup_vs_gflash=gan_rate / gflash_rate)
    print(f"hep-3dgan: physics targets (GFlash: another GFlash sample for the same "
          f"conditions)\n{targets_table(metrics)}", file=sys.stderr, flush=True)
    details["reference"] = described
    details["device"] = str(device)
    (out / "details.json").write_text(json.dumps(details, indent=1))

    edges = energy_bins(obs_real.energy, ev.energy_bins)
    plots.profiles(obs_real, obs_fake, out)
    plots.deposit(obs_real, obs_fake, edges, *deposit_ratio_by_bin(obs_real, edges),
                  *deposit_ratio_by_bin(obs_fake, edges), out)
    plots.shapes(obs_real.moments(), obs_fake.moments(), out)
    plots.cells(obs_real, obs_fake, out)
    return {k: float(v) for k, v in metrics.items()}
