"""Time from process start to the first training step: `dte train` against a plain script.

Each measurement is a fresh process started from here; its first step is the wall-clock time of
the first metrics.jsonl record (`tracking.log_every=1`) for dte, and a printed timestamp for the
plain script (same venv: torch for torch sciences, Keras for Keras ones). Variants run
interleaved, `--runs` times each, after one warm-up each (data generated, file cache warm):

- `toy`: one worker in-process, default sinks (MLflow on the embedded store), and MLflow off;
- `toy --procs 2` against the plain script under torchrun (gloo, 2 processes);
- each real science given with `--science`, one worker, against the plain script; the
  science's own imports (its task and data modules beyond the engine) are timed separately.

Between runs the previous run's background MLflow upload is waited for, so none competes.
Prints one JSON line per variant, then the summary: {"delta_s", "ddp_delta_s", ...}.
Usage: uv run python benchmarks/startup.py [--runs 5] [--science virgo-gw ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_TORCH = '''
import os, sys, time
import torch
from torch import nn
ddp = "RANK" in os.environ
if ddp:
    import torch.distributed as dist
    dist.init_process_group("gloo")
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
if ddp:
    model = nn.parallel.DistributedDataParallel(model)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x, y = torch.randn(8, 8), torch.randn(8, 1)
loss = nn.functional.mse_loss(model(x), y)
optimizer.zero_grad()
loss.backward()
optimizer.step()
if not ddp or dist.get_rank() == 0:
    print("FIRST_STEP", time.time(), flush=True)
if ddp:
    dist.destroy_process_group()
'''

PLAIN_KERAS = '''
import time
import numpy as np
import keras
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="tanh"),
                          keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.train_on_batch(np.random.rand(8, 8).astype("float32"), np.random.rand(8, 1))
print("FIRST_STEP", time.time(), flush=True)
'''

#: science -> (framework, the science's own modules imported before its first step)
SCIENCES = {
    "toy": ("torch", ["dte_toy_science.task"]),
    "virgo-gw": ("torch", ["dte_virgo_gw.task", "dte_virgo_gw.data"]),
    "hep-3dgan": ("torch", ["dte_hep_3dgan.task", "dte_hep_3dgan.data"]),
    "climate-cyclone": ("tensorflow", ["dte_climate_cyclone.task", "dte_climate_cyclone.data"]),
}
ENGINE_MODULE = {"torch": "torch", "tensorflow": "keras"}


def bin_path(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def plain(script: Path, procs: int) -> tuple[float, float]:
    """(seconds to the first step, seconds to exit) of the plain script."""
    cmd = [sys.executable, str(script)] if procs == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc-per-node={procs}", str(script)]
    start = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    end = time.time()
    stamp = float(next(line.split()[1] for line in done.stdout.splitlines()
                       if line.startswith("FIRST_STEP")))
    return stamp - start, end - start


def dte_train(project: Path, science: str, procs: int, mlflow: bool) -> tuple[float, float]:
    """(seconds to the first step, seconds to exit) of one `dte train`."""
    from dte_core.tracking.mlflow_sink import settle_all

    cmd = [bin_path("dte"), "train", science, "--set", "train.epochs=1", "--set",
           "train.max_steps=2", "--set", "tracking.log_every=1", "--set",
           f"tracking.mlflow={str(mlflow).lower()}"]
    if procs > 1:
        cmd += ["--procs", str(procs)]
    before = set((project / "runs" / science).glob("*"))
    start = time.time()
    subprocess.run(cmd, cwd=project, capture_output=True, text=True, check=True,
                   env={**os.environ, "DTE_PROJECT_DIR": str(project)})
    end = time.time()
    (run,) = set((project / "runs" / science).glob("*")) - before
    first = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    os.environ["DTE_PROJECT_DIR"] = str(project)
    settle_all(project / "runs")  # its upload must not compete with the next run
    return first["time"] - start, end - start


def import_seconds(modules: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "; ".join(f"import {m}" for m in modules)],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def stats(samples: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(samples), 3), "min": round(min(samples), 3),
            "max": round(max(samples), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--science", action="append", default=[],
                        choices=[s for s in SCIENCES if s != "toy"])
    parser.add_argument("--no-ddp", action="store_true", help="skip the 2-process pair")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dte-startup-"))
    scripts = {"torch": work / "plain_torch.py", "tensorflow": work / "plain_keras.py"}
    scripts["torch"].write_text(PLAIN_TORCH)
    scripts["tensorflow"].write_text(PLAIN_KERAS)
    variants = {  # name -> zero-argument measurement
        "dte_toy": lambda: dte_train(work / "toy", "toy", 1, True),
        "dte_toy_mlflow_off": lambda: dte_train(work / "toy", "toy", 1, False),
        "plain_torch": lambda: plain(scripts["torch"], 1),
    }
    if not args.no_ddp:
        variants["dte_toy_procs2"] = lambda: dte_train(work / "toy2", "toy", 2, True)
        variants["plain_torchrun2"] = lambda: plain(scripts["torch"], 2)
    for science in args.science:
        framework = SCIENCES[science][0]
        variants[f"dte_{science}"] = (lambda s=science: dte_train(work / s, s, 1, True))
        if framework != "torch":
            variants["plain_keras"] = lambda: plain(scripts["tensorflow"], 1)
    for name in ("toy", "toy2", *args.science):
        (work / name).mkdir(exist_ok=True)
    first: dict[str, list[float]] = {name: [] for name in variants}
    whole: dict[str, list[float]] = {name: [] for name in variants}
    for measure in variants.values():
        measure()  # warm-up: generated data, file cache, the embedded store's schema
    for _ in range(args.runs):
        for name, measure in variants.items():
            to_step, to_exit = measure()
            first[name].append(to_step)
            whole[name].append(to_exit)
    report: dict[str, object] = {}
    for name in variants:
        report[name] = {"first_step_s": stats(first[name]), "command_s": stats(whole[name])}
        print(json.dumps({"variant": name, **report[name]}))
    med = {name: statistics.median(first[name]) for name in variants}
    own = {}
    for science in ["toy", *args.science]:
        framework, modules = SCIENCES[science]
        engine = [import_seconds([ENGINE_MODULE[framework]]) for _ in range(3)]
        with_science = [import_seconds([ENGINE_MODULE[framework], *modules]) for _ in range(3)]
        own[science] = round(statistics.median(with_science) - statistics.median(engine), 3)
    summary = {
        "delta_s": round(med["dte_toy"] - med["plain_torch"], 3),
        "mlflow_first_step_cost_s": round(med["dte_toy"] - med["dte_toy_mlflow_off"], 3),
        "mlflow_command_cost_s": round(statistics.median(whole["dte_toy"])
                                       - statistics.median(whole["dte_toy_mlflow_off"]), 3),
        "ddp_delta_s": None if args.no_ddp else round(
            med["dte_toy_procs2"] - med["plain_torchrun2"], 3),
        "science_delta_s": {s: round(med[f"dte_{s}"] - med["plain_keras" if SCIENCES[s][0]
                                                          != "torch" else "plain_torch"], 3)
                            for s in args.science},
        "science_own_imports_s": own, "runs": args.runs, "cpus": os.cpu_count(),
        "bytecode": not os.environ.get("PYTHONDONTWRITEBYTECODE") or any(
            Path(sys.executable).parent.parent.glob("lib/python*/site-packages/torch/"
                                                    "__pycache__/*.pyc")),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
