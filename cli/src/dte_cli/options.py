"""Options shared by the verbs that take a science and its configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    import click

ScienceArg = Annotated[str, typer.Argument(help="Science name, as listed by `dte sciences`.",
                                            show_default=False)]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="YAML file over the science's defaults.", show_default=False)]
PresetOpt = Annotated[str | None, typer.Option(
    "--preset", "-p", help="A preset the science ships, between its defaults and --config "
    "(`dte config presets SCIENCE` lists them).", show_default=False)]
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



def science_settings(name: str, section: str | None) -> list[tuple[str, str]]:
    """(flag, help) rows of a science's settings: the keys of its config `section` as `--key`
    flags, or, for None, every section with its keys (for `--set section.key=value`)."""
    from dte_core import sciences

    model = sciences.load(name).Config
    if section is not None:
        fields = model.model_fields[section].annotation.model_fields
        return [(f"--{key.replace('_', '-')}", f"{(f.description or '').split(chr(10))[0]}"
                 f"  [default: {f.default}]") for key, f in fields.items()]
    rows = []
    for key, field in model.model_fields.items():
        keys = getattr(field.annotation, "model_fields", {})
        rows.append((f"{key}.*", f"{field.description or ''} Keys: {', '.join(keys)}."))
    return rows


class ScienceCommand(PanelCommand):
    """A verb whose `--help` after a science name also lists that science's own settings."""

    #: the config section whose keys are flags of this verb (None: every section, via --set)
    flags_of: ClassVar[str | None] = None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["dte.science"] = next((a for a in args if not a.startswith("-")), None)
        return super().parse_args(ctx, args)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from dte_core.errors import DteError

        name = ctx.meta.get("dte.science")
        if name:
            try:
                rows = science_settings(name, self.flags_of)
            except (DteError, KeyError):  # not a science: the usual help is enough
                rows = []
            title = (f"{name} flags (set {self.flags_of}.KEY)" if self.flags_of else
                     f"{name} settings (--set SECTION.KEY=VALUE; `dte config schema {name}`)")
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


class DataFlagsCommand(ScienceCommand):
    """`dte data generate|prepare SCIENCE --help`: the science's data.* keys as flags."""

    flags_of = "data"
