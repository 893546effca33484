"""A tiny regression science for dte's tests: seconds to train, every engine feature reachable."""

from dte_core.science import Science


class Toy(Science):
    """Noisy linear-plus-tanh regression with an MLP."""

    name = "toy"
    distribution = "dte-toy-science"
    framework = "torch"
    summary = "Test-only regression science (not shipped)"

    def config_class(self):
        from dte_toy_science.task import ToyConfig

        return ToyConfig

    def search_space(self):
        return {"optim.lr": {"low": 1e-3, "high": 0.5, "log": True},
                "model.hidden": {"low": 4, "high": 32, "step": 4}}

    def task(self, config):
        from dte_toy_science.task import ToyTask

        return ToyTask(config)

    def generate(self, config, out):
        import numpy as np

        from dte_toy_science.task import ToyDataset

        data = ToyDataset(config.data.samples, config.data.features, 1, 0.0)
        np.savez(out / "toy.npz", x=data.x, y=data.y)
        return {"samples": len(data), "files": ["toy.npz"]}

    def evaluate(self, config, models, out):
        import torch

        from dte_toy_science.task import ToyDataset

        data = ToyDataset(config.data.val_samples or 8, config.data.features, 2, 0.0)
        with torch.no_grad():
            pred = models["net"](torch.from_numpy(data.x))
        mse = float(((pred - torch.from_numpy(data.y)) ** 2).mean())
        (out / "report.txt").write_text(f"mse {mse}\n")
        return {"mse": mse}


science = Toy()
