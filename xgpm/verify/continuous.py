"""Continuous scores (xskillscore-style functions with ``dim=``).

Each function reduces over ``dim`` (default: every dimension) using only pairs where forecast and
reference are both finite (and ``mask`` is True). They are thin wrappers around the sufficient
statistics of :mod:`xgpm.verify._stats`, so they stay lazy on dask input and any chunking along
the reduced dims gives the same result.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import xarray as xr

from xgpm.verify import _stats

__all__ = [
    "bias",
    "relative_bias",
    "mae",
    "mse",
    "rmse",
    "smape",
    "pearson_r",
    "spearman_r",
    "kge",
]

Dims = Hashable | Sequence[Hashable] | None


def _reduce_dims(forecast: xr.DataArray, reference: xr.DataArray, dim: Dims) -> list[Hashable]:
    all_dims = list(dict.fromkeys([*forecast.dims, *reference.dims]))
    if dim is None:
        return all_dims
    if isinstance(dim, str) or not isinstance(dim, Sequence):
        return [dim]
    return list(dim)


def _checked_dims(
    forecast: xr.DataArray, reference: xr.DataArray, dim: Dims, mask: xr.DataArray | None
) -> list[Hashable]:
    """Check a pair compared point by point (:func:`_stats.check_pair`); the dims to reduce."""
    dims = _reduce_dims(forecast, reference, dim)
    _stats.check_pair(
        forecast, reference, spatial_dims=(), dim=None, mask=mask, require_spatial=False
    )
    return dims


def _pointwise_statistics(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    dim: Dims,
    mask: xr.DataArray | None,
    family: str,
    **options: Any,
) -> xr.Dataset:
    """Check a pair and sum the statistics of one ``family`` over ``dim``.

    ``options`` (``thresholds``, ``smape_threshold``) go to :func:`_stats.statistics`.
    """
    return _stats.statistics(
        forecast,
        reference,
        reduce_dims=_checked_dims(forecast, reference, dim, mask),
        families=(family,),
        mask=mask,
        **options,
    )


def _continuous(
    metric: str,
    forecast: xr.DataArray,
    reference: xr.DataArray,
    dim: Dims,
    mask: xr.DataArray | None,
    smape_threshold: float = 0.1,
) -> xr.DataArray:
    stats = _pointwise_statistics(
        forecast, reference, dim, mask, "continuous", smape_threshold=smape_threshold
    )
    return _stats.finalize(stats, [metric])[metric].rename(metric)


def bias(
    forecast: xr.DataArray, reference: xr.DataArray, dim: Dims = None, *, mask=None
) -> xr.DataArray:
    """Additive bias (mean error) ``mean(forecast - reference)`` over ``dim``.

    Parameters
    ----------
    forecast, reference : xarray.DataArray
        Fields to compare (broadcast against each other).
    dim : str or sequence of str, optional
        Dimensions to reduce (default: all).
    mask : xarray.DataArray of bool, optional
        ``False`` excludes a pair.

    Returns
    -------
    xarray.DataArray
        NaN where no valid pair.

    Examples
    --------
    >>> import xarray as xr
    >>> from xgpm.verify import bias
    >>> float(bias(xr.DataArray([1.0, 2.0, 4.0]), xr.DataArray([1.0, 1.0, float("nan")])))
    0.5
    """
    return _continuous("bias", forecast, reference, dim, mask)


def relative_bias(
    forecast: xr.DataArray, reference: xr.DataArray, dim: Dims = None, *, mask=None
) -> xr.DataArray:
    """SatRain's relative bias in percent, ``100 (sum f - sum r) / sum r``, over ``dim``.

    NaN where the reference sums to zero. Same parameters as :func:`bias`.
    """
    return _continuous("relative_bias", forecast, reference, dim, mask)


def mae(
    forecast: xr.DataArray, reference: xr.DataArray, dim: Dims = None, *, mask=None
) -> xr.DataArray:
    """Mean absolute error over ``dim``. Same parameters as :func:`bias`."""
    return _continuous("mae", forecast, reference, dim, mask)


def mse(
    forecast: xr.DataArray, reference: xr.DataArray, dim: Dims = None, *, mask=None
) -> xr.DataArray:
    """Mean squared error over ``dim``. Same parameters as :func:`bias`."""
    return _continuous("mse", forecast, reference, dim, mask)


def rmse(
    forecast: xr.DataArray, reference: xr.DataArray, dim: Dims = None, *, mask=None
) -> xr.DataArray:
    """Root mean squared error over ``dim``. Same parameters as :func:`bias`."""
    return _continuous("rmse", forecast, reference, dim, mask)


def smape(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    dim: Dims = None,
    *,
    threshold: float = 0.1,
    mask=None,
) -> xr.DataArray:
    """SatRain's SMAPE_t: mean of ``|f-r| / (0.5(|f|+|r|))`` over pairs with ``reference > t``.

    Returned as a fraction (multiply by 100 for percent). Same other parameters as :func:`bias`.
    """
    from xgpm.verify.accumulate import _check_smape_threshold

    threshold = _check_smape_threshold(threshold)
    return _continuous("smape", forecast, reference, dim, mask, smape_threshold=threshold)


def pearson_r(
    forecast: xr.DataArray, reference: xr.DataArray, dim: Dims = None, *, mask=None
) -> xr.DataArray:
    """Pearson correlation over ``dim`` (NaN if either field is constant). See :func:`bias`."""
    return _continuous("pearson_r", forecast, reference, dim, mask)


def kge(
    forecast: xr.DataArray, reference: xr.DataArray, dim: Dims = None, *, mask=None
) -> xr.DataArray:
    """Kling-Gupta efficiency, original 2009 version (Gupta et al. 2009), over ``dim``.

    ``KGE = 1 - sqrt((r - 1)**2 + (alpha - 1)**2 + (beta - 1)**2)`` with ``r`` the Pearson
    correlation, ``alpha = sigma_f / sigma_r`` (population standard deviations) and
    ``beta = mean_f / mean_r``. Not the 2012 variant (ratio of coefficients of variation).
    Same parameters as :func:`bias`.
    """
    return _continuous("kge", forecast, reference, dim, mask)


def spearman_r(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    dim: Dims = None,
    *,
    mask=None,
) -> xr.DataArray:
    """Spearman rank correlation over ``dim`` (average ranks for ties).

    Ranks do not merge across chunks, so the reduced dims are made single chunks (loaded
    together); for per-map values over a long archive use :func:`xgpm.verify.score`, which
    ranks each map separately. Same parameters as :func:`bias`.
    """
    dims = _checked_dims(forecast, reference, dim, mask)
    f, r = xr.broadcast(forecast, reference)
    m = None if mask is None else mask.broadcast_like(f)
    from xgpm.verify import _kernels

    inputs = [f, r] + ([] if m is None else [m])
    if any(a.chunks is not None for a in inputs):
        inputs = [a.chunk({d: -1 for d in dims}) for a in inputs]
    out = xr.apply_ufunc(
        _kernels.spearman_kernel,
        *inputs,
        input_core_dims=[dims] * len(inputs),
        kwargs={"n_core": len(dims)},
        dask="parallelized",
        output_dtypes=[float],
    )
    return out.rename("spearman_r")
