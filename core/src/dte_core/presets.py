"""Named presets: YAML files a science ships in its `presets/` folder, layered between the
science's defaults and `--config` (defaults < preset < file < `--set`)."""

from __future__ import annotations

import difflib
import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dte_core.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    """One preset: its name, the first comment line of its file, and the file."""

    name: str
    summary: str
    path: Path

    def keys(self) -> list[str]:
        """The dotted keys this preset sets."""
        from dte_core.config import dotted_keys, load_yaml

        return dotted_keys(load_yaml(self.path))


def folder(model: type) -> Path | None:
    """The `presets/` folder of the package that defines the config model, if it has one."""
    package = model.__module__.split(".")[0]
    try:
        found = importlib.resources.files(package) / "presets"
    except ModuleNotFoundError:
        return None
    path = Path(str(found))
    return path if path.is_dir() else None


def science_of(model: type) -> str:
    """The science name a config model's package implies (`dte_virgo_gw` -> `virgo-gw`)."""
    return model.__module__.split(".")[0].removeprefix("dte_").replace("_", "-")


def available(model: type) -> dict[str, Preset]:
    """Every preset shipped beside `model`, by name."""
    where = folder(model)
    if where is None:
        return {}
    return {p.stem: Preset(p.stem, _summary(p), p) for p in sorted(where.glob("*.yaml"))}


def find(model: type, name: str, science: str) -> Preset:
    """The preset called `name`, or a ConfigError naming the presets there are."""
    presets = available(model)
    if name in presets:
        return presets[name]
    close = difflib.get_close_matches(name, list(presets), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    known = ", ".join(presets) or "none"
    raise ConfigError(
        f"Unknown preset '{name}' for {science}.{hint} Presets it ships: {known}. "
        f"`dte config presets {science}` lists them with what each sets; drop --preset to "
        f"train with the defaults.")


def load(model: type, name: str | None, science: str) -> dict[str, Any]:
    """The settings of preset `name` as a mapping ({} for None)."""
    if name is None:
        return {}
    from dte_core.config import load_yaml

    return load_yaml(find(model, name, science).path)


def _summary(path: Path) -> str:
    """The file's first comment line, without its `#`."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""
