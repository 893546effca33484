"""Trained models from a run (`--run`) or from the registry (`--model models:/...`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

RunOpt = Annotated[str | None, typer.Option(
    "--run", help="Run id, directory or `latest`.", show_default=False)]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="Registered model: models:/NAME@ALIAS or models:/NAME/VERSION.",
    show_default=False)]
CheckpointOpt = Annotated[str | None, typer.Option(
    "--checkpoint", help="With --run: last (default), best, or a checkpoint folder.",
    show_default=False)]
RunsDirOpt = Annotated[Path | None, typer.Option(
    "--runs-dir", help="Where run directories are.", show_default=False)]


def load(science: str, run: str | None, model: str | None, checkpoint: str | None,
         runs_dir: Path | None) -> tuple[Any, Any, dict[str, Any], Path | None]:
    """(science, config, models, run folder or None), refusing models of another science."""
    from dte_core import paths, rundir, trained
    from dte_core.errors import ConfigError

    if (run is None) == (model is None):
        raise ConfigError("Give the trained model with --run RUN or --model models:/NAME@ALIAS "
                          "(exactly one of them).")
    if model is not None:
        from dte_core.registry import store, uri

        sci, cfg, models = store.load_model(uri.parse(model), science)
        return sci, cfg, models, None
    found = rundir.find((runs_dir or paths.runs_root()).resolve(), run, science)
    sci, cfg, models = trained.load(found.path, checkpoint)
    return sci, cfg, models, found.path
