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

    def task(self, config):
        from dte_toy_science.task import ToyTask

        return ToyTask(config)


science = Toy()
