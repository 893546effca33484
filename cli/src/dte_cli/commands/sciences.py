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
    from dte_core.sciences import survey

    found = survey()
    if as_json:
        rows = [{"name": s.name, "version": s.version, "framework": s.framework,
                 "distribution": s.distribution, "summary": s.summary, "contract": s.contract,
                 "verbs": s.capabilities(), "status": "ok"} if s is not None else
                {"name": name, "status": "incompatible", "problem": problem}
                for name, s, problem in found]
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    from dte_cli.console import err, out

    if not found:
        err().print("No science is installed. Install one, for example: pip install dte-virgo-gw")
        return
    table = Table(title="Installed sciences")
    for column in ("name", "version", "framework", "summary"):
        table.add_column(column, overflow="fold")
    for name, s, problem in found:
        if s is None:
            table.add_row(Text(name), Text("-"), Text("-"),
                          Text(f"incompatible: {problem}", style="red"))
        else:
            table.add_row(*map(Text, (s.name, s.version, s.framework, s.summary)))
    out().print(table)
