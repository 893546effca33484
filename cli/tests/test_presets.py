"""Presets: YAML files a science ships, layered between its defaults and --config."""

from __future__ import annotations

import json

import yaml


def test_presets_are_listed_with_what_they_set(dte):
    listed = json.loads(dte("config", "presets", "toy", "--json").stdout)
    assert [p["name"] for p in listed] == ["wide"]
    assert listed[0]["summary"].startswith("A wider network")
    assert set(listed[0]["keys"]) == {"model.hidden", "train.epochs"}
    table = dte("config", "presets", "toy")
    assert table.returncode == 0 and "wide" in table.stdout and "model.hidden" in table.stdout


def test_preset_sits_between_defaults_and_config_file(dte, tmp_path):
    plain = yaml.safe_load(dte("config", "show", "toy").stdout)
    wide = yaml.safe_load(dte("config", "show", "toy", "--preset", "wide").stdout)
    assert (wide["model"]["hidden"], wide["train"]["epochs"]) == (64, 5)
    assert wide["optim"] == plain["optim"]  # keys the preset does not set keep the defaults
    path = tmp_path / "mine.yaml"
    path.write_text("train:\n  epochs: 2\n")
    layered = yaml.safe_load(dte("config", "show", "toy", "--preset", "wide", "--config",
                                 str(path), "--set", "model.hidden=8").stdout)
    assert (layered["model"]["hidden"], layered["train"]["epochs"]) == (8, 2)


def test_unknown_preset_names_the_ones_there_are(dte):
    result = dte("config", "show", "toy", "--preset", "wdie")
    assert result.returncode == 2
    assert "Did you mean 'wide'?" in result.stderr and "dte config presets toy" in result.stderr
    none = dte("config", "presets", "virgo-gw", "--json")
    assert none.returncode == 0


def test_preset_is_refused_on_resume(dte, tmp_path):
    result = dte("train", "toy", "--preset", "wide", "--resume", "latest",
                 "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    assert "--preset wide starts a new run" in result.stderr
