"""`dte science new NAME`: a new science package written from the skeleton."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app

app = new_app(name="science", help="Write a new science package from the skeleton.",
              no_args_is_help=True)


@app.callback()
def science() -> None:
    """Write a new science package from the skeleton (more verbs may join `new`)."""


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="Science name: lowercase words joined by dashes.",
                                        show_default=False)],
    framework: Annotated[str, typer.Option(help="Engine of the model: torch or tensorflow.")
                         ] = "torch",
    out: Annotated[Path, typer.Option(help="Folder in which NAME/ is created.")] = Path("."),
) -> None:
    """Write NAME/ (pyproject with the entry point, the skeleton modules with a working
    synthetic regression, tests, README); then `pip install -e NAME` and `dte train NAME`."""
    from dte_cli import scaffold
    from dte_cli.console import out as console

    target = scaffold.write(name, framework, out)
    console().print(f"Wrote {target} ({scaffold.distribution_of(name)}, {framework}).\n"
                    f"Next: pip install -e {target} && dte train {name}; "
                    f"docs/new-science.md walks through filling it in.")
