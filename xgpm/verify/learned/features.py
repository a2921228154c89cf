"""Inputs and targets of the learned scorer (:mod:`xgpm.verify.learned.scorer`).

The 5 input channels of an IMERG map (:data:`INPUT_CHANNELS`, :func:`imerg_features`), the
checks of an IMERG Dataset (:func:`check_imerg`) and the per-map target scores
(:func:`target_table`). NumPy and xarray only: no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, InvalidDataError

#: Channel names, in the order the network reads them (see the module docstring).
INPUT_CHANNELS = (
    "precipitation",
    "precipitationQualityIndex",
    "IRinfluence",
    "MWprecipSource",
    "valid",
)
#: The IMERG variables the scorer reads.
REQUIRED_VARIABLES = INPUT_CHANNELS[:4]
#: Predicted scores, in the order of the score head's outputs.
TARGETS = ("csi_1", "fss_0.5_5")
_GRID_STEP = 0.1


# ------------------------------------------------------------------------------------------
# inputs and targets
# ------------------------------------------------------------------------------------------


def check_imerg(ds: Any, what: str = "ds") -> None:
    """Raise a clear error unless ``ds`` is an IMERG Dataset the scorer can read.

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Not a Dataset, missing one of :data:`REQUIRED_VARIABLES`, no ``(time, lat, lon)`` dims,
        or not a 0.1 deg grid.
    """
    if not isinstance(ds, xr.Dataset):
        raise InvalidArgumentError(
            f"{what}: expected an IMERG xarray.Dataset (time, lat, lon) with "
            f"{list(REQUIRED_VARIABLES)}, got {type(ds).__name__}."
        )
    missing = [v for v in REQUIRED_VARIABLES if v not in ds.data_vars]
    if missing:
        raise InvalidArgumentError(
            f"{what}: the learned scorer needs the IMERG variables {list(REQUIRED_VARIABLES)}; "
            f"missing {missing}. Open the granules with all variables (xgpm.open_granules(...) "
            "without a variable selection)."
        )
    for name in REQUIRED_VARIABLES:
        if ds[name].dtype.kind not in "fiu":
            raise InvalidArgumentError(
                f"{what}[{name!r}] has dtype {ds[name].dtype}; the scorer needs numbers."
            )
        dims = set(ds[name].dims)
        if not {"lat", "lon"} <= dims or not dims <= {"time", "lat", "lon"}:
            raise InvalidArgumentError(
                f"{what}[{name!r}]: expected dims (time, lat, lon), got {ds[name].dims}."
            )
    for dim in ("lat", "lon"):
        if dim not in ds.coords or ds.sizes[dim] < 2:
            raise InvalidArgumentError(f"{what}: needs a {dim!r} coordinate with >= 2 cells.")
        if ds[dim].dtype.kind not in "fiu":
            raise InvalidArgumentError(
                f"{what}[{dim!r}] has dtype {ds[dim].dtype}; it must be numbers (degrees)."
            )
        step = np.diff(np.asarray(ds[dim].values, dtype="float64"))
        if np.allclose(step, -_GRID_STEP, atol=2e-3):
            raise InvalidArgumentError(
                f"{what}: {dim!r} is descending; sort it first (ds.sortby({dim!r}))."
            )
        if not np.allclose(step, _GRID_STEP, atol=2e-3):
            raise InvalidArgumentError(
                f"{what}: the learned scorer works on IMERG's 0.1 deg grid; {dim!r} steps are "
                f"{np.unique(step.round(4))[:5]}. Do not regrid IMERG before scoring."
            )
    if "time" in ds.dims and ds.sizes["time"] == 0:
        raise InvalidArgumentError(
            f"{what}: no map to score (time has length 0); select some half hours."
        )


def _crop_to_grid(ds: xr.Dataset, grid: dict[str, Any], what: str) -> xr.Dataset:
    lat0, lon0 = float(grid["lat_first"]), float(grid["lon_first"])
    ny, nx = int(grid["height"]), int(grid["width"])
    lat = np.asarray(ds["lat"].values, dtype="float64")
    lon = np.asarray(ds["lon"].values, dtype="float64")
    i = np.flatnonzero(np.abs(lat - lat0) < 0.02)
    j = np.flatnonzero(np.abs(lon - lon0) < 0.02)
    if not i.size or not j.size or i[0] + ny > lat.size or j[0] + nx > lon.size:
        raise InvalidArgumentError(
            f"{what}: the scorer was trained on a {ny} x {nx} grid of 0.1 deg from lat "
            f"{lat0:.2f}, lon {lon0:.2f} (the card's grid); this map spans lat "
            f"{lat.min():.2f}..{lat.max():.2f}, lon {lon.min():.2f}..{lon.max():.2f} and does "
            "not contain it. Train a scorer for this domain (`xgpm train scorer`)."
        )
    return ds.isel(lat=slice(i[0], i[0] + ny), lon=slice(j[0], j[0] + nx))


#: Plausible ranges of the scorer's IMERG inputs; finite values outside them are refused
#: (undecoded fill values such as -9999.9 would otherwise be clipped to 0 silently).
_INPUT_RANGES = {
    "precipitation": (0.0, np.inf, "mm/h"),
    "precipitationQualityIndex": (0.0, 1.0, ""),
    "IRinfluence": (0.0, 100.0, "%"),
}


def _check_input_values(name: str, values: np.ndarray) -> None:
    """Raise :class:`InvalidDataError` on finite ``values`` outside ``name``'s range."""
    low, high, units = _INPUT_RANGES[name]
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(values) & ((values < low) | (values > high))
    n = int(bad.sum())
    if not n:
        return
    found = values[bad]
    fill = bool(np.any(np.abs(found) >= 999))
    hint = (
        "they look like fill values that were not decoded: set them to NaN "
        f"(ds[{name!r}].where(ds[{name!r}] >= 0)) or open the granules with xgpm.open_granules"
        if fill
        else "check the variable's units and decoding"
    )
    what = (
        f"{n} negative value(s)"
        if np.isinf(high)
        else f"{n} value(s) outside [{low:g}, {high:g}]{' ' + units if units else ''}"
    )
    raise InvalidDataError(
        f"ds[{name!r}]: {what} (from {float(found.min()):g} to {float(found.max()):g}); {hint}."
    )


def _features_numpy(
    precip: np.ndarray, quality: np.ndarray, ir: np.ndarray, source: np.ndarray
) -> np.ndarray:
    """Stack the raw input channels: (..., lat, lon) -> (..., 5, lat, lon), float32.

    Raises :class:`~xgpm.errors.InvalidDataError` on implausible inputs (inside the dask
    graph for dask input: the error comes from ``.compute()``).
    """
    for name, values in (
        ("precipitation", precip),
        ("precipitationQualityIndex", quality),
        ("IRinfluence", ir),
    ):
        _check_input_values(name, np.asarray(values))
    valid = np.isfinite(precip)
    channels = [
        np.log1p(np.clip(np.where(valid, precip, 0.0), 0.0, None)),
        np.nan_to_num(quality, nan=0.0),
        np.nan_to_num(ir, nan=0.0) / 100.0,
        (np.nan_to_num(source, nan=0.0) > 0).astype("float64"),
        valid.astype("float64"),
    ]
    return np.stack(channels, axis=-3).astype("float32")


def imerg_features(ds: xr.Dataset) -> xr.DataArray:
    """The raw (unstandardised) input channels of each map, ``(time, channel, lat, lon)``.

    Lazy for dask-backed input.
    """
    check_imerg(ds)
    # one chunk per map: the network sees whole maps (chunk along time only)
    args = [
        ds[v].chunk({"lat": -1, "lon": -1}) if ds[v].chunks is not None else ds[v]
        for v in REQUIRED_VARIABLES
    ]
    out = xr.apply_ufunc(
        _features_numpy,
        *args,
        input_core_dims=[["lat", "lon"]] * 4,
        output_core_dims=[["channel", "lat", "lon"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"channel": len(INPUT_CHANNELS)}},
    )
    return out.assign_coords(channel=list(INPUT_CHANNELS))


def target_table(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    *,
    csi_threshold: float = 1.0,
    fss_threshold: float = 0.5,
    fss_scale: int = 5,
    min_events: int = 20,
) -> xr.Dataset:
    """True per-map scores (``csi_1``, ``fss_0.5_5``) with undefined ones set to NaN.

    Scores come from :func:`xgpm.verify.score`. A score is kept only where at least
    ``min_events`` verified cells (both fields finite) are events (``>=`` the threshold) in the
    forecast or in the reference; ``n_events_<target>`` counts them.
    """
    import xgpm.verify as xv
    from xgpm.verify.learned.baseline import target_scores

    if int(min_events) < 1:
        raise InvalidArgumentError(f"min_events: must be >= 1, got {min_events!r}.")
    scores = xv.score(
        forecast,
        reference,
        thresholds=sorted({csi_threshold, fss_threshold}),
        scales=[fss_scale],
        metrics=["csi", "fss"],
    )
    targets = target_scores(
        scores, csi_threshold=csi_threshold, fss_threshold=fss_threshold, fss_scale=fss_scale
    ).compute()
    verified = forecast.notnull() & reference.notnull()
    spatial = [d for d in forecast.dims if d != "time"]
    for name, threshold in zip(targets.data_vars, (csi_threshold, fss_threshold), strict=True):
        events = (((forecast >= threshold) | (reference >= threshold)) & verified).sum(spatial)
        events = events.compute()
        targets[f"n_events_{name}"] = events.drop_vars(
            [c for c in events.coords if c not in events.dims]
        )
        targets[name] = targets[name].where(events.values >= min_events)
    targets.attrs["min_events"] = int(min_events)
    return targets


# ------------------------------------------------------------------------------------------
