"""Mergeable accumulators: init / accumulate / merge / finalize (pysteps style, on xarray).

Every pooled score of :mod:`xgpm.verify` (all but ``spearman_r``) is a function of *sums*: counts,
sums of values, squares and products, contingency counts and the three FSS sums. An accumulator
holds these sums as a small :class:`xarray.Dataset`; accumulating a new batch of maps adds to them,
two accumulators built on disjoint data merge by addition, and :meth:`ScoreAccumulator.finalize`
turns the sums into scores. The result is the same whatever the order, batching or chunking of
the maps (up to float rounding).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, NoValidPairsError
from xgpm.verify import _stats

__all__ = ["ScoreAccumulator", "sufficient_statistics"]


def sufficient_statistics(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    *,
    thresholds: float | Iterable[float] = (0.1, 1.0, 10.0),
    scales: int | Iterable[int] = (1, 3, 5, 11),
    metrics: Iterable[str] | str | None = None,
    spatial_dims: Sequence[Hashable] = ("lat", "lon"),
    mask: xr.DataArray | None = None,
    smape_threshold: float = 0.1,
) -> xr.Dataset:
    """Per-map sufficient statistics (sums over ``spatial_dims``); lazy for dask input.

    Parameters
    ----------
    forecast, reference : xarray.DataArray
        Fields on the same grid (and the same times). Pairs are used where both are finite.
    thresholds : float or sequence of float
        Event thresholds, event = ``value >= threshold``.
    scales : int or sequence of int
        FSS window widths in grid cells.
    metrics : sequence of str, optional
        Restrict the statistics to what these metrics need (default: all metrics).
    spatial_dims : pair of str
        The two grid dimensions of one map.
    mask : xarray.DataArray of bool, optional
        ``False`` excludes a pair; broadcast against the data.
    smape_threshold : float
        SMAPE averages over pairs whose reference is strictly above this value.

    Returns
    -------
    xarray.Dataset
        ``n_valid``, ``sum_f`` ... ``sum_smape``; ``hits``, ``misses``, ``false_alarms``,
        ``correct_negatives`` along ``threshold``; ``fss_sum_diff2``, ``fss_sum_f2``,
        ``fss_sum_o2`` along ``(threshold, scale)``; ``spearman_r`` (per map only, not a sum).
        Sum it over any dimension and pass it to :func:`xgpm.verify.finalize`.
    """
    metrics = _stats.resolve_metrics(metrics)
    _stats.check_pair(forecast, reference, spatial_dims=spatial_dims, dim=None, mask=mask)
    forecast = _stats.check_rain_values(forecast, "forecast")
    reference = _stats.check_rain_values(reference, "reference")
    smape_threshold = _check_smape_threshold(smape_threshold)
    return _stats.statistics(
        forecast,
        reference,
        reduce_dims=list(spatial_dims),
        families=_stats.families_for(metrics),
        spatial_dims=spatial_dims,
        thresholds=_stats.resolve_thresholds(thresholds),
        scales=_stats.resolve_scales(scales),
        smape_threshold=smape_threshold,
        mask=mask,
    )


def _check_smape_threshold(value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"smape_threshold: expected a number >= 0, got {value!r}."
        ) from None
    if not value >= 0:
        raise InvalidArgumentError(
            f"smape_threshold: expected a number >= 0 (SMAPE is undefined where |f| + |r| = 0), "
            f"got {value!r}."
        )
    return value


class ScoreAccumulator:
    """Pooled scores accumulated batch by batch, mergeable across workers.

    Constructing the object is the *init* step. :meth:`accumulate` adds maps, :meth:`merge`
    combines two accumulators built on disjoint data, :meth:`finalize` returns the pooled scores.
    ``spearman_r`` cannot be pooled from sums and is not offered here.

    Parameters
    ----------
    thresholds : float or sequence of float
        Event thresholds (event = ``value >= threshold``).
    scales : int or sequence of int
        FSS window widths in grid cells.
    metrics : sequence of str, optional
        Metrics to accumulate (default: every poolable metric).
    dim : str
        The dimension along which maps are stacked (summed over when accumulating).
    spatial_dims : pair of str
        The two grid dimensions of one map.
    smape_threshold : float
        SMAPE averages over pairs whose reference is strictly above this value.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xgpm.verify import ScoreAccumulator
    >>> rng = np.random.default_rng(0)
    >>> ref = xr.DataArray(rng.gamma(0.3, 2.0, (4, 8, 8)), dims=("time", "lat", "lon"))
    >>> fc = ref * 1.1
    >>> acc = ScoreAccumulator(thresholds=[1.0], scales=[3], metrics=["csi", "fss"])
    >>> acc = acc.accumulate(fc[:2], ref[:2]).merge(ScoreAccumulator(
    ...     thresholds=[1.0], scales=[3], metrics=["csi", "fss"]).accumulate(fc[2:], ref[2:]))
    >>> int(acc.finalize()["n_valid"])
    256
    """

    def __init__(
        self,
        *,
        thresholds: float | Iterable[float] = (0.1, 1.0, 10.0),
        scales: int | Iterable[int] = (1, 3, 5, 11),
        metrics: Iterable[str] | str | None = None,
        dim: Hashable = "time",
        spatial_dims: Sequence[Hashable] = ("lat", "lon"),
        smape_threshold: float = 0.1,
    ) -> None:
        metrics = _stats.resolve_metrics(metrics)
        per_map = [m for m in metrics if m in _stats.PER_MAP_ONLY_METRICS]
        if per_map:
            if metrics == _stats.ALL_METRICS:
                metrics = tuple(m for m in metrics if m not in per_map)
            else:
                raise InvalidArgumentError(
                    f"metrics: {per_map} cannot be pooled from sums (ranks do not merge); use "
                    f"xgpm.verify.score for per-map values."
                )
        self.metrics: tuple[str, ...] = metrics
        self.thresholds = _stats.resolve_thresholds(thresholds)
        self.scales = _stats.resolve_scales(scales)
        self.dim = dim
        self.spatial_dims = tuple(spatial_dims)
        self.smape_threshold = _check_smape_threshold(smape_threshold)
        #: The accumulated sums (``None`` before the first :meth:`accumulate`).
        self.stats: xr.Dataset | None = None

    def _config(self) -> tuple:
        return (
            self.metrics,
            self.thresholds,
            self.scales,
            self.dim,
            self.spatial_dims,
            self.smape_threshold,
        )

    def _empty_copy(self) -> ScoreAccumulator:
        new = object.__new__(ScoreAccumulator)
        new.__dict__.update(self.__dict__)
        return new

    def accumulate(
        self,
        forecast: xr.DataArray,
        reference: xr.DataArray,
        mask: xr.DataArray | None = None,
    ) -> ScoreAccumulator:
        """Add the statistics of more maps (summed over ``dim`` if present); returns ``self``.

        Lazy for dask input: the sums stay dask arrays until :meth:`finalize` is computed.
        """
        _stats.check_pair(
            forecast, reference, spatial_dims=self.spatial_dims, dim=self.dim, mask=mask
        )
        forecast = _stats.check_rain_values(forecast, "forecast")
        reference = _stats.check_rain_values(reference, "reference")
        stats = _stats.statistics(
            forecast,
            reference,
            reduce_dims=[*self.spatial_dims, *([self.dim] if self.dim in forecast.dims else [])],
            families=_stats.families_for(self.metrics),
            spatial_dims=self.spatial_dims,
            thresholds=self.thresholds,
            scales=self.scales,
            smape_threshold=self.smape_threshold,
            mask=mask,
        )
        stats = stats.drop_vars([c for c in stats.coords if self.dim in stats[c].dims])
        self.stats = stats if self.stats is None else _add(self.stats, stats)
        return self

    def merge(self, other: ScoreAccumulator) -> ScoreAccumulator:
        """Return a new accumulator holding the sums of both (built on disjoint data)."""
        if not isinstance(other, ScoreAccumulator):
            raise InvalidArgumentError(
                f"merge: expected a ScoreAccumulator, got {type(other).__name__}."
            )
        if self._config() != other._config():
            raise InvalidArgumentError(
                "merge: the accumulators were built with different metrics, thresholds, scales, "
                f"dims or smape_threshold: {self._config()} vs {other._config()}."
            )
        new = self._empty_copy()
        if self.stats is None or other.stats is None:
            new.stats = other.stats if self.stats is None else self.stats
        else:
            new.stats = _add(self.stats, other.stats)
        return new

    def finalize(self) -> xr.Dataset:
        """Pooled scores (``n_valid`` and one variable per metric); lazy for dask input.

        Raises
        ------
        xgpm.errors.NoValidPairsError
            In-memory sums without any valid pair (dask sums are not computed to check).
        """
        if self.stats is None:
            raise InvalidArgumentError(
                "finalize: nothing accumulated yet; call accumulate(forecast, reference) first."
            )
        n_valid = self.stats["n_valid"]
        if isinstance(n_valid.data, np.ndarray) and float(n_valid.sum()) == 0:
            raise NoValidPairsError(
                "finalize: the accumulated data hold no valid forecast/reference pair (all NaN "
                "or masked); check the reference coverage, the mask and the period."
            )
        return _stats.finalize(self.stats, self.metrics)


def _add(a: xr.Dataset, b: xr.Dataset) -> xr.Dataset:
    try:
        a, b = xr.align(a, b, join="exact")
    except ValueError as error:
        raise InvalidArgumentError(
            f"cannot add statistics with different coordinates (other than the accumulated "
            f"dim): {error}"
        ) from None
    return a + b
