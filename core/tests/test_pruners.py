"""Pruner specs: `NAME:key=int,...` moves the pruner's settings; bad specs name the fix."""

from __future__ import annotations

import pytest
from dte_core.errors import ConfigError
from dte_core.hpo import pruners

optuna = pytest.importorskip("optuna")


def pruned_at(spec: str, bad_curve: list[float]) -> int | None:
    """The epoch at which `spec` stops a trial worse than one good trial at every epoch."""
    study = optuna.create_study(pruner=pruners.make(spec, max_epochs=len(bad_curve)))
    good = study.ask()
    for step in range(1, len(bad_curve) + 1):
        good.report(0.1, step)
        good.should_prune()
    study.tell(good, 0.1)
    bad = study.ask()
    for step, value in enumerate(bad_curve, start=1):
        bad.report(value, step)
        if bad.should_prune():
            return step
    return None


def test_asha_min_resource_setting_moves_its_first_rung():
    assert pruned_at("asha", [1.0, 1.0, 1.0, 1.0]) == 1
    assert pruned_at("asha:min_resource=2", [1.0, 1.0, 1.0, 1.0]) == 2
    assert pruned_at("asha:min_resource=3, reduction_factor=4", [1.0] * 6) == 3


def test_median_warmup_setting_waits_before_judging():
    assert pruned_at("median:startup=1", [1.0, 1.0, 1.0]) == 1
    assert pruned_at("median:startup=1,warmup=3", [1.0, 1.0, 1.0, 1.0]) == 3


@pytest.mark.parametrize(("spec", "says"), [
    ("ashaa", "Unknown pruner 'ashaa': use --pruner with one of none, median"),
    ("asha:min_resources=2", "no setting min_resources: it takes min_resource, "
                             "reduction_factor, bootstrap_count"),
    ("none:min_resource=2", "it takes none"),
    ("asha:min_resource=two", "settings are key=integer pairs"),
    ("asha:min_resource", "settings are key=integer pairs"),
    ("asha:reduction_factor=1", "--pruner 'asha:reduction_factor=1': "),
])
def test_bad_pruner_specs_name_the_fix(spec, says):
    with pytest.raises(ConfigError) as err:
        pruners.make(spec, max_epochs=8)
    assert says in str(err.value)
