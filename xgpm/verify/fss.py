"""Fractions skill score (Roberts & Lean 2008) over 2-D maps, per map or pooled.

Convention (one for all of xgpm, see ``docs/verify.md``): event = ``value >= threshold``; the
fraction at a cell is the number of events in the ``n x n`` window centred on it divided by
``n * n``, with cells outside the domain counted as non-events (*zero padding*); invalid cells
(NaN in either field, or masked) are non-events in both fields and are left out of the sums.
Pooling over maps sums the three sums ``sum (Pf - Po)**2``, ``sum Pf**2`` and ``sum Po**2``
before forming ``FSS = 1 - sum (Pf - Po)**2 / (sum Pf**2 + sum Po**2)``.

Relation to the peers: the fractions are ``scipy.ndimage.uniform_filter(events, n,
mode="constant", cval=0)``, as in pysteps. ``scores.spatial.fss_2d(..., zero_padding=True,
threshold_operator=np.greater_equal)`` uses the same windows but also evaluates one extra row and
column of window centres past the bottom/right edge: it equals xgpm on fields with one all-zero
row and column appended. xgpm returns NaN (``scores``: 0) when neither field has an event.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import xarray as xr

from xgpm.verify import _stats
from xgpm.verify.continuous import Dims

__all__ = ["fss", "fss_useful_scale"]


def _fss_dataset(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    thresholds: float | Iterable[float],
    scales: int | Iterable[int],
    spatial_dims: Sequence[Hashable],
    dim: Dims,
    mask: xr.DataArray | None,
) -> xr.Dataset:
    thresholds = _stats.resolve_thresholds(thresholds)
    scales = _stats.resolve_scales(scales)
    _stats.check_pair(forecast, reference, spatial_dims=spatial_dims, dim=None, mask=mask)
    extra: list[Hashable] = []
    if dim is not None:
        extra = [dim] if isinstance(dim, str) or not isinstance(dim, Sequence) else list(dim)
    stats = _stats.statistics(
        forecast,
        reference,
        reduce_dims=[*spatial_dims, *extra],
        families=("categorical", "fss"),
        spatial_dims=spatial_dims,
        thresholds=thresholds,
        scales=scales,
        mask=mask,
    )
    return _stats.finalize(stats, ["fss", "fss_useful_scale"])


def fss(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    thresholds: float | Iterable[float] = (0.1, 1.0, 10.0),
    scales: int | Iterable[int] = (1, 3, 5, 11),
    *,
    spatial_dims: Sequence[Hashable] = ("lat", "lon"),
    dim: Dims = None,
    mask: xr.DataArray | None = None,
) -> xr.DataArray:
    """Fractions skill score per map, or pooled over ``dim``.

    Parameters
    ----------
    forecast, reference : xarray.DataArray
        Fields on the same grid.
    thresholds : float or sequence of float
        Event thresholds (event = ``value >= threshold``).
    scales : int or sequence of int
        Window widths in grid cells.
    spatial_dims : pair of str
        The two grid dimensions.
    dim : str or sequence of str, optional
        Further dims to pool over by summing the FSS sums (default: none, one FSS per map).
    mask : xarray.DataArray of bool, optional
        ``False`` marks invalid cells.

    Returns
    -------
    xarray.DataArray
        Dims ``(..., threshold, scale)`` (a scalar threshold or scale gives no such dim);
        NaN where neither field has an event.

    Examples
    --------
    >>> import xarray as xr
    >>> from xgpm.verify import fss
    >>> ref = xr.DataArray([[0.0, 0, 0], [0, 5, 0], [0, 0, 0]], dims=("lat", "lon"))
    >>> moved = xr.DataArray([[0.0, 0, 0], [0, 0, 5], [0, 0, 0]], dims=("lat", "lon"))
    >>> fss(moved, ref, thresholds=1.0, scales=[1, 3]).values.round(3).tolist()
    [0.0, 0.8]
    """
    out = _fss_dataset(forecast, reference, thresholds, scales, spatial_dims, dim, mask)["fss"]
    return _squeeze_scalars(out, thresholds, scales)


def _squeeze_scalars(out: xr.DataArray, thresholds: object, scales: object) -> xr.DataArray:
    if np.ndim(thresholds) == 0:
        out = out.squeeze("threshold")
    if np.ndim(scales) == 0 and "scale" in out.dims:
        out = out.squeeze("scale")
    return out


def fss_useful_scale(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    thresholds: float | Iterable[float] = (0.1, 1.0, 10.0),
    scales: int | Iterable[int] = (1, 3, 5, 11),
    *,
    spatial_dims: Sequence[Hashable] = ("lat", "lon"),
    dim: Dims = None,
    mask: xr.DataArray | None = None,
) -> xr.DataArray:
    """Smallest window width (grid cells) at which ``FSS > 0.5 + f0 / 2``.

    ``f0`` is the observed base rate (fraction of valid reference cells with an event), computed
    over the same maps as the FSS. NaN where no tested scale is useful. Parameters as
    :func:`fss`.
    """
    out = _fss_dataset(forecast, reference, thresholds, scales, spatial_dims, dim, mask)
    return _squeeze_scalars(out["fss_useful_scale"], thresholds, scales)
