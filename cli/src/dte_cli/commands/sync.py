"""`dte sync RUN`: send to MLflow what a run recorded but could not send."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app

app = new_app()


@app.command()
def sync(
    run: Annotated[str, typer.Argument(help="Run id or directory.", show_default=False)],
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="Send to this MLflow server (default: the run's own).",
        show_default=False)] = None,
    runs_dir: Annotated[Path | None, typer.Option(
        "--runs-dir", help="Where run directories are.", show_default=False)] = None,
) -> None:
    """Upload a run's unsent metrics, params and artifacts (offline compute nodes, dead server)."""
    from dte_core import paths, rundir
    from dte_core.tracking.mlflow_sink import sync as sync_run

    from dte_cli.console import err

    found = rundir.find((runs_dir or paths.runs_root()).resolve(), run)
    info = found.info()
    science = info.get("science", "dte")
    status = info.get("status")
    state = sync_run(found.path, status if status != "running" else None,
                     experiment=science, run_name=found.run_id,
                     tags={"dte.science": science, "dte.run_dir": str(found.path)},
                     tracking_uri=tracking_uri or info.get("tracking_uri"))
    err().print(f"synced {found.run_id}: {state.get('last_sync_records', 0)} metric records sent "
                f"to {state['tracking_uri']} (MLflow run {state['run_id']})")
