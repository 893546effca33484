"""TensorBoard sink of the TensorFlow path: tf.summary event files (no torch involved)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dte_core.tracking import Sink


class TfSummarySink(Sink):
    """Scalars for every logged metric under the run's `tensorboard/`."""

    def __init__(self, log_dir: Path) -> None:
        from dte_core.keras.runtime import tensorflow

        self.tf = tensorflow()
        self.writer = self.tf.summary.create_file_writer(str(log_dir))

    def log(self, metrics: Mapping[str, float], step: int, epoch: int) -> None:
        with self.writer.as_default():
            for key, value in metrics.items():
                self.tf.summary.scalar(key, value, step=step)
        self.writer.flush()

    def finish(self, status: str) -> None:
        self.writer.close()
