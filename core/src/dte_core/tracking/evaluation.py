"""Log a `dte evaluate` result to the MLflow run it evaluated: `eval/` metrics and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dte_core.tracking import flatten

PREFIX = "eval/"


def numeric(metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of a (nested) evaluation result, flattened and `eval/`-prefixed."""
    return {PREFIX + key: float(value) for key, value in flatten(metrics).items()
            if isinstance(value, int | float) and not isinstance(value, bool)}


def log(tracking_uri: str, mlflow_run_id: str, metrics: dict[str, Any], folder: Path) -> int:
    """Send the metrics and every file of `folder` (figures, metrics.json) to the run under
    `evaluation/`; returns how many metrics were logged."""
    import time

    from mlflow.entities import Metric

    from dte_core.tracking.mlflow_sink import client

    mlf = client(tracking_uri)
    stamp = int(time.time() * 1000)
    values = [Metric(k, v, stamp, 0) for k, v in numeric(metrics).items()]
    for i in range(0, len(values), 1000):
        mlf.log_batch(mlflow_run_id, metrics=values[i:i + 1000])
    mlf.log_artifacts(mlflow_run_id, str(folder), "evaluation")
    return len(values)
