"""hep-3dgan results table: train with a preset (or take --run), evaluate, print the table.

Trains `dte train hep-3dgan --preset PRESET` in --workdir (unless --run names a finished run
there), runs `dte evaluate hep-3dgan --run RUN --checkpoint best --json`, and prints a
markdown table of every physics metric for the GAN and the GFlash baseline (another GFlash
sample for the same conditions: the statistical floor) beside the targets of issue 17, then,
as its last line, one JSON object with the same numbers, the wall time, the per-step time,
the load average and the machine.
Usage: uv run python benchmarks/results_hep_3dgan.py [--preset cpu] [--run RUN]
       [--workdir DIR] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from dte_hep_3dgan.validation import TARGETS

#: further metrics shown for the GAN (and the baseline where evaluate computes one)
OTHERS = ("target_ratio", "longitudinal_mean_rel_diff", "longitudinal_layers_within_10pct",
          "deposit_ratio_real", "deposit_ratio_generated", "occupancy_real",
          "occupancy_generated", "sampling_fraction_real", "sampling_fraction_generated",
          "w1_long_centroid", "w1_long_width", "w1_x_width", "w1_y_width",
          "w1_deposit_ratio", "w1_occupancy", "w1_cell_log10_energy", "gan_showers_per_s",
          "gflash_showers_per_s")


def dte(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`dte ARGS` in `cwd`, stderr passed through (progress), stdout captured."""
    exe = str(Path(sys.executable).with_name("dte"))
    return subprocess.run([exe, *args], cwd=cwd, stdout=subprocess.PIPE, text=True, check=True)


def machine() -> str:
    """CPU model and core count of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def step_seconds(run: Path) -> float | None:
    """Median seconds per optimizer step between consecutive training logs (validation
    epochs' gaps included only when they are the typical gap)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [(r["step"], r["time"]) for r in rows if "time" in r and
             any(k.startswith("train/") for k in r)]
    gaps = [(t1 - t0) / (s1 - s0)
            for (s0, t0), (s1, t1) in zip(train, train[1:], strict=False) if s1 > s0]
    return statistics.median(gaps) if gaps else None


def latest_run(workdir: Path) -> Path:
    runs = sorted(p for p in (workdir / "runs" / "hep-3dgan").glob("*")
                  if (p / "run.json").is_file())
    if not runs:
        raise SystemExit(f"no hep-3dgan run in {workdir / 'runs'}; train one first")
    return runs[-1]


def table(info: dict, metrics: dict) -> str:
    """The README's markdown results table."""
    head = (f"Preset `{info['preset']}`, {info['steps']} steps, train wall time "
            f"{info['train_wall_s'] / 60:.1f} min ({info['step_s']:.2f} s per step), "
            f"load average {info['load_before']} before / {info['load_after']} after, "
            f"{info['machine']}, run {info['run']}.")
    lines = [head, "", "| metric | GAN | GFlash baseline | target | met |",
             "|---|---|---|---|---|"]
    for key, target in TARGETS.items():
        gan, base = metrics[key], metrics.get(f"baseline_{key}")
        lines.append(f"| `{key}` | {gan:.3f} | {'' if base is None else f'{base:.3f}'} | "
                     f"{target:.2f} | {'yes' if abs(gan) <= target else 'no'} |")
    for key in OTHERS:
        if key in metrics:
            base = metrics.get(f"baseline_{key}")
            lines.append(f"| `{key}` | {metrics[key]:.4g} | "
                         f"{'' if base is None else f'{base:.4g}'} | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--run", help="evaluate this finished run (id or 'latest') instead "
                        "of training")
    parser.add_argument("--workdir", type=Path, default=Path.cwd())
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    if args.run is None:
        sets = [a for item in args.overrides for a in ("--set", item)]
        started = time.perf_counter()
        dte("train", "hep-3dgan", "--preset", args.preset, *sets, cwd=workdir)
        wall = time.perf_counter() - started
        run = latest_run(workdir)
    else:
        run = latest_run(workdir) if args.run == "latest" else \
            workdir / "runs" / "hep-3dgan" / args.run
        info = json.loads((run / "run.json").read_text())
        from datetime import datetime

        wall = (datetime.fromisoformat(info["updated"]) -
                datetime.fromisoformat(info["created"])).total_seconds()
    load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())
    metrics = json.loads(dte("evaluate", "hep-3dgan", "--run", run.name, "--checkpoint",
                             "best", "--json", cwd=workdir).stdout)
    info = json.loads((run / "run.json").read_text())
    command = info.get("command", [])
    preset = command[command.index("--preset") + 1] if "--preset" in command else "default"
    result = {"preset": preset, "run": run.name, "command": " ".join(command),
              "steps": info.get("step"), "train_wall_s": round(wall, 1),
              "step_s": step_seconds(run) or float("nan"), "load_before": load_before,
              "load_after": load_after, "machine": machine(),
              "targets_met": all(abs(metrics[k]) <= t for k, t in TARGETS.items())}
    print(table(result, metrics))
    print(json.dumps({**result, "metrics": metrics}))


if __name__ == "__main__":
    main()
