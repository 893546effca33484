"""The options naming a trained model: a run (`--run`) or the registry (`--model models:/...`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

