"""`dte config show|schema`: a science's resolved configuration and its documented keys."""

from __future__ import annotations

import json

from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, JsonOpt, PresetOpt, ScienceArg, SetOpt

app = new_app(name="config", help="Show a science's resolved configuration or its schema.",
              no_args_is_help=True)


@app.command()
def show(science: ScienceArg, preset: PresetOpt = None, config: ConfigOpt = None,
         set_: SetOpt = None) -> None:
    """Print the resolved configuration as YAML: defaults < preset < --config < --set."""
    from dte.api import science_and_config
    from dte_core.config import to_yaml

    _, resolved = science_and_config(science, config, set_, preset)
    print(to_yaml(resolved), end="")


@app.command()
def presets(science: ScienceArg, as_json: JsonOpt = False) -> None:
    """List the presets a science ships, with what each is for and the keys it sets."""
    from dte_core import presets as presets_module
    from dte_core import sciences

    found = presets_module.available(sciences.load(science).Config)
    rows = [{"name": p.name, "summary": p.summary, "keys": p.keys(), "file": str(p.path)}
            for p in found.values()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    from dte_cli.console import out
    from dte_cli.summary import print_table

    if not rows:
        out().print(f"{science} ships no presets; `dte config show {science}` prints its "
                    f"defaults.")
        return
    print_table(f"{science} presets (dte train {science} --preset NAME)",
                [{"preset": r["name"], "for": r["summary"], "sets": ", ".join(r["keys"])}
                 for r in rows], ["preset", "for", "sets"])


@app.command()
def schema(science: ScienceArg, as_json: JsonOpt = False) -> None:
    """Print every configuration key with its type, default and help."""
    from dte_core import sciences
    from dte_core.config import schema_rows

    rows = schema_rows(sciences.load(science).Config)
    if as_json:
        print(json.dumps([dict(zip(("key", "type", "default", "help"), r, strict=True))
                          for r in rows], indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    from dte_cli.console import out

    table = Table(title=f"{science} configuration")
    for column in ("key", "type", "default", "help"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*map(Text, row))
    out().print(table)
