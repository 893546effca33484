"""`dte data check hep-3dgan PATH...`: what is in shower files, and how dte reads them."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import checking

from dte_hep_3dgan.files import ShowerFile


def check(config: Any, paths: list[Path]) -> list[tuple[str, str]]:
    data = config.data
    lines: list[tuple[str, str]] = []
    with checking(lines):
        for path in paths:
            f = ShowerFile(path, data.root_cache_mb, data)
            kind = {"hdf5": "HDF5", "root": "ROOT TTree", "rntuple": "ROOT RNTuple"}[f.kind]
            lines.append((str(f.path), f"{kind}, {f.events} showers"))
            lines.append(("  names", ", ".join(f"{role}={name}" for role, name in
                                               f.names.items())))
            lines.append(("  ECAL", f"stored {f.layout} {f._raw_inner}, read as (51, 51, 25) "
                                    f"in GeV (the file's {f.units['ecal'][0]}: "
                                    f"{f.units['ecal'][1]})"))
            lines.append(("  energy", f"{f.energy.min():.3g} to {f.energy.max():.3g} GeV "
                                      f"(stored in {f.units['energy'][0]}: "
                                      f"{f.units['energy'][1]})"))
            lines.append(("  theta", f"{np.degrees(f.theta.min()):.1f} to "
                                     f"{np.degrees(f.theta.max()):.1f} degrees"))
            k = min(f.events, 32)
            block = f.read_range(0, k)
            f.close()
            ratio = np.nansum(block, axis=(1, 2, 3)) / f.energy[:k]
            lines.append(("  deposit/Ep", f"median {np.median(ratio):.3g} over {k} showers "
                                          f"(physical: 1e-4 to 1, this calorimeter ~0.02)"))
        sets = []
        for role in ("ecal", "energy", "theta"):
            if getattr(data.mapping, role):
                sets += ["--set", f"data.mapping.{role}={getattr(data.mapping, role)}"]
        if data.mapping.layout != "auto":
            sets += ["--set", f"data.mapping.layout={data.mapping.layout}"]
        for key in ("ecal_units", "energy_units"):
            if getattr(data, key) != "auto":
                sets += ["--set", f"data.{key}={getattr(data, key)}"]
        command = shlex.join(["dte", "train", "hep-3dgan", "--set", f"data.path={paths[0]}",
                              *sets])
        lines.append(("dte reads", f"yes: `{command}`"
                      + ("" if len(paths) == 1 else "; several files: join them with `dte data "
                         "prepare hep-3dgan --from F1 --from F2 ... --out DIR`")))
        return lines
