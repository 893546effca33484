"""Writing shower files in parallel, and the project's cache of generated training data."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dte_hep_3dgan import gflash
from dte_hep_3dgan.files import SUFFIXES, ShowerWriter, compress_chunks

if TYPE_CHECKING:
    from dte_hep_3dgan.config import DataConfig

#: showers per task handed to a process (and per random stream: fixed, so results do not
#: depend on the number of processes)
BLOCK = 32


def _block(args: tuple[int, int, int, tuple[float, float], tuple[float, float]]):
    return gflash.block(*args)


def _compressed_block(args: tuple[int, int, int, tuple[float, float], tuple[float, float]]):
    ecal, energy, theta = gflash.block(*args)
    return compress_chunks(ecal), energy, theta


def generate_file(path: Path, data: DataConfig, progress: bool = True) -> dict[str, Any]:
    """Generate `data.events` showers into `path` (format `data.format`); returns a summary."""
    events, seed = data.events, data.seed
    tasks = [(start, min(BLOCK, events - start), seed, data.energy_range, data.theta_range)
             for start in range(0, events, BLOCK)]
    # below a few blocks per process, starting processes costs more than it saves
    workers = max(1, min(data.workers or os.cpu_count() or 1, len(tasks) // 2))
    attrs = {"generator": f"dte-hep-3dgan GFlash v{gflash.VERSION}", "seed": seed,
             "energy_range_gev": list(data.energy_range),
             "theta_range_deg": list(data.theta_range),
             "sampling_fraction": gflash.ECAL.sampling_fraction}
    started = time.perf_counter()
    with ShowerWriter(path, data.format, events, attrs) as writer, _progress(
            progress, events) as advance:
        if workers == 1:
            results = map(_block, tasks)
            for ecal, energy, theta in results:
                writer.write(ecal, energy, theta)
                advance(len(ecal))
        else:
            # fork is quick, but a process that imported torch (a training worker) must spawn:
            # forked children would inherit its thread pools
            method = "spawn" if "torch" in sys.modules else "fork"
            with ProcessPoolExecutor(workers, mp_context=get_context(method)) as pool:
                if data.format == "hdf5":  # the processes compress, this one only writes
                    for chunks, energy, theta in pool.map(_compressed_block, tasks):
                        writer.write_chunks(chunks, energy, theta)
                        advance(len(chunks))
                else:
                    for ecal, energy, theta in pool.map(_block, tasks):
                        writer.write(ecal, energy, theta)
                        advance(len(ecal))
    seconds = time.perf_counter() - started
    return {"file": path.name, "format": data.format, "events": events, "seed": seed,
            "energy_range_gev": list(data.energy_range),
            "theta_range_deg": list(data.theta_range), "workers": workers,
            "seconds": round(seconds, 2), "events_per_s": round(events / seconds, 1),
            "bytes": path.stat().st_size}


class _progress:
    """A rich progress bar on stderr (a no-op when disabled)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from dte_core.progress import bar

        self.bar = bar("generating showers", transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("showers", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)


def file_name(data: DataConfig) -> str:
    return "showers" + SUFFIXES[data.format]


def fingerprint(data: DataConfig) -> dict[str, Any]:
    """Everything that determines a generated file's content."""
    return {"events": data.events, "energy_range": list(data.energy_range),
            "theta_range": list(data.theta_range), "seed": data.seed, "format": data.format,
            "generator": gflash.VERSION}


def cache_key(data: DataConfig) -> str:
    """Stable short key of `fingerprint(data)`: the folder name of the cached file."""
    return hashlib.sha256(json.dumps(fingerprint(data), sort_keys=True).encode()).hexdigest()[:12]


def cached_dataset(data: DataConfig) -> Path:
    """The generated training file for `data` under `.dte/data/hep-3dgan`, made once (by
    dte_core.datacache: one builder under a lock, published when complete)."""
    from dte_core.datacache import dataset
    from dte_core.paths import state_dir

    folder = state_dir() / "data" / "hep-3dgan" / cache_key(data)
    target = folder / file_name(data)
    if target.is_file():
        _say(f"hep-3dgan: using the generated showers in {target} (data.path is null)",
             rank_zero_only=True)
        return target

    def build(tmp: Path) -> dict[str, Any]:
        _say(f"hep-3dgan: data.path is null, so {data.events} showers (Ep "
             f"{data.energy_range[0]:g}-{data.energy_range[1]:g} GeV, theta "
             f"{data.theta_range[0]:g}-{data.theta_range[1]:g} deg, seed {data.seed}) are "
             f"generated into {target}; later runs with the same data settings reuse them.")
        summary = generate_file(tmp / target.name, data, progress=sys.stderr.isatty())
        (tmp / "generation.json").write_text(json.dumps(summary, indent=2))
        _say(f"hep-3dgan: {data.events} showers generated in {summary['seconds']} s")
        return summary

    dataset(folder, build, fingerprint(data), label="hep-3dgan")
    return target


def _say(message: str, rank_zero_only: bool = False) -> None:
    if rank_zero_only and os.environ.get("RANK", "0") != "0":
        return
    print(message, file=sys.stderr, flush=True)
