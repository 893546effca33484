"""The horovod strategy for real: 2 workers under horovodrun (gloo on CPU) against `single`.

Horovod is not on PyPI for torch 2.x; `bash scripts/build-horovod.sh` builds and installs it
(.ci/run does, and sets DTE_TEST_REQUIRE so that its absence fails there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from components import missing
from support import dte, final_state, info, only_run

pytestmark = [pytest.mark.slow, pytest.mark.distributed]

BIN = Path(sys.executable).parent
BUILD = "bash scripts/build-horovod.sh"
# horovodrun is installed next to this interpreter; `dte` finds it on PATH
PATH = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture(scope="module")
def horovod():
    """Horovod built for this torch, or a skip that names the build step (~4 min, cached)."""
    done = subprocess.run([sys.executable, "-c", "import horovod, horovod.torch; "
                           "print(horovod.__version__)"], capture_output=True, text=True)
    if done.returncode != 0 or not (BIN / "horovodrun").is_file():
        why = (done.stderr.strip().splitlines() or ["horovodrun is missing"])[-1]
        missing("horovod", f"Horovod is not installed in {sys.prefix} ({why})")
    return done.stdout.strip()


def train_in(directory: Path, *args: str) -> Path:
    directory.mkdir()
    result = dte("train", "toy", *args, cwd=directory, PATH=PATH)
    assert result.returncode == 0, result.stderr
    return only_run(directory)


def assert_close(a: dict, b: dict, atol: float) -> float:
    """Every tensor of `a` within `atol` of `b`'s; returns the largest difference."""
    worst = 0.0
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, dict):
            worst = max(worst, assert_close(value, b[key], atol))
        elif isinstance(value, torch.Tensor):
            diff = (value.double() - b[key].double()).abs().max().item() if value.numel() else 0
            assert diff <= atol, (key, diff)
            worst = max(worst, diff)
    return worst


@pytest.mark.parametrize("variant", [
    ["--set", "train.accumulate=2", "--set", "train.grad_clip=0.05"],
    ["--set", "optim.optimizers=2"],
], ids=["accumulate-2-clipped", "two-optimizers"])
def test_two_horovod_workers_equal_one_process(tmp_path, horovod, variant):
    # Same seed and global batch (8): the 2 workers average 4-sample gradients. Variants:
    # accumulation over 2 micro-batches with an active norm clip (clipping must see the averaged
    # gradient), and the GAN pattern (two losses and optimizers stepped through ctx.optimize).
    common = ["--set", "data.samples=100", "--set", "train.epochs=2", *variant]
    single = final_state(train_in(tmp_path / "one", *common))
    run = train_in(tmp_path / "two", "--strategy", "horovod", "--procs", "2", *common)
    assert info(run)["strategy"] == "horovod" and info(run)["world_size"] == 2
    state = final_state(run)
    worst = assert_close(single["models"], state["models"], atol=1e-5)
    # momentum buffers too: the checkpoint holds the task's optimizer state as `single` does
    assert_close(single["optimizers"], state["optimizers"], atol=1e-4)
    print(f"max |w_horovod - w_single| = {worst:.2e}")


def test_missing_horovodrun_names_the_build_step_simulated(tmp_path, monkeypatch):
    # horovodrun exists wherever Horovod was built, so its absence is simulated here.
    import shutil

    from dte_cli.backends.local import LocalLaunch
    from dte_core.errors import DteError

    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(DteError) as err:
        LocalLaunch(tmp_path, 2, launcher="horovodrun").run()
    assert "horovodrun" in str(err.value) and BUILD in str(err.value)


def test_sigterm_checkpoints_through_horovodrun_and_resumes(tmp_path, horovod):
    import signal
    import subprocess
    import time

    from support import DTE, dte_env, wait_for_step

    proc = subprocess.Popen([DTE, "train", "toy", "--strategy", "horovod", "--procs", "2",
                             "--set", "testing.step_delay=0.05", "--set",
                             "train.signal_sync_s=0.05"], cwd=tmp_path,
                            env=dte_env(PATH=PATH), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    run = wait_for_step(tmp_path, 6)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 75, err[-2000:]
    assert info(run)["status"] == "stopped"
    resumed = dte("train", "toy", "--strategy", "horovod", "--procs", "2", "--resume",
                  "latest", cwd=tmp_path, PATH=PATH)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert info(run)["status"] == "finished" and info(run)["step"] == 36


def test_missing_engine_names_the_build_step():
    # `import horovod` fails in this interpreter, as where it was never built
    code = ("import sys; sys.modules['horovod'] = None\n"
            "from dte_core import strategies\n"
            "from dte_core.env import ClusterEnv\n"
            "from dte_core.errors import MissingDependencyError\n"
            "try:\n"
            "    strategies.create('horovod', ClusterEnv('none')).setup()\n"
            "except MissingDependencyError as exc:\n"
            "    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert BUILD in done.stdout and "--strategy ddp" in done.stdout, done.stdout


def test_learning_rate_scaling_is_opt_in_and_reaches_the_schedulers():
    from dte_core.schemas import TrainConfig
    from dte_core.torch.strategies.horovod import scale_learning_rates
    from dte_core.torch.task import Optimization

    assert TrainConfig().horovod_scale_lr is False  # never scaled unless asked for
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5 ** epoch)
    scale_learning_rates(Optimization({"net": optimizer}, {"net": scheduler}), 4)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.4)
    optimizer.step()
    scheduler.step()  # LambdaLR recomputes from its base rate: the scaled one
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2)


@pytest.mark.slurm
def test_per_task_slurm_job_bootstraps_horovod_without_horovodrun(slurm, horovod, tmp_path):
    # srun starts one task per worker; rank 0 serves Horovod's rendezvous on MASTER_PORT
    env = {**{k: v for k, v in slurm.items() if k.startswith("SLURM_CONF")}, "PATH": PATH}
    result = dte("train", "toy", "--backend", "slurm", "--time", "10", "--strategy", "horovod",
                 "--procs", "2", "--set", "train.epochs=1", cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    job = result.stdout.strip()
    deadline = time.monotonic() + 240
    run = None
    while time.monotonic() < deadline:
        runs = sorted((tmp_path / "runs" / "toy").glob("*/run.json"))
        run = runs[-1].parent if runs else None
        if run and info(run).get("status") in ("finished", "failed"):
            break
        time.sleep(1)
    assert run is not None, f"job {job} wrote no run"
    log = run / f"slurm-{job}.out"
    assert info(run)["status"] == "finished", log.read_text() if log.exists() else info(run)
    assert info(run)["strategy"] == "horovod" and info(run)["world_size"] == 2
