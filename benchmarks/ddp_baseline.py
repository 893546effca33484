"""Hand-written torchrun DDP training of the toy science's model: the baseline of ddp_overhead.

Run by benchmarks/ddp_overhead.py as
  python -m torch.distributed.run --standalone --nproc-per-node 2 benchmarks/ddp_baseline.py ...
Rank 0 prints one JSON line per epoch: {"epoch", "epoch_s"}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def main() -> None:
    parser = argparse.ArgumentParser()
    for name, default in (("--samples", 16384), ("--features", 512), ("--hidden", 1024),
                          ("--batch-size", 64), ("--epochs", 16)):
        parser.add_argument(name, type=int, default=default)
    args = parser.parse_args()
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(1)  # the same data as the toy science
    x = rng.normal(size=(args.samples, args.features)).astype(np.float32)
    w = np.linspace(-1, 1, args.features, dtype=np.float32)
    y = (np.tanh(x @ w) + 0.1 * rng.normal(size=args.samples)).astype(np.float32)[:, None]
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    torch.manual_seed(0)
    model = DistributedDataParallel(nn.Sequential(
        nn.Linear(args.features, args.hidden), nn.Tanh(), nn.Dropout(0.0),
        nn.Linear(args.hidden, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.9)
    sampler = DistributedSampler(data, shuffle=True, drop_last=True)
    loader = DataLoader(data, batch_size=args.batch_size // world, sampler=sampler,
                        drop_last=True)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        start = time.perf_counter()
        for xb, yb in loader:
            loss = nn.functional.mse_loss(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
        elapsed = time.perf_counter() - start
        if rank == 0:
            print(json.dumps({"epoch": epoch, "epoch_s": elapsed}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
