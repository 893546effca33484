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


def plots(study: Any, folder: Path) -> list[Path]:
    """Optimisation history, parameter importances and parallel coordinates as PNG files."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    warnings.filterwarnings("ignore", message=".*is experimental.*")
    import matplotlib.pyplot as plt
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as vis

    folder.mkdir(parents=True, exist_ok=True)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    wanted = [("history", vis.plot_optimization_history, 1),
              ("importances", vis.plot_param_importances, 2),
              ("parallel", vis.plot_parallel_coordinate, 1)]
    written = []
    for name, plot, needed in wanted:
        if len(complete) < needed:
            continue
        axes = plot(study)
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(9, 5)
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written
