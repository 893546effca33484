"""Rich consoles for output and errors, created on first use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@cache
def out() -> Console:
    """Console on standard output."""
    from rich.console import Console

    return Console(highlight=False)


@cache
def err() -> Console:
    """Console on standard error."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_error(message: str) -> None:
    """One paragraph, prefixed with a red 'Error:'; the message is never read as markup."""
    from rich.text import Text

    text = Text("Error: ", style="bold red")
    text.append(message)
    err().print(text)
