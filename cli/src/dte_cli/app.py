"""The `dte` entry point: a tiny root app whose verbs are imported only when they run."""

from __future__ import annotations

import os
import sys

import typer

from dte_cli.lazy import LazyGroup, new_app

# name -> (module defining `app`, one-line help shown by `dte --help` without importing it)
COMMANDS: dict[str, tuple[str, str]] = {
    "sciences": ("dte_cli.commands.sciences", "List the installed sciences."),
    "science": ("dte_cli.commands.science", "Write a new science package from the skeleton."),
    "config": ("dte_cli.commands.config", "Show a science's resolved configuration or its schema."),
    "data": ("dte_cli.commands.data", "Generate or prepare datasets in a science's format."),
    "train": ("dte_cli.commands.train", "Train a science's model (one process, or several)."),
    "tune": ("dte_cli.commands.tune", "Hyper-parameter optimisation (Optuna) of a science."),
    "scale": ("dte_cli.commands.scale", "Scaling sweep: samples/s and efficiency per workers."),
    "evaluate": ("dte_cli.commands.evaluate", "Validate a trained run with the science's metrics."),
    "predict": ("dte_cli.commands.predict", "Run a trained model on an input file."),
    "register": ("dte_cli.commands.register", "Register a run's model in the model registry."),
    "models": ("dte_cli.commands.models", "The model registry: list, show, aliases, tags."),
    "export": ("dte_cli.commands.export", "Export a trained model to ONNX or TorchScript."),
    "runs": ("dte_cli.commands.runs", "List runs or show one."),
    "jobs": ("dte_cli.commands.jobs", "Submitted SLURM jobs: list, status, logs, cancel."),
    "sites": ("dte_cli.commands.sites", "Site profiles (cluster defaults) for --backend slurm."),
    "sync": ("dte_cli.commands.sync", "Send a run's unsent metrics and artifacts to MLflow."),
    "pipeline": ("dte_cli.commands.pipeline", "Export a science's workflow for Kubeflow."),
    "ui": ("dte_cli.commands.ui", "MLflow's web UI on this project's runs and models."),
}


PANELS: dict[str, tuple[str, ...]] = {
    "Run": ("train", "tune", "scale", "evaluate", "predict"),
    "Models": ("register", "models", "export"),
    "Data": ("data", "science"),
    "Cluster": ("jobs", "sites", "sync", "pipeline"),
    "Inspect": ("runs", "sciences", "config", "ui"),
}


class RootGroup(LazyGroup):
    """The `dte` command group."""

    lazy_commands = COMMANDS
    panels = PANELS


app = new_app(cls=RootGroup, no_args_is_help=True, add_completion=True)


def _print_version(value: bool) -> None:
    if value:
        from dte_cli.versions import installed_versions

        for name, version in installed_versions():
            typer.echo(f"{name} {version}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version,
        help="Show every installed dte distribution and its version, then exit.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="Only results and errors: no progress or notes."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Also the libraries' own log lines (Optuna's)."),
) -> None:
    """dte: train, tune, register and serve the models of scientific digital twins.

    One command runs a science on a laptop, on a multi-GPU node or on a SLURM cluster.
    """
    if quiet or verbose:  # the environment carries it to worker processes too
        os.environ["DTE_VERBOSITY"] = "-1" if quiet else "1"


def main() -> None:
    """Run the CLI; a DteError becomes one clear paragraph and its exit code, not a traceback."""
    from dte_core.errors import DteError

    try:
        app()
    except DteError as exc:
        from dte_cli.console import print_error

        print_error(str(exc))
        sys.exit(exc.exit_code)
