"""Merging the scan modes of a multi-swath granule onto one swath (nearest neighbours)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = ["DEFAULT_MERGE_RADIUS_KM", "check_radius", "merge_scan_modes"]

DEFAULT_MERGE_RADIUS_KM = 15.0


def check_radius(radius_km: Any, name: str = "merge_radius_km") -> float:
    """A finite positive search radius in km, or InvalidArgumentError."""
    try:
        radius = float(radius_km)
    except (TypeError, ValueError):
        radius = float("nan")
    if not np.isfinite(radius) or radius <= 0:
        raise InvalidArgumentError(
            f"{name}={radius_km!r}: the radius must be a finite distance in km above 0 (the "
            f"default, {DEFAULT_MERGE_RADIUS_KM:g} km, is about one scan spacing)"
        )
    return radius


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon_r, lat_r = np.deg2rad(lon.astype("float64")), np.deg2rad(lat.astype("float64"))
    cos_lat = np.cos(lat_r)
    return np.stack([cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)], axis=-1)


def _nearest_index(ref: xr.Dataset, other: xr.Dataset, radius_km: float) -> np.ndarray | None:
    """Flat index into ``other`` (cross_track x along_track) of each ``ref`` pixel; -1 if none.

    Returns None when both swaths share their geolocation (co-registered products such as
    1C-GMI-R), so no resampling is needed.
    """
    from scipy.spatial import cKDTree

    ref_lon, ref_lat = np.asarray(ref["lon"].values), np.asarray(ref["lat"].values)
    oth_lon, oth_lat = np.asarray(other["lon"].values), np.asarray(other["lat"].values)
    if ref_lon.shape == oth_lon.shape:
        same = np.isclose(ref_lon, oth_lon, atol=1e-4) & np.isclose(ref_lat, oth_lat, atol=1e-4)
        both_nan = np.isnan(ref_lon) & np.isnan(oth_lon)
        if np.all(same | both_nan):
            return None
    earth_radius_km = 6371.0
    other_xyz = _unit_vectors(oth_lon.ravel(), oth_lat.ravel())
    valid = np.isfinite(other_xyz).all(axis=1)
    index = np.full(ref_lon.size, -1, dtype=np.int64)
    if not valid.any():
        return index
    tree = cKDTree(other_xyz[valid])
    ref_xyz = _unit_vectors(ref_lon.ravel(), ref_lat.ravel())
    ok = np.isfinite(ref_xyz).all(axis=1)
    chord = 2.0 * np.sin(radius_km / earth_radius_km / 2.0)
    dist, nearest = tree.query(ref_xyz[ok], k=1, distance_upper_bound=chord)
    found = np.isfinite(dist)
    valid_positions = np.flatnonzero(valid)
    sub = np.full(ok.sum(), -1, dtype=np.int64)
    sub[found] = valid_positions[nearest[found]]
    index[ok] = sub
    return index


def merge_scan_modes(
    scan_modes: dict[str, xr.Dataset],
    reference: str | None = None,
    radius_km: float = DEFAULT_MERGE_RADIUS_KM,
) -> xr.Dataset:
    """Merge the channels of several scan modes onto one reference swath.

    Each pixel of the reference swath takes, for every other scan mode, the values of that
    mode's nearest pixel (great-circle nearest neighbour on the sphere) if it lies within
    ``radius_km``; otherwise NaN. Only variables with a ``pmw_frequency`` dimension (``Tc``,
    ``incidenceAngle`` ...) are merged; the others come from the reference scan mode. A channel
    label present in several scan modes (AMSR2 89 GHz A and B horns) is taken from the first.

    Parameters
    ----------
    scan_modes : dict of str to Dataset
        Scan-mode name -> Dataset, in 1C order.
    reference : str, optional
        The scan mode whose swath is kept; default the one with the most pixels per scan
        (the first on ties: S1 for GMI, S3 for SSMIS, S5 for AMSR2).
    radius_km : float
        Largest distance to a neighbour, 15 km by default (about one scan spacing).
    """
    radius_km = check_radius(radius_km, "radius_km")
    names = list(scan_modes)
    if not names:
        raise InvalidArgumentError("merge_scan_modes: scan_modes is empty; pass {name: Dataset}")
    if reference is None:
        reference = max(names, key=lambda m: (scan_modes[m].sizes["cross_track"], -names.index(m)))
    if reference not in scan_modes:
        raise InvalidArgumentError(f"reference={reference!r} is not one of {names}")
    ref = scan_modes[reference]
    merged_vars: dict[str, list[xr.DataArray]] = {}
    seen_labels: set[str] = set()
    for mode in [reference] + [m for m in names if m != reference]:
        ds = scan_modes[mode]
        labels = [lab for lab in ds["pmw_frequency"].values.tolist() if lab not in seen_labels]
        if not labels:
            continue
        seen_labels.update(labels)
        ds = ds.sel(pmw_frequency=labels)
        index = None if mode == reference else _nearest_index(ref, ds, radius_km)
        for var_name, var in ds.data_vars.items():
            if "pmw_frequency" not in var.dims:
                continue
            merged_vars.setdefault(var_name, []).append(_resample_var(var, ref, index))
    out = ref.drop_vars([v for v in ref.data_vars if "pmw_frequency" in ref[v].dims])
    out = out.drop_dims("pmw_frequency", errors="ignore")
    for var_name, parts in merged_vars.items():
        var = xr.concat(parts, dim="pmw_frequency", coords="minimal", compat="override")
        out[var_name] = var.transpose("cross_track", "along_track", "pmw_frequency", ...)
    out.attrs = dict(ref.attrs, ScanMode="merged", xgpm_merged_scan_modes=names)
    out.attrs["xgpm_merge_reference"] = reference
    out.attrs["xgpm_merge_radius_km"] = radius_km
    return out


def _resample_var(var: xr.DataArray, ref: xr.Dataset, index: np.ndarray | None) -> xr.DataArray:
    """``var`` on the reference swath: pixel ``index`` (flat, -1 = none) of each ref pixel.

    Vectorised indexing keeps dask arrays and xarray's lazily indexed arrays lazy.
    """
    var = var.transpose("cross_track", "along_track", "pmw_frequency")
    variable = var.variable
    if index is not None:
        shape = (ref.sizes["cross_track"], ref.sizes["along_track"])
        found = (index >= 0).reshape(shape)
        cross, along = np.unravel_index(np.where(index >= 0, index, 0), var.shape[:2])
        dims = ("cross_track", "along_track")
        variable = variable.isel(
            cross_track=xr.Variable(dims, cross.reshape(shape)),
            along_track=xr.Variable(dims, along.reshape(shape)),
        )
        variable = variable.where(xr.Variable(dims, found))
    return xr.DataArray(
        variable,
        coords={"pmw_frequency": var["pmw_frequency"].values},
        attrs=var.attrs,
    )
