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
#: the version of this contract (bumped with dte-core's minor version when it changes in a way a
#: science must follow); a science declares the one it was written for as `contract`
CONTRACT_VERSION = 2
#: contract versions this dte-core runs
SUPPORTED_CONTRACTS = (2,)
#: the modules every science package has (DESIGN.md §6; `dte science new` writes them)
SKELETON = ("config", "data", "model", "task", "generate", "prepare", "validation", "evaluate",
            "predict", "plots", "science")


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
    #: the contract version the science was written for (0: before contracts had versions)
    contract: ClassVar[int] = 0
    #: the validation metric `dte tune` optimises by default, and its direction
    tune_metric: ClassVar[str] = "val/loss"
    tune_direction: ClassVar[str] = "minimize"
    #: the validation metrics that matter, shown on the console and in closing summaries (the
    #: rest go to metrics.jsonl); a metric's baseline, where logged, is `val/baseline_NAME`
    key_metrics: ClassVar[tuple[str, ...]] = ("val/loss",)
    #: metric names (fnmatch patterns) whose value never changes over a run, e.g. a fixed
    #: baseline's score: MLflow records them once as params instead of a metric per epoch
    constant_metrics: ClassVar[tuple[str, ...]] = ()

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

    def input_example(self, config: BaseModel) -> dict[str, tuple[Any, ...]] | None:
        """Example inputs per model name (numpy arrays, positional), for the registry's
        signature and for `dte export`; None if the science gives none."""
        return None

    def search_space(self) -> dict[str, Any] | None:
        """The default `dte tune` search space (same mapping as a --space YAML), or None."""
        return None

    def generate(self, config: BaseModel, out: Path) -> dict[str, Any]:
        """Write a dataset in the science's native format into the empty folder `out`.

        Options come from `config.data` (`dte data generate SCIENCE --samples 100` sets
        `data.samples`); returns a short summary (files, sizes, counts) for the console."""
        raise self.not_supported("generate", "a dataset generator (`generate`)")

    def prepare(self, config: BaseModel, sources: list[Path], out: Path) -> dict[str, Any]:
        """Turn real-world files (the community's formats) into the native format in `out`."""
        raise self.not_supported("prepare", "a converter from real-world data (`prepare`)")

    def task(self, config: BaseModel) -> Any:
        """Build the training Task (model, optimizers, steps) for `config`."""
        raise self.not_supported("train", "a model and its training Task (`task`)")

    def evaluate(self, config: BaseModel, models: dict[str, Any], out: Path) -> dict[str, float]:
        """The science's validation metrics of trained `models`; figures go into `out`."""
        raise self.not_supported("evaluate", "physics validation (`evaluate`)")

    def predict(self, config: BaseModel, models: dict[str, Any], output: Path,
                inputs: Path | None = None, options: dict[str, str] | None = None) -> Path:
        """Run trained `models` on `inputs` (native format) or on `options` (e.g. the
        conditions of a generative model: `--energy 50 --events 1000`), writing `output`."""
        raise self.not_supported("predict", "inference (`predict`)")

    def predict_arrays(self, config: BaseModel, models: dict[str, Any],
                       inputs: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
        """In-memory inference (the registry's MLflow pyfunc flavour, `mlflow models serve`):
        numpy inputs per model name, shaped like `input_example`, to numpy outputs per model.
        By default each named model runs forward; a science overrides it to add pre- or
        post-processing."""
        from dte_core import engine

        run = engine.of(self)
        return {name: run.infer(models[name], arrays) for name, arrays in inputs.items()}

    def data_signature(self, config: BaseModel) -> dict[str, Any] | None:
        """Attributes of the training data a trained model depends on (sample rate, shapes,
        channel names, ...), stored with the run and the registered model
        (`dte_core.datasig`) so `predict`/`evaluate` can refuse other input; None: none."""
        return None

    def check(self, config: BaseModel, paths: list[Path]) -> list[tuple[str, str]]:
        """`dte data check SCIENCE PATH...`: open `paths` the way training with `config` would
        and return (what, found) lines (variables, shapes, units, ..., and how dte reads
        them); raise `DataCheckFailed(reason, lines)` when dte would not read them."""
        raise self.not_supported("data check", "a checker of input files (`check`)")

    def dataset_path(self, config: BaseModel, folder: Path) -> list[str]:
        """Overrides that point training at a dataset `generate` wrote into `folder` (a
        pipeline's data step): `data.path=FOLDER` where the config has that key."""
        data = getattr(config, "data", None)
        return [f"data.path={folder}"] if data is not None and hasattr(data, "path") else []

    def not_supported(self, verb: str, what: str) -> NotSupportedError:
        """The error for a verb this science does not provide yet."""
        return NotSupportedError(
            f"The science '{self.name}' ({self.distribution} {self.version}) cannot '{verb}' yet: "
            f"it does not provide {what}. Upgrade the package (pip install -U {self.distribution}) "
            f"or choose a science that does; `dte sciences` lists what each one provides."
        )

    def capabilities(self) -> list[str]:
        """The verbs this science implements (methods overridden from this base)."""
        verbs = {"generate": "generate", "prepare": "prepare", "task": "train",
                 "evaluate": "evaluate", "predict": "predict"}
        return [verb for method, verb in verbs.items()
                if getattr(type(self), method) is not getattr(Science, method)]
