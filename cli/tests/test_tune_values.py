"""Study names that stay inside .dte/hpo/, storage secrets that never reach a message or a
command line, unusable journal paths refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from clean_error import assert_clean_error
from dte_core.errors import ConfigError
from dte_core.hpo.study import STORAGE_ENV, check_name, has_secret, redact

SECRET_URL = "postgresql+psycopg://dte:s3cr%40t-pw@127.0.0.1:9/studies"


@pytest.mark.parametrize("name", ["/abs", ".hidden", "a/b", "a..b", "x" * 101, "sp ace",
                                  "new\nline", ""])
def test_unsafe_study_names_are_refused(name):
    with pytest.raises(ConfigError, match="is not a usable study name"):
        check_name(name)


def test_a_study_name_outside_dte_is_refused_before_anything_is_written(dte, tmp_path):
    assert_clean_error(dte("tune", "toy", "--trials", "1", "--study", "../../evil",
                           cwd=tmp_path), "is not a usable study name")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)])
def test_an_unwritable_journal_is_one_paragraph(dte, tmp_path, dry_run):
    assert_clean_error(dte("tune", "toy", "--trials", "1", "--storage", "journal:/proc/nope/x",
                           *dry_run, cwd=tmp_path), "/proc/nope/x", "cannot be written")
    assert list(tmp_path.iterdir()) == []


def test_the_storage_password_is_never_printed(dte, tmp_path):
    result = dte("tune", "toy", "--trials", "1", "--storage", SECRET_URL, cwd=tmp_path)
    assert_clean_error(result, "dte:***@127.0.0.1:9", "cannot be reached")
    assert "s3cr" not in result.stderr
    assert redact(f"at {SECRET_URL}.", SECRET_URL) == \
        "at postgresql+psycopg://dte:***@127.0.0.1:9/studies."
    assert has_secret(SECRET_URL) and not has_secret("journal:/p/.dte/hpo/s.journal")
    assert not has_secret("postgresql://dte@db/studies")


def test_workers_take_the_storage_from_the_environment(tmp_path):
    """The tune command passes a URL with a password as $DTE_HPO_STORAGE, not as an argument."""
    done = subprocess.run(
        [sys.executable, "-m", "dte_core.hpo.worker", "--study", "s", "--target", "1"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, STORAGE_ENV: SECRET_URL})
    assert done.returncode == 2, done.stderr
    assert "dte:***@127.0.0.1:9" in done.stderr and "s3cr" not in done.stderr
