"""`dte evaluate SCIENCE --run RUN | --model URI`: the science's own validation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.model_source import CheckpointOpt, ModelOpt, RunOpt, RunsDirOpt
from dte_cli.options import JsonOpt, ScienceArg

app = new_app()


@app.command()
def evaluate(
    science: ScienceArg,
    run: RunOpt = None,
    model: ModelOpt = None,
    checkpoint: CheckpointOpt = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for metrics and figures (default: RUN/evaluation, or "
        ".dte/evaluations/NAME-VERSION for a registered model).", show_default=False)] = None,
    runs_dir: RunsDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute the science's validation metrics and figures for a trained model."""
    from dte.api import evaluation_dir, model_of

    from dte_cli.summary import as_json as dumps
    from dte_cli.summary import closing, key_metrics

    loaded = model_of(science, run, model, checkpoint, runs_dir)
    target = Path(out or evaluation_dir(loaded)).resolve()
    metrics = loaded.evaluate(target)
    if as_json:
        print(dumps(metrics))
        return
    figures = sorted(p.name for p in target.glob("*.png"))
    run_id = loaded.run_path.name if loaded.run_path else None
    closing(f"{loaded.science.name} {run_id or loaded.source}: evaluated",
            [*(tuple(line.split(" ", 1))
               for line in key_metrics(metrics, loaded.science.key_metrics)),
             ("metrics", f"{target / 'metrics.json'} ({len(metrics)} values)"),
             ("figures", f"{target} ({', '.join(figures)})" if figures else None)],
            [f"dte register {run_id} --name {loaded.science.name}" if run_id else
             f"dte predict {loaded.science.name} --model {loaded.source} --output "
             f"predictions.h5"])
