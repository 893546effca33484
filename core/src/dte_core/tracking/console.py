"""Console sink: a rich progress bar on a terminal, plain lines in batch logs."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dte_core.tracking import Sink


def _fmt(metrics: Mapping[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in metrics.items())


def _with_baseline(metrics: Mapping[str, float], key: str) -> str:
    name, _, leaf = key.rpartition("/")
    baseline = metrics.get(f"{name}/baseline_{leaf}" if name else f"baseline_{leaf}")
    return f"{key} {metrics[key]:.4g}" + ("" if baseline is None else
                                          f" (baseline {baseline:.4g})")


def verbosity() -> int:
    """-1 with `dte -q`, 1 with `dte -v`, else 0 (the CLI sets DTE_VERBOSITY for its workers)."""
    try:
        return int(os.environ.get("DTE_VERBOSITY", "0"))
    except ValueError:
        return 0


def live_display(console: Any) -> bool:
    """A live bar where it renders: a terminal, or Jupyter with ipywidgets (rich's widget);
    elsewhere (batch logs, a notebook without ipywidgets) plain lines."""
    if console.is_jupyter:
        import importlib.util

        return importlib.util.find_spec("ipywidgets") is not None
    return sys.stderr.isatty()


class ConsoleSink(Sink):
    """Progress with step/s, ETA and the running loss; epoch and validation summaries."""

    def __init__(self, title: str, interactive: bool | None = None,
                 key_metrics: tuple[str, ...] = ()) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False, quiet=verbosity() < 0,
                               soft_wrap=not sys.stderr.isatty())
        self.title = title
        #: validation lines show these (with their baselines) and only these, when logged
        self.key_metrics = key_metrics
        self.interactive = live_display(self.console) if interactive is None else interactive
        self.progress = None
        self.task_id = None
        self.total = 0
        self.t0 = self.last_print = self.bar_moved = time.perf_counter()
        self.step0 = 0
        #: without a terminal, print progress lines at most this often (epoch summaries always)
        self.print_every_s = 10.0

    def start(self, params: Mapping[str, Any], artifacts: list[Path], total_steps: int,
              done_steps: int) -> None:
        self.total, self.step0, self.t0 = total_steps, done_steps, time.perf_counter()
        if not self.interactive:
            self.console.print(f"{self.title}: {total_steps} steps"
                               + (f", resuming at step {done_steps}" if done_steps else ""))
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[metrics]}"),
            console=self.console, refresh_per_second=4, transient=False,
        )
        self.progress.start()
        self.task_id = self.progress.add_task(self.title, total=total_steps, completed=done_steps,
                                              rate="", metrics="")

    def advance(self, step: int) -> None:
        # the bar redraws 4 times a second: more updates than that only cost the steps time
        if self.progress is not None and (now := time.perf_counter()) - self.bar_moved >= 0.2:
            self.progress.update(self.task_id, completed=step)
            self.bar_moved = now

    def _rate(self, step: int) -> str:
        """Steps per second since the previous log event."""
        now = time.perf_counter()
        elapsed, done = now - self.t0, step - self.step0
        self.t0, self.step0 = now, step
        return f"{done / elapsed:.1f} step/s" if elapsed > 0 and done > 0 else ""

    def _summary_text(self, metrics: Mapping[str, float]) -> str:
        keys = [k for k in self.key_metrics if k in metrics]
        return "  ".join(_with_baseline(metrics, k) for k in keys) if keys else _fmt(metrics)

    def log(self, metrics: Mapping[str, float], step: int, epoch: int) -> None:
        summary = any(k.startswith("val/") or k.endswith("epoch_time_s") for k in metrics)
        shown = {k: v for k, v in metrics.items() if k.startswith(("train/loss", "val/"))} or \
            dict(list(metrics.items())[:3])
        if self.progress is not None:
            if not summary:
                self.progress.update(self.task_id, completed=step, rate=self._rate(step),
                                     metrics=_fmt(shown))
            else:
                self.progress.console.print(f"epoch {epoch}  step {step}  "
                                            f"{self._summary_text(metrics)}")
        elif summary or time.perf_counter() - self.last_print >= self.print_every_s:
            rate = "" if summary else f"  {self._rate(step)}"
            self.console.print(f"epoch {epoch}  step {step}/{self.total}{rate}  "
                               f"{self._summary_text(metrics) if summary else _fmt(shown)}")
            self.last_print = time.perf_counter()

    def message(self, text: str) -> None:
        self.console.print(text)

    def finish(self, status: str) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.console.print(f"{self.title}: {status}")
