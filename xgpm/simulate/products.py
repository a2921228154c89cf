"""Simulated products: 1C granules, 2A-DPR, IMERG-like half-hourly grids and a radar composite.

Entry points:

* :func:`simulate` yields :class:`SimulatedProduct` objects (xarray data, nothing on disk);
* :func:`simulate_to_disk` writes them (PPS HDF5 through :func:`xgpm.write_granule`, the radar
  composite as ODIM_H5 through :mod:`xgpm.io.odim`), resumably, with a ``catalog.csv``.

Every product is a deterministic function of the master seed and its own identity (sensor and
granule number, IMERG half hour, radar time step): the truth is the same world for all products
(seeded by the master seed), and each granule's noise comes from a generator seeded by
``(seed, product, granule)``. Re-running, resuming or asking for another time window therefore
gives identical files for the same granule.

Sensors and products are looked up in the registry (:mod:`xgpm.sensors`); nothing here branches on
a sensor name.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError, UnknownSensorError
from xgpm.simulate import orbits
from xgpm.simulate.instruments import granule_rng, observe_platform

__all__ = [
    "IMERG_CONSTELLATION",
    "REGIONS",
    "RADAR_SITES",
    "Region",
    "SimulatedProduct",
    "get_region",
    "simulate",
    "simulate_imerg",
    "simulate_radar",
    "simulate_to_disk",
]

# --------------------------------------------------------------------------------------------
# Regions
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Product containers
# --------------------------------------------------------------------------------------------

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
_SPECIAL = ("imerg", "radar")


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


def _parse_requests(requested: Sequence[str] | str) -> tuple[list[Any], bool, bool]:
    if isinstance(requested, str):
        requested = [s for s in requested.split(",") if s.strip()]
    sensor_list, imerg, radar = [], False, False
    for item in requested:
        key = str(item).strip()
        if key.lower() == "imerg":
            imerg = True
        elif key.lower() == "radar":
            radar = True
        else:
            try:
                sensor_list.append(_sensor(key))
            except UnknownSensorError as err:
                raise UnknownSensorError(
                    f"{err} (the simulator also accepts {', '.join(_SPECIAL)})"
                ) from None
    if not sensor_list and not imerg and not radar:
        raise InvalidArgumentError("sensors is empty; pass e.g. ('gmi', 'dpr', 'imerg', 'radar')")
    return sensor_list, imerg, radar


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


# --------------------------------------------------------------------------------------------
# Orbit products (1C, 2A-DPR)
# --------------------------------------------------------------------------------------------


def _closest_approach(sensor: Any, task: Any, region: Region) -> np.datetime64:
    """Time the sub-satellite point is closest to the region centre (the truth time of a pass).

    It depends on the platform's orbit, the granule and the region only, so GMI and DPR (or a
    resumed run simulating only one of them) see the same truth.
    """
    model = orbits.orbit_model(sensor)
    times = pd.date_range(task.start, task.end, freq="5s").values
    lat, lon = model.subsatellite(times)
    clat, clon = region.center
    p = orbits._latlon_to_unit(lat, lon)
    c = orbits._latlon_to_unit(np.array(clat), np.array(clon))
    return times[int(np.argmax(p @ c))].astype("datetime64[s]").astype("datetime64[ns]")


def _crop(geom: orbits.SwathGeometry, region: Region, pad: int = 2) -> orbits.SwathGeometry | None:
    inside = np.zeros(len(geom.scan_times), dtype=bool)
    for mode in geom.modes.values():
        inside |= orbits.in_region(mode.lon, mode.lat, region).any(axis=0)
    scans = np.flatnonzero(inside)
    if scans.size == 0:
        return None
    lo, hi = max(int(scans[0]) - pad, 0), min(int(scans[-1]) + pad + 1, len(inside))
    return geom.subset(slice(lo, hi))


def _platform_groups(sensor_list: Sequence[Any]) -> list[list[Any]]:
    groups: dict[tuple, list[Any]] = {}
    for s in sensor_list:
        orbit = s.orbit
        key = (s.pps_satellite, orbit.altitude_km, orbit.inclination_deg)
        groups.setdefault(key, []).append(s)
    return list(groups.values())


@dataclass
class _OrbitTask:
    sensors: list[Any]
    granule: int
    start: np.datetime64
    end: np.datetime64

    @property
    def products(self) -> list[str]:
        return [s.product for s in self.sensors]


def _orbit_tasks(sensor_list: Sequence[Any], t0: Any, t1: Any, region: Region) -> list[_OrbitTask]:
    tasks = []
    for group in _platform_groups(sensor_list):
        lead = group[0]
        for gr in orbits.granules(lead, t0, t1):
            if orbits.candidate_scans(lead, gr.number, region) is not None:
                tasks.append(_OrbitTask(list(group), gr.number, gr.start, gr.end))
    return sorted(tasks, key=lambda t: (t.start, t.products))


def _run_orbit_task(
    task: _OrbitTask,
    region: Region,
    seed: int,
    *,
    crop: bool,
    truth_res_km: float,
    only: Sequence[str] | None = None,
    truth_fn: Any = None,
    rtm_fn: Any = None,
) -> list[SimulatedProduct]:
    targets = []
    for sensor in task.sensors:
        if only is not None and sensor.product not in only:
            continue
        modes = None
        if sensor.kind == "radar":
            modes = [next(iter(sensor.scan_modes))]  # "FS"
        scans = orbits.candidate_scans(sensor, task.granule, region) if crop else None
        geom = orbits.swath_geometry(sensor, task.granule, scan_modes=modes, scans=scans)
        if crop:
            geom = _crop(geom, region)
        if geom is not None:
            targets.append((sensor, geom))
    if not targets:
        return []
    truth_time = _closest_approach(targets[0][0], task, region)
    results = observe_platform(
        targets,
        seed=seed,
        region=region,
        truth_res_km=truth_res_km,
        truth_time=truth_time,
        truth_fn=truth_fn,
        rtm_fn=rtm_fn,
    )
    out = []
    for (sensor, geom), data in zip(targets, results, strict=True):
        if data is None:
            continue
        out.append(
            SimulatedProduct(
                sensor.product, task.granule, geom.scan_times[0], geom.scan_times[-1], data
            )
        )
    return out


def _default_truth() -> Any:
    from xgpm.simulate.scenes import truth_scene

    return truth_scene


# --------------------------------------------------------------------------------------------
# Truth helpers on regular lon/lat grids
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# IMERG
# --------------------------------------------------------------------------------------------

_HALF_HOUR = np.timedelta64(30, "m")
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


def _minutes(td: np.ndarray) -> np.ndarray:
    return np.asarray(td, dtype="timedelta64[ns]").astype("int64") / 6e10


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


# --------------------------------------------------------------------------------------------
# Ground radar composite
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Top level
# --------------------------------------------------------------------------------------------


def simulate(
    region: str | Region = "france",
    start: Any = "2021-01-01",
    days: float | None = 1.0,
    sensors: Sequence[str] | str = ("gmi", "ssmis-f17", "dpr", "imerg", "radar"),
    seed: int = 0,
    *,
    end: Any = None,
    crop: bool = True,
    truth_res_km: float = 2.5,
    imerg_run: str = "FR",
    radar_step: str = "5min",
    truth_fn: Any = None,
    rtm_fn: Any = None,
) -> Iterator[SimulatedProduct]:
    """Simulate the observing system over a region, yielding products one at a time (in memory).

    Parameters
    ----------
    region : str, Region or (lon_min, lon_max, lat_min, lat_max)
        A name from :data:`REGIONS` ("france", "conus", "tropical-pacific", ...) or a box.
    start : time-like
    days : float, optional
        Duration (ignored when ``end`` is given).
    sensors : sequence of str or comma-separated str
        Registry sensor names (case-insensitive: "gmi", "ssmis-f17", "dpr", "amsr2-gcomw1",
        "mhs-metopb", "atms-noaa20" ...) plus "imerg" and "radar".
    seed : int
        Master seed (truth and all noise derive from it).
    end : time-like, optional
    crop : bool
        Keep only the scans of each granule that cross the region (like a subsetted granule).
        False keeps the full orbit geometry (pixels outside the region are NaN).
    truth_res_km : float
        Resolution of the swath-aligned truth grid.
    imerg_run : {"FR", "LR", "ER"}
    radar_step : str
        Radar accumulation period.
    truth_fn, rtm_fn : callable, optional
        Replacements of :func:`xgpm.simulate.truth_scene` and
        :func:`xgpm.simulate.brightness_temperatures` (same signatures): a cheap synthetic world
        for tests and benchmarks of the observing system alone.

    Yields
    ------
    SimulatedProduct
        Swath products (in time order of their granules), then IMERG half hours, then radar steps.

    Examples
    --------
    >>> products = {(p.product, p.granule): p.data
    ...             for p in simulate("france", "2021-01-01", days=0.25, sensors="gmi,dpr")}
    """
    region = get_region(region)
    t0, t1 = _time_window(start, days, end)
    sensor_list, want_imerg, want_radar = _parse_requests(sensors)
    for task in _orbit_tasks(sensor_list, t0, t1, region):
        yield from _run_orbit_task(
            task,
            region,
            seed,
            crop=crop,
            truth_res_km=truth_res_km,
            truth_fn=truth_fn,
            rtm_fn=rtm_fn,
        )
    if want_imerg:
        yield from simulate_imerg(region, t0, t1, seed=seed, run=imerg_run, truth_fn=truth_fn)
    if want_radar:
        yield from simulate_radar(region, t0, t1, seed=seed, step=radar_step, truth_fn=truth_fn)


# --------------------------------------------------------------------------------------------
# Writing, resuming, catalog
# --------------------------------------------------------------------------------------------

CATALOG_COLUMNS = ("product", "path", "start", "end", "granule")


def _glob_pattern(product: str, granule: int, start: np.datetime64, version: str) -> str:
    """File-name glob of a product granule, independent of the cropped start/end times."""
    from xgpm.io.filenames import pps_filename

    t = pd.Timestamp(start).floor("s").to_pydatetime()
    name = pps_filename(product, t, t, granule, version)
    parts = name.split(".")
    # level.sat.instr.algo.YYYYMMDD-Shhmmss-Ehhmmss.granule.version.HDF5: orbit granules are
    # found by number (their cropped times vary); IMERG half hours by start time and minute.
    times = parts[4].split("-E")[0] + "-E*" if product.startswith("IMERG") else "*"
    return ".".join([*parts[:4], times, *parts[5:]])


def _radar_name(region: Region, start: np.datetime64, end: np.datetime64) -> str:
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    return f"RADAR-COMPOSITE.{region.name}.{t0:%Y%m%d-S%H%M%S}-E{t1:%H%M%S}.ACRR.h5"


def _is_valid(path: Path, product: str) -> bool:
    try:
        if product == "RADAR-COMPOSITE":
            from xgpm.io.odim import open_radar_composite

            open_radar_composite(path).load()
        else:
            import xgpm

            ds = xgpm.open_granule(path)
            ds.load()
        return True
    except Exception:  # noqa: BLE001 - any failure to open means "rewrite it"
        return False


def _existing(directory: Path, pattern: str, product: str) -> Path | None:
    for path in sorted(directory.glob(pattern)):
        if _is_valid(path, product):
            return path
        path.unlink()  # damaged or incomplete: rewrite
    return None


def _grid_of(ds: xr.Dataset, cls: Any) -> Any:
    """Rebuild the RadarGrid of a simulated composite from its x/y cell centres."""
    x, y = ds["x"].values, ds["y"].values
    xscale, yscale = float(x[1] - x[0]), float(y[0] - y[1])
    return cls(
        ds.attrs["projdef"],
        float(x[0] - xscale / 2),
        float(y[0] + yscale / 2),
        xscale,
        yscale,
        x.size,
        y.size,
    )


def _write(product: SimulatedProduct, directory: Path, region: Region, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if product.product == "RADAR-COMPOSITE":
        from xgpm.io.odim import RadarGrid, write_radar_composite

        ds = product.data
        grid = _grid_of(ds, RadarGrid)
        return write_radar_composite(
            directory / _radar_name(region, product.start, product.end),
            ds["ACRR"].values[0],
            grid,
            product.start,
            product.end,
            quality=ds["quality"].values[0],
            overwrite=True,
        )
    import xgpm

    return Path(
        xgpm.write_granule(
            product.data,
            directory,
            product=product.product,
            granule_number=product.granule,
            version=version,
            overwrite=True,
        )
    )


def simulate_to_disk(
    out: str | os.PathLike,
    region: str | Region = "france",
    start: Any = "2021-01-01",
    days: float | None = 1.0,
    sensors: Sequence[str] | str = ("gmi", "ssmis-f17", "dpr", "imerg", "radar"),
    seed: int = 0,
    *,
    end: Any = None,
    crop: bool = True,
    truth_res_km: float = 2.5,
    imerg_run: str = "FR",
    radar_step: str = "5min",
    version: str = "V07A",
    progress: bool = True,
    truth_fn: Any = None,
    rtm_fn: Any = None,
) -> pd.DataFrame:
    """Simulate and write every product under ``out/<product>/``, resumably.

    Files already present that open completely are kept (and not recomputed); damaged ones are
    rewritten; temporary files of an interrupted run are ignored. A ``catalog.csv`` (product,
    path relative to ``out``, start, end, granule) lists every file of the requested window.

    Parameters
    ----------
    out : path-like
        Output directory (created).
    region, start, days, sensors, seed, end, crop, truth_res_km, imerg_run, radar_step
        As in :func:`simulate`.
    truth_fn, rtm_fn
        As in :func:`simulate`.
    version : str
        Product version in the PPS file names.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pandas.DataFrame
        The catalog.
    """
    from tqdm.auto import tqdm

    region = get_region(region)
    t0, t1 = _time_window(start, days, end)
    sensor_list, want_imerg, want_radar = _parse_requests(sensors)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []

    def record(path: Path, product: str, start: Any, end: Any, granule: int) -> None:
        rows.append(
            {
                "product": product,
                "path": str(path.relative_to(out)),
                "start": pd.Timestamp(start).isoformat(),
                "end": pd.Timestamp(end).isoformat(),
                "granule": int(granule),
            }
        )

    orbit_tasks = _orbit_tasks(sensor_list, t0, t1, region)
    n_total = len(orbit_tasks)
    slots = []
    if want_imerg:
        first = t0.astype("datetime64[m]")
        first = first - np.mod(first.astype("int64"), 30).astype("timedelta64[m]")
        slots = list(np.arange(first.astype("datetime64[ns]"), t1, _HALF_HOUR))
        n_total += len(slots)
    radar_times = []
    if want_radar:
        dt = pd.Timedelta(radar_step).to_timedelta64().astype("timedelta64[ns]")
        first = t0 - np.mod((t0 - orbits.EPOCH).astype("int64"), dt.astype("int64")).astype(
            "timedelta64[ns]"
        )
        radar_times = list(np.arange(first, t1, dt))
        n_total += len(radar_times)
    bar = tqdm(total=n_total, desc="xgpm simulate", unit="file", disable=not progress)
    try:
        for task in orbit_tasks:
            missing = []
            for sensor in task.sensors:
                pattern = _glob_pattern(sensor.product, task.granule, task.start, version)
                found = _existing(out / sensor.product, pattern, sensor.product)
                if found is None:
                    missing.append(sensor.product)
                else:
                    found_start, found_end = _times_from_name(found, task)
                    record(found, sensor.product, found_start, found_end, task.granule)
            if missing:
                for prod in _run_orbit_task(
                    task,
                    region,
                    seed,
                    crop=crop,
                    truth_res_km=truth_res_km,
                    only=missing,
                    truth_fn=truth_fn,
                    rtm_fn=rtm_fn,
                ):
                    path = _write(prod, out / prod.product, region, version)
                    # Times as in the file name, like for files found on a resumed run.
                    record(path, prod.product, *_times_from_name(path, task), prod.granule)
            bar.update(1)
        if want_imerg:
            product = f"IMERG-{imerg_run}"
            todo = []
            for slot in slots:
                minute = int(_minutes(slot - slot.astype("datetime64[D]")))
                pattern = _glob_pattern(product, minute, slot, version)
                found = _existing(out / product, pattern, product)
                if found is None:
                    todo.append(slot)
                else:
                    record(found, product, slot, slot + _HALF_HOUR, minute)
                    bar.update(1)
            # Contiguous runs of missing half hours share one overpass computation.
            for chunk in _contiguous(todo, _HALF_HOUR):
                for prod in simulate_imerg(
                    region,
                    chunk[0],
                    chunk[-1] + _HALF_HOUR,
                    seed=seed,
                    run=imerg_run,
                    truth_fn=truth_fn,
                ):
                    path = _write(prod, out / prod.product, region, version)
                    record(path, prod.product, prod.start, prod.end, prod.granule)
                    bar.update(1)
        if want_radar:
            for ts in radar_times:
                name = _radar_name(region, ts, ts + dt)
                path = out / "RADAR-COMPOSITE" / name
                if not (path.exists() and _is_valid(path, "RADAR-COMPOSITE")):
                    prod = next(simulate_radar(region, ts, ts + dt, seed=seed, step=radar_step))
                    path = _write(prod, out / "RADAR-COMPOSITE", region, version)
                record(path, "RADAR-COMPOSITE", ts, ts + dt, int(_minutes(ts - orbits.EPOCH)))
                bar.update(1)
    finally:
        bar.close()
        catalog = pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))
        _write_catalog(catalog, out / "catalog.csv")
    return catalog


def _contiguous(times: Sequence[np.datetime64], step: np.timedelta64) -> list[list[np.datetime64]]:
    chunks: list[list[np.datetime64]] = []
    for t in times:
        if chunks and t - chunks[-1][-1] == step:
            chunks[-1].append(t)
        else:
            chunks.append([t])
    return chunks


def _times_from_name(path: Path, task: _OrbitTask) -> tuple[Any, Any]:
    try:
        from xgpm.io.filenames import parse_filename

        parsed = parse_filename(path)
        return parsed.start, parsed.end
    except Exception:  # noqa: BLE001
        return task.start, task.end


def _write_catalog(catalog: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    catalog.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)
    os.replace(tmp, path)
