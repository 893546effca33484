"""`dte sciences`: the installed sciences, their versions and frameworks."""

from __future__ import annotations

import json

from dte_cli.lazy import new_app
from dte_cli.options import JsonOpt

app = new_app()


@app.command()
def sciences(as_json: JsonOpt = False) -> None:
    """List the installed sciences: name, version, framework and summary; one that does not
    fit this dte-core is listed as incompatible, with the reason and the upgrade command."""
    from dte.api import sciences as found

    rows = found()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    from dte_cli.console import err, out

    if not rows:
        err().print("No science is installed. Install one, for example: pip install dte-virgo-gw")
        return
    table = Table(title="Installed sciences")
    for column in ("name", "version", "framework", "summary"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if row["status"] != "ok":
            table.add_row(Text(row["name"]), Text("-"), Text("-"),
                          Text(f"incompatible: {row['problem']}", style="red"))
        else:
            table.add_row(*(Text(row[c]) for c in ("name", "version", "framework", "summary")))
    out().print(table)
