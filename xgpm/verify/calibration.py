"""Calibration of predicted rain quantiles: interval rule and randomized PIT.

Rain is a distribution with an atom at zero; :func:`quantile_calibration` scores predicted
quantiles with the randomized PIT of Czado, Gneiting & Held (2009). Public through
:mod:`xgpm.verify.retrieval` (and ``xgpm.evaluate``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, InvalidDataError, NoValidPairsError
from xgpm.verify._retrieval_common import (
    _check_threshold,
    _finish_figure,
    _plot_axes,
)


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
    results = [calibration] if isinstance(calibration, xr.Dataset) else list(calibration)
    if not results or not all(
        isinstance(r, xr.Dataset) and "randomized_coverage" in r for r in results
    ):
        raise InvalidArgumentError(
            "calibration: expected Dataset(s) returned by quantile_calibration()."
        )
    fig, ax = _plot_axes(ax, (5.0, 4.6), labels, len(results), "results/result")
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
    return _finish_figure(fig, path)
