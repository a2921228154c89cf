"""Resample a radiometer swath to GMI's pixel spacing, and back.

Translation models (``ds.gpm.to_gmi()``) and DRAIN are convolutional: their receptive field is
counted in pixels, so they must see images at GMI's sampling (5.1 km between pixels along its
conical scan, 13.2 km between scans). Other radiometers sample their swaths more coarsely
(SSMIS: 12.4 km along its 180-pixel scans, 12.6 km between scans). :func:`to_gmi_sampling` keeps
the *source* swath (its ground track, scans and edges) but densifies it by an integer factor
along each axis whose spacing is at least 1.5 times GMI's, by linear interpolation in scan/pixel
index space; lon/lat are interpolated as unit vectors on the sphere, so the antimeridian and the
poles are safe. :func:`to_source_sampling` returns to the source's own pixels exactly.

Linear interpolation adds no information: the footprints of the source channels stay as large as
they were. Sharpening them to GMI's footprints is the translation model's job.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = [
    "GMI_SPACING_KM",
    "check_swath",
    "pixel_spacing_km",
    "to_gmi_sampling",
    "to_source_sampling",
    "upsampling_factor",
]

#: GMI's pixel spacing (km), measured on its swath: between neighbouring pixels along the
#: conical scan (5.1 km) and between scans (13.2 km).
GMI_SPACING_KM: tuple[float, float] = (5.1, 13.2)

CROSS, ALONG = "cross_track", "along_track"


def check_swath(ds: Any, role: str = "ds") -> None:
    """Raise unless ``ds`` is a swath with (cross_track, along_track) dims and lon/lat coords.

    Parameters
    ----------
    ds : Dataset or DataArray
        The object to check.
    role : str
        How the message names it (``"to_gmi: ds"``).

    Raises
    ------
    InvalidArgumentError
        Not an xarray object, or missing dims/coords (the message lists what it has).
    """
    if not isinstance(ds, (xr.Dataset, xr.DataArray)):
        raise InvalidArgumentError(
            f"{role} must be an xarray Dataset or DataArray (a swath), got {type(ds).__name__}"
        )
    missing = [d for d in (CROSS, ALONG) if d not in ds.dims]
    missing += [c for c in ("lon", "lat") if c not in ds.coords]
    if missing:
        raise InvalidArgumentError(
            f"{role}: a swath needs dims {CROSS!r}, {ALONG!r} and coords 'lon', 'lat'; it "
            f"lacks {missing} (dims: {list(ds.dims)}, coords: {list(ds.coords)}). Open it with "
            "xgpm.open_granule, or rename its dims/coords to these names"
        )
    for name in ("lon", "lat"):
        if ds[name].dtype.kind not in "fiu":
            raise InvalidArgumentError(
                f"{role}[{name!r}] has dtype {ds[name].dtype}; geolocation must be numbers "
                "(degrees)"
            )


_check_swath = check_swath


def pixel_spacing_km(ds: xr.Dataset | xr.DataArray) -> tuple[float, float]:
    """Median distance (km) between neighbouring pixels across and along the swath.

    Parameters
    ----------
    ds : Dataset or DataArray
        A swath with ``lon``/``lat`` coords on (cross_track, along_track).

    Returns
    -------
    (float, float)
        Spacing across the swath and between scans; NaN on an axis of length 1.
    """
    from xgpm.colocation.core import great_circle_km

    _check_swath(ds)
    lon = np.asarray(ds["lon"].transpose(CROSS, ALONG).values, dtype=np.float64)
    lat = np.asarray(ds["lat"].transpose(CROSS, ALONG).values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        across = great_circle_km(lon[:-1], lat[:-1], lon[1:], lat[1:])
        along = great_circle_km(lon[:, :-1], lat[:, :-1], lon[:, 1:], lat[:, 1:])
    spacing = []
    for d in (across, along):
        d = d[np.isfinite(d) & (d > 0)]
        spacing.append(float(np.median(d)) if d.size else float("nan"))
    return spacing[0], spacing[1]


def upsampling_factor(spacing: float, target: float) -> int:
    """The integer densification factor of an axis: ``round(spacing / target)``, at least 1.

    An integer factor keeps every source pixel as a pixel of the dense swath, so
    :func:`to_source_sampling` is an exact inverse (a strided selection).
    """
    if not np.isfinite(spacing) or not np.isfinite(target) or target <= 0:
        return 1
    return max(1, int(round(spacing / target)))


def _new_positions(n: int, factor: int) -> np.ndarray | None:
    """Fractional pixel positions of the densified axis (None: keep the axis)."""
    if n < 2 or factor <= 1:
        return None
    return np.arange((n - 1) * factor + 1, dtype=np.float64) / factor


def _lonlat_to_xyz(lon: xr.DataArray, lat: xr.DataArray) -> xr.Dataset:
    lo, la = np.deg2rad(lon), np.deg2rad(lat)
    return xr.Dataset({"x": np.cos(la) * np.cos(lo), "y": np.cos(la) * np.sin(lo), "z": np.sin(la)})


def _xyz_to_lonlat(xyz: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    norm = np.sqrt(xyz.x**2 + xyz.y**2 + xyz.z**2)
    lat = np.rad2deg(np.arcsin(np.clip(xyz.z / norm, -1.0, 1.0)))
    lon = np.rad2deg(np.arctan2(xyz.y, xyz.x))
    return lon, lat


def _interp(obj: Any, positions: dict[Hashable, np.ndarray]) -> Any:
    """Linear interpolation in index space along the given dims.

    Source pixels (integer positions) keep their value exactly, even next to a NaN; a pixel
    interpolated between a value and a NaN is NaN. Lazy inputs stay lazy (two strided
    selections and a weighted sum per dim).
    """
    for dim, pos in positions.items():
        n = obj.sizes[dim]
        lower = np.floor(pos).astype(np.int64)
        upper = np.minimum(lower + 1, n - 1)
        weight = xr.DataArray(pos - lower, dims=dim)
        low = obj.isel({dim: lower})
        high = obj.isel({dim: upper})
        obj = xr.where(weight == 0, low, low * (1.0 - weight) + high * weight, keep_attrs=True)
    return obj


def _resample(ds: xr.Dataset, positions: dict[Hashable, np.ndarray]) -> xr.Dataset:
    coords_2d = [
        n for n, c in ds.coords.items() if n not in ("lon", "lat") and set(c.dims) & set(positions)
    ]
    geometry = _lonlat_to_xyz(ds["lon"].astype("float64"), ds["lat"].astype("float64"))
    lon, lat = _xyz_to_lonlat(_interp(geometry, positions))
    body = ds.drop_vars(["lon", "lat", *coords_2d])
    numeric = [n for n, v in body.data_vars.items() if np.issubdtype(v.dtype, np.number)]
    keep = [n for n in body.data_vars if n not in numeric]
    touched = [n for n in numeric if set(body[n].dims) & set(positions)]
    out = _interp(body[touched], positions) if touched else xr.Dataset()
    for name in touched:  # interp promotes to float64; keep the TB dtype
        if np.issubdtype(body[name].dtype, np.floating):
            out[name] = out[name].astype(body[name].dtype)
    for name in [n for n in numeric if n not in touched] + [
        n for n in keep if not set(body[n].dims) & set(positions)
    ]:
        out[name] = body[name]
    # Per-scan coordinates (time) follow the along-track positions.
    for name in coords_2d:
        coord = ds[name]
        if np.issubdtype(coord.dtype, np.datetime64):
            as_float = coord.astype("int64").astype("float64").where(~np.isnat(coord))
            value = _interp(as_float, positions).round()
            value = value.fillna(np.iinfo(np.int64).min).astype("int64").astype(coord.dtype)
        elif np.issubdtype(coord.dtype, np.number):
            value = _interp(coord, positions)
        else:
            continue
        out = out.assign_coords({name: value})
    out = out.assign_coords(lon=lon.astype(ds["lon"].dtype), lat=lat.astype(ds["lat"].dtype))
    for name in out.variables:
        if name in ds.variables:
            out[name].attrs = dict(ds[name].attrs)
    out.attrs = dict(ds.attrs)
    return out


def to_gmi_sampling(
    ds: xr.Dataset, *, spacing_km: tuple[float, float] = GMI_SPACING_KM
) -> xr.Dataset:
    """The source swath, densified to GMI's pixel spacing.

    Parameters
    ----------
    ds : Dataset
        A radiometer swath (cross_track, along_track, ...) with ``lon``/``lat`` coords.
    spacing_km : (float, float)
        Target spacing across and along the swath (default GMI's).

    Returns
    -------
    Dataset
        Same variables and attrs; an axis whose spacing is ``k = round(spacing / target)``
        >= 2 times the target gets ``k - 1`` interpolated pixels between each pair of source
        pixels (``(n - 1) k + 1`` in all, spanning the same first and last pixel); other axes
        are untouched. ``attrs["xgpm_upsampling"]`` records ``[k_cross, k_along]`` so that
        :func:`to_source_sampling` can undo it exactly. Lazy (dask) inputs stay lazy.
    """
    _check_swath(ds)
    spacing = pixel_spacing_km(ds)
    factors = [upsampling_factor(h, w) for h, w in zip(spacing, spacing_km, strict=True)]
    positions = {}
    for dim, factor in zip((CROSS, ALONG), factors, strict=True):
        new = _new_positions(ds.sizes[dim], factor)
        if new is not None:
            positions[dim] = new
    out = _resample(ds, positions) if positions else ds.copy()
    out.attrs["xgpm_upsampling"] = [
        factor if dim in positions else 1
        for dim, factor in zip((CROSS, ALONG), factors, strict=True)
    ]
    return out


def to_source_sampling(ds: xr.Dataset, like: xr.Dataset | None = None) -> xr.Dataset:
    """Undo :func:`to_gmi_sampling`: keep the dense pixels that are source pixels.

    Parameters
    ----------
    ds : Dataset
        Output of :func:`to_gmi_sampling`, or of a model applied to it (which kept its
        ``attrs["xgpm_upsampling"]``).
    like : Dataset, optional
        The source swath; when given, its lon/lat/time coords are used and the sizes checked.

    Returns
    -------
    Dataset
        ``ds`` on the source pixels (a strided selection: exact, and lazy inputs stay lazy).
    """
    _check_swath(ds)
    factors = ds.attrs.get("xgpm_upsampling")
    if factors is None or len(factors) != 2:
        raise InvalidArgumentError(
            "to_source_sampling needs the attrs['xgpm_upsampling'] that to_gmi_sampling "
            "writes; this dataset has none (was it made by to_gmi_sampling?)"
        )
    k_cross, k_along = (int(k) for k in factors)
    out = ds.isel({CROSS: slice(None, None, k_cross), ALONG: slice(None, None, k_along)})
    if like is not None:
        _check_swath(like)
        if any(out.sizes[d] != like.sizes[d] for d in (CROSS, ALONG)):
            raise InvalidArgumentError(
                f"like= has {CROSS}={like.sizes[CROSS]}, {ALONG}={like.sizes[ALONG]} but the "
                f"dense swath maps back to {out.sizes[CROSS]} x {out.sizes[ALONG]}: pass the "
                "swath it was made from"
            )
        coords = {n: c for n, c in like.coords.items() if set(c.dims) & {CROSS, ALONG}}
        out = out.drop_vars([n for n in out.coords if n in coords]).assign_coords(coords)
    out.attrs = {k: v for k, v in out.attrs.items() if k != "xgpm_upsampling"}
    return out
