"""A rain retrieval against a reference, with SatRain's metric set (also ``xgpm.evaluate``).

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

from xgpm.errors import InvalidArgumentError, NoValidPairsError
from xgpm.verify import _stats
from xgpm.verify._retrieval_common import (
    _ATTRS,
    _CATEGORICAL,
    _CONTINUOUS,
    _NICE_TICKS,
    COHERENCE_THRESHOLD,
    SATRAIN_METRICS,
    _check_inputs,
    _check_threshold,
    _finish_figure,
    _is_lazy,
    _plot_axes,
    _reduce_dims,
    _strict,
)
from xgpm.verify.calibration import (
    plot_quantile_calibration,
    quantile_calibration,
)
from xgpm.verify.resolution import (
    coherence_spectrum,
    effective_resolution,
)

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
    spectra = [spectrum] if isinstance(spectrum, xr.DataArray) else list(spectrum)
    if not spectra or not all(
        isinstance(s, xr.DataArray) and "scale_km" in s.coords for s in spectra
    ):
        raise InvalidArgumentError(
            "spectrum: expected coherence spectra from coherence_spectrum()/effective_resolution()."
        )
    fig, ax = _plot_axes(ax, (6.0, 4.2), labels, len(spectra), "spectra/spectrum")
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
    return _finish_figure(fig, path)


# --------------------------------------------------------------------------------------------
