"""The training data's signature: what a trained model assumes about its input.

A science that can say it (`Science.data_signature`) gets it written into the run folder at
train time as `data-signature.json`; the registry packages it with the model, and loading a
run or a registered model attaches it to the loaded configuration, where the science's
`predict`/`evaluate` find it with `trained_on(config)` and refuse input that does not match.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FILE = "data-signature.json"


def write(science: Any, config: Any, folder: Path) -> Path | None:
    """Store the science's signature of the training data in `folder` (atomically)."""
    signature = science.data_signature(config)
    if not signature:
        return None
    target = Path(folder) / FILE
    tmp = target.with_name(f".{FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(signature, indent=2, default=str))
    tmp.replace(target)
    return target


def read(folder: Path) -> dict[str, Any] | None:
    """The signature stored in a run or model package folder, None without one (runs made
    before signatures, sciences that give none)."""
    try:
        return json.loads((Path(folder) / FILE).read_text())
    except (OSError, ValueError):
        return None


def attach(config: Any, folder: Path) -> Any:
    """`config` with the signature of `folder` attached (for `trained_on`)."""
    if hasattr(config, "_data_signature"):
        config._data_signature = read(folder)
    return config


def trained_on(config: Any) -> dict[str, Any] | None:
    """The signature of the data the model behind `config` was trained on, if known."""
    return getattr(config, "_data_signature", None)
