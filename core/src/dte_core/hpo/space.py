"""Search spaces over a science's config keys, from YAML, checked against the Config.

    optim.lr: {low: 1.0e-4, high: 0.1, log: true}       # float (type from the schema)
    model.hidden: {low: 8, high: 64, step: 8}           # int
    model.kind: {choices: [unet, decoder]}              # categorical
    model.depth: {low: 2, high: 4, when: {model.kind: unet}}   # only when model.kind is unet
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dte_core import config as config_layer
from dte_core.errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One searched key."""

    key: str
    kind: str  # float | int | categorical
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchSpace:
    """The parameters of a study, in sampling order."""

    params: tuple[Param, ...]

    def sample(self, trial: Any) -> dict[str, Any]:
        """Values for one Optuna trial (conditional keys only when their condition holds)."""
        values: dict[str, Any] = {}
        for p in self.params:
            if any(values.get(k) not in allowed for k, allowed in p.when.items()):
                continue
            if p.kind == "categorical":
                values[p.key] = trial.suggest_categorical(p.key, list(p.choices))
            elif p.kind == "int":
                values[p.key] = trial.suggest_int(p.key, int(p.low), int(p.high),
                                                  step=int(p.step or 1), log=p.log)
            else:
                values[p.key] = trial.suggest_float(p.key, p.low, p.high, step=p.step, log=p.log)
        return values

    def overrides(self, values: dict[str, Any]) -> list[str]:
        """`key=value` overrides for the config layer."""
        return [f"{k}={_text(v)}" for k, v in values.items()]

    def grid(self) -> dict[str, list[Any]]:
        """The grid for GridSampler: categorical choices and stepped ints only."""
        grid = {}
        for p in self.params:
            if p.kind == "categorical":
                grid[p.key] = list(p.choices)
            elif p.kind == "int" and not p.log:
                grid[p.key] = list(range(int(p.low), int(p.high) + 1, int(p.step or 1)))
            else:
                raise ConfigError(f"The grid sampler needs a finite set per key, but "
                                  f"'{p.key}' is a continuous range: give it `choices` or use "
                                  f"--sampler tpe|random.")
        return grid


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load(path: Path, model: type[BaseModel]) -> SearchSpace:
    """Read a search-space YAML and check it against `model`."""
    data = config_layer.load_yaml(path)
    return parse(data, model, str(path))


def parse(data: dict[str, Any], model: type[BaseModel], source: str = "search space"
          ) -> SearchSpace:
    """Check every entry (key exists, ranges sane, bounds valid for the schema)."""
    if not data:
        raise ConfigError(f"The {source} defines no parameter: give at least one key, e.g. "
                          f"`optim.lr: {{low: 1.0e-4, high: 0.1, log: true}}`.")
    params = []
    for key, spec in data.items():
        where = f"'{key}' in {source}"
        annotation = config_layer.field_annotation(model, key)
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a mapping such as {{low: 1, high: 10}} or "
                              f"{{choices: [a, b]}}, not {spec!r}.")
        unknown = set(spec) - {"low", "high", "step", "log", "choices", "when", "type"}
        if unknown:
            raise ConfigError(f"{where} has unknown fields {sorted(unknown)}; allowed: low, "
                              f"high, step, log, choices, when, type.")
        when = {k: tuple(v) if isinstance(v, list) else (v,)
                for k, v in (spec.get("when") or {}).items()}
        if "choices" in spec:
            choices = spec["choices"]
            if not isinstance(choices, list) or not choices:
                raise ConfigError(f"{where}: a categorical needs a non-empty `choices` list.")
            param = Param(key, "categorical", choices=tuple(choices), when=when)
            bounds = choices
        else:
            if "low" not in spec or "high" not in spec:
                raise ConfigError(f"{where} needs `low` and `high` (or `choices`).")
            low, high = spec["low"], spec["high"]
            kind = spec.get("type") or ("int" if _is_int(annotation) else "float")
            if not all(isinstance(v, int | float) for v in (low, high)):
                raise ConfigError(f"{where}: low and high must be numbers, got {low!r}, "
                                  f"{high!r}.")
            if low >= high:
                raise ConfigError(f"{where}: low ({low}) must be smaller than high ({high}).")
            if spec.get("log") and low <= 0:
                raise ConfigError(f"{where}: a log scale needs low > 0, got {low}.")
            param = Param(key, kind, low=low, high=high, step=spec.get("step"),
                          log=bool(spec.get("log")), when=when)
            bounds = [low, high]
        for value in bounds:
            _check_value(model, key, value, where)
        params.append(param)
    keys = [p.key for p in params]
    for p in params:
        for cond in p.when:
            if cond not in keys or keys.index(cond) > keys.index(p.key):
                raise ConfigError(f"'{p.key}' is conditional on '{cond}', which must be a "
                                  f"searched key listed before it.")
    return SearchSpace(tuple(params))


def _is_int(annotation: Any) -> bool:
    members = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return all(a is int for a in members)


def _check_value(model: type[BaseModel], key: str, value: Any, where: str) -> None:
    """The config must accept `value` for `key` (catches bounds outside the schema's limits)."""
    try:
        config_layer.resolve(model, None, [f"{key}={_text(value)}"])
    except ConfigError as exc:
        raise ConfigError(f"{where}: the value {value!r} is not valid for the config: "
                          f"{exc}") from None
