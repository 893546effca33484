"""Tune plots name the study and its metric, and switch to a log axis over decades."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

from dte_core.hpo import report  # noqa: E402
from dte_core.hpo.study import create_or_check  # noqa: E402


def _study(values: list[float]):
    storage = optuna.storages.InMemoryStorage()
    study = create_or_check("lr-search", storage, "minimize", "val/loss", {"science": "toy"})
    for i, value in enumerate(values):
        study.add_trial(optuna.trial.create_trial(
            params={"lr": 10.0 ** -i}, value=value,
            distributions={"lr": optuna.distributions.FloatDistribution(1e-6, 1, log=True)}))
    return study


def test_history_names_the_metric_and_the_study_on_a_log_axis_over_decades():
    study = _study([50.0, 0.3, 0.02, 0.01])
    assert study.metric_names == ["val/loss"]
    axis = report.figure(study, "history").axes[0]
    assert axis.get_ylabel() == "val/loss" and axis.get_yscale() == "log"
    assert "lr-search" in axis.get_title() and "val/loss" in axis.get_title()


def test_values_within_a_decade_stay_linear_and_few_trials_draw_nothing():
    study = _study([0.5, 0.3])
    assert report.figure(study, "history").axes[0].get_yscale() == "linear"
    assert report.figure(_study([0.5]), "importances") is None
    assert not report.spans_decades([0.1, 5.0]) and report.spans_decades([0.01, 5.0])
    assert not report.spans_decades([-1.0, 500.0])
