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
from dte_cli.options import JsonOpt

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
    as_json: JsonOpt = False,
) -> None:
    """Export one model and check it: the exported model must reproduce the framework's
    outputs on the science's input example within 1e-4 (max absolute difference)."""
    import numpy as np
    from dte_core import engine as engines
    from dte_core.errors import ConfigError, DteError

    if fmt is not None and fmt not in ("onnx", "torchscript", "savedmodel"):
        raise ConfigError(f"--format {fmt!r}: use onnx or torchscript for torch sciences, "
                          f"savedmodel for TensorFlow sciences.")
    sci, cfg, models, name = _load(model, runs_dir)
    engine = engines.of(sci)
    formats = engine.export_formats
    fmt = fmt or formats[0]
    if fmt not in formats:
        raise ConfigError(f"--format {fmt}: {sci.name} is a {sci.framework} science; it "
                          f"exports {' or '.join(formats)}.")
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
    with contextlib.redirect_stdout(sys.stderr):  # exporters chatter; stdout is the report
        expected, got = engine.export(fmt, models[part], arrays, target)
    diff = float(np.max(np.abs(np.asarray(got) - np.asarray(expected))))
    report = {"format": fmt, "path": str(target.resolve()), "part": part,
              "max_abs_diff": diff, "tolerance": TOLERANCE, "ok": diff <= TOLERANCE}
    if as_json:
        print(json.dumps(report, indent=2))
    elif diff <= TOLERANCE:
        from dte_cli.summary import closing

        closing(f"exported {part} of {name} as {fmt}",
                [("file", report["path"]),
                 ("check", f"max abs difference {diff:.3g} on the input example "
                           f"(tolerance {TOLERANCE})")], [])
    if diff > TOLERANCE:
        raise DteError(f"The exported {fmt} model differs from the {sci.framework} model by "
                       f"{diff:.3g} (more than {TOLERANCE}) on the input example; do not use "
                       f"{target}.")


def _load(model: str, runs_dir: Path | None) -> tuple[Any, Any, dict[str, Any], str]:
    from dte_core import paths, rundir, trained
    from dte_core.registry import store, uri

    if uri.is_model_uri(model):
        ref = uri.parse(model)
        sci, cfg, models, _ = store.load_model(ref)
        label = f"{ref.name}-{ref.alias or 'v' + str(ref.version)}"
        return sci, cfg, models, label
    found = rundir.find((runs_dir or paths.runs_root()).resolve(), model)
    sci, cfg, models = trained.load(found.path)
    return sci, cfg, models, found.run_id
