"""Mixed-precision choices that cannot work on this device are configuration errors."""

import pytest
import torch
from dte_core.errors import ConfigError
from dte_core.torch.precision import Precision


def test_fp16_on_cpu_names_the_alternatives():
    with pytest.raises(ConfigError, match="train.precision=bf16"):
        Precision("fp16", torch.device("cpu"))


def test_bf16_on_cpu_autocasts_matmuls():
    precision = Precision("bf16", torch.device("cpu"))
    with precision.autocast():
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.bfloat16 and precision.scaler is None


def test_fp32_is_a_no_op():
    with Precision("32", torch.device("cpu")).autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
