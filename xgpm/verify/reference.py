"""Ground-radar references for scoring: rates, half-hourly aggregation, regridding to IMERG.

A radar composite (``xgpm.io.odim.open_radar_composite``: ``(time, y, x)`` on a projected grid,
``ACRR`` mm per period or ``RATE`` mm/h, NaN where no radar scanned) becomes a reference on
IMERG's grid in three steps::

    rate = radar_rate(composite)                       # mm/h per 5-min step
    half = aggregate_half_hourly(rate)                 # IMERG's half hours, coverage flagged
    ref = regrid_to_grid(half, imerg.lat, imerg.lon)   # area-weighted 0.1 deg means

Every step keeps track of what the radar did not see (``coverage``, ``valid_fraction``), so a
score is never computed over missing data by accident.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError, InvalidDataError, NoOverlapError, ProjectionError

__all__ = ["radar_rate", "aggregate_half_hourly", "regrid_to_grid", "reference_for"]

_RATE_UNITS = {"mm/h", "mm/hr", "mm h-1", "mm h**-1"}


def radar_rate(composite: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """Precipitation rate (mm/h) of a composite: ``RATE`` as is, ``ACRR`` divided by its period.

    Parameters
    ----------
    composite : Dataset or DataArray
        From :func:`xgpm.io.odim.open_radar_composite` (``ACRR`` needs the ``time_end``
        coordinate to know each accumulation period).

    Raises
    ------
    InvalidArgumentError
        If the composite holds neither quantity, or its units are unknown.
    """
    if not isinstance(composite, (xr.Dataset, xr.DataArray)):
        hint = (
            " (open the ODIM_H5 files with xgpm.open_radar_composite(paths))"
            if isinstance(composite, (str, bytes)) or hasattr(composite, "__fspath__")
            else ""
        )
        raise InvalidArgumentError(
            f"composite must be an xarray Dataset (or DataArray) of a radar composite, got "
            f"{type(composite).__name__}{hint}"
        )
    if isinstance(composite, xr.Dataset):
        if "RATE" in composite:
            da = composite["RATE"]
        elif "ACRR" in composite:
            da = composite["ACRR"]
        elif "DBZH" in composite or composite.attrs.get("quantity") == "DBZH":
            raise InvalidArgumentError(
                "the composite holds reflectivity (DBZH, dBZ), not rain: convert it with a "
                "stated Z-R relation first, e.g. xgpm.io.odim.dbz_to_rainrate(composite, a=200, "
                "b=1.6) or open_radar_composite(paths, 'DBZH', to_rain='marshall-palmer')"
            )
        else:
            raise InvalidArgumentError(
                f"the composite has neither RATE nor ACRR (variables: {list(composite.data_vars)})"
            )
    else:
        da = composite
    units = da.attrs.get("units", "")
    if units in _RATE_UNITS:
        out = da
    elif units == "mm":
        if "time_end" not in da.coords:
            raise InvalidArgumentError(
                "an accumulation (mm) needs a 'time_end' coordinate to become a rate"
            )
        hours = (da["time_end"] - da["time"]) / np.timedelta64(1, "h")
        if (hours <= 0).any():
            raise InvalidArgumentError("accumulation periods must be positive (time_end > time)")
        out = da / hours
    else:
        raise InvalidArgumentError(
            f"unknown units {units!r} for a radar field; expected mm (accumulation) or mm/h"
        )
    out = out.astype("float32")
    out.name = "precipitation"
    out.attrs = {**da.attrs, "units": "mm/h"}
    from xgpm.verify._stats import check_rain_values

    return check_rain_values(out, f"composite[{str(da.name or 'precipitation')!r}]")


def aggregate_half_hourly(rate: xr.DataArray, *, min_coverage: float = 1.0) -> xr.Dataset:
    """Average rates over IMERG's half hours ``[HH:00, HH:30)`` and ``[HH:30, HH+1:00)``.

    Parameters
    ----------
    rate : DataArray
        Rates (mm/h) along ``time`` (start of each step; steps shorter than 30 min, e.g. 5 min).
    min_coverage : float
        Fraction of the half hour a cell must have valid data for to get a value (1.0: every
        step present and valid); below it the cell is NaN.

    Returns
    -------
    Dataset
        ``precipitation`` (mm/h, mean over the valid steps), ``coverage`` (fraction of the half
        hour's steps valid per cell), ``n_steps`` (steps present in the archive per half hour:
        a gap in the archive shows here), ``time`` = start of each half hour.
    """
    if not isinstance(rate, xr.DataArray):
        raise InvalidArgumentError(
            f"rate must be an xarray DataArray of rain rates (radar_rate(composite)), got "
            f"{type(rate).__name__}"
        )
    if "time" not in rate.dims:
        raise InvalidArgumentError(
            f"rate (the composite's rain rates) needs a 'time' dimension; its dims are "
            f"{list(rate.dims)}"
        )
    if rate.sizes["time"] == 0:
        raise InvalidArgumentError(
            "rate has no time step (time has length 0): the composite is empty; check the "
            "files and the period selected"
        )
    if "time" not in rate.coords or not np.issubdtype(rate["time"].dtype, np.datetime64):
        raise InvalidArgumentError(
            "rate needs a datetime64 'time' coordinate (the start of each step)"
        )
    min_coverage = _fraction(min_coverage, "min_coverage", low_open=True)
    times = pd.DatetimeIndex(rate["time"].values)
    # the accumulation periods say the step exactly; instantaneous fields (OPERA RATE: start
    # equal to end) take it from the spacing of the times
    if "time_end" in rate.coords and bool((rate["time_end"] > rate["time"]).all()):
        periods = (rate["time_end"] - rate["time"]).values.astype("timedelta64[s]")
        step = pd.Timedelta(np.median(periods))
    else:
        steps = np.diff(times.values).astype("timedelta64[s]")
        if steps.size == 0:
            raise InvalidArgumentError(
                "one time step without a 'time_end' coordinate: the step length is unknown"
            )
        step = pd.Timedelta(np.median(steps))
    if step > pd.Timedelta("30min"):
        raise InvalidArgumentError(f"steps of {step} are longer than IMERG's half hour")
    expected = int(round(pd.Timedelta("30min") / step))
    slot = rate["time"].dt.floor("30min")
    valid = rate.notnull()
    summed = rate.fillna(0.0).groupby(slot).sum("time")
    n_valid = valid.groupby(slot).sum("time")
    n_steps = valid["time"].groupby(slot).count()
    coverage = (n_valid / expected).clip(max=1.0)
    mean = (summed / n_valid.where(n_valid > 0)).where(coverage >= min_coverage - 1e-9)
    out = xr.Dataset(
        {
            "precipitation": mean.astype("float32").assign_attrs(units="mm/h"),
            "coverage": coverage.astype("float32"),
            "n_steps": n_steps,
        }
    ).rename({"floor": "time"} if "floor" in mean.dims else {})
    out.attrs = {
        "aggregation": f"mean of {step} steps over half hours",
        "min_coverage": min_coverage,
    }
    return out


def _fraction(value: Any, name: str, *, low_open: bool = False) -> float:
    """``value`` as a float in [0, 1] (``(0, 1]`` when ``low_open``), else an error naming it."""
    interval = "(0, 1]" if low_open else "[0, 1]"
    if isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{name} must be a fraction in {interval}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (np.isfinite(number) and (0.0 < number if low_open else 0.0 <= number) and number <= 1):
        raise InvalidArgumentError(f"{name} must be a fraction in {interval}, got {value!r}")
    return number


def _proj(projdef: Any) -> Any:
    """``pyproj.Proj`` of a composite's ``projdef``, or a :class:`ProjectionError`."""
    from pyproj import Proj
    from pyproj.exceptions import CRSError, ProjError

    try:
        return Proj(projdef)
    except (CRSError, ProjError, TypeError, ValueError) as error:
        raise ProjectionError(
            f"the radar field's attrs['projdef']={projdef!r} is not a projection pyproj "
            f"understands ({error}). Open the composite with xgpm.open_radar_composite, which "
            "reads it from the file's 'where' group, or set a valid PROJ string."
        ) from error


def _edges(centres: np.ndarray) -> np.ndarray:
    centres = np.asarray(centres, dtype="float64")
    if centres.size < 2:
        raise InvalidArgumentError("a target grid needs at least two cells along lat and lon")
    step = np.diff(centres)
    if not (np.all(step > 0) and np.allclose(step, step[0], rtol=1e-3)):
        raise InvalidArgumentError("target lat/lon must be regular and increasing")
    half = step[0] / 2
    return np.concatenate([centres - half, [centres[-1] + half]])


def _regrid_matrix(
    lon2d: np.ndarray,
    lat2d: np.ndarray,
    cell_area_km2: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
):
    """Sparse (n_target x n_source) matrix of each source cell's area in its target cell."""
    from scipy.sparse import csr_matrix

    lat_edges, lon_edges = _edges(lat), _edges(lon)
    row = np.searchsorted(lat_edges, lat2d.ravel(), side="right") - 1
    col = np.searchsorted(lon_edges, lon2d.ravel(), side="right") - 1
    inside = (row >= 0) & (row < lat.size) & (col >= 0) & (col < lon.size)
    if not inside.any():
        raise NoOverlapError(
            f"the radar grid (lat {np.nanmin(lat2d):.2f}..{np.nanmax(lat2d):.2f}, lon "
            f"{np.nanmin(lon2d):.2f}..{np.nanmax(lon2d):.2f}) does not overlap the target grid "
            f"(lat {lat_edges[0]:.2f}..{lat_edges[-1]:.2f}, lon {lon_edges[0]:.2f}.."
            f"{lon_edges[-1]:.2f}). What to do: pass the IMERG grid (or a cut of it) over the "
            "radar's domain, and check that lat/lon are not swapped"
        )
    target = row[inside] * lon.size + col[inside]
    source = np.flatnonzero(inside)
    weights = cell_area_km2.ravel()[inside]
    return csr_matrix((weights, (target, source)), shape=(lat.size * lon.size, lon2d.size))


def _target_cell_area_km2(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    radius = 6371.0
    lat_edges, lon_edges = np.deg2rad(_edges(lat)), np.deg2rad(_edges(lon))
    band = np.abs(np.diff(np.sin(lat_edges)))[:, None]
    return radius**2 * band * np.abs(np.diff(lon_edges))[None, :]


def regrid_to_grid(
    field: xr.Dataset | xr.DataArray,
    lat: Any,
    lon: Any,
    *,
    variable: str = "precipitation",
    min_valid_fraction: float = 0.0,
) -> xr.Dataset:
    """Area-weighted means of a projected radar field on a regular lat/lon grid (IMERG's).

    Each radar cell counts in the target cell that contains its centre, weighted by its true
    area (projection cell size divided by pyproj's areal scale factor there). Cells of 1 km in
    0.1 deg (~ 8 x 11 km) cells make the centre rule an area average to within a few percent at
    the edges of each target cell.

    Parameters
    ----------
    field : Dataset or DataArray
        ``(..., y, x)`` with 2-D ``lon``/``lat`` coordinates and ``attrs["projdef"]`` (as
        :func:`xgpm.io.odim.open_radar_composite` and :func:`aggregate_half_hourly` give).
    lat, lon : array-like
        Cell centres of the regular target grid (e.g. ``imerg.lat``, ``imerg.lon``).
    variable : str
        The variable of a Dataset to regrid.
    min_valid_fraction : float
        Target cells whose valid radar area covers less than this fraction are NaN.

    Returns
    -------
    Dataset
        ``precipitation`` (area mean over valid radar cells) and ``valid_fraction`` (valid radar
        area / target cell area, 0 where no radar saw), on ``(..., lat, lon)``. Lazy for dask
        input (one sparse product per block).
    """
    if isinstance(field, xr.Dataset):
        if variable not in field.data_vars:
            raise InvalidArgumentError(
                f"the radar field has no {variable!r} variable (it has "
                f"{sorted(map(str, field.data_vars))}); pass variable=<name>"
            )
        da = field[variable]
    elif isinstance(field, xr.DataArray):
        da = field
    else:
        raise InvalidArgumentError(
            f"field must be an xarray Dataset or DataArray on (y, x), got {type(field).__name__}"
        )
    projdef = field.attrs.get("projdef") or da.attrs.get("projdef")
    for coord in ("lon", "lat"):
        if coord not in da.coords or da[coord].dims != ("y", "x"):
            raise InvalidArgumentError(f"the radar field needs a 2-D '{coord}' over (y, x)")
    for coord in ("x", "y"):
        if coord not in da.coords or da[coord].size < 2:
            raise InvalidArgumentError(
                f"the radar field needs a 1-D {coord!r} coordinate (projected metres) with at "
                "least 2 values: the cell size comes from it"
            )
    if not projdef:
        raise InvalidArgumentError("the radar field needs attrs['projdef'] (its projection)")
    min_valid_fraction = _fraction(min_valid_fraction, "min_valid_fraction")
    try:
        lat = np.asarray(lat, dtype="float64").ravel()
        lon = np.asarray(lon, dtype="float64").ravel()
    except (TypeError, ValueError) as error:
        raise InvalidArgumentError(
            "lat/lon of the target grid must be numbers (cell centres in degrees, e.g. "
            "imerg['lat'].values)"
        ) from error
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 360):
        raise InvalidDataError(
            f"target grid lat/lon out of range (lat {np.nanmin(lat):g}..{np.nanmax(lat):g}, lon "
            f"{np.nanmin(lon):g}..{np.nanmax(lon):g}): pass the cell centres in degrees"
        )
    lon2d = np.asarray(da["lon"].values, dtype="float64")
    lat2d = np.asarray(da["lat"].values, dtype="float64")
    dx = float(np.abs(np.median(np.diff(da["x"].values))))
    dy = float(np.abs(np.median(np.diff(da["y"].values))))
    factors = _proj(projdef).get_factors(lon2d, lat2d)
    cell_area = dx * dy / 1e6 / np.asarray(factors.areal_scale)
    matrix = _regrid_matrix(lon2d, lat2d, cell_area, lat, lon)
    target_area = _target_cell_area_km2(lat, lon).ravel()
    n_y, n_x = lat.size, lon.size

    def kernel(values: np.ndarray) -> np.ndarray:
        lead = values.shape[:-2]
        flat = values.reshape(-1, values.shape[-2] * values.shape[-1]).T
        valid = np.isfinite(flat)
        area_valid = matrix @ valid.astype("float64")
        total = matrix @ np.where(valid, flat, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(area_valid > 0, total / area_valid, np.nan)
        fraction = np.clip(area_valid / target_area[:, None], 0.0, 1.0)
        mean = np.where(fraction >= min_valid_fraction, mean, np.nan)
        stacked = np.stack([mean.T, fraction.T], axis=-2).astype("float32")
        return stacked.reshape((*lead, 2, n_y, n_x))

    out = xr.apply_ufunc(
        kernel,
        da,
        input_core_dims=[["y", "x"]],
        output_core_dims=[["stat", "lat", "lon"]],
        dask="parallelized",
        output_dtypes=["float32"],
        dask_gufunc_kwargs={"output_sizes": {"stat": 2, "lat": n_y, "lon": n_x}},
    )
    result = xr.Dataset(
        {
            "precipitation": out.isel(stat=0, drop=True).assign_attrs(
                units=da.attrs.get("units", "mm/h")
            ),
            "valid_fraction": out.isel(stat=1, drop=True),
        },
        coords={"lat": lat, "lon": lon},
    )
    keep = [
        c
        for c in da.coords
        if c not in ("x", "y", "lon", "lat") and "y" not in da[c].dims and "x" not in da[c].dims
    ]
    result = result.assign_coords({c: da[c] for c in keep})
    return result.transpose(..., "lat", "lon")


def _check_imerg_grid(imerg: Any) -> None:
    """``imerg`` must be an xarray object with 1-D lat/lon and a datetime64 time coordinate."""
    if not isinstance(imerg, (xr.Dataset, xr.DataArray)):
        raise InvalidArgumentError(
            f"imerg must be an IMERG xarray Dataset or DataArray (time, lat, lon), got "
            f"{type(imerg).__name__} (open the granules with xgpm.open_granules(paths))"
        )
    missing = [c for c in ("time", "lat", "lon") if c not in imerg.coords]
    if missing:
        raise InvalidArgumentError(
            f"imerg lacks the coordinate(s) {missing} (it has {sorted(map(str, imerg.coords))}): "
            "the reference is made on IMERG's grid (lat, lon) and half hours (time); open the "
            "granules with xgpm.open_granules"
        )
    for name in ("lat", "lon"):
        if imerg[name].ndim != 1:
            raise InvalidArgumentError(
                f"imerg[{name!r}] must be 1-D (a regular grid), got dims {imerg[name].dims}"
            )
    if not np.issubdtype(imerg["time"].dtype, np.datetime64):
        raise InvalidArgumentError(
            f"imerg['time'] has dtype {imerg['time'].dtype}; it must be datetime64 (decode "
            "times when opening the files)"
        )


def reference_for(
    composite: xr.Dataset,
    imerg: xr.Dataset | xr.DataArray,
    *,
    min_coverage: float = 1.0,
    min_valid_fraction: float = 0.9,
) -> xr.Dataset:
    """A radar reference on IMERG's grid and half hours, ready for :func:`xgpm.verify.score`.

    ``precipitation`` is NaN where the radar saw less than ``min_valid_fraction`` of a cell or
    less than ``min_coverage`` of its half hour, so a score sees only what the radar measured.
    The result keeps only the half hours and cells IMERG has.

    Parameters
    ----------
    composite : Dataset
        From :func:`xgpm.io.odim.open_radar_composite` (``ACRR`` or ``RATE`` on (time, y, x),
        2-D ``lon``/``lat``, ``attrs["projdef"]``).
    imerg : Dataset or DataArray
        IMERG half hours: 1-D ``lat``/``lon`` (regular, increasing) and datetime64 ``time``.
    min_coverage : float
        In (0, 1]: see :func:`aggregate_half_hourly`.
    min_valid_fraction : float
        In [0, 1]: see :func:`regrid_to_grid`.

    Returns
    -------
    Dataset
        ``precipitation``, ``valid_fraction`` and ``coverage`` on IMERG's grid and half hours.

    Raises
    ------
    InvalidArgumentError
        Not a composite / not IMERG, missing coordinates, fractions outside their range.
    InvalidDataError
        Negative radar rates (undecoded fill values); lat/lon out of range.
    ProjectionError
        ``attrs["projdef"]`` is not a projection.
    NoOverlapError
        No half hour or no cell in common (the message gives both periods/boxes and what to
        do).
    """
    _check_imerg_grid(imerg)
    min_coverage = _fraction(min_coverage, "min_coverage", low_open=True)
    min_valid_fraction = _fraction(min_valid_fraction, "min_valid_fraction")
    half = aggregate_half_hourly(radar_rate(composite), min_coverage=min_coverage)
    half.attrs["projdef"] = composite.attrs.get("projdef")
    ref = regrid_to_grid(
        half, imerg["lat"].values, imerg["lon"].values, min_valid_fraction=min_valid_fraction
    )
    common = np.intersect1d(ref["time"].values, imerg["time"].values)
    if common.size == 0:
        radar_t, imerg_t = ref["time"].values, imerg["time"].values
        imerg_valid = imerg_t[~np.isnat(imerg_t)]
        imerg_span = (
            f"{imerg_valid.min()}..{imerg_valid.max()}" if imerg_valid.size else "no valid time"
        )
        raise NoOverlapError(
            "the radar composite and IMERG share no half hour: radar "
            f"{radar_t.min()}..{radar_t.max()}, IMERG {imerg_span}. What to do: pass radar "
            "files and IMERG granules of the same period (IMERG's time is the start of each "
            "half hour), or select IMERG over the radar's period first "
            "(imerg.sel(time=slice(start, end)))."
        )
    ref = ref.sel(time=common)
    ref["coverage"] = half["coverage"].sel(time=common).mean(("y", "x"))
    return ref
