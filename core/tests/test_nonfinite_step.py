"""The non-finite guard of a torch step: huge but finite gradients are not non-finite."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def context(policy: str):
    from dte_core.env import detect
    from dte_core.strategies import create
    from dte_core.torch.step import StepContext
    from dte_core.torch.task import Optimization

    weight = torch.nn.Parameter(torch.ones(4))
    optimization = Optimization({"net": torch.optim.SGD([weight], lr=1.0)})
    return StepContext(create("single", detect()), optimization, None, None, 1, policy), weight


def test_huge_finite_gradients_pass_and_nan_ones_are_skipped():
    from dte_core.loop import NonFiniteError

    ctx, weight = context("skip")
    weight.grad = torch.full((4,), 1e30)  # its squares overflow float32; the values do not
    assert ctx._finite_gradients("net", ctx.optimization.optimizers["net"])
    weight.grad = torch.tensor([1.0, float("nan"), 1.0, 1.0])
    assert not ctx._finite_gradients("net", ctx.optimization.optimizers["net"])
    stop, _ = context("stop")
    assert stop.loss_only  # one process: only the loss is read per step
    with pytest.raises(NonFiniteError, match="the loss is inf"):
        stop.optimize("net", (weight * float("inf")).sum())
