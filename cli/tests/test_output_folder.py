"""`predict --output` into a missing or unwritable folder: refused before any work, nothing
left behind."""

from __future__ import annotations

import pytest
from dte.api import writable_output
from dte_core.errors import ConfigError


@pytest.mark.parametrize(("target", "message"), [
    ("missing/out.npz", "does not exist"), ("/proc/out.npz", "cannot take a new file"),
    ("/proc/nope/out.npz", "does not exist")])
def test_an_output_that_cannot_be_written_is_refused(tmp_path, target, message):
    path = tmp_path / target if not target.startswith("/") else target
    with pytest.raises(ConfigError, match=message):
        writable_output(type(tmp_path)(path))
    assert list(tmp_path.iterdir()) == []


def test_a_writable_folder_is_left_as_it_was(tmp_path):
    writable_output(tmp_path / "out.npz")
    assert list(tmp_path.iterdir()) == []
