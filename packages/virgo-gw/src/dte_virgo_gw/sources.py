"""Readers for the community's strain formats: GWOSC HDF5, gwpy HDF5 and GWF frames.

- GWOSC HDF5 (the open-data releases): one detector per file, `strain/Strain` with `Xstart`
  (GPS) and `Xspacing` (s) attributes, `meta/Detector`; its channel is named
  `<detector>:GWOSC-STRAIN` (for example `H1:GWOSC-STRAIN`).
- gwpy HDF5 (`TimeSeries.write(..., format='hdf5')`): one dataset per channel with `x0` and
  `dx` attributes (gwpy's own test strain files are written this way).
- GWF frames: through lalframe (shipped with lalsuite), in a child process.

Every reader returns `Piece`s (one channel's contiguous samples) and knows which channels the
file has, so that an unknown name is answered with the list of names in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from dte_core.errors import ConfigError, MissingDependencyError

GWF_SUFFIXES = {".gwf"}
HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf", ".he5"}


@dataclass
class Piece:
    """Contiguous samples of one channel from one file."""

    channel: str
    t0: float
    sample_rate: float
    values: np.ndarray
    source: Path

    @property
    def end(self) -> float:
        return self.t0 + len(self.values) / self.sample_rate


def _require_lalframe() -> None:
    try:
        import lalframe  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "Reading GWF frames needs lalframe, which is not installed. Install it with: "
            "pip install lalsuite (or conda install -c conda-forge python-lalframe), or "
            "convert the frames to HDF5 first.") from None


def _check_not_empty(file: Path) -> None:
    if file.stat().st_size == 0:
        raise ConfigError(f"The input file {file} is empty (0 bytes): nothing to read. Check "
                          f"that its download or copy finished.")


def channels_in(file: Path) -> list[str]:
    """The channel names a file offers."""
    _check_not_empty(file)
    if file.suffix.lower() in GWF_SUFFIXES:
        return _gwf(file, [])[1]
    from dte_virgo_gw.data import open_h5

    with open_h5(file, "input") as f:
        return list(_hdf5_channels(f))


#: reads a frame file in a child process (see `_gwf`): lists its channels (table of contents)
#: and saves the wanted ones to an .npz
GWF_READER = """
import json, sys
import numpy as np
import lalframe
from lalframe import frread
path, out, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
frame_file = lalframe.FrameUFrFileOpen(path, "r")  # kept alive while the TOC is used
toc = lalframe.FrameUFrTOCRead(frame_file)
names = []
for kind in ("Adc", "Proc", "Sim"):
    count = getattr(lalframe, "FrameUFrTOCQuery" + kind + "N")(toc)
    names += [getattr(lalframe, "FrameUFrTOCQuery" + kind + "Name")(toc, i) for i in range(count)]
arrays, meta = {}, {}
for i, name in enumerate(n for n in wanted if n in names):
    ts = frread.read_timeseries(path, name)
    arrays["c%d" % i] = np.asarray(ts.data.data, dtype=np.float64)
    meta["c%d" % i] = [name, float(ts.epoch), 1.0 / ts.deltaT]
np.savez(out, **arrays)
print(json.dumps({"channels": names, "meta": meta}))
"""


def _gwf(file: Path, wanted: list[str]) -> tuple[list[Piece], list[str]]:
    """Channels and wanted series of a frame file, read by lalframe in a child process: the
    frame library can crash the process (SIGSEGV) on a damaged file instead of raising."""
    import json
    import subprocess
    import sys
    import tempfile

    _require_lalframe()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "series.npz"
        child = subprocess.run([sys.executable, "-c", GWF_READER, str(file), str(out),
                                *wanted], capture_output=True, text=True, timeout=600)
        if child.returncode != 0:
            last = (child.stderr.strip().splitlines() or [""])[-1]
            why = (f"the frame library crashed, exit code {child.returncode}"
                   if child.returncode < 0 or not last else last)
            raise ConfigError(f"The GWF file {file} cannot be read ({why}): it is truncated, "
                              f"corrupt or not a frame file. Copy or download it again.")
        report = json.loads(child.stdout.strip().splitlines()[-1])
        with np.load(out) as arrays:
            pieces = [Piece(name, t0, rate, arrays[key], file)
                      for key, (name, t0, rate) in report["meta"].items()]
    return pieces, list(report["channels"])


def _hdf5_channels(f) -> dict[str, str]:
    """{channel name: dataset path} of an open HDF5 file (GWOSC or gwpy layout)."""
    import h5py

    if "strain/Strain" in f:
        detector = f["meta/Detector"][()] if "meta/Detector" in f else b"X1"
        detector = detector.decode() if isinstance(detector, bytes) else str(detector)
        return {f"{detector}:GWOSC-STRAIN": "strain/Strain"}
    found: dict[str, str] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and (
                "dx" in obj.attrs or "sample_rate" in obj.attrs):
            channel = obj.attrs.get("channel", obj.attrs.get("name", name))
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            found[channel] = name

    f.visititems(visit)
    return found


def read(file: Path, wanted: set[str]) -> tuple[list[Piece], list[str]]:
    """The pieces of the `wanted` channels that `file` has, and every channel it has."""
    _check_not_empty(file)
    if file.suffix.lower() in GWF_SUFFIXES:
        pieces, available = _gwf(file, sorted(wanted))
    else:
        available = channels_in(file)
        pieces = _read_hdf5(file, [c for c in available if c in wanted])
    if not available:
        raise ConfigError(f"The input file {file} contains no channels (no strain/Strain "
                          f"dataset and no 1-D series with sample-rate attributes): it is "
                          f"empty or not strain data.")
    return pieces, available


def _read_hdf5(file: Path, names: list[str]) -> list[Piece]:
    from dte_virgo_gw.data import open_h5

    pieces = []
    with open_h5(file, "input") as f:
        paths = _hdf5_channels(f)
        for name in names:
            ds = f[paths[name]]
            attrs = ds.attrs
            if "Xspacing" in attrs:  # GWOSC
                t0, rate = float(attrs["Xstart"]), 1.0 / float(attrs["Xspacing"])
            elif "dx" in attrs:
                t0, rate = float(attrs.get("x0", 0.0)), 1.0 / float(attrs["dx"])
            else:
                t0, rate = float(attrs.get("t0", 0.0)), float(attrs["sample_rate"])
            try:
                values = np.asarray(ds[()], np.float64)
            except OSError as exc:
                raise ConfigError(f"The channel {name} in {file} cannot be read ({exc}): the "
                                  f"file is truncated or corrupt.") from None
            pieces.append(Piece(name, t0, rate, values, file))
    return pieces
