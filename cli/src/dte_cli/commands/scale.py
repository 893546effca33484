"""`dte scale SCIENCE --workers 1,2,4`: a scaling sweep over worker counts and strategies,
reported as samples/s, epoch time, speed-up and parallel efficiency (table, JSON, PNG)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, ScienceArg, SetOpt

app = new_app()


def _ints(text: str, flag: str) -> list[int]:
    from dte_core.errors import ConfigError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{flag} {text!r} must be a comma-separated list of counts >= 1, "
                          f"e.g. {flag} 1,2,4.")
    return sorted(set(values))


@app.command()
def scale(
    science: ScienceArg,
    workers: Annotated[str, typer.Option("--workers", help="Worker counts, e.g. 1,2,4.")
                       ] = "1,2",
    strategy: Annotated[str, typer.Option(
        "--strategy", help="Comma-separated strategies to compare (ddp, deepspeed, horovod).")
    ] = "ddp",
    gpus: Annotated[bool, typer.Option("--gpus", help="Workers are GPUs (else CPU processes).")
                    ] = False,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per run; the first is "
                                        "warm-up and not counted.")] = 3,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for runs, JSON and PNG (default: .dte/scale/TIMESTAMP).",
        show_default=False)] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run the sweep here and report scaling against 1 worker for each strategy."""
    from dte_core import paths, sciences, strategies
    from dte_core.errors import ConfigError, DteError

    from dte_cli.console import err

    counts = _ints(workers, "--workers")
    names = [s.strip() for s in strategy.split(",") if s.strip()]
    for name in names:
        strategies.check_name(name)
    if epochs < 2:
        raise ConfigError("--epochs must be 2 or more: the first epoch is warm-up.")
    sciences.load(science)
    folder = (out or paths.state_dir() / "scale" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    dte = str(Path(sys.executable).with_name("dte"))
    rows: list[dict[str, Any]] = []
    for name in names:
        for count in counts:
            runs = folder / "runs" / f"{name}-{count}"
            args = [dte, "train", science, "--strategy", name, "--runs-dir", str(runs),
                    "--gpus" if gpus else "--procs", str(count), "--set", f"train.epochs={epochs}",
                    "--set", "tracking.mlflow=false", *(["--config", str(config)] if config
                                                        else []),
                    *[a for item in (set_ or []) for a in ("--set", item)]]
            err().print(f"scale: {name} x {count} ...")
            done = subprocess.run(args, capture_output=True, text=True)
            if done.returncode != 0:
                raise DteError(f"The {name} run with {count} worker(s) failed (exit "
                               f"{done.returncode}): {done.stderr.strip()[-1500:]}")
            rows.append(_measure(runs, name, count))
    _relative(rows)
    (folder / "scaling.json").write_text(json.dumps(rows, indent=2))
    _table(rows)
    err().print(f"wrote {folder / 'scaling.json'} and {_plot(rows, folder / 'scaling.png')}")


def _measure(runs: Path, strategy: str, count: int) -> dict[str, Any]:
    metrics_file = next(runs.glob("*/*/metrics.jsonl"))
    records = [json.loads(line) for line in metrics_file.read_text().splitlines()]
    epochs = [r for r in records if "train/epoch_time_s" in r][1:]  # first epoch: warm-up
    return {"strategy": strategy, "workers": count,
            "epoch_s": statistics.median(r["train/epoch_time_s"] for r in epochs),
            "samples_per_s": statistics.median(r["train/samples_per_s"] for r in epochs),
            "epochs_counted": len(epochs)}


def _relative(rows: list[dict[str, Any]]) -> None:
    """Speed-up and efficiency against the smallest worker count of the same strategy."""
    for row in rows:
        base = min((r for r in rows if r["strategy"] == row["strategy"]),
                   key=lambda r: r["workers"])
        row["speedup"] = row["samples_per_s"] / base["samples_per_s"]
        row["efficiency"] = row["speedup"] * base["workers"] / row["workers"]


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from dte_cli.console import out

    table = Table(title="Scaling (medians over epochs after the first)")
    for column in ("strategy", "workers", "samples/s", "epoch s", "speed-up", "efficiency"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(r["strategy"], str(r["workers"]), f"{r['samples_per_s']:.1f}",
                      f"{r['epoch_s']:.3f}", f"{r['speedup']:.2f}", f"{r['efficiency']:.0%}")
    out().print(table)


def _plot(rows: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(r["strategy"] for r in rows):
        mine = [r for r in rows if r["strategy"] == name]
        xs = [r["workers"] for r in mine]
        left.plot(xs, [r["samples_per_s"] for r in mine], marker="o", label=name)
        right.plot(xs, [r["efficiency"] for r in mine], marker="o", label=name)
    left.set(xlabel="workers", ylabel="samples/s", title="throughput")
    right.set(xlabel="workers", ylabel="parallel efficiency", title="efficiency", ylim=(0, 1.2))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
