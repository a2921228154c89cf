"""Colocation engine: put one dataset's variables onto another's pixels.

``colocate`` matches swath to swath, swath to grid (lat/lon or projected) and grid to swath with
scan-ordered Numba kernels (no global tree). Importing this package does not import numba; the
kernels are compiled on first use.
"""

from __future__ import annotations

from xgpm.colocation.core import EARTH_RADIUS_KM, colocate, great_circle_km

__all__ = ["EARTH_RADIUS_KM", "colocate", "great_circle_km"]
