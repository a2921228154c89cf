"""xarray-level colocation: put a source dataset's variables onto a target's pixels.

See ``docs/colocation.md`` for the algorithm. Geolocation (``lon``, ``lat``, ``time``) of both
datasets is loaded eagerly to plan the work (it is small); data variables stay lazy when they are
dask arrays: one task per target chunk along the scan dimension, each given only the source scans
that can reach it.
"""

from __future__ import annotations

import itertools
import math
import threading
import warnings
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr

from xgpm.errors import (
    DataQualityWarning,
    InvalidArgumentError,
    InvalidDataError,
    NoOverlapError,
    ProjectionError,
)

__all__ = ["EARTH_RADIUS_KM", "colocate", "great_circle_km"]

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


# --------------------------------------------------------------------------------------------
# Geometry description of a dataset
# --------------------------------------------------------------------------------------------
@dataclass
class _Geometry:
    """Pixels of a dataset as a (cross, scan) point set with one time per scan."""

    kind: str  # "swath", "grid" or "projected"
    cross_dim: Hashable
    scan_dim: Hashable
    lon: np.ndarray  # (n_cross, n_scan) float64 degrees
    lat: np.ndarray
    time: np.ndarray  # (n_scan,) int64 ns, _NAT where unknown
    has_time: bool
    grid: dict[str, Any] = field(default_factory=dict)


def _coord(ds: xr.Dataset, name: str, role: str) -> xr.DataArray:
    if name not in ds.variables:
        raise InvalidArgumentError(
            f"{role} has no {name!r} coordinate; colocation needs 'lon' and 'lat' (2-D "
            "(cross_track, along_track) for a swath, 1-D for a lat/lon grid) or 1-D 'x'/'y' with "
            "a CRS for a projected grid."
        )
    return ds[name]


def _time_ns(values: Any, role: str) -> np.ndarray:
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.datetime64):
        raise InvalidArgumentError(
            f"{role}['time'] has dtype {arr.dtype}; it must be datetime64 (decode times when "
            "opening the file)."
        )
    return arr.astype("datetime64[ns]").astype(np.int64)


def _float_array(values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def _set_aside_impossible(
    lon: np.ndarray, lat: np.ndarray, role: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels with impossible lon/lat become missing (NaN), with a warning saying how many.

    Impossible: infinite, ``|lat| > 90`` or ``|lon| > 360`` (undecoded fill values, scaled
    integers, swapped coordinates). NaN is missing already and is not counted.

    Raises
    ------
    InvalidDataError
        No pixel with a possible position is left.
    """
    with np.errstate(invalid="ignore"):
        impossible = np.isinf(lon) | np.isinf(lat) | (np.abs(lat) > 90.0) | (np.abs(lon) > 360.0)
    n_bad = int(impossible.sum())
    if not n_bad:
        return lon, lat
    first = np.flatnonzero(impossible.ravel())[:3]
    examples = [f"({lon.flat[i]:.6g}, {lat.flat[i]:.6g})" for i in first]
    lon, lat = lon.copy(), lat.copy()
    lon[impossible] = np.nan
    lat[impossible] = np.nan
    n_left = int((np.isfinite(lon) & np.isfinite(lat)).sum())
    what = (
        f"{n_bad} of {lon.size} {role} pixel(s) have impossible geolocation (lat outside "
        f"[-90, 90], lon outside [-360, 360] or infinite; (lon, lat) e.g. "
        f"{', '.join(examples)})"
    )
    if n_left == 0:
        raise InvalidDataError(
            f"{what}: no pixel of {role} has a usable position. Check that {role}'s lon/lat "
            "were decoded (fill values to NaN, scale factors applied) and are not swapped."
        )
    warnings.warn(
        f"{what}; they are set aside (treated as missing) in the colocation. Check {role}'s "
        "lon/lat decoding (fill values, scale factors) if this is unexpected.",
        DataQualityWarning,
        stacklevel=4,
    )
    return lon, lat


def _swath_geometry(ds: xr.Dataset, role: str) -> _Geometry:
    lon = _coord(ds, "lon", role)
    lat = _coord(ds, "lat", role)
    if lon.dims != lat.dims or lon.shape != lat.shape:
        raise InvalidArgumentError(
            f"{role}['lon'] has dims {dict(lon.sizes)} but {role}['lat'] has dims "
            f"{dict(lat.sizes)}; they must be the same."
        )
    if lon.ndim != 2:
        raise InvalidArgumentError(
            f"{role}['lon'] has {lon.ndim} dimension(s) {lon.dims}; a swath needs 2 "
            "(cross_track, along_track)."
        )
    if "along_track" in lon.dims:
        scan_dim = "along_track"
        cross_dim = next(d for d in lon.dims if d != scan_dim)
    else:
        cross_dim, scan_dim = lon.dims
    n_scan = lon.sizes[scan_dim]
    has_time = "time" in ds.variables
    if has_time:
        time = ds["time"]
        if time.dims != (scan_dim,):
            raise InvalidArgumentError(
                f"{role}['time'] has dims {time.dims}; for a swath it must be ({scan_dim!r},)."
            )
        t = _time_ns(time.values, role)
    else:
        t = np.full(n_scan, _NAT, dtype=np.int64)
    for name, coord in (("lon", lon), ("lat", lat)):
        if coord.dtype.kind not in "fiu":
            raise InvalidArgumentError(
                f"{role}[{name!r}] has dtype {coord.dtype}; geolocation must be numbers (degrees)."
            )
    lon_values, lat_values = _set_aside_impossible(
        _float_array(lon.transpose(cross_dim, scan_dim).values),
        _float_array(lat.transpose(cross_dim, scan_dim).values),
        role,
    )
    return _Geometry("swath", cross_dim, scan_dim, lon_values, lat_values, t, has_time)


def _grid_time(ds: xr.Dataset, role: str) -> tuple[np.ndarray | None, bool]:
    if "time" not in ds.variables:
        return None, False
    time = ds["time"]
    if time.ndim > 1:
        raise InvalidArgumentError(f"{role}['time'] must be scalar or 1-D for a grid.")
    return np.atleast_1d(_time_ns(time.values, role)), True


def _span(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return "none finite"
    return f"{finite.min():.6g}..{finite.max():.6g}"


def _regular_step(values: np.ndarray, name: str) -> float:
    if values.size < 2:
        raise InvalidArgumentError(f"{name} needs at least 2 values to define a grid.")
    steps = np.diff(values)
    if not np.allclose(steps, steps[0], rtol=1e-5, atol=1e-9):
        raise InvalidArgumentError(f"{name} is not regularly spaced; regrid it first.")
    return float(steps[0])


def _crs(value: Any, what: str, wkt: bool = False) -> Any:
    """``pyproj.CRS`` of ``value``; :class:`ProjectionError` naming ``what`` if not one."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_wkt(value) if wkt else CRS.from_user_input(value)
    except (CRSError, TypeError, ValueError) as error:
        shown = repr(value) if len(repr(value)) <= 120 else repr(value)[:117] + "..."
        raise ProjectionError(
            f"{what}={shown} is not a map projection pyproj understands ({error}). Pass "
            "target_crs= with an EPSG code ('EPSG:2154'), a PROJ string or WKT."
        ) from error


def _find_crs(ds: xr.Dataset, target_crs: Any) -> Any:
    if target_crs is not None:
        return _crs(target_crs, "target_crs")
    if "crs" in ds.attrs:
        return _crs(ds.attrs["crs"], "target.attrs['crs']")
    for name in ("spatial_ref", "crs"):
        if name in ds.variables:
            attrs = ds[name].attrs
            for key in ("crs_wkt", "spatial_ref"):
                if key in attrs:
                    return _crs(attrs[key], f"target[{name!r}].attrs[{key!r}]", wkt=True)
    raise InvalidArgumentError(
        "target has 1-D 'x'/'y' but no CRS: pass target_crs=, set target.attrs['crs'], or add a "
        "'spatial_ref' coordinate with a 'crs_wkt' attribute."
    )


def _target_geometries(
    target: xr.Dataset, target_crs: Any
) -> tuple[_Geometry, tuple[Hashable, ...]]:
    """Geometry of a target plus its spatial output dims (in the target's own order)."""
    role = "target"
    if "lat" in target.variables and "lon" in target.variables:
        lon, lat = target["lon"], target["lat"]
        if lon.ndim == 1 and lat.ndim == 1 and lon.dims != lat.dims:
            lat_dim, lon_dim = lat.dims[0], lon.dims[0]
            glon, glat = np.meshgrid(lon.values.astype(np.float64), lat.values.astype(np.float64))
            glon, glat = _set_aside_impossible(glon, glat, role)
            times, has_time = _grid_time(target, role)
            t = np.full(lat.size, _NAT if times is None else times[0], dtype=np.int64)
            geom = _Geometry("grid", lon_dim, lat_dim, glon.T.copy(), glat.T.copy(), t, has_time)
            return geom, (lat_dim, lon_dim)
        geom = _swath_geometry(target, role)
        return geom, tuple(target["lon"].dims)
    if "x" in target.variables and "y" in target.variables:
        x, y = target["x"], target["y"]
        if x.ndim != 1 or y.ndim != 1:
            raise InvalidArgumentError(
                "target['x'] and target['y'] must be 1-D for a projected grid."
            )
        from pyproj import Transformer
        from pyproj.exceptions import ProjError

        crs = _find_crs(target, target_crs)
        try:
            transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            gx, gy = np.meshgrid(x.values.astype(np.float64), y.values.astype(np.float64))
            glon, glat = transformer.transform(gx, gy)
        except (ProjError, TypeError, ValueError) as error:
            raise ProjectionError(
                f"target's x/y cannot be turned into lon/lat with its CRS ({crs.name}): "
                f"{error}. Check target_crs (or target.attrs['crs']) and that x/y are in its "
                "units (metres for most projections)."
            ) from error
        glon, glat = _set_aside_impossible(
            np.asarray(glon, dtype=np.float64), np.asarray(glat, dtype=np.float64), "target"
        )
        times, has_time = _grid_time(target, role)
        t = np.full(y.size, _NAT if times is None else times[0], dtype=np.int64)
        geom = _Geometry(
            "projected",
            x.dims[0],
            y.dims[0],
            np.asarray(glon).T.copy(),
            np.asarray(glat).T.copy(),
            t,
            has_time,
        )
        return geom, (y.dims[0], x.dims[0])
    _coord(target, "lat", role)
    _coord(target, "lon", role)
    raise AssertionError("unreachable")


def _source_geometry(source: xr.Dataset) -> _Geometry:
    role = "source"
    lon = _coord(source, "lon", role)
    lat = _coord(source, "lat", role)
    if lon.ndim == 1 and lat.ndim == 1 and lon.dims != lat.dims:
        for name, coord in (("lon", lon), ("lat", lat)):
            if coord.dtype.kind not in "fiu":
                raise InvalidArgumentError(
                    f"source[{name!r}] has dtype {coord.dtype}; grid axes must be numbers "
                    "(degrees)."
                )
        lat_v = lat.values.astype(np.float64)
        lon_v = lon.values.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad_lat = ~np.isfinite(lat_v) | (np.abs(lat_v) > 90.0)
            bad_lon = ~np.isfinite(lon_v) | (np.abs(lon_v) > 360.0)
        if bad_lat.any() or bad_lon.any():
            raise InvalidDataError(
                f"source is a lat/lon grid with impossible axes: {int(bad_lat.sum())} 'lat' "
                f"value(s) outside [-90, 90] or not finite, {int(bad_lon.sum())} 'lon' value(s) "
                f"outside [-360, 360] or not finite (lat {_span(lat_v)}, lon {_span(lon_v)}). "
                "Check the grid's coordinates (decoding, scale factors, lat/lon swapped)."
            )
        dlat = _regular_step(lat_v, "source['lat']")
        dlon = _regular_step(lon_v, "source['lon']")
        times, has_time = _grid_time(source, role)
        periodic = abs(abs(dlon) * lon_v.size - 360.0) < 1e-3 * abs(dlon)
        grid = dict(
            lat_dim=lat.dims[0],
            lon_dim=lon.dims[0],
            lat=lat_v,
            lon=lon_v,
            dlat=dlat,
            dlon=dlon,
            periodic=periodic,
            times=times,
            time_dim="time" if ("time" in source.dims) else None,
        )
        return _Geometry(
            "grid", lon.dims[0], lat.dims[0], lon_v, lat_v, np.zeros(0, np.int64), has_time, grid
        )
    return _swath_geometry(source, role)


# --------------------------------------------------------------------------------------------
# Argument handling
# --------------------------------------------------------------------------------------------
def _footprint_sigmas(
    footprint_km: float | Sequence[float] | None,
    sensor: str | None,
    channel: str | None,
    target: xr.Dataset,
) -> tuple[float, float]:
    if footprint_km is None:
        name = sensor if sensor is not None else target.attrs.get("sensor")
        if name is None or channel is None:
            raise InvalidArgumentError(
                "method='gaussian' needs the target footprint: pass footprint_km=(along, cross) "
                "(3 dB full widths in km), or sensor= (or target.attrs['sensor']) and channel=."
            )
        try:
            from xgpm import sensors
        except ImportError as err:  # registry not available in this installation
            raise InvalidArgumentError(
                "the sensor registry xgpm.sensors is not available; pass footprint_km= instead."
            ) from err
        footprint_km = sensors.get(name).channel(channel).footprint_km
    try:
        fp = np.atleast_1d(np.asarray(footprint_km, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        fp = np.array([np.nan, np.nan, np.nan])
    if fp.size == 1:
        fp = np.repeat(fp, 2)
    if fp.size != 2 or not np.all(np.isfinite(fp)) or np.any(fp <= 0):
        raise InvalidArgumentError(
            f"footprint_km={footprint_km!r} must be a positive number or (along, cross) in km."
        )
    return float(fp[0]) * _FWHM_TO_SIGMA, float(fp[1]) * _FWHM_TO_SIGMA


def _max_dt_ns(max_dt: Any) -> int:
    if max_dt is None:
        return -1
    try:
        td = (
            np.timedelta64(max_dt)
            if not isinstance(max_dt, str)
            else np.timedelta64(__import__("pandas").Timedelta(max_dt).value, "ns")
        )
        ns = int(td.astype("timedelta64[ns]").astype(np.int64))
    except (ValueError, TypeError) as err:
        raise InvalidArgumentError(
            f"max_dt={max_dt!r} is not a time difference; use e.g. np.timedelta64(15, 'm'), "
            "datetime.timedelta(minutes=15) or '15min'."
        ) from err
    if ns < 0:
        raise InvalidArgumentError(f"max_dt={max_dt!r} must not be negative.")
    return ns


def _select_variables(
    source: xr.Dataset, geom: _Geometry, variables: Sequence[Hashable] | Hashable | None
) -> list[Hashable]:
    spatial = (
        {geom.grid["lat_dim"], geom.grid["lon_dim"]}
        if geom.kind == "grid"
        else {geom.cross_dim, geom.scan_dim}
    )
    if variables is None:
        names = [
            n
            for n, v in source.data_vars.items()
            if spatial <= set(v.dims) and v.dtype.kind in "biuf"
        ]
        if not names:
            raise InvalidArgumentError(
                f"source has no data variable on its pixel dims {sorted(map(str, spatial))}."
            )
        return names
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Sequence):
        variables = [variables]
    for name in variables:
        if not isinstance(name, Hashable):
            raise InvalidArgumentError(
                f"variables: {name!r} is not a variable name; pass a name or a list of names "
                f"of source's data variables ({sorted(map(str, source.data_vars))})."
            )
        if name not in source.data_vars:
            raise InvalidArgumentError(
                f"variables: {name!r} is not a data variable of source "
                f"(has {sorted(map(str, source.data_vars))})."
            )
        if source[name].dtype.kind not in "biuf":
            raise InvalidArgumentError(
                f"source[{name!r}] has dtype {source[name].dtype}; only numeric variables can be "
                "colocated."
            )
        if not spatial <= set(source[name].dims):
            raise InvalidArgumentError(
                f"source[{name!r}] has dims {source[name].dims}, not the pixel dims "
                f"{sorted(map(str, spatial))}."
            )
    return list(variables)


# --------------------------------------------------------------------------------------------
# Per-chunk work
# --------------------------------------------------------------------------------------------
def _stack_values(arrays: list[np.ndarray]) -> np.ndarray:
    """(nvar_flat, n_cross, n_scan) float64 from arrays shaped (n_cross, n_scan, *extra)."""
    parts = [
        np.asarray(a, dtype=np.float64).reshape(a.shape[0], a.shape[1], -1)
        if a.size
        else np.zeros(a.shape[:2] + (int(np.prod(a.shape[2:])),))
        for a in arrays
    ]
    if not parts:
        return np.zeros((0, 0, 0))
    return np.ascontiguousarray(np.moveaxis(np.concatenate(parts, axis=2), 2, 0))


def _swath_task(
    t_lon: np.ndarray,
    t_lat: np.ndarray,
    t_time: np.ndarray,
    t_col0: int,
    s_lon: np.ndarray,
    s_lat: np.ndarray,
    s_cols: np.ndarray,
    s_time: np.ndarray,
    scan_ids: np.ndarray,
    n_scan_global: int,
    params: dict[str, Any],
    t_caps: tuple[np.ndarray, ...],
    s_caps: tuple[np.ndarray, ...],
    *arrays: np.ndarray,
    into: dict[str, np.ndarray] | None = None,
    scratch: np.ndarray | None = None,
) -> tuple[np.ndarray, ...] | None:
    """Colocate one target chunk.

    The chunk's target scans are columns ``t_col0 : t_col0 + t_time.size`` of ``t_lon`` /
    ``t_lat``, and its source scans (global numbers ``scan_ids``) columns ``s_cols`` of
    ``s_lon`` / ``s_lat``: eager calls pass the whole swaths (no copies), lazy ones the chunk's
    own copies. ``arrays`` hold the source values of the ``scan_ids`` scans only.

    With ``into`` (views of the caller's full outputs, keyed by output name, variables last in
    the order of ``arrays``) results are written there in place and None is returned.
    """
    from xgpm.colocation import _kernels as k

    mode = params["mode"]
    nxt, nst = t_lon.shape[0], t_time.size
    values = _stack_values(list(arrays)) if mode != k.MODE_NEAREST else np.zeros((0, 1, 1))
    index_dtype = _index_dtype(s_lon.shape[0] * n_scan_global)
    if into is None:
        index = np.empty((nxt, nst), dtype=index_dtype)
        distance = np.empty((nxt, nst), dtype=np.float32)
        offset = np.empty((nxt, nst), dtype="timedelta64[ns]")
        n_match = np.empty((nxt if mode != k.MODE_NEAREST else 0, nst), dtype=np.int32)
    else:
        index, distance, offset = into["source_index"], into["distance"], into["time_offset"]
        n_match = into.get("n_matches", np.empty((0, nst), dtype=np.int32))
    out = np.empty((values.shape[0], nxt, nst))
    k.colocate_swath_into(
        t_lon,
        t_lat,
        t_time,
        t_col0,
        t_caps,
        s_lon,
        s_lat,
        s_cols,
        s_time,
        s_caps,
        scan_ids,
        n_scan_global,
        values,
        mode,
        params["r_chord"],
        params["max_dt"],
        params["sigma_along"],
        params["sigma_cross"],
        *params["tile"],
        *params["target_tile"],
        index,
        distance,
        offset.view(np.int64),
        n_match,
        out,
        np.empty(0) if scratch is None else scratch,
    )
    var_names = [n for n in (into or {}) if n not in _FIXED_OUTPUTS]
    if mode == k.MODE_NEAREST:
        local = np.zeros(n_scan_global, dtype=np.int64)  # global scan -> scan in the subset
        local[scan_ids] = np.arange(scan_ids.size)
        outs = []
        for v, a in enumerate(arrays):
            a = np.asarray(a)
            if into is None:
                dtype = np.result_type(a.dtype, np.float32)
                g = np.empty(index.shape + a.shape[2:], dtype=dtype)
            else:
                g = into[var_names[v]]
            # (nx, ns, m) views of the values and of the output (a copy would lose the writes).
            m = int(np.prod(a.shape[2:]))
            a3 = a.reshape(a.shape[0], a.shape[1], m)
            g3 = g.reshape(g.shape[0], g.shape[1], m)
            if np.may_share_memory(g3, g) and a.dtype.kind in "fiub":
                k.gather_nearest(index, n_scan_global, local, a3, g3)
            else:  # unusual layouts: fancy indexing
                ok = index >= 0
                xs, scan = np.divmod(index[ok], n_scan_global)
                g[...] = np.nan
                g[ok] = a[xs, local[scan]]
            outs.append(g)
        n_match = None
    else:
        outs = _split_out(out, arrays)
        if into is not None:
            for v, o in enumerate(outs):
                into[var_names[v]][...] = o
    if into is not None:
        return None
    return (distance, offset, index, n_match, *outs)


def _index_dtype(n_source_pixels: int) -> np.dtype:
    """int32 flat indices when they fit (halves the memory of ``source_index``), else int64."""
    return np.dtype(np.int32 if n_source_pixels < np.iinfo(np.int32).max else np.int64)


def _split_out(out: np.ndarray, arrays: Sequence[Any]) -> list[np.ndarray]:
    """Split (nvar_flat, nx, ns) back into one (nx, ns, *extra) array per variable."""
    res = []
    start = 0
    for a in arrays:
        extra = a.shape[2:]
        n = int(np.prod(extra)) if extra else 1
        block = np.moveaxis(out[start : start + n], 0, -1)
        dtype = np.result_type(a.dtype, np.float32)
        res.append(block.reshape(block.shape[:2] + tuple(extra)).astype(dtype, copy=False))
        start += n
    return res


def _finish(
    chord: np.ndarray,
    index: np.ndarray,
    ok: np.ndarray,
    t_time: np.ndarray,
    s_time_matched: np.ndarray | None,
    n_match: np.ndarray | None,
    outs: list[np.ndarray],
) -> tuple[np.ndarray, ...]:
    distance = (2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))).astype(
        np.float32
    )
    if s_time_matched is None:
        offset = np.full(chord.shape, _NAT, dtype=np.int64)
    else:
        tt = np.broadcast_to(t_time[None, :], chord.shape)
        valid = ok & (s_time_matched != _NAT) & (tt != _NAT)
        offset = np.where(valid, s_time_matched - tt, _NAT)
    return (distance, offset.view("timedelta64[ns]"), index, n_match, *outs)


def _grid_task(
    t_lon: np.ndarray,
    t_lat: np.ndarray,
    t_time: np.ndarray,
    time_index: np.ndarray,
    grid_times: np.ndarray | None,
    params: dict[str, Any],
    *arrays: np.ndarray,
) -> tuple[np.ndarray, ...]:
    from xgpm.colocation import _kernels as k

    g = params["grid"]
    # arrays: (ntime, nlat, nlon, *extra) -> values (nvar_flat, ntime, nlat, nlon)
    parts = []
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        parts.append(a.reshape(a.shape[:3] + (-1,)))
    values = np.ascontiguousarray(np.moveaxis(np.concatenate(parts, axis=3), 3, 0))
    if g["flip_lat"]:
        values = values[:, :, ::-1, :]
    values = np.ascontiguousarray(values)
    best, chord, out = k.sample_grid(
        t_lon,
        t_lat,
        time_index,
        values,
        g["lat0"],
        g["dlat"],
        g["nlat"],
        g["lon0"],
        g["dlon"],
        g["nlon"],
        g["periodic"],
        params["mode"],
    )
    ok = (best >= 0) & (chord <= params["r_chord"])
    chord = np.where(ok, chord, np.nan)
    out = np.where(ok[None], out, np.nan)
    index = np.where(ok, best, -1)
    if g["flip_lat"]:  # report the index in the source's own lat order
        i, j = index // g["nlon"], index % g["nlon"]
        index = np.where(ok, (g["nlat"] - 1 - i) * g["nlon"] + j, -1)
    matched = None
    if grid_times is not None:
        ti = np.broadcast_to(time_index[None, :], chord.shape)
        matched = np.where(ti >= 0, grid_times[np.clip(ti, 0, None)], _NAT)
    outs = _split_out(out, [np.empty((1, 1) + a.shape[3:], dtype=a.dtype) for a in arrays])
    index = index.astype(_index_dtype(g["nlat"] * g["nlon"]), copy=False)
    return _finish(chord, index, ok, t_time, matched, None, outs)


# --------------------------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------------------------
def colocate(
    source: xr.Dataset,
    target: xr.Dataset,
    *,
    radius_km: float,
    max_dt: Any = None,
    method: Literal["nearest", "mean", "gaussian", "bilinear"] = "nearest",
    variables: Sequence[Hashable] | Hashable | None = None,
    footprint_km: float | Sequence[float] | None = None,
    sensor: str | None = None,
    channel: str | None = None,
    on_empty: Literal["raise", "nan"] = "raise",
    target_crs: Any = None,
    scans_per_task: int | None = None,
    num_threads: int | None = None,
) -> xr.Dataset:
    """Put ``source`` variables onto ``target``'s pixels.

    Parameters
    ----------
    source
        A swath (2-D ``lon``/``lat`` on (cross_track, along_track), ``time`` on along_track) or a
        regular lat/lon grid (1-D ``lat``, ``lon``, optional ``time``).
    target
        A swath, a regular lat/lon grid (1-D ``lat``, ``lon``) or a projected grid (1-D ``x``,
        ``y`` and a CRS, see ``target_crs``). Its ``time`` (scalar or per scan) is the time the
        time window is measured from; a grid with a ``time`` dimension is colocated per step.
    radius_km
        Search radius (great-circle km). Source pixels farther away never match.
    max_dt
        Largest allowed ``|t_source - t_target|`` per pixel (``np.timedelta64``,
        ``datetime.timedelta`` or a pandas string such as ``"15min"``); ``None``: no time window.
    method
        ``"nearest"`` (nearest source pixel), ``"mean"`` (unweighted mean of source pixels within
        the radius), ``"gaussian"`` (average weighted by a Gaussian EFOV of ``footprint_km``,
        truncated at the radius); for a grid source ``"nearest"`` or ``"bilinear"``.
    variables
        Source data variables to colocate (default: all on the source's pixel dims).
    footprint_km
        For ``"gaussian"``: 3 dB full widths (along, cross) of the target footprint in km, or a
        single number for a circular one. ``sigma = FWHM / 2.3548``.
    sensor, channel
        For ``"gaussian"`` without ``footprint_km``: look the footprint up in
        :mod:`xgpm.sensors` (``sensor`` defaults to ``target.attrs["sensor"]``).
    on_empty
        ``"raise"`` (default): raise :class:`~xgpm.errors.NoOverlapError` when no source pixel
        can match; ``"nan"``: return an all-NaN result.
    target_crs
        CRS of a projected target grid (anything :class:`pyproj.CRS` accepts); default from
        ``target.attrs["crs"]`` or a ``spatial_ref`` coordinate's ``crs_wkt``.
    scans_per_task
        Target scans per task when the target is not chunked with dask (default: tasks of at
        most 4096 scans with one thread, of about 512 with several).
    num_threads
        Threads used for an eager (non-dask) call (default: 1; kernels release the GIL). Lazy
        calls use dask's scheduler instead.

    Returns
    -------
    xarray.Dataset
        On the target's pixel dims and coords: the colocated variables (extra dims such as
        ``pmw_frequency`` kept), ``distance`` (km to the nearest match), ``time_offset``
        (source - target), ``n_matches`` (source pixels within the radius; ``mean`` and
        ``gaussian`` only) and
        ``source_index`` (int32, int64 beyond 2**31 source pixels: flat index of the nearest
        source pixel in the source's (cross_track, along_track) -- or (lat, lon) -- C order, -1
        if none). NaN where no match.
        Lazy (dask) when the target or the source variables are dask arrays.

    Raises
    ------
    InvalidArgumentError
        Malformed input (not a Dataset, missing or mismatched ``lon``/``lat``, non-numeric
        geolocation, an empty dataset, unknown variable, bad ``method``, ``radius_km``,
        ``max_dt``, ``footprint_km``, ``scans_per_task`` or ``num_threads``).
    InvalidDataError
        No pixel of ``source`` or ``target`` has a possible position, or a grid source has
        impossible ``lat``/``lon`` axes.
    ProjectionError
        The projected target's CRS (``target_crs``, ``attrs["crs"]``, ``spatial_ref``) is not
        one pyproj understands.
    NoOverlapError
        The datasets share no pixels within ``radius_km`` / ``max_dt`` (``on_empty="raise"``);
        the message gives both datasets' lat/lon boxes and time ranges and what to do.

    Warns
    -----
    DataQualityWarning
        Pixels with impossible geolocation (infinite, ``|lat| > 90``, ``|lon| > 360``) were set
        aside (treated as missing); the message says how many.
    """
    for name, ds in (("source", source), ("target", target)):
        if not isinstance(ds, xr.Dataset):
            hint = {
                "DataArray": f" Pass a Dataset ({name}.to_dataset(), keeping its lon/lat/time "
                "coords).",
                "DataTree": " Open the granule merged (xgpm.open_granule(path)) or pick one "
                f"scan mode's Dataset ({name}['S1'].ds).",
            }.get(type(ds).__name__, "")
            raise InvalidArgumentError(
                f"{name} must be an xarray.Dataset, got {type(ds).__name__}.{hint}"
            )
    if not isinstance(method, str) or method not in (*_SWATH_METHODS, "bilinear"):
        raise InvalidArgumentError(
            f"method={method!r} is not one of 'nearest', 'mean', 'gaussian', 'bilinear'."
        )
    radius_km = _radius(radius_km)
    if on_empty not in ("raise", "nan"):
        raise InvalidArgumentError(f"on_empty={on_empty!r} must be 'raise' or 'nan'.")
    scans_per_task = _count_or_none(scans_per_task, "scans_per_task")
    num_threads = _count_or_none(num_threads, "num_threads")
    max_dt_ns = _max_dt_ns(max_dt)
    src = _source_geometry(source)
    if src.kind == "grid" and method not in _GRID_METHODS:
        raise InvalidArgumentError(
            f"method={method!r} needs a swath source; a grid source supports {_GRID_METHODS}."
        )
    if src.kind != "grid" and method == "bilinear":
        raise InvalidArgumentError("method='bilinear' needs a regular lat/lon grid source.")
    names = _select_variables(source, src, variables)
    if src.lon.size == 0 or src.lat.size == 0:
        raise InvalidArgumentError(
            f"source has no pixels (dims {dict(source['lon'].sizes)}): an empty granule or "
            "selection? Select a non-empty part of it."
        )

    if (
        "time" in target.dims
        and "lat" in target.variables
        and target["lat"].ndim == 1
        and "time" not in target["lat"].dims
    ) or ("time" in target.dims and "x" in target.variables and "lat" not in target.variables):
        # A gridded target with several time steps: one colocation per step.
        steps = [
            colocate(
                source,
                target.isel(time=i),
                radius_km=radius_km,
                max_dt=max_dt,
                method=method,
                variables=names,
                footprint_km=footprint_km,
                sensor=sensor,
                channel=channel,
                on_empty="nan",
                target_crs=target_crs,
                scans_per_task=scans_per_task,
                num_threads=num_threads,
            )
            for i in range(target.sizes["time"])
        ]
        result = xr.concat(steps, dim="time")
        lazy_result = _is_dask(result["distance"].data)
        if on_empty == "raise" and not lazy_result and not _any_match_eager(result):
            raise NoOverlapError(_no_overlap_message(source, target, src, None, radius_km, max_dt))
        return result

    tgt, out_dims = _target_geometries(target, target_crs)
    if tgt.lon.size == 0:
        raise InvalidArgumentError(
            f"target has no pixels (dims {dict(zip(out_dims, tgt.lon.shape, strict=False))}): "
            "an empty granule or selection? Select a non-empty part of it."
        )
    if max_dt_ns >= 0:
        for role, geom in (("source", src), ("target", tgt)):
            if not geom.has_time:
                raise InvalidArgumentError(
                    f"max_dt is set but {role} has no 'time' coordinate; drop max_dt or add time."
                )
    params: dict[str, Any] = {
        "r_chord": 2.0 * math.sin(min(radius_km / EARTH_RADIUS_KM, math.pi) / 2.0),
        "max_dt": max_dt_ns,
        "sigma_along": 1.0,
        "sigma_cross": 1.0,
    }
    if method == "gaussian":
        sa, sc = _footprint_sigmas(footprint_km, sensor, channel, target)
        params["sigma_along"] = sa / EARTH_RADIUS_KM
        params["sigma_cross"] = sc / EARTH_RADIUS_KM

    chunks = _target_chunks(target, tgt, scans_per_task, num_threads)
    lazy = _is_lazy(target, tgt) or any(_is_dask(source[n].data) for n in names)
    threads = 1 if lazy or num_threads is None else max(1, int(num_threads))
    # Eager and threaded: one pool for the caps, the planning and the tasks (threads start once).
    pool = ThreadPoolExecutor(threads) if threads > 1 and src.kind != "grid" else None
    try:
        if src.kind == "grid":
            pieces, overlap = _plan_grid(source, src, tgt, names, chunks, params, method, max_dt_ns)
        else:
            pre = None
            if not lazy and scans_per_task is None and tgt.lon.size and src.lon.size:
                # No chunking asked for: chunks of equal work, not of equal size (and with
                # one thread the block search of the planning, with groups of blocks).
                chunks, pre = _balanced_chunks(
                    src, tgt, params["r_chord"], max_dt_ns, threads, pool
                )
            pieces, overlap = _plan_swath(
                source,
                src,
                tgt,
                names,
                chunks,
                params,
                method,
                max_dt_ns,
                threads,
                pre,
                pool,
                copies=lazy,
            )
        if not overlap and on_empty == "raise":
            raise NoOverlapError(_no_overlap_message(source, target, src, tgt, radius_km, max_dt))
        with_counts = method in ("mean", "gaussian")
        n_source = src.lon.size if src.kind != "grid" else src.lat.size * src.lon.size
        result = _assemble(
            pieces, chunks, tgt, names, source, lazy, num_threads, with_counts, n_source, pool
        )
    finally:
        if pool is not None:
            pool.shutdown()
    if not lazy and on_empty == "raise" and not _any_match_eager(result):
        raise NoOverlapError(_no_overlap_message(source, target, src, tgt, radius_km, max_dt))
    return _to_dataset(result, target, tgt, out_dims, names, source, src, method, radius_km)


def _radius(radius_km: Any) -> float:
    """``radius_km`` as a float in (0, half the Earth's circumference]."""
    if isinstance(radius_km, (bool, np.bool_)):
        raise InvalidArgumentError(f"radius_km={radius_km!r} must be a number of km, not a bool.")
    try:
        radius = float(radius_km)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"radius_km={radius_km!r} must be a number (km).") from err
    if not (np.isfinite(radius) and radius > 0):
        raise InvalidArgumentError(f"radius_km={radius_km!r} must be a positive number of km.")
    half_earth = math.pi * EARTH_RADIUS_KM
    if radius > half_earth:
        raise InvalidArgumentError(
            f"radius_km={radius_km!r} is more than half the Earth's circumference "
            f"({half_earth:.0f} km): give the search radius in km (e.g. 10 for GMI footprints)."
        )
    return radius


def _count_or_none(value: Any, name: str) -> int | None:
    """None, or ``value`` as an int >= 1."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidArgumentError(f"{name}={value!r} must be a positive integer (or None).")
    return int(value)


def _any_match_eager(result: Any) -> bool:
    distance = result["distance"] if isinstance(result, (dict, xr.Dataset)) else result
    distance = np.asarray(distance).reshape(-1)
    step = 1 << 14  # in pieces: stops at the first match, no full-size temporary
    return any(np.isfinite(distance[i : i + step]).any() for i in range(0, distance.size, step))


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


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask")


def _is_lazy(target: xr.Dataset, tgt: _Geometry) -> bool:
    if tgt.kind == "swath":
        return _is_dask(target["lon"].data) or any(
            _is_dask(v.data) and tgt.scan_dim in v.dims for v in target.data_vars.values()
        )
    return any(_is_dask(v.data) for v in target.data_vars.values())


def _target_chunks(
    target: xr.Dataset, tgt: _Geometry, scans_per_task: int | None, num_threads: int | None = None
) -> list[int]:
    n = tgt.lon.shape[1]
    sizes: tuple[int, ...] | None = None
    for v in (target.coords.get("lon"), *target.data_vars.values()):
        if v is not None and _is_dask(v.data) and tgt.scan_dim in v.dims:
            sizes = v.chunksizes[tgt.scan_dim]
            break
    if sizes is None:
        if scans_per_task is None:
            threads = 1 if num_threads is None else max(1, int(num_threads))
            # One thread: few long tasks (less planning); several: short ones, which balance
            # the load (overlaps are uneven along a swath) and bound each thread's buffers.
            step = _MAX_SCANS_PER_TASK if threads == 1 else _THREADED_SCANS_PER_TASK
            step = max(1, -(-n // -(-n // step))) if n else 1  # equal lengths
        else:
            step = scans_per_task
        if step < 1:
            raise InvalidArgumentError(f"scans_per_task={scans_per_task!r} must be >= 1.")
        sizes = tuple(min(step, n - i) for i in range(0, n, step)) or (0,)
    return list(sizes)


def _tile_shape(lon: np.ndarray, lat: np.ndarray, n_per_tile: int) -> tuple[int, int]:
    """Pixels x scans of a roughly square tile holding about ``n_per_tile`` pixels.

    Only changes speed, never results: any tiling finds the same matches.
    """
    nx, ns = lon.shape
    x = nx // 2
    step = max(1, ns // 200)
    scans = np.arange(0, max(ns - 1, 0), step)
    with np.errstate(invalid="ignore"):
        d_px = great_circle_km(
            lon[x, scans],
            lat[x, scans],
            lon[min(x + 1, nx - 1), scans],
            lat[min(x + 1, nx - 1), scans],
        )
        d_scan = great_circle_km(lon[x, scans], lat[x, scans], lon[x, scans + 1], lat[x, scans + 1])
    d_px, d_scan = (
        float(np.median(d[np.isfinite(d)])) if np.isfinite(d).any() else np.nan
        for d in (d_px, d_scan)
    )
    if not (np.isfinite(d_px) and np.isfinite(d_scan) and d_px > 0 and d_scan > 0):
        return 16, 4
    pixels = int(np.clip(round(math.sqrt(n_per_tile * d_scan / d_px)), 1, max(nx, 1)))
    scans_per_tile = int(np.clip(round(n_per_tile / pixels), 1, 64))
    # Equal tiles across the scan (49 DPR rays: 7 x 7, not 6 x 8 + 1): no padding to store.
    pixels = -(-max(nx, 1) // -(-max(nx, 1) // pixels))
    return pixels, scans_per_tile


def _plan_swath(
    source: xr.Dataset,
    src: _Geometry,
    tgt: _Geometry,
    names: list[Hashable],
    chunks: list[int],
    params: dict[str, Any],
    method: str,
    max_dt_ns: int,
    threads: int = 1,
    pre: dict[str, Any] | None = None,
    pool: ThreadPoolExecutor | None = None,
    copies: bool = True,
) -> tuple[list[tuple[Any, ...]], bool]:
    """One task per target chunk, with the source scans (whole blocks) that can reach it.

    With ``copies`` (lazy calls) each task gets copies of its own target and source
    geolocation; without (eager calls) the tasks read the whole swaths in place.

    ``pre`` (from :func:`_balanced_chunks`, whose chunks must then be passed) holds the tile
    shapes, the caps of the whole source and target and the block pairs: no cap is recomputed.
    """
    from xgpm.colocation import _kernels as k

    if pre is None:
        tile = _tile_shape(src.lon, src.lat, k.SOURCE_TILE_SIZE)
        t_tile = _tile_shape(tgt.lon, tgt.lat, k.TARGET_TILE_SIZE)
    else:
        tile, t_tile = pre["tile"], pre["target_tile"]
    params = dict(
        params,
        mode={"nearest": 0, "mean": 1, "gaussian": 2}[method],
        tile=tile,
        target_tile=t_tile,
    )
    n_scan = src.lon.shape[1]
    use_time = max_dt_ns >= 0
    if pre is None:
        s_caps = k.tile_caps(src.lon, src.lat, src.time, use_time, tile[0], tile[1])
    else:
        s_caps = pre["s_caps"]
    arrays = [source[n].transpose(src.cross_dim, src.scan_dim, ...).data for n in names]
    starts = np.concatenate([[0], np.cumsum(chunks)]).astype(int)

    def plan(j: int) -> tuple[Any, ...]:
        start, stop = int(starts[j]), int(starts[j + 1])
        t_time = np.ascontiguousarray(tgt.time[start:stop])
        if pre is None:
            t_caps = k.tile_caps(
                np.ascontiguousarray(tgt.lon[:, start:stop]),
                np.ascontiguousarray(tgt.lat[:, start:stop]),
                t_time,
                use_time,
                t_tile[0],
                t_tile[1],
            )
            need = k.blocks_needed(t_caps, s_caps, params["r_chord"], max_dt_ns, tile[1], n_scan)
            scan_ids = np.flatnonzero(need)
            blocks = np.unique(scan_ids // tile[1])
        else:
            # Chunks start on target block boundaries: their caps are slices of the global ones.
            a0, a1 = start // t_tile[1], -(-stop // t_tile[1])
            t_caps = tuple(np.ascontiguousarray(c[a0:a1]) for c in pre["t_caps"])
            indptr, indices = pre["pairs"]
            blocks = np.unique(indices[indptr[a0] : indptr[a1]])
            scan_ids = (blocks[:, None] * tile[1] + np.arange(tile[1])).ravel()
            scan_ids = scan_ids[scan_ids < n_scan]
        if scan_ids.size == n_scan:
            sub: Any = slice(None)  # whole source: no copy
        elif scan_ids.size and scan_ids[-1] - scan_ids[0] + 1 == scan_ids.size:
            sub = slice(int(scan_ids[0]), int(scan_ids[-1]) + 1)
        else:
            sub = scan_ids
        if copies:  # a task of its own (dask): only the chunk's geolocation
            t_geo = (tgt.lon[:, start:stop].copy(), tgt.lat[:, start:stop].copy(), t_time, 0)
            s_lon = np.ascontiguousarray(src.lon[:, sub])
            s_geo = (s_lon, np.ascontiguousarray(src.lat[:, sub]), np.arange(scan_ids.size))
        else:  # eager: the whole swaths, read in place (copies cost more than the kernel)
            t_geo = (tgt.lon, tgt.lat, t_time, start)
            s_geo = (src.lon, src.lat, scan_ids)
        return (
            _swath_task,
            *t_geo,
            *s_geo,
            np.ascontiguousarray(src.time[sub]),
            scan_ids,
            n_scan,
            params,
            t_caps,
            tuple(np.ascontiguousarray(c[blocks]) for c in s_caps),
            *[a[:, sub] for a in arrays],
        )

    # Planning is per target chunk and releases the GIL: spread it on the eager threads too.
    if threads > 1 and len(chunks) > 1:
        with nullcontext(pool) if pool is not None else ThreadPoolExecutor(threads) as workers:
            pieces = list(workers.map(plan, range(len(chunks))))
    else:
        pieces = [plan(j) for j in range(len(chunks))]
    overlap = any(p[9].size > 0 for p in pieces)
    return pieces, overlap


def _tile_caps_parallel(
    geom: _Geometry, use_time: bool, tile: tuple[int, int], pool: ThreadPoolExecutor, parts: int
) -> list[Any]:
    """Futures of :func:`_kernels.tile_caps` of a swath on ``parts`` scan ranges (in ``pool``).

    The ranges start on block boundaries, so :func:`_join_caps` gives the caps of one call.
    """
    from xgpm.colocation import _kernels as k

    n_blocks = -(-geom.lon.shape[1] // tile[1])
    cuts = np.unique(np.linspace(0, n_blocks, max(1, parts) + 1).astype(int)) * tile[1]
    cuts[-1] = geom.lon.shape[1]

    def caps(i: int) -> tuple[np.ndarray, ...]:
        sl = slice(int(cuts[i]), int(cuts[i + 1]))
        return k.tile_caps(geom.lon[:, sl], geom.lat[:, sl], geom.time[sl], use_time, *tile)

    futures = [pool.submit(caps, i) for i in range(len(cuts) - 1)]
    return futures


def _join_caps(futures: list[Any]) -> tuple[np.ndarray, ...]:
    parts = [f.result() for f in futures]
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(parts[0])))


def _balanced_chunks(
    src: _Geometry,
    tgt: _Geometry,
    r_chord: float,
    max_dt_ns: int,
    threads: int,
    pool: ThreadPoolExecutor | None = None,
) -> tuple[list[int], dict[str, Any]]:
    """Target chunks of about equal work for ``threads`` threads, and what planning needs.

    Work concentrates where the swaths overlap (one crossing of two orbits may be a tenth of the
    target), so equal numbers of scans leave one thread doing most of it. The caps of the whole
    source and target are computed once (in parallel), the source blocks within reach of each
    target block are listed, and the target is cut on block boundaries into ``3 * threads``
    chunks (one thread: one per 4096 scans, 2 at least) of about equal (target pixels x
    candidate source blocks). Only the split changes: the results are identical for any
    chunking.
    """
    from xgpm.colocation import _kernels as k

    tile = _tile_shape(src.lon, src.lat, k.SOURCE_TILE_SIZE)
    t_tile = _tile_shape(tgt.lon, tgt.lat, k.TARGET_TILE_SIZE)
    use_time = max_dt_ns >= 0
    if threads == 1:
        s_caps = k.tile_caps(src.lon, src.lat, src.time, use_time, *tile)
        t_caps = k.tile_caps(tgt.lon, tgt.lat, tgt.time, use_time, *t_tile)
    else:
        with nullcontext(pool) if pool is not None else ThreadPoolExecutor(threads) as workers:
            s_futures = _tile_caps_parallel(src, use_time, tile, workers, threads)
            t_futures = _tile_caps_parallel(tgt, use_time, t_tile, workers, threads)
            s_caps, t_caps = _join_caps(s_futures), _join_caps(t_futures)
    indptr, indices = k.block_pairs(t_caps, s_caps, r_chord, max_dt_ns, 16)
    n_scan = tgt.lon.shape[1]
    # Work of a target block: its pixels times its candidate source blocks, plus a little for
    # the blocks without any (their cap tests).
    work = t_caps[2].astype(np.float64) * (np.diff(indptr) + 0.05)
    cum = np.concatenate([[0.0], np.cumsum(work)])
    if threads == 1:  # few long tasks (less planning), but two at least: each task's work
        # buffer then holds the source tiles of about half the overlap (-5 MiB peak for DPR).
        n_tasks = max(2, -(-n_scan // _MAX_SCANS_PER_TASK))
    else:
        n_tasks = 3 * threads
    n_tasks = max(1, min(n_tasks, work.size))
    if cum[-1] > 0:
        edges = np.searchsorted(cum, np.linspace(0.0, cum[-1], n_tasks + 1)[1:-1])
    else:
        edges = np.linspace(0, work.size, n_tasks + 1)[1:-1].astype(int)
    bounds = np.unique(np.concatenate([[0], np.clip(edges, 0, work.size), [work.size]]))
    scans = np.minimum(bounds * t_tile[1], n_scan)
    chunks = [int(b - a) for a, b in zip(scans[:-1], scans[1:], strict=True) if b > a] or [n_scan]
    pre = {
        "tile": tile,
        "target_tile": t_tile,
        "s_caps": s_caps,
        "t_caps": t_caps,
        "pairs": (indptr, indices),
    }
    return chunks, pre


def _plan_grid(
    source: xr.Dataset,
    src: _Geometry,
    tgt: _Geometry,
    names: list[Hashable],
    chunks: list[int],
    params: dict[str, Any],
    method: str,
    max_dt_ns: int,
) -> tuple[list[tuple[Any, ...]], bool]:
    g = src.grid
    flip = g["dlat"] < 0
    lat = g["lat"][::-1] if flip else g["lat"]
    grid = dict(
        lat0=float(lat[0]),
        dlat=abs(g["dlat"]),
        nlat=lat.size,
        lon0=float(g["lon"][0]),
        dlon=g["dlon"],
        nlon=g["lon"].size,
        periodic=bool(g["periodic"]),
        flip_lat=bool(flip),
    )
    params = dict(params, mode={"nearest": 0, "bilinear": 1}[method], grid=grid)
    times = g["times"]
    arrays = []
    for n in names:
        da_ = source[n]
        if g["time_dim"] is not None and g["time_dim"] in da_.dims:
            da_ = da_.transpose(g["time_dim"], g["lat_dim"], g["lon_dim"], ...)
            arrays.append(da_.data)
        else:
            da_ = da_.transpose(g["lat_dim"], g["lon_dim"], ...)
            arrays.append(da_.data[None])
    # Grid time step for each target scan: the nearest one (within max_dt if set).
    if times is None or times.size == 0 or not tgt.has_time:
        time_index = np.zeros(tgt.lon.shape[1], dtype=np.int64)
        grid_times = None if times is None else times
        if times is not None and times.size > 1:
            raise InvalidArgumentError(
                "source grid has several time steps but target has no 'time' to choose one."
            )
    else:
        tt = tgt.time
        diff = np.abs(tt[:, None].astype(np.float64) - times[None, :].astype(np.float64))
        time_index = np.argmin(diff, axis=1).astype(np.int64)
        if max_dt_ns >= 0:
            time_index[diff[np.arange(tt.size), time_index] > max_dt_ns] = -1
        time_index[tt == _NAT] = -1
        grid_times = times
    if any(a.shape[0] != (1 if times is None else times.size) for a in arrays):
        time_index = np.where(time_index >= 0, 0, -1)
    pieces = []
    start = 0
    for size in chunks:
        stop = start + size
        pieces.append(
            (
                _grid_task,
                np.ascontiguousarray(tgt.lon[:, start:stop]),
                np.ascontiguousarray(tgt.lat[:, start:stop]),
                np.ascontiguousarray(tgt.time[start:stop]),
                np.ascontiguousarray(time_index[start:stop]),
                grid_times,
                params,
                *arrays,
            )
        )
        start = stop
    # Planning-level overlap: target latitudes reach the grid (within the radius) in time.
    t_lat = tgt.lat[np.isfinite(tgt.lat) & np.isfinite(tgt.lon)]
    margin = math.degrees(2.0 * math.asin(min(1.0, params["r_chord"] / 2.0)))
    overlap = bool(
        t_lat.size
        and t_lat.max() >= lat[0] - margin
        and t_lat.min() <= lat[-1] + margin
        and (time_index >= 0).any()
    )
    return pieces, overlap


def _assemble(
    pieces: list[tuple[Any, ...]],
    chunks: list[int],
    tgt: _Geometry,
    names: list[Hashable],
    source: xr.Dataset,
    lazy: bool,
    num_threads: int | None,
    with_counts: bool,
    n_source: int,
    pool: ThreadPoolExecutor | None = None,
) -> dict[str, Any]:
    """Run (or wrap lazily) the tasks and join them along the scan axis."""
    n_cross = tgt.lon.shape[0]
    n_scan = sum(chunks)
    fixed = list(_FIXED_OUTPUTS)
    fixed_dtypes = [np.float32, np.dtype("timedelta64[ns]"), _index_dtype(n_source), np.int32]
    extra_shapes = [
        tuple(
            source[n].shape[i]
            for i, d in enumerate(source[n].dims)
            if d not in _pixel_dims(source, n)
        )
        for n in names
    ]
    out_names = fixed + [str(n) for n in names]
    dtypes = fixed_dtypes + [np.result_type(source[n].dtype, np.float32) for n in names]
    shapes = [()] * len(fixed) + extra_shapes
    keep = [i for i, name in enumerate(out_names) if with_counts or name != "n_matches"]
    if lazy:
        import dask
        import dask.array as da

        parts: dict[int, list[Any]] = {i: [] for i in keep}
        for piece, size in zip(pieces, chunks, strict=True):
            func, *args = piece
            delayed = dask.delayed(func, nout=len(out_names), pure=True)(*args)
            for i in keep:
                parts[i].append(
                    da.from_delayed(delayed[i], shape=(n_cross, size, *shapes[i]), dtype=dtypes[i])
                )
        return {out_names[i]: da.concatenate(parts[i], axis=1) for i in keep}
    # Eager: tasks write into preallocated outputs, so the result is never held twice.
    arrays_out = _empty_together([((n_cross, n_scan, *shapes[i]), dtypes[i]) for i in keep])
    out = {out_names[i]: a for i, a in zip(keep, arrays_out, strict=True)}
    starts = np.concatenate([[0], np.cumsum(chunks)]).astype(int)

    threads = 1 if num_threads is None else max(1, int(num_threads))
    local = threading.local()
    scratch_size = max((_scratch_size(p) for p in pieces), default=0)
    n_workers = min(threads, len(pieces))
    # One allocation for the work buffers of all threads (huge pages, see _empty_together).
    scratches = np.empty((max(n_workers, 1), scratch_size))
    thread_number = itertools.count()

    def run(j: int) -> None:
        func, *args = pieces[j]
        cols = slice(starts[j], starts[j + 1])
        if func is _swath_task:
            # Write straight into the result, and reuse one work buffer per thread: fresh
            # pages cost more than the arithmetic on a busy machine.
            if getattr(local, "scratch", None) is None:
                local.scratch = scratches[next(thread_number)]
            views = {out_names[i]: out[out_names[i]][:, cols] for i in keep}
            func(*args, into=views, scratch=local.scratch)
            return
        result = func(*args)
        for i in keep:
            out[out_names[i]][:, cols] = result[i]

    if threads > 1 and len(pieces) > 1:
        with nullcontext(pool) if pool is not None else ThreadPoolExecutor(threads) as workers:
            list(workers.map(run, range(len(pieces))))
    else:
        for j in range(len(pieces)):
            run(j)
    return out


def _scratch_size(piece: tuple[Any, ...]) -> int:
    """Floats of the work buffer a swath task needs (0 for other tasks)."""
    from xgpm.colocation import _kernels as k

    if piece[0] is not _swath_task:
        return 0
    params, s_caps = piece[11], piece[13]
    return int(k.scratch_floats(s_caps[1].shape[0], s_caps[5].shape[1], *params["tile"]))


def _pixel_dims(source: xr.Dataset, name: Hashable) -> set[Hashable]:
    lon = source["lon"]
    lat = source["lat"]
    return (
        set(lon.dims)
        | set(lat.dims)
        | ({"time"} if "time" in source.dims and lon.ndim == 1 else set())
    )


def _to_dataset(
    result: dict[str, Any],
    target: xr.Dataset,
    tgt: _Geometry,
    out_dims: tuple[Hashable, ...],
    names: list[Hashable],
    source: xr.Dataset,
    src: _Geometry,
    method: str,
    radius_km: float,
) -> xr.Dataset:
    kernel_dims = (tgt.cross_dim, tgt.scan_dim)
    coords = {
        k: v for k, v in target.coords.items() if set(v.dims) <= set(out_dims) or (v.ndim == 0)
    }
    data_vars: dict[Hashable, xr.DataArray] = {}
    for name in names:
        extra = [d for d in source[name].dims if d not in _pixel_dims(source, name)]
        arr = xr.DataArray(result[str(name)], dims=(*kernel_dims, *extra), attrs=source[name].attrs)
        for d in extra:
            if d in source.coords:
                arr = arr.assign_coords({d: source[d]})
        data_vars[name] = arr.transpose(*out_dims, *extra)
    extras = {
        "distance": {"units": "km", "long_name": "great-circle distance to the nearest match"},
        "time_offset": {"long_name": "time of the nearest match minus target time"},
        "source_index": {"long_name": "flat index of the nearest source pixel (-1: none)"},
        "n_matches": {"long_name": "number of source pixels averaged"},
    }
    for name, attrs in extras.items():
        if name not in result:
            continue
        data_vars[name] = xr.DataArray(result[name], dims=kernel_dims, attrs=attrs).transpose(
            *out_dims
        )
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(
        {
            "colocation_method": method,
            "colocation_radius_km": radius_km,
            "earth_radius_km": EARTH_RADIUS_KM,
        }
    )
    if "sensor" in source.attrs:
        ds.attrs["source_sensor"] = source.attrs["sensor"]
    if "sensor" in target.attrs:
        ds.attrs["sensor"] = target.attrs["sensor"]
    return ds


def _box(geom_lon: np.ndarray, geom_lat: np.ndarray) -> str:
    if geom_lon.shape == geom_lat.shape:
        ok = np.isfinite(geom_lon) & np.isfinite(geom_lat)
        lon, lat = geom_lon[ok], geom_lat[ok]
    else:  # 1-D grid axes
        lon, lat = geom_lon[np.isfinite(geom_lon)], geom_lat[np.isfinite(geom_lat)]
    if lon.size == 0 or lat.size == 0:
        return "no valid lat/lon"
    return f"lat [{lat.min():.2f}, {lat.max():.2f}], lon [{lon.min():.2f}, {lon.max():.2f}]"


def _trange(ds: xr.Dataset) -> str:
    if "time" not in ds.variables:
        return "no time"
    t = np.asarray(ds["time"].values).ravel()
    t = t[~np.isnat(t)] if np.issubdtype(t.dtype, np.datetime64) else t
    if t.size == 0:
        return "no valid time"
    return f"time [{t.min()}, {t.max()}]"


def _no_overlap_message(
    source: xr.Dataset,
    target: xr.Dataset,
    src: _Geometry,
    tgt: _Geometry | None,
    radius_km: float,
    max_dt: Any,
) -> str:
    s_box = _box(src.lon, src.lat)
    if tgt is not None:
        t_box = _box(tgt.lon, tgt.lat)
    elif "lat" in target.variables and "lon" in target.variables:
        t_box = _box(
            np.asarray(target["lon"].values, dtype=np.float64),
            np.asarray(target["lat"].values, dtype=np.float64),
        )
    else:
        t_box = "(projected grid)"
    advice = []
    s_t, t_t = _time_bounds(source), _time_bounds(target)
    if max_dt is not None and s_t is not None and t_t is not None:
        gap = max(s_t[0] - t_t[1], t_t[0] - s_t[1], np.timedelta64(0, "ns"))
        if gap > np.timedelta64(0, "ns"):
            advice.append(
                f"their time ranges are {_human(gap)} apart: check that the two granules are "
                "from the same overpass/time window (e.g. the same orbit number), or widen "
                f"max_dt (now {max_dt})"
            )
    if tgt is not None and _boxes_apart(src, tgt, radius_km):
        advice.append(
            "their lat/lon boxes do not meet: check that the two granules are from the same "
            "overpass (e.g. the same orbit number) or that the target covers the source's area"
        )
    if "no valid" in s_box or "no valid" in t_box:
        advice.append(
            "one of them has no valid lon/lat: check that its geolocation was read and decoded"
        )
    if not advice:
        advice.append(
            "check that the two granules are from the same overpass and time window (e.g. the "
            "same orbit number) and cover the same area; if their pixels are close but not "
            f"close enough, widen radius_km (now {radius_km:g})"
            + (f" or max_dt (now {max_dt})" if max_dt is not None else "")
        )
    return (
        f"source and target share no pixels within radius_km={radius_km:g} and "
        f"max_dt={max_dt}: source {s_box}, {_trange(source)}; target {t_box}, "
        f"{_trange(target)}. What to do: {'; '.join(advice)}. Or pass on_empty='nan' to get "
        "an all-NaN result instead."
    )


def _boxes_apart(src: _Geometry, tgt: _Geometry, radius_km: float) -> bool:
    """True when the lat ranges (or, away from the antimeridian, lon ranges) are disjoint."""
    margin = math.degrees(radius_km / EARTH_RADIUS_KM)
    ranges = []
    for geom in (src, tgt):
        lon, lat = geom.lon, geom.lat
        ok = np.isfinite(lon) & np.isfinite(lat) if lon.shape == lat.shape else None
        lon = lon[ok] if ok is not None else lon[np.isfinite(lon)]
        lat = lat[ok] if ok is not None else lat[np.isfinite(lat)]
        if not lon.size or not lat.size:
            return False
        lon = (lon + 180.0) % 360.0 - 180.0
        ranges.append((lat.min(), lat.max(), lon.min(), lon.max()))
    (a0, a1, o0, o1), (b0, b1, p0, p1) = ranges
    if a0 > b1 + margin or b0 > a1 + margin:
        return True
    top = max(abs(a0), abs(a1), abs(b0), abs(b1))
    if top >= 80.0 or (o1 - o0) >= 180.0 or (p1 - p0) >= 180.0:
        return False  # near a pole or across the antimeridian: longitudes say little
    lon_margin = margin / math.cos(math.radians(top))
    return bool(o0 > p1 + lon_margin or p0 > o1 + lon_margin)


def _time_bounds(ds: xr.Dataset) -> tuple[np.datetime64, np.datetime64] | None:
    if "time" not in ds.variables:
        return None
    t = np.asarray(ds["time"].values).ravel()
    if not np.issubdtype(t.dtype, np.datetime64):
        return None
    t = t[~np.isnat(t)].astype("datetime64[ns]")
    if t.size == 0:
        return None
    return t.min(), t.max()


def _human(delta: np.timedelta64) -> str:
    import pandas as pd

    return str(pd.Timedelta(delta).round("s"))
