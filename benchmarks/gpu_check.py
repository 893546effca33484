"""GPU readiness: environment report, one short epoch per torch science in fp32 / bf16 /
bf16 + torch.compile on one GPU (samples/s and an MFU estimate), and a 1-process NCCL DDP run.

Prints a table and one JSON object (also written to --json). Run by benchmarks/gpu_check.sh;
`--allow-cpu` runs the same steps on the CPU to check the script itself (MFU is then n/a).
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

# Dense peak throughput per GPU (TFLOP/s) from the vendors' data sheets: (bf16, fp32).
PEAKS = {"H100": (989.0, 67.0), "H200": (989.0, 67.0), "A100": (312.0, 19.5),
         "L40S": (362.0, 91.6), "V100": (125.0, 15.7)}
SCIENCES = ["virgo-gw", "hep-3dgan"]
MODES = {"fp32": ["--set", "train.precision=32"], "bf16": ["--set", "train.precision=bf16"],
         "bf16+compile": ["--set", "train.precision=bf16", "--set", "train.compile=true"]}


def environment() -> dict:
    import torch

    report = {"python": sys.version.split()[0], "torch": torch.__version__,
              "cuda_available": torch.cuda.is_available(), "cuda": torch.version.cuda,
              "nccl": ".".join(map(str, torch.cuda.nccl.version())) if
              torch.cuda.is_available() else None,
              "devices": [torch.cuda.get_device_name(i) for i in
                          range(torch.cuda.device_count())]}
    try:
        report["nvidia_smi"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        report["nvidia_smi"] = None
    return report


def flops_per_sample(science_name: str) -> float | None:
    """Training FLOPs per sample (3 x forward) from the science's input example, if any."""
    import numpy as np
    import torch
    from dte_core import sciences
    from torch.utils.flop_counter import FlopCounterMode

    science = sciences.load(science_name)
    config = science.Config()
    example = science.input_example(config)
    if not example:
        return None
    models = science.task(config).configure_models()
    total = 0.0
    for name, arrays in example.items():
        args = tuple(torch.as_tensor(np.asarray(a)) for a in arrays)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            models[name](*args)
        total += 3 * counter.get_total_flops() / args[0].shape[0]
    return total


def train(dte: str, project: Path, science: str, extra: list[str], device_flag: list[str],
          timeout: float) -> dict:
    runs = project / "runs" / f"{science}-{abs(hash(tuple(extra))) % 10**6}"
    start = time.perf_counter()
    done = subprocess.run([dte, "train", science, *device_flag, "--runs-dir", str(runs),
                           "--set", "train.epochs=2", "--set", "tracking.mlflow=false", *extra],
                          cwd=project, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        return {"ok": False, "wall_s": round(wall, 1), "error": done.stderr.strip()[-400:]}
    metrics = next(runs.glob("*/*/metrics.jsonl"))
    epochs = [json.loads(x) for x in metrics.read_text().splitlines() if "epoch_time_s" in x]
    last = epochs[-1]  # the first epoch pays data loading, cuDNN tuning and compilation
    return {"ok": True, "wall_s": round(wall, 1), "samples_per_s":
            round(last["train/samples_per_s"], 1), "epoch_s": round(last["train/epoch_time_s"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allow-cpu", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--per-run-timeout", type=float, default=150)
    parser.add_argument("--sciences", default=",".join(SCIENCES),
                        help="comma-separated torch sciences to run")
    args = parser.parse_args()
    env = environment()
    if not env["cuda_available"] and not args.allow_cpu:
        sys.exit("No CUDA device is visible: run this on a GPU machine (or --allow-cpu to check "
                 "the script itself).")
    device_flag = ["--gpus", "1"] if env["cuda_available"] else ["--procs", "1"]
    card = next((k for k in PEAKS if env["devices"] and k in env["devices"][0]), None)
    dte = str(Path(sys.executable).with_name("dte"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for science in args.sciences.split(","):
            flops = flops_per_sample(science)
            for mode, extra in MODES.items():
                if mode.endswith("compile") and not env["cuda_available"]:
                    continue
                result = train(dte, project, science, extra, device_flag, args.per_run_timeout)
                peak = PEAKS[card][0 if mode.startswith("bf16") else 1] if card else None
                mfu = (result.get("samples_per_s", 0) * flops / (peak * 1e12)
                       if flops and peak and result["ok"] else None)
                batch = _batch(science)
                step = batch / result["samples_per_s"] if result.get("samples_per_s") else None
                rows.append({"science": science, "mode": mode, **result, "batch": batch,
                             "step_s": round(step, 6) if step else None,
                             "gflop_per_sample": round(flops / 1e9, 3) if flops else None,
                             "mfu": round(mfu, 4) if mfu is not None else None})
        ddp = train(dte, project, "toy", ["--strategy", "ddp"], device_flag,
                    args.per_run_timeout) if "toy" in _installed() else {"ok": None}
    report = {"environment": env, "card": card, "runs": rows, "ddp_one_process": ddp}
    print(f"{'science':<12} {'mode':<14} {'ok':<5} {'samples/s':>10} {'epoch s':>8} "
          f"{'GFLOP/sample':>13} {'MFU':>7}")
    for r in rows:
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
        print(f"{r['science']:<12} {r['mode']:<14} {str(r['ok']):<5} "
              f"{r.get('samples_per_s', '-')!s:>10} {r.get('epoch_s', '-')!s:>8} "
              f"{r['gflop_per_sample'] or '-'!s:>13} {mfu:>7}")
    print(f"1-process DDP ({'NCCL' if env['cuda_available'] else 'gloo'}): {ddp}")
    for r in rows:  # the scaling model's compute term, measured on this card
        if r["step_s"]:
            print(f"  dte scale {r['science']} --predict --gpus 4,8,16,32,64 --weak --step-s "
                  f"{r['step_s']}   # {r['mode']}, each GPU keeping this batch of {r['batch']}")
    print(json.dumps(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def _batch(science_name: str) -> int:
    """The science's default batch size: the batch of one step of these runs."""
    from dte_core import sciences

    return sciences.load(science_name).Config().train.batch_size


def _installed() -> list[str]:
    from dte_core.sciences import installed

    return list(installed())


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
