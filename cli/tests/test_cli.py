"""The `dte` command line end to end: listing, versions, config show/schema."""

from __future__ import annotations

import json

import yaml


def test_help_lists_commands_without_importing_them(dte):
    result = dte("--help")
    assert result.returncode == 0
    assert "sciences" in result.stdout and "config" in result.stdout


def test_version_lists_every_dte_distribution(dte):
    lines = dte("--version").stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert names[0] == "dte-cli"
    assert {"dte-core", "dte-virgo-gw", "dte-hep-3dgan", "dte-climate-cyclone"} <= set(names)


def test_sciences_table_and_json(dte):
    table = dte("sciences")
    assert table.returncode == 0
    for name in ("virgo-gw", "hep-3dgan", "climate-cyclone"):
        assert name in table.stdout
    rows = {row["name"]: row for row in json.loads(dte("sciences", "--json").stdout)}
    assert rows["climate-cyclone"]["framework"] == "tensorflow"
    assert rows["virgo-gw"]["distribution"] == "dte-virgo-gw"


def test_config_show_layers_file_and_overrides(dte, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train:\n  epochs: 4\n  batch_size: 8\n")
    result = dte("config", "show", "virgo-gw", "--config", str(path),
                 "--set", "train.epochs=9", "-s", "optim.lr=3e-4")
    assert result.returncode == 0, result.stderr
    cfg = yaml.safe_load(result.stdout)
    assert (cfg["train"]["epochs"], cfg["train"]["batch_size"]) == (9, 8)
    assert cfg["optim"]["lr"] == 3e-4


def test_config_show_output_is_a_valid_config_file(dte, tmp_path):
    path = tmp_path / "full.yaml"
    path.write_text(dte("config", "show", "hep-3dgan").stdout)
    again = dte("config", "show", "hep-3dgan", "--config", str(path))
    assert again.returncode == 0 and again.stdout == path.read_text()


def test_config_schema_documents_every_key(dte):
    rows = {r["key"]: r for r in json.loads(dte("config", "schema", "virgo-gw", "--json").stdout)}
    assert rows["train.epochs"]["type"] == "int"
    assert rows["train.epochs"]["help"]
    assert rows["model.kind"]["type"] == "'unet' | 'decoder'"
    table = dte("config", "schema", "climate-cyclone")
    assert "data.patch_size" in table.stdout
