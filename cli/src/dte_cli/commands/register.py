"""`dte register RUN --name NAME`: a run's model as a new version in the model registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import JsonOpt

app = new_app()


@app.command()
def register(
    run: Annotated[str, typer.Argument(help="Run id, directory or `latest`.",
                                       show_default=False)],
    name: Annotated[str, typer.Option("--name", help="Registered model name.",
                                      show_default=False)],
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", help="Alias to point at the new version (repeatable).",
        show_default=False)] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="key=value tag of the version (repeatable).", show_default=False)] = None,
    description: Annotated[str | None, typer.Option("--description", show_default=False,
                                                    help="Description of the version.")] = None,
    checkpoint: Annotated[str | None, typer.Option(
        "--checkpoint", help="last (default), best, or a checkpoint folder.",
        show_default=False)] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="MLflow server (default: $DTE_TRACKING_URI or the embedded "
        "store).", show_default=False)] = None,
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", show_default=False,
                                                  help="Where run directories are.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register the model of a run (weights, config, manifest, metrics, science version)."""
    from dte.api import register as registered
    from dte.api import run as run_of
    from dte_core.errors import ConfigError

    from dte_cli.summary import as_json as dumps
    from dte_cli.summary import closing

    tags = {}
    for item in tag or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--tag {item!r} must be key=value.")
        tags[key] = value
    result = registered(run, name, alias=list(alias or []), tags=tags, description=description,
                        checkpoint=checkpoint, tracking_uri=tracking_uri, runs_dir=runs_dir)
    if as_json:
        print(dumps(result))
        return
    uri = f"models:/{name}/{result['version']}"
    science = run_of(str(result["run_id"]), runs_dir=runs_dir).science
    closing(f"registered {result['run_id']} ({result['checkpoint']}) as {uri}",
            [("aliases", ", ".join(f"models:/{name}@{a}" for a in result["aliases"])),
             ("tracking", result.get("tracking_uri")),
             ("mlflow run", result.get("mlflow_run_id"))],
            [f"dte models show {name}",
             f"dte evaluate {science} --model {uri}"])
