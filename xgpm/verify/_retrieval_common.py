"""Constants and argument checks of the retrieval evaluation (:mod:`xgpm.verify.retrieval`)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError
from xgpm.verify import _stats

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


def _plot_axes(
    ax: Any, figsize: tuple[float, float], labels: Sequence[str] | None, n: int, what: str
) -> tuple[Any, Any]:
    """Check ``labels`` (one per plotted item) and return the (figure, axes) to draw on.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Axes to draw on; None: a new figure of ``figsize`` (matplotlib's Agg backend unless
        one is chosen already, so that it works headless).
    figsize : (float, float)
        Size of a new figure, inches.
    labels : sequence of str or None
        Legend entries.
    n : int
        Number of plotted items.
    what : str
        The items in the error message: ``"results"`` or ``"spectra"`` with ``"result"`` or
        ``"spectrum"`` after a slash (``"results/result"``).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib Axes)

    Raises
    ------
    InvalidArgumentError
        ``labels`` does not give one entry per item.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if labels is not None and len(labels) != n:
        plural, singular = what.split("/")
        raise InvalidArgumentError(
            f"labels: {len(labels)} labels for {n} {plural}; give one per {singular}."
        )
    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def _finish_figure(fig: Any, path: Any) -> Any:
    """Tighten the layout of ``fig``, save it as PNG when ``path`` is given, and return it."""
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
