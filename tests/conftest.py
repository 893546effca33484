"""Fixtures shared by the cross-package tests."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def uv() -> str:
    """The uv binary that manages this workspace (set by `uv run`, else found on PATH)."""
    path = os.environ.get("UV") or shutil.which("uv")
    assert path, "uv is needed for this test: pip install uv"
    return path
