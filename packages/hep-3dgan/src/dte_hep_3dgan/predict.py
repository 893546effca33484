"""`dte predict hep-3dgan`: generated showers for given conditions, in the training layout."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import ConfigError

from dte_hep_3dgan.config import THETA_LIMITS

OPTIONS = {"energy": "primary energy in GeV (required without --input)",
           "theta": "incidence angle in degrees (default 90)",
           "events": "number of showers (default 100)",
           "seed": "noise seed (default 0)",
           "batch_size": "showers per forward pass (default 64)"}


def _usage() -> str:
    return "; ".join(f"--{k.replace('_', '-')} ({v})" for k, v in OPTIONS.items())


def parse_options(options: dict[str, str], need_energy: bool) -> dict[str, Any]:
    """Checked predict options, with one clear error for each kind of bad value."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        names = ", ".join("--" + u.replace("_", "-") for u in unknown)
        raise ConfigError(f"dte predict hep-3dgan does not take {names}. Its options are: "
                          f"{_usage()}.")

    def number(key: str, default: float | None, kind: type) -> Any:
        raw = options.get(key)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"--{key.replace('_', '-')} {raw!r} is not "
                              f"{'a whole number' if kind is int else 'a number'}; "
                              f"it is the {OPTIONS[key]}.") from None
        if kind is float and not math.isfinite(value):
            raise ConfigError(f"--{key} {raw} is not a finite number; it is the {OPTIONS[key]}.")
        return value

    energy = number("energy", None, float)
    if energy is None and need_energy:
        raise ConfigError(f"dte predict hep-3dgan needs the conditions of the showers to "
                          f"generate: --energy GEV [--theta DEG] [--events N], or --input "
                          f"FILE to generate showers for the conditions of FILE's showers. "
                          f"Options: {_usage()}.")
    if energy is not None and energy <= 0:
        raise ConfigError(f"--energy {options['energy']} is not a primary energy: give a "
                          f"positive value in GeV (for example --energy 50).")
    theta = number("theta", 90.0, float)
    if not THETA_LIMITS[0] <= theta <= THETA_LIMITS[1]:
        raise ConfigError(f"--theta {options['theta']} is outside {THETA_LIMITS[0]:g}-"
                          f"{THETA_LIMITS[1]:g} degrees, the incidence angles the calorimeter "
                          f"window holds (90 is normal incidence).")
    events = number("events", 100, int)
    if events < 1:
        raise ConfigError(f"--events {options['events']} must be 1 or more.")
    batch = number("batch_size", 64, int)
    if batch < 1:
        raise ConfigError(f"--batch-size {options['batch_size']} must be 1 or more.")
    return {"energy": energy, "theta": theta, "events": events,
            "seed": number("seed", 0, int), "batch_size": batch}


def warn_outside_domain(generator: Any, energy: np.ndarray, theta_deg: np.ndarray) -> None:
    """A warning on stderr when conditions leave the range the generator was trained on."""
    e_lo, e_hi, t_lo, t_hi = (float(v) for v in generator.domain)
    for name, values, lo, hi, unit in (("energy", energy, e_lo, e_hi, "GeV"),
                                       ("theta", theta_deg, t_lo, t_hi, "degrees")):
        outside = (values < lo * (1 - 1e-6)) | (values > hi * (1 + 1e-6))
        if outside.any():
            print(f"Warning: {outside.sum()} of {len(values)} requested {name} value(s) "
                  f"({values[outside].min():g}-{values[outside].max():g} {unit}) lie outside "
                  f"the range the model was trained on ({lo:g}-{hi:g} {unit}); the generated "
                  f"showers there are extrapolations, not validated physics.",
                  file=sys.stderr, flush=True)


def generate(config: Any, generator: Any, energy: np.ndarray, theta_rad: np.ndarray,
             seed: int = 0, batch_size: int = 64) -> np.ndarray:
    """Showers in GeV, (n, 51, 51, 25) float32, from the trained generator."""
    import torch

    from dte_hep_3dgan.data import Transform
    from dte_hep_3dgan.model import conditions

    transform = Transform.of(config.data)
    device = next(generator.parameters()).device
    noise_rng = torch.Generator().manual_seed(seed)
    generator.eval()
    out = np.empty((len(energy), 51, 51, 25), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(energy), batch_size):
            stop = min(start + batch_size, len(energy))
            e = torch.as_tensor(energy[start:stop], dtype=torch.float32, device=device)
            t = torch.as_tensor(theta_rad[start:stop], dtype=torch.float32, device=device)
            noise = torch.randn(stop - start, config.model.latent_dim,
                                generator=noise_rng).to(device)
            x = generator(noise, conditions(e, t, config.data.energy_scale))
            gev = transform.inverse(x)[:, 0]
            out[start:stop] = gev.cpu().numpy()
    return out


def predict(config: Any, models: dict[str, Any], output: Path, inputs: Path | None,
            options: dict[str, str]) -> Path:
    """Write generated showers to `output` (.root: ROOT, else HDF5), atomically."""
    from dte_hep_3dgan import files

    opts = parse_options(options, need_energy=inputs is None)
    if inputs is not None:
        source = files.ShowerFile(inputs, config.data.root_cache_mb, config.data)
        energy, theta_rad = source.energy.astype(np.float32), source.theta.astype(np.float32)
    else:
        energy = np.full(opts["events"], opts["energy"], dtype=np.float32)
        theta_rad = np.full(opts["events"], math.radians(opts["theta"]), dtype=np.float32)
    generator = models["generator"]
    warn_outside_domain(generator, energy, np.degrees(theta_rad))
    ecal = generate(config, generator, energy, theta_rad, opts["seed"], opts["batch_size"])
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial{output.suffix}")
    try:
        files.write(partial, ecal, energy, theta_rad,
                    {"generator": "dte-hep-3dgan 3DGAN", "seed": opts["seed"]})
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return output
