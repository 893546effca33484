"""climate-cyclone's results table: train (or take a run), evaluate, print markdown and JSON.

    uv run python benchmarks/results_climate_cyclone.py [--preset NAME] [--set KEY=VALUE ...]
    uv run python benchmarks/results_climate_cyclone.py --run latest

Runs `dte train climate-cyclone` (defaults, or the preset and overrides given) in the project
directory (`--project`, default: the current one), then `dte evaluate climate-cyclone --run
RUN`, timing both and recording the load average before and after. Prints the package
README's results table (network beside the min-psl baseline on the held-out fields) and, as
its last line, one JSON object with the metrics, wall times, load and machine.
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

SCIENCE = "climate-cyclone"
#: (metrics.json key after net_/base_, label) in table order
ROWS = [("f1", "centre F1"), ("precision", "centre precision"), ("recall", "centre recall"),
        ("centre_err_km", "centre error, mean over all matched cyclones [km]"),
        ("centre_median_km", "centre error, median [km]"),
        ("centre_err_km_single", "centre error, single cyclones [km]"),
        ("centre_err_km_multiple", "centre error, several within a patch width [km]"),
        ("centre_err_km_border", "centre error, near the field's edge [km]"),
        ("recall_single", "recall, single"), ("recall_multiple", "recall, several"),
        ("recall_border", "recall, near the edge"),
        ("false_alarms", "false alarms (centres)"), ("misses", "missed centres"),
        ("tracks", "tracks found"), ("track_hit_rate", "track hit rate"),
        ("false_tracks", "false tracks"), ("track_err_km", "position error along tracks [km]")]


def dte(*args: str, cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time and result of one `dte` command."""
    exe = str(Path(sys.executable).with_name("dte"))
    start = time.perf_counter()
    done = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"`dte {' '.join(args)}` failed (exit {done.returncode}):\n"
                 f"{done.stderr[-3000:]}")
    return time.perf_counter() - start, done


def latest_run(project: Path) -> Path:
    found = sorted((project / "runs" / SCIENCE).glob("*/run.json"),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        sys.exit(f"no {SCIENCE} run under {project / 'runs'}; train one first")
    return found[-1].parent


#: metrics that count things (printed as whole numbers)
COUNTS = {"false_alarms", "misses", "tracks", "true_tracks", "false_tracks", "fields",
          "cyclones",
          "cyclones_single", "cyclones_multiple", "cyclones_border"}


def fmt(value: float | None, key: str = "") -> str:
    if value is None or value != value:
        return "-"
    key = key.removeprefix("net_").removeprefix("base_")
    if key in COUNTS:
        return f"{value:.0f}"
    if "km" in key or key.endswith("_hpa"):
        return f"{value:.1f}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def table(metrics: dict, facts: dict) -> str:
    def n(key: str) -> str:
        return fmt(metrics.get(key), key)

    lines = [f"Run: {facts['command']} ({facts['preset']}); train {facts['train_wall_s']} s, "
             f"evaluate {facts['evaluate_wall_s']} s; {facts['machine']}; load average "
             f"{facts['load_before']} before, {facts['load_after']} after.",
             f"Held-out fields: {n('fields')} time steps, {n('cyclones')} cyclone centres "
             f"({n('cyclones_single')} single, {n('cyclones_multiple')} with a neighbour within "
             f"a patch width, {n('cyclones_border')} near the edge), {n('net_true_tracks')} "
             f"tracks; matched within "
             f"{n('match_km')} km; baseline threshold {n('base_threshold_hpa')} hPa.", "",
             "| metric | network | min-psl baseline |", "|---|---|---|"]
    for key, label in ROWS:
        lines.append(f"| {label} | {fmt(metrics.get('net_' + key), key)} | "
                     f"{fmt(metrics.get('base_' + key), key)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="evaluate this run (a folder, an id or 'latest') "
                                      "instead of training one")
    parser.add_argument("--preset", help="train with this preset (default: the defaults)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--project", type=Path, default=Path.cwd())
    args = parser.parse_args()
    project = args.project.resolve()
    load_before = [round(v, 2) for v in os.getloadavg()]
    train_s = None
    command = f"dte evaluate {SCIENCE} --run {args.run}"
    if args.run is None:
        extra = (["--preset", args.preset] if args.preset else []) + \
            [a for s in args.set for a in ("--set", s)]
        command = " ".join(["dte train", SCIENCE, *extra])
        train_s, _ = dte("train", SCIENCE, *extra, cwd=project)
        run = latest_run(project)
    else:
        run = Path(args.run) if Path(args.run).is_dir() else None
        run = run or (latest_run(project) if args.run == "latest" else
                      project / "runs" / SCIENCE / args.run)
    eval_s, _ = dte("evaluate", SCIENCE, "--run", str(run), cwd=project)
    metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
    facts = {"command": command, "preset": args.preset or "defaults", "run": str(run),
             "train_wall_s": None if train_s is None else round(train_s, 1),
             "evaluate_wall_s": round(eval_s, 1), "load_before": load_before,
             "load_after": [round(v, 2) for v in os.getloadavg()],
             "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                        f"{platform.system()} {platform.release()}"}
    print(table(metrics, facts))
    clean = {k: None if isinstance(v, float) and v != v else v for k, v in metrics.items()}
    print(json.dumps({**facts, "metrics": clean}))  # NaN (an empty category) as null


if __name__ == "__main__":
    main()
