"""`dte data check virgo-gw PATH...`: what is in datasets and strain files, and how training
(or `dte data prepare`) would read them."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import DteError, checking

from dte_virgo_gw import data as vdata
from dte_virgo_gw import sources


def _is_dataset(path: Path) -> bool:
    try:
        file = vdata.dataset_file(path)
    except DteError:
        return False
    if not file.is_file():
        return False
    import h5py

    try:
        with h5py.File(file, "r") as f:
            return f.attrs.get("format") == vdata.FORMAT
    except OSError:
        return False


def _dataset(path: Path, config: Any, lines: list[tuple[str, str]]) -> None:
    from dte_virgo_gw.signature import of_info

    info = vdata.inspect(path)
    sig = of_info(info)
    lines += [(str(info.file), f"virgo-gw dataset ({info.kind or 'unknown kind'}), "
                              f"{info.samples} samples")]
    lines.append(("  sample rate", f"{sig.get('sample_rate', '?')} Hz"))
    lines.append(("  band", f"{', '.join(f'{v:g}' for v in sig.get('frequency_range', []))}"
                            f" Hz, Q range {', '.join(f'{v:g}' for v in sig.get('q_range', []))}"))
    lines.append(("  durations", f"{sig.get('duration', '?')} s per sample, "
                                 f"{sig.get('pad', '?')} s padding"))
    lines.append(("  maps", f"{info.map_shape[0]} frequencies x {info.map_shape[1]} times, "
                            f"normalised by {sig.get('norm', '?')}"))
    lines.append(("  main channel", info.main))
    lines.append(("  aux channels", f"{info.aux_channels}: {', '.join(info.aux)}"))
    lines.append(("  truth", "glitch and binary maps (generated)" if info.has_truth
                  else "none (real data: metrics without truth)"))
    vdata.check_compatible(info, config, "train")
    command = shlex.join(["dte", "train", "virgo-gw", "--set", f"data.path={info.file}"])
    lines.append(("dte reads", f"yes, as training data: `{command}`; or as predict input of a "
                               f"model trained on data with these attributes"))


def _strain(path: Path, config: Any, lines: list[tuple[str, str]]) -> None:
    pieces, available = sources.read(path, set())
    lines += [(str(path), f"strain file ({'GWF frame' if path.suffix == '.gwf' else 'HDF5'}), "
                         f"{len(available)} channel(s)")]
    if path.suffix.lower() != ".gwf":
        pieces = sources._read_hdf5(path, available)
        for piece in pieces:
            finite = np.isfinite(piece.values)
            lines.append((f"  {piece.channel}",
                          f"{piece.sample_rate:g} Hz, GPS {piece.t0:.1f} to {piece.end:.1f} "
                          f"({piece.end - piece.t0:g} s)"
                          + ("" if finite.all() else f", {int((~finite).sum())} non-finite "
                                                     f"samples (data.skip_nonfinite)")))
    else:
        for channel in available:
            lines.append((f"  {channel}", "channel"))
    data = config.data
    main = data.main if data.main in available else (available[0] if available else "MAIN")
    aux = [a for a in data.aux if a in available] or [c for c in available if c != main][:1]
    spans = {p.channel: p.end - p.t0 for p in pieces}
    need = max(data.asd_fftlength, data.whiten_fduration, data.duration + 2 * data.pad)
    if main in spans and spans[main] < need:
        raise DteError(
            f"{path}: the main channel {main} has {spans[main]:g} s of data, fewer than "
            f"`dte data prepare` needs for one sample ({need:g} s: the ASD's data.asd_fftlength="
            f"{data.asd_fftlength:g}, data.whiten_fduration={data.whiten_fduration:g}, "
            f"data.duration={data.duration:g} + 2 x data.pad={data.pad:g}). Use a longer "
            f"stretch of strain, or smaller values (e.g. --asd-fftlength 1 --duration 0.5).")
    command = ["dte", "data", "prepare", "virgo-gw", "--from", str(path), "--main", main]
    for channel in aux:
        command += ["--aux", channel]
    command += ["--out", "DIR"]
    witness = ("" if aux else " This file has no auxiliary (witness) channel besides the "
               "strain: add a file with witness channels as another --from.")
    lines.append(("dte reads", f"through prepare (Q-transform maps at data.sample_rate="
                               f"{data.sample_rate} Hz, band {data.frequency_range[0]:g}-"
                               f"{data.frequency_range[1]:g} Hz): `{shlex.join(command)}`."
                               f"{witness}"))


def check(config: Any, paths: list[Path]) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    with checking(lines):
        for path in paths:
            if _is_dataset(path):
                _dataset(path, config, lines)
            elif path.is_file() and path.suffix.lower() in (sources.HDF5_SUFFIXES
                                                             | sources.GWF_SUFFIXES):
                _strain(path, config, lines)
            else:
                raise DteError(
                    f"{path} is neither a virgo-gw dataset (from `dte data generate|prepare "
                    f"virgo-gw`) nor a strain file (GWOSC/gwpy HDF5 .h5/.hdf5, GWF frames "
                    f".gwf). Give one of those.")
        return lines
