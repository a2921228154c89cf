"""Why does IMERG score well or badly? Per-map context and scores pooled by category.

:func:`map_context` describes each IMERG half hour over the area the reference verifies
(satellite presence, quality index, season, rain regime of the reference);
:func:`stratified_scores` pools :func:`xgpm.verify.sufficient_statistics` per category (MW source,
season, regime, binned quality index...) with one ``groupby(...).sum()`` and
:func:`xgpm.verify.finalize`; :func:`scores_table` and :func:`plot_scores_by` /
:func:`plot_score_vs` turn the result into tables and PNG figures. See ``docs/scoring.md``.

Conventions
-----------
- **Verified area**: cells where both the IMERG ``precipitation`` and the reference
  ``precipitation`` are finite. Every context field is computed over these cells only.
- **MW source**: ``MWprecipSource > 0`` is a passive-microwave estimate inside the half hour;
  ``0`` (or missing) is IR-only / morphed. Codes map to instruments through the sensor registry
  (``imerg_source_code``); codes the registry does not know count as ``"other"``.
- **Time of the MW observation**: ``MWobservationTime`` is the minute into the half hour
  (0-29) of the microwave observation, present only where ``MWprecipSource > 0``.
  ``minutes_since_mw = 30 - MWobservationTime`` is the time from the observation to the end of
  the half hour (1-30 min); it is undefined (NaN) in IR-only cells.
- **Source class** of a map: ``"IR-only"`` when no verified cell has a MW estimate, ``"MW"`` when
  at least half of the verified area has one, ``"partial MW"`` otherwise.
- **Season**: meteorological, from the month of the half hour's start: DJF, MAM, JJA, SON.
- **Rain regime** of the reference over the verified area: ``"dry"`` when less than
  ``dry_fraction`` (1 %) of the area reaches ``wet_rate`` (0.1 mm/h); ``"convective"`` when the
  maximum reaches ``convective_rate`` (10 mm/h) *and* at least ``convective_fraction`` (0.1 %)
  of the area reaches it; ``"stratiform"`` (light / stratiform) otherwise; ``"no data"`` when
  nothing is verified.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError
from xgpm.seasons import SEASONS, season_of
from xgpm.verify import _stats
from xgpm.verify.accumulate import sufficient_statistics

__all__ = [
    "SEASONS",
    "REGIMES",
    "SOURCE_CLASSES",
    "season_of",
    "rain_regime",
    "map_context",
    "bin_labels",
    "stratified_scores",
    "scores_table",
    "plot_scores_by",
    "plot_score_vs",
]

#: Rain regimes of :func:`rain_regime`, from dry to convective.
REGIMES = ("dry", "stratiform", "convective", "no data")
#: Source classes of :func:`map_context`.
SOURCE_CLASSES = ("IR-only", "partial MW", "MW")

_IMERG_VARIABLES = (
    "precipitation",
    "MWprecipSource",
    "MWobservationTime",
    "IRinfluence",
    "precipitationQualityIndex",
)


def rain_regime(
    wet_fraction: Any,
    heavy_fraction: Any,
    max_rate: Any,
    *,
    dry_fraction: float = 0.01,
    convective_rate: float = 10.0,
    convective_fraction: float = 0.001,
) -> np.ndarray:
    """Rain regime from area fractions and the maximum rate (the rule of the module docstring).

    Parameters
    ----------
    wet_fraction : array-like
        Fraction of the verified area with reference ``>= wet_rate`` (NaN: nothing verified).
    heavy_fraction : array-like
        Fraction of the verified area with reference ``>= convective_rate``.
    max_rate : array-like
        Maximum reference rate (mm/h) over the verified area.
    dry_fraction, convective_rate, convective_fraction : float
        Thresholds of the rule.

    Returns
    -------
    numpy.ndarray of str
        ``"dry"``, ``"stratiform"``, ``"convective"`` or ``"no data"``.
    """
    wet = np.asarray(wet_fraction, dtype="float64")
    heavy = np.asarray(heavy_fraction, dtype="float64")
    peak = np.asarray(max_rate, dtype="float64")
    out = np.full(np.broadcast(wet, heavy, peak).shape, "stratiform", dtype=object)
    convective = (peak >= convective_rate) & (heavy >= convective_fraction)
    out[convective] = "convective"
    out[wet < dry_fraction] = "dry"
    out[~np.isfinite(wet)] = "no data"
    return out.astype(str)


def _instrument_of_code() -> dict[int, str]:
    from xgpm import sensors

    table: dict[int, str] = {}
    for name in sensors.names():
        sensor = sensors.get(name)
        if sensor.imerg_source_code:
            table[int(sensor.imerg_source_code)] = str(sensor.instrument)
    return table


def _require_vars(ds: Any, names: Sequence[str], argument: str) -> None:
    if not isinstance(ds, xr.Dataset):
        raise InvalidArgumentError(
            f"{argument}: expected an xarray.Dataset, got {type(ds).__name__}."
        )
    missing = [n for n in names if n not in ds]
    if missing:
        raise InvalidArgumentError(
            f"{argument}: variable(s) {missing} not found (it has {list(ds.data_vars)}); open "
            f"IMERG with xgpm.open_granules(...) without restricting variables."
        )


def map_context(
    imerg_ds: xr.Dataset,
    reference_ds: xr.Dataset | xr.DataArray,
    *,
    spatial_dims: Sequence[Hashable] = ("lat", "lon"),
    wet_rate: float = 0.1,
    dry_fraction: float = 0.01,
    convective_rate: float = 10.0,
    convective_fraction: float = 0.001,
) -> xr.Dataset:
    """Context of each IMERG half hour over the area the reference verifies.

    Parameters
    ----------
    imerg_ds : xarray.Dataset
        IMERG half hours ``(time, lat, lon)`` with ``precipitation``, ``MWprecipSource``,
        ``MWobservationTime``, ``IRinfluence`` and ``precipitationQualityIndex``.
    reference_ds : xarray.Dataset or DataArray
        The reference on the same grid and times (e.g. :func:`xgpm.reference.reference_for`);
        its ``precipitation`` (mm/h) is NaN where nothing was measured.
    spatial_dims : pair of str
        The grid dimensions.
    wet_rate, dry_fraction, convective_rate, convective_fraction : float
        Parameters of the rain-regime rule (see the module docstring).

    Returns
    -------
    xarray.Dataset
        Along ``time`` (in memory): ``n_verified`` (cells), ``mw_fraction``,
        ``ir_only_fraction``, ``source_fraction`` (along ``instrument``), ``dominant_source``
        (instrument covering most of the area, or ``"IR-only"``), ``source_class``,
        ``mw_minute_mean``/``mw_minute_min`` (``MWobservationTime`` over MW cells),
        ``minutes_since_mw_mean``/``minutes_since_mw_min`` (``30 - MWobservationTime``),
        ``ir_influence_mean`` (%), ``quality_mean``, ``quality_q10``, ``quality_q50``,
        ``quality_q90``, ``season``, ``ref_wet_fraction``, ``ref_heavy_fraction``,
        ``ref_max``, ``ref_mean``, ``regime``. Statistics over an empty verified area are NaN.

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Missing variables, or IMERG and reference on different grids or times.
    """
    _require_vars(imerg_ds, _IMERG_VARIABLES, "imerg_ds")
    ref = reference_ds["precipitation"] if isinstance(reference_ds, xr.Dataset) else reference_ds
    if isinstance(reference_ds, xr.Dataset) and "precipitation" not in reference_ds:
        raise InvalidArgumentError("reference_ds: needs a 'precipitation' variable.")
    precip = imerg_ds["precipitation"]
    _stats.check_pair(precip, ref, spatial_dims=spatial_dims, dim="time", mask=None)
    if "time" not in precip.dims:
        raise InvalidArgumentError("imerg_ds: needs a 'time' dimension (stack the half hours).")
    sdims = list(spatial_dims)
    ref = ref.assign_coords({d: precip[d] for d in sdims if d in precip.coords})
    verified = precip.notnull() & ref.notnull()
    n_verified = verified.sum(sdims)
    area = n_verified.where(n_verified > 0)

    def frac(cond: xr.DataArray) -> xr.DataArray:
        return (cond & verified).sum(sdims) / area

    source = imerg_ds["MWprecipSource"].fillna(0)
    has_mw = (source > 0) & verified
    mw_fraction = frac(source > 0)

    table = _instrument_of_code()
    instruments = sorted(set(table.values())) + ["other"]
    per_instrument = []
    for instrument in instruments:
        if instrument == "other":
            cond = (source > 0) & ~source.isin(list(table))
        else:
            cond = source.isin([c for c, i in table.items() if i == instrument])
        per_instrument.append(frac(cond))
    source_fraction = xr.concat(per_instrument, dim=pd.Index(instruments, name="instrument"))

    minute = imerg_ds["MWobservationTime"].where(has_mw)
    quality = imerg_ds["precipitationQualityIndex"].where(verified)
    stacked_quality = quality.stack(_cell=sdims)
    with warnings.catch_warnings():  # numpy input computes here; all-NaN maps are NaN by design
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        quantiles = stacked_quality.quantile([0.1, 0.5, 0.9], dim="_cell", skipna=True)
    ref_verified = ref.where(verified)
    out = xr.Dataset(
        {
            "n_verified": n_verified,
            "mw_fraction": mw_fraction,
            "ir_only_fraction": 1.0 - mw_fraction,
            "source_fraction": source_fraction,
            "mw_minute_mean": minute.mean(sdims),
            "mw_minute_min": minute.min(sdims),
            "minutes_since_mw_mean": (30.0 - minute).mean(sdims),
            "minutes_since_mw_min": (30.0 - minute).min(sdims),
            "ir_influence_mean": imerg_ds["IRinfluence"].where(verified).mean(sdims),
            "quality_mean": quality.mean(sdims),
            "quality_q10": quantiles.sel(quantile=0.1, drop=True),
            "quality_q50": quantiles.sel(quantile=0.5, drop=True),
            "quality_q90": quantiles.sel(quantile=0.9, drop=True),
            "ref_wet_fraction": frac(ref >= wet_rate),
            "ref_heavy_fraction": frac(ref >= convective_rate),
            "ref_max": ref_verified.max(sdims),
            "ref_mean": ref_verified.mean(sdims),
        }
    )
    with warnings.catch_warnings():  # an all-NaN map (nothing verified) is NaN by design
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        out = out.compute()
    out = out.drop_vars([c for c in out.coords if c not in ("time", "instrument")])
    fractions = out["source_fraction"].values
    best = np.argmax(np.nan_to_num(fractions, nan=-1.0), axis=0)
    dominant = np.array(instruments, dtype=object)[best]
    mw = out["mw_fraction"].values
    dominant[~(mw > 0)] = "IR-only"
    source_class = np.where(mw >= 0.5, "MW", np.where(mw > 0, "partial MW", "IR-only"))
    source_class = np.where(np.isfinite(mw), source_class, "no data")
    out["dominant_source"] = ("time", dominant.astype(str))
    out["source_class"] = ("time", source_class.astype(str))
    out["season"] = ("time", season_of(out["time"].values))
    out["regime"] = (
        "time",
        rain_regime(
            out["ref_wet_fraction"].values,
            out["ref_heavy_fraction"].values,
            out["ref_max"].values,
            dry_fraction=dry_fraction,
            convective_rate=convective_rate,
            convective_fraction=convective_fraction,
        ),
    )
    out.attrs["conventions"] = (
        "verified area = IMERG and reference both finite; MW = MWprecipSource > 0; "
        "minutes_since_mw = 30 - MWobservationTime (minutes into the half hour); "
        f"regime: dry if area fraction >= {wet_rate} mm/h < {dry_fraction}, convective if "
        f"max >= {convective_rate} mm/h and area fraction >= {convective_rate} mm/h >= "
        f"{convective_fraction}, else stratiform"
    )
    return out


def bin_labels(
    values: xr.DataArray, edges: Sequence[float], *, name: str | None = None
) -> xr.DataArray:
    """Interval labels (``"[0.2, 0.4)"``) of each value, for stratifying by a continuous field.

    Values outside ``[edges[0], edges[-1]]`` or NaN get an empty label and are left out by
    :func:`stratified_scores`. The last bin is closed on the right.
    """
    edges_arr = np.asarray(edges, dtype="float64")
    if edges_arr.ndim != 1 or edges_arr.size < 2 or not np.all(np.diff(edges_arr) > 0):
        raise InvalidArgumentError(f"edges: need >= 2 increasing values, got {list(edges)!r}.")
    v = np.asarray(values, dtype="float64")
    idx = np.searchsorted(edges_arr, v, side="right") - 1
    idx = np.where(v == edges_arr[-1], edges_arr.size - 2, idx)
    names = [
        f"[{lo:g}, {hi:g}{']' if i == edges_arr.size - 2 else ')'}"
        for i, (lo, hi) in enumerate(zip(edges_arr[:-1], edges_arr[1:], strict=True))
    ]
    ok = np.isfinite(v) & (idx >= 0) & (idx < edges_arr.size - 1)
    labels = np.where(ok, np.array(names, dtype=object)[np.clip(idx, 0, len(names) - 1)], "")
    out = xr.DataArray(labels.astype(str), dims=values.dims, coords=values.coords)
    out.name = name or (f"{values.name}_bin" if values.name else "bin")
    out.attrs["categories"] = names
    return out


_KNOWN_ORDERS = (SEASONS, REGIMES, SOURCE_CLASSES)


def _categories(labels: np.ndarray, declared: Sequence[str] | None) -> list:
    present = [v for v in pd.unique(labels) if not _missing(v)]
    if declared is not None:
        return list(declared)
    for order in _KNOWN_ORDERS:
        if set(present) <= set(order):
            return [c for c in order if c in present]
    return sorted(present, key=lambda v: (str(type(v)), v))


def _missing(value: Any) -> bool:
    if value is None or (isinstance(value, str) and value == ""):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _check_by(by: Any, key: str, dim: Hashable, times: xr.DataArray | None) -> np.ndarray:
    if not isinstance(by, xr.DataArray):
        raise InvalidArgumentError(
            f"by[{key!r}]: expected an xarray.DataArray of labels along {dim!r}, got "
            f"{type(by).__name__}."
        )
    if by.dims != (dim,):
        raise InvalidArgumentError(
            f"by[{key!r}]: labels must be 1-D along {dim!r} (one category per map), got dims "
            f"{by.dims}."
        )
    if times is not None:
        if by.sizes[dim] != times.size:
            raise InvalidArgumentError(
                f"by[{key!r}]: {by.sizes[dim]} labels for {times.size} maps along {dim!r}."
            )
        if dim in by.coords and not np.array_equal(by[dim].values, times.values):
            raise InvalidArgumentError(
                f"by[{key!r}]: its {dim!r} labels differ from the forecast's; select the same "
                f"maps (e.g. by.sel({dim}=forecast.{dim}))."
            )
    return np.asarray(by.values)


def stratified_scores(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    by: xr.DataArray | Mapping[str, xr.DataArray],
    *,
    thresholds: float | Iterable[float] = (0.1, 1.0, 10.0),
    scales: int | Iterable[int] = (1, 3, 5, 11),
    metrics: Iterable[str] | str | None = None,
    dim: Hashable = "time",
    spatial_dims: Sequence[Hashable] = ("lat", "lon"),
    mask: xr.DataArray | None = None,
    smape_threshold: float = 0.1,
) -> xr.Dataset:
    """Pooled scores per category of maps: one ``groupby(...).sum()`` of sufficient statistics.

    Parameters
    ----------
    forecast, reference : xarray.DataArray
        As in :func:`xgpm.verify.score` (``(dim, *spatial_dims)``).
    by : xarray.DataArray or dict of str to DataArray
        Category label of each map, 1-D along ``dim`` (e.g. ``context["season"]``). A dict
        groups by every combination of its labels; each key becomes a dimension. Empty-string
        or NaN labels leave a map out. The category order is the known one for seasons,
        regimes and source classes, the ``attrs["categories"]`` of :func:`bin_labels`, sorted
        otherwise.
    thresholds, scales, metrics, spatial_dims, mask, smape_threshold
        As in :func:`xgpm.verify.score` (``spearman_r`` cannot be pooled and is refused).
    dim : str
        The dimension of the maps.

    Returns
    -------
    xarray.Dataset
        ``n_maps``, ``n_valid`` and one variable per metric along the category dimension(s)
        (named after the DataArray, ``"category"`` if unnamed, or the dict keys), plus
        ``threshold``/``scale``. A category without valid pairs scores NaN. Each category's
        values equal ``xgpm.verify.score`` on its maps alone, pooled.

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Labels not 1-D along ``dim`` or not matching the maps, bad metrics or inputs.
    """
    metrics = _stats.resolve_metrics(metrics)
    if "spearman_r" in metrics:
        if metrics == _stats.ALL_METRICS:
            metrics = tuple(m for m in metrics if m not in _stats.PER_MAP_ONLY_METRICS)
        else:
            raise InvalidArgumentError(
                "metrics: spearman_r cannot be pooled from sums (ranks do not merge)."
            )
    if isinstance(by, xr.DataArray):
        groupings = {str(by.name) if by.name is not None else "category": by}
    elif isinstance(by, Mapping) and by:
        groupings = {str(k): v for k, v in by.items()}
    else:
        raise InvalidArgumentError(
            f"by: expected a DataArray of labels or a non-empty dict of them, got {by!r}."
        )
    if dim not in forecast.dims:
        raise InvalidArgumentError(f"forecast: has no {dim!r} dimension to stratify along.")
    times = forecast[dim] if dim in forecast.coords else None
    label_arrays = {}
    for key, labels in groupings.items():
        arr = _check_by(labels, key, dim, times)
        if arr.shape[0] != forecast.sizes[dim]:
            raise InvalidArgumentError(
                f"by[{key!r}]: {arr.shape[0]} labels for {forecast.sizes[dim]} maps."
            )
        label_arrays[key] = arr
    stats = sufficient_statistics(
        forecast,
        reference,
        thresholds=thresholds,
        scales=scales,
        metrics=metrics,
        spatial_dims=spatial_dims,
        mask=mask,
        smape_threshold=smape_threshold,
    )
    stats = stats.drop_vars([v for v in _stats.PER_MAP_ONLY_METRICS if v in stats])
    stats = stats.drop_vars([c for c in stats.coords if dim in stats[c].dims])
    stats["n_maps"] = xr.ones_like(stats["n_valid"], dtype="int64")

    categories, codes = {}, []
    for key, arr in label_arrays.items():
        cats = _categories(arr, groupings[key].attrs.get("categories"))
        lookup = {c: i for i, c in enumerate(cats)}
        codes.append(np.array([lookup.get(v, -1) if not _missing(v) else -1 for v in arr]))
        categories[key] = cats
    shape = tuple(len(c) for c in categories.values())
    keep = np.all([c >= 0 for c in codes], axis=0)
    if not keep.any():
        raise InvalidArgumentError("by: every map has a missing label; nothing to stratify.")
    combined = np.full(keep.shape, -1)
    combined[keep] = np.ravel_multi_index([c[keep] for c in codes], shape)
    group = xr.DataArray(combined[keep], dims=(dim,), name="_group")
    summed = stats.isel({dim: np.flatnonzero(keep)}).groupby(group).sum(dim)
    summed = summed.reindex(_group=np.arange(int(np.prod(shape))), fill_value=0)
    index = pd.MultiIndex.from_product(list(categories.values()), names=list(categories))
    summed = summed.drop_vars("_group")
    if len(categories) == 1:
        (key,) = categories
        summed = summed.rename({"_group": key}).assign_coords({key: categories[key]})
    else:
        summed = summed.assign_coords(
            xr.Coordinates.from_pandas_multiindex(index, "_group")
        ).unstack("_group")
        summed = summed.reindex({k: list(v) for k, v in categories.items()})
    out = _stats.finalize(summed, metrics)
    out["n_maps"] = summed["n_maps"]
    out = out.drop_vars([c for c in out.coords if not out[c].dims])
    out = out.transpose(*categories, ...)
    out.attrs["conventions"] = (
        "scores of each category = scores of the sums of the per-map sufficient statistics of "
        "its maps (pooled); event = value >= threshold; FSS zero padding (see xgpm.verify)"
    )
    return out


def scores_table(
    strat: xr.Dataset,
    *,
    threshold: float = 1.0,
    fss_threshold: float | None = None,
    scale: int = 5,
    metrics: Sequence[str] = ("csi", "pod", "far", "frequency_bias", "fss"),
) -> pd.DataFrame:
    """A pandas table of :func:`stratified_scores` at one threshold (and FSS window).

    Parameters
    ----------
    strat : xarray.Dataset
        Output of :func:`stratified_scores` (or of :func:`xgpm.verify.score`'s per-map part).
    threshold : float
        Threshold of the categorical scores.
    fss_threshold : float, optional
        Threshold of the FSS column (default: ``threshold``).
    scale : int
        FSS window width in cells.
    metrics : sequence of str
        Columns (those absent from ``strat`` are skipped).
    """
    fss_threshold = threshold if fss_threshold is None else fss_threshold
    columns: dict[str, xr.DataArray] = {}
    for name in ("n_maps", "n_valid"):
        if name in strat:
            columns[name] = strat[name]
    for metric in metrics:
        if metric not in strat:
            continue
        da = strat[metric]
        try:
            if metric in ("fss", "fss_useful_scale"):
                da = da.sel(threshold=fss_threshold)
                label = f"{metric}@{fss_threshold:g}"
                if "scale" in da.dims:
                    da = da.sel(scale=scale)
                    label += f",{scale}"
            elif "threshold" in da.dims:
                da = da.sel(threshold=threshold)
                label = f"{metric}@{threshold:g}"
            else:
                label = metric
        except KeyError:
            raise InvalidArgumentError(
                f"scores_table: threshold {threshold} / scale {scale} not in the scores "
                f"(thresholds {list(strat['threshold'].values)})."
            ) from None
        columns[label] = da
    table = xr.Dataset(
        {k: v.drop_vars([c for c in v.coords if c not in v.dims]) for k, v in columns.items()}
    )
    return table.to_dataframe()


def _save(fig: Any, path: str | os.PathLike | None) -> None:
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")


def plot_scores_by(
    strat: xr.Dataset,
    *,
    threshold: float = 1.0,
    fss_threshold: float | None = None,
    scale: int = 5,
    metrics: Sequence[str] = ("csi", "pod", "far", "fss"),
    title: str | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Bars of CSI, POD, FAR and FSS by category; saved as PNG if ``path`` is given.

    Returns the matplotlib Figure (the Agg backend works headless).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    table = scores_table(
        strat, threshold=threshold, fss_threshold=fss_threshold, scale=scale, metrics=metrics
    )
    columns = [c for c in table.columns if c not in ("n_maps", "n_valid")]
    labels = [" / ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in table.index]
    if "n_maps" in table:
        labels = [f"{lab}\n(n={int(n)})" for lab, n in zip(labels, table["n_maps"], strict=True)]
    x = np.arange(len(labels))
    width = 0.8 / max(len(columns), 1)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(labels) + 2), 3.6))
    for i, column in enumerate(columns):
        ax.bar(x + (i - (len(columns) - 1) / 2) * width, table[column].values, width, label=column)
    ax.set_xticks(x, labels)
    top = np.nanmax(table[columns].to_numpy(dtype="float64"), initial=0.0)
    ax.set_ylim(0, max(1.0, 1.05 * top))
    ax.set_ylabel("score")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        fontsize=8, ncols=min(len(columns), 4), loc="upper center", bbox_to_anchor=(0.5, -0.2)
    )
    ax.set_title(title or f"Pooled scores by {', '.join(map(str, table.index.names))}")
    fig.tight_layout()
    _save(fig, path)
    return fig


def plot_score_vs(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    bins: int | Sequence[float] = 8,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Scatter of a per-map score against a context field, with the binned mean (and IQR).

    Parameters
    ----------
    x, y : xarray.DataArray
        1-D along the same maps (e.g. ``context["quality_mean"]``, ``scores["csi"].sel(
        threshold=1.0)``); pairs with a NaN are left out.
    bins : int or sequence of float
        Number of equal-width bins over the range of ``x``, or bin edges.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    xv = np.asarray(x, dtype="float64").ravel()
    yv = np.asarray(y, dtype="float64").ravel()
    if xv.shape != yv.shape:
        raise InvalidArgumentError(f"x and y: different sizes ({xv.size} vs {yv.size}).")
    ok = np.isfinite(xv) & np.isfinite(yv)
    if not ok.any():
        raise InvalidArgumentError("x and y: no map with both values finite.")
    xv, yv = xv[ok], yv[ok]
    edges = (
        np.linspace(xv.min(), xv.max() + 1e-12, int(bins) + 1)
        if np.isscalar(bins)
        else np.asarray(bins, dtype="float64")
    )
    idx = np.clip(np.searchsorted(edges, xv, side="right") - 1, 0, edges.size - 2)
    centres, means, q25, q75 = [], [], [], []
    for b in range(edges.size - 1):
        sel = yv[idx == b]
        if sel.size:
            centres.append(0.5 * (edges[b] + edges[b + 1]))
            means.append(sel.mean())
            q25.append(np.percentile(sel, 25))
            q75.append(np.percentile(sel, 75))
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    ax.scatter(xv, yv, s=8, alpha=0.4, color="0.4", label=f"maps (n={xv.size})")
    ax.fill_between(centres, q25, q75, color="C0", alpha=0.2, label="binned IQR")
    ax.plot(centres, means, "o-", color="C0", label="binned mean")
    r = np.corrcoef(xv, yv)[0, 1] if xv.size > 2 and xv.std() > 0 and yv.std() > 0 else np.nan
    ax.set_xlabel(xlabel or str(x.name))
    ax.set_ylabel(ylabel or str(y.name))
    ax.set_title(title or f"{ax.get_ylabel()} vs {ax.get_xlabel()} (r = {r:.2f})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return fig
