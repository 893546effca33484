"""torch.distributed data parallelism: NCCL on CUDA, gloo on CPU."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from dte_core.strategies import register
from dte_core.torch.strategies.base import Strategy


@register("ddp")
class DistributedDataParallel(Strategy):
    """Replicated model, gradients averaged across processes after each backward."""

    timeout = timedelta(minutes=10)
    task_layouts = ("torchrun", "per-task")

    def setup(self) -> None:
        import torch
        import torch.distributed as dist

        cuda = torch.cuda.is_available()
        self.device = torch.device("cuda", self.env.local_rank) if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(self.device)
        if self.env.launcher in ("slurm", "mpi") and self.rank != 0:
            # No torchrun agent checked the rendezvous: fail in seconds if rank 0 is unreachable.
            from dte_core.rendezvous import wait_until_open

            wait_until_open(self.env.master_addr, self.env.master_port)
        if not dist.is_initialized():
            # torchrun sets these already (and serves the store); srun and mpirun do not.
            for name, value in (("RANK", self.rank), ("WORLD_SIZE", self.world_size),
                                ("LOCAL_RANK", self.env.local_rank),
                                ("MASTER_ADDR", self.env.master_addr),
                                ("MASTER_PORT", self.env.master_port)):
                os.environ.setdefault(name, str(value))
            dist.init_process_group("nccl" if cuda else "gloo", init_method="env://",
                                    rank=self.rank, world_size=self.world_size,
                                    timeout=self.timeout)

    def wrap(self, model):
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = model.to(self.device)
        if not any(p.requires_grad for p in model.parameters()):
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        wrapped = DDP(model, device_ids=ids)
        if self.train is not None and self.train.measure_comm:
            self._comm = getattr(self, "_comm", None) or _CommTimer()
            wrapped.register_comm_hook(self._comm, _timed_allreduce)
        return wrapped

    def comm_seconds(self) -> float | None:
        timer = getattr(self, "_comm", None)
        return None if timer is None else timer.take()

    def no_sync(self, models: Mapping[str, Any]):
        stack = contextlib.ExitStack()
        for model in models.values():
            if hasattr(model, "no_sync"):
                stack.enter_context(model.no_sync())
        return stack

    def all_reduce(self, tensor, op: str = "sum"):
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
        return tensor

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def broadcast_object(self, obj: Any) -> Any:
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def teardown(self, clean: bool = True) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            if clean:
                # Leave together: a rank destroying its group while a peer still talks to it
                # can abort the peer at exit ("terminate called without an active exception").
                dist.barrier()
            dist.destroy_process_group()


class _CommTimer:
    """Seconds spent in the blocking all-reduce of gradient buckets."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


def _timed_allreduce(timer: _CommTimer, bucket):
    """DDP comm hook: average one gradient bucket, blocking, and time it."""
    import torch
    import torch.distributed as dist

    tensor = bucket.buffer()
    start = time.perf_counter()
    tensor.div_(dist.get_world_size())
    dist.all_reduce(tensor)
    timer.seconds += time.perf_counter() - start
    done = torch.futures.Future()
    done.set_result(tensor)
    return done
