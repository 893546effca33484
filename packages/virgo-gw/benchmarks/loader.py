"""Data loading vs the training step: can the HDF5 stream feed the denoiser? (goal >= 5x)

Prints one JSON object with samples/s of
- `loader`: the Task's DataLoader over the streaming HDF5 dataset (shuffled, as the Trainer
  reads it), for each number of DataLoader workers;
- `in_memory`: a plain-PyTorch TensorDataset of the same maps (the ceiling of loading);
- `step`: the training step's consumption (forward, backward, AdamW step of the default U-Net);
and `loader_over_step`, the ratio per worker count.
Usage: uv run python packages/virgo-gw/benchmarks/loader.py [--data DIR] [--samples N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def rate(batches, samples: int) -> float:
    start = time.perf_counter()
    seen = 0
    for batch in batches:
        seen += len(batch["aux"] if isinstance(batch, dict) else batch[0])
    return seen / (time.perf_counter() - start) if samples else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder (else generated)")
    parser.add_argument("--samples", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()

    import torch
    from dte_core import config as config_layer
    from dte_virgo_gw.config import VirgoConfig
    from dte_virgo_gw.task import DenoiserTask
    from torch.utils.data import DataLoader, TensorDataset

    tmp = None
    if args.data is None:
        from dte_virgo_gw.generate import generate

        tmp = tempfile.TemporaryDirectory()
        args.data = Path(tmp.name)
        generate(VirgoConfig().data.model_copy(update={"samples": args.samples}), args.data,
                 progress=False)
    cfg = config_layer.resolve(VirgoConfig, None, [f"data.path={args.data}",
                                                   f"train.batch_size={args.batch_size}"])
    task = DenoiserTask(cfg)
    train = task.train_dataset()
    n = len(train)
    out: dict = {"samples": n, "batch_size": args.batch_size, "threads": torch.get_num_threads()}

    # the step first: DataLoader worker processes left behind would compete with it
    models = task.configure_models()
    task.models = models
    optimizer = task.configure_optimizers(models).optimizers["denoiser"]
    batch = next(iter(DataLoader(train, batch_size=args.batch_size)))
    for step in range(args.steps + 2):
        if step == 2:
            start = time.perf_counter()
        loss = task.training_step(batch, None)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    step_rate = args.steps * args.batch_size / (time.perf_counter() - start)
    out["step_samples_per_s"] = round(step_rate, 1)

    loader = {}
    for workers in args.workers:
        loaders = DataLoader(train, batch_size=args.batch_size, shuffle=True,
                             num_workers=workers, persistent_workers=workers > 0)
        rate(loaders, n)  # first pass: worker start-up, page cache
        loader[str(workers)] = round(rate(loaders, n), 1)
        del loaders
    out["loader_samples_per_s"] = loader
    items = [train[i] for i in range(n)]
    memory = TensorDataset(torch.stack([torch.from_numpy(i["aux"]) for i in items]),
                           torch.stack([torch.from_numpy(i["main"]) for i in items]))
    out["in_memory_samples_per_s"] = round(rate(DataLoader(memory, batch_size=args.batch_size,
                                                           shuffle=True), n), 1)
    out["loader_over_step"] = {k: round(v / step_rate, 1) for k, v in loader.items()}
    print(json.dumps(out, indent=2))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
