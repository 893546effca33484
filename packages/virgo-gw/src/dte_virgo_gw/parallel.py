"""Run one function over many items in worker processes, in order, with a progress bar."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: a spawned worker costs seconds of imports (gwpy, lal): give each at least this many items
MIN_ITEMS_PER_WORKER = 16


def worker_count(requested: int | None, items: int) -> int:
    """Processes to use: as requested, else one per core while each gets enough items."""
    if requested is not None:
        return max(1, min(requested, items))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, items // MIN_ITEMS_PER_WORKER))


def ordered_map(fn: Callable[[int], Any], count: int, workers: int,
                initializer: Callable[..., None], initargs: tuple) -> Iterator[Any]:
    """fn(0), fn(1), ... in order; in `workers` spawned processes when more than one.

    Spawned (not forked) workers: the caller may be a torch process with threads, which must
    not be forked. Each worker runs `initializer(*initargs)` once (to receive shared state).
    """
    if workers <= 1:
        initializer(*initargs)
        yield from (fn(i) for i in range(count))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    chunk = max(1, min(8, count // (workers * 4)))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer,
                             initargs=initargs) as pool:
        yield from pool.map(fn, range(count), chunksize=chunk)


def with_progress(results: Iterable[Any], total: int, description: str) -> Iterator[Any]:
    """Yield `results`, advancing a rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task(description, total=total)
        for result in results:
            progress.advance(task)
            yield result
