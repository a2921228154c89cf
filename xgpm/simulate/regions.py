"""Simulation regions: named lon/lat boxes (:data:`REGIONS`) and :func:`get_region`.

A floor of the simulator: orbits (which scans cross a region), the product simulators and
:mod:`xgpm.translate.scenes` read it; it imports nothing of theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xgpm.errors import InvalidArgumentError

__all__ = ["REGIONS", "Region", "get_region"]


@dataclass(frozen=True)
class Region:
    """A simulation region: a lon/lat box (and its centre, for the radar domain)."""

    name: str
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float
    description: str = ""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(lon_min, lon_max, lat_min, lat_max)."""
        return (self.lon_min, self.lon_max, self.lat_min, self.lat_max)

    @property
    def center(self) -> tuple[float, float]:
        """(lat, lon) of the box centre."""
        return (0.5 * (self.lat_min + self.lat_max), 0.5 * (self.lon_min + self.lon_max))

    @classmethod
    def square(cls, name: str, lat: float, lon: float, size_km: float, description: str = ""):
        """Build a region of ``size_km`` x ``size_km`` centred on (lat, lon)."""
        half_lat = size_km / 2.0 / 111.195
        half_lon = size_km / 2.0 / (111.195 * np.cos(np.deg2rad(lat)))
        return cls(
            name, lon - half_lon, lon + half_lon, lat - half_lat, lat + half_lat, description
        )


REGIONS: dict[str, Region] = {
    "france": Region.square(
        "france", 46.5, 2.5, 800.0, "800 x 800 km centred on France (radar composite domain)"
    ),
    "conus": Region("conus", -125.0, -66.0, 24.0, 50.0, "contiguous United States"),
    "tropical-pacific": Region(
        "tropical-pacific", 150.0, 160.0, -5.0, 5.0, "tropical West Pacific ocean box"
    ),
    "tropical-atlantic": Region(
        "tropical-atlantic", -35.0, -25.0, 0.0, 10.0, "tropical Atlantic ocean box (ITCZ)"
    ),
}


def get_region(region: str | Region | Sequence[float]) -> Region:
    """Return a :class:`Region` from a registry name, a Region or a lon/lat box.

    The box is ``(lon_min, lon_max, lat_min, lat_max)`` in degrees.

    Raises
    ------
    InvalidArgumentError
        For an unknown name (the message lists the known ones) or a malformed box.
    """
    if isinstance(region, Region):
        return region
    if isinstance(region, str):
        key = region.strip().lower()
        if key not in REGIONS:
            raise InvalidArgumentError(
                f"unknown region {region!r}; known regions: {', '.join(REGIONS)}, or pass "
                "(lon_min, lon_max, lat_min, lat_max)"
            )
        return REGIONS[key]
    try:
        lon_min, lon_max, lat_min, lat_max = (float(v) for v in region)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"region must be a name ({', '.join(REGIONS)}) or (lon_min, lon_max, lat_min, "
            f"lat_max), got {region!r}"
        ) from err
    if not (-90 <= lat_min < lat_max <= 90):
        raise InvalidArgumentError(
            f"region latitudes must satisfy -90 <= min < max <= 90: {region}"
        )
    return Region("custom", lon_min, lon_max, lat_min, lat_max)
