"""`dte pipeline export`: the compiled KFP YAML (golden), resources, and its bad inputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("kfp", reason="the kfp SDK is in the dev group (uv sync installs it)")
GOLDEN = Path(__file__).parent / "golden" / "pipeline-toy.yaml"
STORE = "http://mlflow.example.org:5000"


def export(dte, tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "dte_cli", "pipeline", "export", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "COLUMNS": "200", "DTE_TRACKING_URI": STORE})


def steps(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_golden_pipeline(dte, tmp_path):
    result = export(dte, tmp_path, "toy", "--image", "registry.example.org/dte/toy:0.2.0",
                    "--set", "train.epochs=1", "--out", "toy.yaml")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "toy.yaml").read_text()
    if os.environ.get("DTE_REGEN_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), f"the pipeline changed; regenerate deliberately with " \
                                       f"DTE_REGEN_GOLDEN=1 and review {GOLDEN}"
    spec = steps(tmp_path / "toy.yaml")
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"generate-data", "train-model", "evaluate-model", "register-model"}
    assert tasks["register-model"]["dependentTasks"] == ["evaluate-model", "train-model"]
    assert tasks["evaluate-model"]["inputs"]["artifacts"]["model"]["taskOutputArtifact"] == \
        {"outputArtifactKey": "model", "producerTask": "train-model"}
    assert spec["root"]["inputDefinitions"]["parameters"]["tracking_uri"]["defaultValue"] == STORE


def test_gpu_and_memory_requests_reach_the_training_step(dte, tmp_path):
    result = export(dte, tmp_path, "toy", "--gpus", "2", "--cpu", "8", "--memory", "32G",
                    "--out", "gpu.yaml")
    assert result.returncode == 0, result.stderr
    executors = steps(tmp_path / "gpu.yaml")["deploymentSpec"]["executors"]
    resources = executors["exec-train-model"]["container"]["resources"]
    assert resources["accelerator"]["resourceCount"] == "2"
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["resourceCpuLimit"] == "8" and resources["resourceMemoryLimit"] == "32G"
    # without --image: a plain Python image that installs the science at this version
    container = executors["exec-generate-data"]["container"]
    assert container["image"] == "python:3.11-slim"
    assert "dte-toy-science==0.1.0" in " ".join(container["command"])


@pytest.mark.parametrize("args,needle", [
    (["--image", "Not A/Valid:Image!"], "is not a container image reference"),
    (["--set", "train.epochz=1"], "epochz"),
    (["--procs", "0"], "--procs 1 or more"),
])
def test_bad_input(dte, tmp_path, args, needle):
    result = export(dte, tmp_path, "toy", *args, "--out", "p.yaml")
    assert result.returncode == 2 and needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "p.yaml").exists()


def test_needs_a_shared_tracking_server(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dte_cli", "pipeline", "export", "toy",
                             "--out", "p.yaml"], capture_output=True, text=True, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items() if k != "DTE_TRACKING_URI"})
    assert result.returncode == 2 and "--tracking-uri" in result.stderr
    assert not (tmp_path / "p.yaml").exists()


def test_without_kfp_names_the_extra(tmp_path):
    # kfp made unimportable for this one interpreter, as in an install without the extra
    code = ("import sys, importlib.abc\n"
            "class Hide(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'kfp' or name.startswith('kfp.'):\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, Hide())\n"
            "sys.argv = ['dte', 'pipeline', 'export', 'toy', '--out', 'p.yaml']\n"
            "from dte_cli.app import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "DTE_TRACKING_URI": STORE})
    assert result.returncode == 2, result.stderr
    assert 'pip install "dte-cli[pipeline]"' in result.stderr and "Traceback" not in \
        result.stderr


def test_a_science_without_evaluate_is_refused(tmp_path):
    from dte_cli import pipeline
    from dte_core import sciences
    from dte_core.errors import NotSupportedError
    from dte_core.science import Science

    toy = sciences.load("toy")

    class NoEvaluate(type(toy)):
        evaluate = Science.evaluate  # the base's: "not provided"

    with pytest.raises(NotSupportedError, match="evaluate"):
        pipeline.export(NoEvaluate(), "{}", STORE, None, pipeline.Resources(),
                        tmp_path / "p.yaml")
    assert not (tmp_path / "p.yaml").exists()
