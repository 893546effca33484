"""Import optional engines on demand, with an error that names the install command."""

from __future__ import annotations

import importlib
from types import ModuleType

from dte_core.errors import MissingDependencyError


def require(module: str, extra: str | None = None, package: str = "dte-core") -> ModuleType:
    """Import `module`, or raise MissingDependencyError naming `pip install package[extra]`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        target = f"{package}[{extra}]" if extra else package
        raise MissingDependencyError(
            f"This needs the Python package '{module.split('.')[0]}', which is not installed "
            f"({exc}). Install it with: pip install '{target}' and run the command again."
        ) from exc
