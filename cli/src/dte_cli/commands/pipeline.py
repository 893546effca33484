"""`dte pipeline export SCIENCE --out pipeline.yaml`: a Kubeflow Pipelines v2 definition."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, ScienceArg, SetOpt

app = new_app(name="pipeline", no_args_is_help=True,
              help="Kubeflow pipelines: `dte pipeline export SCIENCE --out pipeline.yaml`.")


@app.callback()
def pipeline_group() -> None:
    """Kubeflow pipelines of a science (data -> train -> evaluate -> register)."""


@app.command()
def export(
    science: ScienceArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="YAML file to write.",
                                      show_default=False)],
    config: ConfigOpt = None,
    set_: SetOpt = None,
    image: Annotated[str | None, typer.Option(
        "--image", help="Container image with the science installed (default: python:3.11-"
        "slim, installing the science's distribution at this version).",
        show_default=False)] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", help="MLflow server the steps log and register to (default: "
        "$DTE_TRACKING_URI).", show_default=False)] = None,
    procs: Annotated[int, typer.Option("--procs", help="Worker processes of the training "
                                       "step (CPU).")] = 1,
    gpus: Annotated[int, typer.Option("--gpus", help="GPUs of the training step, one worker "
                                      "each.")] = 0,
    cpu: Annotated[str | None, typer.Option(
        "--cpu", help="CPU request and limit of the training step (Kubernetes units: 4, "
        "500m).", show_default=False)] = None,
    memory: Annotated[str | None, typer.Option(
        "--memory", help="Memory request and limit of the training step (16G, 512M).",
        show_default=False)] = None,
) -> None:
    """Write SCIENCE's data -> train -> evaluate -> register pipeline, compiled by kfp."""
    import os

    from dte.api import science_and_config
    from dte_core import config as config_layer
    from dte_core.errors import ConfigError

    from dte_cli import pipeline
    from dte_cli.console import err

    pipeline.require_kfp()
    uri = tracking_uri or os.environ.get("DTE_TRACKING_URI")
    if not uri:
        raise ConfigError(
            "A pipeline's steps run in separate pods, so they need a shared MLflow server: "
            "give --tracking-uri http://mlflow.example.org:5000 (or set DTE_TRACKING_URI).")
    if procs < 1 or gpus < 0:
        raise ConfigError(f"--procs {procs} / --gpus {gpus}: use --procs 1 or more and "
                          f"--gpus 0 or more.")
    sci, cfg = science_and_config(science, config, set_)
    written = pipeline.export(sci, config_layer.to_yaml(cfg), uri, image,
                              pipeline.Resources(procs, gpus, cpu, memory), out)
    err().print(f"wrote {written}: steps data -> train -> evaluate -> register; upload it in "
                f"the Kubeflow Pipelines UI or with kfp.Client().create_run_from_pipeline_package")
    print(written)
