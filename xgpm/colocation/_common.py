"""What every stage of the colocation engine shares: constants and great-circle distance."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

EARTH_RADIUS_KM = 6371.0


_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))  # = 1 / 2.3548


_NAT = np.iinfo(np.int64).min


_SWATH_METHODS = ("nearest", "mean", "gaussian")


_GRID_METHODS = ("nearest", "bilinear")


# Default task length: a whole orbit of any sensor is one task per thread (fewer, longer tasks
# cost less planning), while the per-task search stays linear in the swath length.
_MAX_SCANS_PER_TASK = 4096


_THREADED_SCANS_PER_TASK = 512


_FIXED_OUTPUTS = ("distance", "time_offset", "source_index", "n_matches")


def great_circle_km(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance (km) on the sphere R = 6371.0 km (haversine formula)."""
    lo1, la1, lo2, la2 = (
        np.deg2rad(np.asarray(a, dtype=np.float64)) for a in (lon1, lat1, lon2, lat2)
    )
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _empty_together(specs: list[tuple[tuple[int, ...], Any]]) -> list[np.ndarray]:
    """Uninitialised arrays of the given (shape, dtype) carved from one allocation.

    One large allocation is backed by transparent huge pages (numpy advises them from 4 MiB),
    so the first touch of the outputs costs a few faults instead of one per 4 KiB page, which
    on a virtual machine costs more than writing the colocation results.
    """
    sizes = [int(np.prod(shape)) * np.dtype(dtype).itemsize for shape, dtype in specs]
    offsets = np.concatenate([[0], np.cumsum([-(-n // 64) * 64 for n in sizes])]).astype(int)
    arena = np.empty(int(offsets[-1]), dtype=np.uint8)
    return [
        arena[offsets[i] : offsets[i] + sizes[i]].view(np.dtype(dtype)).reshape(shape)
        for i, (shape, dtype) in enumerate(specs)
    ]
