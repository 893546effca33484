"""The Engine interface: what the neutral layer asks of a framework (torch, TensorFlow), and the
registry that finds an engine by a science's `framework` name.

An engine package (`dte_core/torch/`, `dte_core/keras/`) implements it once; a third engine is a
new package and one line in ENGINES. Getting an engine imports only its small `engine` module;
the framework itself is imported by the methods that need it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from dte_core.env import ClusterEnv
    from dte_core.loop import EpochLoop
    from dte_core.science import Science
    from dte_core.tracking import Sink

@dataclass(frozen=True)
class Launch:
    """This node's share of a run's worker processes."""

    run_dir: Path
    checkpoint: Path | None
    procs: int  # workers on this node
    nnodes: int = 1
    node_rank: int = 0
    rdzv: str | None = None  # HOST:PORT of the first node, with several nodes
    rdzv_id: str = "dte"
    log_dir: Path | None = None
    advice: str = ""  # appended to the message naming a failed worker

    def worker_args(self) -> list[str]:
        """The python arguments of one worker."""
        args = ["-m", "dte_core.worker", str(self.run_dir)]
        return args + (["--checkpoint", str(self.checkpoint)] if self.checkpoint else [])


#: framework name -> (module, class, extra of dte-core that installs the framework)
ENGINES: dict[str, tuple[str, str, str]] = {
    "torch": ("dte_core.torch.engine", "TorchEngine", "torch"),
    "tensorflow": ("dte_core.keras.engine", "KerasEngine", "tensorflow"),
}


class Engine(ABC):
    """One framework: strategies, trainer, checkpoints, trained models, weights, exports."""

    framework: ClassVar[str]
    #: the dte-core extra that installs this framework (`pip install "dte-core[torch]"`)
    extra: ClassVar[str]
    #: `dte export` formats, the first is the default
    export_formats: ClassVar[tuple[str, ...]] = ()

    # ---- training --------------------------------------------------------------------------
    @abstractmethod
    def session(self, science: Science, config: Any, env: ClusterEnv,
                strategy: Any = None) -> contextlib.AbstractContextManager[tuple[Any, Any]]:
        """(strategy, task) of one fit: the strategy set up (or `strategy`, reused and kept)
        and the science's task checked; torn down on leaving."""

    @abstractmethod
    def trainer(self, task: Any, config: Any, strategy: Any, logger: Any,
                checkpoint_dir: Path, science: str, log_every: int,
                callbacks: list | None) -> EpochLoop:
        """The trainer that runs `task` under `strategy`."""

    @abstractmethod
    def manifest(self, command: list[str] | None, env: ClusterEnv,
                 strategy: Any) -> dict[str, Any]:
        """Provenance of this process: framework versions and devices around rundir's."""

    @abstractmethod
    def tensorboard_sink(self, folder: Path) -> Sink:
        """A TensorBoard sink written with this framework's own writer."""

    @abstractmethod
    def trials(self, env: ClusterEnv
               ) -> contextlib.AbstractContextManager[tuple[Callable[..., Any], Callable]]:
        """(fit, share) for a process that fits several HPO trials in a row: `fit(run_path,
        **options)` trains one trial's run, `share(obj)` gives rank 0's object to every rank;
        shared state (a process group, a graph) is released on leaving."""

    @abstractmethod
    def gpu_count(self) -> int:
        """GPUs this framework sees on this host."""

    def launcher(self, strategy: str) -> str:
        """What starts several local workers for `strategy`: the engine's own (`engine`), or a
        strategy's (`horovodrun`)."""
        return "engine"

    def launch_command(self, launch: Launch) -> list[str]:
        """The command that `launch` runs (for --dry-run and logs)."""
        command = [sys.executable, "-m", "dte_core.spawn", "--nproc-per-node",
                   str(launch.procs)]
        if launch.nnodes > 1:
            command += ["--nnodes", str(launch.nnodes), "--node-rank", str(launch.node_rank),
                        "--master", str(launch.rdzv)]
        return command + launch.worker_args()

    def launch(self, launch: Launch) -> int:
        """Start this node's workers and wait; 0, or 75/130 after a signal checkpoint. By
        default dte_core.spawn, which needs no framework."""
        from dte_core import spawn

        host, _, port = (launch.rdzv or "127.0.0.1:0").rpartition(":")
        return spawn.run(launch.worker_args(), launch.procs, launch.nnodes, launch.node_rank,
                         host, int(port) or None, launch.advice)

    # ---- trained models ----------------------------------------------------------------------
    @abstractmethod
    def load_checkpoint(self, science: Science, config: Any, checkpoint: Path,
                        device: str = "cpu") -> dict[str, Any]:
        """The science's models with the weights of a verified checkpoint, for inference."""

    @abstractmethod
    def save_weights(self, science: Science, config: Any, checkpoint: Path,
                     path: Path) -> list[str]:
        """A checkpoint's model weights as one safetensors file; the model names."""

    @abstractmethod
    def load_weights(self, models: dict[str, Any], path: Path, folder: Path,
                     device: str = "cpu") -> None:
        """Load what `save_weights` wrote into freshly built `models` (package `folder`)."""

    def export(self, fmt: str, model: Any, arrays: tuple[Any, ...],
               target: Path) -> tuple[Any, Any]:
        """Write `model` as `fmt` to `target`; (framework outputs, exported outputs)."""
        raise NotImplementedError(fmt)

    @abstractmethod
    def infer(self, model: Any, arrays: tuple[Any, ...]) -> Any:
        """`model`'s outputs on numpy `arrays` (positional inputs), as numpy arrays."""


def get(framework: str) -> Engine:
    """The engine of `framework`; a missing framework names its install command."""
    from dte_core.errors import DteError, MissingDependencyError

    if framework not in ENGINES:
        raise DteError(f"No dte engine for the framework '{framework}'; engines: "
                       f"{', '.join(ENGINES)}.")
    module, cls, extra = ENGINES[framework]
    if importlib.util.find_spec(framework) is None:  # cheap: the framework is not imported
        raise MissingDependencyError(
            f"This science runs on {framework}, which is not installed. Install it with: "
            f"pip install 'dte-core[{extra}]' and run the command again.")
    return getattr(importlib.import_module(module), cls)()


def of(science: Science) -> Engine:
    """The engine that trains `science`."""
    return get(science.framework)
