"""`dte science new`: the package it writes (skeleton, pyproject, contract) and its refusals."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from dte_core.science import CONTRACT_VERSION, SKELETON

RUFF = Path(sys.executable).with_name("ruff")


def refused(result, *needles: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    text = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in text, text
    return text


@pytest.mark.parametrize("framework, engine", [("torch", "torch"),
                                               ("tensorflow", "tensorflow")])
def test_writes_the_skeleton_with_the_entry_point_and_ranges(dte, tmp_path, framework, engine):
    result = dte("science", "new", "sea-ice", "--framework", framework, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "sea-ice"
    package = root / "src" / "dte_sea_ice"
    assert {p.stem for p in package.glob("*.py")} == {*SKELETON, "__init__"}
    assert {p.name for p in root.iterdir()} == {"pyproject.toml", "README.md", "CHANGELOG.md",
                                                "src", "tests"}
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["name"] == "dte-sea-ice"
    assert project["dependencies"][:2] == [
        "dte-cli>=0.2,<0.3", f"dte-core[{engine},mlflow,optuna]>=0.2,<0.3"]
    assert project["entry-points"]["dte.sciences"] == {"sea-ice": "dte_sea_ice:science"}
    science = (package / "science.py").read_text()
    assert f"contract = {CONTRACT_VERSION}\n" in science and CONTRACT_VERSION == 2
    assert f'framework = "{framework}"' in science
    assert "evaluate: EvaluateConfig" in (package / "config.py").read_text()
    lint = subprocess.run([str(RUFF), "check", "--no-cache", "."], cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("name", ["Sea-Ice", "sea_ice", "2d-waves", "sea--ice", "sea-", "sea.ice"])
def test_a_bad_name_is_refused_and_nothing_is_written(dte, tmp_path, name):
    refused(dte("science", "new", name, "--out", str(tmp_path)),
            f"'{name}' is not a science name", "lowercase letters, digits and single dashes")
    assert list(tmp_path.iterdir()) == []


def test_an_installed_science_or_distribution_is_refused(dte, tmp_path):
    refused(dte("science", "new", "virgo-gw", "--out", str(tmp_path)),
            "'virgo-gw' is already installed", "Choose another name")
    refused(dte("science", "new", "core", "--out", str(tmp_path)),
            "dte-core is already installed")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(dte, tmp_path):
    (tmp_path / "sea-ice").mkdir()
    (tmp_path / "sea-ice" / "notes.txt").write_text("mine")
    refused(dte("science", "new", "sea-ice", "--out", str(tmp_path)), "already exists")
    assert [p.name for p in (tmp_path / "sea-ice").iterdir()] == ["notes.txt"]


def test_an_unknown_framework_is_refused(dte, tmp_path):
    refused(dte("science", "new", "sea-ice", "--framework", "jax", "--out", str(tmp_path)),
            "--framework 'jax' is not one of torch, tensorflow")
    assert list(tmp_path.iterdir()) == []


def test_help_lists_science_without_importing_it(dte):
    result = dte("--help")
    assert result.returncode == 0
    assert "science" in result.stdout and "Write a new science package" in result.stdout
