"""TensorFlow strategies: `tf-single`, `mirrored` (one process, its GPUs) and `multiworker`.

They are registered in `dte_core.strategies` beside the torch ones (so `--strategy mirrored`
is checked like `--strategy ddp`, and the SLURM backend knows their task layouts); `auto` picks
`mirrored` for one process and `multiworker` for several; `single` is an alias of `tf-single`.
"""

from __future__ import annotations

import contextlib
import json
import os
from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from dte_core.env import ClusterEnv
from dte_core.errors import ConfigError
from dte_core.keras.cluster import tf_config
from dte_core.keras.runtime import tensorflow
from dte_core.strategies import Lifecycle, register


class KerasStrategy(Lifecycle):
    """A tf.distribute strategy plus what the trainer asks of it (ranks, sums, barriers)."""

    name: ClassVar[str]
    framework: ClassVar[str] = "tensorflow"
    task_layout: ClassVar[str] = "torchrun"
    task_layouts: ClassVar[tuple[str, ...]] = ("torchrun",)

    def __init__(self, env: ClusterEnv) -> None:
        self.env = env
        self.tf_strategy: Any = None

    # ---- life cycle --------------------------------------------------------------------
    def setup(self) -> None:
        """Import TensorFlow, choose this process's devices and threads, build the strategy."""
        tf = tensorflow()
        self._configure_devices(tf)
        self.tf_strategy = self._create(tf)

    @abstractmethod
    def _create(self, tf: Any) -> Any:
        """The tf.distribute strategy."""

    def _configure_devices(self, tf: Any) -> None:
        """One GPU per process when several share a node; CPU threads shared between them."""
        gpus = tf.config.list_physical_devices("GPU")
        local = self.env.local_world_size
        if gpus and local > 1:
            tf.config.set_visible_devices(gpus[self.env.local_rank % len(gpus)], "GPU")
        for gpu in tf.config.get_visible_devices("GPU"):
            with contextlib.suppress(RuntimeError, ValueError):
                tf.config.experimental.set_memory_growth(gpu, True)
        if local > 1:
            threads = int(os.environ.get("OMP_NUM_THREADS") or
                          max(1, (os.cpu_count() or 1) // local))
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(max(2, threads))

    def _refuse_several_processes(self) -> None:
        if self.env.distributed:
            raise ConfigError(
                f"The `{self.name}` strategy runs in one process, but this is rank "
                f"{self.env.rank} of {self.env.world_size}. Use --strategy multiworker (or auto) "
                f"with several processes.")


    # ---- layout --------------------------------------------------------------------------
    @property
    def num_replicas(self) -> int:
        """Replicas over all processes (devices x workers)."""
        return int(self.tf_strategy.num_replicas_in_sync)

    @property
    def num_workers(self) -> int:
        return 1

    @property
    def worker_index(self) -> int:
        """This process's index among the workers (0 is the chief: it logs and writes)."""
        return 0

    @property
    def local_replicas(self) -> int:
        return self.num_replicas // self.num_workers

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0

    @property
    def processes(self) -> int:
        return self.num_workers

    def describe(self) -> dict[str, int]:
        return {"world_size": self.num_workers, "replicas": self.num_replicas}

    def scope(self) -> contextlib.AbstractContextManager:
        return self.tf_strategy.scope()

    # ---- collectives ---------------------------------------------------------------------
    def all_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum a float vector over the workers (each worker counted once)."""
        values = np.asarray(values, dtype=np.float64)
        if self.num_workers == 1:
            return values
        tf = tensorflow()
        local = self.local_replicas

        def value(ctx):
            first = ctx.replica_id_in_sync_group % local == 0
            return tf.constant(values if first else np.zeros_like(values))

        per_replica = self.tf_strategy.experimental_distribute_values_from_function(value)
        summed = self.tf_strategy.run(
            lambda v: tf.distribute.get_replica_context().all_reduce("sum", v),
            args=(per_replica,))
        return self.tf_strategy.experimental_local_results(summed)[0].numpy()

    def barrier(self) -> None:
        """Wait until every worker gets here."""
        if self.num_workers > 1:
            self.all_sum(np.zeros(1))


@register("tf-single")
class TfSingle(KerasStrategy):
    """One process on its first GPU, else the CPU."""

    def _create(self, tf: Any) -> Any:
        self._refuse_several_processes()
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


@register("mirrored")
class Mirrored(KerasStrategy):
    """One process, every local GPU (or the CPU), gradients summed in memory."""

    def _create(self, tf: Any) -> Any:
        self._refuse_several_processes()
        return tf.distribute.MirroredStrategy()


@register("multiworker")
class MultiWorker(KerasStrategy):
    """Several processes (torchrun or SLURM tasks), collective all-reduce (NCCL or ring)."""

    task_layouts = ("torchrun", "per-task")

    def _create(self, tf: Any) -> Any:
        config = tf_config(self.env)
        if config:
            os.environ["TF_CONFIG"] = json.dumps(config)
        comm = tf.distribute.experimental.CommunicationImplementation
        gpus = tf.config.get_visible_devices("GPU")
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=comm.NCCL if gpus else comm.RING)
        self._config = config
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)

    @property
    def num_workers(self) -> int:
        return len(self._config.get("cluster", {}).get("worker", [])) or 1

    @property
    def worker_index(self) -> int:
        return int(self._config.get("task", {}).get("index", 0)) if self._config else 0
