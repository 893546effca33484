"""The README's Python and pipeline examples, run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import dte_env

pytestmark = pytest.mark.slow
README = (Path(__file__).parents[1] / "README.md").read_text()
TINY = """\
data: {samples: 24, sample_rate: 1024, duration: 1, frequency_range: [16, 256],
       q_range: [8, 8], map_shape: [16, 16]}
model: {base_channels: 4, depth: 2}
train: {epochs: 1, batch_size: 4}
"""


def example(marker: str) -> str:
    found = re.search(rf"<!-- {marker}:[^>]*-->\n```\w+\n(.*?)```", README, re.S)
    assert found, f"README has no {marker} block"
    return found.group(1)


def env_for(tmp_path: Path) -> dict[str, str]:
    return dte_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                   DTE_PROJECT_DIR=str(tmp_path))


def test_python_api_example(tmp_path):
    ran = subprocess.run([sys.executable, "-c", example("api-example")], cwd=tmp_path,
                         env=env_for(tmp_path), capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stderr[-4000:]
    lines = ran.stdout.strip().splitlines()
    assert lines[0].startswith("finished step-")
    assert lines[-1].endswith("{'candidate': '1'}")
    assert (tmp_path / "cleaned.h5").is_file()


def test_pipeline_example(tmp_path):
    pytest.importorskip("kfp", reason="the kfp SDK is in the dev group (uv sync installs it)")
    (tmp_path / "tiny.yaml").write_text(TINY)
    env = {**env_for(tmp_path), "DTE_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", example("pipeline-example")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-5000:]
    assert ran.stdout.strip().splitlines()[-1] == "models:/virgo-denoiser/1"
