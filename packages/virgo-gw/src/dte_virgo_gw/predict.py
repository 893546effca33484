"""`dte predict virgo-gw`: predicted, glitch-estimate and cleaned main-channel maps, and with
`--strain` the cleaned main-channel series h(t), as HDF5."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from dte_core.errors import ConfigError

from dte_virgo_gw import data as vdata
from dte_virgo_gw import signature, strain
from dte_virgo_gw.evaluate import run_network
from dte_virgo_gw.task import FLOOR_SAMPLES, floor_statistic, iter_maps, noise_floor

PREDICT_OPTIONS = {"split": "all | train | val: which samples (default: all of --input, "
                            "else the held-out samples of the run's dataset)",
                   "batch_size": "samples per forward pass",
                   "strain": "also write the cleaned main-channel series h(t) as series/cleaned "
                             "(a bare --strain, or --strain true|false)"}
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def predict(config, net, output: Path, inputs: Path | None, options: dict[str, str]) -> Path:
    """Write predicted, glitch-estimate and cleaned maps of a dataset to `output` (HDF5)."""
    import h5py

    from dte_virgo_gw.generate import dataset_for

    unknown = sorted(set(options) - set(PREDICT_OPTIONS))
    if unknown:
        allowed = "; ".join(f"--{k}: {v}" for k, v in PREDICT_OPTIONS.items())
        raise ConfigError(f"Unknown option(s) {', '.join('--' + u for u in unknown)} for "
                          f"`dte predict virgo-gw`. Allowed: {allowed}.")
    with_strain = _flag(options.get("strain", "false"))
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
    target = config.model.target
    length = _series_length(file) if with_strain else 0
    if info.has_truth:
        floor, how = noise_floor(file, train, floor_statistic(config)), "training noise maps"
    else:  # no noise maps: the level predicted most of the time (glitches are rare)
        first = range(indices.start, min(indices.stop, indices.start + FLOOR_SAMPLES))
        maps = np.concatenate([run_network(net, aux, main, config) if target == "main" else main
                               for aux, main in iter_maps(file, first, ("maps/aux", "maps/main"),
                                                          batch)])
        floor = np.median(np.moveaxis(maps, 1, 0).reshape(maps.shape[1], -1), axis=1)[:, None]
        how = ("median of the predictions (glitches are rare)" if target == "main" else
               "median of the main maps (glitches are rare)")
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
    n, shape = len(indices), (len(indices), *info.map_shape)
    names = ("maps/aux", "maps/main", "samples/gps_start") + (("series/main",) if with_strain
                                                              else ())
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
            cleaned = grid = whitener = None
            if with_strain:
                grid, whitener = strain.Grid.of(info, length), strain.Whitener(info, length)
                cleaned = _strain_dataset(f, info, n, length, whitener.units)
            done = 0
            for chunk in iter_maps(file, indices, names, batch):
                aux, main, start = chunk[:3]
                pred = run_network(net, aux, main, config, floor)
                g_hat = pred - floor[None]
                part = slice(done, done + len(aux))
                out["prediction"][part] = pred
                out["glitch_estimate"][part] = g_hat
                out["cleaned"][part] = main - g_hat
                gps[part] = start
                if cleaned is not None:
                    cleaned[part] = strain.clean(chunk[3], main, g_hat, grid, whitener)
                done += len(aux)
        partial.rename(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return output


def _flag(value: str) -> bool:
    """--strain's value as a boolean, or a clear error."""
    found = BOOLEANS.get(str(value).strip().lower())
    if found is None:
        raise ConfigError(f"--strain {value} is not a yes/no value: give a bare --strain (or "
                          f"--strain true) to write the cleaned series h(t), --strain false "
                          f"for maps only.")
    return found


def _series_length(file: Path) -> int:
    """Points per stored main-channel series, or a clear error when there are none."""
    with vdata.open_h5(file) as f:
        if "series/main" not in f or f["series/main"].ndim != 2 or f["series/main"].shape[1] < 2:
            raise ConfigError(f"{file} has no main-channel series (series/main), so --strain "
                              f"has nothing to clean. Predict without --strain for the maps, "
                              f"or prepare the dataset again with `dte data prepare virgo-gw`.")
        return int(f["series/main"].shape[1])


def _strain_dataset(f, info, n: int, length: int, units: str):
    """The output's series/cleaned dataset, described for a reader without dte."""
    ds = f.create_dataset("series/cleaned", (n, length), np.float32, chunks=(1, length))
    ds.attrs.update({"channel": info.main, "sample_rate": info.sample_rate,
                     "pad": float(info.attrs["pad"]), "duration": float(info.attrs["duration"]),
                     "units": units,
                     "method": f"STFT mask ({strain.SEGMENT:g} s segments, "
                               f"{strain.OVERLAP:g} overlap) from the kept energy fraction "
                               f"(main - glitch_estimate) / main of each map pixel"})
    return ds
