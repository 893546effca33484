"""Workspace-wide pytest hooks: hardware markers skip with a reason where the hardware is absent."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if not cuda:
        skip = pytest.mark.skip(reason="needs a CUDA GPU (none visible here); "
                                       "run benchmarks/gpu_check.sh on a GPU machine")
        for item in gpu_items:
            item.add_marker(skip)
