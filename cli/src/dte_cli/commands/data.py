"""`dte data generate|prepare SCIENCE --out DIR`: datasets in a science's native format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, ScienceArg, SetOpt

app = new_app(name="data", help="Generate or prepare datasets in a science's native format.",
              no_args_is_help=True)
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder to create (must not exist or "
                                      "be empty).", show_default=False)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty --out.")]


@app.command(context_settings=EXTRA)
def generate(ctx: typer.Context, science: ScienceArg, out: OutOpt, config: ConfigOpt = None,
             set_: SetOpt = None, overwrite: OverwriteOpt = False) -> None:
    """Generate a dataset; other --name value flags set data.name (see `dte config schema`)."""
    from dte.api import generate as generated

    _report(out, generated(science, out, config=config, set=_sets(set_, ctx.args),
                           overwrite=overwrite))


@app.command(context_settings=EXTRA)
def prepare(ctx: typer.Context, science: ScienceArg, out: OutOpt,
            sources: Annotated[list[Path], typer.Option(
                "--from", help="Real-world input file (repeatable).", show_default=False)],
            config: ConfigOpt = None, set_: SetOpt = None,
            overwrite: OverwriteOpt = False) -> None:
    """Convert real-world files into the native format; other flags set data.* keys."""
    from dte.api import prepare as prepared

    _report(out, prepared(science, sources, out, config=config, set=_sets(set_, ctx.args),
                          overwrite=overwrite))


def _sets(sets: list[str] | None, extra: list[str]) -> list[str]:
    from dte_cli.extra_options import as_overrides

    return [*(sets or []), *as_overrides(extra, "data")]


def _report(out: Path, summary: dict[str, Any]) -> None:
    from dte_cli.console import err

    err().print(f"wrote {out.resolve()}")
    print(json.dumps(summary, indent=2, default=str))
