"""TF_CONFIG for MultiWorkerMirroredStrategy, built in one place from how dte launched us.

torchrun (one node, or one torchrun per SLURM node) and SLURM tasks (one task per worker) are
read by `dte_core.env.detect`; this module turns that layout into the worker list TensorFlow
wants. Every process computes the same list without talking to the others: workers are ordered
by node (SLURM's node list) and by local rank, and each listens on MASTER_PORT + 1 + local rank.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from dte_core.env import ClusterEnv, expand_hostlist, tasks_per_node
from dte_core.errors import ConfigError


def tf_config(env: ClusterEnv, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The TF_CONFIG of this process (empty for one process; an existing TF_CONFIG wins)."""
    environ = os.environ if environ is None else environ
    if environ.get("TF_CONFIG"):
        try:
            return json.loads(environ["TF_CONFIG"])
        except ValueError:
            raise ConfigError(f"TF_CONFIG is set but is not JSON: {environ['TF_CONFIG']!r}. "
                              f"Unset it to let dte derive it from the launcher.") from None
    if not env.distributed:
        return {}
    base = env.master_port + 1
    if env.local_world_size == env.world_size:  # every worker on this node
        workers = [f"{env.master_addr}:{base + i}" for i in range(env.world_size)]
        return _config(workers, env.rank)
    nodelist = environ.get("SLURM_JOB_NODELIST") or environ.get("SLURM_NODELIST")
    if not nodelist:
        raise ConfigError(
            f"multiworker over {env.world_size} processes on several nodes needs the host of "
            f"every worker: run under SLURM (SLURM_JOB_NODELIST), or export TF_CONFIG yourself "
            f"(https://www.tensorflow.org/guide/distributed_training#setting_up_the_tf_config_"
            f"environment_variable).")
    nodes = expand_hostlist(nodelist)
    if env.launcher == "slurm":  # one task per worker, block distribution over the nodes
        counts = tasks_per_node(environ.get("SLURM_TASKS_PER_NODE", "")) \
            if environ.get("SLURM_TASKS_PER_NODE") else [env.local_world_size] * len(nodes)
        index = env.rank
    else:  # one torchrun per node: order by SLURM's node id, not torchrun's group rank
        counts = [env.local_world_size] * len(nodes)
        node = int(environ.get("SLURM_NODEID", env.node_rank))
        index = node * env.local_world_size + env.local_rank
    workers = [f"{host}:{base + i}" for host, n in zip(nodes, counts, strict=False)
               for i in range(n)]
    if len(workers) != env.world_size:
        raise ConfigError(
            f"The SLURM layout ({len(nodes)} node(s) {nodes}, tasks per node {counts}) gives "
            f"{len(workers)} workers, but the launcher reports WORLD_SIZE={env.world_size}. "
            f"Launch one task per worker or one torchrun per node.")
    return _config(workers, index)


def _config(workers: list[str], index: int) -> dict[str, Any]:
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
