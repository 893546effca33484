"""Distribution strategies of every engine by name: `@register("ddp")` classes, chosen with
`create(name, env, framework)`. Names and their engines are known without importing either."""

from __future__ import annotations

import contextlib
import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dte_core.errors import ConfigError

if TYPE_CHECKING:
    from dte_core.env import ClusterEnv

#: name -> (framework, module that registers it); modules are imported only when used
CATALOG: dict[str, tuple[str, str]] = {
    "single": ("torch", "dte_core.torch.strategies.single"),
    "ddp": ("torch", "dte_core.torch.strategies.ddp"),
    "deepspeed": ("torch", "dte_core.torch.strategies.deepspeed"),
    "horovod": ("torch", "dte_core.torch.strategies.horovod"),
    "tf-single": ("tensorflow", "dte_core.keras.strategies"),
    "mirrored": ("tensorflow", "dte_core.keras.strategies"),
    "multiworker": ("tensorflow", "dte_core.keras.strategies"),
}
#: what `auto` means per framework: (one process, several processes)
AUTO = {"torch": ("single", "ddp"), "tensorflow": ("mirrored", "multiworker")}
#: other names a framework accepts
ALIASES = {"tensorflow": {"single": "tf-single"}}
FRAMEWORK_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow"}
STRATEGIES: dict[str, type] = {}


class Lifecycle(ABC):
    """The base of every engine's strategies: setup() before training, teardown() after, and
    what the shared loop and run records ask of any of them."""

    name: str

    @abstractmethod
    def setup(self) -> None:
        """Join the process group (if any) and choose the devices."""

    @property
    @abstractmethod
    def processes(self) -> int:
        """Processes taking part."""

    @property
    @abstractmethod
    def is_chief(self) -> bool:
        """Whether this process logs and writes the run's shared files."""

    def describe(self) -> dict[str, int]:
        """The layout recorded in run.json (and MLflow tags)."""
        return {"world_size": self.processes}

    def teardown(self, clean: bool = True) -> None:
        """Leave the process group (`clean`: every rank got here without an error)."""

    @contextlib.contextmanager
    def running(self) -> Iterator[Any]:
        """setup() ... teardown(), even on errors."""
        self.setup()
        try:
            yield self
        except BaseException:
            self.teardown(clean=False)
            raise
        self.teardown(clean=True)


def register(name: str):
    """Class decorator that files a strategy under `name`."""

    def decorate(cls: type) -> type:
        cls.name = name
        STRATEGIES[name] = cls
        return cls

    return decorate


def available(framework: str | None = None) -> list[str]:
    """Every strategy name that can be asked for (of one framework), `auto` included."""
    names = [n for n, (fw, _) in CATALOG.items() if framework in (None, fw)]
    return ["auto", *names, *ALIASES.get(framework or "", {})]


def check_name(name: str) -> None:
    """Raise a ConfigError listing the registered strategies if `name` is none of them."""
    if name not in available():
        raise ConfigError(
            f"Unknown strategy '{name}' (train.strategy / --strategy). Registered strategies: "
            f"{', '.join(available())}. `auto` picks `ddp` for several processes, else `single`."
        )


def resolve_name(name: str, env: ClusterEnv, framework: str = "torch") -> str:
    """The concrete strategy of `framework` for `name` here (`auto`, aliases resolved)."""
    if name == "auto":
        one, several = AUTO[framework]
        return several if env.distributed else one
    name = ALIASES.get(framework, {}).get(name, name)
    owner = CATALOG.get(name, (None,))[0]
    if owner == framework:
        return name
    kind = (f"a {FRAMEWORK_NAMES[owner]} strategy" if owner else "not a strategy")
    one, several = AUTO[framework]
    raise ConfigError(
        f"'{name}' (train.strategy / --strategy) is {kind}; a {FRAMEWORK_NAMES[framework]} "
        f"science runs with: {', '.join(available(framework))}. `auto` picks {one} for one "
        f"process and {several} for several (--procs N)."
    )


def strategy_class(name: str, framework: str = "torch", distributed: bool = False) -> type:
    """The class registered under `name` (imports its module, hence its engine)."""
    concrete = resolve_name(name, _Layout(distributed), framework)
    importlib.import_module(CATALOG[concrete][1])
    return STRATEGIES[concrete]


def create(name: str, env: ClusterEnv, framework: str = "torch", **options: Any) -> Any:
    """Instantiate the strategy registered under `name` (after resolving `auto`)."""
    return strategy_class(name, framework, env.distributed)(env, **options)


class _Layout:
    """Just enough of a ClusterEnv for resolve_name."""

    def __init__(self, distributed: bool) -> None:
        self.distributed = distributed
