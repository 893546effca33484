"""The climate-cyclone science honours the plugin contract and loads cheaply."""

from dte_core.testing import check_science_contract, imported_on_load


def test_contract():
    check_science_contract("climate-cyclone")


def test_loading_imports_no_framework():
    assert imported_on_load("climate-cyclone") == []
