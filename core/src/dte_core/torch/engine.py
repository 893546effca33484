"""The torch engine behind dte_core.engine.Engine."""

from __future__ import annotations

import contextlib
import platform
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dte_core import strategies
from dte_core.checkpoint import verify
from dte_core.engine import Engine, Launch
from dte_core.env import ClusterEnv
from dte_core.errors import DteError


class TorchEngine(Engine):
    """PyTorch: the torch strategies, the Trainer, state.pt checkpoints, safetensors weights."""

    framework = "torch"
    extra = "torch"
    export_formats = ("onnx", "torchscript")

    # ---- training --------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, science: Any, config: Any, env: ClusterEnv,
                strategy: Any = None) -> Iterator[tuple[Any, Any]]:
        own = strategy is None
        if own:
            strategy = strategies.create(config.train.strategy, env, "torch", train=config.train)
            strategy.setup()
        try:
            yield strategy, science.task(config)
        except BaseException:
            if own:
                strategy.teardown(clean=False)
            raise
        if own:
            strategy.teardown(clean=True)

    def trainer(self, task: Any, config: Any, strategy: Any, logger: Any,
                checkpoint_dir: Path, science: str, log_every: int,
                callbacks: list | None) -> Any:
        from dte_core.torch.trainer import Trainer

        return Trainer(task, config, strategy, logger, checkpoint_dir, science,
                       log_every=log_every, callbacks=callbacks)

    def manifest(self, command: list[str] | None, env: ClusterEnv,
                 strategy: Any) -> dict[str, Any]:
        import torch

        from dte_core.rundir import provenance

        cuda = torch.cuda.is_available()
        return provenance({
            "torch": torch.__version__,
            "cuda": torch.version.cuda if cuda else None,
            "devices": ([torch.cuda.get_device_name(i)
                         for i in range(torch.cuda.device_count())]
                        if cuda else [platform.processor() or platform.machine()]),
        }, command, env)

    def tensorboard_sink(self, folder: Path) -> Any:
        from dte_core.torch.tensorboard import TensorBoardSink

        return TensorBoardSink(folder)

    @contextlib.contextmanager
    def trials(self, env: ClusterEnv) -> Iterator[tuple[Callable[..., Any], Callable]]:
        """Trials share one process group (ddp over the launch, else single)."""
        from functools import partial

        from dte_core.worker import fit_run

        strategy = strategies.create("ddp" if env.distributed else "single", env, "torch")
        strategy.setup()
        try:
            yield partial(fit_run, strategy=strategy), strategy.broadcast_object
        except BaseException:
            strategy.teardown(clean=False)
            raise
        strategy.teardown(clean=True)

    def gpu_count(self) -> int:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0

    def launcher(self, strategy: str) -> str:
        try:
            cls = strategies.strategy_class(strategy, "torch", distributed=True)
        except ImportError:  # the engine is missing: the worker names the install command
            return "engine"
        return "engine" if cls.launcher == "torchrun" else cls.launcher

    def launch_command(self, launch: Launch) -> list[str]:
        from dte_core.torch import torchrun

        return [sys.executable, "-m", "torch.distributed.run", *torchrun.args(launch)]

    def launch(self, launch: Launch) -> int:
        from dte_core.torch import torchrun

        return torchrun.run(torchrun.args(launch), launch.procs, launch.nnodes * launch.procs,
                            launch.advice)

    # ---- trained models ----------------------------------------------------------------------
    def load_checkpoint(self, science: Any, config: Any, checkpoint: Path,
                        device: str = "cpu") -> dict[str, Any]:
        import torch

        verify(checkpoint)
        states = torch.load(checkpoint / "state.pt", map_location=device, weights_only=True)
        models = science.task(config).configure_models()
        saved = states.get("models", {})
        for name, model in models.items():
            if name not in saved:
                raise DteError(f"Checkpoint '{checkpoint}' has no weights for the model "
                               f"'{name}' (it has: {', '.join(saved)}).")
            model.load_state_dict(saved[name])
            model.to(device).eval()
        return models

    def save_weights(self, science: Any, config: Any, checkpoint: Path,
                     path: Path) -> list[str]:
        import torch
        from safetensors.torch import save_file

        states = torch.load(checkpoint / "state.pt", map_location="cpu", weights_only=True)
        flat = {f"{model}/{key}": tensor.detach().contiguous().clone()
                for model, state in states["models"].items() for key, tensor in state.items()}
        save_file(flat, str(path))
        return sorted(states["models"])

    def load_weights(self, models: dict[str, Any], path: Path, folder: Path,
                     device: str = "cpu") -> None:
        from safetensors.torch import load_file

        flat = load_file(str(path), device=device)
        for name, model in models.items():
            state = {k.split("/", 1)[1]: v for k, v in flat.items() if k.startswith(name + "/")}
            if not state:
                have = sorted({k.split("/", 1)[0] for k in flat})
                raise DteError(f"The model package {folder} has no weights for '{name}' (it "
                               f"has: {', '.join(have)}).")
            model.load_state_dict(state)
            model.to(device).eval()

    def infer(self, model: Any, arrays: tuple[Any, ...]) -> Any:
        import torch

        device = next(model.parameters(), torch.empty(0)).device
        with torch.no_grad():
            out = model(*[torch.as_tensor(a, device=device) for a in arrays])
        if isinstance(out, tuple | list):
            return tuple(o.detach().cpu().numpy() for o in out)
        return out.detach().cpu().numpy()

    def export(self, fmt: str, model: Any, arrays: tuple[Any, ...],
               target: Path) -> tuple[Any, Any]:
        from dte_core.torch import export

        return {"onnx": export.onnx, "torchscript": export.torchscript}[fmt](
            model, arrays, target)
