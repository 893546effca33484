"""`dte evaluate virgo-gw` (held-out metrics, baseline, figures) and `dte predict virgo-gw`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from dte_core.errors import ConfigError

from dte_virgo_gw import data as vdata
from dte_virgo_gw import plots, validation
from dte_virgo_gw.baseline import LinearBaseline
from dte_virgo_gw.model import parameter_count, to_energy
from dte_virgo_gw.task import FLOOR_SAMPLES, iter_maps, noise_floor


def _floor_statistic(config) -> str:
    return "median" if config.optim.loss == "l1" else "logmean"


@torch.no_grad()
def _predict(net, aux: np.ndarray) -> np.ndarray:
    return to_energy(net(torch.from_numpy(aux)).float()).numpy()[:, 0]


def evaluate(config, net, out: Path) -> dict[str, float]:
    """Metrics of the network and of the linear baseline on the held-out samples."""
    from dte_virgo_gw.cache import dataset_for

    file = dataset_for(config)
    info = vdata.inspect(file)
    vdata.check_compatible(info, config)
    train, held = vdata.split(info.samples, config.data.val_fraction)
    ev = config.evaluate
    net = net.cpu().eval()
    baseline = LinearBaseline.fit(iter_maps(file, train, ("maps/aux", "maps/main")),
                                  ev.baseline_lags, ev.baseline_ridge)
    floors = {}
    if info.has_truth:
        floors = {"denoiser": noise_floor(file, train, _floor_statistic(config)),
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
        preds = {"denoiser": _predict(net, aux), "baseline": baseline.predict(aux)}
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
                   info.times)
    if before:
        plots.glitch_power(out / "glitch_power.png", np.asarray(before),
                           {k: np.asarray(v) for k, v in after.items()},
                           {"denoiser": metrics.get("glitch_removed_db", float("nan")),
                            "baseline": metrics.get("baseline_glitch_removed_db",
                                                    float("nan"))})
    return metrics


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


PREDICT_OPTIONS = {"split": "all | train | val: which samples (default: all of --input, "
                            "else the held-out samples of the run's dataset)",
                   "batch_size": "samples per forward pass"}


def predict(config, net, output: Path, inputs: Path | None, options: dict[str, str]) -> Path:
    """Write predicted, glitch-estimate and cleaned maps of a dataset to `output` (HDF5)."""
    import h5py

    from dte_virgo_gw.cache import dataset_for

    unknown = sorted(set(options) - set(PREDICT_OPTIONS))
    if unknown:
        allowed = "; ".join(f"--{k}: {v}" for k, v in PREDICT_OPTIONS.items())
        raise ConfigError(f"Unknown option(s) {', '.join('--' + u for u in unknown)} for "
                          f"`dte predict virgo-gw`. Allowed: {allowed}.")
    file = vdata.dataset_file(inputs) if inputs is not None else dataset_for(config)
    info = vdata.inspect(file)
    vdata.check_compatible(info, config)
    train, held = vdata.split(info.samples, config.data.val_fraction)
    which = options.get("split", "all" if inputs is not None else "val")
    ranges = {"all": range(info.samples), "train": train, "val": held}
    if which not in ranges:
        raise ConfigError(f"--split {which} is not one of all, train, val.")
    try:
        batch = int(options.get("batch_size", config.evaluate.batch_size))
    except ValueError:
        raise ConfigError(f"--batch-size {options['batch_size']} is not a whole number.") from None
    indices = ranges[which]
    net = net.cpu().eval()
    batch = max(1, batch)
    if info.has_truth:
        floor, how = noise_floor(file, train, _floor_statistic(config)), "training noise maps"
    else:  # no noise maps: the level the network predicts most of the time (glitches are rare)
        first = range(indices.start, min(indices.stop, indices.start + FLOOR_SAMPLES))
        pred = np.concatenate([_predict(net, c[0]) for c in iter_maps(file, first,
                                                                      ("maps/aux",), batch)])
        floor = np.median(np.moveaxis(pred, 1, 0).reshape(pred.shape[1], -1), axis=1)[:, None]
        how = "median of the predictions (glitches are rare)"
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
    n, shape = len(indices), (len(indices), *info.map_shape)
    try:
        with h5py.File(partial, "w") as f:
            f.attrs.update({"format": "dte-virgo-gw-prediction", "source": str(file),
                            "split": which, "floor": how, "main_channel": info.main})
            f["samples/index"] = np.asarray(indices, np.int64)
            f["maps/frequencies"] = info.frequencies
            f["maps/times"] = info.times
            f["maps/floor"] = floor.astype(np.float32)
            chunks = (1, *info.map_shape)
            out = {name: f.create_dataset(f"maps/{name}", shape, np.float32, chunks=chunks)
                   for name in ("prediction", "glitch_estimate", "cleaned")}
            gps = f.create_dataset("samples/gps_start", (n,), np.float64)
            done = 0
            for aux, main, start in iter_maps(file, indices, ("maps/aux", "maps/main",
                                                              "samples/gps_start"), batch):
                pred = _predict(net, aux)
                g_hat = pred - floor[None]
                part = slice(done, done + len(aux))
                out["prediction"][part] = pred
                out["glitch_estimate"][part] = g_hat
                out["cleaned"][part] = main - g_hat
                gps[part] = start
                done += len(aux)
        partial.rename(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return output
