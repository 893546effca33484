"""`dte ui`: MLflow's web UI on the project's embedded store, or the configured server's URL."""

from __future__ import annotations

from typing import Annotated

import typer

from dte_cli.lazy import new_app

app = new_app()


@app.command()
def ui(
    port: Annotated[int, typer.Option("--port", "-p", help="Port to serve on.")] = 5000,
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on (127.0.0.1: this machine only; reach it from a "
        "laptop with `ssh -L PORT:127.0.0.1:PORT HOST`).")] = "127.0.0.1",
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="Store to show (default: $DTE_TRACKING_URI, else the embedded "
        "store under .dte/).", show_default=False)] = None,
) -> None:
    """Show runs, metrics, figures and registered models in MLflow's web UI (Ctrl-C stops)."""
    from dte_core import paths
    from dte_core.tracking import ui_server

    from dte_cli.console import err

    uri = paths.tracking_uri(tracking_uri)
    if uri.startswith(("http://", "https://", "databricks")):
        err().print(f"The runs are tracked on an MLflow server: open {uri} in a browser.")
        print(uri)
        return
    if not 0 < port < 65536:
        from dte_core.errors import ConfigError

        raise ConfigError(f"--port {port} is not a TCP port: use 1-65535 (e.g. 5000).")
    if uri.startswith("sqlite:///") and not paths.state_dir().joinpath("mlflow.db").exists() \
            and uri == paths.embedded_tracking_uri():
        err().print(f"No run has been tracked in {paths.state_dir()} yet: the UI starts empty "
                    f"(train with `dte train SCIENCE` in this folder to fill it).")

    if uri == paths.embedded_tracking_uri():
        from dte_core.tracking.relocate import follow_project

        follow_project()

    def ready(url: str) -> None:
        err().print(f"MLflow UI of {uri}\n  open {url} in a browser (Ctrl-C stops it)")
        print(url, flush=True)

    code = ui_server.serve(uri, paths.embedded_artifact_root(), host, port,
                           paths.state_dir() / "ui.log", ready)
    raise typer.Exit(code)
