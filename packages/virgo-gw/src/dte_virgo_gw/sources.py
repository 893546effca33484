"""Readers for the community's strain formats: GWOSC HDF5, gwpy HDF5 and GWF frames.

- GWOSC HDF5 (the open-data releases): one detector per file, `strain/Strain` with `Xstart`
  (GPS) and `Xspacing` (s) attributes, `meta/Detector`; its channel is named
  `<detector>:GWOSC-STRAIN` (for example `H1:GWOSC-STRAIN`).
- gwpy HDF5 (`TimeSeries.write(..., format='hdf5')`): one dataset per channel with `x0` and
  `dx` attributes (gwpy's own test strain files are written this way).
- GWF frames: through gwpy and lalframe (shipped with lalsuite).

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
        _require_lalframe()
        from gwpy.io.gwf import get_channel_names

        try:
            return list(get_channel_names(str(file)))
        except Exception as exc:  # lalframe raises plain RuntimeErrors on bad frames
            raise ConfigError(f"The GWF file {file} cannot be read ({exc}): it is truncated, "
                              f"corrupt or not a frame file. Copy or download it again.") from None
    from dte_virgo_gw.data import open_h5

    with open_h5(file, "input") as f:
        return list(_hdf5_channels(f))


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
    available = channels_in(file)
    if not available:
        raise ConfigError(f"The input file {file} contains no channels (no strain/Strain "
                          f"dataset and no 1-D series with sample-rate attributes): it is "
                          f"empty or not strain data.")
    names = [c for c in available if c in wanted]
    if not names:
        return [], available
    if file.suffix.lower() in GWF_SUFFIXES:
        return _read_gwf(file, names), available
    return _read_hdf5(file, names), available


def _read_gwf(file: Path, names: list[str]) -> list[Piece]:
    from gwpy.timeseries import TimeSeriesDict

    try:
        series = TimeSeriesDict.read(str(file), names, format="gwf")
    except Exception as exc:
        raise ConfigError(f"The GWF file {file} cannot be read ({exc}). Copy or download it "
                          f"again.") from None
    return [Piece(name, float(ts.t0.value), float(ts.sample_rate.value),
                  np.asarray(ts.value, np.float64), file) for name, ts in series.items()]


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
