"""`dte --help`, `--version` and `sciences` import no heavy engine (checked in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["torch", "tensorflow", "mlflow", "optuna", "deepspeed", "horovod", "gwpy", "xarray",
         "zarr", "keras", "h5py", "dask"]

PROBE = """
import json, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["dte", *json.loads(sys.argv[1])]
from dte_cli.app import main
try:
    main()
except SystemExit:
    pass
print("IMPORTED=" + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sciences"], ["sciences", "--json"],
                                  ["config", "--help"]])
def test_no_heavy_imports(args):
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    imported = json.loads(out.stdout.rsplit("IMPORTED=", 1)[1])
    assert imported == [], f"`dte {' '.join(args)}` imported {imported}"
