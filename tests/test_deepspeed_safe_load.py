"""DeepSpeed shards are loaded as tensors and plain data: a pickle that would run code is
refused with one paragraph (the resume of real shards is in test_deepspeed.py)."""

from __future__ import annotations

import os

import pytest
import torch

pytest.importorskip("deepspeed")
from dte_core.errors import DteError  # noqa: E402
from dte_core.torch.strategies.deepspeed import safe_shard_load  # noqa: E402


class Payload:
    """An object whose unpickling would run a command."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_shard_with_a_code_running_pickle_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shard = tmp_path / "mp_rank_00_model_states.pt"
    torch.save({"module": {"w": torch.ones(2)}, "extra": Payload()}, shard)
    with pytest.raises(DteError, match="does not unpickle them"):
        safe_shard_load(str(shard))
    assert not (tmp_path / "pwned").exists()


def test_deepspeeds_own_types_and_tensors_load(tmp_path):
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum

    shard = tmp_path / "optim_states.pt"
    scaler = DynamicLossScaler(2.0**16, 1000, 1.0, 2, False)
    state = {"optimizer_state_dict": {"loss_scaler": scaler,
                                      "zero_stage": ZeroStageEnum.gradients,
                                      "fp32": [torch.arange(3.0)]}, "ds_version": "0.0"}
    torch.save(state, shard)
    loaded = safe_shard_load(str(shard))
    assert loaded["optimizer_state_dict"]["zero_stage"] is ZeroStageEnum.gradients
    assert torch.equal(loaded["optimizer_state_dict"]["fp32"][0], torch.arange(3.0))
