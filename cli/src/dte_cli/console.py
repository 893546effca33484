"""Rich consoles for output and errors, created on first use.

Piped or redirected, a console neither wraps nor truncates: `dte runs list | cat` keeps whole
ids and commands stay on one line, ready to copy."""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

#: the width of a console that is not a terminal: wide enough never to cut a cell
PIPE_WIDTH = 4096


def _console(stream: Any, **options: Any) -> Console:
    from rich.console import Console

    if not stream.isatty():
        options.update(width=PIPE_WIDTH, soft_wrap=True)
    return Console(highlight=False, **options)


def verbosity() -> int:
    """-1 with `dte -q`, 1 with `dte -v`, else 0."""
    from dte_core.tracking.console import verbosity as level

    return level()


@cache
def out() -> Console:
    """Console on standard output (results: tables, summaries)."""
    return _console(sys.stdout)


@cache
def err() -> Console:
    """Console on standard error (progress and notes; silent with `dte -q`)."""
    return _console(sys.stderr, stderr=True, quiet=verbosity() < 0)


def print_error(message: str) -> None:
    """One paragraph, prefixed with a red 'Error:'; the message is never read as markup."""
    from rich.text import Text

    text = Text("Error: ", style="bold red")
    text.append(message)
    _console(sys.stderr, stderr=True).print(text)
