"""hep-3dgan throughput: shower generation, data loading vs training-step consumption.

    python packages/hep-3dgan/benchmarks/throughput.py [--events 512] [--batch 8] [--steps 3]
        [--loader-workers 0 2] [--device cpu|cuda]

Prints one JSON object:
- generator: GFlash showers/s written to HDF5 with 1 process and with all cores;
- loader: samples/s of the streaming Dataset through a DataLoader (HDF5 and ROOT, per
  num_workers), and of a plain-PyTorch baseline that holds the whole array in memory;
- step: samples/s consumed by the 3DGAN training step (both optimizer updates) on --device;
- loader_over_step: loader samples/s / step samples/s (goal >= 5).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def generator_rate(folder: Path, events: int, workers: int, fmt: str = "hdf5") -> dict:
    from dte_hep_3dgan.config import DataConfig
    from dte_hep_3dgan.generate import generate_file

    data = DataConfig(events=events, workers=workers, format=fmt)
    summary = generate_file(folder / f"g{workers}.{'h5' if fmt == 'hdf5' else 'root'}", data,
                            progress=False)
    return {"workers": summary["workers"], "events_per_s": summary["events_per_s"],
            "bytes_per_event": summary["bytes"] // events}


def loader_rate(dataset, batch: int, workers: int, seconds: float = 5.0) -> float:
    import torch
    from torch.utils.data import DataLoader, RandomSampler

    loader = DataLoader(dataset, batch_size=batch, num_workers=workers,
                        sampler=RandomSampler(dataset, generator=torch.Generator().manual_seed(0)),
                        persistent_workers=workers > 0)
    seen, started = 0, None
    while True:
        for i, item in enumerate(loader):
            if started is None and i == 1:  # the first batch pays for worker start-up
                started, seen = time.perf_counter(), 0
            seen += len(item["ecal"])
            if started and time.perf_counter() - started > seconds:
                return seen / (time.perf_counter() - started)


def step_rate(path: Path, batch: int, steps: int, device: str) -> float:
    import torch
    from dte_hep_3dgan.config import Hep3DGANConfig
    from dte_hep_3dgan.task import ShowerGAN

    config = Hep3DGANConfig.model_validate({"data": {"path": str(path)}})
    task = ShowerGAN(config)
    nets = {k: m.to(device) for k, m in task.configure_models().items()}
    optimizers = task.configure_optimizers(nets).optimizers
    task.models = nets
    data = task.train_dataset()
    batch_data = task.collate([data[i % len(data)] for i in range(batch)])
    batch_data = {k: v.to(device) for k, v in batch_data.items()}

    class Ctx:
        def optimize(self, name, loss):
            loss.backward()
            optimizers[name].step()
            optimizers[name].zero_grad(set_to_none=True)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    task.training_step(batch_data, Ctx())  # warm-up
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        task.training_step(batch_data, Ctx())
    sync()
    return steps * batch / (time.perf_counter() - started)


def in_memory_baseline(path: Path, batch: int, workers: int) -> float:
    """Plain PyTorch: the whole ECAL array in memory, a TensorDataset and the same transform."""
    import h5py
    import numpy as np
    import torch
    from torch.utils.data import Dataset

    with h5py.File(path) as h5:
        ecal = h5["ECAL"][()]
        energy, theta = h5["energy"][()], h5["theta"][()]

    class InMemory(Dataset):
        def __len__(self):
            return len(ecal)

        def __getitem__(self, i):
            x = np.power(np.where(ecal[i] >= 1e-6, ecal[i], 0), np.float32(0.85))
            return {"ecal": torch.from_numpy(x[None]), "energy": torch.tensor(energy[i]),
                    "theta": torch.tensor(theta[i])}

    return loader_rate(InMemory(), batch, workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--loader-workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch
    from dte_hep_3dgan.config import DataConfig
    from dte_hep_3dgan.data import open_split

    result: dict = {"cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "device": args.device, "batch": args.batch, "events": args.events}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result["generator"] = [generator_rate(folder, args.events, 1),
                               generator_rate(folder, args.events, os.cpu_count() or 1)]
        generator_rate(folder, args.events, 1, "root")
        h5, root = folder / "g1.h5", folder / "g1.root"
        result["loader"] = {}
        for name, path in (("hdf5", h5), ("root", root)):
            dataset = open_split(path, DataConfig(), "train")
            for workers in args.loader_workers:
                result["loader"][f"{name}_workers{workers}"] = round(
                    loader_rate(dataset, args.batch, workers), 1)
        result["loader"]["in_memory_baseline_workers0"] = round(
            in_memory_baseline(h5, args.batch, 0), 1)
        result["step_samples_per_s"] = round(step_rate(h5, args.batch, args.steps,
                                                       args.device), 3)
    best_streaming = max(v for k, v in result["loader"].items() if not k.startswith("in_"))
    slowest_default = result["loader"]["hdf5_workers0"]
    result["loader_over_step"] = {
        "hdf5_workers0": round(slowest_default / result["step_samples_per_s"], 1),
        "best_streaming": round(best_streaming / result["step_samples_per_s"], 1)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
