"""Lazy loading of command modules, so that `dte --help` imports nothing heavy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:  # typer ships its own click; importing the separate package would cost ~40 ms
    import click


def new_app(**kwargs: Any) -> typer.Typer:
    """A Typer app with dte's defaults: plain (fast) help, no completion, no rich tracebacks."""
    kwargs.setdefault("rich_markup_mode", None)
    kwargs.setdefault("pretty_exceptions_enable", False)
    kwargs.setdefault("add_completion", False)
    kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
    return typer.Typer(**kwargs)


class LazyGroup(TyperGroup):
    """A group whose subcommands live in modules imported on first use."""

    lazy_commands: ClassVar[dict[str, tuple[str, str]]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy_commands, *(n for n in super().list_commands(ctx)
                                       if n not in self.lazy_commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(self.lazy_commands[cmd_name][0])
        command = typer.main.get_command(module.app)
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
        """List commands from their static help, without importing their modules."""
        rows = [(name, short) for name, (_, short) in self.lazy_commands.items()]
        rows += [(name, cmd.get_short_help_str()) for name, cmd in self.commands.items()
                 if name not in self.lazy_commands and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
