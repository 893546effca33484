"""The virgo-gw results table: train a preset (or take a finished run), evaluate it, print both.

Trains with `dte train virgo-gw --preset PRESET` (timed, with the load average before and
after: the machine may be shared), evaluates with `dte evaluate virgo-gw --run RUN --json`,
and prints a markdown table of every metric for the network and the linear baseline (overall,
per glitch family, and on the cleaned strain h(t)), then, as its last line, JSON.

Usage: uv run python benchmarks/results_virgo_gw.py [--preset clean] [--run RUN]
       [--set key=value ...]
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

FAMILIES = ("blip", "scattered_light", "whistle", "chirp", "broadband", "mixed", "none")
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


def evaluate(run: str) -> dict[str, float]:
    done = subprocess.run([DTE, "evaluate", "virgo-gw", "--run", run, "--json"],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"dte evaluate failed: {done.stderr}")
    return json.loads(done.stdout)


def fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:+.2f}" if isinstance(value, float) and abs(value) < 100 else f"{value:g}"


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
        row(f"glitch power removed (dB), {fam} only ({n:.0f} samples)",
            f"glitch_removed_db/{fam}")
        row(f"compact-binary power preserved, {fam} only", f"cbc_preserved/{fam}", ".3f")
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
                  f"({platform.processor() or platform.machine()})"}
    if args.run:
        run = args.run
        info.update({"run": run, "preset": args.preset})
    else:
        run, seconds, before, after = train(args.preset, args.set, root)
        info.update({"run": run, "preset": args.preset, "sets": args.set,
                     "train_wall_s": round(seconds, 1), "load_before": before,
                     "load_after": after})
    load_eval = load()
    metrics = evaluate(run)
    info.update({"load_evaluate": load_eval, "metrics": metrics})
    wall = (f"{info['train_wall_s'] / 60:.1f} min (load {info['load_before'][0]} before, "
            f"{info['load_after'][0]} after)" if "train_wall_s" in info else "not timed (--run)")
    print(f"preset `{args.preset}`, run {run}, train wall time {wall}, {info['machine']}\n")
    print("\n".join(table(metrics)))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
