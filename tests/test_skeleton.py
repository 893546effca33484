"""Every science has the same skeleton: the same modules, the same config sections, and old
configurations (`eval:` before it became `evaluate:`) keep loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dte_core import config as config_layer
from dte_core import sciences
from dte_core.errors import ConfigError
from dte_core.schemas import ScienceConfig, StrictModel
from dte_core.science import SKELETON
from support import dte, info, only_run

ROOT = Path(__file__).resolve().parents[1]
SCIENCES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())
#: module names the sciences used before the skeleton; none may come back
RETIRED = {"evaluation", "inference", "convert", "figures", "cache"}


def modules(science: str) -> set[str]:
    package = ROOT / "packages" / science / "src" / ("dte_" + science.replace("-", "_"))
    return {p.stem for p in package.glob("*.py")}


def test_there_are_three_sciences():
    assert SCIENCES == ["climate-cyclone", "hep-3dgan", "virgo-gw"]


@pytest.mark.parametrize("science", SCIENCES)
def test_every_science_has_the_skeleton_modules_and_none_of_the_old_names(science):
    found = modules(science)
    assert set(SKELETON) <= found, f"{science} lacks {sorted(set(SKELETON) - found)}"
    assert not found & RETIRED, f"{science} still has {sorted(found & RETIRED)}"


@pytest.mark.parametrize("science", SCIENCES)
def test_every_config_is_a_science_config_with_the_shared_sections(science):
    model = sciences.load(science).Config
    assert issubclass(model, ScienceConfig)
    for section in ("data", "model", "optim", "evaluate", "train", "tracking"):
        annotation = model.model_fields[section].annotation
        assert issubclass(annotation, StrictModel), (science, section)
    assert "eval" not in model.model_fields
    shown = yaml.safe_load(config_layer.to_yaml(model()))
    assert "evaluate" in shown and "eval" not in shown


def test_a_science_config_without_a_shared_section_is_refused_when_defined():
    with pytest.raises(TypeError, match="must declare the section.* evaluate"):
        class Partial(ScienceConfig):  # noqa: F841 - defining it is the test
            data: StrictModel = StrictModel()
            model: StrictModel = StrictModel()
            optim: StrictModel = StrictModel()


@pytest.mark.parametrize("science, key, value", [
    ("virgo-gw", "examples", 5), ("climate-cyclone", "threshold", 0.3),
    ("hep-3dgan", "events", 40)])
def test_an_old_file_with_eval_loads_into_evaluate(tmp_path, science, key, value):
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump({"eval": {key: value}, "train": {"epochs": 1}}))
    model = sciences.load(science).Config
    cfg = config_layer.resolve(model, old)
    assert getattr(cfg.evaluate, key) == value and cfg.train.epochs == 1
    defaults = model().evaluate.model_dump()
    assert {k: v for k, v in cfg.evaluate.model_dump().items() if k != key} == \
        {k: v for k, v in defaults.items() if k != key}  # the other keys keep their defaults
    assert getattr(config_layer.resolve(model, None, [f"eval.{key}={value}"]).evaluate,
                   key) == value


def test_a_bad_key_under_old_eval_is_named_under_evaluate(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text("eval:\n  exampels: 5\n")
    with pytest.raises(ConfigError, match=r"Unknown config key 'evaluate.exampels'.*"
                                          r"Did you mean 'evaluate.examples'"):
        config_layer.resolve(sciences.load("virgo-gw").Config, old)


def test_dte_config_show_reads_eval_prints_evaluate_and_notes_the_rename(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text("eval:\n  threshold: 0.3\n")
    result = dte("config", "show", "climate-cyclone", "--config", str(old), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(result.stdout)
    assert shown["evaluate"]["threshold"] == 0.3 and "eval" not in shown
    note = " ".join(result.stderr.split())
    assert "'eval:' is now called 'evaluate:'" in note and "Traceback" not in note


@pytest.mark.slow
def test_a_run_saved_with_eval_resumes(tmp_path):
    """A run whose config.yaml was written before the rename resumes and finishes."""
    sets = ["data.samples=8", "data.sample_rate=1024", "data.duration=1",
            "data.frequency_range=16,256", "data.q_range=8,8", "data.map_shape=16,16",
            "data.workers=1", "model.base_channels=4", "model.depth=2", "train.batch_size=4",
            "train.epochs=2", "train.max_steps=1", "tracking.mlflow=false"]
    flags = [f for s in sets for f in ("--set", s)]
    first = dte("train", "virgo-gw", *flags, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = only_run(tmp_path, "virgo-gw")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    saved["eval"] = saved.pop("evaluate")  # as dte wrote it before the rename
    saved["train"]["max_steps"] = 2
    (run / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    again = dte("train", "virgo-gw", "--resume", "latest", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    state = info(run)
    assert state["status"] == "finished" and len(state["resumes"]) == 1
    assert "'eval:' is now called 'evaluate:'" in " ".join(again.stderr.split())
