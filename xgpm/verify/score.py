"""``xgpm.verify.score``: per-map and pooled scores of a precipitation product vs a reference."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import xarray as xr

from xgpm.cf import add_cf_attrs
from xgpm.errors import NoValidPairsError
from xgpm.verify import _stats
from xgpm.verify.accumulate import _check_smape_threshold

__all__ = ["score"]

_CONVENTIONS = (
    "pairs used where forecast and reference are both finite and mask is True; "
    "event = value >= threshold; SMAPE over reference > smape_threshold; "
    "FSS: centred n x n windows, zero padding outside the domain, sums over valid cells, "
    "pooled by summing the three sums; useful scale = smallest window with FSS > 0.5 + f0/2; "
    "KGE 2009 (Gupta et al.); pooled_* = scores of the sums over dim; spearman_r per map only"
)


def score(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    *,
    thresholds: float | Iterable[float] = (0.1, 1.0, 10.0),
    scales: int | Iterable[int] = (1, 3, 5, 11),
    metrics: Iterable[str] | str | None = None,
    dim: Hashable = "time",
    spatial_dims: Sequence[Hashable] = ("lat", "lon"),
    mask: xr.DataArray | None = None,
    smape_threshold: float = 0.1,
) -> xr.Dataset:
    """Score a precipitation product against a reference, map by map and pooled over ``dim``.

    Parameters
    ----------
    forecast : xarray.DataArray
        The product to score (e.g. IMERG), dims ``(dim, *spatial_dims)`` plus any extra dims
        (broadcast).
    reference : xarray.DataArray
        The reference (e.g. the radar composite) on the same grid and the same ``dim`` labels.
    thresholds : float or sequence of float
        Event thresholds for categorical scores and FSS; event = ``value >= threshold``.
    scales : int or sequence of int
        FSS window widths in grid cells.
    metrics : sequence of str, optional
        Subset of :data:`xgpm.verify.ALL_METRICS` (default: all). Continuous: ``bias``,
        ``relative_bias``, ``mae``, ``mse``, ``rmse``, ``smape``, ``pearson_r``, ``spearman_r``,
        ``kge``; categorical: ``pod``, ``far``, ``csi``, ``ets``, ``hss``, ``frequency_bias``,
        ``pofd``; spatial: ``fss``, ``fss_useful_scale``.
    dim : str
        The dimension along which maps are stacked and pooled. If neither input has it, the
        single map is scored and pooled scores equal the per-map ones.
    spatial_dims : pair of str
        The two grid dimensions of one map.
    mask : xarray.DataArray of bool, optional
        ``False`` excludes a pair (e.g. a land or radar-coverage mask); broadcast to the data.
    smape_threshold : float
        SMAPE (SatRain's SMAPE_t) averages over pairs with ``reference > smape_threshold``.

    Returns
    -------
    xarray.Dataset
        Per-map variables along ``dim`` (``n_valid``, one per metric, categorical ones along
        ``threshold``, ``fss`` along ``(threshold, scale)``) and pooled variables named
        ``pooled_<metric>`` (and ``pooled_n_valid``), computed from the sums of the per-map
        statistics over ``dim``. A map without valid pairs scores NaN with ``n_valid = 0``.
        Lazy when the inputs are dask-backed.

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Inputs on different grids or periods (no silent alignment), disagreeing ``units``
        attributes, non-numeric inputs, unknown metrics, bad thresholds (not finite, negative,
        repeated) or scales (not positive integers), bad ``dim``/``spatial_dims``.
    xgpm.errors.InvalidDataError
        Negative rain rates (e.g. undecoded -9999.9 fill values): at call time for in-memory
        inputs, from ``.compute()`` for dask inputs (checked inside the graph, which stays
        lazy).
    xgpm.errors.NoValidPairsError
        In-memory inputs with no valid pair at all (e.g. an all-NaN reference). With dask input
        nothing is computed to check this; the pooled scores are then NaN with
        ``pooled_n_valid = 0``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import xgpm.verify as xv
    >>> rng = np.random.default_rng(0)
    >>> ref = xr.DataArray(rng.gamma(0.3, 2.0, (3, 20, 20)), dims=("time", "lat", "lon"),
    ...                    attrs={"units": "mm/h"})
    >>> imerg = ref * 1.2
    >>> out = xv.score(imerg, ref, thresholds=[1.0], scales=[1, 5], metrics=["csi", "fss"])
    >>> [name for name in out.data_vars if name.startswith("pooled_")]
    ['pooled_n_valid', 'pooled_csi', 'pooled_fss']
    >>> out["csi"].dims, out["pooled_fss"].dims, int(out["pooled_n_valid"])
    (('time', 'threshold'), ('threshold', 'scale'), 1200)
    """
    metrics = _stats.resolve_metrics(metrics)
    thresholds = _stats.resolve_thresholds(thresholds)
    scales = _stats.resolve_scales(scales)
    smape_threshold = _check_smape_threshold(smape_threshold)
    _stats.check_pair(forecast, reference, spatial_dims=spatial_dims, dim=dim, mask=mask)
    forecast = _stats.check_rain_values(forecast, "forecast")
    reference = _stats.check_rain_values(reference, "reference")

    per_map_stats = _stats.statistics(
        forecast,
        reference,
        reduce_dims=list(spatial_dims),
        families=_stats.families_for(metrics),
        spatial_dims=spatial_dims,
        thresholds=thresholds,
        scales=scales,
        smape_threshold=smape_threshold,
        mask=mask,
    )
    pooled_metrics = [m for m in metrics if m not in _stats.PER_MAP_ONLY_METRICS]
    poolable = per_map_stats.drop_vars(
        [v for v in _stats.PER_MAP_ONLY_METRICS if v in per_map_stats]
    )
    pooled_stats = poolable.sum(dim, skipna=False) if dim in poolable.dims else poolable
    pooled_stats = pooled_stats.drop_vars(
        [c for c in pooled_stats.coords if dim in pooled_stats[c].dims]
    )
    per_map = _stats.finalize(per_map_stats, metrics)
    pooled = (
        _stats.finalize(pooled_stats, pooled_metrics)
        if pooled_metrics
        else pooled_stats[["n_valid"]]
    )
    n_pooled = pooled["n_valid"]
    if isinstance(n_pooled.data, np.ndarray) and float(n_pooled.sum()) == 0:
        raise NoValidPairsError(
            "score: no valid forecast/reference pair at all (every pair has a NaN in forecast or "
            "reference, or is masked out); check the reference coverage, the mask and the period."
        )
    pooled = pooled.rename({name: f"pooled_{name}" for name in pooled.data_vars})
    out = xr.merge([per_map, pooled], compat="override", join="exact")
    out.attrs["conventions"] = _CONVENTIONS
    out.attrs["smape_threshold"] = smape_threshold
    if "units" in reference.attrs:
        out.attrs["reference_units"] = str(reference.attrs["units"])
    return add_cf_attrs(out, in_place=True)
