"""Science-specific `--name value` flags of generic verbs, mapped onto config keys."""

from __future__ import annotations

from dte_core.errors import ConfigError


def as_overrides(args: list[str], section: str) -> list[str]:
    """`--aux-channels 4 --main X --aux A --aux B` -> `section.aux_channels=4`, ... (lists join)."""
    values: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise ConfigError(f"Unexpected argument '{arg}'. Options are written --name value "
                              f"and map to the config keys under '{section}.'; `dte config "
                              f"schema SCIENCE` lists them.")
        name, _, value = arg[2:].partition("=")
        if not _:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            else:
                value = "true"  # a bare flag switches a boolean on
        values.setdefault(name.replace("-", "_"), []).append(value)
        i += 1
    return [f"{section}.{key}={','.join(vals)}" for key, vals in values.items()]
