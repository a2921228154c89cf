"""Colocation stage 4: the output Dataset, and the messages when nothing can match."""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from xgpm.colocation._common import EARTH_RADIUS_KM
from xgpm.colocation._geometry import _Geometry


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
