"""The exported Kubeflow pipeline, run end to end by kfp's local subprocess runner on the toy
science: data -> train -> evaluate -> register, then the registered model predicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import dte, dte_env

pytestmark = pytest.mark.slow
pytest.importorskip("kfp", reason="the kfp SDK is in the dev group (uv sync installs it)")


def test_exported_pipeline_runs_locally_and_registers_the_model(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    exported = dte("pipeline", "export", "toy", "--image", "registry.example.org/dte-toy:1",
                   "--set", "train.epochs=1", "--out", "toy.yaml", cwd=tmp_path,
                   DTE_TRACKING_URI=store)
    assert exported.returncode == 0, exported.stderr
    code = textwrap.dedent(f"""
        import json
        from kfp import components, local
        local.init(runner=local.SubprocessRunner(use_venv=False),
                   pipeline_root={str(tmp_path / "kfp")!r})
        pipeline = components.load_component_from_file("toy.yaml")
        task = pipeline(model_name="toykfp", alias="candidate")
        print(json.dumps({{"output": task.output}}))
    """)
    env = dte_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    ran = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-5000:]
    assert json.loads(ran.stdout.strip().splitlines()[-1]) == {"output": "models:/toykfp/1"}
    listed = json.loads(dte("models", "list", "--json", cwd=tmp_path,
                            DTE_TRACKING_URI=store).stdout)
    assert [(m["name"], m["aliases"]) for m in listed] == [("toykfp", "candidate->v1")]
    steps = {p.parent.name: json.loads(p.read_text())
             for p in (tmp_path / "kfp").glob("*/*/executor_output.json")}
    assert set(steps) == {"generate-data", "train-model", "evaluate-model", "register-model"}
    scored = steps["evaluate-model"]["artifacts"]["metrics"]["artifacts"][0]["metadata"]
    assert scored["mse"] >= 0  # the science's evaluation reached KFP as metrics
    trained = steps["train-model"]["artifacts"]["model"]["artifacts"][0]["metadata"]
    run = Path(steps["train-model"]["artifacts"]["model"]["artifacts"][0]["uri"]) / "runs" / \
        "toy" / trained["run_id"]
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    import numpy as np

    np.savez(tmp_path / "x.npz", x=np.ones((2, 8), dtype="f4"))
    predicted = dte("predict", "toy", "--model", "models:/toykfp@candidate", "--input", "x.npz",
                    "--output", "y.npz", cwd=tmp_path, DTE_TRACKING_URI=store)
    assert predicted.returncode == 0, predicted.stderr
    assert np.load(tmp_path / "y.npz")["y"].shape[0] == 2
