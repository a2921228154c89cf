"""Colocation stage 1: the geometry of a dataset (swath or grid), as the kernels read it.

``_Geometry`` holds lon/lat (or projected x/y and a CRS), scan times and the layout of a source or
target; ``_source_geometry`` and ``_target_geometries`` build it from a Dataset, setting aside
pixels that cannot match (no position, no time).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from xgpm.colocation._common import _NAT
from xgpm.errors import (
    DataQualityWarning,
    InvalidArgumentError,
    InvalidDataError,
    ProjectionError,
)


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
