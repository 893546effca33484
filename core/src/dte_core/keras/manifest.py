"""Provenance of a TensorFlow process (dte_core.rundir.manifest is the torch one)."""

from __future__ import annotations

import platform
from typing import Any

from dte_core import env as cluster_env
from dte_core.rundir import provenance


def manifest(command: list[str] | None = None, cluster: cluster_env.ClusterEnv | None = None,
             strategy: Any = None) -> dict[str, Any]:
    """Code, environment, hardware and launch of this process."""
    from dte_core.keras.runtime import keras, tensorflow

    tf = tensorflow()
    build = tf.sysconfig.get_build_info()
    gpus = tf.config.list_physical_devices("GPU")
    details = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
               for g in gpus]
    data = provenance({
        "framework": "tensorflow",
        "tensorflow": tf.__version__,
        "keras": keras().__version__,
        "cuda": build.get("cuda_version") if gpus else None,
        "devices": details or [platform.processor() or platform.machine()],
    }, command, cluster)
    if strategy is not None:
        data["strategy"] = {"name": strategy.name, "replicas": strategy.num_replicas,
                            "workers": strategy.num_workers, "worker": strategy.worker_index}
    return data
