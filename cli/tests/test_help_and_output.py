"""Help and output conventions: every command's help renders with an example and plain type
hints, panels group the verbs, science flags show under a science's help, tables not dict
reprs, JSON where asked."""

from __future__ import annotations

import importlib
import re

import pytest
from dte_cli.app import COMMANDS, PANELS, app
from dte_cli.lazy import readable
from typer.testing import CliRunner


def _paths() -> list[list[str]]:
    """Every command path of the CLI: ["train"], ["runs", "show"], ..."""
    import typer

    paths = []

    def walk(command, path):
        subs = getattr(command, "commands", {})
        if not subs:
            paths.append(path)
        for name, sub in subs.items():
            walk(sub, [*path, name])

    for name, (module, _) in COMMANDS.items():
        command = typer.main.get_command(importlib.import_module(module).app)
        walk(readable(command, name), [name])
    return paths


@pytest.mark.parametrize("path", _paths(), ids=" ".join)
def test_every_command_help_renders_with_an_example_and_plain_types(path):
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="dte",
                                env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "Usage: dte " + " ".join(path) in " ".join(result.output.split())
    assert "Example" in result.output and "  dte " in result.output
    assert not re.search(r"<[\w\[\]|, ]+>", result.output), result.output  # `<list[str]>`


def test_root_help_groups_commands_in_panels():
    output = CliRunner().invoke(app, ["--help"]).output
    for panel in PANELS:
        assert f"\n{panel}:\n" in output
    assert "-q, --quiet" in output and "-v, --verbose" in output
    assert "--install-completion" in output
    assert {n for names in PANELS.values() for n in names} == set(COMMANDS)


def test_a_science_help_lists_its_own_settings():
    generate = CliRunner().invoke(app, ["data", "generate", "virgo-gw", "--help"]).output
    assert "virgo-gw flags" in generate and "--aux-channels" in generate
    train = CliRunner().invoke(app, ["train", "virgo-gw", "--help"]).output
    assert "virgo-gw settings" in train and "data.*" in train and "optim.*" in train
    assert "SLURM:" in train and train.index("--procs") < train.index("SLURM:") < \
        train.index("--partition")


def test_records_print_as_tables_not_dict_reprs(capsys):
    from dte_cli.summary import as_json, print_fields

    print_fields("study s", {"states": {"COMPLETE": 2}, "best": {"params": {"lr": 0.1}},
                             "events": [{"event": "finished"}], "count": 3.0})
    shown = capsys.readouterr().out
    assert "{" not in shown and "states.COMPLETE" in shown and "best.params.lr" in shown
    assert "events.0.event" in shown and " 3 " in shown and "3.0" not in shown
    assert as_json({"n": 4.0, "x": 0.5}) == '{\n  "n": 4,\n  "x": 0.5\n}'
