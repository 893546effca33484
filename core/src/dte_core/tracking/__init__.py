"""The Logger facade: one call fans out to the console, JSON lines, MLflow and TensorBoard."""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class Sink(ABC):
    """One destination of a run's parameters, metrics and artifacts; every method optional."""

    def start(self, params: Mapping[str, Any], artifacts: list[Path], total_steps: int,
              done_steps: int) -> None:
        """The run begins (or resumes at `done_steps`)."""

    def advance(self, step: int) -> None:
        """An optimizer step finished (called every step: keep it trivial)."""

    def log(self, metrics: Mapping[str, float], step: int, epoch: int) -> None:
        """Record metrics at `step`."""

    def message(self, text: str) -> None:
        """A human-readable event (checkpoint written, early stop, ...)."""

    def finish(self, status: str) -> None:
        """The run ends with `status` (finished, failed, stopped)."""


class Logger:
    """Fans each call out to its sinks; a rank that does not log gets no sinks."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks
        self._stepping = [s for s in sinks if type(s).advance is not Sink.advance]

    def start(self, params: Mapping[str, Any], artifacts: list[Path], total_steps: int,
              done_steps: int = 0) -> None:
        for sink in self.sinks:
            sink.start(params, artifacts, total_steps, done_steps)

    def advance(self, step: int) -> None:
        for sink in self._stepping:
            sink.advance(step)

    def log(self, metrics: Mapping[str, float], step: int, epoch: int) -> None:
        for sink in self.sinks:
            sink.log(metrics, step, epoch)

    def message(self, text: str) -> None:
        for sink in self.sinks:
            sink.message(text)

    def finish(self, status: str) -> None:
        for sink in self.sinks:
            sink.finish(status)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config as dotted keys (MLflow params)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
