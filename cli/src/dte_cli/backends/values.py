"""Checks for values that reach a batch script or an ssh/sh command line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dte_core.errors import ConfigError

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SSH_TARGET = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.+%-]*@)?"
                        r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$")
JOB_ID = re.compile(r"^\d+(?:_\d+)?$")


def one_line(key: str, value: str) -> None:
    """Refuse a control character (newline, CR, NUL, ...) in `value`, naming `key`."""
    found = CONTROL.search(value)
    if found:
        raise ConfigError(
            f"{key} {value!r} contains the control character {found.group()!r}: a value that "
            f"reaches the batch script must be one line of printable text (a newline would end "
            f"the #SBATCH block and run what follows as shell). Remove it from {key}.")


def check_request(site: Any, opts: Any) -> None:
    """Every text value of the command line's SLURM options and of the site profile."""
    from dte_cli.backends.request import _flag_fields, _name

    for f in _flag_fields():
        for value in _texts(getattr(opts, f.name)):
            one_line(_name(f), value)
    for key, value in _walk(site.model_dump()):
        one_line(f"site profile '{site.name}' key `{key}`", value)
    for key, target in (("--remote", opts.remote), (f"site profile '{site.name}' key `remote`",
                                                   site.remote)):
        if target:
            ssh_target(key, target)


def ssh_target(key: str, target: str) -> None:
    """Refuse an ssh destination that is not `[user@]host` (e.g. one starting with `-`)."""
    one_line(key, target)
    if not SSH_TARGET.match(target):
        raise ConfigError(
            f"{key} {target!r} is not an ssh destination: use user@login-host or a Host alias "
            f"of ~/.ssh/config (letters, digits, '.', '-', '_'; not starting with '-'). Put ssh "
            f"options such as -p or -J in the site profile's `ssh_options`.")


def job_id(value: str) -> str:
    """A SLURM job id (`1234` or `1234_5`), else a ConfigError."""
    if not JOB_ID.match(value):
        raise ConfigError(f"{value!r} is not a SLURM job id: use the number printed at "
                          f"submission (1234, or 1234_5 for an array task); `dte jobs list` "
                          f"shows them.")
    return value


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _walk(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if prefix:  # a name chosen by the user (an `env` variable), not a field
                yield name, str(key)
            yield from _walk(value, name)
    elif isinstance(data, list):
        for item in data:
            yield from _walk(item, prefix)
    elif isinstance(data, str):
        yield prefix, data
