"""A missing component skips with the command that provides it, or fails where required."""

from __future__ import annotations

import pytest
from components import missing


def test_missing_component_skips_naming_its_provider(monkeypatch):
    monkeypatch.delenv("DTE_TEST_REQUIRE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="bash scripts/build-horovod.sh"):
        missing("horovod", "no Horovod here")


def test_required_component_fails_instead_of_skipping(monkeypatch):
    monkeypatch.setenv("DTE_TEST_REQUIRE", "slurm, horovod")
    with pytest.raises(pytest.fail.Exception, match="DTE_TEST_REQUIRE"):
        missing("horovod", "no Horovod here")
    monkeypatch.setenv("DTE_TEST_REQUIRE", "slurm")
    with pytest.raises(pytest.skip.Exception):
        missing("postgres", "no PostgreSQL here")
