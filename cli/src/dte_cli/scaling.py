"""Scaling rows (samples/s, epoch time, communication share) from run directories or MLflow,
their speed-up and efficiency against the fewest workers, and the table and plot."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from dte_core.errors import DteError

TIMING = ("train/epoch_time_s", "train/samples_per_s", "train/comm_s")


def row(strategy: str, workers: int, epochs: list[dict[str, float]], **extra: Any
        ) -> dict[str, Any]:
    """One sweep point from its per-epoch timings (the first epoch already dropped)."""
    if not epochs:
        raise DteError(f"The {strategy} run with {workers} worker(s) logged fewer than two "
                       "epochs of timings; the first is warm-up. Run at least 2 epochs.")
    return {"strategy": strategy, "workers": workers,
            "epoch_s": statistics.median(e["train/epoch_time_s"] for e in epochs),
            "samples_per_s": statistics.median(e["train/samples_per_s"] for e in epochs),
            "epochs_counted": len(epochs), **extra}


def epochs_of_run_dir(runs: Path) -> list[dict[str, float]]:
    """Per-epoch timings of the one run under `runs`, the warm-up epoch dropped."""
    found = sorted(runs.glob("*/*/metrics.jsonl"))
    if not found:
        raise DteError(f"No run with metrics under {runs}: the run did not start.")
    records = [json.loads(line) for line in found[-1].read_text().splitlines()]
    return [r for r in records if "train/epoch_time_s" in r][1:]


def comm_share(epochs: list[dict[str, float]]) -> dict[str, float]:
    """Median seconds of gradient all-reduce per epoch and its share of the epoch."""
    timed = [e for e in epochs if "train/comm_s" in e]
    if not timed:
        return {}
    comm = statistics.median(e["train/comm_s"] for e in timed)
    epoch = statistics.median(e["train/epoch_time_s"] for e in timed)
    return {"comm_s": comm, "comm_share": comm / epoch if epoch else 0.0}


def relative(rows: list[dict[str, Any]]) -> None:
    """Speed-up and efficiency against the smallest worker count of the same strategy, or
    against a one-process `single` run when the strategy has no one-worker point."""
    single = next((b for b in rows if b["strategy"] == "single" and b["workers"] == 1), None)
    for r in rows:
        base = min((b for b in rows if b["strategy"] == r["strategy"]), key=lambda b: b["workers"])
        if base["workers"] > 1 and single is not None:
            base = single
        r["baseline"] = f"{base['strategy']} x {base['workers']}"
        r["speedup"] = r["samples_per_s"] / base["samples_per_s"]
        r["efficiency"] = r["speedup"] * base["workers"] / r["workers"]


def from_mlflow(science: str, experiment: str | None, tracking_uri: str) -> list[dict[str, Any]]:
    """The newest finished run per (strategy, world size) of the science's experiment."""
    from dte_core.optional import require

    client = require("mlflow.tracking", extra="mlflow").MlflowClient(tracking_uri=tracking_uri)
    name = experiment or science
    found = client.get_experiment_by_name(name)
    if found is None:
        known = ", ".join(e.name for e in client.search_experiments()) or "none"
        raise DteError(f"No MLflow experiment {name!r} at {tracking_uri} (experiments there: "
                       f"{known}). Pass --experiment NAME or --tracking-uri URI.")
    runs = client.search_runs([found.experiment_id], "attributes.status = 'FINISHED'",
                              order_by=["attributes.start_time DESC"], max_results=5000)
    newest: dict[tuple[str, int], Any] = {}
    for run in runs:
        tags = run.data.tags
        if tags.get("dte.science", science) != science or "dte.world_size" not in tags:
            continue
        newest.setdefault((tags.get("dte.strategy", "?"), int(tags["dte.world_size"])), run)
    if not newest:
        raise DteError(f"Experiment {name!r} has no finished {science} runs with a recorded "
                       "strategy and world size (runs tracked by this dte version carry them). "
                       "Train some with `dte train ... --procs N` or let `dte scale` run the "
                       "sweep.")
    rows = []
    for (strategy, workers), run in sorted(newest.items()):
        by_step: dict[int, dict[str, float]] = {}
        for key in TIMING:
            for point in client.get_metric_history(run.info.run_id, key):
                by_step.setdefault(point.step, {})[key] = point.value
        epochs = [by_step[s] for s in sorted(by_step) if "train/epoch_time_s" in by_step[s]][1:]
        rows.append(row(strategy, workers, epochs, run=run.info.run_id, **comm_share(epochs)))
    return rows


def table(rows: list[dict[str, Any]], title: str) -> None:
    from rich import box
    from rich.table import Table

    from dte_cli.console import out

    shown = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)  # fits 80 columns
    for column in ("strategy", "workers", "samples/s", "epoch s", "speed-up", "efficiency",
                   "comm s", "comm %"):
        shown.add_column(column, justify="right")
    for r in rows:
        comm = ("-", "-") if "comm_s" not in r else (f"{r['comm_s']:.3f}",
                                                     f"{r['comm_share']:.0%}")
        shown.add_row(r["strategy"], str(r["workers"]), f"{r['samples_per_s']:.1f}",
                      f"{r['epoch_s']:.3f}", f"{r['speedup']:.2f}", f"{r['efficiency']:.0%}",
                      *comm)
    out().print(shown)


def plot(rows: list[dict[str, Any]], path: Path, title: str = "Scaling",
         predicted: list[dict[str, Any]] | None = None) -> Path:
    """The `figure` as a PNG at `path`."""
    import matplotlib.pyplot as plt

    drawn = figure(rows, title, predicted)
    drawn.savefig(path, dpi=100)
    plt.close(drawn)
    return path


def figure(rows: list[dict[str, Any]], title: str = "Scaling",
           predicted: list[dict[str, Any]] | None = None) -> Any:
    """Throughput and efficiency against workers: measured points, predicted lines (dashed),
    and ideal scaling, with a tick at every worker count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    predicted = predicted or []
    drawn, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for source, style in ((rows, {"marker": "o"}), (predicted, {"marker": "x", "ls": "--"})):
        for name in dict.fromkeys(r["strategy"] for r in source):
            mine = [r for r in source if r["strategy"] == name]
            label = name if source is rows else f"{name} (predicted)"
            xs = [r["workers"] for r in mine]
            left.plot(xs, [r["samples_per_s"] for r in mine], label=label, **style)
            right.plot(xs, [r["efficiency"] for r in mine], label=label, **style)
    counts = sorted({r["workers"] for r in [*rows, *predicted]})
    base = min([*rows, *predicted], key=lambda r: r["workers"]) if counts else None
    if base is not None:
        per_worker = base["samples_per_s"] / base["workers"] / base.get("efficiency", 1.0)
        left.plot(counts, [per_worker * c for c in counts], color="grey", ls=":",
                  label="ideal")
        right.axhline(1.0, color="grey", ls=":", label="ideal")
    left.set(xlabel="workers", ylabel="samples/s", title="throughput")
    right.set(xlabel="workers", ylabel="parallel efficiency", title="efficiency", ylim=(0, 1.2))
    for axis in (left, right):
        if counts and counts[-1] / counts[0] >= 8:
            axis.set_xscale("log", base=2)
            if axis is left:
                axis.set_yscale("log")
        axis.set_xticks(counts, [str(c) for c in counts])
        axis.minorticks_off()
        axis.grid(alpha=0.3)
        axis.legend()
    drawn.suptitle(title)
    drawn.tight_layout()
    return drawn
