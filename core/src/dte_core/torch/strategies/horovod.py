"""Horovod data parallelism for torch: a distributed optimizer per task optimizer.

Workers start under `horovodrun` (locally: `dte train ... --strategy horovod --procs N`) or as
one scheduler task each (SLURM `per-task`, or mpirun of a Horovod built without MPI): then
rank 0 serves Horovod's gloo rendezvous on the run's rendezvous port itself.

Gradients are averaged by `hvd.DistributedOptimizer`: each parameter's allreduce starts from
a backward hook while the rest of the backward pass runs. Like DDP here, every backward of a
micro-batch that ends an accumulation window is reduced, and the micro-batches before it
accumulate locally (`no_sync`); `backward` waits for the reductions, so gradient clipping,
gradient scaling and a task's several losses (the GAN pattern) all see averaged gradients.

Horovod is not on PyPI for torch 2.x: `bash scripts/build-horovod.sh` builds and installs it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from types import MethodType, ModuleType, SimpleNamespace
from typing import Any

from dte_core.errors import ConfigError, MissingDependencyError
from dte_core.optional import require
from dte_core.strategies import register
from dte_core.torch.strategies.base import Strategy

BUILD = "bash scripts/build-horovod.sh"
#: backward passes per step while accumulating: never reached, so the hooks only count
LOCAL_ONLY = 1 << 30


def engine() -> ModuleType:
    """`horovod.torch`, or an error that names the build step."""
    try:
        return require("horovod.torch", extra="horovod")
    except MissingDependencyError as exc:
        cause = exc.__cause__
        raise MissingDependencyError(
            f"The horovod strategy needs Horovod built for this torch, and `import "
            f"horovod.torch` fails ({cause}). PyPI has no Horovod wheel for torch 2.x: build "
            f"and install it with `{BUILD}` from the dte repository (about 4 minutes on 2 "
            f"cores, cached afterwards), or use --strategy ddp."
        ) from cause


@register("horovod")
class Horovod(Strategy):
    """Replicated model; Horovod's distributed optimizers average the gradients."""

    launcher = "horovodrun"
    task_layout = "per-task"
    task_layouts = ("per-task",)

    def __init__(self, env: Any, train: Any = None) -> None:
        super().__init__(env, train)
        self.hvd: Any = None
        self.optimizers: dict[str, Any] = {}
        self._accumulating = False
        self._rendezvous: Any = None

    # ---- process group ---------------------------------------------------------------------
    def setup(self) -> None:
        import torch

        hvd = engine()
        if self.env.distributed and self.env.launcher != "horovod":
            self._serve_rendezvous()
        hvd.init()
        if (hvd.size(), hvd.rank()) != (self.world_size, self.rank):
            raise ConfigError(
                f"Horovod sees rank {hvd.rank()} of {hvd.size()}, the launch says rank "
                f"{self.rank} of {self.world_size}: start the workers with horovodrun (dte "
                f"train --strategy horovod --procs N does) or one SLURM task each.")
        self.hvd = hvd
        if torch.cuda.is_available():
            if not hvd.cuda_built():
                raise ConfigError(
                    f"This Horovod was built without GPU support, so it cannot reduce CUDA "
                    f"tensors. Rebuild it with `DTE_HOROVOD_REBUILD=1 HOROVOD_GPU_OPERATIONS=NCCL "
                    f"{BUILD}` (needs the CUDA toolkit and NCCL), or use --strategy ddp.")
            self.device = torch.device("cuda", hvd.local_rank())
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
            if "OMP_NUM_THREADS" not in os.environ:
                # horovodrun, unlike torchrun, leaves every worker all the cores: with several
                # workers per node the threads oversubscribe them (5x slower on 2 cores here)
                cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
                    else os.cpu_count() or 1
                torch.set_num_threads(max(1, cores // hvd.local_size()))

    def _serve_rendezvous(self) -> None:
        """Horovod's gloo variables for a launch without horovodrun (srun, mpirun).

        Rank r runs on node r // L as local rank r % L (L processes per node, SLURM's block
        distribution); rank 0 serves the rendezvous on the run's rendezvous address and port."""
        env = self.env
        per_node = env.local_world_size
        if per_node < 1 or env.world_size % per_node:
            raise ConfigError(f"{env.world_size} processes do not split into nodes of "
                              f"{per_node}: Horovod needs the same number of tasks per node.")
        nodes = env.world_size // per_node
        values = {
            "HOROVOD_GLOO_RENDEZVOUS_ADDR": env.master_addr,
            "HOROVOD_GLOO_RENDEZVOUS_PORT": str(env.master_port),
            "HOROVOD_CONTROLLER": "gloo", "HOROVOD_CPU_OPERATIONS": "gloo",
            "HOROVOD_HOSTNAME": f"node{env.rank // per_node}",
            "HOROVOD_RANK": str(env.rank), "HOROVOD_SIZE": str(env.world_size),
            "HOROVOD_LOCAL_RANK": str(env.rank % per_node),
            "HOROVOD_LOCAL_SIZE": str(per_node),
            "HOROVOD_CROSS_RANK": str(env.rank // per_node), "HOROVOD_CROSS_SIZE": str(nodes),
        }
        iface = os.environ.get("GLOO_SOCKET_IFNAME")
        if iface:
            values["HOROVOD_GLOO_IFACE"] = iface
        os.environ.update(values)
        if env.rank == 0:
            from horovod.runner.http.http_server import RendezvousHandler, RendezvousHTTPServer

            server = RendezvousHTTPServer(("", env.master_port), RendezvousHandler, 0)
            server.init([SimpleNamespace(hostname=f"node{r // per_node}", rank=r,
                                         local_rank=r % per_node, cross_rank=r // per_node,
                                         size=env.world_size, local_size=per_node,
                                         cross_size=nodes)
                         for r in range(env.world_size)])
            threading.Thread(target=server.serve_forever, name="horovod-rendezvous",
                             daemon=True).start()
            self._rendezvous = server
        else:
            from dte_core.rendezvous import wait_until_open

            wait_until_open(env.master_addr, env.master_port)

    def teardown(self, clean: bool = True) -> None:
        if not clean:  # a peer may be gone: collectives could hang; the launcher cleans up
            return
        if self.hvd is not None and self.hvd.is_initialized():
            self.hvd.barrier()  # leave together, as the ddp strategy does
            self.hvd.shutdown()
        if self._rendezvous is not None:
            self._rendezvous.shutdown()
            self._rendezvous = None

    # ---- models and optimizers ----------------------------------------------------------------
    def wrap(self, model):
        return model.to(self.device)

    def prepare(self, models, optimization, accumulate, micro_batch=1):
        """Distributed optimizers in place of the task's, weights and state from rank 0."""
        hvd = self.hvd
        self.optimizers = {}  # a strategy reused for another fit (HPO trials) starts afresh
        names = {p: f"{model}.{name}" for model, module in models.items()
                 for name, p in self.unwrap(module).named_parameters()}
        if self.train is not None and getattr(self.train, "horovod_scale_lr", False):
            scale_learning_rates(optimization, self.world_size)
            if self.is_global_zero:
                print(f"horovod: learning rates x{self.world_size} (train.horovod_scale_lr)",
                      file=sys.stderr)
        for name, optimizer in list(optimization.optimizers.items()):
            named = [(names.get(p, f"{name}.param{i}.{j}"), p)
                     for i, group in enumerate(optimizer.param_groups)
                     for j, p in enumerate(group["params"])]
            distributed = hvd.DistributedOptimizer(optimizer, named_parameters=named,
                                                   backward_passes_per_step=1, op=hvd.Average)
            if optimizer.state_dict()["state"]:
                distributed.load_state_dict(optimizer.state_dict())
            _adapt(distributed)
            for scheduler in optimization.schedulers.values():
                if getattr(scheduler, "optimizer", None) is optimizer:
                    scheduler.optimizer = distributed
            optimization.optimizers[name] = distributed
            self.optimizers[name] = distributed
        if self.world_size > 1:
            for module in models.values():
                hvd.broadcast_parameters(self.unwrap(module).state_dict(), root_rank=0)
            for optimizer in self.optimizers.values():
                # A fresh optimizer has no state: Horovod would make some with a zero-gradient
                # step, which moves weights under weight decay; there is nothing to send then.
                if optimizer.state_dict()["state"]:
                    hvd.broadcast_optimizer_state(optimizer, root_rank=0)
        return models

    # ---- gradients ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self, models: Mapping[str, Any]) -> Iterator[None]:
        """Accumulate locally: the hooks count the backward passes but start no allreduce."""
        self._accumulating = True
        for optimizer in self.optimizers.values():
            optimizer.set_backward_passes_per_step(LOCAL_ONLY)
        try:
            yield
        finally:
            self._accumulating = False
            for optimizer in self.optimizers.values():
                optimizer.set_backward_passes_per_step(1)

    def backward(self, loss, name=None):
        loss.backward()
        if self._accumulating:
            return
        for optimizer in self.optimizers.values():
            if _started(optimizer):  # this backward started allreduces: wait for them all
                optimizer.synchronize()

    # ---- collectives ---------------------------------------------------------------------------
    def all_reduce(self, tensor, op: str = "sum"):
        hvd = self.hvd
        hvd.allreduce_(tensor, op=hvd.Max if op == "max" else hvd.Sum)
        return tensor

    def barrier(self) -> None:
        self.hvd.barrier()

    def broadcast_object(self, obj: Any) -> Any:
        return self.hvd.broadcast_object(obj, root_rank=0)


def scale_learning_rates(optimization: Any, factor: float) -> None:
    """Multiply every learning rate by `factor`, the schedulers' base rates included."""
    for optimizer in optimization.optimizers.values():
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * factor
            if "initial_lr" in group:
                group["initial_lr"] = group["initial_lr"] * factor
    for scheduler in optimization.schedulers.values():
        if hasattr(scheduler, "base_lrs"):
            scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]


def _started(optimizer: Any) -> bool:
    """Whether a backward hook of this Horovod optimizer has started an allreduce."""
    return any(handle is not None for handle, _ in optimizer._handles.values())


def _adapt(optimizer: Any) -> None:
    """Fit a Horovod optimizer (0.28.1) to the Trainer's step.

    `step()` no longer waits for reductions (`backward` did), `zero_grad` takes torch's
    `set_to_none`, and `step` is marked the way torch's schedulers mark it, so that a
    scheduler moved over from the task's optimizer keeps its call-order check."""
    import functools

    optimizer._should_synchronize = False
    base = type(optimizer).__mro__[1]  # the task's optimizer class

    def zero_grad(self, set_to_none: bool = True) -> None:
        if _started(self):
            self.synchronize()
        self._handles.clear()
        base.zero_grad(self, set_to_none=set_to_none)

    optimizer.zero_grad = MethodType(zero_grad, optimizer)
    step = optimizer.step

    @functools.wraps(step)
    def tracked_step(*args: Any, **kwargs: Any) -> Any:
        optimizer._opt_called = True
        return step(*args, **kwargs)

    tracked_step._wrapped_by_lr_sched = True  # type: ignore[attr-defined]
    optimizer.step = tracked_step
