"""What an evaluation folder evaluated (science, run or registered model, checkpoint), written
beside its metrics so that a science's figures can name it in their titles."""

from __future__ import annotations

import json
from pathlib import Path

FILE = "evaluated.json"


def write(out: Path, science: str, source: str, checkpoint: str | None) -> None:
    """Record the subject of the evaluation in `out`."""
    (out / FILE).write_text(json.dumps({"science": science, "source": source,
                                        "checkpoint": checkpoint}, indent=2))


def title(out: Path, science: str) -> str:
    """`virgo-gw · run 20261207-... · checkpoint step-00000120`, or the science alone."""
    try:
        found = json.loads((out / FILE).read_text())
    except (OSError, ValueError):
        return science
    source = found.get("source") or ""
    parts = [science, source if source.startswith("models:/") else f"run {source}"]
    if found.get("checkpoint"):
        parts.append(f"checkpoint {found['checkpoint']}")
    return " · ".join(p for p in parts if p.strip())
