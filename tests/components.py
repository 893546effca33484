"""Components the plain test command cannot have: a skip names the command that provides one,
and DTE_TEST_REQUIRE (set by .ci/run) turns that skip into a failure."""

from __future__ import annotations

import os

import pytest

#: component -> the command that provides it
PROVIDERS = {
    "slurm": "bash .ci/slurm/start-slurm.sh",
    "postgres": "bash .ci/start-postgres.sh",
    "horovod": "bash scripts/build-horovod.sh",
}


def required() -> set[str]:
    """Components this test session must have (DTE_TEST_REQUIRE=slurm,postgres,horovod)."""
    return {c.strip() for c in os.environ.get("DTE_TEST_REQUIRE", "").split(",") if c.strip()}


def missing(component: str, why: str) -> None:
    """Skip (naming the command that provides `component`), or fail where it is required."""
    text = f"{why}: provide it with `{PROVIDERS[component]}` (as .ci/run does), then rerun"
    if component in required():
        pytest.fail(f"{text} [required by DTE_TEST_REQUIRE]", pytrace=False)
    pytest.skip(text)
