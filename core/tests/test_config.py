"""Layered configuration: order of layers, schema-driven coercion and the error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from dte_core.config import resolve, schema_rows, to_yaml
from dte_core.errors import ConfigError
from dte_core.schemas import StrictModel
from pydantic import Field


class Inner(StrictModel):
    epochs: int = Field(2, ge=1)
    """Passes over the data."""
    lr: float = 1e-3
    """Learning rate."""
    shuffle: bool = True
    """Shuffle each epoch."""
    layers: list[int] = [8, 8]
    """Widths of the hidden layers."""
    band: tuple[float, float] = (8.0, 500.0)
    """Frequency band."""
    name: str = "run"
    """A free-text name."""
    path: Path | None = None
    """Optional input path."""
    mode: Literal["min", "max"] = "min"
    """Direction."""


class Root(StrictModel):
    train: Inner = Inner()
    """Training."""
    seed: int = 0
    """Seed."""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_defaults_then_file_then_overrides(tmp_path):
    cfg = resolve(Root, write(tmp_path, "train:\n  epochs: 5\n  lr: 0.1\nseed: 3\n"),
                  ["train.epochs=7"])
    assert (cfg.train.epochs, cfg.train.lr, cfg.seed) == (7, 0.1, 3)
    assert cfg.train.layers == [8, 8]  # untouched defaults survive a partial section


def test_later_overrides_win():
    assert resolve(Root, None, ["seed=1", "seed=2"]).seed == 2


@pytest.mark.parametrize(("item", "attr", "expected"), [
    ("train.lr=1e-4", "lr", 1e-4),
    ("train.shuffle=false", "shuffle", False),
    ("train.layers=16,32,64", "layers", [16, 32, 64]),
    ("train.layers=[4, 2]", "layers", [4, 2]),
    ("train.layers=", "layers", []),
    ("train.band=10,400", "band", (10.0, 400.0)),
    ("train.name=123", "name", "123"),
    ("train.name=null", "name", "null"),  # a plain str field keeps the text
    ("train.path=null", "path", None),
    ("train.path=data/x.h5", "path", Path("data/x.h5")),
    ("train.mode=max", "mode", "max"),
])
def test_set_coerces_by_schema(item, attr, expected):
    assert getattr(resolve(Root, None, [item]).train, attr) == expected


def test_unknown_key_names_the_closest_and_the_allowed(tmp_path):
    with pytest.raises(ConfigError) as err:
        resolve(Root, None, ["train.epoch=3"])
    msg = str(err.value)
    assert "'train.epoch'" in msg and "Did you mean 'train.epochs'" in msg
    assert "epochs, lr, shuffle" in msg


def test_unknown_key_in_file_names_the_file(tmp_path):
    path = write(tmp_path, "train:\n  lrr: 0.1\n")
    with pytest.raises(ConfigError) as err:
        resolve(Root, path)
    assert "'train.lrr'" in str(err.value) and str(path) in str(err.value)
    assert "Did you mean 'train.lr'" in str(err.value)


def test_key_below_a_value_is_an_error():
    with pytest.raises(ConfigError, match="'seed' is a value, not a section"):
        resolve(Root, None, ["seed.x=1"])


def test_wrong_type_names_key_value_and_type():
    with pytest.raises(ConfigError) as err:
        resolve(Root, None, ["train.epochs=many"])
    msg = str(err.value)
    assert "'many'" in msg and "'train.epochs'" in msg and "Expected: int" in msg
    assert "--set train.epochs=many" in msg


def test_constraint_violation_is_reported():
    with pytest.raises(ConfigError, match="greater than or equal to 1"):
        resolve(Root, None, ["train.epochs=0"])


def test_unknown_strategy_is_refused_with_the_registered_ones():
    from dte_core.schemas import TrainConfig

    class WithTrain(StrictModel):
        train: TrainConfig = TrainConfig()

    with pytest.raises(ConfigError, match="Unknown strategy 'nccl-magic'; registered strategies: "
                                          "auto, single, ddp"):
        resolve(WithTrain, None, ["train.strategy=nccl-magic"])
    assert resolve(WithTrain, None, ["train.strategy=ddp"]).train.strategy == "ddp"


def test_set_without_equals():
    with pytest.raises(ConfigError, match="has no '='"):
        resolve(Root, None, ["train.epochs"])


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(Root, tmp_path / "missing.yaml")


def test_malformed_yaml_gives_line_and_column(tmp_path):
    path = write(tmp_path, "train:\n  epochs: 3\n   lr: [1,\n")
    with pytest.raises(ConfigError) as err:
        resolve(Root, path)
    assert f"{path}, line 3, column" in str(err.value)


def test_yaml_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="top level is a list"):
        resolve(Root, write(tmp_path, "- 1\n- 2\n"))


def test_empty_file_means_defaults(tmp_path):
    assert resolve(Root, write(tmp_path, "")) == Root()


def test_yaml_round_trip(tmp_path):
    cfg = resolve(Root, None, ["train.lr=0.5", "train.path=x"])
    assert resolve(Root, write(tmp_path, to_yaml(cfg))) == cfg


def test_schema_lists_every_leaf_with_type_default_and_help():
    rows = {row[0]: row for row in schema_rows(Root)}
    assert rows["train.epochs"] == ("train.epochs", "int", "2", "Passes over the data.")
    assert rows["train.mode"][1] == "'min' | 'max'"
    assert rows["train.path"][1:3] == ("Path | null", "null")
    assert rows["train.band"][1] == "tuple[float, float]"
    assert "train" not in rows


class Tuned(StrictModel):
    train: Inner = Inner(epochs=9, name="science-default")
    """A section whose defaults the science changed."""


def test_partial_override_keeps_the_sciences_section_defaults(tmp_path):
    cfg = resolve(Tuned, write(tmp_path, "train:\n  lr: 0.5\n"), ["train.shuffle=false"])
    assert (cfg.train.epochs, cfg.train.name, cfg.train.lr) == (9, "science-default", 0.5)


@pytest.mark.parametrize(("override", "words"), [
    ("train.lr=.inf", ["train.lr", "finite"]),
    ("train.lr=nan", ["train.lr", "finite"]),
    ("train.lr=1e308", ["train.lr", "float32"]),
    ("train.band=[1, 1e39]", ["train.band", "float32"]),
])
def test_non_finite_and_overflowing_floats_are_refused_naming_the_key(override, words):
    with pytest.raises(ConfigError) as err:
        resolve(Root, overrides=[override])
    assert all(w in str(err.value) for w in words), err.value


def test_numbers_written_as_1e3_are_numbers():
    assert resolve(Root, overrides=["train.lr=1e-4"]).train.lr == 1e-4


def test_seed_epochs_and_steps_bounds():
    from dte_core.schemas import TrainConfig

    with pytest.raises(ValueError, match="greater than or equal to 0"):
        TrainConfig(seed=-1)
    with pytest.raises(ValueError, match="upper bound 1,000,000"):
        TrainConfig.model_validate({"epochs": 1e23})
    with pytest.raises(ValueError, match="upper bound"):
        TrainConfig.model_validate({"max_steps": 1e30})


def test_duplicate_yaml_keys_are_refused_naming_key_and_lines(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 3\n  lr: 0.1\n  epochs: 5\n")
    with pytest.raises(ConfigError) as err:
        resolve(Root, path)
    assert "'epochs' twice" in str(err.value) and "lines 2 and 4" in str(err.value)
