"""A simulated ground-radar composite (ODIM_H5 layout) over a region.

:func:`simulate_radar`: rain rates on a 1 km grid from the truth, with the quality fields of
:data:`RADAR_SITES` (range from the nearest site, beam blockage, coverage).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.simulate import orbits
from xgpm.simulate._common import (
    SimulatedProduct,
    _default_truth,
    _minutes,
)
from xgpm.simulate.regions import Region, get_region
from xgpm.simulate.swath_datasets import granule_rng

__all__ = ["RADAR_SITES", "simulate_radar"]

#: Approximate positions of a subset of the French ARAMIS network (lat, lon) and beam-blockage
#: sectors (azimuth from, azimuth to, fraction of the beam lost) - illustrative, not surveyed.
RADAR_SITES: dict[str, dict[str, Any]] = {
    "Abbeville": {"lat": 50.14, "lon": 1.83, "blockage": []},
    "Trappes": {"lat": 48.77, "lon": 2.01, "blockage": [(60.0, 75.0, 0.5)]},
    "Plabennec": {"lat": 48.46, "lon": -4.43, "blockage": []},
    "Treillieres": {"lat": 47.34, "lon": -1.65, "blockage": []},
    "Bordeaux": {"lat": 44.83, "lon": -0.69, "blockage": [(150.0, 170.0, 0.4)]},
    "Momuy": {"lat": 43.62, "lon": -0.61, "blockage": [(140.0, 200.0, 0.8)]},
    "Grezes": {"lat": 44.75, "lon": 1.38, "blockage": [(80.0, 110.0, 0.6)]},
    "Nimes": {"lat": 43.81, "lon": 4.50, "blockage": [(0.0, 40.0, 0.5), (330.0, 360.0, 0.5)]},
    "Collobrieres": {"lat": 43.22, "lon": 6.33, "blockage": [(20.0, 70.0, 0.9)]},
    "Sembadel": {"lat": 45.29, "lon": 3.70, "blockage": [(200.0, 260.0, 0.5)]},
    "Blaisy-Haut": {"lat": 47.36, "lon": 4.78, "blockage": []},
    "Arcis": {"lat": 48.46, "lon": 4.06, "blockage": []},
    "Nancy": {"lat": 48.72, "lon": 6.58, "blockage": [(90.0, 130.0, 0.4)]},
    "Bourges": {"lat": 47.06, "lon": 2.36, "blockage": []},
}


_RADAR_MAX_RANGE_KM = 250.0


def _radar_quality_fields(
    lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per cell, for the best radar: quality (0-1), rain factor, detection threshold, covered."""
    best_q = np.zeros(lat.shape)
    factor = np.ones(lat.shape)
    thresh = np.full(lat.shape, np.inf)
    p = orbits._latlon_to_unit(lat, lon)
    for site in RADAR_SITES.values():
        s = orbits._latlon_to_unit(np.array(site["lat"]), np.array(site["lon"]))
        r = np.arccos(np.clip(p @ s, -1, 1)) * orbits.EARTH_RADIUS_KM
        la1, la2 = np.deg2rad(site["lat"]), np.deg2rad(lat)
        dlon = np.deg2rad(lon - site["lon"])
        az = (
            np.rad2deg(
                np.arctan2(
                    np.sin(dlon) * np.cos(la2),
                    np.cos(la1) * np.sin(la2) - np.sin(la1) * np.cos(la2) * np.cos(dlon),
                )
            )
            % 360.0
        )
        blocked = np.zeros(lat.shape)
        for a0, a1, frac in site["blockage"]:
            blocked = np.maximum(blocked, np.where((az >= a0) & (az < a1), frac, 0.0))
        # Beam broadening/overshoot: underestimation and a detection floor growing with range.
        range_factor = 1.0 - 0.45 * (r / _RADAR_MAX_RANGE_KM) ** 2
        q = np.where(r <= _RADAR_MAX_RANGE_KM, np.exp(-((r / 150.0) ** 2)) * (1 - blocked), 0.0)
        better = q > best_q
        best_q = np.where(better, q, best_q)
        factor = np.where(better, range_factor * (1 - blocked), factor)
        thresh = np.where(better, 0.1 * (1.0 + (r / 100.0) ** 2), thresh)
    covered = best_q > 0
    return best_q, factor, thresh, covered


def simulate_radar(
    region: str | Region,
    start: Any,
    end: Any,
    *,
    seed: int = 0,
    step: str = "5min",
    size_km: float | None = None,
    truth_res_km: float = 2.0,
    truth_fn: Any = None,
) -> Iterator[SimulatedProduct]:
    """Yield ground-radar composites (ODIM-like ``ACRR`` accumulations) on a polar grid.

    The grid (polar stereographic) is the legacy 1 km French composite grid cut to
    ``size_km`` x ``size_km`` around the region centre. Each accumulation is the truth rate at
    the middle of the step (evaluated every ``truth_res_km`` and interpolated to 1 km) times the
    step length, degraded by the best radar of :data:`RADAR_SITES` for each cell:
    underestimation growing with range, beam-blockage sectors, a detection floor growing with
    range (below: ``undetect``, i.e. 0), no data beyond 250 km (NaN), 20 % multiplicative noise.
    A ``quality`` field (0-1) comes with it.

    Parameters
    ----------
    region : str or Region
        Region whose centre the domain is centred on.
    start, end : time-like
    seed : int
    step : str
        Accumulation period (pandas frequency).
    size_km : float, optional
        Side of the square domain; default: the region's larger side (800 km for "france").
    truth_res_km : float
        Resolution at which the truth is evaluated before interpolation to the 1 km grid.
    truth_fn : callable, optional
        Replacement of :func:`xgpm.simulate.truth_scene` (tests, benchmarks).
    """
    from scipy.ndimage import map_coordinates

    from xgpm.io.odim import france_1km

    region = get_region(region)
    clat, clon = region.center
    if size_km is None:
        size_km = max(
            (region.lat_max - region.lat_min) * 111.195,
            (region.lon_max - region.lon_min) * 111.195 * np.cos(np.deg2rad(clat)),
        )
        size_km = float(np.round(size_km))
    grid = france_1km().cut(clat, clon, size_km)
    lon2, lat2 = grid.lonlat()
    q, factor, thresh, covered = _radar_quality_fields(lat2, lon2)
    # Coarse truth grid in projection space, interpolated to the 1 km cells.
    k = max(int(round(truth_res_km * 1000.0 / grid.xscale)), 1)
    coarse = lat2[::k, ::k], lon2[::k, ::k]
    rows = np.arange(grid.ysize) / k
    cols = np.arange(grid.xsize) / k
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    dt = pd.Timedelta(step).to_timedelta64().astype("timedelta64[ns]")
    t0, t1 = orbits._as_ns(start)[()], orbits._as_ns(end)[()]
    first = t0 - np.mod((t0 - orbits.EPOCH).astype("int64"), dt.astype("int64")).astype(
        "timedelta64[ns]"
    )
    truth_scene = truth_fn or _default_truth()
    for ts in np.arange(first, t1, dt):
        mid = ts + dt // 2
        scene = truth_scene(coarse[0], coarse[1], np.array([mid]), seed=seed)
        rate_c = np.asarray(scene["surface_precip"].transpose("time", ...).values[0], "float64")
        rate = map_coordinates(np.nan_to_num(rate_c), [rr, cc], order=1, mode="nearest")
        minutes = int(_minutes(ts - orbits.EPOCH))
        rng = granule_rng(seed, "RADAR", minutes)
        noise = np.exp(rng.normal(-0.02, 0.2, rate.shape))
        measured = rate * factor * noise
        measured[measured < thresh] = 0.0
        hours = float(dt.astype("int64")) / 3.6e12
        acrr = np.where(covered, measured * hours, np.nan)
        ds = xr.Dataset(
            {
                "ACRR": (("time", "y", "x"), acrr[None].astype("float32")),
                "quality": (("time", "y", "x"), np.where(covered, q, np.nan)[None].astype("f4")),
            },
            coords={
                "time": [ts],
                "time_end": ("time", [ts + dt]),
                "x": grid.x,
                "y": grid.y,
                "lon": (("y", "x"), lon2.astype("float32")),
                "lat": (("y", "x"), lat2.astype("float32")),
            },
            attrs={"projdef": grid.projdef, "product": "RADAR-COMPOSITE", "simulated": "xgpm"},
        )
        ds["ACRR"].attrs["units"] = "mm"
        yield SimulatedProduct("RADAR-COMPOSITE", minutes, ts, ts + dt, ds)
