"""`dte evaluate virgo-gw`: held-out metrics of the denoiser and the linear baseline, figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from dte_core import evaluated

from dte_virgo_gw import data as vdata
from dte_virgo_gw import plots, signature, strain, validation
from dte_virgo_gw.baseline import LinearBaseline
from dte_virgo_gw.config import MORPHOLOGIES
from dte_virgo_gw.model import inputs, parameter_count
from dte_virgo_gw.task import estimate, floor_statistic, iter_maps, noise_floor

#: per-family groups of held-out samples: one glitch family only, several, or no glitch; and
#: `<family>_weak`, those of one family whose glitches are all below WEAK_SNR in h(t)
GROUPS = (*MORPHOLOGIES, "mixed", "none", *(f"{m}_weak" for m in MORPHOLOGIES))
WEAK_SNR = 15.0  # in-band SNR of the coupled glitch in the main channel (`glitches/snr_main`)
PREFIX = {"denoiser": "", "baseline": "baseline_"}


@torch.no_grad()
def run_network(net, aux: np.ndarray, main: np.ndarray, config, floor=None) -> np.ndarray:
    """The predicted main maps P (B, F, T) of a batch (see `task.estimate`)."""
    m = torch.from_numpy(np.asarray(main, np.float32))[:, None]
    z = net(inputs(torch.from_numpy(aux), m, config.model.main_input)).float()
    f = None if floor is None else torch.from_numpy(np.asarray(floor, np.float32))[None, None]
    return estimate(z, m, f, config.model.target).numpy()[:, 0]


def families(file: Path, indices: range) -> list[list[str]]:
    """The groups of each sample: its one glitch family (and `<family>_weak` when all its
    glitches are weak), 'mixed' or 'none'."""
    with vdata.open_h5(file) as f:
        if "glitches/sample" not in f:
            return [["none"] for _ in indices]
        owner = f["glitches/sample"][()]
        kind = f["glitches/morphology"][()].astype(str)
        snr = f["glitches/snr_main"][()]
    seen: dict[int, set[str]] = {}
    loudest: dict[int, float] = {}
    for i, m, s in zip(owner, kind, snr, strict=True):
        seen.setdefault(int(i), set()).add(m)
        loudest[int(i)] = max(loudest.get(int(i), 0.0), float(s))
    out = []
    for i in indices:
        found = seen.get(i, set())
        if len(found) != 1:
            out.append(["mixed" if found else "none"])
            continue
        family = next(iter(found))
        out.append([family] + ([f"{family}_weak"] if loudest[i] < WEAK_SNR else []))
    return out


def evaluate(config, net, out: Path) -> dict[str, float]:
    """Metrics of the network and of the linear baseline on the held-out samples."""
    from dte_virgo_gw.generate import dataset_for

    file = dataset_for(config)
    info = vdata.inspect(file)
    signature.check(config, info, "evaluate")  # refuse input unlike the training data
    train, held = vdata.split(info.samples, config.data.val_fraction)
    ev = config.evaluate
    net = net.cpu().eval()
    baseline = LinearBaseline.fit(iter_maps(file, train, ("maps/aux", "maps/main")),
                                  ev.baseline_lags, ev.baseline_ridge)
    floors, groups = {}, []
    if info.has_truth:
        floors = {"denoiser": noise_floor(file, train, floor_statistic(config)),
                  "baseline": noise_floor(file, train, "mean")}
        groups = families(file, held)
    names = ["maps/aux", "maps/main"] + (["truth/glitch", "truth/cbc", "series/main"]
                                         if info.has_truth else [])
    sums: dict[str, float] = {}
    per_group: dict[str, dict[str, float]] = {}
    strain_sums: dict[str, dict[str, float]] = {}
    before, after = [], {"denoiser": [], "baseline": []}
    shown: list[dict[str, Any]] = []
    for lo, chunk in zip(range(held.start, held.stop, ev.batch_size),
                         iter_maps(file, held, tuple(names), ev.batch_size), strict=True):
        aux, main = chunk[0], chunk[1]
        glitch, cbc = (chunk[2], chunk[3]) if info.has_truth else (None, None)
        preds = {"denoiser": run_network(net, aux, main, config, floors.get("denoiser")),
                 "baseline": baseline.predict(aux)}
        for name, pred in preds.items():
            floor = floors.get(name)
            metrics = validation.batch_metrics(
                torch.from_numpy(pred), torch.from_numpy(main),
                None if glitch is None else torch.from_numpy(glitch),
                None if cbc is None else torch.from_numpy(cbc),
                None if floor is None else torch.from_numpy(floor)[None],
                prefix=PREFIX[name])
            for key, value in metrics.items():
                sums[key] = sums.get(key, 0.0) + float(value) * len(aux)
            if glitch is not None:
                _add_groups(per_group, groups[lo - held.start:lo - held.start + len(aux)],
                            validation.sample_sums(pred, glitch, cbc, floor[None]), PREFIX[name])
                g_before, g_after = validation.per_sample_db(glitch, pred - floor[None])
                after[name].extend(g_after)
                if name == "denoiser":
                    before.extend(g_before)
        if info.has_truth:
            estimates = {name: pred - floors[name][None] for name, pred in preds.items()}
            found = strain.truth_sums(info, chunk[4].shape[1], range(lo, lo + len(aux)), main,
                                      estimates, chunk[4])
            for name, values in (found or {}).items():
                for key, value in values.items():
                    k = f"{PREFIX[name]}{key}"
                    strain_sums[k] = strain_sums.get(k, 0.0) + value
        shown.extend(_candidates(lo, aux, main, preds["denoiser"], glitch,
                                 floors.get("denoiser")))
        shown = sorted(shown, key=lambda s: -s["score"])[:ev.examples]  # keep the loudest
    n = len(held)
    means = {k: v / n for k, v in sums.items()}
    metrics = {"heldout_samples": float(n), "parameters": float(parameter_count(net)),
               "l1": means["l1"], "mse": means["mse"],
               "baseline_l1": means["baseline_l1"], "baseline_mse": means["baseline_mse"]}
    metrics.update(validation.summary(means))
    metrics.update(validation.summary(means, prefix="baseline_"))
    metrics.update(_group_metrics(per_group))
    for prefix in PREFIX.values():
        found = validation.summary(strain_sums, prefix=prefix)
        metrics.update({f"{prefix}strain_{k.removeprefix(prefix)}": v for k, v in found.items()})
    key = "glitch_removed_db" if "glitch_removed_db" in metrics else "l1"
    better = (metrics[key] > metrics[f"baseline_{key}"] if key == "glitch_removed_db"
              else metrics[key] < metrics[f"baseline_{key}"])
    metrics["beats_baseline"] = float(better)
    plots.examples(out / "examples.png", shown, info.aux, info.frequencies,
                   info.times, f"{evaluated.title(out, 'virgo-gw')}\n{_headline(metrics)}")
    if before:
        plots.glitch_power(out / "glitch_power.png", np.asarray(before),
                           {k: np.asarray(v) for k, v in after.items()},
                           {"denoiser": metrics.get("glitch_removed_db", float("nan")),
                            "baseline": metrics.get("baseline_glitch_removed_db",
                                                    float("nan"))})
    return metrics


def _add_groups(per_group: dict, groups: list[list[str]], values: dict[str, np.ndarray],
                prefix: str) -> None:
    """Add each sample's energy sums to its groups' totals."""
    for j, names in enumerate(groups):
        for group in names:
            total = per_group.setdefault(group, {})
            if not prefix:
                total["samples"] = total.get("samples", 0.0) + 1
            for key, v in values.items():
                total[f"{prefix}{key}"] = total.get(f"{prefix}{key}", 0.0) + float(v[j])


def _group_metrics(per_group: dict[str, dict[str, float]]) -> dict[str, float]:
    """`glitch_removed_db/<family>`, `cbc_preserved/<family>` (and baseline_...) and
    `heldout_samples/<family>` of each group that has samples."""
    out = {}
    for group in GROUPS:
        total = per_group.get(group)
        if not total:
            continue
        out[f"heldout_samples/{group}"] = total["samples"]
        for prefix in PREFIX.values():
            for key, value in validation.summary(total, prefix=prefix).items():
                out[f"{key}/{group}"] = value
    return out


def _headline(metrics: dict[str, float]) -> str:
    """The metric that matters, beside the baseline's."""
    if "glitch_removed_db" in metrics:
        return (f"glitch power removed {metrics['glitch_removed_db']:.2f} dB "
                f"(linear baseline {metrics['baseline_glitch_removed_db']:.2f} dB)")
    return f"L1 {metrics['l1']:.4g} (linear baseline {metrics['baseline_l1']:.4g})"


def _candidates(lo, aux, main, pred, glitch, floor) -> list[dict[str, Any]]:
    """Samples worth drawing: the loudest glitches (or the loudest main maps)."""
    out = []
    for j in range(len(aux)):
        g_hat = pred[j] - (floor if floor is not None else np.median(pred[j], 1, keepdims=True))
        score = float(glitch[j].sum()) if glitch is not None else float(main[j].max())
        out.append({"index": lo + j, "aux": aux[j], "main": main[j], "prediction": pred[j],
                    "cleaned": main[j] - g_hat, "score": score,
                    "glitch": None if glitch is None else glitch[j]})
    return out
