"""The scaling model (`dte scale --predict`) against measured points.

1. Here, on CPU: gloo's latency and bandwidth on loopback from a 2-process all-reduce probe,
   the compute per step from a 1-worker toy run, and the 2-worker efficiency predicted from
   them against the one `dte scale toy --workers 1,2` measures (global batch shared, as dte
   does; two widths of the toy so that gradients of 4k and 33k parameters are moved).
2. Published: itwinai's Virgo study reported 64-70 % efficiency from 4 to 32 GPUs (JUWELS
   Booster: 4 A100 per node on NVLink 3, one InfiniBand HDR-200 port per GPU). Its model's
   step time is not published, so this takes dte's virgo-gw model (its parameters; FLOPs per
   sample counted by torch) at an assumed A100 utilisation of 20-50 % of the fp32 peak, and
   reports the predicted band against the published range (weak scaling assumed).

Writes scaling_model.png (predicted and measured points on one figure) and prints JSON; the
last line is {"points": [{"case", "workers", "predicted", "measured", "error_points"}],
"max_error_points", ...}.
Usage: uv run python benchmarks/scaling_model.py [--out DIR] [--skip-virgo]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
A100_FP32_TFLOPS = 19.5  # NVIDIA A100 data sheet, dense fp32
PUBLISHED_VIRGO = (0.64, 0.70)  # efficiency at 32 GPUs against 4 (itwinai, interTwin)


def _probe(rank: int, port: int, sizes: list[int], out: str) -> None:
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    found = {}
    for size in sizes:
        tensor = torch.ones(size // 4)
        for _ in range(3):
            dist.all_reduce(tensor)
        reps = 50 if size < 1 << 20 else 10
        dist.barrier()
        start = time.perf_counter()
        for _ in range(reps):
            dist.all_reduce(tensor)
        found[size] = (time.perf_counter() - start) / reps
    if rank == 0:
        Path(out).write_text(json.dumps(found))
    dist.destroy_process_group()


def loopback_link() -> dict:
    """gloo on loopback, 2 processes: t = 2 alpha + bytes / beta (the ring with p = 2)."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    small, large = 4, 64 << 20
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        os.environ["OMP_NUM_THREADS"] = "1"
        mp.spawn(_probe, args=(port, [small, large], handle.name), nprocs=2)
        times = {int(k): v for k, v in json.loads(Path(handle.name).read_text()).items()}
    alpha = times[small] / 2
    beta = large / (times[large] - 2 * alpha)
    return {"latency_us": alpha * 1e6, "bandwidth_gbs": beta / 1e9, "probe_s": times}


def sweep(folder: Path, sets: list[str]) -> list[dict]:
    dte = str(Path(sys.executable).with_name("dte"))
    args = [dte, "scale", "toy", "--workers", "1,2", "--threads", "1", "--epochs", "3",
            "--no-comm", "--out", str(folder), *[a for s in sets for a in ("--set", s)]]
    subprocess.run(args, check=True, capture_output=True, cwd=folder.parent,
                   env={**os.environ, "DTE_PROJECT_DIR": str(folder.parent)})
    return json.loads((folder / "scaling.json").read_text())


def cpu_points(root: Path, link: dict) -> list[dict]:
    from dte_cli import scaling_model, scaling_predict
    from dte_core import config as config_layer
    from dte_core import sciences

    toy = sciences.load("toy")
    points = []
    big = ["data.samples=8192", "train.batch_size=512"]  # steps long enough to time
    for case, sets in (("toy hidden=1024", [*big, "model.hidden=1024"]),
                       ("toy hidden=8192", [*big, "model.hidden=8192"])):
        cfg = config_layer.resolve(toy.Config, None, sets)
        params, nbytes = scaling_predict.gradient_bytes(toy, cfg)
        rows = sweep(root / case.replace(" ", "-").replace("=", ""), sets)
        one = next(r for r in rows if r["workers"] == 1)
        compute = cfg.train.batch_size / one["samples_per_s"]
        gloo = scaling_model.Link(link["bandwidth_gbs"], link["latency_us"], "measured")
        predicted = scaling_model.predict(compute, nbytes, cfg.train.batch_size, [1, 2], "ddp",
                                          2, gloo, gloo)  # strong, as the sweep runs
        for r, p in zip(rows, predicted, strict=True):
            points.append({"case": case, "workers": r["workers"], "parameters": params,
                           "predicted": round(p["efficiency"], 3),
                           "measured": round(r["efficiency"], 3),
                           "error_points": round(100 * abs(p["efficiency"] - r["efficiency"]),
                                                 1)})
    return points


def virgo_band() -> dict:
    """Predicted efficiency at 4..32 GPUs against 4, for 20 % and 50 % of the A100's peak."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dte_cli import scaling_model, scaling_predict
    from dte_core import sciences
    from gpu_check import flops_per_sample

    science = sciences.load("virgo-gw")
    cfg = science.Config()
    params, nbytes = scaling_predict.gradient_bytes(science, cfg)
    flops = flops_per_sample("virgo-gw") * cfg.train.batch_size
    counts = [4, 8, 16, 32]
    band = {}
    for mfu in (0.2, 0.5):
        compute = flops / (A100_FP32_TFLOPS * 1e12 * mfu)
        rows = scaling_model.predict(compute, nbytes, cfg.train.batch_size, counts, "ddp", 4,
                                     scaling_model.link("nvlink3"), scaling_model.link("ib-hdr"),
                                     weak=True)  # assumed: the per-GPU batch was kept
        band[mfu] = [r["efficiency"] / rows[0]["efficiency"] for r in rows]
    return {"counts": counts, "parameters": params, "gflop_per_step": round(flops / 1e9, 2),
            "low": [round(v, 3) for v in band[0.2]], "high": [round(v, 3) for v in band[0.5]]}


def figure(points: list[dict], virgo: dict | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for case in dict.fromkeys(p["case"] for p in points if p["case"].startswith("toy")):
        mine = [p for p in points if p["case"] == case]
        xs = [p["workers"] for p in mine]
        line = left.plot(xs, [p["predicted"] for p in mine], "x--", label=f"{case} predicted")
        left.plot(xs, [p["measured"] for p in mine], "o", color=line[0].get_color(),
                  label=f"{case} measured")
    left.set(xlabel="workers (CPU, gloo on loopback)", ylabel="parallel efficiency",
             title="measured here", ylim=(0, 1.5), xticks=[1, 2])
    if virgo:
        xs = virgo["counts"]
        right.fill_between(xs, virgo["low"], virgo["high"], alpha=0.3,
                           label="predicted (20-50 % of A100 fp32 peak)")
        right.errorbar([32], [sum(PUBLISHED_VIRGO) / 2],
                       yerr=[[sum(PUBLISHED_VIRGO) / 2 - PUBLISHED_VIRGO[0]],
                             [PUBLISHED_VIRGO[1] - sum(PUBLISHED_VIRGO) / 2]],
                       fmt="o", color="black", capsize=4, label="published (itwinai)")
        right.set_xscale("log", base=2)
        right.set_xticks(xs, [str(x) for x in xs])
        right.minorticks_off()
    right.set(xlabel="GPUs (4 per node)", ylabel="efficiency against 4 GPUs",
              title="Virgo, JUWELS Booster", ylim=(0, 1.2))
    for axis in (left, right):
        axis.axhline(1.0, color="grey", ls=":")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    fig.suptitle("Scaling model: predicted and measured")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.add_argument("--skip-virgo", action="store_true")
    args = parser.parse_args()
    link = loopback_link()
    with tempfile.TemporaryDirectory() as tmp:
        points = cpu_points(Path(tmp), link)
    virgo = None if args.skip_virgo else virgo_band()
    if virgo:
        at32 = (virgo["low"][-1], virgo["high"][-1])
        points.append({"case": "virgo 32 vs 4 GPUs", "workers": 32,
                       "predicted": [min(at32), max(at32)], "measured": list(PUBLISHED_VIRGO),
                       "error_points": round(100 * max(0.0, min(at32) - PUBLISHED_VIRGO[1],
                                                       PUBLISHED_VIRGO[0] - max(at32)), 1)})
    args.out.mkdir(parents=True, exist_ok=True)
    figure(points, virgo, args.out / "scaling_model.png")
    print(json.dumps({"loopback": {k: round(v, 3) for k, v in link.items() if k != "probe_s"},
                      "points": points, "virgo": virgo,
                      "max_error_points": max(p["error_points"] for p in points),
                      "figure": str(args.out / "scaling_model.png"), "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
