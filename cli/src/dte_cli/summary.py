"""Human output of results: key/value tables, metrics beside their baselines, closing
summaries that say what was written where and what to run next."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def plain(value: Any) -> Any:
    """A value as a reader wants it: whole floats as ints (counts), others to 4 digits."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
        return float(f"{value:.4g}")
    return value


def as_json(data: Any) -> str:
    """Machine output: valid JSON, whole floats as ints."""
    def clean(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {str(k): clean(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v) for v in item]
        if isinstance(item, float) and item.is_integer() and abs(item) < 1e15:
            return int(item)
        return item
    return json.dumps(clean(data), indent=2, default=str)


def flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mappings as `a.b` keys; lists joined by commas; values as plain text."""
    rows: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.update(flat(value, f"{name}."))
        elif isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
            rows.update(flat(dict(enumerate(value)), f"{name}."))
        elif isinstance(value, (list, tuple)):
            rows[name] = ", ".join(str(plain(v)) for v in value)
        else:
            rows[name] = "" if value is None or value == {} else str(plain(value))
    return rows


def print_table(title: str, rows: Iterable[Mapping[str, Any]], columns: list[str]) -> None:
    """A rich table on stdout; cells are text (never markup), never cut when piped."""
    from rich.table import Table
    from rich.text import Text

    from dte_cli.console import out

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if row.get(c) is None else str(plain(row.get(c))))
                        for c in columns))
    out().print(table)


def print_fields(title: str, data: Mapping[str, Any]) -> None:
    """One record as a two-column table (field, value)."""
    print_table(title, [{"field": k, "value": v} for k, v in flat(data).items()],
                ["field", "value"])


def baseline_of(metrics: Mapping[str, Any], key: str) -> Any:
    """The baseline logged beside `key`: `val/baseline_X`, `baseline_X` or `base_X` for
    `net_X`; None if there is none."""
    head, sep, leaf = key.rpartition("/")
    prefix = f"{head}{sep}"
    for candidate in (f"{prefix}baseline_{leaf}", f"{prefix}base_{leaf.removeprefix('net_')}",
                      f"baseline_{key}"):  # per-group keys: baseline_NAME/GROUP
        if candidate != key and candidate in metrics:
            return metrics[candidate]
    return None


def key_metrics(metrics: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    """`name value (baseline b)` for each key metric found, in `metrics` logged as `val/NAME`
    or, from `dte evaluate`, as `NAME` or `net_NAME`."""
    lines = []
    for key in keys:
        leaf = key.removeprefix("val/")
        found = next((k for k in (key, leaf, f"net_{leaf}") if k in metrics), None)
        if found is None:
            continue
        base = baseline_of(metrics, found)
        lines.append(f"{leaf} {plain(metrics[found])}" +
                     ("" if base is None else f" (baseline {plain(base)})"))
    return lines


def closing(title: str, facts: Iterable[tuple[str, Any]], next_steps: Iterable[str]) -> None:
    """The end of a command: a title, `what: where` lines, then the next commands."""
    from rich.text import Text

    from dte_cli.console import out

    console = out()
    console.print(Text(title, style="bold"))
    for label, value in facts:
        if value not in (None, "", []):
            console.print(Text(f"  {label}: {value}"))
    steps = list(next_steps)
    if steps:
        console.print(Text("next:", style="bold"))
        for step in steps:
            console.print(Text(f"  {step}"))
