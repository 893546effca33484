"""Run one function over many items in worker processes, in order, with a progress bar."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: starting the worker pool costs seconds of imports (gwpy, lal): worth it from this many items
MIN_ITEMS_PER_WORKER = 16


def worker_count(requested: int | None, items: int) -> int:
    """Processes to use: as requested, else one per core while each gets enough items."""
    if requested is not None:
        return max(1, min(requested, items))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, items // MIN_ITEMS_PER_WORKER))


#: what every worker needs: imported once by the fork server, inherited by each worker
PRELOAD = ["numpy", "scipy.signal", "h5py", "lal", "lalsimulation", "gwpy.timeseries",
           "dte_virgo_gw.generate", "dte_virgo_gw.prepare"]


def _context():
    """A fork server where the platform has one, else spawn.

    Never a plain fork: the caller may be a torch process with threads. The fork server is a
    fresh process that imports PRELOAD once (gwpy alone takes seconds) and forks each worker
    from there, so workers start in milliseconds with everything loaded."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def ordered_map(fn: Callable[[int], Any], count: int, workers: int,
                initializer: Callable[..., None], initargs: tuple) -> Iterator[Any]:
    """fn(0), fn(1), ... in order; in `workers` processes when more than one, each of which
    runs `initializer(*initargs)` once (to receive shared state)."""
    if workers <= 1:
        initializer(*initargs)
        yield from (fn(i) for i in range(count))
        return
    from concurrent.futures import ProcessPoolExecutor

    context = _context()
    chunk = max(1, min(8, count // (workers * 4)))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer,
                             initargs=initargs) as pool:
        yield from pool.map(fn, range(count), chunksize=chunk)


def with_progress(results: Iterable[Any], total: int, description: str) -> Iterator[Any]:
    """Yield `results`, advancing a progress bar on stderr."""
    from dte_core.progress import bar

    with bar("{task.description}") as progress:
        task = progress.add_task(description, total=total)
        for result in results:
            progress.advance(task)
            yield result
