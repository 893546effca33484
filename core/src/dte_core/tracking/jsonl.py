"""metrics.jsonl: always on, one JSON object per logging event, flushed as written."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

from dte_core.tracking import Sink


class JsonlSink(Sink):
    """Appends `{"step", "epoch", "time", <metrics>}` lines; the complete record of a run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open("a", encoding="utf-8")

    def log(self, metrics: Mapping[str, float], step: int, epoch: int) -> None:
        record = {"step": step, "epoch": epoch, "time": round(time.time(), 3), **metrics}
        self.handle.write(json.dumps(record) + "\n")
        self.handle.flush()

    def finish(self, status: str) -> None:
        self.handle.close()


def read(path: Path) -> list[dict]:
    """Every complete record of a metrics.jsonl (a torn last line is ignored)."""
    records = []
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records
