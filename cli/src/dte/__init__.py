"""dte from Python: train, inspect, evaluate, register and load the models of a science.

    import dte
    run = dte.train("virgo-gw", set={"train.epochs": 2}, procs=2)
    run.metrics()                        # a table of what was logged
    run.register("virgo-denoiser", alias="candidate")
    model = dte.load_model("models:/virgo-denoiser@candidate")
    model.predict("cleaned.h5", input="strain.h5")

Every failure the command line reports as one paragraph is raised as `dte.DteError` with the
same message. Importing this package is cheap: the work (torch, MLflow, ...) is imported by
the call that needs it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DteError", "Model", "Run", "evaluate", "generate", "load_model", "models",
           "register", "run", "runs", "sciences", "train", "tune"]


def __getattr__(name: str) -> Any:
    if name == "DteError":
        from dte_core.errors import DteError

        return DteError
    if name in __all__:
        from dte import api

        return getattr(api, name)
    raise AttributeError(f"module 'dte' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
