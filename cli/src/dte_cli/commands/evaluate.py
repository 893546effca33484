"""`dte evaluate SCIENCE --run RUN | --model URI`: the science's own validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.model_source import CheckpointOpt, ModelOpt, RunOpt, RunsDirOpt
from dte_cli.options import ScienceArg

app = new_app()


@app.command()
def evaluate(
    science: ScienceArg,
    run: RunOpt = None,
    model: ModelOpt = None,
    checkpoint: CheckpointOpt = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for metrics and figures (default: RUN/evaluation, or "
        ".dte/evaluations/NAME-VERSION for a registered model).", show_default=False)] = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Compute the science's validation metrics and figures for a trained model."""
    from dte.api import evaluate as evaluated

    print(json.dumps(evaluated(science, run=run, model=model, checkpoint=checkpoint, out=out,
                               runs_dir=runs_dir), indent=2))
