"""The progress bar of long work outside training (generation, studies): one look, on stderr,
silent where it cannot render live (batch logs)."""

from __future__ import annotations

from typing import Any


def bar(description: str, fields: tuple[str, ...] = (), console: Any = None,
        transient: bool = False) -> Any:
    """A rich Progress: description, bar, done/total, task `fields`, elapsed, remaining."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from dte_core.tracking.console import live_display

    console = console or Console(stderr=True)
    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(),
                    *(TextColumn(f"{{task.fields[{name}]}}") for name in fields),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    transient=transient, disable=not live_display(console))
