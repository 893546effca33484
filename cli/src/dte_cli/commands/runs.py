"""`dte runs list|show`: run directories, their status and their last metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import JsonOpt

app = new_app(name="runs", help="List runs or show one.", no_args_is_help=True)
RunsDirOpt = Annotated[Path | None, typer.Option(
    "--runs-dir", help="Where run directories are (default: $DTE_RUNS_DIR, else ./runs).",
    show_default=False)]


def _root(runs_dir: Path | None) -> Path:
    from dte_core import paths

    return (runs_dir or paths.runs_root()).resolve()


@app.command("list")
def list_(
    science: Annotated[str | None, typer.Argument(help="Only runs of this science.",
                                                  show_default=False)] = None,
    runs_dir: RunsDirOpt = None, as_json: JsonOpt = False,
) -> None:
    """List runs, oldest first: id, science, status, step, last checkpoint."""
    from dte_core import ownership, rundir

    rows = []
    for run in rundir.list_runs(_root(runs_dir), science):
        info = run.info()
        rows.append({"run_id": run.run_id, "science": info.get("science"),
                     "status": ownership.status(run, info), "step": info.get("step"),
                     "procs": info.get("procs"), "created": info.get("created"),
                     "path": str(run.path)})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    from dte_cli.console import out

    table = Table(title=f"Runs under {_root(runs_dir)}")
    for column in ("run_id", "science", "status", "step", "procs", "created"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(str(row[c] if row[c] is not None else "")) for c in
                        ("run_id", "science", "status", "step", "procs", "created")))
    out().print(table)


@app.command()
def show(
    run: Annotated[str, typer.Argument(help="Run id or directory.", show_default=False)],
    runs_dir: RunsDirOpt = None, as_json: JsonOpt = False,
) -> None:
    """Show one run: status, launch, last metrics, checkpoints, MLflow run."""
    from dte_core import checkpoint, ownership, rundir
    from dte_core.tracking.mlflow_sink import read_state

    found = rundir.find(_root(runs_dir), run)
    info = found.info()
    held, owner = ownership.holder(found)
    details = {
        **info,
        "status": ownership.status(found, info),
        "owner": owner if held else None,
        "path": str(found.path),
        "checkpoints": [p.name for p in checkpoint.complete(found.checkpoints)],
        "mlflow": read_state(found.path),
    }
    if as_json:
        print(json.dumps(details, indent=2, default=str))
        return
    from dte_cli.summary import print_fields

    print_fields(f"run {found.run_id}", details)
