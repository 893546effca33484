"""Electron showers in a silicon-tungsten ECAL, parametrised after Grindhammer and Peters (GFlash).

Reference: G. Grindhammer, S. Peters, "The parameterized simulation of electromagnetic showers
in homogeneous and sampling calorimeters", hep-ex/0001020. Each shower is built as follows.

1. Longitudinal: dE/dt = E f(t), f the Gamma distribution in radiation lengths t with shape
   alpha and maximum T = (alpha - 1) / beta. Per shower, (ln T, ln alpha) are drawn from a
   correlated bivariate normal whose means, widths and correlation depend on y = E / Ec
   (sampling-calorimeter values, including the sampling-frequency and e/mip corrections).
2. Radial: f(r) = p 2r Rc^2/(r^2+Rc^2)^2 + (1-p) 2r Rt^2/(r^2+Rt^2)^2 in Moliere radii, core
   Rc, tail Rt and core share p depending on the depth relative to the maximum, tau = t / T.
3. Spots: the energy of each layer is carried by GFlash spots (n1 ln Z E^n2 of them, spread
   longitudinally by their own Gamma profile) placed by the radial profile around the axis;
   their histogram gives each cell's share of the layer.
4. Sampling: each cell's visible energy is f_samp sigma^2 Gamma(E_cell / sigma^2), so cells
   fluctuate like a sampling calorimeter of resolution sigma/sqrt(E) and the layer and total
   sums inherit exactly that resolution; f_samp = e/mip x the mip sampling fraction.
5. Angle: the axis enters at polar angle theta (90 degrees is normal incidence) in the (y, z)
   plane: each layer is crossed over 1/sin(theta) more radiation lengths, the axis moves by
   cot(theta) per unit depth along y (the window is centred where it crosses the middle
   layer), and the transverse profile is stretched by 1/sin(theta) along y.

Only numpy and scipy: importing this module is cheap and it runs in generator processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: bumped whenever the same seed would give different showers (keys the data cache)
VERSION = 1
SHAPE = (51, 51, 25)


@dataclass(frozen=True)
class Calorimeter:
    """A CLIC-like Si-W ECAL: 25 layers of tungsten + silicon, 5.1 mm cells, 51 x 51 window."""

    cells_x: int = SHAPE[0]
    cells_y: int = SHAPE[1]
    layers: int = SHAPE[2]
    cell_mm: float = 5.1
    absorber_mm: float = 2.8  # tungsten
    sensor_mm: float = 0.5  # silicon
    # material constants (PDG): radiation length, Moliere radius, critical energy, Z,
    # minimum-ionising dE/dx and density
    w_x0_mm: float = 3.504
    w_rm_mm: float = 9.327
    w_ec_mev: float = 7.97
    w_z: float = 74.0
    w_dedx_mev_cm: float = 1.145 * 19.30
    w_density: float = 19.30
    si_x0_mm: float = 93.70
    si_ec_mev: float = 40.19
    si_z: float = 14.0
    si_dedx_mev_cm: float = 1.664 * 2.329
    si_density: float = 2.329
    #: stochastic term of the energy resolution, sigma/E = stochastic / sqrt(E/GeV)
    stochastic: float = 0.17
    #: the effective-medium quantities, derived in __post_init__
    derived: dict[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        pitch = self.absorber_mm + self.sensor_mm
        x0_per_layer = self.absorber_mm / self.w_x0_mm + self.sensor_mm / self.si_x0_mm
        x0_eff = pitch / x0_per_layer  # mm
        mass_w = self.absorber_mm * self.w_density
        mass_si = self.sensor_mm * self.si_density
        z_eff = (mass_w * self.w_z + mass_si * self.si_z) / (mass_w + mass_si)
        # critical energy weighted by each material's share of the radiation lengths
        ec_eff = (self.absorber_mm / self.w_x0_mm * self.w_ec_mev
                  + self.sensor_mm / self.si_x0_mm * self.si_ec_mev) / x0_per_layer
        rm_eff = self.w_rm_mm * pitch / self.absorber_mm  # silicon barely scatters
        e_mip = 1.0 / (1.0 + 0.007 * (self.w_z - self.si_z))  # G&P e/mip ratio
        mip_fraction = (self.si_dedx_mev_cm * self.sensor_mm) / (
            self.si_dedx_mev_cm * self.sensor_mm + self.w_dedx_mev_cm * self.absorber_mm)
        self.derived.update(
            x0_per_layer=x0_per_layer, x0_eff_mm=x0_eff, z_eff=z_eff, ec_eff_mev=ec_eff,
            rm_eff_mm=rm_eff, e_mip=e_mip, sampling_fraction=e_mip * mip_fraction,
            inv_fs=pitch / x0_eff, pitch_mm=pitch)

    @property
    def sampling_fraction(self) -> float:
        """Visible (silicon) share of an electron shower's energy."""
        return self.derived["sampling_fraction"]


ECAL = Calorimeter()


def longitudinal_parameters(energy: float, calo: Calorimeter, rng: np.random.Generator
                            ) -> tuple[float, float]:
    """(alpha, T in X0) of one shower: correlated log-normal fluctuations (G&P, sampling)."""
    d = calo.derived
    ln_y = math.log(energy * 1000.0 / d["ec_eff_mev"])
    t_hom = ln_y - 0.812
    a_hom = 0.81 + (0.458 + 2.26 / d["z_eff"]) * ln_y
    one_minus_e = 1.0 - d["e_mip"]
    mean_ln_t = math.log(max(t_hom - 0.55 * d["inv_fs"] - 0.69 * one_minus_e, 0.3))
    mean_ln_a = math.log(max(a_hom - 0.476 * d["inv_fs"], 1.2))
    sigma_ln_t = 1.0 / (-2.5 + 1.25 * ln_y)
    sigma_ln_a = 1.0 / (-0.82 + 0.79 * ln_y)
    rho = 0.784 - 0.023 * ln_y
    z1, z2 = rng.standard_normal(2)
    ln_t = mean_ln_t + sigma_ln_t * z1
    ln_a = mean_ln_a + sigma_ln_a * (rho * z1 + math.sqrt(1.0 - rho * rho) * z2)
    return max(math.exp(ln_a), 1.05), math.exp(ln_t)


def layer_fractions(alpha: float, tmax: float, edges: np.ndarray) -> np.ndarray:
    """Share of a Gamma(alpha, beta = (alpha-1)/T) profile between consecutive `edges`."""
    from scipy.special import gammainc

    beta = (alpha - 1.0) / tmax
    return np.diff(gammainc(alpha, beta * edges))


def radial_parameters(energy: float, tau: np.ndarray, calo: Calorimeter
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Rc, Rt in Moliere radii, core share p) at relative depths tau (G&P, with the sampling
    corrections of Rc and Rt)."""
    d = calo.derived
    z, ln_e = d["z_eff"], math.log(energy)
    one_minus_e, inv_fs = 1.0 - d["e_mip"], d["inv_fs"]
    r_core = (0.0251 + 0.00319 * ln_e) + (0.1162 - 0.000381 * z) * tau
    r_core += -0.0203 * one_minus_e + 0.0397 * inv_fs * np.exp(-tau)
    k1, k2, k3, k4 = 0.659 - 0.00309 * z, 0.645, -2.59, 0.3585 + 0.0412 * ln_e
    r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
    r_tail += -0.14 * one_minus_e - 0.495 * inv_fs * np.exp(-tau)
    p1, p2, p3 = 2.632 - 0.00094 * z, 0.401 + 0.00187 * z, 1.313 - 0.0686 * ln_e
    arg = (p2 - tau) / p3
    p = p1 * np.exp(arg - np.exp(arg))
    r_core = np.maximum(r_core, 0.02)
    r_tail = np.maximum(r_tail, r_core * 1.5)
    return r_core, r_tail, np.clip(p, 0.0, 1.0)


def shower(energy: float, theta_deg: float, rng: np.random.Generator,
           calo: Calorimeter = ECAL) -> np.ndarray:
    """One electron shower of `energy` GeV at polar angle `theta_deg`: visible GeV per cell,
    float32 of shape (cells_x, cells_y, layers)."""
    d = calo.derived
    nx, ny, nl = calo.cells_x, calo.cells_y, calo.layers
    theta = math.radians(theta_deg)
    sin_t, cot_t = math.sin(theta), math.cos(theta) / math.sin(theta)
    alpha, tmax = longitudinal_parameters(energy, calo, rng)
    edges = np.arange(nl + 1) * d["x0_per_layer"] / sin_t  # layer faces along the axis, X0
    energy_frac = layer_fractions(alpha, tmax, edges)
    # GFlash spot multiplicity and its own longitudinal profile
    z = d["z_eff"]
    n_spots = 93.0 * math.log(z) * energy ** 0.876
    alpha_s = max(alpha * (0.639 + 0.00334 * z), 1.05)
    tmax_s = tmax * (0.698 + 0.00212 * z)
    spot_frac = layer_fractions(alpha_s, tmax_s, edges)
    spots = rng.poisson(n_spots * spot_frac)
    spots = np.where((spots == 0) & (energy_frac > 1e-7), 1, spots)
    layer_of = np.repeat(np.arange(nl, dtype=np.int32), spots)
    # radial position of every spot, core or tail by the layer's p (float32: millions of them)
    tau = (edges[:-1] + edges[1:]) / 2.0 / tmax
    r_core, r_tail, p = radial_parameters(energy, tau, calo)
    to_cells = d["rm_eff_mm"] / calo.cell_mm
    u = rng.random((3, layer_of.size), dtype=np.float32)
    radius = np.where(u[0] < p[layer_of], r_core[layer_of] * to_cells,
                      r_tail[layer_of] * to_cells).astype(np.float32)
    q = np.minimum(u[1], np.float32(1.0 - 1e-7))
    r = radius * np.sqrt(q / (1.0 - q))
    phi = np.float32(2.0 * math.pi) * u[2]
    depth_mm = (np.arange(nl) + 0.5) * d["pitch_mm"]
    middle_mm = nl / 2.0 * d["pitch_mm"]
    jitter = rng.uniform(-0.5, 0.5, 2)
    axis_x = nx / 2.0 + jitter[0]
    axis_y = (ny / 2.0 + jitter[1] + (depth_mm - middle_mm) * cot_t / calo.cell_mm
              ).astype(np.float32)
    x = np.floor(np.float32(axis_x) + r * np.cos(phi)).astype(np.int32)
    y = np.floor(axis_y[layer_of] + r * np.sin(phi) * np.float32(1.0 / sin_t)).astype(np.int32)
    inside = (x >= 0) & (x < nx) & (y >= 0) & (y < ny)
    flat = (x[inside] * ny + y[inside]) * nl + layer_of[inside]
    counts = np.bincount(flat, minlength=nx * ny * nl)
    cells = np.flatnonzero(counts)
    layer = cells % nl
    # each cell's share of its layer's spots (lateral leakage: spots outside the window)
    true_energy = counts[cells] / np.maximum(spots[layer], 1) * (energy * energy_frac[layer])
    # sampling fluctuations cell by cell: Gamma with variance sigma^2 E per cell
    sigma2 = calo.stochastic ** 2
    visible = np.zeros(nx * ny * nl, dtype=np.float32)
    visible[cells] = rng.gamma(true_energy / sigma2, sigma2) * calo.sampling_fraction
    return visible.reshape(nx, ny, nl)


def block(start: int, count: int, seed: int, energy_range: tuple[float, float],
          theta_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Showers `start` .. `start + count` of a file: (ECAL, energy GeV, theta rad).

    Each block has its own random stream keyed by (seed, start), so a file is the same
    whatever the number of processes that wrote it."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, VERSION, start]))
    energy = rng.uniform(*energy_range, count)
    theta = rng.uniform(*theta_range, count)
    ecal = np.empty((count, *SHAPE), dtype=np.float32)
    for i in range(count):
        ecal[i] = shower(float(energy[i]), float(theta[i]), rng)
    return ecal, energy.astype(np.float32), np.radians(theta).astype(np.float32)
