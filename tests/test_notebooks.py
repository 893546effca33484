"""The tutorial notebooks, executed top to bottom by a real Jupyter kernel (nbclient)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
nbclient = pytest.importorskip("nbclient", reason="nbclient is in the dev group (uv sync)")
nbformat = pytest.importorskip("nbformat", reason="nbformat is in the dev group (uv sync)")
NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_every_science_has_a_notebook_and_none_stores_outputs():
    names = {p.stem for p in NOTEBOOKS}
    assert {"virgo-gw", "hep-3dgan", "climate-cyclone"} <= names
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        stored = [c for c in book.cells if c.cell_type == "code" and
                  (c.get("outputs") or c.get("execution_count"))]
        assert not stored, f"{path.name} holds outputs: clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    shutil.copy(path, tmp_path / path.name)
    monkeypatch.delenv("DTE_TRACKING_URI", raising=False)
    monkeypatch.setenv("DTE_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(tmp_path / path.name, as_version=4)
    client = nbclient.NotebookClient(book, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure
    errors = [o for c in book.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    runs = list((tmp_path / "runs").glob("*/*/run.json"))
    assert len(runs) == 1 and '"finished"' in runs[0].read_text()
    assert os.path.exists(tmp_path / ".dte" / "mlflow.db")
