"""dte core: configuration, the science plugin contract, and what runs inside a training job."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # Resolved lazily: importlib.metadata costs ~20 ms, paid by every `dte` start otherwise.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("dte-core")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module 'dte_core' has no attribute {name!r}")
