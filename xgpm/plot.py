"""Plots of swaths and grids (matplotlib, imported on first use)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, UnknownChannelError

__all__ = ["plot_swath"]

_TB_CMAP = "Spectral_r"


def plot_swath(
    obj: xr.Dataset | xr.DataArray,
    variable: str | None = None,
    *,
    channel: str | None = None,
    ax: Any = None,
    cmap: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    add_colorbar: bool = True,
    **kwargs: Any,
):
    """Plot a swath variable on longitude/latitude with ``pcolormesh``.

    Parameters
    ----------
    obj : Dataset or DataArray
        Orbit data with ``lon``/``lat`` coordinates over ``(cross_track, along_track)``.
    variable : str, optional
        Variable of a Dataset; ``"Tc"`` by default when present.
    channel : str, optional
        Channel label for variables with a ``pmw_frequency`` dim (the first one by default).
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    cmap, vmin, vmax, add_colorbar, **kwargs
        Passed to ``pcolormesh``.

    Returns
    -------
    matplotlib.collections.QuadMesh
        The mesh (its ``axes`` and ``figure`` attributes give the rest).
    """
    import matplotlib.pyplot as plt

    if isinstance(obj, xr.Dataset):
        if variable is None:
            variable = "Tc" if "Tc" in obj else next(iter(obj.data_vars), None)
        if variable not in obj:
            raise InvalidArgumentError(
                f"variable {variable!r} is not in the dataset; variables: {list(obj.data_vars)}"
            )
        da = obj[variable]
    else:
        da = obj
    if "lon" not in da.coords or "lat" not in da.coords:
        raise InvalidArgumentError("plot_swath needs 'lon' and 'lat' coordinates")
    if "pmw_frequency" in da.dims:
        labels = [str(v) for v in da["pmw_frequency"].values]
        channel = channel or labels[0]
        if channel not in labels:
            raise UnknownChannelError(f"channel {channel!r} not in {labels}")
        da = da.sel(pmw_frequency=channel)
    extra = [d for d in da.dims if d not in ("cross_track", "along_track")]
    if extra:
        raise InvalidArgumentError(
            f"plot_swath draws 2-D fields; select along {extra} first (e.g. .isel({extra[0]}=0))"
        )
    da = da.transpose("cross_track", "along_track").compute()
    lon = np.asarray(da["lon"].values, dtype=float)
    lat = np.asarray(da["lat"].values, dtype=float)
    if np.nanmax(lon) - np.nanmin(lon) > 180:  # crosses the antimeridian: plot in 0..360
        lon = np.where(lon < 0, lon + 360.0, lon)
    values = np.ma.masked_invalid(np.asarray(da.values, dtype=float))
    invalid = ~np.isfinite(lon) | ~np.isfinite(lat)
    if invalid.any():  # pcolormesh refuses NaN coordinates: mask those cells instead
        values = np.ma.masked_where(invalid, values)
        lon = np.where(invalid, np.nanmean(lon), lon)
        lat = np.where(invalid, np.nanmean(lat), lat)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    if cmap is None:
        cmap = _TB_CMAP if da.attrs.get("units") == "K" else "viridis"
    import warnings

    with warnings.catch_warnings():
        # a swath's lon/lat are curvilinear: matplotlib warns that they are not monotonic
        warnings.filterwarnings("ignore", message="The input coordinates to pcolormesh")
        mesh = ax.pcolormesh(
            lon, lat, values, cmap=cmap, vmin=vmin, vmax=vmax, shading="auto", **kwargs
        )
    finite = np.isfinite(np.ma.filled(values, np.nan))
    if finite.any():  # frame the data, not the (often fill-valued) rest of the swath
        margin = 0.5
        ax.set_xlim(lon[finite].min() - margin, lon[finite].max() + margin)
        ax.set_ylim(lat[finite].min() - margin, lat[finite].max() + margin)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    title = da.name or ""
    if channel:
        title = f"{title} {channel}"
    product = obj.attrs.get("gpm_api_product")
    ax.set_title(f"{product + ' ' if product else ''}{title}".strip())
    if add_colorbar:
        units = da.attrs.get("units", "")
        ax.figure.colorbar(mesh, ax=ax, label=f"{da.name or ''} ({units})" if units else None)
    return mesh
