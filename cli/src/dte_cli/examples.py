"""One example per command, shown at the end of its `--help` (kept here, beside each other,
so that they read as one consistent tour of the CLI)."""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "sciences": ("dte sciences --json",),
    "science new": ("dte science new ocean-waves --framework torch --out .",),
    "config show": ("dte config show virgo-gw --set train.epochs=2",),
    "config schema": ("dte config schema virgo-gw",),
    "config presets": ("dte config presets virgo-gw",
                       "dte config show virgo-gw --preset clean"),
    "data generate": ("dte data generate virgo-gw --out data/virgo --samples 64",),
    "data prepare": ("dte data prepare virgo-gw --out data/virgo-real --from frames/V1.gwf",),
    "data check": ("dte data check climate-cyclone era5/*.nc",),
    "train": ("dte train virgo-gw --set train.epochs=2",
              "dte train virgo-gw --preset clean",
              "dte train virgo-gw --procs 2 --strategy ddp",
              "dte train virgo-gw --backend slurm --gpus 4 --nodes 2 --dry-run"),
    "tune run": ("dte tune virgo-gw --trials 20 --workers 2",),
    "tune status": ("dte tune status virgo-gw-20261207-101500",),
    "tune report": ("dte tune report virgo-gw-20261207-101500 --top 3",),
    "scale": ("dte scale virgo-gw --workers 1,2,4",),
    "evaluate": ("dte evaluate virgo-gw --run latest",
                 "dte evaluate virgo-gw --model models:/virgo-denoiser@champion --json"),
    "predict": ("dte predict virgo-gw --run latest --input data/virgo --output cleaned.h5",),
    "register": ("dte register latest --name virgo-denoiser --alias champion",),
    "models list": ("dte models list",),
    "models show": ("dte models show virgo-denoiser",),
    "models versions": ("dte models versions virgo-denoiser --json",),
    "models alias": ("dte models alias virgo-denoiser 3 champion",),
    "models unalias": ("dte models unalias virgo-denoiser champion",),
    "models tag": ("dte models tag virgo-denoiser reviewed=yes --version 3",),
    "export": ("dte export models:/virgo-denoiser@champion --format onnx --out denoiser.onnx",),
    "runs list": ("dte runs list virgo-gw",),
    "runs show": ("dte runs show latest",),
    "jobs list": ("dte jobs list",),
    "jobs status": ("dte jobs status 4242",),
    "jobs logs": ("dte jobs logs 4242",),
    "jobs cancel": ("dte jobs cancel 4242",),
    "sites list": ("dte sites list",),
    "sites show": ("dte sites show juwels",),
    "sync": ("dte sync latest",),
    "pipeline export": ("dte pipeline export virgo-gw --out virgo-pipeline.yaml",),
    "ui": ("dte ui --port 5000",),
}


def epilog(path: str) -> str | None:
    """The `Example:` block of the command `path` ("runs show"), kept as written by click."""
    lines = EXAMPLES.get(path)
    if not lines:
        return None
    label = "Example" if len(lines) == 1 else "Examples"
    return "\b\n" + f"{label}:\n" + "\n".join(f"  {line}" for line in lines)
