"""Pruners by name: which trials `dte tune` stops early, built for the study's epoch budget.

Steps reported to a pruner count epochs trained (1 after the first epoch), so a resource
of 1 means one epoch. `asha` is the default: chosen by `benchmarks/hpo_pruning.py` (see
benchmarks/RESULTS.md); `median` is the earlier default, kept selectable. A name may carry
integer settings after a colon, e.g. `asha:min_resource=2,reduction_factor=4` or
`median:warmup=3`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from dte_core.errors import ConfigError

DEFAULT = "asha"
PRUNERS: dict[str, Callable[..., Any]] = {}


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(factory: Callable[..., Any]) -> Callable[..., Any]:
        PRUNERS[name] = factory
        return factory
    return add


@register("none")
def _none(max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.NopPruner()


@register("median")
def _median(max_epochs: int, startup: int = 2, warmup: int = 0) -> Any:
    """Stop a trial below the median of earlier trials at the same epoch, from epoch `warmup`."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)


@register("median-warmup")
def _median_warmup(max_epochs: int, startup: int = 2) -> Any:
    """The median rule, judged only after a quarter of the epochs."""
    return _median(max_epochs, startup=startup, warmup=max(1, max_epochs // 4))


@register("asha")
def _asha(max_epochs: int, min_resource: int = 1, reduction_factor: int = 3,
          bootstrap_count: int = 0) -> Any:
    """Asynchronous successive halving: a third of the trials go on at epochs 1, 3, 9, ..."""
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource,
                                                  reduction_factor=reduction_factor,
                                                  bootstrap_count=bootstrap_count)


@register("hyperband")
def _hyperband(max_epochs: int, min_resource: int = 1, reduction_factor: int = 3) -> Any:
    """Several successive-halving brackets, from aggressive to none, between 1 and all epochs."""
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=min_resource,
                                          max_resource=max(min_resource, max_epochs),
                                          reduction_factor=reduction_factor)


def names() -> str:
    return ", ".join(PRUNERS)


def make(spec: str, max_epochs: int) -> Any:
    """The Optuna pruner `spec` (`NAME` or `NAME:key=int,...`) for trials of `max_epochs` epochs."""
    name, settings = parse(spec)
    factory = PRUNERS[name]
    accepted = [p for p in inspect.signature(factory).parameters if p != "max_epochs"]
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        raise ConfigError(f"Pruner {name!r} has no setting {', '.join(unknown)}: it takes "
                          f"{', '.join(accepted) or 'none'} (e.g. --pruner "
                          f"{name}{':' + accepted[0] + '=2' if accepted else ''}).")
    try:
        return factory(max_epochs, **settings)
    except ValueError as exc:  # Optuna's own range checks, e.g. reduction_factor < 2
        raise ConfigError(f"--pruner {spec!r}: {exc}") from exc


def parse(spec: str) -> tuple[str, dict[str, int]]:
    """Split `NAME:key=int,key=int` into the registered name and its integer settings."""
    name, _, rest = spec.partition(":")
    if name not in PRUNERS:
        raise ConfigError(f"Unknown pruner {name!r}: use --pruner with one of {names()}.")
    settings: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        try:
            settings[key.strip()] = int(value)
        except ValueError:
            eq = ""
        if not eq:
            raise ConfigError(f"--pruner {spec!r}: settings are key=integer pairs separated "
                              f"by commas, e.g. asha:min_resource=2,reduction_factor=4.")
    return name, settings
