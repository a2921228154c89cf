"""What the product simulators share: the :class:`SimulatedProduct` container and small helpers.

Used by :mod:`xgpm.simulate.products` (orbits, instruments, files), :mod:`xgpm.simulate.imerg`
and :mod:`xgpm.simulate.radar`: sensor lookup, the default truth, cropping a swath to a region,
the simulated time window and minute arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xgpm.errors import InvalidArgumentError
from xgpm.simulate import orbits
from xgpm.simulate.regions import Region


@dataclass
class SimulatedProduct:
    """One simulated file's worth of data.

    Attributes
    ----------
    product : str
        GPM-API product ("1C-GMI", "2A-DPR", "IMERG-FR") or "RADAR-COMPOSITE".
    granule : int
        Orbit number; minute of the day for IMERG; minutes since ``orbits.EPOCH`` (1987-01-01)
        for the radar.
    start, end : numpy.datetime64
    data : dict of str to xr.Dataset, or xr.Dataset
        Scan mode -> Dataset for swath products; a Dataset for grids.
    """

    product: str
    granule: int
    start: np.datetime64
    end: np.datetime64
    data: Any = field(repr=False, default=None)


def _sensor(name: str) -> Any:
    from xgpm import sensors

    return sensors.get(name)


def _time_window(start: Any, days: float | None, end: Any) -> tuple[np.datetime64, np.datetime64]:
    t0 = orbits._as_ns(start)[()]
    if end is not None:
        t1 = orbits._as_ns(end)[()]
    elif days is not None:
        t1 = t0 + np.timedelta64(int(round(float(days) * 86400e9)), "ns")
    else:
        raise InvalidArgumentError("pass days= or end=")
    if t1 <= t0:
        raise InvalidArgumentError(f"the end of the simulation ({t1}) must be after start ({t0})")
    return t0, t1


def _crop(geom: orbits.SwathGeometry, region: Region, pad: int = 2) -> orbits.SwathGeometry | None:
    inside = np.zeros(len(geom.scan_times), dtype=bool)
    for mode in geom.modes.values():
        inside |= orbits.in_region(mode.lon, mode.lat, region).any(axis=0)
    scans = np.flatnonzero(inside)
    if scans.size == 0:
        return None
    lo, hi = max(int(scans[0]) - pad, 0), min(int(scans[-1]) + pad + 1, len(inside))
    return geom.subset(slice(lo, hi))


def _default_truth() -> Any:
    from xgpm.simulate.scenes import truth_scene

    return truth_scene


_HALF_HOUR = np.timedelta64(30, "m")


def _minutes(td: np.ndarray) -> np.ndarray:
    return np.asarray(td, dtype="timedelta64[ns]").astype("int64") / 6e10
