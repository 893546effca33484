"""`dte export MODEL --format onnx|torchscript`: a portable model, checked by running it."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dte_cli.lazy import new_app

app = new_app()
TOLERANCE = 1e-4


@app.command()
def export(
    model: Annotated[str, typer.Argument(
        help="models:/NAME@ALIAS, models:/NAME/VERSION, or a run id/directory.",
        show_default=False)],
    fmt: Annotated[str, typer.Option("--format", help="onnx or torchscript.")] = "onnx",
    part: Annotated[str | None, typer.Option(
        "--part", help="Which of the science's models (default: the only one).",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File to write.",
                                             show_default=False)] = None,
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", show_default=False,
                                                  help="Where run directories are.")] = None,
) -> None:
    """Export one model and check it: the exported model must reproduce the torch outputs
    on the science's input example within 1e-4 (max absolute difference)."""
    import numpy as np
    import torch
    from dte_core.errors import ConfigError, DteError

    if fmt not in ("onnx", "torchscript"):
        raise ConfigError(f"--format {fmt!r}: use onnx or torchscript (TensorFlow sciences "
                          f"export a SavedModel through their own science package).")
    sci, cfg, models, name = _load(model, runs_dir)
    if sci.framework != "torch":
        raise sci.not_supported("export", "a torch model (ONNX/TorchScript export)")
    if part is None:
        if len(models) != 1:
            raise ConfigError(f"This science has several models ({', '.join(models)}): choose "
                              f"one with --part.")
        part = next(iter(models))
    if part not in models:
        raise ConfigError(f"--part {part!r} is not a model of {sci.name}: "
                          f"{', '.join(models)}.")
    example = (sci.input_example(cfg) or {}).get(part)
    if example is None:
        raise sci.not_supported("export", f"an input example for '{part}' (input_example)")
    args = tuple(torch.as_tensor(np.asarray(a)) for a in example)
    net = models[part].eval()
    with torch.no_grad():
        expected = net(*args)
    target = out or Path(f"{name}-{part}.{'onnx' if fmt == 'onnx' else 'pt'}")
    with contextlib.redirect_stdout(sys.stderr):  # exporters chatter; stdout is the report
        got = _onnx(net, args, target) if fmt == "onnx" else _torchscript(net, args, target)
    diff = float(np.max(np.abs(np.asarray(got) - expected.numpy())))
    report = {"format": fmt, "path": str(target.resolve()), "part": part,
              "max_abs_diff": diff, "tolerance": TOLERANCE, "ok": diff <= TOLERANCE}
    print(json.dumps(report, indent=2))
    if diff > TOLERANCE:
        raise DteError(f"The exported {fmt} model differs from the torch model by {diff:.3g} "
                       f"(more than {TOLERANCE}) on the input example; do not use {target}.")


def _load(model: str, runs_dir: Path | None) -> tuple[Any, Any, dict[str, Any], str]:
    from dte_core import paths, rundir, trained
    from dte_core.registry import store, uri

    if uri.is_model_uri(model):
        ref = uri.parse(model)
        sci, cfg, models = store.load_model(ref)
        label = f"{ref.name}-{ref.alias or 'v' + str(ref.version)}"
        return sci, cfg, models, label
    found = rundir.find((runs_dir or paths.runs_root()).resolve(), model)
    sci, cfg, models = trained.load(found.path)
    return sci, cfg, models, found.run_id


def _onnx(net: Any, args: tuple[Any, ...], target: Path) -> Any:
    import onnxruntime
    import torch
    from dte_core.optional import require

    require("onnxscript", extra="export")
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(net, args, str(target), dynamo=True,
                      dynamic_shapes=tuple({0: batch} for _ in args))
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), args, strict=True)}
    return session.run(None, feeds)[0]


def _torchscript(net: Any, args: tuple[Any, ...], target: Path) -> Any:
    import torch

    traced = torch.jit.trace(net, args)
    traced.save(str(target))
    loaded = torch.jit.load(str(target))
    with torch.no_grad():
        return loaded(*args).numpy()
