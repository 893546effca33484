"""Every bad input: one clear paragraph naming the fix, exit code 2, no traceback."""

from __future__ import annotations

import pytest
from clean_error import assert_clean_error


def test_unknown_science(dte):
    assert_clean_error(dte("config", "show", "virgo"), "Did you mean 'virgo-gw'?",
                       "pip install dte-")


def test_unknown_config_key(dte):
    assert_clean_error(dte("config", "show", "virgo-gw", "--set", "train.epoch=2"),
                       "'train.epoch'", "Did you mean 'train.epochs'?",
                       "Allowed keys under 'train'")


def test_wrong_type_in_set(dte):
    assert_clean_error(dte("config", "show", "virgo-gw", "--set", "train.epochs=lots"),
                       "'lots'", "'train.epochs'", "Expected: int")


def test_set_without_equals(dte):
    assert_clean_error(dte("config", "show", "virgo-gw", "--set", "train.epochs"),
                       "has no '='", "--set key=value")


def test_config_file_missing(dte, tmp_path):
    assert_clean_error(dte("config", "show", "virgo-gw", "--config", str(tmp_path / "no.yaml")),
                       "no.yaml", "does not exist")


@pytest.mark.parametrize("text", ["train:\n  epochs: 3\n   lr: 1\n", "train: [1,\n"])
def test_malformed_yaml(dte, tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert_clean_error(dte("config", "show", "virgo-gw", "--config", str(path)),
                       str(path), "line ", "column ")
