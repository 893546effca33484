"""The steps of a dte Kubeflow pipeline, as KFP lightweight components.

KFP sends each function's source to its container and reads its annotations, so this module
keeps real (not postponed) annotations and each function imports what it uses.
"""

from kfp.dsl import Dataset, Input, Metrics, Model, Output


def generate_data(science: str, config_yaml: str, dataset: Output[Dataset]):
    """Generate the science's dataset into the artifact folder."""
    import tempfile
    from pathlib import Path

    from dte import api

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(config_yaml)
        summary = api.generate(science, dataset.path, config=config, overwrite=True)
    dataset.metadata.update({"science": science,
                             **{k: v for k, v in summary.items() if isinstance(v, int | str)}})


def train_model(science: str, config_yaml: str, procs: int, gpus: int, tracking_uri: str,
                dataset: Input[Dataset], model: Output[Model]):
    """Train on the dataset; the run folder (checkpoints, metrics, config) is the artifact."""
    import tempfile
    from pathlib import Path

    from dte import api

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(config_yaml)
        sci, cfg = api.science_and_config(science, config, None)
        plan = api.plan_train(science, config=config, set=sci.dataset_path(cfg,
                                                                           Path(dataset.path)),
                              procs=procs if gpus == 0 else None, gpus=gpus or None,
                              tracking_uri=tracking_uri or None,
                              runs_dir=Path(model.path) / "runs")
        run, code = api.start(plan, ["dte-pipeline", "train", science])
    if run.status != "finished":
        raise RuntimeError(f"training ended {run.status} (exit {code}); see {run.path}")
    model.metadata.update({"science": science, "run_id": run.id})


def evaluate_model(science: str, model: Input[Model], metrics: Output[Metrics]):
    """The science's evaluation of the trained run, as KFP metrics."""
    from pathlib import Path

    from dte import api

    run = api.run(model.metadata["run_id"], science, Path(model.path) / "runs")
    for key, value in run.evaluate().items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics.log_metric(key, value)


def register_model(science: str, model_name: str, alias: str, tracking_uri: str,
                   model: Input[Model]) -> str:
    """Register the trained run; the `models:/NAME/VERSION` URI."""
    from pathlib import Path

    from dte import api

    run = api.run(model.metadata["run_id"], science, Path(model.path) / "runs")
    result = run.register(model_name, alias=[alias] if alias else [],
                          tracking_uri=tracking_uri or None)
    return f"models:/{model_name}/{result['version']}"
