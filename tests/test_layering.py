"""Import contracts between the parts: core never imports the CLI or a science, and so on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCIENCES = ["dte_virgo_gw", "dte_hep_3dgan", "dte_climate_cyclone"]
FORBIDDEN = {
    "core": ["dte_cli", *SCIENCES],
    "cli": SCIENCES,
    **{f"packages/{pkg}": [s for s in SCIENCES if s != mod]
       for pkg, mod in [("virgo-gw", "dte_virgo_gw"), ("hep-3dgan", "dte_hep_3dgan"),
                        ("climate-cyclone", "dte_climate_cyclone")]},
}


def imported_roots(path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("member", sorted(FORBIDDEN))
def test_member_respects_layering(member):
    sources = sorted((ROOT / member / "src").rglob("*.py"))
    assert sources, f"no sources under {member}/src"
    violations = {str(p.relative_to(ROOT)): sorted(imported_roots(p) & set(FORBIDDEN[member]))
                  for p in sources}
    assert {p: v for p, v in violations.items() if v} == {}
