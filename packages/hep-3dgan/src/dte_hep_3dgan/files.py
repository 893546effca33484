"""Shower files: HDF5 (the community's 3DGAN layout) and ROOT (via uproot), written and read.

HDF5: datasets `ECAL` (N, 51, 51, 25) float32 GeV, chunked one shower per chunk and gzip
compressed, `energy` (N,) float32 GeV and `theta` (N,) float32 radians. ROOT: a TTree
`showers` with the same three branches (`ECAL` a fixed-size float[51][51][25]). Readers check
everything a training run relies on and fail with one paragraph that names the fix.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import ConfigError

from dte_hep_3dgan.gflash import SHAPE

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ROOT_MAGIC = b"root"
TREE = "showers"
SUFFIXES = {"hdf5": ".h5", "root": ".root"}
FIX = ("`dte data generate hep-3dgan --out DIR` writes a valid file; its layout is described "
       "in the hep-3dgan README.")


class ShowerFileError(ConfigError):
    """A shower file that cannot be used as it is."""


def format_of(path: Path) -> str:
    """'hdf5' or 'root' by the file's first bytes (its suffix can lie)."""
    if not path.exists():
        raise ShowerFileError(f"The shower file '{path}' does not exist. Check data.path (or "
                              f"--input); {FIX}")
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir() if p.suffix in (".h5", ".hdf5", ".root"))
        hint = (f" It holds {', '.join(found)}: point to one of them." if found
                else " It holds no .h5 or .root file.")
        raise ShowerFileError(f"The shower path '{path}' is a folder, not a file.{hint}")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(ROOT_MAGIC):
        return "root"
    size = path.stat().st_size
    what = "an empty file" if size == 0 else "neither HDF5 nor ROOT"
    raise ShowerFileError(f"The shower file '{path}' is {what} ({size} bytes). Showers are "
                          f"read from HDF5 (.h5) or ROOT (.root) files; {FIX}")


# ---- writing ------------------------------------------------------------------------------

class ShowerWriter:
    """Appends blocks of showers to a new HDF5 or ROOT file of known final size."""

    def __init__(self, path: Path, fmt: str, events: int, attrs: dict[str, Any]) -> None:
        self.path, self.fmt, self.events, self.written = path, fmt, events, 0
        if fmt == "hdf5":
            import h5py

            self._h5 = h5py.File(path, "w")
            self._h5.create_dataset("ECAL", shape=(events, *SHAPE), dtype="float32",
                                    chunks=(1, *SHAPE), compression="gzip",
                                    compression_opts=4, shuffle=True)
            self._h5.create_dataset("energy", shape=(events,), dtype="float32")
            self._h5.create_dataset("theta", shape=(events,), dtype="float32")
            self._h5["ECAL"].attrs["units"] = "GeV"
            self._h5["energy"].attrs["units"] = "GeV"
            self._h5["theta"].attrs["units"] = "rad"
            for key, value in attrs.items():
                self._h5.attrs[key] = value
        elif fmt == "root":
            import uproot

            self._root = uproot.recreate(path, compression=uproot.ZLIB(4))
            self._root.mktree(TREE, {"ECAL": (np.float32, SHAPE), "energy": np.float32,
                                     "theta": np.float32},
                              title="ECAL showers: ECAL GeV, energy GeV, theta rad")
            meta = ";".join(f"{k}={v}" for k, v in attrs.items())
            self._root["provenance"] = meta
        else:
            raise ShowerFileError(f"Unknown shower file format '{fmt}': use hdf5 or root.")

    def write(self, ecal: np.ndarray, energy: np.ndarray, theta: np.ndarray) -> None:
        """Append showers (ECAL GeV, energy GeV, theta rad)."""
        ecal = np.ascontiguousarray(ecal, dtype=np.float32)
        energy = np.asarray(energy, dtype=np.float32)
        theta = np.asarray(theta, dtype=np.float32)
        n = len(ecal)
        if self.fmt == "hdf5":
            sl = slice(self.written, self.written + n)
            self._h5["ECAL"][sl] = ecal
            self._h5["energy"][sl] = energy
            self._h5["theta"][sl] = theta
        else:
            self._root[TREE].extend({"ECAL": ecal, "energy": energy, "theta": theta})
        self.written += n

    def write_chunks(self, chunks: list[bytes], energy: np.ndarray, theta: np.ndarray) -> None:
        """Append HDF5 showers already compressed by `compress_chunks` (in another process)."""
        dataset = self._h5["ECAL"]
        for i, chunk in enumerate(chunks):
            dataset.id.write_direct_chunk((self.written + i, 0, 0, 0), chunk)
        sl = slice(self.written, self.written + len(chunks))
        self._h5["energy"][sl] = np.asarray(energy, dtype=np.float32)
        self._h5["theta"][sl] = np.asarray(theta, dtype=np.float32)
        self.written += len(chunks)

    def close(self) -> None:
        if self.fmt == "hdf5":
            self._h5.close()
        else:
            self._root.close()

    def __enter__(self) -> ShowerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def compress_chunks(ecal: np.ndarray) -> list[bytes]:
    """Each shower as the bytes of one HDF5 chunk of the `ECAL` dataset's filter pipeline
    (byte shuffle, then deflate level 4), so that generator processes do the compression."""
    import zlib

    out = []
    for shower in np.ascontiguousarray(ecal, dtype="<f4"):
        shuffled = shower.view(np.uint8).reshape(-1, 4).T.tobytes()
        out.append(zlib.compress(shuffled, 4))
    return out


def write(path: Path, ecal: np.ndarray, energy: np.ndarray, theta: np.ndarray,
          attrs: dict[str, Any] | None = None, block: int = 64) -> None:
    """Write showers in one go; the format comes from the suffix (.root, else HDF5)."""
    fmt = "root" if path.suffix == ".root" else "hdf5"
    with ShowerWriter(path, fmt, len(ecal), attrs or {}) as writer:
        for start in range(0, len(ecal), block):
            stop = start + block
            writer.write(ecal[start:stop], energy[start:stop], theta[start:stop])


# ---- reading ------------------------------------------------------------------------------

class ShowerFile:
    """Read access to a shower file: conditions in memory, showers one by one on demand.

    Safe to use from DataLoader worker processes: the underlying handle is reopened in each
    process on first use."""

    def __init__(self, path: Path | str, root_cache_mb: int = 512) -> None:
        self.path = Path(path).resolve()
        self.format = format_of(self.path)
        self.root_cache_bytes = root_cache_mb << 20
        self._handle: Any = None
        self._pid: int | None = None
        if self.format == "hdf5":
            self.energy, self.theta, self.events = self._check_hdf5()
        else:
            self.energy, self.theta, self.events = self._check_root()
        self._check_conditions()

    # checks
    def _fail(self, problem: str, fix: str = FIX) -> ShowerFileError:
        return ShowerFileError(f"The shower file '{self.path}' {problem}. {fix}")

    def _check_hdf5(self) -> tuple[np.ndarray, np.ndarray, int]:
        import h5py

        try:
            handle = h5py.File(self.path, "r")
        except OSError as exc:
            raise self._fail(f"cannot be opened as HDF5 ({exc})") from None
        with handle:
            keys = sorted(handle.keys())
            if not keys:
                raise self._fail("is empty: it holds no datasets")
            missing = [k for k in ("ECAL", "energy", "theta") if k not in handle]
            if missing:
                raise self._fail(
                    f"has no dataset {' or '.join(repr(m) for m in missing)} (it holds: "
                    f"{', '.join(keys)})",
                    "A shower file needs ECAL (N, 51, 51, 25) deposits in GeV, energy (N,) "
                    "primary energies in GeV and theta (N,) incidence angles; rename the "
                    "datasets or convert the file with `dte data prepare hep-3dgan --from "
                    f"FILE --out DIR`. {FIX}")
            shape = handle["ECAL"].shape
            self._check_shape(shape)
            energy = self._vector(handle["energy"][()], "energy", shape[0])
            theta_raw = self._vector(handle["theta"][()], "theta", shape[0])
            units = handle["theta"].attrs.get("units", "")
        return energy, self._radians(theta_raw, units), shape[0]

    def _check_root(self) -> tuple[np.ndarray, np.ndarray, int]:
        import uproot

        try:
            handle = uproot.open(self.path)
        except Exception as exc:  # uproot raises many kinds for a damaged file
            raise self._fail(f"cannot be opened as ROOT ({type(exc).__name__}: {exc})") from None
        with handle:
            tree = self._tree(handle)
            branches = set(tree.keys())
            missing = [k for k in ("ECAL", "energy", "theta") if k not in branches]
            if missing:
                raise self._fail(
                    f"has a TTree '{tree.name}' without branch "
                    f"{' or '.join(repr(m) for m in missing)} (it has: "
                    f"{', '.join(sorted(branches)) or 'none'})")
            events = int(tree.num_entries)
            inner = getattr(tree["ECAL"].interpretation, "inner_shape", ())
            self._check_shape((events, *inner))
            arrays = tree.arrays(["energy", "theta"], library="np")
            energy = self._vector(arrays["energy"], "energy", events)
            theta = self._vector(arrays["theta"], "theta", events)
            self._tree_name = tree.name
            self._baskets = [tuple(int(v) for v in tree["ECAL"].basket_entry_start_stop(i))
                             for i in range(tree["ECAL"].num_baskets)]
            units = "deg" if "theta deg" in (tree.title or "") else "rad" if \
                "theta rad" in (tree.title or "") else ""
        return energy, self._radians(theta, units), events

    def _tree(self, handle: Any) -> Any:
        classes = handle.classnames()
        trees = [k.split(";")[0] for k, c in classes.items() if c == "TTree"]
        ntuples = [k.split(";")[0] for k, c in classes.items() if "RNTuple" in c]
        if not trees and ntuples:
            raise self._fail(f"holds an RNTuple ('{ntuples[0]}'), not a TTree",
                             "hep-3dgan reads TTrees: write the showers with uproot's "
                             "file.mktree(...) and tree.extend(...), or convert the RNTuple "
                             "to a TTree in ROOT.")
        if not trees:
            raise self._fail("holds no TTree (it holds: "
                             f"{', '.join(handle.keys()) or 'nothing'})")
        name = TREE if TREE in trees else trees[0]
        tree = handle[name]
        if tree.num_entries == 0:
            raise self._fail(f"has an empty TTree '{name}' (0 showers)",
                             "Write the showers into it, or generate a file with `dte data "
                             "generate hep-3dgan --out DIR --format root`.")
        return tree

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) >= 1 and shape[0] == 0:
            raise self._fail("holds 0 showers", "Use a file with showers in it; " + FIX)
        if tuple(shape[1:]) != SHAPE:
            raise self._fail(
                f"has ECAL of shape {tuple(shape)}, but hep-3dgan needs (N, 51, 51, 25): "
                f"51 x 51 cells in x and y, 25 layers in depth",
                "If the layers come first or a channel axis was added, transpose or squeeze "
                "the array to (N, 51, 51, 25); if the calorimeter differs, it is another "
                "detector this model does not describe.")

    def _vector(self, raw: np.ndarray, name: str, events: int) -> np.ndarray:
        values = np.asarray(raw, dtype=np.float64)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.shape != (events,):
            raise self._fail(f"has '{name}' of shape {values.shape}, but ECAL holds {events} "
                             f"showers: it must be ({events},), one value per shower")
        bad = ~np.isfinite(values)
        if name == "energy":
            bad |= values <= 0
        if bad.any():
            where = np.flatnonzero(bad)
            raise self._fail(
                f"has {bad.sum()} invalid '{name}' value(s) (NaN, infinite"
                f"{' or not positive' if name == 'energy' else ''}), first at shower "
                f"{where[0]}: {values[where[0]]}",
                "Remove those showers or fix their values; every shower needs a finite, "
                "positive primary energy in GeV and a finite angle.")
        return values

    def _radians(self, theta: np.ndarray, units: Any) -> np.ndarray:
        units = units.decode() if isinstance(units, bytes) else str(units)
        degrees = "deg" in units.lower() or ("rad" not in units.lower()
                                              and theta.max() > 2 * math.pi)
        return np.radians(theta) if degrees else theta

    def _check_conditions(self) -> None:
        low, high = np.degrees(self.theta.min()), np.degrees(self.theta.max())
        if low <= 0 or high >= 180:
            raise self._fail(f"has theta from {low:.1f} to {high:.1f} degrees, outside (0, 180)",
                             "theta is the polar incidence angle (90 degrees is normal "
                             "incidence), stored in radians (attribute units='rad') or "
                             "degrees (units='deg').")

    # access
    def _open(self) -> Any:
        import os

        if self._handle is None or self._pid != os.getpid():
            if self.format == "hdf5":
                import h5py

                self._handle = h5py.File(self.path, "r")
            else:
                import uproot

                self._handle = uproot.open(self.path)[self._tree_name]
                self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
                self._cached_bytes = 0
            self._pid = os.getpid()
        return self._handle

    def read(self, index: int) -> np.ndarray:
        """Shower `index` in GeV, float32 (51, 51, 25)."""
        handle = self._open()
        if self.format == "hdf5":
            return handle["ECAL"][index]
        basket = self._basket_of(index)
        start = self._baskets[basket][0]
        return self._basket(handle, basket)[index - start]

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Showers start .. stop, float32 (n, 51, 51, 25)."""
        handle = self._open()
        if self.format == "hdf5":
            return handle["ECAL"][start:stop]
        return handle["ECAL"].array(entry_start=start, entry_stop=stop, library="np")

    def _basket_of(self, index: int) -> int:
        starts = [b[0] for b in self._baskets]
        return int(np.searchsorted(starts, index, side="right") - 1)

    def _basket(self, tree: Any, basket: int) -> np.ndarray:
        if basket in self._cache:
            self._cache.move_to_end(basket)
            return self._cache[basket]
        start, stop = self._baskets[basket]
        data = tree["ECAL"].array(entry_start=start, entry_stop=stop, library="np")
        data = np.ascontiguousarray(data, dtype=np.float32)
        self._cache[basket] = data
        self._cached_bytes += data.nbytes
        while self._cached_bytes > self.root_cache_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= dropped.nbytes
        return data

    def close(self) -> None:
        if self._handle is not None and self.format == "hdf5":
            self._handle.close()
        self._handle = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_handle=None, _pid=None)
        state.pop("_cache", None)
        return state

    def summary(self) -> dict[str, Any]:
        """Counts and ranges, for the console."""
        return {"file": str(self.path), "format": self.format, "events": self.events,
                "energy_gev": [round(float(self.energy.min()), 3),
                               round(float(self.energy.max()), 3)],
                "theta_deg": [round(float(np.degrees(self.theta.min())), 2),
                              round(float(np.degrees(self.theta.max())), 2)]}
