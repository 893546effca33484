"""Provenance of a TensorFlow process (dte_core.rundir.manifest is the torch one)."""

from __future__ import annotations

import hashlib
import platform
import shlex
import socket
import sys
from typing import Any

from dte_core import env as cluster_env
from dte_core.rundir import _find_upwards, _git, _now


def manifest(command: list[str] | None = None, cluster: cluster_env.ClusterEnv | None = None,
             strategy: Any = None) -> dict[str, Any]:
    """Code, environment, hardware and launch of this process."""
    from dte_core.keras.runtime import keras, tensorflow

    tf = tensorflow()
    lock = _find_upwards("uv.lock")
    commit = _git("rev-parse", "HEAD")
    build = tf.sysconfig.get_build_info()
    gpus = tf.config.list_physical_devices("GPU")
    details = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
               for g in gpus]
    data: dict[str, Any] = {
        "created": _now(),
        "command": shlex.join(command or sys.argv),
        "git": {"commit": commit,
                "dirty": bool(_git("status", "--porcelain")) if commit else None},
        "uv_lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest() if lock else None,
        "python": platform.python_version(),
        "framework": "tensorflow",
        "tensorflow": tf.__version__,
        "keras": keras().__version__,
        "cuda": build.get("cuda_version") if gpus else None,
        "devices": details or [platform.processor() or platform.machine()],
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cluster": (cluster or cluster_env.detect()).as_dict(),
        "launch_variables": cluster_env.recorded_variables(),
    }
    if strategy is not None:
        data["strategy"] = {"name": strategy.name, "replicas": strategy.num_replicas,
                            "workers": strategy.num_workers, "worker": strategy.worker_index}
    return data
