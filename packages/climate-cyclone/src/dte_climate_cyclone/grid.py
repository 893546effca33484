"""Regular latitude-longitude grids, longitude conventions and distances on the sphere."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Grid:
    """Cell centres of a regular grid: latitudes ascending (south to north), longitudes
    ascending (west to east). Patch rows follow latitude, columns longitude."""

    lat: np.ndarray
    lon: np.ndarray

    @classmethod
    def regular(cls, bounds: tuple[float, float, float, float], resolution: float) -> Grid:
        lat0, lat1, lon0, lon1 = bounds
        nlat = max(1, int(round((lat1 - lat0) / resolution)))
        nlon = max(1, int(round((lon1 - lon0) / resolution)))
        lat = lat0 + resolution * (np.arange(nlat) + 0.5)
        lon = lon0 + resolution * (np.arange(nlon) + 0.5)
        return cls(lat.astype(np.float64), wrap180(lon).astype(np.float64)
                   if lon1 <= 180 else lon.astype(np.float64))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.lat), len(self.lon)

    @property
    def resolution(self) -> tuple[float, float]:
        """Spacing in degrees (latitude, longitude)."""
        dlat = float(np.median(np.diff(self.lat))) if len(self.lat) > 1 else 1.0
        dlon = float(np.median(np.diff(self.lon))) if len(self.lon) > 1 else 1.0
        return dlat, dlon

    @property
    def lon_convention(self) -> str:
        """`0-360` if any longitude exceeds 180, else `-180-180`."""
        return "0-360" if float(np.max(self.lon)) > 180 else "-180-180"

    def to_grid_lon(self, lon: np.ndarray | float) -> np.ndarray:
        """Longitudes expressed in this grid's convention."""
        return wrap360(lon) if self.lon_convention == "0-360" else wrap180(lon)

    def fractional_index(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of positions in grid-cell units (cell centre = integer)."""
        dlat, dlon = self.resolution
        rows = (np.asarray(lat, dtype=np.float64) - self.lat[0]) / dlat
        cols = (self.to_grid_lon(np.asarray(lon, dtype=np.float64)) - self.lon[0]) / dlon
        return rows, cols

    def contains(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Whether positions fall inside the grid (within half a cell of its edges)."""
        rows, cols = self.fractional_index(lat, lon)
        nlat, nlon = self.shape
        return (rows >= -0.5) & (rows <= nlat - 0.5) & (cols >= -0.5) & (cols <= nlon - 0.5)

    def position(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latitude and longitude of fractional grid positions."""
        dlat, dlon = self.resolution
        return self.lat[0] + np.asarray(rows) * dlat, self.lon[0] + np.asarray(cols) * dlon


def wrap180(lon: np.ndarray | float) -> np.ndarray:
    """Longitudes in [-180, 180)."""
    return (np.asarray(lon, dtype=np.float64) + 180.0) % 360.0 - 180.0


def wrap360(lon: np.ndarray | float) -> np.ndarray:
    """Longitudes in [0, 360)."""
    return np.asarray(lon, dtype=np.float64) % 360.0


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Haversine distance in km."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(wrap180(np.asarray(lon2) - np.asarray(lon1)))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def local_offsets_km(lat0, lon0, lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """East and north offsets in km of (lat, lon) from (lat0, lon0) (local tangent plane)."""
    km_per_deg = np.pi * EARTH_RADIUS_KM / 180.0
    dx = wrap180(np.asarray(lon) - lon0) * km_per_deg * np.cos(np.radians(lat0))
    dy = (np.asarray(lat) - lat0) * km_per_deg
    return dx, dy
