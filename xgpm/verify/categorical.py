"""Categorical (dichotomous) scores at thresholds, event = ``value >= threshold``.

One convention everywhere in xgpm: a cell is an *event* when its value is **greater than or
equal to** the threshold (xskillscore's ``Contingency`` with edges ``[-inf, t, inf]`` and
``scores``' ``ThresholdEventOperator`` default ``>=`` agree; ``scores.spatial.fss_2d`` defaults to
``>`` and needs ``threshold_operator=np.greater_equal``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr

from xgpm.verify import _stats
from xgpm.verify.continuous import Dims, _pointwise_statistics

__all__ = [
    "contingency_table",
    "pod",
    "far",
    "csi",
    "ets",
    "hss",
    "frequency_bias",
    "pofd",
]


def contingency_table(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    thresholds: float | Iterable[float] = (0.1, 1.0, 10.0),
    dim: Dims = None,
    *,
    mask: xr.DataArray | None = None,
) -> xr.Dataset:
    """Count hits, misses, false alarms and correct negatives at each threshold.

    Parameters
    ----------
    forecast, reference : xarray.DataArray
        Fields to compare (broadcast against each other).
    thresholds : float or sequence of float
        Event thresholds (event = ``value >= threshold``); a sequence adds a ``threshold``
        dim, a scalar gives a scalar ``threshold`` coordinate.
    dim : str or sequence of str, optional
        Dimensions to reduce (default: all).
    mask : xarray.DataArray of bool, optional
        ``False`` excludes a pair. Pairs with a NaN are excluded too.

    Returns
    -------
    xarray.Dataset
        ``hits``, ``misses``, ``false_alarms``, ``correct_negatives`` (float64 counts) and
        ``n_valid``.

    Examples
    --------
    >>> import xarray as xr
    >>> from xgpm.verify import contingency_table
    >>> t = contingency_table(xr.DataArray([0.0, 1.0, 2.0]), xr.DataArray([1.0, 1.0, 0.0]), 1.0)
    >>> [int(t[v].item()) for v in ("hits", "misses", "false_alarms", "correct_negatives")]
    [1, 1, 1, 0]
    """
    scalar = np.ndim(thresholds) == 0
    thresholds = _stats.resolve_thresholds(thresholds)
    stats = _pointwise_statistics(
        forecast, reference, dim, mask, "categorical", thresholds=thresholds
    )
    stats.attrs = {}
    return stats.squeeze("threshold") if scalar else stats


def _categorical(metric: str, forecast, reference, thresholds, dim, mask) -> xr.DataArray:
    table = contingency_table(forecast, reference, thresholds, dim, mask=mask)
    return _stats.finalize(table, [metric])[metric].rename(metric)


_PARAMS = """
    Parameters
    ----------
    forecast, reference : xarray.DataArray
        Fields to compare.
    thresholds : float or sequence of float
        Event thresholds (event = ``value >= threshold``).
    dim : str or sequence of str, optional
        Dimensions to reduce (default: all).
    mask : xarray.DataArray of bool, optional
        ``False`` excludes a pair.

    Returns
    -------
    xarray.DataArray
        Along ``threshold`` (none for a scalar threshold); NaN where the denominator is 0.
"""


def pod(forecast, reference, thresholds=(0.1, 1.0, 10.0), dim: Dims = None, *, mask=None):
    """Probability of detection (hit rate) TP / (TP + FN)."""
    return _categorical("pod", forecast, reference, thresholds, dim, mask)


def far(forecast, reference, thresholds=(0.1, 1.0, 10.0), dim: Dims = None, *, mask=None):
    """Compute the false alarm *ratio* FP / (TP + FP) (not the false alarm rate: :func:`pofd`)."""
    return _categorical("far", forecast, reference, thresholds, dim, mask)


def csi(forecast, reference, thresholds=(0.1, 1.0, 10.0), dim: Dims = None, *, mask=None):
    """Critical success index (threat score) TP / (TP + FP + FN)."""
    return _categorical("csi", forecast, reference, thresholds, dim, mask)


def ets(forecast, reference, thresholds=(0.1, 1.0, 10.0), dim: Dims = None, *, mask=None):
    """Equitable threat score (Gilbert skill score) (TP - TPr) / (TP + FP + FN - TPr).

    ``TPr = (TP + FN)(TP + FP) / N`` are the hits expected by chance.
    """
    return _categorical("ets", forecast, reference, thresholds, dim, mask)


def hss(forecast, reference, thresholds=(0.1, 1.0, 10.0), dim: Dims = None, *, mask=None):
    """Heidke skill score 2(TP TN - FP FN) / ((TP+FN)(FN+TN) + (TP+FP)(FP+TN))."""
    return _categorical("hss", forecast, reference, thresholds, dim, mask)


def frequency_bias(
    forecast, reference, thresholds=(0.1, 1.0, 10.0), dim: Dims = None, *, mask=None
):
    """Frequency bias (TP + FP) / (TP + FN)."""
    return _categorical("frequency_bias", forecast, reference, thresholds, dim, mask)


def pofd(forecast, reference, thresholds=(0.1, 1.0, 10.0), dim: Dims = None, *, mask=None):
    """Probability of false detection (false alarm *rate*) FP / (FP + TN)."""
    return _categorical("pofd", forecast, reference, thresholds, dim, mask)


for _func in (pod, far, csi, ets, hss, frequency_bias, pofd):
    _func.__doc__ = (_func.__doc__ or "") + "\n" + _PARAMS
