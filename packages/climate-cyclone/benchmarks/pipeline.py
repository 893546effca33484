"""Patch pipeline throughput vs what a training step consumes (prints JSON).

    python packages/climate-cyclone/benchmarks/pipeline.py [--data DIR] [--batches 60]

Measures, on the default configuration (or the dataset DIR):
  generate        time steps and MB written per second by `dte data generate` (when no --data)
  source_read     patches/s of PatchSource.read alone (zarr chunks via xarray/dask, cutting,
                  augmentation), in an epoch's order
  tfdata          patches/s of the tf.data pipeline the trainer builds (generator + prefetch),
                  consumed without training
  train_step      patches/s of the compiled training step on a batch held in memory
  train_with_data patches/s of the training step fed by the real pipeline
  ratio           tfdata / train_step (the pipeline's head room; goal >= 5)
Speeds depend on the machine and its load; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    from dte_climate_cyclone.config import CycloneConfig
    from dte_climate_cyclone.data import CycloneData
    from dte_climate_cyclone.generate import generate

    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "load_1min": os.getloadavg()[0]}}
    tmp = None
    data_dir = args.data
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory()
        data_dir = Path(tmp.name) / "dataset"
        data_dir.mkdir()
        t0 = time.perf_counter()
        summary = generate(CycloneConfig(), data_dir)
        seconds = time.perf_counter() - t0
        report["generate"] = {"seconds": round(seconds, 2), "time_steps": summary["times"],
                              "grid": summary["grid"], "megabytes": summary["megabytes"],
                              "time_steps_per_s": round(summary["times"] / seconds, 1),
                              "mb_per_s": round(summary["megabytes"] / seconds, 1)}
    cfg = CycloneConfig.model_validate({"data": {"path": str(data_dir)},
                                        "train": {"batch_size": args.batch_size},
                                        "tracking": {"mlflow": False}})
    data = CycloneData.open(cfg)
    b = args.batch_size

    source = data.source("train", augment=True)
    order = source.order(0, cfg.train.seed)
    n = min(args.batches, len(order) // b)
    t0 = time.perf_counter()
    for i in range(n):
        source.read(order[i * b:(i + 1) * b], 0)
    seconds = time.perf_counter() - t0
    report["source_read"] = {"patches_per_s": round(n * b / seconds, 1), "batches": n,
                             "chunks_read": source.chunks_read}

    from dte_climate_cyclone.task import CycloneTask
    from dte_core import strategies
    from dte_core.env import ClusterEnv
    from dte_core.keras.data import pipeline
    from dte_core.keras.trainer import KerasTrainer
    from dte_core.tracking import Logger

    strategy = strategies.create("auto", ClusterEnv(launcher="none"), "tensorflow")
    strategy.setup()
    task = CycloneTask(cfg)
    task._data = data
    trainer = KerasTrainer(task, cfg.train, strategy, Logger([]))
    trainer._configure()
    import tensorflow as tf

    fresh = data.source("train", augment=True)
    chunks = list(trainer.plan.train(fresh.order(1, cfg.train.seed)))[:n]
    t0 = time.perf_counter()
    for _ in pipeline(fresh, chunks, 1, trainer.train_spec):
        pass
    seconds = time.perf_counter() - t0
    report["tfdata"] = {"patches_per_s": round(len(chunks) * b / seconds, 1)}

    run = strategy.tf_strategy
    x, y = fresh.read(order[:b], 0)
    held = run.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors((x, y)).repeat())
    flag = tf.constant(0.0)
    batches = iter(held)
    for _ in range(3):  # trace and warm up
        trainer._train_step_fn(next(batches), flag).numpy()
    t0 = time.perf_counter()
    for _ in range(n):
        trainer._train_step_fn(next(batches), flag).numpy()
    seconds = time.perf_counter() - t0
    report["train_step"] = {"patches_per_s": round(n * b / seconds, 1),
                            "ms_per_step": round(1000 * seconds / n, 1),
                            "parameters": int(task.models["net"].count_params())}

    fed = data.source("train", augment=True)
    chunks = list(trainer.plan.train(fed.order(2, cfg.train.seed)))[:n]
    dist = run.distribute_datasets_from_function(
        lambda _ctx: pipeline(fed, chunks, 2, trainer.train_spec))
    batches = iter(dist)
    t0 = time.perf_counter()
    for _ in range(len(chunks)):
        trainer._train_step_fn(next(batches), flag).numpy()
    seconds = time.perf_counter() - t0
    report["train_with_data"] = {"patches_per_s": round(len(chunks) * b / seconds, 1)}
    report["ratio_tfdata_to_step"] = round(report["tfdata"]["patches_per_s"]
                                           / report["train_step"]["patches_per_s"], 2)
    report["ratio_source_to_step"] = round(report["source_read"]["patches_per_s"]
                                           / report["train_step"]["patches_per_s"], 2)
    report["machine"]["load_1min_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
