"""Helpers for the cross-package tests: run `dte` as users do, read what a run wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

DTE = str(Path(sys.executable).with_name("dte"))


def dte_env(**extra: str) -> dict[str, str]:
    """This environment without a user's tracking server, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "DTE_TRACKING_URI"}
    env.update(COLUMNS="200", **extra)
    return env


def dte(*args: str, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """Run `dte ARGS` in `cwd` (its runs/ and .dte/ live there) and wait for it."""
    return subprocess.run([DTE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=dte_env(**env))


def start_dte(*args: str, cwd: Path, new_session: bool = False, **env: str) -> subprocess.Popen:
    """Start `dte ARGS` without waiting (to signal it mid-run), optionally as its own group."""
    return subprocess.Popen([DTE, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dte_env(**env),
                            start_new_session=new_session)


def run_dirs(cwd: Path, science: str = "toy") -> list[Path]:
    return sorted(p for p in (cwd / "runs" / science).glob("*") if (p / "run.json").is_file())


def only_run(cwd: Path, science: str = "toy") -> Path:
    runs = run_dirs(cwd, science)
    assert len(runs) == 1, runs
    return runs[0]


def info(run: Path) -> dict:
    return json.loads((run / "run.json").read_text())


def metrics(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for_step(run_parent: Path, step: int, timeout: float = 600,
                  proc: subprocess.Popen | None = None) -> Path:
    """Wait until some run under `run_parent` has logged `step`; returns that run. The
    timeout only bounds a hang (start-up on a loaded 2-core machine can take minutes); a
    `proc` that exits first fails at once with its output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in run_dirs(run_parent):
            if any(r.get("step", 0) >= step for r in metrics(run)):
                return run
        if proc is not None and proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"dte exited with {proc.returncode} before step {step}: "
                                 f"{(err or '')[-3000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"no run reached step {step} within {timeout} s")


def final_state(run: Path) -> dict:
    """Model and optimizer state of the run's newest checkpoint."""
    newest = sorted((run / "checkpoints").glob("step-*"))[-1]
    return torch.load(newest / "state.pt", weights_only=True)




# dropout (torch RNG) and input noise (numpy RNG) make any lost random state visible
EXACT = ["--set", "train.deterministic=true", "--set", "model.dropout=0.2",
         "--set", "data.augment_noise=0.1", "--set", "testing.step_delay=0.03",
         "--set", "train.checkpoint.every_epochs=1", "--set", "train.signal_sync_s=0.01"]


def assert_same_state(a: dict, b: dict) -> None:
    """Bit-identical models, optimizers and schedulers."""
    for group in ("models", "optimizers", "schedulers"):
        flat_a, flat_b = _tensors(a[group]), _tensors(b[group])
        assert flat_a.keys() == flat_b.keys()
        for key in flat_a:
            assert torch.equal(flat_a[key], flat_b[key]), f"{group}{key} differs"


def _tensors(tree, prefix="") -> dict:
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_tensors(v, f"{prefix}.{k}"))
    elif isinstance(tree, list | tuple):
        for i, v in enumerate(tree):
            out.update(_tensors(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = tree if isinstance(tree, torch.Tensor) else torch.tensor(float(tree or 0))
    return out


def interrupted_then_resumed(cwd: Path, extra: tuple[str, ...] = ()) -> Path:
    """Train with EXACT, SIGTERM in the middle of epoch 1, resume; returns the run."""
    proc = start_dte("train", "toy", *EXACT, *extra, cwd=cwd)
    run = wait_for_step(cwd, 16, proc=proc)  # epoch 1 is steps 13..24: stop in its middle
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 75, err
    stopped_at = info(run)["step"]
    assert 16 <= stopped_at < 24 and info(run)["status"] == "stopped"
    assert f"step-{stopped_at:08d}" in [p.name for p in (run / "checkpoints").iterdir()]
    resumed = dte("train", "toy", "--resume", "latest", *extra, cwd=cwd)
    assert resumed.returncode == 0, resumed.stderr
    assert info(run)["status"] == "finished" and info(run)["step"] == 36
    return run
