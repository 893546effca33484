"""Import contracts between the parts: core never imports the CLI or a science, the neutral
layer of core imports no engine, the engines never import each other, and so on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core" / "src" / "dte_core"

SCIENCES = {"virgo-gw": "dte_virgo_gw", "hep-3dgan": "dte_hep_3dgan",
            "climate-cyclone": "dte_climate_cyclone"}
FORBIDDEN = {
    "core": ["dte_cli", *SCIENCES.values()],
    "cli": list(SCIENCES.values()),
    **{f"packages/{pkg}": [s for s in SCIENCES.values() if s != mod]
       for pkg, mod in SCIENCES.items()},
}
TORCH = ["torch", "dte_core.torch", "deepspeed", "horovod"]
TENSORFLOW = ["tensorflow", "keras", "dte_core.keras"]


def imported(path: Path) -> set[str]:
    """Every module name an import statement in `path` names (in functions too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def hits(path: Path, forbidden: list[str]) -> list[str]:
    return sorted({f for name in imported(path) for f in forbidden
                   if name == f or name.startswith(f + ".")})


def violations(files: list[Path], forbidden: list[str]) -> dict[str, list[str]]:
    found = {str(p.relative_to(ROOT)): hits(p, forbidden) for p in files}
    return {p: v for p, v in found.items() if v}


@pytest.mark.parametrize("member", sorted(FORBIDDEN))
def test_member_respects_layering(member):
    sources = sorted((ROOT / member / "src").rglob("*.py"))
    assert sources, f"no sources under {member}/src"
    assert violations(sources, FORBIDDEN[member]) == {}


def test_neutral_core_imports_no_engine():
    neutral = [p for p in CORE.rglob("*.py")
               if p.relative_to(CORE).parts[0] not in ("torch", "keras")]
    assert len(neutral) > 20
    assert violations(neutral, TORCH + TENSORFLOW) == {}


@pytest.mark.parametrize(("engine", "other"), [("torch", TENSORFLOW), ("keras", TORCH)])
def test_engines_never_import_each_other(engine, other):
    sources = sorted((CORE / engine).rglob("*.py"))
    assert sources
    assert violations(sources, other) == {}


def test_the_layering_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from dte_core.torch import trainer\n")
    assert hits(probe, TORCH) == ["dte_core.torch"]
