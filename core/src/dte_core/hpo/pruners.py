"""Pruners by name: which trials `dte tune` stops early, built for the study's epoch budget.

Steps reported to a pruner count epochs trained (1 after the first epoch), so a resource
of 1 means one epoch. `asha` is the default: chosen by `benchmarks/hpo_pruning.py` (see
benchmarks/RESULTS.md); `median` is the earlier default, kept selectable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dte_core.errors import ConfigError

DEFAULT = "asha"
PRUNERS: dict[str, Callable[[int], Any]] = {}


def register(name: str) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    def add(factory: Callable[[int], Any]) -> Callable[[int], Any]:
        PRUNERS[name] = factory
        return factory
    return add


@register("none")
def _none(max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.NopPruner()


@register("median")
def _median(max_epochs: int) -> Any:
    """Stop a trial below the median of earlier trials at the same epoch (no warm-up)."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)


@register("median-warmup")
def _median_warmup(max_epochs: int) -> Any:
    """The median rule, judged only after a quarter of the epochs."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=2,
                                       n_warmup_steps=max(1, max_epochs // 4))


@register("asha")
def _asha(max_epochs: int) -> Any:
    """Asynchronous successive halving: a third of the trials go on at epochs 1, 3, 9, ..."""
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)


@register("hyperband")
def _hyperband(max_epochs: int) -> Any:
    """Several successive-halving brackets, from aggressive to none, between 1 and all epochs."""
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, max_epochs),
                                          reduction_factor=3)


def names() -> str:
    return ", ".join(PRUNERS)


def make(name: str, max_epochs: int) -> Any:
    """The Optuna pruner `name` for trials of at most `max_epochs` epochs."""
    if name not in PRUNERS:
        raise ConfigError(f"Unknown pruner {name!r}: use --pruner with one of {names()}.")
    return PRUNERS[name](max_epochs)
