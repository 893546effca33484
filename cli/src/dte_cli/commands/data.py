"""`dte data generate|prepare SCIENCE --out DIR`: datasets in a science's native format;
`dte data check SCIENCE PATH...`: what dte finds in files, before a job is spent on them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, DataFlagsCommand, JsonOpt, PresetOpt, ScienceArg, SetOpt

app = new_app(name="data", help="Generate or prepare datasets in a science's native format.",
              no_args_is_help=True)
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder to create (must not exist or "
                                      "be empty).", show_default=False)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty --out.")]


@app.command(cls=DataFlagsCommand, context_settings=EXTRA)
def generate(ctx: typer.Context, science: ScienceArg, out: OutOpt, preset: PresetOpt = None,
             config: ConfigOpt = None, set_: SetOpt = None, overwrite: OverwriteOpt = False,
             as_json: JsonOpt = False) -> None:
    """Generate a dataset; other --name value flags set data.name (see `dte config schema`)."""
    from dte.api import generate as generated

    _report(science, out, generated(science, out, preset=preset, config=config,
                                    set=_sets(set_, ctx.args), overwrite=overwrite), as_json)


@app.command(cls=DataFlagsCommand, context_settings=EXTRA)
def prepare(ctx: typer.Context, science: ScienceArg, out: OutOpt,
            sources: Annotated[list[Path], typer.Option(
                "--from", help="Real-world input file (repeatable).", show_default=False)],
            config: ConfigOpt = None, set_: SetOpt = None,
            overwrite: OverwriteOpt = False, as_json: JsonOpt = False) -> None:
    """Convert real-world files into the native format; other flags set data.* keys."""
    from dte.api import prepare as prepared

    _report(science, out, prepared(science, sources, out, config=config,
                                   set=_sets(set_, ctx.args), overwrite=overwrite), as_json)


@app.command(context_settings=EXTRA)
def check(ctx: typer.Context, science: ScienceArg,
          paths: Annotated[list[Path], typer.Argument(
              help="Files, folders or glob patterns to check, as training would read them.",
              show_default=False)],
          config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Open files the way training would; print what is in them and how dte reads them (exit
    2 with the reason when it would not). Other flags set data.* keys."""
    from dte.api import check_data
    from dte_core.errors import DataCheckFailed

    files, extra, given = [], list(ctx.args), [str(p) for p in paths]
    while given:  # the variadic PATH argument also collects --name value flags
        item = given.pop(0)
        if item.startswith("--"):
            extra.append(item)
            if given and not given[0].startswith("--") and "=" not in item:
                extra.append(given.pop(0))
        else:
            files.append(Path(item))
    try:
        lines = check_data(science, files, config=config, set=_sets(set_, extra))
    except DataCheckFailed as exc:
        _lines(exc.lines)
        raise
    _lines(lines)


def _lines(lines: list[tuple[str, str]]) -> None:
    width = min(max((len(what) for what, _ in lines), default=0), 16)
    for what, found in lines:
        if len(what) > width:  # a file name: on its own line, what was found below it
            print(f"{what}\n{' ' * (width + 2)}{found}")
        else:
            print(f"{what.ljust(width)}  {found}")


def _sets(sets: list[str] | None, extra: list[str]) -> list[str]:
    from dte_cli.extra_options import as_overrides

    return [*(sets or []), *as_overrides(extra, "data")]


def _report(science: str, out: Path, summary: dict[str, Any], as_json: bool) -> None:
    from dte_cli.summary import as_json as dumps
    from dte_cli.summary import closing, flat

    if as_json:
        print(dumps(summary))
        return
    from dte.api import science_and_config

    folder = out.resolve()
    sci, cfg = science_and_config(science, None, None)
    train = " ".join(f"--set {item}" for item in sci.dataset_path(cfg, folder))
    closing(f"{science} dataset: {folder}", flat(summary).items(),
            [f"dte train {science} {train}".rstrip()])
