"""The hep-3dgan science honours the plugin contract and loads cheaply."""

from dte_core.testing import check_science_contract, imported_on_load


def test_contract():
    check_science_contract("hep-3dgan")


def test_loading_imports_no_framework():
    assert imported_on_load("hep-3dgan") == []
