"""Discover installed sciences through the `dte.sciences` entry-point group."""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from dte_core.errors import DteError, UnknownScienceError
from dte_core.science import CONTRACT_VERSION, SUPPORTED_CONTRACTS, Science

GROUP = "dte.sciences"
# Sciences shipped by this project, so that a missing one can be named with its install command.
KNOWN_DISTRIBUTIONS = {
    "virgo-gw": "dte-virgo-gw",
    "hep-3dgan": "dte-hep-3dgan",
    "climate-cyclone": "dte-climate-cyclone",
}


@cache
def installed() -> dict[str, EntryPoint]:
    """Entry points of every installed science by name, without importing them."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(name: str) -> Science:
    """Import and return the science registered as `name`."""
    eps = installed()
    if name not in eps:
        raise UnknownScienceError(unknown_science_message(name, sorted(eps)))
    ep = eps[name]
    dist = ep.dist.name if ep.dist else KNOWN_DISTRIBUTIONS.get(name, name)
    try:
        obj = ep.load()
    except ImportError as exc:
        wants = _core_requirement(ep)
        raise IncompatibleScienceError(
            f"The science '{name}' is installed but cannot be imported ({exc}). "
            + (f"It asks for {wants} and dte-core {_core_version()} is installed: "
               if wants else "")
            + f"upgrade it (pip install -U {dist}) or reinstall it (pip install "
              f"--force-reinstall {dist})."
        ) from exc
    if not isinstance(obj, Science):
        raise DteError(
            f"The entry point '{name} = {ep.value}' in group '{GROUP}' gives a "
            f"{type(obj).__name__}, not a dte_core.science.Science instance; the package that "
            f"registers it must be fixed."
        )
    if obj.name != name:
        raise DteError(
            f"The entry point '{name}' gives a science named '{obj.name}'; the entry-point name "
            f"and Science.name must agree in the package that registers it."
        )
    if obj.contract not in SUPPORTED_CONTRACTS:
        newer = obj.contract > CONTRACT_VERSION
        raise IncompatibleScienceError(
            f"The science '{name}' ({dist}) was written for version {obj.contract} of dte's "
            f"science contract; the installed dte-core {_core_version()} runs version "
            f"{', '.join(map(str, SUPPORTED_CONTRACTS))}. "
            + ("Upgrade dte: pip install -U dte-core dte-cli." if newer else
               f"Upgrade the science: pip install -U {dist} (or install the dte-core it was "
               f"made for: {_core_requirement(ep) or 'see its requirements'}).")
        )
    return obj


class IncompatibleScienceError(DteError):
    """An installed science written for another version of the contract (or of dte-core)."""


def load_all() -> list[Science]:
    """Every installed science, sorted by name."""
    return [load(name) for name in sorted(installed())]


def survey() -> list[tuple[str, Science | None, str | None]]:
    """(name, science or None, why it cannot be used) of every installed science: one that
    does not fit this dte-core is reported, not fatal."""
    found = []
    for name in sorted(installed()):
        try:
            found.append((name, load(name), None))
        except DteError as exc:
            found.append((name, None, str(exc)))
    return found


def _core_version() -> str:
    from dte_core import __version__

    return __version__


def _core_requirement(ep: EntryPoint) -> str | None:
    """The science distribution's requirement on dte-core (`dte-core[torch]<0.2,>=0.1`)."""
    for req in (ep.dist.requires or []) if ep.dist else []:
        head = req.split(";")[0].strip()
        if head.lower().replace("_", "-").startswith("dte-core"):
            return head
    return None


def unknown_science_message(name: str, available: list[str]) -> str:
    """One paragraph: what is installed, the closest name and how to install the science."""
    parts = [f"No installed science is called '{name}'."]
    if name in KNOWN_DISTRIBUTIONS:
        parts.append(f"Install it with: pip install {KNOWN_DISTRIBUTIONS[name]}.")
    else:
        candidates = sorted(set(available) | set(KNOWN_DISTRIBUTIONS))
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
        if close:
            guess = close[0]
            parts.append(f"Did you mean '{guess}'?")
            if guess not in available:
                parts.append(f"It is not installed: pip install {KNOWN_DISTRIBUTIONS[guess]}.")
    parts.append(
        "Installed: " + (", ".join(available) if available else "none")
        + ". Other sciences install as pip install dte-<science> (for example pip install "
        "dte-virgo-gw); `dte sciences` lists what is installed."
    )
    return " ".join(parts)
