"""The shape of every refused input: one paragraph on stderr, exit 2, no traceback."""

from __future__ import annotations


def assert_clean_error(result, *needles):
    """`result` (a finished `dte` process) refused its input with a message naming `needles`."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: ")
    assert result.stdout == ""
    text = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in text, text
