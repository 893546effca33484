"""`dte predict virgo-gw`: predicted, glitch-estimate and cleaned main-channel maps, as HDF5."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from dte_core.errors import ConfigError

from dte_virgo_gw import data as vdata
from dte_virgo_gw import signature
from dte_virgo_gw.evaluate import floor_statistic, run_network
from dte_virgo_gw.task import FLOOR_SAMPLES, iter_maps, noise_floor

PREDICT_OPTIONS = {"split": "all | train | val: which samples (default: all of --input, "
                            "else the held-out samples of the run's dataset)",
                   "batch_size": "samples per forward pass"}


def predict(config, net, output: Path, inputs: Path | None, options: dict[str, str]) -> Path:
    """Write predicted, glitch-estimate and cleaned maps of a dataset to `output` (HDF5)."""
    import h5py

    from dte_virgo_gw.generate import dataset_for

    unknown = sorted(set(options) - set(PREDICT_OPTIONS))
    if unknown:
        allowed = "; ".join(f"--{k}: {v}" for k, v in PREDICT_OPTIONS.items())
        raise ConfigError(f"Unknown option(s) {', '.join('--' + u for u in unknown)} for "
                          f"`dte predict virgo-gw`. Allowed: {allowed}.")
    file = vdata.dataset_file(inputs) if inputs is not None else dataset_for(config)
    info = vdata.inspect(file)
    signature.check(config, info, "predict")  # refuse input unlike the training data
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
        floor, how = noise_floor(file, train, floor_statistic(config)), "training noise maps"
    else:  # no noise maps: the level the network predicts most of the time (glitches are rare)
        first = range(indices.start, min(indices.stop, indices.start + FLOOR_SAMPLES))
        pred = np.concatenate([run_network(net, c[0]) for c in iter_maps(file, first,
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
                pred = run_network(net, aux)
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
