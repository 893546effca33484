"""Portable torch models (ONNX, TorchScript), each run back against the torch model."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _outputs(net: Any, arrays: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    import torch

    args = tuple(torch.as_tensor(a) for a in arrays)
    net.eval()
    with torch.no_grad():
        return args, net(*args).numpy()


def onnx(net: Any, arrays: tuple[Any, ...], target: Path) -> tuple[Any, Any]:
    """An ONNX file with a dynamic batch axis, run by onnxruntime."""
    from dte_core.optional import require

    require("onnxscript", extra="export")
    onnxruntime = require("onnxruntime", extra="export")
    import torch

    args, expected = _outputs(net, arrays)
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(net, args, str(target), dynamo=True,
                      dynamic_shapes=tuple({0: batch} for _ in args))
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    feeds = {i.name: a for i, a in zip(session.get_inputs(), arrays, strict=True)}
    return expected, session.run(None, feeds)[0]


def torchscript(net: Any, arrays: tuple[Any, ...], target: Path) -> tuple[Any, Any]:
    """A traced TorchScript file, loaded back and run."""
    import torch

    args, expected = _outputs(net, arrays)
    traced = torch.jit.trace(net, args)
    traced.save(str(target))
    loaded = torch.jit.load(str(target))
    with torch.no_grad():
        return expected, loaded(*args).numpy()
