"""The MLflow pyfunc flavour of a dte model package.

A package folder gets an `MLmodel` file whose python_function flavour names this module as its
loader, a signature made from the science's input example, and the pip requirements of the
science. `mlflow.pyfunc.load_model("models:/NAME/1")` and `mlflow models serve` then rebuild the
model through the science package (never unpickling) and run the science's `predict_arrays`.
Inputs are named after the model (`net`), or `net.0`, `net.1` for a model of several inputs.
"""

from __future__ import annotations

import contextlib
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

LOADER = "dte_core.registry.pyfunc"


def input_names(model: str, count: int) -> list[str]:
    """The request names of a model's positional inputs."""
    return [model] if count == 1 else [f"{model}.{i}" for i in range(count)]


def _requirements(meta: dict[str, Any]) -> list[str]:
    lines = [f"{meta['distribution']}=={meta['science_version']}"]
    with contextlib.suppress(PackageNotFoundError):
        lines.append(f"dte-core=={version('dte-core')}")
    return lines


def add_flavour(folder: Path, meta: dict[str, Any]) -> bool:
    """Make the package in `folder` an MLflow pyfunc model; False when the science gives no
    input example or only mlflow-skinny is installed (the package stays a dte package, loaded by
    dte only; `pip install mlflow` gives the flavour)."""
    import numpy as np

    examples = meta.get("input_example")
    if not examples:
        return False
    try:  # signatures need the full mlflow (pandas); mlflow-skinny alone keeps a dte package
        from mlflow.models import Model
        from mlflow.models.signature import infer_signature
        from mlflow.pyfunc import add_to_model
    except ImportError:
        return False
    _, models = load(folder)
    inputs = {}
    for name, arrays in examples.items():
        inputs.update(zip(input_names(name, len(arrays)),
                          (np.asarray(a, dtype=np.float32) for a in arrays), strict=True))
    outputs = models.predict(inputs)
    mlmodel = Model(signature=infer_signature(inputs, outputs))
    (folder / "requirements.txt").write_text("\n".join(_requirements(meta)) + "\n")
    (folder / "python_env.yaml").write_text(
        f"python: {platform.python_version()}\nbuild_dependencies:\n  - pip\n"
        f"dependencies:\n  - -r requirements.txt\n")
    add_to_model(mlmodel, loader_module=LOADER, python_env="python_env.yaml")
    mlmodel.save(str(folder / "MLmodel"))
    from dte_core.registry import package

    package.seal(folder, meta)  # the flavour's files are part of the package
    return True


class PackageModel:
    """A loaded package behind MLflow's `predict(model_input, params)` interface."""

    def __init__(self, science: Any, config: Any, models: dict[str, Any],
                 example: dict[str, list[Any]]) -> None:
        self.science, self.config, self.models = science, config, models
        self.arity = {name: len(arrays) for name, arrays in example.items()}

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        from dte_core.errors import DteError

        if not isinstance(model_input, dict):
            names = [n for model, k in self.arity.items() for n in input_names(model, k)]
            if len(names) != 1:
                raise DteError(f"This model takes named inputs {', '.join(names)}; send "
                               f'{{"inputs": {{"{names[0]}": ...}}}}.')
            model_input = {names[0]: model_input}
        grouped = {}
        for model, count in self.arity.items():
            names = input_names(model, count)
            if any(n not in model_input for n in names):
                continue
            grouped[model] = tuple(model_input[n] for n in names)
        if not grouped:
            raise DteError(f"No known input in the request (got {', '.join(model_input)}; "
                           f"expected {', '.join(self.arity)}).")
        outputs = self.science.predict_arrays(self.config, self.models, grouped)
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs


def load(folder: Path) -> tuple[dict[str, Any], PackageModel]:
    """(package metadata, pyfunc model) of a package folder."""
    from dte_core.registry import package

    meta = package.read_meta(folder)
    science, config, models = package.load(folder)
    return meta, PackageModel(science, config, models, meta.get("input_example") or {})


def _load_pyfunc(path: str) -> PackageModel:
    """MLflow's entry point: the model stored at `path` (the package folder)."""
    return load(Path(path))[1]
