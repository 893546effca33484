"""Per-epoch time of `dte train --procs 2` against a hand-written torchrun DDP script.

Both train the toy science's MLP (512 -> 1024 -> 1) on the same 16384 samples with a global
batch of 64, 2 processes with gloo on the CPU, one thread each, in this run. Start-up is
excluded: epoch times come from each side's own per-epoch clock (dte: `train/epoch_time_s` in
metrics.jsonl, which excludes validation and checkpoints). The first epochs are warm-up (on the
dte side the MLflow sink imports and connects then) and are not counted.

Prints {"dte_epoch_s", "torch_epoch_s", "ratio", "epochs_counted", ...}.
Usage: uv run python benchmarks/ddp_overhead.py [--epochs 16] [--counted 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZE = {"samples": 16384, "features": 512, "hidden": 1024, "batch_size": 64}


def baseline(epochs: int, env: dict[str, str]) -> list[float]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", str(HERE / "ddp_baseline.py"), "--epochs", str(epochs),
           *[f"--{k.replace('_', '-')}={v}" for k, v in SIZE.items()]]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return [json.loads(line)["epoch_s"] for line in out.stdout.splitlines()
            if line.startswith("{")]


def dte(epochs: int, env: dict[str, str], project: Path) -> list[float]:
    dte_bin = str(Path(sys.executable).with_name("dte"))
    sets = {"data.samples": SIZE["samples"], "data.features": SIZE["features"],
            "data.val_samples": 256, "model.hidden": SIZE["hidden"],
            "train.batch_size": SIZE["batch_size"], "train.epochs": epochs,
            "tracking.mlflow": "true", "tracking.log_every": 10}
    args = [a for k, v in sets.items() for a in ("--set", f"{k}={v}")]
    subprocess.run([dte_bin, "train", "toy", "--procs", "2", *args], cwd=project, env=env,
                   check=True, capture_output=True, text=True)
    metrics = next((project / "runs" / "toy").glob("*/metrics.jsonl"))
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    return [r["train/epoch_time_s"] for r in records if "train/epoch_time_s" in r]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--counted", type=int, default=8, help="last epochs counted (>= 5)")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        env["DTE_PROJECT_DIR"] = tmp
        torch_times = baseline(args.epochs, env)
        dte_times = dte(args.epochs, env, Path(tmp))
        torch_again = baseline(args.epochs, env)  # bracket dte in time: drift shows up
    n = args.counted
    base = statistics.median(torch_times[-n:] + torch_again[-n:])
    ours = statistics.median(dte_times[-n:])
    print(json.dumps({"dte_epoch_s": round(ours, 4), "torch_epoch_s": round(base, 4),
                      "ratio": round(ours / base, 4), "epochs_counted": n,
                      "torch_before_s": round(statistics.median(torch_times[-n:]), 4),
                      "torch_after_s": round(statistics.median(torch_again[-n:]), 4),
                      "epochs_run": args.epochs, "procs": 2, "backend": "gloo",
                      "steps_per_epoch": SIZE["samples"] // SIZE["batch_size"]}))


if __name__ == "__main__":
    main()
