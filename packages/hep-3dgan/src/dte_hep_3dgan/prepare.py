"""`dte data prepare hep-3dgan --from F...`: check shower files and rewrite them natively."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dte_hep_3dgan.files import SUFFIXES, ShowerFile, ShowerWriter

if TYPE_CHECKING:
    from dte_hep_3dgan.config import DataConfig

BLOCK = 64


def prepare(data: DataConfig, sources: list[Path], out: Path) -> dict[str, Any]:
    """Every shower of `sources` (each checked first) into `out/showers.h5|.root`."""
    files = [ShowerFile(path, data.root_cache_mb, data) for path in sources]  # all checked first
    total = sum(f.events for f in files)
    target = out / ("showers" + SUFFIXES[data.format])
    attrs = {"converted_from": ";".join(str(f.path) for f in files)}
    with ShowerWriter(target, data.format, total, attrs) as writer:
        for file in files:
            for start in range(0, file.events, BLOCK):
                stop = min(start + BLOCK, file.events)
                writer.write(file.read_range(start, stop), file.energy[start:stop],
                             file.theta[start:stop])
            file.close()
    # `out` is a temporary folder renamed when complete: name the file inside the result
    return {"file": target.name, "format": data.format, "events": total,
            "sources": [f.summary() for f in files], "bytes": target.stat().st_size}
