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
    assert science.version == "0.1.0"
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
