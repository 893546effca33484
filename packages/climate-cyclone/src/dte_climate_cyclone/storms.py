"""Weather systems of the generator: tropical cyclones, mid-latitude lows and disturbances.

Each system is a track of 3-hourly points (position, intensity, size), drawn from a seeded
random model. Cyclone tracks form in the tropics, move west and poleward with the trade winds
and the beta drift, recurve into the westerlies near 25-30 degrees, intensify and decay
(IBTrACS-like); only they are written as labels. Mid-latitude lows (with fronts) move east
through the storm tracks and weak tropical disturbances drift west: both are clutter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dte_climate_cyclone.grid import EARTH_RADIUS_KM, wrap180

STEP_H = 3.0
KM_PER_DEG = np.pi * EARTH_RADIUS_KM / 180.0
RHO_AIR = 1.15  # kg m-3
E = np.e
MS_TO_KT = 1.0 / 0.514444
#: ratio of the 10 m wind to the gradient wind above the boundary layer
SURFACE_FACTOR = 0.8


def holland_vmax(dp_hpa: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Holland (1980) maximum gradient wind [m/s] (cyclostrophic limit) for a pressure drop."""
    return np.sqrt(np.asarray(b) * np.asarray(dp_hpa) * 100.0 / (RHO_AIR * E))


def holland_pressure(r_km, pc_hpa, dp_hpa, rmax_km, b):
    """Holland (1980) surface pressure [hPa] at radius r: pc + dp exp(-(Rmax/r)^B)."""
    r = np.maximum(np.asarray(r_km, dtype=np.float64), 1e-3)
    return pc_hpa + dp_hpa * np.exp(-(rmax_km / r) ** b)


def holland_wind(r_km, dp_hpa, rmax_km, b, f):
    """Holland (1980) gradient wind speed [m/s] at radius r, Coriolis parameter f [1/s]."""
    r = np.maximum(np.asarray(r_km, dtype=np.float64), 1e-3) * 1000.0
    x = (rmax_km * 1000.0 / r) ** b
    rf = r * np.abs(f) / 2.0
    return np.sqrt(b * dp_hpa * 100.0 / RHO_AIR * x * np.exp(-x) + rf ** 2) - rf


def coriolis(lat) -> np.ndarray:
    return 2 * 7.292e-5 * np.sin(np.radians(lat))


@dataclass
class Track:
    """One system: 3-hourly points from `start` (hours since the period's origin)."""

    kind: str                 # "tc", "low" or "disturbance"
    start_h: float
    lat: np.ndarray
    lon: np.ndarray
    dp: np.ndarray            # central pressure deficit below the environment [hPa]
    radius: np.ndarray        # Rmax (tc) or e-folding radius (low, disturbance) [km]
    b: np.ndarray             # Holland B (tc); front length factor (low)
    u: np.ndarray             # translation [m/s] east
    v: np.ndarray             # translation [m/s] north
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def hours(self) -> np.ndarray:
        return self.start_h + STEP_H * np.arange(len(self.lat))

    def at(self, hour: float) -> dict[str, float] | None:
        """State at `hour` (linear interpolation), or None outside the track's life."""
        t = (hour - self.start_h) / STEP_H
        if t < 0 or t > len(self.lat) - 1:
            return None
        i = min(int(t), len(self.lat) - 2) if len(self.lat) > 1 else 0
        w = t - i if len(self.lat) > 1 else 0.0
        j = min(i + 1, len(self.lat) - 1)

        def lerp(a: np.ndarray) -> float:
            return float(a[i] * (1 - w) + a[j] * w)

        lon_i, lon_j = self.lon[i], self.lon[i] + wrap180(self.lon[j] - self.lon[i])
        return {"lat": lerp(self.lat), "lon": float(wrap180(lon_i * (1 - w) + lon_j * w)),
                "dp": lerp(self.dp), "radius": lerp(self.radius), "b": lerp(self.b),
                "u": lerp(self.u), "v": lerp(self.v), **self.extra}

    def wind_kt(self) -> np.ndarray:
        """10-minute maximum sustained 10 m wind in knots (WMO_WIND) of a cyclone."""
        return SURFACE_FACTOR * holland_vmax(self.dp, self.b) * MS_TO_KT


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _advance(lat: float, lon: float, u: float, v: float) -> tuple[float, float]:
    dt_s = STEP_H * 3600.0
    lat2 = lat + v * dt_s / 1000.0 / KM_PER_DEG
    lon2 = lon + u * dt_s / 1000.0 / (KM_PER_DEG * max(np.cos(np.radians(lat)), 0.2))
    return lat2, float(wrap180(lon2))


def _inside(lat, lon, bounds, margin=5.0) -> bool:
    lat0, lat1, lon0, lon1 = bounds
    dlon = wrap180(lon - lon0)
    width = lon1 - lon0
    return lat0 - margin <= lat <= lat1 + margin and -margin <= dlon <= width + margin


def cyclone(rng: np.random.Generator, bounds, start_h: float) -> Track:
    """A tropical cyclone: genesis at 7-20 degrees, west/poleward motion, recurvature."""
    lat0, lat1, lon0, lon1 = bounds
    hemi = 1.0 if lat0 + lat1 >= 0 else -1.0
    lo, hi = (max(7.0, min(abs(lat0), abs(lat1))), min(20.0, max(abs(lat0), abs(lat1))))
    lat = hemi * rng.uniform(lo, max(hi, lo + 0.1))
    lon = float(wrap180(lon0 + rng.uniform(0.3, 0.95) * (lon1 - lon0)))
    recurve = rng.uniform(23.0, 31.0)
    peak = rng.uniform(15.0, 85.0)
    rate = rng.uniform(1.0, 3.0)
    mature_h = rng.uniform(12.0, 96.0)
    b0 = rng.uniform(-0.15, 0.15)
    rmax0 = rng.uniform(0.8, 1.25)
    du = dv = 0.0
    dp, peaked_at = 4.0, None
    rows = []
    for k in range(int(16 * 24 / STEP_H)):
        alat = abs(lat)
        rows.append((lat, lon, dp))
        du = 0.8 * du + rng.normal(0, 0.8)
        dv = 0.8 * dv + rng.normal(0, 0.6)
        u = -5.5 + 15.0 * _sigmoid((alat - recurve) / 3.5) + du
        v = hemi * (1.5 + 3.5 * _sigmoid((alat - recurve + 4) / 3.0)) + dv
        if peaked_at is None:
            dp += rate * rng.uniform(0.5, 1.5)
            if dp >= peak:
                peaked_at = k
        elif (k - peaked_at) * STEP_H > mature_h or alat > recurve + 3:
            dp -= rng.uniform(1.0, 3.5) * (1.5 if alat > recurve + 5 else 1.0)
        else:
            dp += rng.normal(0, 1.0)
        if peaked_at is not None and dp < 3.0:
            break
        lat, lon = _advance(lat, lon, u, v)
        if not _inside(lat, lon, bounds, margin=8.0):
            break
    arr = np.array(rows)
    dps = np.clip(arr[:, 2], 2.0, 110.0)
    radius = np.clip((25.0 + 75.0 * np.exp(-dps / 30.0)) * rmax0, 12.0, 150.0)
    b = np.clip(1.0 + 0.012 * dps + b0, 0.9, 2.3)
    u, v = _velocities(arr[:, 0], arr[:, 1])
    return Track("tc", start_h, arr[:, 0], arr[:, 1], dps, radius, b, u, v)


def midlatitude_low(rng: np.random.Generator, bounds, start_h: float) -> Track | None:
    """An extratropical low moving east at 35-60 degrees, deepening then filling."""
    lat0, lat1, lon0, lon1 = bounds
    hemi = 1.0 if lat0 + lat1 >= 0 else -1.0
    band = (max(32.0, min(abs(lat0), abs(lat1))), min(60.0, max(abs(lat0), abs(lat1)) + 8))
    if band[0] >= band[1]:
        return None
    lat = hemi * rng.uniform(*band)
    lon = float(wrap180(lon0 - rng.uniform(0, 15) + rng.uniform(0, 0.7) * (lon1 - lon0)))
    peak, grow_h = rng.uniform(10.0, 35.0), rng.uniform(24.0, 60.0)
    life_h = grow_h + rng.uniform(36.0, 84.0)
    speed, drift = rng.uniform(8.0, 16.0), hemi * rng.uniform(-1.0, 3.0)
    steps = int(life_h / STEP_H)
    hours = STEP_H * np.arange(steps)
    dp = np.where(hours < grow_h, peak * hours / grow_h, peak * (1 - (hours - grow_h) /
                                                                  (life_h - grow_h)))
    lats, lons = [lat], [lon]
    for _ in range(steps - 1):
        lat, lon = _advance(lat, lon, speed + rng.normal(0, 1.0), drift + rng.normal(0, 1.0))
        lats.append(lat)
        lons.append(lon)
    lats_a, lons_a = np.array(lats), np.array(lons)
    u, v = _velocities(lats_a, lons_a)
    radius = np.full(steps, rng.uniform(700.0, 1300.0))
    return Track("low", start_h, lats_a, lons_a, np.maximum(dp, 0.5), radius,
                 np.full(steps, rng.uniform(0.8, 1.2)), u, v,
                 extra={"front_bearing": rng.uniform(200.0, 235.0),
                        "front_dt": rng.uniform(3.0, 7.0)})


def disturbance(rng: np.random.Generator, bounds, start_h: float) -> Track:
    """A weak tropical low (easterly wave) drifting west: below cyclone strength."""
    lat0, lat1, lon0, lon1 = bounds
    hemi = 1.0 if lat0 + lat1 >= 0 else -1.0
    lo, hi = max(5.0, min(abs(lat0), abs(lat1))), min(25.0, max(abs(lat0), abs(lat1)))
    lat = hemi * rng.uniform(lo, max(hi, lo + 0.1))
    lon = float(wrap180(lon0 + rng.uniform(0.2, 1.0) * (lon1 - lon0)))
    steps = int(rng.uniform(24.0, 84.0) / STEP_H)
    peak = rng.uniform(1.5, 4.5)
    shape = np.sin(np.linspace(0.15, np.pi - 0.15, steps))
    lats, lons = [lat], [lon]
    for _ in range(steps - 1):
        lat, lon = _advance(lat, lon, -rng.uniform(5.0, 8.0), hemi * rng.uniform(0.0, 1.0))
        lats.append(lat)
        lons.append(lon)
    lats_a, lons_a = np.array(lats), np.array(lons)
    u, v = _velocities(lats_a, lons_a)
    return Track("disturbance", start_h, lats_a, lons_a, peak * shape,
                 np.full(steps, rng.uniform(250.0, 450.0)), np.ones(steps), u, v)


def _velocities(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Translation velocity [m/s] from successive positions (forward differences)."""
    if len(lat) < 2:
        return np.zeros(len(lat)), np.zeros(len(lat))
    dt = STEP_H * 3600.0
    dy = np.diff(lat) * KM_PER_DEG * 1000.0
    dx = wrap180(np.diff(lon)) * KM_PER_DEG * 1000.0 * np.cos(np.radians(lat[:-1]))
    u, v = np.append(dx / dt, dx[-1] / dt), np.append(dy / dt, dy[-1] / dt)
    return u, v


def draw_systems(seed: int, bounds, hours_total: float, storms_per_month: float,
                 lows_per_month: float) -> list[Track]:
    """Every system alive during [0, hours_total] hours, from a seeded Poisson process."""
    rng = np.random.default_rng([seed, 7])
    months = hours_total / (24 * 30.4)
    lead = 5 * 24.0  # systems born before the period still show in it
    systems: list[Track] = []
    for kind, rate in (("tc", storms_per_month), ("low", lows_per_month),
                       ("disturbance", 1.5 * storms_per_month)):
        count = rng.poisson(rate * (months + lead / (24 * 30.4)))
        for start in np.sort(rng.uniform(-lead, hours_total, size=count)):
            start = STEP_H * round(float(start) / STEP_H)
            if kind == "tc":
                systems.append(cyclone(rng, bounds, start))
            elif kind == "low":
                low = midlatitude_low(rng, bounds, start)
                if low is not None:
                    systems.append(low)
            else:
                systems.append(disturbance(rng, bounds, start))
    return systems
