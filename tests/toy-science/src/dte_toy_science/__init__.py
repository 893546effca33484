"""A tiny regression science for dte's tests: seconds to train, every engine feature reachable."""

from dte_core.science import Science


class Toy(Science):
    """Noisy linear-plus-tanh regression with an MLP."""

    name = "toy"
    distribution = "dte-toy-science"
    framework = "torch"
    summary = "Test-only regression science (not shipped)"
    contract = 2

    def config_class(self):
        from dte_toy_science.task import ToyConfig

        return ToyConfig

    def input_example(self, config):
        from dte_toy_science.task import ToyDataset

        x = ToyDataset(4, config.data.features, 2, 0.0).x
        if config.optim.optimizers == 2:
            return None
        return {"net": (x,)}

    def predict(self, config, models, output, inputs=None, options=None):
        import numpy as np
        import torch
        from dte_core.errors import ConfigError

        if inputs is None:
            raise ConfigError("toy predictions need --input FILE.npz with an array 'x'.")
        try:
            x = np.load(inputs)["x"]
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"--input {inputs} is not an .npz file with an array 'x' "
                              f"({exc}).") from None
        if x.ndim != 2 or x.shape[1] != config.data.features:
            raise ConfigError(f"--input {inputs}: 'x' has shape {x.shape}, the model takes "
                              f"(N, {config.data.features}).")
        with torch.no_grad():
            y = models["net"](torch.from_numpy(x.astype(np.float32))).numpy()
        np.savez(output, y=y)
        return output

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
