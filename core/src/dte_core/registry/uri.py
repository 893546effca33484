"""Model references: `models:/NAME@ALIAS`, `models:/NAME/VERSION`, or a run (id, path, latest)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dte_core.errors import ConfigError

NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
PATTERN = re.compile(rf"^models:/(?P<name>{NAME})(?:@(?P<alias>{NAME})|/(?P<version>\d+))$")


@dataclass(frozen=True)
class ModelRef:
    """A registered model version, by alias or by number."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        return f"models:/{self.name}@{self.alias}" if self.alias else \
            f"models:/{self.name}/{self.version}"


def is_model_uri(text: str) -> bool:
    return text.startswith("models:")


def parse(text: str) -> ModelRef:
    """Parse a `models:/` URI, or explain the accepted forms."""
    match = PATTERN.match(text.strip())
    if not match:
        raise ConfigError(
            f"The model URI {text!r} does not parse. Use models:/NAME@ALIAS (e.g. "
            f"models:/virgo-denoiser@production) or models:/NAME/VERSION (e.g. "
            f"models:/virgo-denoiser/3); `dte models list` shows the registered names."
        )
    return ModelRef(match["name"], match["alias"], match["version"])
