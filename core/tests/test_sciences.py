"""Science discovery through entry points and the plugin contract's base behaviour."""

from __future__ import annotations

import pytest
from dte_core import sciences
from dte_core.errors import NotSupportedError, UnknownScienceError
from dte_core.schemas import StrictModel
from dte_core.science import Science


class Bare(Science):
    name = "bare"
    distribution = "dte-bare-not-installed"
    framework = "torch"
    summary = "A science that provides only its configuration."

    def config_class(self):
        return StrictModel


def test_shipped_sciences_are_discovered_without_import():
    found = sciences.installed()
    assert {"virgo-gw", "hep-3dgan", "climate-cyclone"} <= set(found)
    assert found["virgo-gw"].value == "dte_virgo_gw:science"


def test_load_returns_a_science_with_its_metadata():
    science = sciences.load("virgo-gw")
    assert isinstance(science, Science)
    assert (science.name, science.framework) == ("virgo-gw", "torch")
    assert science.version == "0.2.0" and science.contract == 2
    assert science.Config().train.epochs >= 1


def test_unknown_science_suggests_closest_and_install_command():
    with pytest.raises(UnknownScienceError) as err:
        sciences.load("virgo")
    assert "Did you mean 'virgo-gw'?" in str(err.value)
    assert "pip install dte-" in str(err.value)


def test_known_but_missing_science_names_its_distribution():
    msg = sciences.unknown_science_message("hep-3dgan", ["virgo-gw"])
    assert "pip install dte-hep-3dgan" in msg and "Installed: virgo-gw" in msg


def test_unprovided_verb_says_what_is_missing():
    science = Bare()
    assert science.capabilities() == []
    with pytest.raises(NotSupportedError, match="cannot 'generate' yet.*dataset generator"):
        science.generate(StrictModel(), None)
    assert science.version == "0+unknown"


@pytest.mark.parametrize("name", ["virgo-gw", "hep-3dgan", "climate-cyclone"])
def test_every_shipped_science_has_a_valid_default_search_space(name):
    from dte_core.hpo.space import parse

    science = sciences.load(name)
    space = parse(science.search_space(), science.Config)
    assert len(space.params) >= 4
    assert science.tune_direction in ("minimize", "maximize") and science.tune_metric


class Old(Bare):
    name = "old"
    contract = 1  # written for an earlier dte-core


def _installed_with(monkeypatch, value: str) -> None:
    import sys
    import types
    from importlib.metadata import EntryPoint

    module = types.ModuleType("dte_fake_sciences")
    module.old = Old()
    sys.modules["dte_fake_sciences"] = module
    real = dict(sciences.installed())
    monkeypatch.setattr(sciences, "installed",
                        lambda: {**real, "old": EntryPoint("old", value, sciences.GROUP)})


def test_a_science_of_another_contract_is_refused_with_the_upgrade_command(monkeypatch):
    _installed_with(monkeypatch, "dte_fake_sciences:old")
    with pytest.raises(sciences.IncompatibleScienceError) as err:
        sciences.load("old")
    text = str(err.value)
    assert "version 1 of dte's science contract" in text and "pip install -U" in text
    survey = {name: problem for name, _, problem in sciences.survey()}
    assert "contract" in survey["old"] and survey["virgo-gw"] is None


def test_a_science_that_cannot_be_imported_is_reported_not_fatal(monkeypatch):
    _installed_with(monkeypatch, "dte_no_such_module:science")
    with pytest.raises(sciences.IncompatibleScienceError, match="cannot be imported"):
        sciences.load("old")
    assert [p for n, _, p in sciences.survey() if n == "old"][0]
