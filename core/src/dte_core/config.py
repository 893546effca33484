"""Layered configuration: science defaults < preset < YAML file < `--set key=value` overrides."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from dte_core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
SCHEMA_HINT = "`dte config schema SCIENCE` lists every key with its type, default and help."
NULL_WORDS = {"null", "~", "none", "None", "Null", "NULL"}


def resolve(
    model: type[M], config_file: Path | str | None = None, overrides: Iterable[str] = (),
    preset: str | None = None,
) -> M:
    """Validate defaults, then the named preset, then the YAML file, then each `key=value`
    override, in that order.

    Layers merge into the model's full default values, so a partial section in a file keeps
    the science's own defaults for the keys it does not set (one source of defaults)."""
    from dte_core import presets

    data: dict[str, Any] = model().model_dump()
    sources: dict[str, str] = {}
    if preset is not None:
        from_preset = presets.load(model, preset, presets.science_of(model))
        merge(data, from_preset)
        for key in dotted_keys(from_preset):
            sources[key] = f"in preset '{preset}'"
    if config_file is not None:
        from_file = load_yaml(Path(config_file))
        merge(data, from_file)
        for key in dotted_keys(from_file):
            sources[key] = f"in {config_file}"
    for item in overrides:
        key, value = apply_override(model, data, item)
        sources[key] = f"from --set {item}"
    return validate(model, data, sources)


class _ConfigLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys and reads `1e-4` as a number (YAML 1.2)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"The config file '{key_node.start_mark.name}' sets the key '{key}' twice "
                    f"in one section (lines {seen[key]} and {line}); YAML would silently keep "
                    f"the last. Delete one of them.")
            seen[key] = line
        return super().construct_mapping(node, deep)


_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def parse_yaml(text: str, name: str = "<text>") -> Any:
    """YAML text as data, by the rules of config files (no duplicate keys, `1e3` a number)."""
    loader = _ConfigLoader(text)
    loader.name = name
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, with errors that give the file, line and column."""
    if not path.is_file():
        hint = "it is a directory" if path.is_dir() else "it does not exist"
        raise ConfigError(
            f"The config file '{path}' cannot be read: {hint}. Check the --config path; "
            f"`dte config show SCIENCE > {path.name}` writes a complete file to start from."
        )
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(
            f"The config file is not valid YAML at {where}: {problem}. Fix the file there; "
            f"keys and values are written as `key: value`, nested sections are indented."
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The config file '{path}' cannot be parsed as YAML: {exc}.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"The config file '{path}' must hold a mapping of keys (like `train: {{epochs: 3}}`), "
            f"but its top level is a {type(data).__name__}."
        )
    return data


def merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `update` into `base` in place; mappings merge, everything else replaces."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value
    return base


def dotted_keys(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every leaf key of a nested mapping as a dotted path."""
    keys = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            keys.extend(dotted_keys(value, path + "."))
        else:
            keys.append(path)
    return keys


def apply_override(model: type[BaseModel], data: dict[str, Any], item: str) -> tuple[str, Any]:
    """Parse `a.b=c`, coerce `c` by the schema's type for `a.b`, and set it in `data`."""
    if "=" not in item:
        raise ConfigError(
            f"The override '--set {item}' has no '='. Write it as --set key=value, for example "
            f"--set train.epochs=3. {SCHEMA_HINT}"
        )
    key, raw = (part.strip() for part in item.split("=", 1))
    if not key:
        raise ConfigError(f"The override '--set {item}' has an empty key before '='.")
    key = current_key(model, key)
    annotation = field_annotation(model, key)
    value = coerce(raw, annotation)
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    return key, value


def current_key(model: type[BaseModel], key: str) -> str:
    """`key` with a renamed top-level section (`eval.x` -> `evaluate.x`) under its new name."""
    renamed: Mapping[str, str] = getattr(model, "renamed_sections", {})
    head, dot, rest = key.partition(".")
    if head not in renamed:
        return key
    from dte_core.schemas import deprecated

    new = renamed[head] + dot + rest
    deprecated(f"the config key '{key}' is now '{new}'; it was set as '{new}'")
    return new


def field_annotation(model: type[BaseModel], key: str) -> Any:
    """The type annotation of dotted `key` in `model`, or a ConfigError naming the allowed keys."""
    current: Any = model
    walked: list[str] = []
    for part in key.split("."):
        sub = submodel(current)
        if sub is None:
            raise ConfigError(
                f"The config key '{key}' does not exist: '{'.'.join(walked)}' is a value, not a "
                f"section, so it has no key '{part}'."
            )
        if part not in sub.model_fields:
            raise ConfigError(unknown_key_message(sub, walked, part))
        current = sub.model_fields[part].annotation
        walked.append(part)
    return current


def submodel(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (`Model` or `Model | None`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def unknown_key_message(
    model: type[BaseModel], parents: list[str], key: str, source: str = "", hint: bool = True
) -> str:
    """One paragraph for an unknown key: where it is, the closest name and the allowed keys."""
    section = ".".join(parents)
    full = ".".join([*parents, key])
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    parts = [f"Unknown config key '{full}'{source}."]
    if close:
        parts.append(f"Did you mean '{'.'.join([*parents, close[0]])}'?")
    where = f"under '{section}'" if section else "at the top level"
    parts.append(f"Allowed keys {where}: {', '.join(allowed)}.")
    if hint:
        parts.append(SCHEMA_HINT)
    return " ".join(parts)


def coerce(raw: str, annotation: Any) -> Any:
    """Turn the text of an override into a value of the annotated type's family."""
    allows_none = annotation is type(None) or type(None) in typing.get_args(annotation)
    if raw in NULL_WORDS and allows_none:
        return None
    if is_text(annotation):
        return raw
    if is_sequence(annotation) and not raw.startswith("["):
        return [] if raw == "" else [_scalar(v.strip()) for v in raw.split(",")]
    return _scalar(raw)


def _scalar(raw: str) -> Any:
    """A YAML scalar (int, float, bool, list, mapping), or the raw text when it is not YAML."""
    try:
        return parse_yaml(raw)
    except (yaml.YAMLError, ConfigError):
        return raw


def _members(annotation: Any) -> list[Any]:
    """The non-None members of a union annotation, or the annotation itself."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def is_text(annotation: Any) -> bool:
    """Whether the annotation only accepts text (str, Path, or a Literal of strings)."""
    members = _members(annotation)

    def text(a: Any) -> bool:
        if typing.get_origin(a) is typing.Literal:
            return all(isinstance(v, str) for v in typing.get_args(a))
        return a in (str, Path)

    return bool(members) and all(text(a) for a in members)


def is_sequence(annotation: Any) -> bool:
    """Whether the annotation is a list or tuple."""
    return any(typing.get_origin(a) in (list, tuple) for a in _members(annotation))


def validate(model: type[M], data: dict[str, Any], sources: Mapping[str, str] | None = None) -> M:
    """Validate `data` into `model`, rewriting pydantic's errors into one clear paragraph."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(model, exc, sources or {})) from None


def validation_message(
    model: type[BaseModel], exc: ValidationError, sources: Mapping[str, str]
) -> str:
    """Each pydantic error as a sentence that names the key, the value, its source and the fix."""
    sentences = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        key = ".".join(loc)
        source = _source_of(key, sources)
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            sentences.append(
                unknown_key_message(parent, loc[:-1], loc[-1], source, hint=False) if parent
                else f"Unknown config key '{key}'{source}.")
            continue
        value = err.get("input")
        shown = f" {value!r}" if not isinstance(value, dict) else ""
        message = err["msg"].removeprefix("Value error, ").rstrip(".")
        sentence = f"Invalid value{shown} for '{key or '(top level)'}'{source}: {message}."
        try:
            annotation = field_annotation(model, key) if key else None
        except ConfigError:
            annotation = None
        if annotation is not None and submodel(annotation) is None:
            sentence += f" Expected: {type_name(annotation)}."
        sentences.append(sentence)
    sentences.append(f"Fix it in the config file or the --set override; {SCHEMA_HINT}")
    return " ".join(sentences)


def _source_of(key: str, sources: Mapping[str, str]) -> str:
    """Where a key's value came from (' from --set ...' or ' in FILE'), if known."""
    for candidate, where in sources.items():
        if candidate == key or candidate.startswith(key + ".") or key.startswith(candidate + "."):
            return f" ({where})"
    return ""


def _model_at(model: type[BaseModel], path: list[str]) -> type[BaseModel] | None:
    """The nested model class at `path`, if the path walks through models."""
    current: Any = model
    for part in path:
        sub = submodel(current)
        if sub is None or part not in sub.model_fields:
            return None
        current = sub.model_fields[part].annotation
    return submodel(current)


def type_name(annotation: Any) -> str:
    """A short readable name for a type annotation (`int`, `'a' | 'b'`, `float | null`)."""
    origin = typing.get_origin(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Literal:
        return " | ".join(repr(v) for v in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if origin in (list, tuple, dict):
        args = ", ".join(type_name(a) for a in typing.get_args(annotation) if a is not Ellipsis)
        return f"{origin.__name__}[{args}]" if args else origin.__name__
    if isinstance(annotation, type):
        return "section" if issubclass(annotation, BaseModel) else annotation.__name__
    return str(annotation)


def to_yaml(config: BaseModel) -> str:
    """The resolved configuration as YAML, in field order."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, default_flow_style=False)


def schema_rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(dotted key, type, default, help) for every leaf key of `model`."""
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        sub = submodel(field.annotation)
        if sub is not None and not field.is_required():
            rows.extend(schema_rows(sub, key + "."))
            continue
        default = "(required)" if field.is_required() else yaml.safe_dump(
            _jsonable(field.get_default(call_default_factory=True)), default_flow_style=True
        ).strip().removesuffix("...").strip()
        rows.append((key, type_name(field.annotation), default, (field.description or "").strip()))
    return rows


def _jsonable(value: Any) -> Any:
    """Defaults as plain YAML-able data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    return value
