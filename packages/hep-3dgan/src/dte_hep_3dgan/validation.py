"""Physics observables of showers, their generated-vs-reference comparison, and the
validation metrics logged during training (numpy only).

All observables are computed from showers in GeV, shape (n, 51, 51, 25) = (x, y, layer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: cells at or above this visible energy count as hit (GeV; about a tenth of a MIP in 0.5 mm
#: of silicon)
HIT_THRESHOLD = 1e-5
#: the physics targets (issue 17) of the largest relative differences; `target_ratio` is the
#: worst metric over its target (<= 1: every target met)
TARGETS = {"longitudinal_max_rel_diff": 0.25, "transverse_x_max_rel_diff": 0.25,
           "transverse_y_max_rel_diff": 0.25, "deposit_ratio_max_rel_diff": 0.15,
           "occupancy_rel_diff": 0.30}
#: equal-width Ep bins of data.energy_range for the validation deposit/Ep per bin
VAL_ENERGY_BINS = 5
#: the prefix of each profile's parts in the validation means
PART = {"longitudinal": "profile", "x": "x_profile", "y": "y_profile"}


@dataclass
class Observables:
    """Per-shower observables of a sample."""

    energy: np.ndarray  # (n,) primary energy, GeV
    deposit: np.ndarray  # (n,) total visible GeV
    longitudinal: np.ndarray  # (n, 25) GeV per layer
    x_profile: np.ndarray  # (n, 51) GeV per x column
    y_profile: np.ndarray  # (n, 51) GeV per y row
    occupancy: np.ndarray  # (n,) hit cells
    cell_log_energy: np.ndarray  # log10 GeV of hit cells (a sample of at most 200k)

    @classmethod
    def of(cls, showers: np.ndarray, energy: np.ndarray, seed: int = 0) -> Observables:
        showers = np.asarray(showers, dtype=np.float32)
        hits = showers[showers >= HIT_THRESHOLD]
        if hits.size > 200_000:
            hits = np.random.default_rng(seed).choice(hits, 200_000, replace=False)
        return cls(energy=np.asarray(energy, dtype=np.float64),
                   deposit=showers.sum(axis=(1, 2, 3), dtype=np.float64),
                   longitudinal=showers.sum(axis=(1, 2), dtype=np.float64),
                   x_profile=showers.sum(axis=(2, 3), dtype=np.float64),
                   y_profile=showers.sum(axis=(1, 3), dtype=np.float64),
                   occupancy=(showers >= HIT_THRESHOLD).sum(axis=(1, 2, 3)).astype(np.float64),
                   cell_log_energy=np.log10(hits.astype(np.float64)))

    def moments(self) -> dict[str, np.ndarray]:
        """Shower-shape moments: centroid and width along depth (layers), x and y (cells)."""
        out = {}
        for name, profile in (("long", self.longitudinal), ("x", self.x_profile),
                              ("y", self.y_profile)):
            position = np.arange(profile.shape[1]) + 0.5
            total = np.maximum(profile.sum(axis=1), 1e-12)
            mean = (profile * position).sum(axis=1) / total
            var = (profile * (position[None] - mean[:, None]) ** 2).sum(axis=1) / total
            out[f"{name}_centroid"] = mean
            out[f"{name}_width"] = np.sqrt(np.maximum(var, 0))
        return out


def wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """1-Wasserstein (earth mover's) distance between two 1-D samples."""
    a, b = np.sort(np.asarray(a, np.float64)), np.sort(np.asarray(b, np.float64))
    if a.size == 0 or b.size == 0:
        return float("nan")
    grid = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(a, grid[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, grid[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * np.diff(grid)))


def profile_difference(real: np.ndarray, fake: np.ndarray, min_fraction: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(relative difference per bin of the mean profiles, mask of bins whose reference mean
    is at least `min_fraction` of the reference profile's maximum)."""
    mean_real, mean_fake = real.mean(axis=0), fake.mean(axis=0)
    rel = (mean_fake - mean_real) / np.maximum(mean_real, 1e-12)
    return rel, mean_real >= min_fraction * max(mean_real.max(), 1e-12)


def target_ratio(metrics: Mapping[str, float]) -> float:
    """The worst of the TARGETS metrics over its target (<= 1: every target met)."""
    return max(abs(metrics[k]) / t for k, t in TARGETS.items())


def energy_bins(energy: np.ndarray, bins: int) -> np.ndarray:
    """Bin edges holding about equally many showers."""
    edges = np.quantile(energy, np.linspace(0, 1, bins + 1))
    edges[-1] = np.nextafter(edges[-1], np.inf)
    return edges


def deposit_ratio_by_bin(obs: Observables, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard error) of deposit / Ep in each energy bin."""
    ratio = obs.deposit / obs.energy
    which = np.digitize(obs.energy, edges) - 1
    means, errors = [], []
    for b in range(len(edges) - 1):
        sel = ratio[which == b]
        means.append(sel.mean() if sel.size else np.nan)
        errors.append(sel.std(ddof=1) / np.sqrt(sel.size) if sel.size > 1 else np.nan)
    return np.array(means), np.array(errors)


def linear_fit(obs: Observables) -> tuple[float, float]:
    """(slope = sampling fraction, intercept GeV) of deposit vs Ep."""
    slope, intercept = np.polyfit(obs.energy, obs.deposit, 1)
    return float(slope), float(intercept)


def compare(real: Observables, fake: Observables, min_fraction: float = 0.01,
            bins: int = 5) -> tuple[dict[str, float], dict[str, list[float]]]:
    """(summary metrics, per-bin details) of generated vs reference showers."""
    metrics: dict[str, float] = {}
    details: dict[str, list[float]] = {}
    for name, r, f in (("longitudinal", real.longitudinal, fake.longitudinal),
                       ("transverse_x", real.x_profile, fake.x_profile),
                       ("transverse_y", real.y_profile, fake.y_profile)):
        rel, used = profile_difference(r, f, min_fraction)
        metrics[f"{name}_max_rel_diff"] = float(np.abs(rel[used]).max()) if used.any() \
            else float("nan")
        metrics[f"{name}_mean_rel_diff"] = float(np.abs(rel[used]).mean()) if used.any() \
            else float("nan")
        details[f"{name}_rel_diff"] = rel.tolist()
        details[f"{name}_used"] = used.astype(float).tolist()
        details[f"{name}_mean_real"] = r.mean(axis=0).tolist()
        details[f"{name}_mean_generated"] = f.mean(axis=0).tolist()
    metrics["longitudinal_layers_within_10pct"] = float(
        (np.abs(np.array(details["longitudinal_rel_diff"]))[
            np.array(details["longitudinal_used"], bool)] <= 0.10).mean())
    edges = energy_bins(real.energy, bins)
    ratio_real, err_real = deposit_ratio_by_bin(real, edges)
    ratio_fake, err_fake = deposit_ratio_by_bin(fake, edges)
    rel_ratio = (ratio_fake - ratio_real) / ratio_real
    metrics["deposit_ratio_max_rel_diff"] = float(np.nanmax(np.abs(rel_ratio)))
    metrics["deposit_ratio_real"] = float(np.mean(real.deposit / real.energy))
    metrics["deposit_ratio_generated"] = float(np.mean(fake.deposit / fake.energy))
    slope_r, icpt_r = linear_fit(real)
    slope_f, icpt_f = linear_fit(fake)
    metrics.update(sampling_fraction_real=slope_r, sampling_fraction_generated=slope_f,
                   sampling_fraction_rel_diff=(slope_f - slope_r) / slope_r,
                   linearity_real=float(np.nanmax(np.abs(ratio_real / slope_r - 1))),
                   linearity_generated=float(np.nanmax(np.abs(ratio_fake / slope_f - 1))))
    details.update(energy_bin_edges=edges.tolist(), deposit_ratio_real=ratio_real.tolist(),
                   deposit_ratio_real_err=err_real.tolist(),
                   deposit_ratio_generated=ratio_fake.tolist(),
                   deposit_ratio_generated_err=err_fake.tolist(),
                   deposit_ratio_rel_diff=rel_ratio.tolist())
    shapes_r, shapes_f = real.moments(), fake.moments()
    for key in shapes_r:
        metrics[f"w1_{key}"] = wasserstein(shapes_r[key], shapes_f[key])
    metrics["w1_deposit_ratio"] = wasserstein(real.deposit / real.energy,
                                              fake.deposit / fake.energy)
    metrics["w1_occupancy"] = wasserstein(real.occupancy, fake.occupancy)
    metrics["w1_cell_log10_energy"] = wasserstein(real.cell_log_energy, fake.cell_log_energy)
    metrics["occupancy_real"] = float(real.occupancy.mean())
    metrics["occupancy_generated"] = float(fake.occupancy.mean())
    metrics["occupancy_rel_diff"] = (metrics["occupancy_generated"] - metrics["occupancy_real"]
                                     ) / max(metrics["occupancy_real"], 1e-12)
    metrics["target_ratio"] = target_ratio(metrics)
    return metrics, details


def _max_rel_diff(real: list[float], fake: list[float], min_fraction: float) -> float:
    """Largest |fake - real| / real over bins whose real value is >= min_fraction x max."""
    floor = min_fraction * max(max(real), 1e-12)
    diffs = [abs(f - r) / r for r, f in zip(real, fake, strict=True) if r >= floor and r > 0]
    return max(diffs) if diffs else float("nan")


def training_summary(means: Mapping[str, float], min_fraction: float) -> dict[str, float]:
    """The validation metrics of a training epoch from the per-batch means of the task's
    validation step, named as `compare` names them: the largest relative difference of the
    mean longitudinal and x / y transverse profiles (bins with at least `min_fraction` of the
    maximum), of deposit/Ep over the Ep bins holding showers, the occupancy difference, and
    `target_ratio`; plus `profile_max_rel_diff` (the longitudinal one, the best-checkpoint
    monitor of earlier runs) and the overall `deposit_ratio_rel_diff`."""
    out: dict[str, float] = {}
    for axis, name in (("longitudinal", "longitudinal"), ("x", "transverse_x"),
                       ("y", "transverse_y")):
        part = PART[axis]
        cells = sorted(int(k.rsplit("_", 1)[1]) for k in means if k.startswith(f"_{part}/real_"))
        real = [means[f"_{part}/real_{i:02d}"] for i in cells]
        fake = [means[f"_{part}/fake_{i:02d}"] for i in cells]
        out[f"{name}_max_rel_diff"] = _max_rel_diff(real, fake, min_fraction)
    out["profile_max_rel_diff"] = out["longitudinal_max_rel_diff"]
    ratio_real, ratio_fake = means["deposit_ratio_real"], means["deposit_ratio_fake"]
    out["deposit_ratio_rel_diff"] = abs(ratio_fake - ratio_real) / max(ratio_real, 1e-12)
    by_bin = [abs(means[f"_deposit_bin/fake_{b}"] - means[f"_deposit_bin/real_{b}"])
              / means[f"_deposit_bin/real_{b}"]
              for b in range(VAL_ENERGY_BINS)
              if means.get(f"_bin/{b}", 0) > 0 and means[f"_deposit_bin/real_{b}"] > 0]
    out["deposit_ratio_max_rel_diff"] = max(by_bin) if by_bin else float("nan")
    occ_real, occ_fake = means["occupancy_real"], means["occupancy_fake"]
    out["occupancy_rel_diff"] = (occ_fake - occ_real) / max(occ_real, 1e-12)
    out["target_ratio"] = target_ratio(out)
    return out
