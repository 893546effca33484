"""The TensorFlow (Keras) engine behind dte_core.engine.Engine."""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dte_core import strategies
from dte_core.engine import Engine
from dte_core.env import ClusterEnv
from dte_core.errors import DteError


class KerasEngine(Engine):
    """TensorFlow: tf.distribute strategies, the KerasTrainer, .weights.h5 checkpoints."""

    framework = "tensorflow"
    extra = "tensorflow"
    export_formats = ("savedmodel",)

    # ---- training --------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, science: Any, config: Any, env: ClusterEnv,
                strategy: Any = None) -> Iterator[tuple[Any, Any]]:
        from dte_core.keras.task import KerasTask

        strategy = strategy or strategies.create(config.train.strategy, env, "tensorflow")
        task = science.task(config)
        if not isinstance(task, KerasTask):
            raise DteError(f"The science '{science.name}' is a TensorFlow science, but its "
                           f"task() gives a {type(task).__name__}, not a "
                           f"dte_core.keras.task.KerasTask.")
        task.prepare()  # data problems surface here, before TensorFlow starts
        with strategy.running():
            yield strategy, task

    def trainer(self, task: Any, config: Any, strategy: Any, logger: Any,
                checkpoint_dir: Path, science: str, log_every: int,
                callbacks: list | None) -> Any:
        from dte_core.keras.trainer import KerasTrainer

        return KerasTrainer(task, config, strategy, logger, checkpoint_dir, science,
                            log_every=log_every, callbacks=callbacks)

    def manifest(self, command: list[str] | None, env: ClusterEnv,
                 strategy: Any) -> dict[str, Any]:
        from dte_core.keras.runtime import keras, tensorflow
        from dte_core.rundir import provenance

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
        }, command, env)
        data["strategy"] = {"name": strategy.name, "replicas": strategy.num_replicas,
                            "workers": strategy.num_workers, "worker": strategy.worker_index}
        return data

    def tensorboard_sink(self, folder: Path) -> Any:
        from dte_core.keras.tensorboard import TfSummarySink

        return TfSummarySink(folder)

    @contextlib.contextmanager
    def trials(self, env: ClusterEnv) -> Iterator[tuple[Callable[..., Any], Callable]]:
        """One process per trial; each trial's graph is cleared before the next."""
        from dte_core.worker import fit_run

        if env.distributed:
            raise DteError("Trials of a TensorFlow science run in one process each; drop "
                           "--procs/--gpus from `dte tune` and use --workers for parallel "
                           "trials.")

        def fit(run_path: Path, **options: Any) -> Any:
            from dte_core.keras.runtime import keras

            try:
                return fit_run(run_path, **options)
            finally:
                keras().backend.clear_session()  # trials in one process must not pile up

        yield fit, lambda obj: obj

    def gpu_count(self) -> int:
        from dte_core.keras.runtime import tensorflow

        return len(tensorflow().config.list_physical_devices("GPU"))

    # ---- trained models ----------------------------------------------------------------------
    def load_checkpoint(self, science: Any, config: Any, checkpoint: Path,
                        device: str = "cpu") -> dict[str, Any]:
        from dte_core.keras import checkpoint as keras_checkpoint
        from dte_core.keras.runtime import keras

        keras_checkpoint.check(checkpoint)
        keras().utils.set_random_seed(config.train.seed)
        models = science.task(config).configure_models()
        keras_checkpoint.load_models(checkpoint, models)
        return models

    def save_weights(self, science: Any, config: Any, checkpoint: Path,
                     path: Path) -> list[str]:
        """Keras weights in model order, keyed `model/index:variable-path` (paths may repeat)."""
        import numpy as np
        from safetensors.numpy import save_file

        models = self.load_checkpoint(science, config, checkpoint)
        flat = {f"{name}/{i:05d}:{w.path}": np.ascontiguousarray(np.asarray(w))
                for name, model in models.items() for i, w in enumerate(model.weights)}
        save_file(flat, str(path))
        return sorted(models)

    def load_weights(self, models: dict[str, Any], path: Path, folder: Path,
                     device: str = "cpu") -> None:
        from safetensors.numpy import load_file

        flat = load_file(str(path))
        for name, model in models.items():
            saved = sorted((k, v) for k, v in flat.items() if k.startswith(name + "/"))
            weights = model.weights
            found = [k.split(":", 1)[1] for k, _ in saved]
            expected = [w.path for w in weights]
            if found != expected or any(tuple(v.shape) != tuple(w.shape)
                                        for (_, v), w in zip(saved, weights, strict=True)):
                raise DteError(f"The weights of '{name}' in the model package {folder} do not "
                               f"fit the model the installed science builds from the stored "
                               f"config ({len(saved)} saved vs {len(weights)} variables): the "
                               f"package was made with another architecture.")
            model.set_weights([v for _, v in saved])

    def infer(self, model: Any, arrays: tuple[Any, ...]) -> Any:
        import numpy as np

        out = model(*arrays, training=False)
        if isinstance(out, tuple | list):
            return tuple(np.asarray(o) for o in out)
        return np.asarray(out)

    def export(self, fmt: str, model: Any, arrays: tuple[Any, ...],
               target: Path) -> tuple[Any, Any]:
        """A TensorFlow SavedModel with a `serve` endpoint, reloaded without Keras and run."""
        import numpy as np

        from dte_core.keras.runtime import tensorflow

        tf = tensorflow()
        expected = model(*arrays, training=False)
        model.export(str(target), format="tf_saved_model", verbose=False)
        loaded = tf.saved_model.load(str(target))
        return np.asarray(expected), loaded.serve(*[tf.constant(a) for a in arrays]).numpy()
