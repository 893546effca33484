"""Per-epoch time of the dte Trainer (default sinks) against a hand-written PyTorch loop.

Same model, data, optimizer and batch size, one CPU process, both in this run. The dte side
uses the sinks of a default `dte train`: console (non-interactive), metrics.jsonl and MLflow
on the embedded SQLite store (in a temporary project; its uploader process runs beside the
training). Epoch times exclude validation and checkpoints (none are configured); the first
epochs are warm-up and not counted. Two models: an MLP with real compute per step (`ratio`)
and a near-zero-compute one (`tiny_ratio`), where only the per-step cost of the loop shows.

Each case runs `--reps` brackets plain / dte / plain (fresh models, same process); a ratio is
the median over brackets of dte's median epoch over its two plain neighbours', so the drift of
a shared VM shows up as spread between brackets rather than as overhead. `tiny_no_mlflow_*`
is the tiny case with tracking.mlflow off: what is left is the loop's own per-step cost.

Prints {"ratio", "tiny_ratio", "tiny_no_mlflow_ratio", "*_ratios", "*_epoch_s", ...}.
Usage: uv run python benchmarks/trainer_overhead.py [--epochs 20] [--tiny-epochs 60]
       [--counted 8] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

BATCH = 64
#: (samples, features, hidden): an MLP that computes, and one whose steps cost almost nothing
SIZES = {"mlp": (4096, 512, 1024), "tiny": (64 * 200, 4, 4)}


def make_data(size: str) -> torch.utils.data.TensorDataset:
    samples, features, _ = SIZES[size]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(samples, features, generator=gen)
    y = torch.randn(samples, 1, generator=gen)
    return torch.utils.data.TensorDataset(x, y)


def make_model(size: str) -> nn.Module:
    _, features, hidden = SIZES[size]
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, 1))


def plain_torch(epochs: int, size: str) -> list[float]:
    """The loop a user would write by hand; returns each epoch's seconds."""
    data, model = make_data(size), make_model(size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True, drop_last=True)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for x, y in loader:
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def dte_trainer(epochs: int, project: Path, size: str, mlflow: bool = True) -> list[float]:
    """The same training through dte's Trainer with the default sinks; epoch seconds."""
    os.environ["DTE_PROJECT_DIR"] = str(project)
    from dte_core import engine as engines
    from dte_core import paths, rundir
    from dte_core.env import detect
    from dte_core.schemas import StrictModel, TrackingConfig, TrainConfig
    from dte_core.strategies import create
    from dte_core.torch.task import Optimization, Task
    from dte_core.torch.trainer import Trainer
    from dte_core.tracking import Logger
    from dte_core.tracking.jsonl import read
    from dte_core.tracking.mlflow_sink import settled_state
    from dte_core.worker import sinks_for

    class BenchTask(Task):
        def configure_models(self):
            return {"net": make_model(size)}

        def configure_optimizers(self, models):
            return Optimization({"net": torch.optim.Adam(models["net"].parameters(), lr=1e-3)})

        def train_dataset(self):
            return make_data(size)

        def training_step(self, batch, ctx):
            x, y = batch
            return nn.functional.mse_loss(self.models["net"](x), y)

    class BenchConfig(StrictModel):
        train: TrainConfig = TrainConfig(epochs=epochs, batch_size=BATCH,
                                         checkpoint={"every_epochs": None})
        tracking: TrackingConfig = TrackingConfig(mlflow=mlflow)

    cfg = BenchConfig()
    run = rundir.create(paths.runs_root(), "bench", "train: {}\n",
                        tracking_uri=paths.tracking_uri())
    strategy = create("single", detect())
    with strategy.running():
        logger = Logger(sinks_for(run, "bench", cfg, run.info(), engines.get("torch")))
        Trainer(BenchTask(cfg), cfg.train, strategy, logger, None, "bench").fit()
    if mlflow:
        settled_state(run.path)  # the upload ends before its temporary project goes
    return [r["train/epoch_time_s"] for r in read(run.metrics_path) if "train/epoch_time_s" in r]


def paired(size: str, epochs: int, counted: int, reps: int, mlflow: bool = True
           ) -> dict[str, object]:
    """`reps` brackets plain / dte / plain; each dte median over the mean of its brackets."""
    ratios, ours, bases = [], [], []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            before = statistics.median(plain_torch(epochs, size)[-counted:])
            dte = statistics.median(dte_trainer(epochs, Path(tmp), size, mlflow)[-counted:])
            after = statistics.median(plain_torch(epochs, size)[-counted:])
        base = (before + after) / 2
        ratios.append(dte / base)
        ours.append(dte)
        bases.append(base)
    return {"ratio": round(statistics.median(ratios), 4),
            "ratios": [round(r, 4) for r in ratios],
            "dte_epoch_s": round(statistics.median(ours), 4),
            "torch_epoch_s": round(statistics.median(bases), 4),
            "step_ms": round(1000 * statistics.median(bases) / (SIZES[size][0] // BATCH), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the MLP runs")
    parser.add_argument("--tiny-epochs", type=int, default=60,
                        help="epochs of the tiny runs (~0.2 s each: counted epochs start "
                             "after the MLflow uploader has finished starting, ~6 s)")
    parser.add_argument("--counted", type=int, default=8, help="last epochs counted (>= 5)")
    parser.add_argument("--reps", type=int, default=3, help="plain/dte/plain brackets per case")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    n, result = args.counted, {}
    cases = (("", "mlp", args.epochs, True), ("tiny_", "tiny", args.tiny_epochs, True),
             ("tiny_no_mlflow_", "tiny", args.tiny_epochs, False))
    for key, size, epochs, mlflow in cases:
        result.update({f"{key}{name}": value for name, value in
                       paired(size, epochs, n, args.reps, mlflow).items()})
    print(json.dumps({**result, "epochs_counted": n, "reps": args.reps,
                      "threads": torch.get_num_threads(), "python": sys.version.split()[0],
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
