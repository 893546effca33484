"""`dte predict SCIENCE --run RUN --input F --output F`: inference with a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ScienceArg

app = new_app()


@app.command()
def predict(
    science: ScienceArg,
    run: Annotated[str, typer.Option("--run", help="Run id, directory or `latest`.",
                                     show_default=False)],
    input_: Annotated[Path, typer.Option("--input", help="Input file in the science's native "
                                         "format.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", help="File to write.",
                                         show_default=False)],
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", show_default=False,
                                                  help="Where run directories are.")] = None,
) -> None:
    """Run a trained model on an input file and write its predictions."""
    from dte_core import paths, rundir, trained
    from dte_core.errors import ConfigError

    if not input_.exists():
        raise ConfigError(f"--input {input_} does not exist.")
    found = rundir.find((runs_dir or paths.runs_root()).resolve(), run, science)
    sci, cfg, models = trained.load(found.path)
    written = sci.predict(cfg, models, input_, output)
    print(written)
