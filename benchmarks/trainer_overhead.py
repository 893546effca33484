"""Per-epoch time of the dte Trainer (default sinks) against a hand-written PyTorch loop.

Same model, data, optimizer and batch size, one CPU process, both in this run. The dte side
uses the sinks of a default `dte train`: console (non-interactive), metrics.jsonl and MLflow
on the embedded SQLite store (in a temporary project; its uploader process runs beside the
training). Epoch times exclude validation and checkpoints (none are configured); the first
epochs are warm-up and not counted. Two models: an MLP with real compute per step (`ratio`)
and a near-zero-compute one (`tiny_ratio`), where only the per-step cost of the loop shows.

Prints {"dte_epoch_s", "torch_epoch_s", "ratio", "tiny_ratio", "epochs_counted", ...}.
Usage: uv run python benchmarks/trainer_overhead.py [--epochs 20] [--counted 8]
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


def dte_trainer(epochs: int, project: Path, size: str) -> list[float]:
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
        tracking: TrackingConfig = TrackingConfig()

    cfg = BenchConfig()
    run = rundir.create(paths.runs_root(), "bench", "train: {}\n",
                        tracking_uri=paths.tracking_uri())
    strategy = create("single", detect())
    with strategy.running():
        logger = Logger(sinks_for(run, "bench", cfg, run.info(), engines.get("torch")))
        Trainer(BenchTask(cfg), cfg.train, strategy, logger, None, "bench").fit()
    settled_state(run.path)  # the upload ends before its temporary project goes
    return [r["train/epoch_time_s"] for r in read(run.metrics_path) if "train/epoch_time_s" in r]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--counted", type=int, default=8, help="last epochs counted (>= 5)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    n = args.counted
    result: dict[str, float] = {}
    for size in ("mlp", "tiny"):
        with tempfile.TemporaryDirectory() as tmp:
            torch_times = plain_torch(args.epochs, size)
            dte_times = dte_trainer(args.epochs, Path(tmp), size)
            torch_times_again = plain_torch(args.epochs, size)  # bracket dte: drift shows up
        base = statistics.median(torch_times[-n:] + torch_times_again[-n:])
        ours = statistics.median(dte_times[-n:])
        key = "" if size == "mlp" else "tiny_"
        result.update({
            f"{key}dte_epoch_s": round(ours, 4), f"{key}torch_epoch_s": round(base, 4),
            f"{key}ratio": round(ours / base, 4),
            f"{key}torch_before_s": round(statistics.median(torch_times[-n:]), 4),
            f"{key}torch_after_s": round(statistics.median(torch_times_again[-n:]), 4),
            f"{key}step_ms": round(1000 * base / (SIZES[size][0] // BATCH), 3)})
    print(json.dumps({**result, "epochs_counted": n, "epochs_run": args.epochs,
                      "threads": torch.get_num_threads(), "python": sys.version.split()[0],
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
