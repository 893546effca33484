"""Start-up time of `dte --help` against `python -c "import typer"`, each a fresh process.

Prints one JSON object: {"dte_help_s", "typer_import_s", "ratio", "runs"} (medians).
Usage: uv run python benchmarks/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall_seconds(cmd: list[str]) -> float:
    """Wall time of one fresh run of `cmd`."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def medians(commands: list[list[str]], runs: int) -> list[float]:
    """Median wall time of each command; runs alternate so drift hits all alike."""
    for cmd in commands:
        wall_seconds(cmd)  # warm the file cache
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for cmd, samples in zip(commands, times, strict=True):
            samples.append(wall_seconds(cmd))
    return [statistics.median(samples) for samples in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    dte = str(Path(sys.executable).with_name("dte"))
    dte_s, typer_s = medians([[dte, "--help"], [sys.executable, "-c", "import typer"]], args.runs)
    print(json.dumps({"dte_help_s": round(dte_s, 4), "typer_import_s": round(typer_s, 4),
                      "ratio": round(dte_s / typer_s, 3), "runs": args.runs}))


if __name__ == "__main__":
    main()
