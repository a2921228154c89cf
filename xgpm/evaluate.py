"""Evaluation of a rain retrieval against a reference with SatRain's metric set: ``xgpm.evaluate``.

The scores reproduce the definitions of the SatRain benchmark (Pfreundschuh et al. 2025,
arXiv:2509.08816) and of GPROF-NN (Pfreundschuh et al., AMT 17, 515-538, 2024), with the rain
threshold ``t`` (default 0.1 mm/h) and the heavy-rain threshold (default 10 mm/h):

* ``bias`` = 100 (sum p - sum r) / sum r (percent); ``mae``; ``mse``;
* ``smape`` = mean over ``r > t`` of ``|p - r| / (0.5 (|p| + |r|))``, in percent;
* ``correlation`` (Pearson);
* ``pod``, ``far`` (false-alarm *ratio*), ``csi`` and ``hss`` (the correct Heidke formula) at
  ``t`` and, suffixed ``_heavy``, at the heavy threshold;
* ``effective_resolution``: the smallest scale at which the spectral coherence of retrieval and
  reference (2-D DCT over fully valid windows) exceeds ``sqrt(1/2)``.

Everything but the effective resolution is computed from :mod:`xgpm.verify`'s sufficient
statistics (one pass over the data, lazy on dask input). See ``docs/evaluate.md``.

:func:`quantile_calibration` scores predicted quantiles of rain, a distribution with an atom at
zero, with the interval rule and the randomized PIT of Czado, Gneiting & Held (2009).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError, InvalidDataError, NoValidPairsError
from xgpm.verify import _stats

__all__ = [
    "SATRAIN_METRICS",
    "COHERENCE_THRESHOLD",
    "evaluate_retrieval",
    "effective_resolution",
    "coherence_spectrum",
    "metrics_table",
    "plot_coherence",
    "quantile_calibration",
    "plot_quantile_calibration",
]

#: Threshold on the spectral coherence that defines a resolved scale (GPROF-NN, SatRain).
COHERENCE_THRESHOLD: float = float(np.sqrt(0.5))

#: Variables of :func:`evaluate_retrieval`, in SatRain's order (``effective_resolution`` only
#: when ``pixel_km`` is given).
SATRAIN_METRICS: tuple[str, ...] = (
    "bias",
    "mae",
    "mse",
    "smape",
    "correlation",
    "pod",
    "far",
    "csi",
    "hss",
    "pod_heavy",
    "far_heavy",
    "csi_heavy",
    "hss_heavy",
    "effective_resolution",
)

# xgpm.verify's name -> SatRain's name, and the attributes of each output.
_CONTINUOUS = {
    "relative_bias": "bias",
    "mae": "mae",
    "mse": "mse",
    "smape": "smape",
    "pearson_r": "correlation",
}
_CATEGORICAL = ("pod", "far", "csi", "hss")
_ATTRS = {
    "n_valid": ("number of valid (finite, unmasked) pairs", "1"),
    "bias": ("relative bias 100 (sum p - sum r) / sum r", "%"),
    "mae": ("mean absolute error", "mm/h"),
    "mse": ("mean squared error", "(mm/h)^2"),
    "smape": ("SMAPE_t: mean over r > t of |p - r| / (0.5 (|p| + |r|))", "%"),
    "correlation": ("Pearson correlation coefficient", "1"),
    "pod": ("probability of detection TP / (TP + FN), rain threshold", "1"),
    "far": ("false alarm ratio FP / (TP + FP), rain threshold", "1"),
    "csi": ("critical success index TP / (TP + FP + FN), rain threshold", "1"),
    "hss": ("Heidke skill score, rain threshold", "1"),
    "pod_heavy": ("probability of detection, heavy-rain threshold", "1"),
    "far_heavy": ("false alarm ratio, heavy-rain threshold", "1"),
    "csi_heavy": ("critical success index, heavy-rain threshold", "1"),
    "hss_heavy": ("Heidke skill score, heavy-rain threshold", "1"),
    "effective_resolution": ("smallest scale with spectral coherence > sqrt(1/2)", "km"),
}
_SWATH_DIMS = ("cross_track", "along_track")
_NICE_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_GRID_DIMS = ("lat", "lon")


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------
def _check_inputs(pred: Any, ref: Any, mask: Any = None) -> None:
    for name, value in (("pred", pred), ("ref", ref)):
        if not isinstance(value, xr.DataArray):
            raise InvalidArgumentError(
                f"{name}: expected an xarray.DataArray, got {type(value).__name__}. Select one "
                f"variable of a Dataset, e.g. ds['surface_precip']."
            )
    if set(pred.dims) != set(ref.dims):
        raise InvalidArgumentError(
            f"pred and ref have different dimensions ({list(pred.dims)} vs {list(ref.dims)}); "
            f"put both on the same swath or grid first."
        )
    _stats.check_pair(
        pred,
        ref,
        spatial_dims=(),
        dim=None,
        mask=mask,
        require_spatial=False,
        names=("pred", "ref"),
    )


def _check_threshold(value: Any, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value < 0:
        raise InvalidArgumentError(f"{name}: need a finite, non-negative rain rate, got {value}.")
    return value


def _strict(threshold: float) -> float:
    """Kernel threshold that turns verify's ``value >= t`` into ``value > t`` (exact in float64)."""
    return float(np.nextafter(threshold, np.inf))


def _reduce_dims(pred: xr.DataArray, dims: Any) -> list[Hashable]:
    if dims is None:
        return list(pred.dims)
    if isinstance(dims, str) or not isinstance(dims, Sequence):
        dims = [dims]
    dims = list(dims)
    unknown = [d for d in dims if d not in pred.dims]
    if unknown or not dims:
        raise InvalidArgumentError(
            f"dims: {unknown or dims} not among the data's dimensions {list(pred.dims)}."
        )
    return dims


def _is_lazy(*arrays: xr.DataArray | None) -> bool:
    return any(a is not None and a.chunks is not None for a in arrays)


# --------------------------------------------------------------------------------------------
# scalar / categorical metrics
# --------------------------------------------------------------------------------------------
def _scores(
    pred: xr.DataArray,
    ref: xr.DataArray,
    mask: xr.DataArray | None,
    dims: list[Hashable],
    thresholds: tuple[float, float],
    smape_threshold: float,
) -> xr.Dataset:
    """SatRain's metrics from verify's sufficient statistics (one pass over the data)."""
    stats = _stats.statistics(
        pred,
        ref,
        reduce_dims=dims,
        families=("continuous", "categorical"),
        thresholds=thresholds,
        smape_threshold=smape_threshold,
        mask=mask,
    )
    scores = _stats.finalize(stats, [*_CONTINUOUS, *_CATEGORICAL])
    out = {"n_valid": scores["n_valid"]}
    for verify_name, name in _CONTINUOUS.items():
        out[name] = scores[verify_name]
    out["smape"] = 100.0 * out["smape"]
    for suffix, index in (("", 0), ("_heavy", 1)):
        for name in _CATEGORICAL:
            out[name + suffix] = scores[name].isel(threshold=index, drop=True)
    return xr.Dataset(out)


def evaluate_retrieval(
    pred: xr.DataArray,
    ref: xr.DataArray,
    *,
    rain_threshold: float = 0.1,
    heavy_threshold: float = 10.0,
    dims: Hashable | Sequence[Hashable] | None = None,
    by: xr.DataArray | None = None,
    mask: xr.DataArray | None = None,
    event: str = ">",
    pixel_km: float | None = None,
    window: int = 32,
    spatial_dims: Sequence[Hashable] | None = None,
) -> xr.Dataset:
    """Score a rain retrieval against a reference with SatRain's metric set.

    Parameters
    ----------
    pred, ref : xarray.DataArray
        Retrieved and reference rain rates (mm/h) with the same dimensions, sizes and
        coordinates (a swath ``(cross_track, along_track[, scene])`` or a grid). A pair is used
        only where both are finite (and ``mask`` is True).
    rain_threshold : float
        ``t``: rain/no-rain threshold of POD/FAR/CSI/HSS and of SMAPE_t (``r > t``).
    heavy_threshold : float
        Threshold of the ``*_heavy`` categorical scores.
    dims : str or sequence of str, optional
        Dimensions to reduce (default: all). Scores keep the other dimensions.
    by : xarray.DataArray, optional
        Category labels (surface type, season, regime...) whose dimensions are a subset of
        ``pred``'s: per pixel or per scene. Each category is scored over its own pairs
        (sufficient statistics pooled per category); the result gains a dimension named after
        ``by`` (``"category"`` if unnamed). Empty-string or NaN labels leave a pair out. The
        category order is ``by.attrs["categories"]`` if set, else the known order of seasons /
        regimes, else sorted.
    mask : xarray.DataArray of bool, optional
        ``False`` excludes a pair.
    event : {">", ">="}
        Rain event convention of the categorical scores: ``">"`` (default) is SatRain's
        ``value > t``, the same strict inequality as SMAPE_t; ``">="`` is
        :mod:`xgpm.verify`'s convention.
    pixel_km : float, optional
        Pixel size in km. When given, ``effective_resolution`` (km) is added, computed by
        :func:`effective_resolution` over all of ``dims`` (which must then be all dimensions).
    window : int
        DCT window width in pixels for the effective resolution.
    spatial_dims : sequence of two str, optional
        The two image dimensions for the effective resolution (default: ``cross_track,
        along_track`` or ``lat, lon`` when present, else the dims of a 2-D input).

    Returns
    -------
    xarray.Dataset
        ``n_valid`` and the variables of :data:`SATRAIN_METRICS` (units in ``attrs``). NaN
        where a score is undefined (no valid pair in a category, no event, dry reference...).
        Lazy if the inputs are dask-backed (except ``effective_resolution``, which loads the
        fields).

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Mismatched inputs, bad thresholds, dims or labels.
    xgpm.errors.NoValidPairsError
        Eager inputs with no valid pair at all.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xgpm.evaluate import evaluate_retrieval
    >>> ref = xr.DataArray([[0.0, 0.5], [2.0, 12.0]], dims=("cross_track", "along_track"))
    >>> ds = evaluate_retrieval(ref * 1.1, ref)
    >>> round(float(ds["bias"]), 6), float(ds["pod"]), float(ds["csi_heavy"])
    (10.0, 1.0, 1.0)
    """
    _check_inputs(pred, ref, mask)
    rain_threshold = _check_threshold(rain_threshold, "rain_threshold")
    heavy_threshold = _check_threshold(heavy_threshold, "heavy_threshold")
    if heavy_threshold <= rain_threshold:
        raise InvalidArgumentError(
            f"heavy_threshold ({heavy_threshold}) must exceed rain_threshold ({rain_threshold})."
        )
    if event not in (">", ">="):
        raise InvalidArgumentError(f"event: must be '>' or '>=', got {event!r}.")
    thresholds = (rain_threshold, heavy_threshold)
    kernel_thresholds = tuple(_strict(t) for t in thresholds) if event == ">" else thresholds
    reduce_dims = _reduce_dims(pred, dims)
    if pixel_km is not None and set(reduce_dims) != set(pred.dims):
        raise InvalidArgumentError(
            f"pixel_km: the effective resolution is computed over all dimensions; keep dims=None "
            f"(got dims={dims!r}) or call effective_resolution() per subset."
        )

    if by is None:
        out = _scores(pred, ref, mask, reduce_dims, kernel_thresholds, rain_threshold)
        if pixel_km is not None:
            p, r = (pred, ref) if mask is None else (pred.where(mask), ref.where(mask))
            scale, _ = effective_resolution(
                p, r, pixel_km=pixel_km, window=window, spatial_dims=spatial_dims
            )
            out["effective_resolution"] = xr.DataArray(scale)
    else:
        out = _stratified(
            pred,
            ref,
            by,
            mask,
            reduce_dims,
            kernel_thresholds,
            rain_threshold,
            pixel_km,
            window,
            spatial_dims,
        )
    if not _is_lazy(pred, ref, mask, by) and int(out["n_valid"].sum()) == 0:
        raise NoValidPairsError(
            "pred/ref: no pair where both are finite (and mask is True); nothing to evaluate. "
            "Check the fill values and the colocation."
        )
    for name, (long_name, units) in _ATTRS.items():
        if name in out:
            out[name].attrs = {"long_name": long_name, "units": units}
    out.attrs = {
        "rain_threshold": rain_threshold,
        "heavy_threshold": heavy_threshold,
        "event": f"value {event} threshold",
        "conventions": (
            "SatRain metrics (Pfreundschuh et al. 2025); SMAPE_t over r > rain_threshold; "
            "sufficient statistics from xgpm.verify"
        ),
    }
    return out


def _stratified(
    pred: xr.DataArray,
    ref: xr.DataArray,
    by: Any,
    mask: xr.DataArray | None,
    reduce_dims: list[Hashable],
    thresholds: tuple[float, float],
    smape_threshold: float,
    pixel_km: float | None,
    window: int,
    spatial_dims: Sequence[Hashable] | None,
) -> xr.Dataset:
    """Score each category of ``by`` over its own pairs and stack along a category dim."""
    from xgpm.verify.analysis import _categories

    if not isinstance(by, xr.DataArray):
        raise InvalidArgumentError(
            f"by: expected an xarray.DataArray of category labels, got {type(by).__name__}."
        )
    alien = [d for d in by.dims if d not in pred.dims]
    if alien:
        raise InvalidArgumentError(
            f"by: dimension(s) {alien} are not dimensions of pred {list(pred.dims)}; labels "
            f"must be per pixel or per scene of the data."
        )
    for d in by.dims:
        if by.sizes[d] != pred.sizes[d]:
            raise InvalidArgumentError(
                f"by: {by.sizes[d]} labels along {d!r} for {pred.sizes[d]} data values."
            )
        _stats._check_same_labels(by, pred, d, "by", "pred")  # never align silently
    key = str(by.name) if by.name is not None else "category"
    if key in pred.dims:
        raise InvalidArgumentError(
            f"by: its name {key!r} is a dimension of the data; rename it (by.rename('...'))."
        )
    labels = np.asarray(by.values)
    categories = _categories(labels.ravel(), by.attrs.get("categories"))
    if not categories:
        raise InvalidArgumentError("by: every label is missing (NaN or ''); nothing to stratify.")
    by = by.drop_vars([c for c in by.coords if c not in by.dims])
    results = []
    for category in categories:
        in_category = by == category
        category_mask = in_category if mask is None else (in_category & mask)
        category_mask = category_mask.broadcast_like(pred)
        scores = _scores(pred, ref, category_mask, reduce_dims, thresholds, smape_threshold)
        if pixel_km is not None:
            scale, _ = _effective_resolution_or_inf(
                pred.where(category_mask),
                ref.where(category_mask),
                pixel_km=pixel_km,
                window=window,
                spatial_dims=spatial_dims,
            )
            scores["effective_resolution"] = xr.DataArray(scale)
        results.append(scores)
    out = xr.concat(results, dim=key, coords="minimal", compat="override")
    return out.assign_coords({key: np.asarray(categories)})


def _effective_resolution_or_inf(*args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Effective resolution of one category; NaN if it holds no fully valid window."""
    try:
        return effective_resolution(*args, **kwargs)
    except NoValidPairsError:
        return float("nan"), None


# --------------------------------------------------------------------------------------------
# effective resolution
# --------------------------------------------------------------------------------------------
def _resolve_spatial_dims(
    pred: xr.DataArray, spatial_dims: Sequence[Hashable] | None
) -> tuple[Hashable, Hashable]:
    if spatial_dims is None:
        for candidate in (_SWATH_DIMS, _GRID_DIMS):
            if all(d in pred.dims for d in candidate):
                return candidate
        if pred.ndim == 2:
            return tuple(pred.dims)  # type: ignore[return-value]
        raise InvalidArgumentError(
            f"spatial_dims: cannot guess the two image dimensions among {list(pred.dims)}; pass "
            f"spatial_dims=(..., ...)."
        )
    if (
        isinstance(spatial_dims, str)
        or not isinstance(spatial_dims, Sequence)
        or len(spatial_dims) != 2
    ):
        raise InvalidArgumentError(
            f"spatial_dims: need exactly two dimension names, got {spatial_dims!r}."
        )
    missing = [d for d in spatial_dims if d not in pred.dims]
    if missing:
        raise InvalidArgumentError(
            f"spatial_dims: {missing} not among the data's dimensions {list(pred.dims)}."
        )
    return tuple(spatial_dims)  # type: ignore[return-value]


def _windows(field: np.ndarray, window: int) -> np.ndarray:
    """Non-overlapping ``window x window`` tiles of ``(b, ny, nx)`` -> ``(n_tiles, w, w)``.

    Tiles start at pixel 0 along both axes; a remainder narrower than ``window`` is dropped.
    """
    b, ny, nx = field.shape
    ty, tx = ny // window, nx // window
    cropped = field[:, : ty * window, : tx * window]
    tiles = cropped.reshape(b, ty, window, tx, window).transpose(0, 1, 3, 2, 4)
    return tiles.reshape(-1, window, window)


def _band_edges(window: int) -> np.ndarray:
    """Band edges on the radial index ``n = 0.5 sqrt(ky**2 + kx**2)`` (as in SatRain)."""
    n_bands = int(np.floor(0.5 * (window - 1))) + 1
    return np.arange(n_bands + 1) - 0.5


def coherence_spectrum(
    pred: xr.DataArray,
    ref: xr.DataArray,
    *,
    pixel_km: float,
    window: int = 32,
    spatial_dims: Sequence[Hashable] | None = None,
) -> xr.DataArray:
    """Spectral coherence of ``pred`` and ``ref`` per wavenumber band (2-D DCT over windows).

    The fields are cut into non-overlapping ``window x window`` tiles (starting at the first
    pixel; a remainder is dropped) and only tiles where both fields are finite everywhere are
    used. Each tile is transformed with an orthonormal 2-D DCT-II (``scipy.fft.dctn``). For
    each DCT coefficient ``(ky, kx)`` the sums over tiles ``Sxy = sum X Y``, ``Sxx = sum X**2``,
    ``Syy = sum Y**2`` give the coherence ``|Sxy| / sqrt(Sxx Syy)`` (real DCT, so ``Y* = Y``);
    the band value is the mean of this coherence over the coefficients of the band. Bands are
    unit-width bins of ``n = 0.5 sqrt(ky**2 + kx**2)`` centred on ``n = 0, 1, ...,
    floor((window - 1) / 2)`` (``n`` counts the cosine periods across the window); the scale of
    band ``n`` is ``0.5 (window - 1) pixel_km / n``, about half the wavelength ``window / n``
    pixels. This is SatRain's / GPROF-NN's definition; coherence > sqrt(1/2) is the same as a
    squared coherence > 1/2.

    Parameters
    ----------
    pred, ref : xarray.DataArray
        Retrieval and reference; any dims besides ``spatial_dims`` are looped over (each image
        gives its own tiles). The data are loaded into memory.
    pixel_km : float
        Pixel size in km.
    window : int
        Tile width in pixels (>= 4, at most the image size).
    spatial_dims : sequence of two str, optional
        Image dimensions; see :func:`evaluate_retrieval`.

    Returns
    -------
    xarray.DataArray
        ``spectral_coherence`` along ``band`` (``n``), with coords ``scale_km``,
        ``wavenumber_per_km`` (``n / (window pixel_km)``) and ``n_coefficients``; attrs
        ``n_windows``, ``window``, ``pixel_km``, ``threshold`` and ``effective_resolution_km``.

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Mismatched inputs, bad ``pixel_km``/``window``.
    xgpm.errors.NoValidPairsError
        No tile is fully valid.
    """
    from scipy.fft import dctn

    _check_inputs(pred, ref)
    try:
        pixel_km = float(pixel_km)
    except (TypeError, ValueError):
        pixel_km = float("nan")
    if not np.isfinite(pixel_km) or pixel_km <= 0:
        raise InvalidArgumentError(f"pixel_km: need a positive pixel size in km, got {pixel_km}.")
    dim_y, dim_x = _resolve_spatial_dims(pred, spatial_dims)
    if not isinstance(window, int | np.integer) or window < 4:
        raise InvalidArgumentError(f"window: need an integer >= 4 pixels, got {window!r}.")
    if window > min(pred.sizes[dim_y], pred.sizes[dim_x]):
        raise InvalidArgumentError(
            f"window: {window} pixels exceeds the image size "
            f"({pred.sizes[dim_y]} x {pred.sizes[dim_x]}); use a smaller window."
        )
    order = [d for d in pred.dims if d not in (dim_y, dim_x)] + [dim_y, dim_x]
    p = np.asarray(pred.transpose(*order).values, dtype=np.float64)
    r = np.asarray(ref.transpose(*order).values, dtype=np.float64)
    p = p.reshape(-1, *p.shape[-2:])
    r = r.reshape(-1, *r.shape[-2:])
    p_tiles, r_tiles = _windows(p, window), _windows(r, window)
    valid = np.isfinite(p_tiles).all(axis=(1, 2)) & np.isfinite(r_tiles).all(axis=(1, 2))
    n_windows = int(valid.sum())
    if n_windows == 0:
        raise NoValidPairsError(
            f"pred/ref: no {window} x {window} window where both fields are finite everywhere; "
            f"use a smaller window or check the NaN pattern."
        )
    sxx = np.zeros((window, window))
    syy = np.zeros((window, window))
    sxy = np.zeros((window, window))
    valid_index = np.flatnonzero(valid)
    for start in range(0, valid_index.size, 256):  # bounded memory on long archives
        batch = valid_index[start : start + 256]
        x = dctn(p_tiles[batch], type=2, norm="ortho", axes=(1, 2))
        y = dctn(r_tiles[batch], type=2, norm="ortho", axes=(1, 2))
        sxx += np.einsum("kij,kij->ij", x, x)
        syy += np.einsum("kij,kij->ij", y, y)
        sxy += np.einsum("kij,kij->ij", x, y)
    denominator = np.sqrt(sxx * syy)
    defined = denominator > 0
    coherence = np.divide(np.abs(sxy), denominator, out=np.zeros_like(sxy), where=defined)

    k = np.arange(window)
    radial = 0.5 * np.sqrt(k[:, np.newaxis] ** 2 + k[np.newaxis, :] ** 2)
    edges = _band_edges(window)
    n_coeff, _ = np.histogram(radial[defined], bins=edges)
    summed, _ = np.histogram(radial[defined], bins=edges, weights=coherence[defined])
    band_coherence = np.full(n_coeff.shape, np.nan)
    np.divide(summed, n_coeff, out=band_coherence, where=n_coeff > 0)
    n = np.arange(edges.size - 1, dtype=np.float64)
    scale_km = np.full(n.shape, np.inf)
    scale_km[1:] = 0.5 * (window - 1) * pixel_km / n[1:]
    resolved = (band_coherence > COHERENCE_THRESHOLD) & (n > 0)
    eff = float(scale_km[resolved].min()) if resolved.any() else float("inf")
    return xr.DataArray(
        band_coherence,
        dims=("band",),
        coords={
            "band": n,
            "scale_km": ("band", scale_km),
            "wavenumber_per_km": ("band", n / (window * pixel_km)),
            "n_coefficients": ("band", n_coeff),
        },
        name="spectral_coherence",
        attrs={
            "long_name": "spectral coherence |Sxy| / sqrt(Sxx Syy), mean over the band",
            "units": "1",
            "n_windows": n_windows,
            "window": int(window),
            "pixel_km": pixel_km,
            "threshold": COHERENCE_THRESHOLD,
            "effective_resolution_km": eff,
        },
    )


def effective_resolution(
    pred: xr.DataArray,
    ref: xr.DataArray,
    *,
    pixel_km: float,
    window: int = 32,
    spatial_dims: Sequence[Hashable] | None = None,
) -> tuple[float, xr.DataArray]:
    """Smallest scale (km) at which the spectral coherence exceeds ``sqrt(1/2)``.

    Parameters are those of :func:`coherence_spectrum`, which computes the spectrum. The mean
    (``n = 0``) band is never counted. As in SatRain, the result is the smallest scale whose
    band exceeds the threshold, even if a larger scale does not.

    Returns
    -------
    scale_km : float
        Effective resolution in km; ``inf`` if no band exceeds the threshold. The smallest
        value possible is the scale of the last band, ``0.5 (window - 1) pixel_km / n_max``
        with ``n_max = floor((window - 1) / 2)`` (about one pixel).
    spectrum : xarray.DataArray
        The coherence spectrum (see :func:`coherence_spectrum`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> field = xr.DataArray(np.random.default_rng(0).gamma(0.5, size=(64, 64)))
    >>> scale, spectrum = effective_resolution(field, field, pixel_km=5.0)
    >>> round(scale, 3), int(spectrum.attrs["n_windows"])
    (5.167, 4)
    """
    spectrum = coherence_spectrum(
        pred, ref, pixel_km=pixel_km, window=window, spatial_dims=spatial_dims
    )
    return float(spectrum.attrs["effective_resolution_km"]), spectrum


# --------------------------------------------------------------------------------------------
# table and figure
# --------------------------------------------------------------------------------------------
def metrics_table(ds: xr.Dataset) -> pd.DataFrame:
    """A pandas table of :func:`evaluate_retrieval`'s output: one column per metric.

    Parameters
    ----------
    ds : xarray.Dataset
        Output of :func:`evaluate_retrieval` (computed if lazy).

    Returns
    -------
    pandas.DataFrame
        Columns ``n_valid`` and the metrics present, in :data:`SATRAIN_METRICS` order; one row
        per category / kept coordinate (a single row named ``"all"`` for a fully reduced
        evaluation).
    """
    if not isinstance(ds, xr.Dataset) or "n_valid" not in ds:
        raise InvalidArgumentError(
            "ds: expected the Dataset returned by evaluate_retrieval (with an 'n_valid' variable)."
        )
    columns = ["n_valid"] + [m for m in SATRAIN_METRICS if m in ds]
    ds = ds[columns].compute()
    ds = ds.drop_vars([c for c in ds.coords if c not in ds.dims])
    if not ds["n_valid"].dims:
        return pd.DataFrame({c: [ds[c].item()] for c in columns}, index=["all"])
    return ds.to_dataframe()[columns]


def plot_coherence(
    spectrum: xr.DataArray | Sequence[xr.DataArray],
    *,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    path: str | os.PathLike | None = None,
    ax: Any = None,
) -> Any:
    """Plot coherence spectra against scale with the ``sqrt(1/2)`` line; PNG if ``path`` is given.

    Parameters
    ----------
    spectrum : xarray.DataArray or sequence of them
        Output(s) of :func:`coherence_spectrum` / :func:`effective_resolution`.
    labels : sequence of str, optional
        Legend entries, one per spectrum.
    title : str, optional
        Axes title.
    path : str or path, optional
        Where to save the figure (PNG).
    ax : matplotlib Axes, optional
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    spectra = [spectrum] if isinstance(spectrum, xr.DataArray) else list(spectrum)
    if not spectra or not all(
        isinstance(s, xr.DataArray) and "scale_km" in s.coords for s in spectra
    ):
        raise InvalidArgumentError(
            "spectrum: expected coherence spectra from coherence_spectrum()/effective_resolution()."
        )
    if labels is not None and len(labels) != len(spectra):
        raise InvalidArgumentError(
            f"labels: {len(labels)} labels for {len(spectra)} spectra; give one per spectrum."
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.2))
    else:
        fig = ax.figure
    for i, s in enumerate(spectra):
        keep = np.isfinite(s["scale_km"].values)
        eff = s.attrs.get("effective_resolution_km", np.nan)
        label = labels[i] if labels is not None else f"spectrum {i + 1}"
        (line,) = ax.plot(
            s["scale_km"].values[keep], s.values[keep], marker="o", ms=3, label=f"{label}"
        )
        if np.isfinite(eff):
            ax.axvline(eff, color=line.get_color(), ls=":", lw=1)
            line.set_label(f"{label} (eff. res. {eff:.1f} km)")
    ax.axhline(COHERENCE_THRESHOLD, color="k", ls="--", lw=1, label=r"$\sqrt{1/2}$")
    ax.set_xscale("log")
    finite = np.concatenate(
        [s["scale_km"].values[np.isfinite(s["scale_km"].values)] for s in spectra]
    )
    ticks = [t for t in _NICE_TICKS if finite.min() / 1.5 <= t <= finite.max() * 1.5]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.invert_xaxis()  # large scales left, fine scales right, as in GPROF-NN's figures
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("scale (km)")
    ax.set_ylabel("spectral coherence")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    ax.set_title(title or "Spectral coherence of retrieval and reference")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig


# --------------------------------------------------------------------------------------------
# quantile calibration (distributions with an atom at zero)
# --------------------------------------------------------------------------------------------
def _level_values(quantiles: xr.DataArray, dim: str, levels: Any) -> np.ndarray:
    if dim not in quantiles.dims:
        raise InvalidArgumentError(
            f"quantiles: no {dim!r} dimension (it has {list(quantiles.dims)}); pass dim=..."
        )
    if levels is None:
        if dim not in quantiles.coords:
            raise InvalidArgumentError(
                f"quantiles: the {dim!r} dimension has no coordinate of levels; pass levels=..."
            )
        levels = quantiles[dim].values
    try:
        if isinstance(levels, (str, bytes)):
            raise TypeError
        levels = np.asarray(levels, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        levels = np.full(1, np.nan)
    if levels.size != quantiles.sizes[dim] or not np.all((levels > 0) & (levels < 1)):
        raise InvalidArgumentError(
            f"levels: need {quantiles.sizes[dim]} probabilities in (0, 1) along {dim!r}, got "
            f"{levels.tolist()}"
        )
    return levels


def quantile_calibration(
    quantiles: xr.DataArray,
    ref: xr.DataArray,
    *,
    probability: xr.DataArray | None = None,
    dim: str = "quantile",
    levels: Sequence[float] | None = None,
    rain_threshold: float = 0.1,
    mask: xr.DataArray | None = None,
    by: xr.DataArray | None = None,
    seed: int | None = None,
    tolerance: float = 0.05,
) -> xr.Dataset:
    """Calibration of predicted rain quantiles, valid for distributions with an atom at zero.

    With an atom (most reference pixels are dry), ``P(y <= q_tau)`` cannot equal ``tau`` for
    ``tau`` below the probability of the atom, even for a perfect forecast. The definition
    valid for such distributions (Czado, Gneiting & Held 2009, Biometrics 65, 1254-1261) is:

    * interval rule: the forecast is calibrated at ``tau`` iff
      ``P(y < q_tau) <= tau <= P(y <= q_tau)``;
    * randomized PIT: ``u = F(y-) + V (F(y) - F(y-))`` with ``V ~ U(0, 1)`` is uniform for a
      calibrated forecast, so the *randomized coverage* ``P(u <= tau)`` equals ``tau``. From
      quantiles it reads ``P(y < q_tau) + P(y "==" q_tau and V <= w)``, where a tie counts
      with the share ``w = (tau - F(y-)) / (F(y) - F(y-))`` of the atom below ``tau``.

    **Tie rule**: ``y`` and ``q`` are equal when both are below ``rain_threshold`` (both
    "dry"; drizzle under the threshold is part of the atom) or exactly equal. For a dry tie,
    ``F(y-) = 0`` and ``F(y) = 1 - probability`` (the forecast's own atom), so
    ``w = min(1, tau / (1 - probability))``. Without ``probability``, and for exact ties above
    the threshold (probability zero under a continuous forecast), ``w = 1/2``, which is
    ``E[V]``: only then is the randomized coverage approximate.

    Parameters
    ----------
    quantiles : xarray.DataArray
        Predicted quantiles (mm/h), with a ``dim`` dimension of levels.
    ref : xarray.DataArray
        Reference rain (mm/h) with the dimensions of ``quantiles`` but ``dim``.
    probability : xarray.DataArray, optional
        The forecast's probability of rain ``>= rain_threshold`` (``ref``'s dimensions): gives
        the mass of the forecast's atom for the randomized PIT.
    dim : str
        Level dimension of ``quantiles``.
    levels : sequence of float, optional
        The levels ``tau`` (default: the ``dim`` coordinate).
    rain_threshold : float
        The tie rule's threshold (mm/h).
    mask : xarray.DataArray of bool, optional
        ``False`` leaves a pixel out. Pixels with a NaN reference, quantile or probability are
        left out too.
    by : xarray.DataArray, optional
        Category labels (``ref``'s dimensions or a subset): results per category along a new
        dimension named after ``by`` (as in :func:`evaluate_retrieval`).
    seed : int, optional
        Draw ``V`` per pixel with this seed (the same ``V`` for every level) instead of taking
        the expectation over ``V`` (the default: deterministic, lower variance).
    tolerance : float
        Slack of the interval rule on a finite sample:
        ``P(y < q) - tolerance <= tau <= P(y <= q) + tolerance``.

    Returns
    -------
    xarray.Dataset
        Along ``dim`` (the levels as coordinate): ``n_valid``; ``coverage`` ``P(y <= q)`` and
        ``coverage_strict`` ``P(y < q)`` with the tie rule; ``coverage_plain`` ``P(y <= q)``
        with plain float comparison; ``randomized_coverage``; ``calibration_error`` =
        ``randomized_coverage - tau``; ``interval_ok`` (the interval rule holds within
        ``tolerance``). Eager.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> q = xr.DataArray([[0.0, 2.0], [0.0, 0.0]], dims=("pixel", "quantile"),
    ...                  coords={"quantile": [0.25, 0.75]})
    >>> y = xr.DataArray([0.0, 1.0], dims="pixel")
    >>> p = xr.DataArray([0.5, 0.2], dims="pixel")
    >>> out = quantile_calibration(q, y, probability=p)
    >>> out["coverage"].values.tolist(), out["randomized_coverage"].values.tolist()
    ([0.5, 0.5], [0.25, 0.5])
    """
    for name, value in (("quantiles", quantiles), ("ref", ref)):
        if not isinstance(value, xr.DataArray):
            raise InvalidArgumentError(
                f"{name}: expected an xarray.DataArray, got {type(value).__name__}."
            )
    taus = _level_values(quantiles, dim, levels)
    rain_threshold = _check_threshold(rain_threshold, "rain_threshold")
    try:
        tolerance = float(tolerance)
    except (TypeError, ValueError):
        tolerance = float("nan")
    if not (np.isfinite(tolerance) and 0.0 <= tolerance < 1.0):
        raise InvalidArgumentError(
            f"tolerance: need a coverage tolerance in [0, 1) (e.g. 0.05), got {tolerance!r}."
        )
    if seed is not None and (
        isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise InvalidArgumentError(
            f"seed: need a non-negative integer (or None for no randomization), got {seed!r}."
        )
    pixel_dims = [d for d in quantiles.dims if d != dim]
    if set(ref.dims) != set(pixel_dims):
        raise InvalidArgumentError(
            f"ref: dimensions {list(ref.dims)} must be those of quantiles without {dim!r} "
            f"({pixel_dims})."
        )
    arrays = [quantiles.transpose(*pixel_dims, dim), ref.transpose(*pixel_dims)]
    for name, extra in (("probability", probability), ("mask", mask)):
        if extra is not None:
            if not isinstance(extra, xr.DataArray) or set(extra.dims) != set(pixel_dims):
                raise InvalidArgumentError(
                    f"{name}: expected a DataArray with the dimensions {pixel_dims}."
                )
            arrays.append(extra.transpose(*pixel_dims))
    for other in arrays[1:]:
        for d in pixel_dims:
            if other.sizes[d] != arrays[0].sizes[d]:
                raise InvalidArgumentError(
                    f"quantiles/ref: sizes along {d!r} differ ({arrays[0].sizes[d]} vs "
                    f"{other.sizes[d]})."
                )
    q = np.asarray(arrays[0].values, dtype=np.float64).reshape(-1, taus.size)
    y = np.asarray(arrays[1].values, dtype=np.float64).reshape(-1)
    extras = iter(arrays[2:])
    p = np.asarray(next(extras).values, np.float64).reshape(-1) if probability is not None else None
    keep = np.isfinite(y) & np.isfinite(q).all(axis=1)
    if p is not None:
        keep &= np.isfinite(p)
        with np.errstate(invalid="ignore"):
            outside = np.isfinite(p) & ((p < 0) | (p > 1))
        if outside.any():
            raise InvalidDataError(
                f"probability: {int(outside.sum())} value(s) outside [0, 1] (from "
                f"{float(p[outside].min()):g} to {float(p[outside].max()):g}); pass the "
                "probability of precipitation (0-1), e.g. rain['probability_of_precip']."
            )
    if mask is not None:
        keep &= np.asarray(next(extras).values, dtype=bool).reshape(-1)
    v = None if seed is None else np.random.default_rng(seed).random(y.size)

    def scores(rows: np.ndarray) -> dict[str, np.ndarray]:
        qq, yy = q[rows], y[rows, None]
        dry_tie = (yy < rain_threshold) & (qq < rain_threshold)
        tie = dry_tie | (yy == qq)
        strict = (yy < qq) & ~tie
        share = np.full(qq.shape, 0.5)
        if p is not None:
            atom = np.clip(1.0 - p[rows, None], 0.0, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                dry_share = np.where(atom > 0, np.clip(taus / atom, 0.0, 1.0), 1.0)
            share = np.where(dry_tie, dry_share, share)
        counted = (v[rows, None] <= share).astype(np.float64) if v is not None else share
        n = rows.size
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage = np.where(n, (strict | tie).sum(0) / max(n, 1), np.nan)
            below = np.where(n, strict.sum(0) / max(n, 1), np.nan)
            plain = np.where(n, (yy <= qq).sum(0) / max(n, 1), np.nan)
            randomized = np.where(n, (strict + tie * counted).sum(0) / max(n, 1), np.nan)
        return {
            "n_valid": np.full(taus.size, n),
            "coverage": coverage,
            "coverage_strict": below,
            "coverage_plain": plain,
            "randomized_coverage": randomized,
            "calibration_error": randomized - taus,
            "interval_ok": (below - tolerance <= taus) & (taus <= coverage + tolerance),
        }

    def as_dataset(values: dict[str, np.ndarray]) -> xr.Dataset:
        return xr.Dataset({k: (dim, v) for k, v in values.items()}, coords={dim: taus})

    if by is None:
        rows = np.flatnonzero(keep)
        if rows.size == 0:
            raise NoValidPairsError(
                "quantiles/ref: no pixel where the reference and every quantile are finite."
            )
        out = as_dataset(scores(rows))
    else:
        from xgpm.verify.analysis import _categories

        if not isinstance(by, xr.DataArray) or any(d not in pixel_dims for d in by.dims):
            raise InvalidArgumentError(
                f"by: expected a DataArray of labels over (a subset of) {pixel_dims}."
            )
        key = str(by.name) if by.name is not None else "category"
        labels = np.asarray(
            by.broadcast_like(arrays[1]).transpose(*pixel_dims).values, dtype=object
        ).reshape(-1)
        categories = _categories(labels, by.attrs.get("categories"))
        if not categories:
            raise InvalidArgumentError("by: every label is missing (NaN or '').")
        parts = [as_dataset(scores(np.flatnonzero(keep & (labels == c)))) for c in categories]
        out = xr.concat(parts, dim=key).assign_coords({key: np.asarray(categories)})
    out.attrs = {
        "rain_threshold": rain_threshold,
        "tie_rule": f"y and q equal when both < {rain_threshold} mm/h or exactly equal",
        "randomization": "expectation over V" if seed is None else f"V drawn with seed {seed}",
        "interval_tolerance": float(tolerance),
        "atom": "1 - probability" if probability is not None else "unknown: ties count 1/2",
        "reference": "Czado, Gneiting & Held (2009), Biometrics 65, 1254-1261",
    }
    return out


def plot_quantile_calibration(
    calibration: xr.Dataset | Sequence[xr.Dataset],
    *,
    labels: Sequence[str] | None = None,
    dim: str = "quantile",
    title: str | None = None,
    path: str | os.PathLike | None = None,
    ax: Any = None,
) -> Any:
    """Reliability diagram of :func:`quantile_calibration` results; PNG if ``path`` is given.

    Draws the randomized coverage against the nominal level, the band between ``P(y < q)`` and
    ``P(y <= q)`` (the interval rule holds where it contains the diagonal) and the +-0.05
    tolerance around the diagonal.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    results = [calibration] if isinstance(calibration, xr.Dataset) else list(calibration)
    if not results or not all(
        isinstance(r, xr.Dataset) and "randomized_coverage" in r for r in results
    ):
        raise InvalidArgumentError(
            "calibration: expected Dataset(s) returned by quantile_calibration()."
        )
    if labels is not None and len(labels) != len(results):
        raise InvalidArgumentError(
            f"labels: {len(labels)} labels for {len(results)} results; give one per result."
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.0, 4.6))
    else:
        fig = ax.figure
    diagonal = np.array([0.0, 1.0])
    ax.fill_between(diagonal, diagonal - 0.05, diagonal + 0.05, color="0.85", label="+-0.05")
    ax.plot(diagonal, diagonal, color="k", lw=1)
    for i, r in enumerate(results):
        taus = r[dim].values
        label = labels[i] if labels is not None else f"model {i + 1}"
        (line,) = ax.plot(taus, r["randomized_coverage"].values, marker="o", label=label)
        ax.fill_between(
            taus,
            r["coverage_strict"].values,
            r["coverage"].values,
            color=line.get_color(),
            alpha=0.12,
        )
        ax.plot(taus, r["coverage_plain"].values, ls=":", color=line.get_color(), lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal level tau")
    ax.set_ylabel("coverage")
    ax.set_title(title or "Quantile calibration (randomized PIT)")
    ax.legend(fontsize=8, loc="upper left")
    ax.text(
        0.98,
        0.02,
        "markers: randomized coverage\nband: P(y<q) to P(y<=q)\ndotted: plain y<=q",
        ha="right",
        va="bottom",
        fontsize=7,
        transform=ax.transAxes,
    )
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
