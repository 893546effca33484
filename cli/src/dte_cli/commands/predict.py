"""`dte predict SCIENCE --run RUN | --model URI [--input F] --output F [--name value]...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.model_source import CheckpointOpt, ModelOpt, RunOpt, RunsDirOpt
from dte_cli.options import ScienceArg

app = new_app()


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def predict(
    ctx: typer.Context,
    science: ScienceArg,
    output: Annotated[Path, typer.Option("--output", "--out", help="File to write.",
                                         show_default=False)],
    run: RunOpt = None,
    model: ModelOpt = None,
    input_: Annotated[Path | None, typer.Option(
        "--input", help="Input file in the science's native format (if it takes one).",
        show_default=False)] = None,
    checkpoint: CheckpointOpt = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Run a trained model (--run or --model) and write its predictions; other --name value
    flags go to the science (for example the conditions of a generative model)."""
    from dte.api import model_of

    from dte_cli.extra_options import as_overrides

    options = dict(item.split("=", 1) for item in as_overrides(ctx.args, "predict"))
    options = {key.removeprefix("predict."): value for key, value in options.items()}
    from dte_core.errors import ConfigError

    if input_ is not None and not input_.exists():  # before the model loads
        raise ConfigError(f"--input {input_} does not exist.")
    _check_output(output)
    loaded = model_of(science, run, model, checkpoint, runs_dir)
    try:
        written = loaded.predict(output, input_, **options)
    except OSError as exc:  # a file system that refuses the file after all
        raise ConfigError(f"--output {output}: cannot be written ({exc.strerror or exc}). "
                          f"Choose a file in a folder you can write to.") from None
    print(written)


def _check_output(output: Path) -> None:
    """Refuse an --output that cannot be written, before the model loads."""
    import tempfile

    from dte_core.errors import ConfigError

    folder = output.resolve().parent
    if output.is_dir():
        raise ConfigError(f"--output {output} is a folder; give a file name, e.g. "
                          f"{output / 'predictions.h5'}.")
    if not folder.is_dir():
        raise ConfigError(f"--output {output}: the folder {folder} does not exist; create it "
                          f"or choose another path.")
    try:  # a probe file, not os.access: root passes access checks that /proc still refuses
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(f"--output {output}: files cannot be written in {folder} "
                          f"({exc.strerror or exc}). Choose a file in a folder you can write "
                          f"to.") from None
