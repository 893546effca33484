"""The MLflow run a study's trial runs nest under: opened with the study, closed with the best
trial's value and parameters once no trial is left to run."""

from __future__ import annotations

import sys
from typing import Any

ATTR = "mlflow_parent_run_id"
URI_ATTR = "mlflow_tracking_uri"


def open_for(study: Any, science: str, name: str, cfg: Any) -> None:
    """Give `study` a parent MLflow run (once); a tracking failure only warns."""
    from dte_core import paths
    from dte_core.tracking.mlflow_sink import client, ensure_run

    if not cfg.tracking.mlflow:
        return
    if study.user_attrs.get(ATTR) and study.user_attrs.get(URI_ATTR):
        try:  # more trials for a study whose parent run had ended
            client(study.user_attrs[URI_ATTR]).update_run(study.user_attrs[ATTR], "RUNNING")
        except Exception as exc:
            print(f"Warning: the study's MLflow parent run was not reopened ({exc})",
                  file=sys.stderr)
        return
    state: dict[str, Any] = {"tracking_uri": paths.tracking_uri(cfg.tracking.uri)}
    try:
        ensure_run(client(state["tracking_uri"]), state, cfg.tracking.experiment or science,
                   f"study {name}", {"dte.study": name, "dte.science": science})
    except Exception as exc:  # tracking must not stop a study
        print(f"Warning: no MLflow parent run for the study ({exc})", file=sys.stderr)
        return
    study.set_user_attr(ATTR, state["run_id"])
    study.set_user_attr(URI_ATTR, state["tracking_uri"])


def close_if_done(study: Any, status: str = "FINISHED") -> bool:
    """End the parent run with the best value and params when the study has reached its target
    and runs nothing; True when it was closed. A tracking failure only warns."""
    from dte_core.hpo.study import counts

    run_id, uri = study.user_attrs.get(ATTR), study.user_attrs.get(URI_ATTR)
    if not run_id or not uri:
        return False
    found = counts(study)
    finished = sum(found.get(s, 0) for s in ("COMPLETE", "PRUNED"))
    if status == "FINISHED" and (found.get("RUNNING") or
                                 finished < int(study.user_attrs.get("target") or 0)):
        return False
    try:
        _close(study, run_id, uri, status, found)
    except Exception as exc:
        print(f"Warning: the study's MLflow parent run {run_id} was not closed ({exc})",
              file=sys.stderr)
        return False
    return True


def _close(study: Any, run_id: str, uri: str, status: str, found: dict[str, int]) -> None:
    import time

    from mlflow.entities import Metric, RunTag

    from dte_core.tracking.mlflow_sink import client

    mlf = client(uri)
    metric = study.user_attrs.get("metric") or "objective"
    stamp = int(time.time() * 1000)
    metrics = [Metric(f"trials/{state.lower()}", float(n), stamp, 0)
               for state, n in found.items()]
    tags: list[Any] = []
    try:
        best = study.best_trial
    except ValueError:
        best = None
    if best is not None:  # tags, not params: a continued study may find a better trial
        metrics.append(Metric(f"best/{metric}", float(best.value), stamp, 0))
        tags = [RunTag(f"best.{k}", str(v)) for k, v in best.params.items()]
        tags += [RunTag("dte.best_trial", str(best.number)),
                 RunTag(f"best/{metric}", f"{best.value:.6g}")]
    mlf.log_batch(run_id, metrics=metrics, tags=tags)
    mlf.set_terminated(run_id, status)
