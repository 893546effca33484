"""`dte predict SCIENCE --run RUN [--input F] --output F [--name value]...`: inference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ScienceArg

app = new_app()


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def predict(
    ctx: typer.Context,
    science: ScienceArg,
    run: Annotated[str, typer.Option("--run", help="Run id, directory or `latest`.",
                                     show_default=False)],
    output: Annotated[Path, typer.Option("--output", "--out", help="File to write.",
                                         show_default=False)],
    input_: Annotated[Path | None, typer.Option(
        "--input", help="Input file in the science's native format (if it takes one).",
        show_default=False)] = None,
    checkpoint: Annotated[str | None, typer.Option(
        "--checkpoint", help="last (default), best, or a checkpoint folder.",
        show_default=False)] = None,
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", show_default=False,
                                                  help="Where run directories are.")] = None,
) -> None:
    """Run a trained model and write its predictions; other --name value flags go to the
    science (for example the conditions of a generative model)."""
    from dte_core import paths, rundir, trained
    from dte_core.errors import ConfigError

    from dte_cli.extra_options import as_overrides

    if input_ is not None and not input_.exists():
        raise ConfigError(f"--input {input_} does not exist.")
    options = dict(item.split("=", 1) for item in as_overrides(ctx.args, "predict"))
    options = {key.removeprefix("predict."): value for key, value in options.items()}
    found = rundir.find((runs_dir or paths.runs_root()).resolve(), run, science)
    sci, cfg, models = trained.load(found.path, checkpoint)
    print(sci.predict(cfg, models, output, input_, options))
