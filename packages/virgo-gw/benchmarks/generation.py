"""Generation throughput of the virgo-gw dataset: samples/s by number of processes.

Prints one JSON object: the settings, the in-process cost of one sample split into its parts
(waveforms and noise vs Q-transform maps), and, per process count, the end-to-end samples/s of
`generate` (worker start-up and HDF5 writing included).
Usage: uv run python packages/virgo-gw/benchmarks/generation.py [--samples N] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=96)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--set", nargs="*", default=[], help="data.* overrides, key=value")
    args = parser.parse_args()

    from dte_core import config as config_layer
    from dte_virgo_gw import qtransform
    from dte_virgo_gw.config import VirgoConfig
    from dte_virgo_gw.generate import generate, make_plan, sample

    cfg = config_layer.resolve(VirgoConfig, None, [f"data.samples={args.samples}",
                                                   *[f"data.{s}" for s in args.set]])
    data = cfg.data
    plan = make_plan(data)
    sample(plan, 0)  # imports and caches
    spent = {"maps": 0.0}
    energy = qtransform.energy

    def timed(*a, **k):
        start = time.perf_counter()
        try:
            return energy(*a, **k)
        finally:
            spent["maps"] += time.perf_counter() - start

    qtransform.energy = timed
    n = 16
    start = time.perf_counter()
    for i in range(1, n + 1):
        sample(plan, i)
    per_sample = (time.perf_counter() - start) / n
    qtransform.energy = energy
    runs = []
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            summary = generate(data.model_copy(update={"workers": workers}), Path(tmp),
                               progress=False)
        runs.append({"workers": workers, "seconds": summary["seconds"],
                     "samples_per_s": summary["samples_per_s"], "size_mb": summary["size_mb"]})
    print(json.dumps({
        "samples": data.samples, "aux_channels": data.aux_channels,
        "sample_rate": data.sample_rate, "map_shape": list(data.map_shape),
        "in_process_s_per_sample": round(per_sample, 4),
        "q_transform_share": round(spent["maps"] / (per_sample * n), 3),
        "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
