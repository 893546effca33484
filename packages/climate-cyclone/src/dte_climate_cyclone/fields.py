"""Synthetic CMIP6-style fields: background climate, clutter and Holland (1980) cyclones.

At each time the fields are a pure function of (seed, time index, systems), so any block of
time steps can be computed independently (dask writes them in parallel, chunk by chunk):

  psl      climatological zonal pressure belts (equatorial trough, subtropical high,
           subpolar low) + travelling planetary waves + mid-latitude lows with fronts + weak
           tropical disturbances + Holland cyclones + mesoscale noise (convective systems,
           ~150 km, 0.8 hPa) + white noise                                          [Pa]
  uas/vas  trade winds and westerlies + frictional geostrophic wind of the non-cyclone
           pressure + the cyclones' gradient wind (reduced to 10 m, 20 degree inflow,
           translation asymmetry) + noise                                          [m s-1]
  sfcWind  speed of (uas, vas)                                                     [m s-1]
  ta500,   meridional temperature gradient + waves + cold-core lows and frontal zones +
  ta300    the cyclones' warm core aloft (stronger at 300 than at 500 hPa) + noise      [K]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dte_climate_cyclone.grid import Grid, local_offsets_km, wrap180
from dte_climate_cyclone.storms import (
    RHO_AIR,
    SURFACE_FACTOR,
    Track,
    coriolis,
    holland_wind,
)

ENV_PRESSURE_HPA = 1010.0
#: CF metadata of every generated variable (CMIP6 names and units)
VARIABLES: dict[str, dict[str, str]] = {
    "psl": {"standard_name": "air_pressure_at_mean_sea_level", "units": "Pa",
            "long_name": "Sea Level Pressure"},
    "sfcWind": {"standard_name": "wind_speed", "units": "m s-1",
                "long_name": "Near-Surface Wind Speed", "comment": "10 m"},
    "uas": {"standard_name": "eastward_wind", "units": "m s-1",
            "long_name": "Eastward Near-Surface Wind", "comment": "10 m"},
    "vas": {"standard_name": "northward_wind", "units": "m s-1",
            "long_name": "Northward Near-Surface Wind", "comment": "10 m"},
    "ta500": {"standard_name": "air_temperature", "units": "K",
              "long_name": "Air Temperature at 500 hPa", "comment": "plev: 50000 Pa"},
    "ta300": {"standard_name": "air_temperature", "units": "K",
              "long_name": "Air Temperature at 300 hPa", "comment": "plev: 30000 Pa"},
}


@dataclass(frozen=True)
class Waves:
    """Travelling planetary waves: amplitude [hPa], wave numbers [1/deg], speed, phase."""

    amp: np.ndarray
    kx: np.ndarray
    ky: np.ndarray
    omega: np.ndarray  # [rad/hour]
    phase: np.ndarray

    @classmethod
    def draw(cls, seed: int, count: int = 10) -> Waves:
        rng = np.random.default_rng([seed, 11])
        wavelength = rng.uniform(25.0, 70.0, count)  # degrees
        angle = rng.uniform(-0.6, 0.6, count)
        k = 2 * np.pi / wavelength
        speed = rng.uniform(2.0, 8.0, count)  # degrees of longitude per day, eastward
        return cls(rng.uniform(0.6, 2.5, count), k * np.cos(angle), k * np.sin(angle),
                   k * np.cos(angle) * speed / 24.0, rng.uniform(0, 2 * np.pi, count))

    def at(self, lat2: np.ndarray, lon2: np.ndarray, hour: float) -> np.ndarray:
        out = np.zeros_like(lat2)
        for a, kx, ky, w, p in zip(self.amp, self.kx, self.ky, self.omega, self.phase,
                                   strict=True):
            out += a * np.cos(kx * lon2 + ky * lat2 - w * hour + p)
        return out


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class FieldModel:
    """Evaluates every variable on `grid` at a time, given the systems of the period."""

    def __init__(self, grid: Grid, systems: list[Track], seed: int) -> None:
        self.grid, self.systems, self.seed = grid, systems, seed
        self.lat2, self.lon2 = np.meshgrid(grid.lat, grid.lon, indexing="ij")
        self.lon2_cont = self.lon2 if grid.lon_convention == "0-360" else \
            np.unwrap(np.radians(self.lon2), axis=1) * 180 / np.pi
        alat = np.abs(self.lat2)
        self.hemi = np.where(self.lat2 >= 0, 1.0, -1.0)
        # zonal-mean climate: pressure belts, trades and westerlies, temperature gradient
        self.psl_clim = (1009.0 + 11.0 * np.exp(-((alat - 32.0) / 9.0) ** 2)
                         - 14.0 * np.exp(-((alat - 62.0) / 10.0) ** 2))
        self.u_clim = (-6.0 * np.exp(-((alat - 15.0) / 8.0) ** 2)
                       + 9.0 * np.exp(-((alat - 47.0) / 9.0) ** 2))
        self.t500_clim = 268.0 - 20.0 * _sigmoid((alat - 38.0) / 8.0)
        self.t300_clim = 242.5 - 16.0 * _sigmoid((alat - 38.0) / 8.0)
        self.envelope = 0.35 + 0.65 * _sigmoid((alat - 28.0) / 5.0)
        self.waves = Waves.draw(seed)
        self.f = coriolis(self.lat2)
        self.f_floor = np.where(self.lat2 >= 0, 1.0, -1.0) * np.maximum(np.abs(self.f),
                                                                          coriolis(12.0))
        dlat, dlon = grid.resolution
        self.dy_m = dlat * 111_195.0
        self.dx_m = dlon * 111_195.0 * np.cos(np.radians(self.lat2))
        # spectral filter of mesoscale noise: Gaussian correlation of ~150 km
        ky = np.fft.fftfreq(grid.shape[0], d=dlat * 111.195)[:, None]
        kx = np.fft.rfftfreq(grid.shape[1], d=dlon * 111.195)[None, :]
        self.meso_filter = np.exp(-((kx ** 2 + ky ** 2) * (2 * np.pi * 150.0) ** 2) / 2)

    def mesoscale(self, rng: np.random.Generator) -> np.ndarray:
        """Unit-variance noise with a ~150 km correlation length."""
        white = rng.standard_normal(self.grid.shape)
        field = np.fft.irfft2(np.fft.rfft2(white) * self.meso_filter, s=self.grid.shape)
        return field / max(float(field.std()), 1e-9)

    def at(self, hour: float, index: int) -> dict[str, np.ndarray]:
        """Every variable at `hour` (hours since the period's start); `index` seeds the noise."""
        rng = np.random.default_rng([self.seed, 23, index])
        waves = self.waves.at(self.lat2, self.lon2_cont, hour) * self.envelope
        meso = self.mesoscale(rng)
        psl = self.psl_clim + waves + 0.8 * meso              # hPa
        t500 = self.t500_clim + 0.45 * waves + 0.4 * self.mesoscale(rng)
        t300 = self.t300_clim + 0.35 * waves + 0.4 * self.mesoscale(rng)
        speed_add = np.zeros_like(psl)
        cyclones = []
        for track in self.systems:
            state = track.at(hour)
            if state is None:
                continue
            if track.kind == "tc":
                cyclones.append(state)
                continue
            dx, dy = local_offsets_km(state["lat"], state["lon"], self.lat2, self.lon2)
            r2 = (dx ** 2 + dy ** 2) / state["radius"] ** 2
            psl -= state["dp"] * np.exp(-r2)
            if track.kind == "low":
                cold = 0.18 * state["dp"] * np.exp(-((dx + 0.35 * state["radius"]) ** 2 + dy ** 2)
                                                   / (0.8 * state["radius"]) ** 2)
                t500 -= cold
                t300 -= 0.7 * cold
                front = self._front(state, dx, dy)
                t500 -= state["front_dt"] * front["cold"]
                t300 -= 0.6 * state["front_dt"] * front["cold"]
                psl -= 2.5 * front["line"] * min(1.0, state["dp"] / 10.0)
                speed_add += 5.0 * front["line"] * min(1.0, state["dp"] / 10.0)
            else:
                t500 += 0.3 * state["dp"] * np.exp(-r2)
        # frictional geostrophic wind of the large-scale pressure (cyclones come on top)
        dpdy = np.gradient(psl * 100.0, axis=0) / self.dy_m
        dpdx = np.gradient(psl * 100.0, axis=1) / self.dx_m
        ug = -dpdy / (RHO_AIR * self.f_floor)
        vg = dpdx / (RHO_AIR * self.f_floor)
        turn = np.radians(20.0) * self.hemi  # surface wind turns toward low pressure
        u = self.u_clim + 0.5 * (ug * np.cos(turn) - vg * np.sin(turn))
        v = 0.5 * (ug * np.sin(turn) + vg * np.cos(turn))
        for state in cyclones:
            self._add_cyclone(state, psl, u, v, t500, t300)
        speed = np.hypot(u, v)
        scale = np.where(speed > 0, (speed + speed_add) / np.maximum(speed, 1e-6), 1.0)
        u, v = u * scale, v * scale
        u += rng.normal(0, 0.7, u.shape) + 1.5 * self.mesoscale(rng)
        v += rng.normal(0, 0.7, v.shape) + 1.5 * self.mesoscale(rng)
        np.clip(u, -90, 90, out=u)
        np.clip(v, -90, 90, out=v)
        psl = psl * 100.0 + rng.normal(0, 40.0, psl.shape)
        return {"psl": psl.astype(np.float32), "uas": u.astype(np.float32),
                "vas": v.astype(np.float32), "sfcWind": np.hypot(u, v).astype(np.float32),
                "ta500": (t500 + rng.normal(0, 0.25, psl.shape)).astype(np.float32),
                "ta300": (t300 + rng.normal(0, 0.25, psl.shape)).astype(np.float32)}

    @staticmethod
    def _front(state: dict[str, float], dx: np.ndarray, dy: np.ndarray) -> dict[str, np.ndarray]:
        """A cold front trailing equatorward from the low: a trough line and colder air behind."""
        bearing = np.radians(state["front_bearing"])
        hemi = 1.0 if state["lat"] >= 0 else -1.0
        ex, ey = np.sin(bearing), hemi * np.cos(bearing)   # along the front
        along = dx * ex + dy * ey
        across = -dx * ey + dy * ex                          # > 0 on the cold (western) side
        length = 1800.0 * state["b"]
        taper = _sigmoid(along / 150.0) * _sigmoid((length - along) / 200.0)
        width = 120.0
        return {"line": taper * np.exp(-(across / width) ** 2),
                "cold": taper * 0.5 * (1 + np.tanh(hemi * across / width))}

    def _add_cyclone(self, s: dict[str, float], psl, u, v, t500, t300) -> None:
        """Holland (1980) pressure and wind, warm core aloft, translation asymmetry."""
        dx, dy = local_offsets_km(s["lat"], s["lon"], self.lat2, self.lon2)
        r = np.maximum(np.hypot(dx, dy), 0.5)
        outer = np.exp(-(r / 1300.0) ** 4)
        dp, rmax, b = s["dp"], s["radius"], s["b"]
        psl -= dp * (1.0 - np.exp(-(rmax / r) ** b)) * outer
        f = coriolis(s["lat"])
        speed = SURFACE_FACTOR * holland_wind(r, dp, rmax, b, f) * outer
        sense = 1.0 if s["lat"] >= 0 else -1.0           # cyclonic: anticlockwise in the north
        tx, ty = -dy / r * sense, dx / r * sense
        inflow = np.radians(20.0)
        ux = speed * (np.cos(inflow) * tx - np.sin(inflow) * dx / r)
        vy = speed * (np.cos(inflow) * ty - np.sin(inflow) * dy / r)
        vmax = max(float(np.max(speed)), 1e-6)
        u += ux + 0.5 * s["u"] * speed / vmax
        v += vy + 0.5 * s["v"] * speed / vmax
        core = np.exp(-(r / (150.0 + 2.0 * rmax)) ** 2)
        t500 += 0.08 * dp * core
        t300 += 0.18 * dp * core


def centre_lon(lon: float, grid: Grid) -> float:
    """A track longitude in the grid's convention."""
    return float(grid.to_grid_lon(wrap180(lon)))
