"""Lazy loading of command modules, so that `dte --help` imports nothing heavy."""

from __future__ import annotations

import importlib
import typing
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:  # typer ships its own click; importing the separate package would cost ~40 ms
    import click


def new_app(**kwargs: Any) -> typer.Typer:
    """A Typer app with dte's defaults: plain (fast) help, no rich tracebacks; shell completion
    lives on the root app only."""
    kwargs.setdefault("rich_markup_mode", None)
    kwargs.setdefault("pretty_exceptions_enable", False)
    kwargs.setdefault("add_completion", False)
    kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
    return typer.Typer(**kwargs)


#: parameter types as a reader says them (typer would print `<list[str]>`)
METAVARS = {int: "INT", float: "NUMBER", str: "TEXT", bool: "BOOL"}


def _metavar(param: Any) -> str:
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return "VALUE"
    if desc.is_choice and desc.choices:
        return "|".join(str(c) for c in desc.choices)
    if desc.is_path:
        return "PATH"
    annotation = desc.annotation
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    return METAVARS.get(annotation, "VALUE")


def readable(command: click.Command, path: str) -> click.Command:
    """Give every parameter of `command` (and of its subcommands) a plain metavar (SCIENCE,
    PATH, INT, TEXT; explicit metavars stay) and each command its example."""
    from dte_cli.examples import epilog

    command.epilog = command.epilog or epilog(path)
    for param in command.params:
        if param.param_type_name == "argument":
            param.metavar = param.metavar or (param.name or "").upper()
            shown = param.metavar + ("..." if param.nargs != 1 else "")
            # typer would add its type (`SCIENCE <str>`) and braces (`{SCIENCE}`)
            param.display_type_rich = lambda ctx: None
            param._usage_display_name = (lambda s=shown, p=param:
                                         s if p.required else f"[{s}]")
        elif param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = _metavar(param)
    for name, sub in getattr(command, "commands", {}).items():
        readable(sub, f"{path} {name}")
    return command


class LazyGroup(TyperGroup):
    """A group whose subcommands live in modules imported on first use."""

    lazy_commands: ClassVar[dict[str, tuple[str, str]]] = {}
    #: help panel -> its commands, in the order `--help` lists them
    panels: ClassVar[dict[str, tuple[str, ...]]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy_commands, *(n for n in super().list_commands(ctx)
                                       if n not in self.lazy_commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(self.lazy_commands[cmd_name][0])
        command = readable(typer.main.get_command(module.app), cmd_name)
        command.name = cmd_name
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[Any, ...]:
        """Click's resolution, with "Did you mean" for a mistyped command name."""
        if args and not ctx.resilient_parsing and self.get_command(ctx, args[0]) is None \
                and not args[0].startswith("-"):
            import difflib

            close = difflib.get_close_matches(args[0], self.list_commands(ctx), n=1)
            if close:
                ctx.fail(f"No such command '{args[0]}'. Did you mean '{close[0]}'?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands by panel from their static help, without importing their modules."""
        short = {name: text for name, (_, text) in self.lazy_commands.items()}
        short.update((name, cmd.get_short_help_str()) for name, cmd in self.commands.items()
                     if name not in short and not cmd.hidden)
        placed = {name for names in self.panels.values() for name in names}
        sections = {**self.panels, "Commands": tuple(n for n in short if n not in placed)}
        for title, names in sections.items():
            rows = [(name, short[name]) for name in names if name in short]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
