"""The progress bar of long work outside training (generation, studies): one look, on stderr;
where it cannot render live (batch logs, a pipe) one line per unit of work instead."""

from __future__ import annotations

from typing import Any


def bar(description: str, fields: tuple[str, ...] = (), console: Any = None,
        transient: bool = False) -> Any:
    """A rich Progress: description, bar, done/total, task `fields`, elapsed, remaining; not
    live, it prints `description: done/total fields` each time a task's count moves."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from dte_core.tracking.console import live_display, verbosity

    console = console or Console(stderr=True, quiet=verbosity() < 0)
    live = live_display(console)

    class Lines(Progress):
        """Progress that logs a line per unit of work where no live bar renders."""

        def update(self, task_id: Any, **changes: Any) -> None:
            before = self._tasks[task_id].completed
            super().update(task_id, **changes)
            self._line(task_id, before)

        def advance(self, task_id: Any, advance: float = 1) -> None:
            before = self._tasks[task_id].completed
            super().advance(task_id, advance)
            self._line(task_id, before)

        def _line(self, task_id: Any, before: float) -> None:
            task = self._tasks[task_id]
            if live or task.completed == before:
                return
            total = f"/{task.total:g}" if task.total is not None else ""
            extra = "  ".join(str(task.fields[name]) for name in fields if task.fields.get(name))
            head = task.description if "{task" in description else \
                f"{description} {task.description}"
            console.print(f"{head}: {task.completed:g}{total}  {extra}".rstrip())

    return Lines(TextColumn(description), BarColumn(), MofNCompleteColumn(),
                    *(TextColumn(f"{{task.fields[{name}]}}") for name in fields),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    transient=transient, disable=not live)
