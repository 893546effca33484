"""`dte evaluate virgo-gw`: held-out metrics of the denoiser and the linear baseline, figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from dte_core import evaluated

from dte_virgo_gw import data as vdata
from dte_virgo_gw import plots, signature, validation
from dte_virgo_gw.baseline import LinearBaseline
from dte_virgo_gw.model import parameter_count, to_energy
from dte_virgo_gw.task import iter_maps, noise_floor


def floor_statistic(config) -> str:
    """The noise floor the trained network converges to: that of its loss."""
    return "median" if config.optim.loss == "l1" else "logmean"


@torch.no_grad()
def run_network(net, aux: np.ndarray) -> np.ndarray:
    """Predicted main maps (energies) of a batch of auxiliary maps."""
    return to_energy(net(torch.from_numpy(aux)).float()).numpy()[:, 0]


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
    floors = {}
    if info.has_truth:
        floors = {"denoiser": noise_floor(file, train, floor_statistic(config)),
                  "baseline": noise_floor(file, train, "mean")}
    names = ["maps/aux", "maps/main"] + (["truth/glitch", "truth/cbc"] if info.has_truth
                                         else [])
    sums: dict[str, float] = {}
    before, after = [], {"denoiser": [], "baseline": []}
    shown: list[dict[str, Any]] = []
    for lo, chunk in zip(range(held.start, held.stop, ev.batch_size),
                         iter_maps(file, held, tuple(names), ev.batch_size), strict=True):
        aux, main = chunk[0], chunk[1]
        glitch, cbc = (chunk[2], chunk[3]) if info.has_truth else (None, None)
        preds = {"denoiser": run_network(net, aux), "baseline": baseline.predict(aux)}
        for name, pred in preds.items():
            floor = floors.get(name)
            metrics = validation.batch_metrics(
                torch.from_numpy(pred), torch.from_numpy(main),
                None if glitch is None else torch.from_numpy(glitch),
                None if cbc is None else torch.from_numpy(cbc),
                None if floor is None else torch.from_numpy(floor)[None],
                prefix="" if name == "denoiser" else "baseline_")
            for key, value in metrics.items():
                sums[key] = sums.get(key, 0.0) + float(value) * len(aux)
            if glitch is not None:
                g_before, g_after = validation.per_sample_db(glitch, pred - floor[None])
                after[name].extend(g_after)
                if name == "denoiser":
                    before.extend(g_before)
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
