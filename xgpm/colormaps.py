"""Colour maps and normalisations for brightness temperatures and rain rates.

Brightness temperatures (K) use a perceptually ordered map (``inferno``: dark = cold, which at
high frequencies is where ice scatters, bright = warm), so equal steps in kelvin look like
equal steps in colour and the map survives greyscale printing and colour-vision deficiency.

Rain rates span three decades, so they are drawn on fixed, roughly logarithmic levels
(:data:`RAIN_LEVELS`, mm/h) with a :class:`matplotlib.colors.BoundaryNorm`; values below the
first level (0.1 mm/h, "no rain") and missing values are transparent, so a background map or
a neighbouring swath shows through.

matplotlib is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "RAIN_LEVELS",
    "RAIN_THRESHOLD",
    "RAIN_UNITS",
    "TB_CMAP",
    "is_precipitation",
    "rain_cmap",
    "rain_levels",
    "rain_norm",
    "tb_cmap",
]

#: Default boundaries of the rain colour scale (mm/h); roughly 1-2-5 steps per decade.
RAIN_LEVELS: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: Below this rate (mm/h) a pixel counts as dry and is drawn transparent.
RAIN_THRESHOLD: float = 0.1
#: ``units`` attributes that mark a rain-rate variable (compared case- and space-insensitively).
RAIN_UNITS: frozenset[str] = frozenset({"mm/h", "mm/hr", "mmh-1", "mmhr-1", "mmh**-1", "mm/hour"})
#: Name of the default (matplotlib) colour map for brightness temperatures.
TB_CMAP: str = "inferno"

# Light blue through green, yellow and red to purple: the familiar radar-rain progression,
# ordered in lightness from the first to the fifth colour so that light rain stays light.
_RAIN_COLOURS: tuple[str, ...] = (
    "#c6dbef",
    "#6baed6",
    "#2171b5",
    "#41ab5d",
    "#addd8e",
    "#fee391",
    "#fd8d3c",
    "#e31a1c",
    "#800026",
    "#7a0177",
)


def is_precipitation(units: Any) -> bool:
    """Whether a ``units`` attribute denotes a rain rate (``mm/h``, ``mm/hr``, ``mm h-1`` ...).

    Parameters
    ----------
    units : object
        The ``units`` attribute (anything; non-strings give False).

    Returns
    -------
    bool
    """
    if not isinstance(units, str):
        return False
    return units.replace(" ", "").lower() in RAIN_UNITS


def tb_cmap(name: str | None = None):
    """The brightness-temperature colour map, missing values transparent.

    Parameters
    ----------
    name : str, optional
        A matplotlib colour map name; :data:`TB_CMAP` by default.

    Returns
    -------
    matplotlib.colors.Colormap
        A copy (changing it does not change matplotlib's registered map).
    """
    import matplotlib

    cmap = matplotlib.colormaps[name or TB_CMAP].copy()
    cmap.set_bad((0.0, 0.0, 0.0, 0.0))
    return cmap


def rain_cmap():
    """The rain-rate colour map: transparent below the first level and where missing.

    Returns
    -------
    matplotlib.colors.LinearSegmentedColormap
        Colours for values above the top level are the last colour (``extend="max"``).
    """
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("xgpm_rain", list(_RAIN_COLOURS[:-1]), N=256)
    cmap.set_under((0.0, 0.0, 0.0, 0.0))
    cmap.set_bad((0.0, 0.0, 0.0, 0.0))
    cmap.set_over(_RAIN_COLOURS[-1])
    return cmap


def rain_levels(vmin: float | None = None, vmax: float | None = None) -> list[float]:
    """:data:`RAIN_LEVELS` restricted to ``[vmin, vmax]`` (both kept as end levels).

    ``vmin`` below :data:`RAIN_THRESHOLD` (e.g. 0) means the threshold: dry pixels stay
    transparent whatever the range.
    """
    low = RAIN_THRESHOLD if vmin is None else max(float(vmin), RAIN_THRESHOLD)
    high = RAIN_LEVELS[-1] if vmax is None else float(vmax)
    if not high > low:
        from xgpm.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"rain colour scale needs vmax > vmin >= {RAIN_THRESHOLD} mm/h; got vmin={vmin}, "
            f"vmax={vmax}"
        )
    inner = [level for level in RAIN_LEVELS if low < level < high]
    return [low, *inner, high]


def rain_norm(levels: Sequence[float] | None = None, *, ncolors: int = 256):
    """The rain-rate normalisation: a :class:`~matplotlib.colors.BoundaryNorm` on ``levels``.

    Parameters
    ----------
    levels : sequence of float, optional
        Increasing boundaries in mm/h; :data:`RAIN_LEVELS` by default.
    ncolors : int
        Number of colours of the colour map it is used with (256 for :func:`rain_cmap`).

    Returns
    -------
    matplotlib.colors.BoundaryNorm
        With ``extend="max"``: rates above the top level get the colour map's "over" colour.
    """
    from matplotlib.colors import BoundaryNorm

    from xgpm.errors import InvalidArgumentError

    bounds = np.asarray(RAIN_LEVELS if levels is None else levels, dtype=float)
    if bounds.ndim != 1 or bounds.size < 2 or np.any(np.diff(bounds) <= 0):
        raise InvalidArgumentError(
            f"levels must be at least two increasing rain rates (mm/h); got {list(bounds)}"
        )
    return BoundaryNorm(bounds, ncolors=ncolors, extend="max")
