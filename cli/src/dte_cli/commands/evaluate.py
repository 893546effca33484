"""`dte evaluate SCIENCE --run RUN`: the science's own validation of a trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ScienceArg

app = new_app()


@app.command()
def evaluate(
    science: ScienceArg,
    run: Annotated[str, typer.Option("--run", help="Run id, directory or `latest`.",
                                     show_default=False)],
    checkpoint: Annotated[str | None, typer.Option(
        "--checkpoint", help="last (default), best, or a checkpoint folder.",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for metrics and figures (default: RUN/evaluation).",
        show_default=False)] = None,
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", show_default=False,
                                                  help="Where run directories are.")] = None,
) -> None:
    """Compute the science's validation metrics and figures for a trained run."""
    from dte_core import paths, rundir, trained

    found = rundir.find((runs_dir or paths.runs_root()).resolve(), run, science)
    sci, cfg, models = trained.load(found.path, checkpoint)
    target = (out or found.path / "evaluation").resolve()
    target.mkdir(parents=True, exist_ok=True)
    metrics = sci.evaluate(cfg, models, target)
    (target / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))
