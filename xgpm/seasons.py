"""Meteorological seasons (DJF, MAM, JJA, SON): one definition for the whole package."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = ["SEASONS", "season_index", "season_of"]

#: Meteorological seasons of the calendar month, in calendar order (not hemisphere-flipped).
SEASONS: tuple[str, ...] = ("DJF", "MAM", "JJA", "SON")


def season_index(month: Any) -> np.ndarray:
    """Index into :data:`SEASONS` of calendar months 1-12 (December goes with January).

    Float input (months of times that may be NaT) gives floats, NaN staying NaN.

    Examples
    --------
    >>> season_index([1, 3, 8, 12]).tolist()
    [0, 1, 2, 0]
    """
    return (np.asarray(month) % 12) // 3


def season_of(time: Any) -> xr.DataArray | np.ndarray:
    """Meteorological season (``"DJF"``, ``"MAM"``, ``"JJA"``, ``"SON"``) of each time.

    Parameters
    ----------
    time : xarray.DataArray or array-like of datetime64
        Times (e.g. ``ds["time"]``).

    Returns
    -------
    xarray.DataArray or numpy.ndarray
        Same shape (a DataArray named ``season`` for DataArray input), dtype str.
    """
    try:
        months = pd.DatetimeIndex(np.ravel(np.asarray(time, dtype="datetime64[ns]"))).month
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"time: expected datetime64 values ({err}).") from None
    labels = np.asarray(SEASONS)[season_index(months.to_numpy())]
    labels = labels.astype(str).reshape(np.shape(time))
    if isinstance(time, xr.DataArray):
        return xr.DataArray(labels, dims=time.dims, coords=time.coords, name="season")
    return labels
