"""The science plugin contract: what a science package registers under `dte.sciences`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from dte_core.errors import NotSupportedError

if TYPE_CHECKING:
    from pydantic import BaseModel

Framework = Literal["torch", "tensorflow"]


class Science(ABC):
    """One science: its configuration, data, model and validation, discovered by entry point.

    Subclasses set the class attributes and implement `config_class`; each verb they do not
    provide yet raises NotSupportedError naming what is missing. Importing a science module must
    stay cheap: torch or tensorflow are imported inside the methods that need them.
    """

    name: ClassVar[str]
    distribution: ClassVar[str]
    framework: ClassVar[Framework]
    summary: ClassVar[str]

    @cached_property
    def version(self) -> str:
        """The installed version of the science's distribution."""
        try:
            return version(self.distribution)
        except PackageNotFoundError:
            return "0+unknown"

    @abstractmethod
    def config_class(self) -> type[BaseModel]:
        """The pydantic model of this science's configuration; its defaults run a short CPU job."""

    @property
    def Config(self) -> type[BaseModel]:  # noqa: N802 - the contract's name for the model class
        """The configuration model (DESIGN.md §2 calls it `Config`)."""
        return self.config_class()

    def generate(self, config: BaseModel, out: Path, **options: Any) -> Path:
        """Write a dataset in the science's native format under `out`."""
        raise self.not_supported("generate", "a dataset generator (`generate`)")

    def task(self, config: BaseModel) -> Any:
        """Build the training Task (model, optimizers, steps) for `config`."""
        raise self.not_supported("train", "a model and its training Task (`task`)")

    def evaluate(self, config: BaseModel, model: Any, out: Path) -> dict[str, float]:
        """Compute the science's validation metrics and figures into `out`."""
        raise self.not_supported("evaluate", "physics validation (`evaluate`)")

    def predict(self, config: BaseModel, model: Any, inputs: Path, output: Path) -> Path:
        """Run inference of a trained model on `inputs`, writing `output`."""
        raise self.not_supported("predict", "inference (`predict`)")

    def not_supported(self, verb: str, what: str) -> NotSupportedError:
        """The error for a verb this science does not provide yet."""
        return NotSupportedError(
            f"The science '{self.name}' ({self.distribution} {self.version}) cannot '{verb}' yet: "
            f"it does not provide {what}. Upgrade the package (pip install -U {self.distribution}) "
            f"or choose a science that does; `dte sciences` lists what each one provides."
        )

    def capabilities(self) -> list[str]:
        """The verbs this science implements (methods overridden from this base)."""
        verbs = {"generate": "generate", "task": "train", "evaluate": "evaluate",
                 "predict": "predict"}
        return [verb for method, verb in verbs.items()
                if getattr(type(self), method) is not getattr(Science, method)]
