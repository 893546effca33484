"""`dte sync [RUN]`: send to MLflow what runs recorded but could not send."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app

app = new_app()


@app.command()
def sync(
    run: Annotated[str | None, typer.Argument(
        help="Run id or directory (default: every run whose upload has not ended).",
        show_default=False)] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="Send to this MLflow server (default: the run's own).",
        show_default=False)] = None,
    runs_dir: Annotated[Path | None, typer.Option(
        "--runs-dir", help="Where run directories are.", show_default=False)] = None,
) -> None:
    """Upload unsent metrics, params and artifacts (offline compute nodes, dead server, an
    upload still queued when its command ended)."""
    from dte_core import paths, rundir
    from dte_core.tracking.mlflow_sink import pending
    from dte_core.tracking.mlflow_sink import sync as sync_run

    from dte_cli.console import err

    root = (runs_dir or paths.runs_root()).resolve()
    found = [rundir.find(root, run)] if run else [rundir.RunDir(p) for p in pending(root)]
    if not found:
        err().print(f"nothing to sync: every run under {root} has reached MLflow")
    for each in found:
        info = each.info()
        science = info.get("science", "dte")
        status = info.get("status")
        state = sync_run(each.path, status if status != "running" else None,
                         experiment=science, run_name=each.run_id,
                         tags={"dte.science": science, "dte.run_dir": str(each.path)},
                         tracking_uri=tracking_uri or info.get("tracking_uri"))
        err().print(f"synced {each.run_id}: {state.get('last_sync_records', 0)} metric records "
                    f"sent to {state['tracking_uri']} (MLflow run {state['run_id']})")
