"""Contract checks any science package can run in its own tests."""

from __future__ import annotations

import json
import subprocess
import sys

from dte_core import config, sciences
from dte_core.science import Science

FRAMEWORK_MODULES = ["torch", "tensorflow", "keras", "mlflow", "optuna"]


def check_science_contract(name: str) -> Science:
    """Assert that the science `name` honours DESIGN.md §2; returns it for further checks."""
    science = sciences.load(name)
    assert science.name == name
    assert science.framework in ("torch", "tensorflow")
    assert science.summary and "\n" not in science.summary
    assert science.version != "0+unknown", f"{science.distribution} is not installed"
    defaults = science.Config()
    assert config.resolve(science.Config) == defaults
    extra = science.Config.model_config.get("extra")
    assert extra == "forbid", f"{name}'s Config must forbid unknown keys, has extra={extra!r}"
    assert config.schema_rows(science.Config), f"{name}'s Config has no keys"
    return science


def imported_on_load(name: str) -> list[str]:
    """Heavy framework modules imported by loading science `name` in a fresh interpreter."""
    probe = (
        "import json, sys\n"
        "from dte_core import sciences\n"
        f"s = sciences.load({name!r}); s.Config()\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{FRAMEWORK_MODULES!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
