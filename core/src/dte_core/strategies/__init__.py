"""Distribution strategies by name: `@register("ddp")` classes, chosen with `create(name, env)`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from dte_core.errors import ConfigError

if TYPE_CHECKING:
    from dte_core.env import ClusterEnv
    from dte_core.strategies.base import Strategy

# name -> module that registers it; modules are imported only when their strategy is used.
MODULES: dict[str, str] = {
    "single": "dte_core.strategies.single",
    "ddp": "dte_core.strategies.ddp",
    "deepspeed": "dte_core.strategies.deepspeed",
    "horovod": "dte_core.strategies.horovod",
    # TensorFlow strategies: only the Keras worker (dte_core.keras) creates them
    "tf-single": "dte_core.keras.strategies",
    "mirrored": "dte_core.keras.strategies",
    "multiworker": "dte_core.keras.strategies",
}
TENSORFLOW = ("tf-single", "mirrored", "multiworker")
STRATEGIES: dict[str, type[Strategy]] = {}


def register(name: str):
    """Class decorator that files a Strategy under `name`."""

    def decorate(cls: type[Strategy]) -> type[Strategy]:
        cls.name = name
        STRATEGIES[name] = cls
        return cls

    return decorate


def available() -> list[str]:
    """Every strategy name that can be asked for, `auto` included."""
    return ["auto", *MODULES]


def check_name(name: str) -> None:
    """Raise a ConfigError listing the registered strategies if `name` is not one."""
    if name not in available():
        raise ConfigError(
            f"Unknown strategy '{name}' (train.strategy / --strategy). Registered strategies: "
            f"{', '.join(available())}. `auto` picks `ddp` for several processes, else `single`."
        )


def resolve_name(name: str, env: ClusterEnv) -> str:
    """The concrete strategy for `name` in this environment (`auto` -> single or ddp)."""
    check_name(name)
    if name in TENSORFLOW:
        torch_names = ", ".join(n for n in MODULES if n not in TENSORFLOW)
        raise ConfigError(f"The strategy '{name}' is for TensorFlow sciences; this science uses "
                          f"PyTorch: use one of auto, {torch_names}.")
    if name == "auto":
        return "ddp" if env.distributed else "single"
    return name


def create(name: str, env: ClusterEnv, **options) -> Strategy:
    """Instantiate the strategy registered under `name` (after resolving `auto`)."""
    concrete = resolve_name(name, env)
    importlib.import_module(MODULES[concrete])
    return STRATEGIES[concrete](env, **options)
