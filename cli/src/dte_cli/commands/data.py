"""`dte data generate|prepare SCIENCE --out DIR`: datasets in a science's native format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

from dte_cli.lazy import new_app
from dte_cli.options import ConfigOpt, ScienceArg, SetOpt

app = new_app(name="data", help="Generate or prepare datasets in a science's native format.",
              no_args_is_help=True)
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder to create (must not exist or "
                                      "be empty).", show_default=False)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty --out.")]


@app.command(context_settings=EXTRA)
def generate(ctx: typer.Context, science: ScienceArg, out: OutOpt, config: ConfigOpt = None,
             set_: SetOpt = None, overwrite: OverwriteOpt = False) -> None:
    """Generate a dataset; other --name value flags set data.name (see `dte config schema`)."""
    sci, cfg = _resolve(science, config, set_, ctx.args)
    _write_atomically(out, overwrite, lambda tmp: sci.generate(cfg, tmp))


@app.command(context_settings=EXTRA)
def prepare(ctx: typer.Context, science: ScienceArg, out: OutOpt,
            sources: Annotated[list[Path], typer.Option(
                "--from", help="Real-world input file (repeatable).", show_default=False)],
            config: ConfigOpt = None, set_: SetOpt = None,
            overwrite: OverwriteOpt = False) -> None:
    """Convert real-world files into the native format; other flags set data.* keys."""
    from dte_core.errors import ConfigError

    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        raise ConfigError(f"Input file(s) not found: {', '.join(missing)}. Check the --from "
                          f"paths.")
    sci, cfg = _resolve(science, config, set_, ctx.args)
    _write_atomically(out, overwrite, lambda tmp: sci.prepare(cfg, list(sources), tmp))


def _resolve(science: str, config: Path | None, sets: list[str] | None, extra: list[str]):
    from dte_cli.extra_options import as_overrides
    from dte_cli.options import science_and_config

    return science_and_config(science, config, [*(sets or []), *as_overrides(extra, "data")])


def _write_atomically(out: Path, overwrite: bool, write) -> None:
    """Write into a temporary sibling folder, then rename: `out` is never half-written."""
    from dte_core.errors import ConfigError

    from dte_cli.console import err

    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise ConfigError(f"--out {out} exists and is not empty. Choose a new folder or add "
                          f"--overwrite to replace it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        summary: dict[str, Any] = write(tmp) or {}
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    tmp.rename(out)
    err().print(f"wrote {out}")
    print(json.dumps(summary, indent=2, default=str))
