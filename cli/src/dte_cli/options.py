"""Options shared by the verbs that take a science and its configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    import click

ScienceArg = Annotated[str, typer.Argument(help="Science name, as listed by `dte sciences`.",
                                            show_default=False)]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="YAML file over the science's defaults.", show_default=False)]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", "-s", help="Override one key: --set train.epochs=3 (repeatable, applied last).",
    show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class PanelCommand(TyperCommand):
    """Plain (fast) help that still groups options under their `rich_help_panel`."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                title = "Arguments" if param.param_type_name == "argument" else \
                    getattr(param, "rich_help_panel", None) or "Options"
                sections.setdefault(title, []).append(record)
        for title in sorted(sections, key=lambda t: (t != "Arguments", t != "Options")):
            with formatter.section(title):
                formatter.write_dl(sections[title])

