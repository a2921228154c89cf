"""Simulated IMERG half-hourly precipitation from the constellation's overpasses.

:func:`simulate_imerg`: the truth averaged on IMERG's 0.1 degree grid, seen through the passive
microwave overpasses of :data:`IMERG_CONSTELLATION` (their coverage, a morphing between them over
at most 6 hours, IR where none is near) with IMERG-like errors, for the Early, Late and Final runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError
from xgpm.simulate import orbits
from xgpm.simulate._common import (
    _HALF_HOUR,
    SimulatedProduct,
    _crop,
    _default_truth,
    _minutes,
    _sensor,
)
from xgpm.simulate.regions import Region, get_region
from xgpm.simulate.swath_datasets import granule_rng

__all__ = ["IMERG_CONSTELLATION", "simulate_imerg"]

#: Sensors whose overpasses feed the simulated IMERG (fixed, so IMERG does not depend on which
#: other products were requested).
IMERG_CONSTELLATION = (
    "GMI",
    "SSMIS-F16",
    "SSMIS-F17",
    "SSMIS-F18",
    "AMSR2-GCOMW1",
    "MHS-METOPB",
    "MHS-METOPC",
    "ATMS-NPP",
    "ATMS-NOAA20",
)


def _imerg_axes(region: Region) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the global 0.1 deg IMERG cells inside the region."""
    lat_all = np.round(np.arange(-89.95, 90.0, 0.1), 2)
    lon_all = np.round(np.arange(-179.95, 180.0, 0.1), 2)
    lat = lat_all[(lat_all >= region.lat_min) & (lat_all <= region.lat_max)]
    lon = lon_all[(lon_all >= region.lon_min) & (lon_all <= region.lon_max)]
    if lat.size == 0 or lon.size == 0:
        raise InvalidArgumentError(f"region {region.name!r} holds no 0.1 deg IMERG cell")
    return lat, lon


def _truth_grid_mean(
    lat: np.ndarray,
    lon: np.ndarray,
    times: np.ndarray,
    seed: int,
    sub: int,
    variables: Sequence[str],
    truth_fn: Any = None,
) -> dict[str, np.ndarray]:
    """Truth aggregated to the (lat, lon) cells (``sub`` x ``sub`` samples per cell).

    Returns arrays of shape (time, lat, lon).
    """
    truth_scene = truth_fn or _default_truth()

    dlat = float(np.median(np.diff(lat))) if lat.size > 1 else 0.1
    dlon = float(np.median(np.diff(lon))) if lon.size > 1 else 0.1
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    flat = (lat[:, None] + offs[None, :] * dlat).ravel()
    flon = (lon[:, None] + offs[None, :] * dlon).ravel()
    glat, glon = np.meshgrid(flat, flon, indexing="ij")
    scene = truth_scene(glat, glon, np.asarray(times, "datetime64[ns]"), seed=seed)
    out = {}
    for name in variables:
        arr = np.asarray(scene[name].transpose("time", ...).values, dtype="float64")
        nt = arr.shape[0]
        arr = arr.reshape(nt, lat.size, sub, lon.size, sub)
        out[name] = np.nanmean(arr, axis=(2, 4))
    return out


_MORPH_HORIZON = np.timedelta64(6, "h")


@dataclass
class _Overpass:
    sensor: str
    code: int
    granule: int
    time: np.datetime64  # region-mean time
    covered: np.ndarray  # (lat, lon) bool
    obs_time: np.ndarray  # (lat, lon) datetime64[ns] of the nearest pixel
    precip: np.ndarray | None = None  # MW retrieval on the 0.1 deg grid


def _overpass_coverage(
    sensor: Any, granule: orbits.Granule, region: Region, lat: np.ndarray, lon: np.ndarray
) -> list[_Overpass]:
    from scipy.spatial import cKDTree

    first_mode = next(iter(sensor.scan_modes))
    scans = orbits.candidate_scans(sensor, granule.number, region)
    if scans is None:
        return []
    geom = orbits.swath_geometry(sensor, granule, scan_modes=[first_mode], scans=scans)
    geom = _crop(geom, region, pad=1)
    if geom is None:
        return []
    mode = geom.modes[first_mode]
    pix = orbits._latlon_to_unit(mode.lat, mode.lon).reshape(-1, 3)
    scan_idx = np.broadcast_to(np.arange(mode.lat.shape[1])[None, :], mode.lat.shape).ravel()
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    cells = orbits._latlon_to_unit(glat, glon).reshape(-1, 3)
    dist, nearest = cKDTree(pix).query(cells)
    dist_km = dist * orbits.EARTH_RADIUS_KM
    # Pixel spacing: along-track scan spacing and cross-track pixel spacing, whichever is larger.
    along = float(np.median(np.diff(geom.s_scan_km))) if geom.s_scan_km.size > 1 else 15.0
    cross = float(np.median(np.abs(np.diff(mode.c_km[:, 0]))))
    covered = (dist_km <= 0.75 * max(along, cross) + 4.0).reshape(glat.shape)
    if not covered.any():
        return []
    obs_time = geom.scan_times[scan_idx[nearest]].reshape(glat.shape)
    tmean = orbits._mean_time(obs_time[covered])
    return [
        _Overpass(
            sensor.name,
            int(sensor.imerg_source_code or 0),
            granule.number,
            tmean,
            covered,
            obs_time,
        )
    ]


def _constellation_overpasses(
    t0: np.datetime64,
    t1: np.datetime64,
    region: Region,
    lat: np.ndarray,
    lon: np.ndarray,
    seed: int,
    truth_fn: Any = None,
) -> list[_Overpass]:
    out = []
    for name in IMERG_CONSTELLATION:
        sensor = _sensor(name)
        for gr in orbits.granules(sensor, t0, t1):
            out.extend(_overpass_coverage(sensor, gr, region, lat, lon))
    out.sort(key=lambda o: (o.time, o.sensor))
    # MW retrieval of each overpass: truth at the overpass time, with the retrieval error of an
    # imager (conical) or a sounder (cross-track, larger), seeded per sensor and granule.
    for op in out:
        fields = _truth_grid_mean(
            lat, lon, np.array([op.time]), seed, 3, ["surface_precip"], truth_fn
        )
        truth = fields["surface_precip"][0]
        sensor = _sensor(op.sensor)
        sigma = 0.5 if "CROSS" in str(sensor.scan_type).upper() else 0.3
        rng = granule_rng(seed, f"IMERG-MW/{op.sensor}", op.granule)
        noisy = truth * np.exp(rng.normal(-0.5 * sigma**2, sigma, truth.shape))
        noisy[noisy < 0.1] = 0.0  # MW rain detection threshold
        op.precip = np.where(op.covered, noisy, np.nan)
    return out


def _blur(field: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    if sigma <= 0.05:
        return field
    return gaussian_filter(np.nan_to_num(field), sigma, mode="nearest")


def _imerg_slot(
    slot: np.datetime64,
    overpasses: Sequence[_Overpass],
    lat: np.ndarray,
    lon: np.ndarray,
    seed: int,
    run: str,
    sub: int,
    truth_fn: Any = None,
) -> xr.Dataset:
    mid = slot + np.timedelta64(15, "m")
    shape = (lat.size, lon.size)
    window = [o for o in overpasses if abs(o.time - mid) <= _MORPH_HORIZON]
    # Final run morphs forward and backward; Early/Late runs only forward (past overpasses).
    if run in ("ER",):
        window = [o for o in window if o.time <= mid]
    big = np.timedelta64(10**6, "m")
    prev_dt = np.full(shape, big)
    next_dt = np.full(shape, big)
    prev_f = np.full(shape, np.nan)
    next_f = np.full(shape, np.nan)
    mw = np.full(shape, np.nan)
    mw_src = np.zeros(shape, dtype="int16")
    mw_time = np.full(shape, -1, dtype="int16")
    for op in window:
        cov = op.covered
        dt = op.obs_time - mid
        before = cov & (dt <= np.timedelta64(0))
        after = cov & (dt > np.timedelta64(0))
        upd = before & (-dt < prev_dt)
        prev_dt[upd], prev_f[upd] = -dt[upd], op.precip[upd]
        upd = after & (dt < next_dt)
        next_dt[upd], next_f[upd] = dt[upd], op.precip[upd]
        in_slot = cov & (op.obs_time >= slot) & (op.obs_time < slot + _HALF_HOUR)
        # Several overpasses in the half hour: keep the one closest to its middle.
        closer = in_slot & ((mw_src == 0) | (np.abs(dt) < np.abs(_mw_dt(mw_time, slot, mid))))
        mw[closer] = op.precip[closer]
        mw_src[closer] = op.code
        mw_time[closer] = np.floor(_minutes(op.obs_time[closer] - slot)).astype("int16")
    pm, nm = _minutes(prev_dt), _minutes(next_dt)
    has_prev, has_next = np.isfinite(prev_f), np.isfinite(next_f)
    w_prev = np.where(has_prev & has_next, nm / np.maximum(pm + nm, 1e-6), has_prev.astype(float))
    morph = np.where(has_prev, w_prev * np.nan_to_num(prev_f), 0.0) + np.where(
        has_next, (1 - w_prev) * np.nan_to_num(next_f), 0.0
    )
    gap_h = np.minimum(np.where(has_prev, pm, np.inf), np.where(has_next, nm, np.inf)) / 60.0
    no_mw = ~(has_prev | has_next)
    gap_h = np.where(no_mw, 12.0, gap_h)
    # Advection error: the morphed field is blurred more the further from an overpass.
    levels = (0.0, 1.0, 2.0)
    blurred = np.stack([_blur(morph, s) for s in levels])
    level = np.clip(np.round(gap_h / 1.5), 0, len(levels) - 1).astype(int)
    morph = np.take_along_axis(blurred, level[None], axis=0)[0]
    morph *= 1.0 + 0.08 * np.minimum(gap_h, 5.0)  # bias growing with time since the overpass
    # IR estimate: truth at the half hour, smoothed, with large multiplicative error, no light rain.
    truth = _truth_grid_mean(
        lat, lon, np.array([mid]), seed, sub, ["surface_precip", "t2m"], truth_fn
    )
    rng = granule_rng(seed, f"IMERG-{run}/IR", int(_minutes(slot - orbits.EPOCH)))
    ir_noise = np.exp(_blur(rng.normal(0.0, 1.0, shape), 2.0) * 2.0 - 0.2)
    ir = _blur(truth["surface_precip"][0], 2.0) * ir_noise
    ir[ir < 0.5] = 0.0
    ir_weight = np.clip(1.0 - np.exp(-np.maximum(gap_h - 0.5, 0.0) / 1.5), 0.0, 1.0)
    ir_weight = np.where(no_mw, 1.0, ir_weight)
    precip = (1.0 - ir_weight) * morph + ir_weight * ir
    precip = np.where(precip < 0.02, 0.0, precip)
    quality = np.clip(0.05 + 0.9 * np.exp(-gap_h / 2.0) * (1.0 - 0.5 * ir_weight), 0.0, 1.0)
    t2m = truth["t2m"][0]
    liquid = np.clip((t2m - 271.15) / 4.0, 0.0, 1.0) * 100.0
    ds = xr.Dataset(
        {
            "precipitation": (("lat", "lon"), precip.astype("float32")),
            "precipitationQualityIndex": (("lat", "lon"), quality.astype("float32")),
            "probabilityLiquidPrecipitation": (
                ("lat", "lon"),
                np.where(precip > 0, liquid, 0).astype("int16"),
            ),
            "randomError": (("lat", "lon"), (precip * (0.3 + 0.7 * ir_weight)).astype("float32")),
            "MWprecipitation": (("lat", "lon"), mw.astype("float32")),
            "MWprecipSource": (("lat", "lon"), mw_src),
            "MWobservationTime": (
                ("lat", "lon"),
                np.where(mw_src > 0, mw_time, -9999).astype("int16"),
            ),
            "IRprecipitation": (("lat", "lon"), ir.astype("float32")),
            "IRinfluence": (("lat", "lon"), np.round(ir_weight * 100).astype("int16")),
            "precipitationUncal": (("lat", "lon"), (precip * 1.1).astype("float32")),
        },
        coords={"lat": lat.astype("float32"), "lon": lon.astype("float32")},
    )
    ds = ds.expand_dims(time=[slot])
    ds["MWobservationTime"] = ds["MWobservationTime"].where(ds["MWprecipSource"] > 0)
    ds["precipitation"].attrs["units"] = "mm/h"
    ds.attrs.update(gpm_api_product=f"IMERG-{run}", simulated="xgpm.simulate")
    return ds


def _mw_dt(mw_time: np.ndarray, slot: np.datetime64, mid: np.datetime64) -> np.ndarray:
    obs = slot + mw_time.astype("int64").astype("timedelta64[m]")
    return (obs - mid).astype("timedelta64[ns]")


def simulate_imerg(
    region: str | Region,
    start: Any,
    end: Any,
    *,
    seed: int = 0,
    run: str = "FR",
    subcells: int = 3,
    truth_fn: Any = None,
) -> Iterator[SimulatedProduct]:
    """Yield IMERG-like half-hourly 0.1 deg grids over a region.

    ``precipitation`` is the truth aggregated to 0.1 deg and degraded as IMERG's morphing would:
    the microwave estimates (truth at each overpass of :data:`IMERG_CONSTELLATION`, with an
    imager/sounder retrieval error) are interpolated in time between the previous and next
    overpass of each cell, blurred and biased more the longer the gap, and blended with a noisy,
    smooth IR estimate whose weight (``IRinfluence``) grows with the time to the nearest
    overpass; ``precipitationQualityIndex`` falls accordingly. ``MWprecipitation``,
    ``MWprecipSource`` (registry ``imerg_source_code``) and ``MWobservationTime`` (minutes into
    the half hour) are set where an overpass falls inside the half hour.

    Parameters
    ----------
    region : str or Region
    start, end : time-like
        Half hours starting in ``[start, end)`` (start is floored to the half hour).
    seed : int
    run : {"FR", "LR", "ER"}
        Final/Late runs morph both ways; the Early run only forward.
    subcells : int
        Truth samples per 0.1 deg cell and axis.
    truth_fn : callable, optional
        Replacement of :func:`xgpm.simulate.truth_scene` (tests, benchmarks).
    """
    if run not in ("FR", "LR", "ER"):
        raise InvalidArgumentError(f"run must be 'FR', 'LR' or 'ER', got {run!r}")
    region = get_region(region)
    lat, lon = _imerg_axes(region)
    t0 = orbits._as_ns(start)[()].astype("datetime64[m]")
    t0 = (t0 - np.mod(t0.astype("int64"), 30).astype("timedelta64[m]")).astype("datetime64[ns]")
    t1 = orbits._as_ns(end)[()]
    slots = np.arange(t0, t1, _HALF_HOUR.astype("timedelta64[ns]"))
    if slots.size == 0:
        return
    overpasses = _constellation_overpasses(
        slots[0] - _MORPH_HORIZON, slots[-1] + _MORPH_HORIZON, region, lat, lon, seed, truth_fn
    )
    for slot in slots:
        ds = _imerg_slot(slot, overpasses, lat, lon, seed, run, subcells, truth_fn)
        minute = int(_minutes(slot - slot.astype("datetime64[D]")))
        yield SimulatedProduct(f"IMERG-{run}", minute, slot, slot + _HALF_HOUR, ds)
