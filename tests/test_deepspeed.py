"""The deepspeed strategy (CPU, gloo): equivalence with one process for ZeRO 0-3, exact
resume through DeepSpeed's own checkpoint shards, and config errors."""

from __future__ import annotations

import json

import pytest
import torch
from support import EXACT, assert_same_state, dte, final_state, interrupted_then_resumed, only_run

pytestmark = [pytest.mark.slow, pytest.mark.distributed]
COMMON = ["--set", "data.samples=100", "--set", "train.epochs=2"]


def trained(directory, *args):
    directory.mkdir()
    result = dte("train", "toy", *args, cwd=directory, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return only_run(directory)


@pytest.fixture(scope="module", autouse=True)
def compiled_comm_op(tmp_path_factory):
    """DeepSpeed JIT-compiles its CPU communication op on first use (~3 min on a fresh machine,
    then cached): pay that here, outside every test that waits for a step in bounded time."""
    trained(tmp_path_factory.mktemp("jit") / "run", "--strategy", "deepspeed", "--procs", "2",
            "--set", "data.samples=32", "--set", "train.epochs=1")


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return final_state(trained(tmp_path_factory.mktemp("single") / "run", *COMMON))


@pytest.mark.parametrize(("stage", "accumulate"), [(0, 2), (1, 1), (2, 2), (3, 1)])
def test_zero_stages_match_one_process(tmp_path, single, stage, accumulate):
    run = trained(tmp_path / "ds", "--strategy", "deepspeed", "--procs", "2", *COMMON,
                  "--set", f"train.deepspeed.zero_stage={stage}",
                  "--set", f"train.accumulate={accumulate}")
    ds = final_state(run)
    assert (run / "checkpoints").glob("step-*/deepspeed/net")
    for name, tensor in single["models"]["net"].items():
        assert torch.allclose(tensor, ds["models"]["net"][name], atol=1e-5), name


@pytest.mark.parametrize("stage", [2, 3])
def test_zero_sigterm_then_resume_is_bit_identical(tmp_path, stage):
    args = ("--procs", "2", "--strategy", "deepspeed", "--set",
            f"train.deepspeed.zero_stage={stage}")
    ref = trained(tmp_path / "ref", *EXACT, *args)
    (tmp_path / "cut").mkdir()
    run = interrupted_then_resumed(tmp_path / "cut", args)
    a, b = final_state(ref), final_state(run)
    assert_same_state({**a, "optimizers": {}}, {**b, "optimizers": {}})
    shards = sorted(p.name for p in (run / "checkpoints").glob("step-*/deepspeed/net/*"))
    assert any("optim_states" in name for name in shards), shards


def test_zero_stage_out_of_range(tmp_path):
    result = dte("train", "toy", "--strategy", "deepspeed", "--set",
                 "train.deepspeed.zero_stage=4", cwd=tmp_path)
    assert result.returncode == 2 and "less than or equal to 3" in result.stderr


def test_user_json_that_contradicts_dte_names_the_keys(tmp_path):
    (tmp_path / "ds.json").write_text(json.dumps({
        "train_micro_batch_size_per_gpu": 3, "gradient_accumulation_steps": 4,
        "zero_optimization": {"stage": 1, "overlap_comm": False}}))
    result = dte("train", "toy", "--strategy", "deepspeed", "--set",
                 f"train.deepspeed.config_file={tmp_path / 'ds.json'}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    text = " ".join(result.stderr.split())
    for key in ("train_micro_batch_size_per_gpu is 3", "gradient_accumulation_steps is 4",
                "zero_optimization.stage is 1"):
        assert key in text, text
