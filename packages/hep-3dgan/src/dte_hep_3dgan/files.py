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

#: data.mapping.layout -> the per-shower shape it stores (before becoming (51, 51, 25))
LAYOUTS = {"xyz": SHAPE, "layer-first": (SHAPE[2], SHAPE[0], SHAPE[1]),
           "flat": (math.prod(SHAPE),), "flat-layer-first": (math.prod(SHAPE),)}
#: GeV per unit
SCALE = {"GeV": 1.0, "MeV": 1e-3}
#: visible (deposited) over primary energy of a calorimeter: above 1 is impossible, below
#: 1e-4 no calorimeter samples that little (this detector's sampling fraction is ~0.02)
RATIO_BOUNDS = (1e-4, 1.0)
ROLES = ("ecal", "energy", "theta")
DEFAULT_NAMES = {"ecal": "ECAL", "energy": "energy", "theta": "theta"}
BLOCK_ENTRIES = 64


class ShowerFile:
    """Read access to a shower file: conditions in memory, showers one by one on demand.

    `data` (the science's DataConfig) maps other names, ECAL layouts and units onto the
    native (51, 51, 25) GeV showers. Safe to use from DataLoader worker processes: the
    underlying handle is reopened in each process on first use."""

    def __init__(self, path: Path | str, root_cache_mb: int = 512, data: Any = None) -> None:
        self.path = Path(path).resolve()
        self.format = format_of(self.path)
        self.root_cache_bytes = root_cache_mb << 20
        self._handle: Any = None
        self._pid: int | None = None
        mapping = getattr(data, "mapping", None)
        self._wanted = {role: getattr(mapping, role, None) for role in ROLES}
        self._layout_setting = getattr(mapping, "layout", "auto")
        self._unit_setting = {"ecal": getattr(data, "ecal_units", "auto"),
                              "energy": getattr(data, "energy_units", "auto")}
        self.names = dict(DEFAULT_NAMES)
        self.units: dict[str, tuple[str, str]] = {}  # role -> (unit, where it came from)
        self.layout = "xyz"
        self.kind = self.format
        if self.format == "hdf5":
            energy, self.theta, self.events = self._check_hdf5()
        else:
            energy, self.theta, self.events = self._check_root()
        self._ecal_scale = SCALE[self.units["ecal"][0]]
        self.energy = energy * SCALE[self.units["energy"][0]]
        self._check_conditions()
        self._check_ratio()

    # checks
    def _fail(self, problem: str, fix: str = FIX) -> ShowerFileError:
        return ShowerFileError(f"The shower file '{self.path}' {problem}. {fix}")

    def _resolve(self, available: list[str], what: str, container: str) -> None:
        """self.names: the file's name of each role, from data.mapping or the usual names."""
        lookup = {a.lower(): a for a in available}
        missing = []
        for role in ROLES:
            given = self._wanted[role]
            if given:
                found = given if given in available else lookup.get(given.lower())
                if found is None:
                    raise self._fail(
                        f"has no {what} '{given}' (data.mapping.{role}); it has: "
                        f"{', '.join(sorted(available)) or 'none'}",
                        f"Set --set data.mapping.{role}= one of those names, or null for "
                        f"'{DEFAULT_NAMES[role]}'.")
                self.names[role] = found
            elif DEFAULT_NAMES[role] in available or DEFAULT_NAMES[role].lower() in lookup:
                self.names[role] = lookup.get(DEFAULT_NAMES[role].lower(), DEFAULT_NAMES[role])
                if DEFAULT_NAMES[role] in available:
                    self.names[role] = DEFAULT_NAMES[role]
            else:
                missing.append(role)
        if missing:
            hints = []
            for role in missing:
                near = [a for a in available if DEFAULT_NAMES[role].lower() in a.lower()]
                hints.append(f"--set data.mapping.{role}={near[0] if near else 'NAME'}")
            raise self._fail(
                f"{container} {what} {' or '.join(repr(DEFAULT_NAMES[m]) for m in missing)} "
                f"(it {'holds' if what == 'dataset' else 'has'}: "
                f"{', '.join(sorted(available)) or 'none'})",
                f"A shower file needs ECAL deposits (N, 51, 51, 25), the primary energy (N,) "
                f"and the incidence angle theta (N,). Name the file's own {what}s: "
                f"{' '.join(hints)} (also data.mapping.layout for layer-first or flat ECAL, "
                f"data.ecal_units / data.energy_units for MeV).")

    def _unit(self, role: str, declared: Any) -> None:
        setting = self._unit_setting[role]
        if setting != "auto":
            self.units[role] = (setting, f"data.{role}_units")
            return
        text = declared.decode() if isinstance(declared, bytes) else str(declared or "")
        if "mev" in text.lower():
            self.units[role] = ("MeV", "the file's units")
        elif "gev" in text.lower():
            self.units[role] = ("GeV", "the file's units")
        else:
            self.units[role] = ("GeV", "the default: the file does not say")

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
            self._resolve(keys, "dataset", "has no")
            ecal, energy, theta = (handle[self.names[r]] for r in ROLES)
            shape = ecal.shape
            self._check_shape(shape)
            for role, ds in (("ecal", ecal), ("energy", energy)):
                self._unit(role, ds.attrs.get("units", ds.attrs.get("unit", "")))
            energy_raw = self._vector(energy[()], "energy", shape[0])
            theta_raw = self._vector(theta[()], "theta", shape[0])
            units = theta.attrs.get("units", "")
        return energy_raw, self._radians(theta_raw, units), shape[0]

    def _check_root(self) -> tuple[np.ndarray, np.ndarray, int]:
        import uproot

        try:
            handle = uproot.open(self.path)
        except Exception as exc:  # uproot raises many kinds for a damaged file
            raise self._fail(f"cannot be opened as ROOT ({type(exc).__name__}: {exc})") from None
        with handle:
            tree = self._tree(handle)
            kind = "RNTuple" if self.kind == "rntuple" else "TTree"
            what = "field" if self.kind == "rntuple" else "branch"
            branches = [str(k) for k in tree.keys()]  # noqa: SIM118 - names, not branches
            self._resolve(branches, what, f"has a{'n' if kind == 'RNTuple' else ''} {kind} "
                                          f"'{tree.name}' without")
            events = int(tree.num_entries)
            ecal = self.names["ecal"]
            if self.kind == "rntuple":
                first = tree.arrays([ecal], entry_stop=1, library="np")[ecal]
                inner = tuple(np.asarray(first).shape[1:])
            else:
                inner = getattr(tree[ecal].interpretation, "inner_shape", ())
            self._check_shape((events, *inner))
            arrays = tree.arrays([self.names["energy"], self.names["theta"]], library="np")
            energy = self._vector(arrays[self.names["energy"]], "energy", events)
            theta = self._vector(arrays[self.names["theta"]], "theta", events)
            self._tree_name = tree.name
            if self.kind == "rntuple":
                self._baskets = [(a, min(a + BLOCK_ENTRIES, events))
                                 for a in range(0, events, BLOCK_ENTRIES)]
            else:
                self._baskets = [tuple(int(v) for v in tree[ecal].basket_entry_start_stop(i))
                                 for i in range(tree[ecal].num_baskets)]
            title = tree.title if self.kind != "rntuple" else ""
            for role in ("ecal", "energy"):
                name = self.names[role]
                branch_title = "" if self.kind == "rntuple" else (tree[name].title or "")
                in_tree = next((part for part in (title or "").split(",")
                                if part.strip().startswith(f"{name} ")), "")
                self._unit(role, branch_title + " " + in_tree)
            units = "deg" if "theta deg" in (title or "") else "rad" if \
                "theta rad" in (title or "") else ""
        return energy, self._radians(theta, units), events

    def _tree(self, handle: Any) -> Any:
        classes = handle.classnames()
        trees = [k.split(";")[0] for k, c in classes.items() if c == "TTree"]
        ntuples = [k.split(";")[0] for k, c in classes.items() if "RNTuple" in c]
        if not trees and not ntuples:
            raise self._fail("holds no TTree nor RNTuple (it holds: "
                             f"{', '.join(handle.keys()) or 'nothing'})")
        if trees:
            name = TREE if TREE in trees else trees[0]
        else:
            name = TREE if TREE in ntuples else ntuples[0]
            self.kind = "rntuple"
        tree = handle[name]
        if tree.num_entries == 0:
            kind = "RNTuple" if self.kind == "rntuple" else "TTree"
            raise self._fail(f"has an empty {kind} '{name}' (0 showers)",
                             "Write the showers into it, or generate a file with `dte data "
                             "generate hep-3dgan --out DIR --format root`.")
        return tree

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) >= 1 and shape[0] == 0:
            raise self._fail("holds 0 showers", "Use a file with showers in it; " + FIX)
        inner = tuple(int(d) for d in shape[1:] if d != 1)  # a channel axis of size 1
        self._raw_inner = tuple(int(d) for d in shape[1:])
        setting = self._layout_setting
        if setting != "auto":
            if inner != LAYOUTS[setting]:
                raise self._fail(
                    f"has ECAL of shape {tuple(shape)}, but data.mapping.layout={setting} "
                    f"means {LAYOUTS[setting]} per shower",
                    "Choose the layout of the file: xyz (51, 51, 25), layer-first (25, 51, "
                    "51), flat or flat-layer-first (65025,).")
            self.layout = setting
            return
        if inner == SHAPE:
            self.layout = "xyz"
        elif inner == LAYOUTS["layer-first"]:
            self.layout = "layer-first"
        elif inner == LAYOUTS["flat"]:
            raise self._fail(
                f"has a flat ECAL of shape {tuple(shape)} (65025 = 51 x 51 x 25 cells per "
                f"shower), which can be flattened in two orders",
                "Say which: --set data.mapping.layout=flat (x, y, layer: cell index (x * 51 "
                "+ y) * 25 + layer) or --set data.mapping.layout=flat-layer-first (layer, x, "
                "y: index (layer * 51 + x) * 51 + y).")
        else:
            raise self._fail(
                f"has ECAL of shape {tuple(shape)}, but hep-3dgan needs (N, 51, 51, 25): "
                f"51 x 51 cells in x and y, 25 layers in depth",
                "Layer-first (N, 25, 51, 51) and flat (N, 65025) arrays are read as they are "
                "(data.mapping.layout), size-1 axes are dropped; if the calorimeter differs, "
                "it is another detector this model does not describe.")

    def _to_xyz(self, block: np.ndarray) -> np.ndarray:
        """Showers of the file's layout and units as (n, 51, 51, 25) float32 GeV."""
        block = np.asarray(block)
        n = block.shape[0]
        if self.layout in ("xyz", "flat"):
            out = block.reshape(n, *SHAPE)
        else:
            out = block.reshape(n, *LAYOUTS["layer-first"]).transpose(0, 2, 3, 1)
        out = np.ascontiguousarray(out, dtype=np.float32)
        if self._ecal_scale != 1.0:
            out *= np.float32(self._ecal_scale)
        return out

    def _check_ratio(self) -> None:
        """Refuse deposits whose sum is not a physical fraction of the primary energy (MeV
        deposits read as GeV give ~20 instead of ~0.02)."""
        k = min(self.events, 32)
        try:
            block = self.read_range(0, k)
        finally:
            self.close()
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = np.nansum(block, axis=(1, 2, 3), dtype=np.float64) / self.energy[:k]
        ratio = float(np.median(ratios))
        low, high = RATIO_BOUNDS
        if ratio == 0 or low <= ratio <= high:
            return
        ecal_u, energy_u = self.units["ecal"][0], self.units["energy"][0]
        options = []
        for e_u in SCALE:
            for p_u in SCALE:
                if (e_u, p_u) == (ecal_u, energy_u):
                    continue
                alt = ratio * SCALE[e_u] / SCALE[ecal_u] * SCALE[energy_u] / SCALE[p_u]
                if low <= alt <= high:
                    sets = [f"--set data.ecal_units={e_u}"] if e_u != ecal_u else []
                    sets += [f"--set data.energy_units={p_u}"] if p_u != energy_u else []
                    options.append(f"{' '.join(sets)} (ratio {alt:.3g})")
        fix = (f"If the file's units are other than that, say so: {' or '.join(options)}."
               if options else "Check how the file was written: no choice of MeV/GeV makes "
                               "these deposits physical.")
        raise self._fail(
            f"has cell deposits summing to {ratio:.3g} times the primary energy (median of its "
            f"first {k} showers; a calorimeter sees between {low:g} and {high:g} of it, this "
            f"one ~0.02), read as deposits in {ecal_u} ({self.units['ecal'][1]}) and primary "
            f"energies in {energy_u} ({self.units['energy'][1]})", fix)

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
            return self._to_xyz(handle[self.names["ecal"]][index:index + 1])[0]
        basket = self._basket_of(index)
        start = self._baskets[basket][0]
        return self._basket(handle, basket)[index - start]

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Showers start .. stop, float32 (n, 51, 51, 25) GeV."""
        handle = self._open()
        if self.format == "hdf5":
            return self._to_xyz(handle[self.names["ecal"]][start:stop])
        return self._to_xyz(self._entries(handle, start, stop))

    def _entries(self, tree: Any, start: int, stop: int) -> np.ndarray:
        name = self.names["ecal"]
        if self.kind == "rntuple":
            return np.asarray(tree.arrays([name], entry_start=start, entry_stop=stop,
                                          library="np")[name])
        return tree[name].array(entry_start=start, entry_stop=stop, library="np")

    def _basket_of(self, index: int) -> int:
        starts = [b[0] for b in self._baskets]
        return int(np.searchsorted(starts, index, side="right") - 1)

    def _basket(self, tree: Any, basket: int) -> np.ndarray:
        if basket in self._cache:
            self._cache.move_to_end(basket)
            return self._cache[basket]
        start, stop = self._baskets[basket]
        data = self._to_xyz(self._entries(tree, start, stop))
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
        return {"file": str(self.path), "format": self.format if self.kind != "rntuple"
                else "root (RNTuple)", "events": self.events,
                "names": dict(self.names), "layout": self.layout,
                "units": {role: unit for role, (unit, _) in self.units.items()},
                "energy_gev": [round(float(self.energy.min()), 3),
                               round(float(self.energy.max()), 3)],
                "theta_deg": [round(float(np.degrees(self.theta.min())), 2),
                              round(float(np.degrees(self.theta.max())), 2)]}
