"""`dte export MODEL --format onnx|torchscript|savedmodel`: a portable model, checked by
running it against the framework's own model on the science's input example."""

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
    fmt: Annotated[str | None, typer.Option(
        "--format", help="onnx or torchscript (torch sciences), savedmodel (TensorFlow); "
        "default: onnx, or savedmodel for TensorFlow.", show_default=False)] = None,
    part: Annotated[str | None, typer.Option(
        "--part", help="Which of the science's models (default: the only one).",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File to write.",
                                             show_default=False)] = None,
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", show_default=False,
                                                  help="Where run directories are.")] = None,
) -> None:
    """Export one model and check it: the exported model must reproduce the framework's
    outputs on the science's input example within 1e-4 (max absolute difference)."""
    import numpy as np
    from dte_core.errors import ConfigError, DteError

    formats = {"torch": ("onnx", "torchscript"), "tensorflow": ("savedmodel",)}
    if fmt is not None and fmt not in ("onnx", "torchscript", "savedmodel"):
        raise ConfigError(f"--format {fmt!r}: use onnx or torchscript for torch sciences, "
                          f"savedmodel for TensorFlow sciences.")
    sci, cfg, models, name = _load(model, runs_dir)
    fmt = fmt or formats[sci.framework][0]
    if fmt not in formats[sci.framework]:
        raise ConfigError(f"--format {fmt}: {sci.name} is a {sci.framework} science; it "
                          f"exports {' or '.join(formats[sci.framework])}.")
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
    arrays = tuple(np.asarray(a) for a in example)
    suffix = {"onnx": ".onnx", "torchscript": ".pt", "savedmodel": ""}[fmt]
    target = out or Path(f"{name}-{part}{suffix}")
    exporter = {"onnx": _onnx, "torchscript": _torchscript, "savedmodel": _savedmodel}[fmt]
    with contextlib.redirect_stdout(sys.stderr):  # exporters chatter; stdout is the report
        expected, got = exporter(models[part], arrays, target)
    diff = float(np.max(np.abs(np.asarray(got) - np.asarray(expected))))
    report = {"format": fmt, "path": str(target.resolve()), "part": part,
              "max_abs_diff": diff, "tolerance": TOLERANCE, "ok": diff <= TOLERANCE}
    print(json.dumps(report, indent=2))
    if diff > TOLERANCE:
        raise DteError(f"The exported {fmt} model differs from the {sci.framework} model by "
                       f"{diff:.3g} (more than {TOLERANCE}) on the input example; do not use "
                       f"{target}.")


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


def _torch_outputs(net: Any, arrays: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    import torch

    args = tuple(torch.as_tensor(a) for a in arrays)
    net.eval()
    with torch.no_grad():
        return args, net(*args).numpy()


def _onnx(net: Any, arrays: tuple[Any, ...], target: Path) -> tuple[Any, Any]:
    import onnxruntime
    import torch
    from dte_core.optional import require

    require("onnxscript", extra="export")
    args, expected = _torch_outputs(net, arrays)
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(net, args, str(target), dynamo=True,
                      dynamic_shapes=tuple({0: batch} for _ in args))
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    feeds = {i.name: a for i, a in zip(session.get_inputs(), arrays, strict=True)}
    return expected, session.run(None, feeds)[0]


def _torchscript(net: Any, arrays: tuple[Any, ...], target: Path) -> tuple[Any, Any]:
    import torch

    args, expected = _torch_outputs(net, arrays)
    traced = torch.jit.trace(net, args)
    traced.save(str(target))
    loaded = torch.jit.load(str(target))
    with torch.no_grad():
        return expected, loaded(*args).numpy()


def _savedmodel(net: Any, arrays: tuple[Any, ...], target: Path) -> tuple[Any, Any]:
    """A TensorFlow SavedModel with a `serve` endpoint, reloaded without Keras and run."""
    import numpy as np
    import tensorflow as tf

    expected = net(*arrays, training=False)
    net.export(str(target), format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(str(target))
    return np.asarray(expected), loaded.serve(*[tf.constant(a) for a in arrays]).numpy()
