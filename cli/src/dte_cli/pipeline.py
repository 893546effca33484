"""`dte pipeline export`: a science's data -> train -> evaluate -> register as a KFP v2 pipeline.

No postponed annotations here: kfp reads the pipeline function's annotations as types."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dte_core.errors import ConfigError, MissingDependencyError

#: an OCI image reference: [registry[:port]/]path[:tag][@sha256:digest]
IMAGE = re.compile(r"^(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*"
                   r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$")
DEFAULT_BASE = "python:3.11-slim"


@dataclass(frozen=True)
class Resources:
    """What the training step asks Kubernetes for, as `dte train` asks a host: workers or
    GPUs, plus CPU and memory."""

    procs: int = 1
    gpus: int = 0
    cpu: str | None = None
    memory: str | None = None


def require_kfp() -> None:
    try:
        import kfp  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "Exporting a Kubeflow pipeline needs the kfp SDK, which is not installed here. "
            "Install it with: pip install \"dte-cli[pipeline]\"") from None


def check_image(image: str) -> None:
    if not IMAGE.match(image):
        raise ConfigError(
            f"--image {image!r} is not a container image reference. Give one like "
            f"registry.example.org/group/dte-virgo-gw:0.2.0 (lowercase path, optional :tag or "
            f"@sha256:digest), built with the science installed.")


def build(science: Any, config_yaml: str, tracking_uri: str, image: str | None,
          resources: Resources) -> Any:
    """The pipeline function of `science` (components built on `image`, or on a plain Python
    image that installs the science's distribution at its version)."""
    from kfp import dsl

    from dte_cli import pipeline_steps as steps

    if image is not None:
        check_image(image)
        options = {"base_image": image, "packages_to_install": [],
                   "install_kfp_package": False}
    else:
        options = {"base_image": DEFAULT_BASE,
                   "packages_to_install": [f"{science.distribution}=={science.version}"]}
    generate, train, evaluate, register = (
        dsl.component(func=f, **options) for f in
        (steps.generate_data, steps.train_model, steps.evaluate_model, steps.register_model))

    @dsl.pipeline(name=f"dte-{science.name}",
                  description=f"dte {science.name}: generate data, train, evaluate, register.")
    def pipeline(model_name: str = science.name, alias: str = "candidate",
                 tracking_uri: str = tracking_uri) -> str:
        data = generate(science=science.name, config_yaml=config_yaml).set_display_name("data")
        trained = train(science=science.name, config_yaml=config_yaml, procs=resources.procs,
                        gpus=resources.gpus, tracking_uri=tracking_uri,
                        dataset=data.outputs["dataset"]).set_display_name("train")
        if resources.gpus:
            trained.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(resources.gpus)
        if resources.cpu:
            trained.set_cpu_request(resources.cpu).set_cpu_limit(resources.cpu)
        if resources.memory:
            trained.set_memory_request(resources.memory).set_memory_limit(resources.memory)
        scored = evaluate(science=science.name, model=trained.outputs["model"]
                          ).set_display_name("evaluate")
        registered = register(science=science.name, model_name=model_name, alias=alias,
                              tracking_uri=tracking_uri, model=trained.outputs["model"]
                              ).set_display_name("register").after(scored)
        return registered.output

    return pipeline


def export(science: Any, config_yaml: str, tracking_uri: str, image: str | None,
           resources: Resources, out: Path) -> Path:
    """Compile the pipeline to `out` (written whole or not at all)."""
    require_kfp()
    for verb in ("generate", "train", "evaluate"):
        if verb not in science.capabilities():
            raise science.not_supported(verb, f"`{verb}`, a step of the pipeline")
    from kfp import compiler

    pipeline = build(science, config_yaml, tracking_uri, image, resources)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial.yaml")
    try:
        compiler.Compiler().compile(pipeline, str(tmp))
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
