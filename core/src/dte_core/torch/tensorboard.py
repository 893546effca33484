"""TensorBoard sink: event files under the run directory's `tensorboard/`."""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from pathlib import Path

from dte_core.optional import require
from dte_core.tracking import Sink


class TensorBoardSink(Sink):
    """Scalars for every logged metric."""

    def __init__(self, log_dir: Path) -> None:
        require("tensorboard", extra="tensorboard")
        # TensorBoard imports TensorFlow when it is installed; in a torch process that loads a
        # second LLVM and aborts. Its own switch, the module `tensorboard.compat.notf`, makes it
        # use the TF-free stub that torch's writer needs.
        sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("notf"))
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def log(self, metrics: Mapping[str, float], step: int, epoch: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)

    def finish(self, status: str) -> None:
        self.writer.close()
