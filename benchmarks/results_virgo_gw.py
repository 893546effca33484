"""The virgo-gw results table: train a preset (or take a finished run), evaluate it, print both.

Trains with `dte train virgo-gw --preset PRESET` (timed, with the load average before and
after: the machine may be shared), evaluates with `dte evaluate virgo-gw --run RUN --json`,
and prints a markdown table of every metric for the network and the linear baseline (overall,
per glitch family, and on the cleaned strain h(t)), then, as its last line, JSON.

Usage: uv run python benchmarks/results_virgo_gw.py [--preset clean] [--run RUN]
       [--set key=value ...]
Under a shared CPU, OMP_NUM_THREADS=1 avoids the threads' waiting on each other (measured:
25x slower steps with 2 threads than with 1 at a load average of ~8 on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BASE = ("blip", "scattered_light", "whistle", "chirp", "broadband")
FAMILIES = (*BASE, "mixed", "none", *(f"{m}_weak" for m in BASE))
DTE = str(Path(sys.executable).with_name("dte"))


def load() -> list[float]:
    """1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def runs(root: Path) -> set[str]:
    folder = root / "virgo-gw"
    return {p.name for p in folder.iterdir() if (p / "run.json").is_file()} if folder.is_dir() \
        else set()


def train(preset: str, sets: list[str], root: Path) -> tuple[str, float, list[float], list[float]]:
    """Run `dte train`; returns the new run's id, wall seconds, load before and after."""
    before, load_before = runs(root), load()
    command = [DTE, "train", "virgo-gw", "--preset", preset]
    for item in sets:
        command += ["--set", item]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"`{' '.join(command)}` failed with exit {done.returncode}")
    [run] = sorted(runs(root) - before)
    return run, seconds, load_before, load()


def recorded(path: Path) -> dict:
    """A finished run's command and wall time (created to last update), from its run.json."""
    from datetime import datetime

    if not (path / "run.json").is_file():
        return {}
    run = json.loads((path / "run.json").read_text())
    seconds = (datetime.fromisoformat(run["updated"]) -
               datetime.fromisoformat(run["created"])).total_seconds()
    return {"command": run.get("command"), "train_wall_s": round(seconds, 1),
            "wall_from": "run.json created..updated"}


def evaluate(run: str) -> dict[str, float]:
    done = subprocess.run([DTE, "evaluate", "virgo-gw", "--run", run, "--json"],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"dte evaluate failed: {done.stderr}")
    return json.loads(done.stdout)


def table(metrics: dict[str, float]) -> list[str]:
    """Markdown rows: metric, U-Net, linear baseline."""
    rows = ["| held-out metric | U-Net denoiser | linear baseline |", "|---|---|---|"]

    def row(label: str, key: str, digits: str = "+.2f") -> None:
        if key not in metrics:
            return
        base = metrics.get(f"baseline_{key}")
        rows.append(f"| {label} | {metrics[key]:{digits}} | "
                    f"{'–' if base is None else format(base, digits)} |")

    row("L1 of the prediction against the main map", "l1", ".3f")
    row("glitch power removed (dB), all held-out samples", "glitch_removed_db")
    row("compact-binary power preserved, all", "cbc_preserved", ".3f")
    for fam in FAMILIES:
        n = metrics.get(f"heldout_samples/{fam}")
        if n is None:
            continue
        group = {"mixed": "several families", "none": "no glitch"}.get(
            fam, f"{fam.removesuffix('_weak')} only, all SNR < 15 in h(t)" if fam.endswith("_weak")
            else f"{fam} only")
        row(f"glitch power removed (dB), {group} ({n:.0f} samples)", f"glitch_removed_db/{fam}")
        row(f"compact-binary power preserved, {group} ({n:.0f} samples)",
            f"cbc_preserved/{fam}", ".3f")
    row("cleaned h(t): glitch power removed (dB)", "strain_glitch_removed_db")
    row("cleaned h(t): compact-binary power preserved", "strain_cbc_preserved", ".3f")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="clean")
    parser.add_argument("--run", help="evaluate this finished run instead of training")
    parser.add_argument("--set", action="append", default=[], help="extra key=value overrides")
    args = parser.parse_args()
    root = Path(os.environ.get("DTE_RUNS_DIR") or "runs").resolve()
    info: dict = {"science": "virgo-gw", "machine": f"{platform.node()} {os.cpu_count()} CPUs "
                  f"({platform.processor() or platform.machine()})",
                  "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    if args.run:
        run = args.run
        info.update({"run": run, "preset": args.preset, **recorded(root / "virgo-gw" / run)})
    else:
        run, seconds, before, after = train(args.preset, args.set, root)
        info.update({"run": run, "preset": args.preset, "sets": args.set,
                     "train_wall_s": round(seconds, 1), "load_before": before,
                     "load_after": after})
    load_eval = load()
    metrics = evaluate(run)
    info.update({"load_evaluate": load_eval, "metrics": metrics})
    if "load_before" in info:
        wall = (f"{info['train_wall_s'] / 60:.1f} min (load {info['load_before'][0]} before, "
                f"{info['load_after'][0]} after)")
    elif "train_wall_s" in info:
        wall = f"{info['train_wall_s'] / 60:.1f} min (from run.json; load not recorded)"
    else:
        wall = "not known (--run without run.json)"
    threads = info["omp_num_threads"] or "dte's default"
    print(f"preset `{args.preset}`, run {run}, train wall time {wall}, {info['machine']}, "
          f"OMP_NUM_THREADS={threads}\n")
    print("\n".join(table(metrics)))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
