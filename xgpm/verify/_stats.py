"""xarray layer of :mod:`xgpm.verify`: input checks, sufficient statistics, and scores from them.

The kernels in :mod:`xgpm.verify._kernels` run under ``xr.apply_ufunc(dask="parallelized")``
on blocks whose reduced ("core") dimensions are whole; any further reduced dimension is summed
afterwards with xarray's ``sum``, which dask performs as a tree reduction. Sufficient statistics
are therefore never more than a few numbers per map, and a two-year archive reduces chunk by
chunk without being loaded.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from functools import partial
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, InvalidDataError
from xgpm.verify import _kernels as k

__all__ = [
    "CONTINUOUS_METRICS",
    "CATEGORICAL_METRICS",
    "FSS_METRICS",
    "PER_MAP_ONLY_METRICS",
    "ALL_METRICS",
    "families_for",
    "statistics",
    "finalize",
    "check_pair",
    "check_rain_values",
]

CONTINUOUS_METRICS: tuple[str, ...] = (
    "bias",
    "relative_bias",
    "mae",
    "mse",
    "rmse",
    "smape",
    "pearson_r",
    "kge",
)
CATEGORICAL_METRICS: tuple[str, ...] = (
    "pod",
    "far",
    "csi",
    "ets",
    "hss",
    "frequency_bias",
    "pofd",
)
FSS_METRICS: tuple[str, ...] = ("fss", "fss_useful_scale")
#: Metrics that are not sums of per-chunk statistics: offered per map only, never pooled.
PER_MAP_ONLY_METRICS: tuple[str, ...] = ("spearman_r",)
ALL_METRICS: tuple[str, ...] = (
    CONTINUOUS_METRICS + PER_MAP_ONLY_METRICS + CATEGORICAL_METRICS + FSS_METRICS
)

_CONVENTIONS_ATTR = "conventions"


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------
def resolve_metrics(metrics: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validate ``metrics`` (None = all) and return them in canonical order."""
    if metrics is None:
        return ALL_METRICS
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not isinstance(metrics, Iterable):
        raise InvalidArgumentError(
            f"metrics: expected a metric name or a list of them, got {type(metrics).__name__} "
            f"{metrics!r}; choose from {list(ALL_METRICS)}."
        )
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in ALL_METRICS]
    if unknown:
        raise InvalidArgumentError(
            f"metrics: unknown metric(s) {unknown}; choose from {list(ALL_METRICS)}."
        )
    if not metrics:
        raise InvalidArgumentError("metrics: give at least one metric (or None for all).")
    return tuple(m for m in ALL_METRICS if m in metrics)


def families_for(metrics: Sequence[str]) -> tuple[str, ...]:
    """Statistic families needed by ``metrics`` (FSS needs contingency counts for f0)."""
    families = []
    if any(m in CONTINUOUS_METRICS for m in metrics):
        families.append("continuous")
    if any(m in CATEGORICAL_METRICS or m in FSS_METRICS for m in metrics):
        families.append("categorical")
    if any(m in FSS_METRICS for m in metrics):
        families.append("fss")
    if "spearman_r" in metrics:
        families.append("spearman")
    return tuple(families)


def resolve_thresholds(thresholds: float | Iterable[float]) -> tuple[float, ...]:
    """Validate thresholds: finite rain rates >= 0, unique, at least one; returned sorted."""
    try:
        if isinstance(thresholds, (str, bytes, dict)):
            raise TypeError
        values = np.asarray(thresholds, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim > 1:
        raise InvalidArgumentError(
            f"thresholds: need a number or a flat list of numbers (rain rates, e.g. [0.1, 1.0, "
            f"10.0]), got {thresholds!r}."
        )
    values = np.atleast_1d(values)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise InvalidArgumentError(
            f"thresholds: need one or more finite numbers, got {thresholds!r}."
        )
    if np.any(values < 0):
        raise InvalidArgumentError(
            f"thresholds: rain-rate thresholds must be >= 0 (an event is value >= threshold; "
            f"a negative one counts every pair as an event), got {thresholds!r}."
        )
    if np.unique(values).size != values.size:
        raise InvalidArgumentError(f"thresholds: values must be unique, got {thresholds!r}.")
    return tuple(float(v) for v in np.sort(values))


def resolve_scales(scales: int | Iterable[int]) -> tuple[int, ...]:
    """Validate FSS window sizes: positive integers (grid cells), unique; returned sorted."""
    try:
        values = np.atleast_1d(np.asarray(scales)).ravel()
    except (TypeError, ValueError):
        values = np.array([], dtype=np.int64)
    if (
        values.size == 0
        or not np.issubdtype(values.dtype, np.integer)
        or np.any(values < 1)
        or np.unique(values).size != values.size
    ):
        raise InvalidArgumentError(
            f"scales: need unique positive integers (window widths in grid cells), got {scales!r}."
        )
    return tuple(int(v) for v in np.sort(values))


def _normalise_units(units: str) -> str:
    text = units.strip().lower().replace(" ", "").replace("**", "^")
    text = re.sub(r"hours?|hr", "h", text)
    text = re.sub(r"h\^?-1", "/h", text)
    text = text.replace("//", "/")
    return text


def check_pair(
    forecast: Any,
    reference: Any,
    *,
    spatial_dims: Sequence[Hashable],
    dim: Hashable | None,
    mask: Any = None,
    require_spatial: bool = True,
    names: tuple[str, str] = ("forecast", "reference"),
) -> None:
    """Raise :class:`~xgpm.errors.InvalidArgumentError` unless the two fields can be scored.

    Checks types, dimensions, identical spatial coordinates, identical ``dim`` (time) labels,
    agreeing ``units`` attributes and a usable ``mask``. Nothing is aligned silently.
    ``names`` are the caller's argument names, used in the messages.
    """
    fname, rname = names
    if require_spatial and (
        isinstance(spatial_dims, str)
        or not isinstance(spatial_dims, Sequence)
        or len(spatial_dims) != 2
    ):
        raise InvalidArgumentError(
            f"spatial_dims: need exactly two dimension names, got {spatial_dims!r}."
        )
    if dim is not None and not isinstance(dim, Hashable):
        raise InvalidArgumentError(
            f"dim: need one dimension name (e.g. 'time'), got {type(dim).__name__} {dim!r}."
        )
    for name, value in ((fname, forecast), (rname, reference)):
        if not isinstance(value, xr.DataArray):
            raise InvalidArgumentError(
                f"{name}: expected an xarray.DataArray, got {type(value).__name__}. Select one "
                f"variable of a Dataset, e.g. ds['precipitation']."
            )
        if value.dtype.kind not in "fiu":
            raise InvalidArgumentError(
                f"{name}: expected numbers (rain rates), got dtype {value.dtype}"
                + (
                    "; a boolean field is not a rain rate (cast it with .astype(float) if "
                    "that is meant)."
                    if value.dtype.kind == "b"
                    else "."
                )
            )
        missing = [d for d in spatial_dims if d not in value.dims]
        if missing:
            raise InvalidArgumentError(
                f"{name}: spatial dimension(s) {missing} not found; its dims are "
                f"{list(value.dims)}. Pass spatial_dims=(...) naming its two grid dimensions."
            )
    if dim is not None and (dim in forecast.dims) != (dim in reference.dims):
        has, lacks = (fname, rname) if dim in forecast.dims else (rname, fname)
        raise InvalidArgumentError(
            f"dim={dim!r} is a dimension of {has} but not of {lacks}: both must carry it "
            f"(or neither, to score a single map)."
        )
    shared = [d for d in forecast.dims if d in reference.dims]
    for d in shared:
        if forecast.sizes[d] != reference.sizes[d]:
            raise InvalidArgumentError(
                f"{fname} and {rname} differ in size along {d!r} ({forecast.sizes[d]} vs "
                f"{reference.sizes[d]}). Regrid/select them onto the same grid and period first "
                f"(e.g. xr.align({fname}, {rname}, join='inner'))."
            )
        _check_same_labels(forecast, reference, d, fname, rname)
    if "units" in forecast.attrs and "units" in reference.attrs:
        fu, ru = str(forecast.attrs["units"]), str(reference.attrs["units"])
        if _normalise_units(fu) != _normalise_units(ru):
            raise InvalidArgumentError(
                f"units differ: {fname} is in {fu!r}, {rname} in {ru!r}. Convert one of them "
                f"(e.g. an accumulation to a rate) and set its 'units' attribute."
            )
    if mask is not None:
        if not isinstance(mask, xr.DataArray):
            raise InvalidArgumentError(
                f"mask: expected a boolean xarray.DataArray (True = use the pair), got "
                f"{type(mask).__name__}."
            )
        if mask.dtype != bool:
            raise InvalidArgumentError(
                f"mask: expected booleans (True = use the pair), got dtype {mask.dtype}."
            )
        alien = [d for d in mask.dims if d not in forecast.dims and d not in reference.dims]
        if alien:
            raise InvalidArgumentError(
                f"mask: dimension(s) {alien} are in neither {fname} nor {rname}."
            )
        for d in mask.dims:
            other = forecast if d in forecast.dims else reference
            if mask.sizes[d] != other.sizes[d]:
                raise InvalidArgumentError(
                    f"mask: size {mask.sizes[d]} along {d!r} differs from the data's "
                    f"{other.sizes[d]}."
                )
            _check_same_labels(mask, other, d, "mask", "data")


def _negative_report(values: np.ndarray, name: str, where: str = "") -> None:
    with np.errstate(invalid="ignore"):
        negative = values < 0
    n = int(negative.sum())
    if not n:
        return
    low = float(values[negative].min())
    hint = (
        f"values like {low:g} look like fill values that were not decoded: set them to NaN "
        f"({name}.where({name} >= 0))"
        if low <= -999
        else f"clip small numerical negatives ({name}.clip(min=0)) or set them to NaN "
        f"({name}.where({name} >= 0))"
    )
    raise InvalidDataError(
        f"{name}: {n} value(s){where} are negative (down to {low:g}), but rain rates cannot "
        f"be: {hint}."
    )


def _checked_rain_block(block: np.ndarray, name: str) -> np.ndarray:
    _negative_report(np.asarray(block), name, " in one dask block")
    return block


def check_rain_values(field: xr.DataArray, name: str) -> xr.DataArray:
    """Refuse negative rain rates: now for in-memory data, at compute for dask data.

    In-memory values are checked at once. Dask values get a blockwise identity step that
    checks each block when the graph runs (nothing is computed here; ``.compute()`` raises).

    Raises
    ------
    InvalidDataError
        Negative values (undecoded fill values such as -9999.9, or numerical negatives): the
        message says how many, the smallest, and what to do.
    """
    if field.chunks is None:
        _negative_report(np.asarray(field.values), name)
        return field
    data = field.data.map_blocks(
        partial(_checked_rain_block, name=name),
        dtype=field.dtype,
        meta=np.empty((0,) * field.ndim, dtype=field.dtype),
    )
    return field.copy(data=data)


def _check_same_labels(a: xr.DataArray, b: xr.DataArray, d: Hashable, na: str, nb: str) -> None:
    if d not in a.coords or d not in b.coords:
        return  # positional dims: sizes already agree
    la, lb = a[d].values, b[d].values
    if np.issubdtype(la.dtype, np.floating) and np.issubdtype(lb.dtype, np.floating):
        same = np.isclose(la, lb, rtol=0.0, atol=1e-6, equal_nan=True)
    else:
        same = la == lb
    if not np.all(same):
        first = int(np.argmin(same))
        raise InvalidArgumentError(
            f"{na} and {nb} have different {d!r} coordinates (first difference at position "
            f"{first}: {la[first]} vs {lb[first]}). xgpm does not align them silently: select "
            f"the same grid and period in both (e.g. xr.align({na}, {nb}, join='inner'))."
        )


# --------------------------------------------------------------------------------------------
# sufficient statistics
# --------------------------------------------------------------------------------------------
def _stats_kernel(
    forecast: np.ndarray,
    reference: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    n_core: int,
    families: tuple[str, ...],
    thresholds: tuple[float, ...],
    scales: tuple[int, ...],
    smape_threshold: float,
) -> tuple[np.ndarray, ...] | np.ndarray:
    """Compute all requested statistic families from one read of a block."""
    if "continuous" not in families:  # n_valid always comes back
        families = (*families, "n_valid")
    out = k.all_statistics(
        forecast,
        reference,
        mask,
        n_core=n_core,
        families=families,
        thresholds=thresholds,
        scales=scales,
        smape_threshold=smape_threshold,
    )
    return out if len(out) > 1 else out[0]


def _is_multichunk(array: xr.DataArray, d: Hashable) -> bool:
    chunks = array.chunksizes.get(d) if array.chunks is not None else None
    return chunks is not None and len(chunks) > 1


def statistics(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    *,
    reduce_dims: Sequence[Hashable],
    families: Sequence[str],
    spatial_dims: Sequence[Hashable] = ("lat", "lon"),
    thresholds: Sequence[float] = (0.1,),
    scales: Sequence[int] = (1,),
    smape_threshold: float = 0.1,
    mask: xr.DataArray | None = None,
) -> xr.Dataset:
    """Sufficient statistics of ``(forecast, reference)`` summed over ``reduce_dims``.

    Inputs are assumed checked (:func:`check_pair`). With ``"fss"`` or ``"spearman"`` in
    ``families`` the kernel's core dims are exactly ``spatial_dims`` (which must be in
    ``reduce_dims``); otherwise every reduced dim that is a single chunk is a core dim. The
    remaining reduced dims are summed afterwards (a dask tree reduction).
    """
    families = tuple(families)
    reduce_dims = list(dict.fromkeys(reduce_dims))
    f, r = xr.broadcast(forecast, reference)
    inputs = [f, r]
    if mask is not None:
        inputs.append(mask.broadcast_like(f))
    all_dims = list(f.dims)
    if "fss" in families or "spearman" in families:
        core = list(spatial_dims)
    else:
        core = [
            d
            for d in all_dims
            if d in reduce_dims and not any(_is_multichunk(a, d) for a in inputs)
        ]
    loop_reduce = [d for d in reduce_dims if d not in core]
    if "spearman" in families and loop_reduce:
        raise InvalidArgumentError(
            f"spearman_r is computed per map only (ranks do not pool); cannot also reduce over "
            f"{loop_reduce}."
        )
    if any(d not in all_dims for d in reduce_dims):
        raise InvalidArgumentError(
            f"dim: {[d for d in reduce_dims if d not in all_dims]} not among the data's dims "
            f"{all_dims}."
        )
    order = [d for d in all_dims if d not in core] + core
    inputs = [a.transpose(*order) for a in inputs]
    if any(a.chunks is not None for a in inputs):
        inputs = [a.chunk({d: -1 for d in core}) for a in inputs]

    nt, ns = len(thresholds), len(scales)
    out_core: list[list[str]] = []
    names: list[str] = []
    if "continuous" in families:
        out_core.append(["_cstat"])
        names.append("continuous")
    if "categorical" in families:
        out_core.append(["threshold", "_table"])
        names.append("categorical")
    if "fss" in families:
        out_core.append(["threshold", "scale", "_fstat"])
        names.append("fss")
    if "spearman" in families:
        out_core.append([])
        names.append("spearman")
    if "continuous" not in families:
        out_core.append([])
        names.append("n_valid")

    sizes = {
        "_cstat": len(k.CONTINUOUS_STATS),
        "threshold": nt,
        "_table": len(k.CONTINGENCY_STATS),
        "scale": ns,
        "_fstat": len(k.FSS_STATS),
    }
    results = xr.apply_ufunc(
        _stats_kernel,
        *inputs,
        input_core_dims=[core] * len(inputs),
        output_core_dims=out_core,
        kwargs={
            "n_core": len(core),
            "families": families,
            "thresholds": tuple(thresholds),
            "scales": tuple(scales),
            "smape_threshold": smape_threshold,
        },
        dask="parallelized",
        output_dtypes=[np.float64] * len(out_core),
        dask_gufunc_kwargs={
            "output_sizes": {d: sizes[d] for d in set().union(*out_core) if d in sizes}
        },
    )
    if len(out_core) == 1:
        results = (results,)
    variables: dict[str, xr.DataArray] = {}
    for name, result in zip(names, results, strict=True):
        if name == "continuous":
            for i, stat in enumerate(k.CONTINUOUS_STATS):
                variables[stat] = result.isel(_cstat=i, drop=True)
        elif name == "categorical":
            for i, stat in enumerate(k.CONTINGENCY_STATS):
                variables[stat] = result.isel(_table=i, drop=True)
        elif name == "fss":
            for i, stat in enumerate(k.FSS_STATS):
                variables[stat] = result.isel(_fstat=i, drop=True)
        elif name == "spearman":
            variables["spearman_r"] = result
        else:
            variables["n_valid"] = result
    stats = xr.Dataset(variables)
    if loop_reduce:
        stats = stats.sum(loop_reduce, skipna=False)  # sums hold no NaN: plain (tree) sum
    coords: dict[str, Any] = {}
    if "categorical" in families or "fss" in families:
        coords["threshold"] = ("threshold", np.asarray(thresholds, dtype=np.float64))
    if "fss" in families:
        coords["scale"] = ("scale", np.asarray(scales, dtype=np.int64))
    stats = stats.assign_coords(coords)
    if "threshold" in stats.coords:
        stats["threshold"].attrs["long_name"] = "event threshold (event = value >= threshold)"
        if "units" in forecast.attrs:
            stats["threshold"].attrs["units"] = str(forecast.attrs["units"])
    if "scale" in stats.coords:
        stats["scale"].attrs.update(long_name="FSS window width", units="grid cells")
    stats.attrs[_CONVENTIONS_ATTR] = (
        f"smape_threshold={smape_threshold}; event = value >= threshold; FSS zero padding"
    )
    return stats


# --------------------------------------------------------------------------------------------
# scores from statistics
# --------------------------------------------------------------------------------------------
def _first_output(func: Any, *args: np.ndarray) -> np.ndarray:
    result = func(*args)
    return result[0] if isinstance(result, tuple) else result


def _scores_ufunc(func: Any, arrays: list[xr.DataArray], n_out: int) -> tuple[xr.DataArray, ...]:
    if n_out == 1:
        func = partial(_first_output, func)

    out = xr.apply_ufunc(
        func,
        *arrays,
        output_core_dims=[[]] * n_out,
        dask="parallelized",
        output_dtypes=[np.float64] * n_out,
    )
    return out if isinstance(out, tuple) else (out,)


def finalize(stats: xr.Dataset, metrics: Sequence[str] | None = None) -> xr.Dataset:
    """Scores from sufficient statistics (per map, or summed over any dims); stays lazy.

    Parameters
    ----------
    stats : xarray.Dataset
        Output of :func:`statistics` or of :func:`xgpm.verify.sufficient_statistics`, possibly
        summed (pooled) along some dimensions.
    metrics : sequence of str, optional
        Metrics wanted (default: all those the statistics allow).

    Returns
    -------
    xarray.Dataset
        ``n_valid`` and one variable per metric.
    """
    if metrics is None:
        metrics = [
            m
            for m in ALL_METRICS
            if (m in CONTINUOUS_METRICS and "sum_f" in stats)
            or (m in CATEGORICAL_METRICS and "hits" in stats)
            or (m in FSS_METRICS and "fss_sum_f2" in stats)
            or (m == "spearman_r" and m in stats)
        ]
    metrics = resolve_metrics(metrics)
    out: dict[str, xr.DataArray] = {"n_valid": stats["n_valid"]}
    continuous = [m for m in CONTINUOUS_METRICS if m in metrics]
    if continuous:
        _require(stats, k.CONTINUOUS_STATS, continuous)
        func = partial(_continuous_outputs, wanted=tuple(continuous))
        values = _scores_ufunc(func, [stats[s] for s in k.CONTINUOUS_STATS], len(continuous))
        out.update(zip(continuous, values, strict=True))
    if "spearman_r" in metrics:
        _require(stats, ("spearman_r",), ["spearman_r"])
        out["spearman_r"] = stats["spearman_r"]
    categorical = [m for m in CATEGORICAL_METRICS if m in metrics]
    if categorical:
        _require(stats, k.CONTINGENCY_STATS, categorical)
        func = partial(_categorical_outputs, wanted=tuple(categorical))
        values = _scores_ufunc(func, [stats[s] for s in k.CONTINGENCY_STATS], len(categorical))
        out.update(zip(categorical, values, strict=True))
    if any(m in FSS_METRICS for m in metrics):
        _require(stats, k.FSS_STATS + ("hits", "misses"), ["fss"])
        (fss,) = _scores_ufunc(k.fss_from_sums, [stats[s] for s in k.FSS_STATS], 1)
        fss = fss.transpose(..., "scale")
        if "fss" in metrics:
            out["fss"] = fss
        if "fss_useful_scale" in metrics:
            (base_rate,) = _scores_ufunc(
                _base_rate,
                [stats["hits"], stats["misses"], stats["n_valid"]],
                1,
            )
            out["fss_useful_scale"] = xr.apply_ufunc(
                k.useful_scale,
                fss,
                base_rate,
                input_core_dims=[["scale"], []],
                kwargs={"scales": tuple(int(s) for s in stats["scale"].values)},
                dask="parallelized",
                output_dtypes=[np.float64],
            )
    result = xr.Dataset(out)
    for name, text in _DESCRIPTIONS.items():
        if name in result:
            result[name].attrs["long_name"] = text
    return result


def _continuous_outputs(*arrays: np.ndarray, wanted: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    scores = k.continuous_scores(dict(zip(k.CONTINUOUS_STATS, arrays, strict=True)))
    return tuple(scores[m] for m in wanted)


def _categorical_outputs(*arrays: np.ndarray, wanted: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    scores = k.categorical_scores(*arrays)
    return tuple(scores[m] for m in wanted)


def _base_rate(hits: np.ndarray, misses: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    return k._divide(hits + misses, n_valid)


def _require(stats: xr.Dataset, names: Sequence[str], metrics: Sequence[str]) -> None:
    missing = [n for n in names if n not in stats]
    if missing:
        raise InvalidArgumentError(
            f"metrics {list(metrics)} need the statistics {missing}, which were not accumulated; "
            f"accumulate with these metrics requested."
        )


_DESCRIPTIONS = {
    "n_valid": "number of valid (finite, unmasked) forecast/reference pairs",
    "bias": "mean error, mean(forecast - reference)",
    "relative_bias": "relative bias 100 (sum forecast - sum reference) / sum reference (percent)",
    "mae": "mean absolute error",
    "mse": "mean squared error",
    "rmse": "root mean squared error",
    "smape": "SMAPE_t: mean over reference > t of |f - r| / (0.5 (|f| + |r|)) (fraction)",
    "pearson_r": "Pearson correlation coefficient",
    "spearman_r": "Spearman rank correlation (per map only)",
    "kge": "Kling-Gupta efficiency (Gupta et al. 2009)",
    "pod": "probability of detection TP / (TP + FN)",
    "far": "false alarm ratio FP / (TP + FP)",
    "csi": "critical success index TP / (TP + FP + FN)",
    "ets": "equitable threat score (Gilbert skill score)",
    "hss": "Heidke skill score",
    "frequency_bias": "frequency bias (TP + FP) / (TP + FN)",
    "pofd": "probability of false detection FP / (FP + TN)",
    "fss": "fractions skill score (Roberts and Lean 2008)",
    "fss_useful_scale": "smallest window width with FSS > 0.5 + f0 / 2 (grid cells)",
}
