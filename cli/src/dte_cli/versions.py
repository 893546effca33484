"""Versions of the installed dte distributions."""

from __future__ import annotations

from importlib.metadata import distributions


def installed_versions() -> list[tuple[str, str]]:
    """(name, version) of every `dte-*` distribution installed, the command line first."""
    found = {}
    for dist in distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("dte-"):
            found[name] = dist.version
    return sorted(found.items(), key=lambda item: (item[0] != "dte-cli", item[0]))
