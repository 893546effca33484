"""A study's results: the best trials and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def top_trials(study: Any, count: int) -> list[dict[str, Any]]:
    """The `count` best complete trials, best first."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    reverse = study.direction.name.lower() == "maximize"
    done.sort(key=lambda t: t.value, reverse=reverse)
    return [{"trial": t.number, "value": f"{t.value:.6g}", "params": json.dumps(t.params),
             "run": t.user_attrs.get("run_dir", "")} for t in done[:count]]


def spans_decades(values: list[float], decades: float = 2.0) -> bool:
    """Whether positive `values` span at least `decades` powers of ten (then: log axis)."""
    import math

    positive = [v for v in values if v > 0 and math.isfinite(v)]
    return len(positive) == len(values) > 1 and \
        math.log10(max(positive) / min(positive)) >= decades


PLOTS = {"history": ("plot_optimization_history", 1, "optimisation history"),
         "importances": ("plot_param_importances", 2, "parameter importances"),
         "parallel": ("plot_parallel_coordinate", 1, "parallel coordinates")}


def figure(study: Any, kind: str) -> Any | None:
    """One of PLOTS as a matplotlib figure, titled with the study and labelled with its
    metric (log axis when values span decades); None with too few complete trials."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as vis

    function, needed, what = PLOTS[kind]
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < needed:
        return None
    metric = study.user_attrs.get("metric") or "objective"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is experimental.*")
        axes = getattr(vis, function)(study, target_name=metric)
    axis = axes if hasattr(axes, "figure") else axes.flat[0]
    if kind == "history" and spans_decades([t.value for t in complete]):
        axis.set_yscale("log")
    axis.set_title(f"study {study.study_name}: {what} of {metric} "
                   f"({study.direction.name.lower()})")
    axis.figure.set_size_inches(9, 5)
    return axis.figure


def plots(study: Any, folder: Path) -> list[Path]:
    """Every plot of PLOTS that the study has enough trials for, as PNG files."""
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in PLOTS:
        drawn = figure(study, kind)
        if drawn is None:
            continue
        path = folder / f"{kind}.png"
        drawn.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(drawn)
        written.append(path)
    return written
