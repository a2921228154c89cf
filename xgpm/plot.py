"""Plots of swaths and grids (matplotlib and, when installed, cartopy; imported on first use).

* :func:`plot_swath` draws one swath variable on plain longitude/latitude axes.
* :func:`plot_map` draws a swath, a ``(lat, lon)`` grid, a ``(time, lat, lon)`` grid at one
  time, or a projected grid with 2-D ``lon``/``lat`` coordinates (e.g. a radar composite) on a
  map: cartopy's Plate Carree axes when cartopy is installed, plain lon/lat axes otherwise,
  with coastlines either way (see below).
* :func:`plot_compare` puts several such fields side by side on one shared colour scale.

Brightness temperatures (``units="K"``) use :data:`xgpm.colormaps.TB_CMAP`; rain rates
(``units`` ``mm/h`` or ``mm/hr``) use fixed, log-spaced levels with dry pixels (< 0.1 mm/h)
transparent (:mod:`xgpm.colormaps`).

Coastlines never trigger a download: Natural Earth's from cartopy when its shapefile is
already on disk, otherwise a contour of the 1 km land mask that xgpm ships with
(``global-land-mask``, the same mask the simulator uses).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.colormaps import (
    RAIN_THRESHOLD,
    is_precipitation,
    rain_cmap,
    rain_levels,
    rain_norm,
    tb_cmap,
)
from xgpm.errors import InvalidArgumentError, UnknownChannelError

__all__ = ["plot_swath", "plot_map", "plot_compare", "cartopy_available"]

_SWATH_DIMS = ("cross_track", "along_track")


# ----------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------


def _pick_variable(obj: xr.Dataset | xr.DataArray, variable: str | None) -> xr.DataArray:
    if isinstance(obj, xr.DataArray):
        return obj
    if not isinstance(obj, xr.Dataset):
        raise InvalidArgumentError(
            f"expected an xarray Dataset or DataArray to plot; got {type(obj).__name__}"
        )
    if variable is None:
        for default in ("Tc", "precipitation"):
            if default in obj.data_vars:
                variable = default
                break
        else:
            if len(obj.data_vars) != 1:
                raise InvalidArgumentError(
                    f"say which variable to plot: variable=... (one of {list(obj.data_vars)})"
                )
            variable = next(iter(obj.data_vars))
    if variable not in obj.data_vars:
        raise InvalidArgumentError(
            f"variable {variable!r} is not in the dataset; variables: {list(obj.data_vars)}"
        )
    return obj[variable]


def _pick_channel(da: xr.DataArray, channel: str | None) -> tuple[xr.DataArray, str | None]:
    if "pmw_frequency" not in da.dims:
        return da, None
    labels = [str(v) for v in da["pmw_frequency"].values]
    channel = channel or labels[0]
    if channel not in labels:
        raise UnknownChannelError(f"channel {channel!r} not in {labels}")
    return da.sel(pmw_frequency=channel), channel


def _pick_time(da: xr.DataArray, time: Any) -> xr.DataArray:
    """One time step of a ``(time, ...)`` grid: by position (int) or by date (nearest)."""
    if "time" not in da.dims:
        if time is not None:
            raise InvalidArgumentError(
                f"time={time!r} given but {da.name!r} has no 'time' dimension (dims {da.dims})"
            )
        return da
    times = da["time"].values
    if time is None:
        if da.sizes["time"] != 1:
            raise InvalidArgumentError(
                f"{da.name!r} has {da.sizes['time']} time steps ({times[0]} .. {times[-1]}): "
                "choose one with time=<date or index>"
            )
        return da.isel(time=0)
    if isinstance(time, (int, np.integer)) and not isinstance(time, bool):
        if not -len(times) <= time < len(times):
            raise InvalidArgumentError(
                f"time index {time} out of range for {len(times)} time steps"
            )
        return da.isel(time=int(time))
    try:
        wanted = np.datetime64(pd.Timestamp(time), "ns")
    except (ValueError, TypeError) as err:
        raise InvalidArgumentError(
            f"time={time!r} is neither an index nor a date (e.g. '2021-06-15T05:00')"
        ) from err
    stamps = times.astype("datetime64[ns]")
    nearest = int(np.argmin(np.abs(stamps - wanted)))
    # accept the nearest step within half a step (a whole day for a single step)
    step = np.median(np.diff(stamps)) if len(stamps) > 1 else np.timedelta64(1, "D")
    if np.abs(stamps[nearest] - wanted) > step / 2:
        raise InvalidArgumentError(
            f"time={time!r} is outside {da.name!r}'s time steps ({stamps[0]} .. {stamps[-1]})"
        )
    return da.isel(time=nearest)


def _geometry(da: xr.DataArray, func: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lon, lat, values)`` ready for pcolormesh: 1-D axes for a grid, 2-D otherwise."""
    extra_hint = "select along it first (e.g. .isel({d}=0))"
    if "lat" in da.dims and "lon" in da.dims:
        extra = [d for d in da.dims if d not in ("lat", "lon")]
        if extra:
            raise InvalidArgumentError(
                f"{func} draws 2-D fields; {da.name!r} also has {extra}: "
                + extra_hint.format(d=extra[0])
            )
        da = da.transpose("lat", "lon").compute()
        lon = np.asarray(da["lon"].values, dtype=float)
        lat = np.asarray(da["lat"].values, dtype=float)
        return lon, lat, np.asarray(da.values, dtype=float)
    if "lon" not in da.coords or "lat" not in da.coords:
        raise InvalidArgumentError(
            f"{func} needs 'lon' and 'lat' coordinates (or 'lat'/'lon' dimensions); "
            f"{da.name!r} has coords {list(da.coords)}"
        )
    coord_dims = da["lon"].dims
    if len(coord_dims) != 2 or da["lat"].dims != coord_dims:
        raise InvalidArgumentError(
            f"{func}: 'lon'/'lat' must be 2-D on the same dims; got {da['lon'].dims}, "
            f"{da['lat'].dims}"
        )
    extra = [d for d in da.dims if d not in coord_dims]
    if extra:
        raise InvalidArgumentError(
            f"{func} draws 2-D fields; {da.name!r} also has {extra}: "
            + extra_hint.format(d=extra[0])
        )
    da = da.transpose(*coord_dims).compute()
    lon = np.asarray(da["lon"].values, dtype=float)
    lat = np.asarray(da["lat"].values, dtype=float)
    return lon, lat, np.asarray(da.values, dtype=float)


def _clean_curvilinear(
    lon: np.ndarray, lat: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ma.MaskedArray]:
    """Unwrap the antimeridian and mask cells whose coordinates are missing."""
    masked = np.ma.masked_invalid(values)
    if lon.ndim == 2:
        if np.nanmax(lon) - np.nanmin(lon) > 180:  # crosses the antimeridian: plot in 0..360
            lon = np.where(lon < 0, lon + 360.0, lon)
        invalid = ~np.isfinite(lon) | ~np.isfinite(lat)
        if invalid.any():  # pcolormesh refuses NaN coordinates: mask those cells instead
            masked = np.ma.masked_where(invalid, masked)
            lon = np.where(invalid, np.nanmean(lon), lon)
            lat = np.where(invalid, np.nanmean(lat), lat)
    return lon, lat, masked


def _style(
    units: Any, cmap: Any, vmin: float | None, vmax: float | None, norm: Any
) -> dict[str, Any]:
    """Colour map, norm and colorbar settings from a variable's units and the user's choices.

    Rain (``mm/h``) with no colour map given gets the rain levels (``vmin``/``vmax`` trim
    them); ``K`` gets the TB map. A user ``norm`` or ``cmap`` always wins.
    """
    rain = is_precipitation(units)
    style: dict[str, Any] = {"rain": False, "extend": "neither"}
    if isinstance(norm, str):
        if norm.lower() != "log":
            raise InvalidArgumentError(
                f"norm must be 'log' or a matplotlib Normalize; got {norm!r}"
            )
        from matplotlib.colors import LogNorm

        low = vmin if vmin is not None and vmin > 0 else (RAIN_THRESHOLD if rain else None)
        norm = LogNorm(vmin=low, vmax=vmax)
    if norm is not None:
        style.update(cmap=cmap if cmap is not None else rain_cmap() if rain else None, norm=norm)
        style["rain"] = rain  # dry pixels stay transparent on any rain scale
        return style
    if rain and cmap is None:
        levels = rain_levels(vmin, vmax)
        style.update(cmap=rain_cmap(), norm=rain_norm(levels), rain=True, extend="max")
        style["ticks"] = levels
        return style
    if cmap is None:
        cmap = tb_cmap() if units == "K" else "viridis"
    style.update(cmap=cmap, vmin=vmin, vmax=vmax)
    return style


def _mesh_kwargs(style: dict[str, Any]) -> dict[str, Any]:
    return {k: style[k] for k in ("cmap", "norm", "vmin", "vmax") if style.get(k) is not None}


def _mask_dry(values: np.ma.MaskedArray, style: dict[str, Any]) -> np.ma.MaskedArray:
    if style.get("rain"):
        with np.errstate(invalid="ignore"):
            return np.ma.masked_less(values, RAIN_THRESHOLD)
    return values


def _colorbar(fig, mesh, ax, style: dict[str, Any], label: str | None) -> Any:
    cbar = fig.colorbar(mesh, ax=ax, label=label, extend=style.get("extend", "neither"))
    if style.get("ticks") is not None:
        cbar.set_ticks(style["ticks"])
        cbar.set_ticklabels([f"{t:g}" for t in style["ticks"]])
    return cbar


def _units_label(da: xr.DataArray) -> str | None:
    units = da.attrs.get("units", "")
    return f"{da.name or ''} ({units})".strip() if units else (da.name or None)


# ----------------------------------------------------------------------------------------
# plot_swath (plain lon/lat axes)
# ----------------------------------------------------------------------------------------


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

    Brightness temperatures (``units="K"``) get :data:`xgpm.colormaps.TB_CMAP`; rain rates
    (``units`` ``mm/h``/``mm/hr``) get the rain colour map on log-spaced levels, dry pixels
    (< 0.1 mm/h) transparent, unless ``cmap`` (or ``norm=`` in ``kwargs``) is given.

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
        Passed to ``pcolormesh`` (for rain, ``vmin``/``vmax`` trim the rain levels).

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
    da, channel = _pick_channel(da, channel)
    extra = [d for d in da.dims if d not in _SWATH_DIMS]
    if extra:
        raise InvalidArgumentError(
            f"plot_swath draws 2-D fields; select along {extra} first (e.g. .isel({extra[0]}=0))"
        )
    da = da.transpose(*_SWATH_DIMS).compute()
    lon = np.asarray(da["lon"].values, dtype=float)
    lat = np.asarray(da["lat"].values, dtype=float)
    lon, lat, values = _clean_curvilinear(lon, lat, np.asarray(da.values, dtype=float))
    style = _style(da.attrs.get("units"), cmap, vmin, vmax, kwargs.pop("norm", None))
    values = _mask_dry(values, style)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    with warnings.catch_warnings():
        # a swath's lon/lat are curvilinear: matplotlib warns that they are not monotonic
        warnings.filterwarnings("ignore", message="The input coordinates to pcolormesh")
        mesh = ax.pcolormesh(lon, lat, values, shading="auto", **_mesh_kwargs(style), **kwargs)
    finite = np.isfinite(np.asarray(da.values, dtype=float)) & np.isfinite(lon)
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
        _colorbar(ax.figure, mesh, ax, style, f"{da.name or ''} ({units})" if units else None)
    return mesh


# ----------------------------------------------------------------------------------------
# maps
# ----------------------------------------------------------------------------------------


def cartopy_available() -> bool:
    """Whether cartopy can be imported (maps then use its Plate Carree axes)."""
    import importlib.util

    return importlib.util.find_spec("cartopy") is not None


def _is_geoaxes(ax: Any) -> bool:
    return hasattr(ax, "projection") and hasattr(ax, "set_extent")


def _natural_earth_on_disk(resolution: str) -> bool:
    """Whether cartopy's Natural Earth coastline shapefile exists locally (no download)."""
    try:
        from cartopy import config

        downloader = config["downloaders"][("shapefiles", "natural_earth")]
        fmt = {
            "config": config,
            "category": "physical",
            "name": "coastline",
            "resolution": resolution,
        }
        candidates = [downloader.pre_downloaded_path(fmt), downloader.target_path(fmt)]
    except Exception:  # cartopy absent or configured differently: use the land mask
        return False
    return any(p is not None and Path(p).exists() for p in candidates)


def _land_mask_coastline(ax: Any, extent: tuple[float, float, float, float], **kw: Any) -> bool:
    """Draw the 0.5 contour of xgpm's 1/60 deg land mask over ``extent``; True if drawn."""
    try:
        from xgpm.simulate.scenes import is_land
    except ImportError:
        return False
    x0, x1, y0, y1 = extent
    step = max(1.0 / 60.0, max(x1 - x0, y1 - y0) / 800.0)
    lons = np.arange(x0, x1 + step, step)
    lats = np.clip(np.arange(y0, y1 + step, step), -90.0, 90.0)
    grid_lon, grid_lat = np.meshgrid(lons, lats)
    try:
        land = is_land(grid_lat.ravel(), grid_lon.ravel()).reshape(grid_lon.shape)
    except (ImportError, OSError, ValueError):  # mask package missing or unreadable cache
        return False
    if land.all() or not land.any():
        return False
    ax.contour(lons, lats, land.astype(np.float32), levels=[0.5], **kw)
    return True


def _add_coastlines(ax: Any, extent: tuple[float, float, float, float]) -> str | None:
    """Natural Earth (cartopy, only if on disk) or the land-mask contour; what was drawn."""
    style = {"colors": "0.15", "linewidths": 0.6}
    if _is_geoaxes(ax):
        span = max(extent[1] - extent[0], extent[3] - extent[2])
        resolution = "10m" if span < 5 else "50m" if span < 60 else "110m"
        for res in dict.fromkeys((resolution, "50m", "110m")):
            if _natural_earth_on_disk(res):
                ax.coastlines(resolution=res, color="0.15", linewidth=0.6)
                return f"natural-earth-{res}"
        import cartopy.crs as ccrs

        style["transform"] = ccrs.PlateCarree()
    return "land-mask" if _land_mask_coastline(ax, extent, **style) else None


def _data_extent(lon: np.ndarray, lat: np.ndarray, values: np.ndarray, margin: float):
    if lon.ndim == 1:  # a grid: its whole box, half a cell beyond the centres
        dx = abs(lon[1] - lon[0]) / 2 if lon.size > 1 else 0.5
        dy = abs(lat[1] - lat[0]) / 2 if lat.size > 1 else 0.5
        return (lon.min() - dx, lon.max() + dx, lat.min() - dy, lat.max() + dy)
    finite = np.isfinite(values) & np.isfinite(lon) & np.isfinite(lat)
    if not finite.any():
        finite = np.isfinite(lon) & np.isfinite(lat)
    return (
        float(lon[finite].min() - margin),
        float(lon[finite].max() + margin),
        float(max(lat[finite].min() - margin, -90.0)),
        float(min(lat[finite].max() + margin, 90.0)),
    )


def _new_axes(projection: Any, figsize: tuple[float, float]):
    import matplotlib.pyplot as plt

    crs = _resolve_projection(projection)
    if crs is None:
        _, ax = plt.subplots(figsize=figsize)
    else:
        _, ax = plt.subplots(figsize=figsize, subplot_kw={"projection": crs})
    return ax


def _resolve_projection(projection: Any):
    if projection is None or projection is False:
        return None
    if isinstance(projection, str):
        if projection != "auto":
            raise InvalidArgumentError(
                f"projection must be 'auto', None or a cartopy CRS; got {projection!r}"
            )
        if not cartopy_available():
            return None
        import cartopy.crs as ccrs

        return ccrs.PlateCarree()
    return projection


def _title_of(obj, da: xr.DataArray, channel: str | None) -> str:
    parts = []
    product = obj.attrs.get("gpm_api_product") if hasattr(obj, "attrs") else None
    if product:
        parts.append(str(product))
    parts.append(str(da.name or ""))
    if channel:
        parts.append(channel)
    if "time" in da.coords and da["time"].ndim == 0:
        parts.append(f"{pd.Timestamp(da['time'].values):%Y-%m-%d %H:%M}")
    return " ".join(p for p in parts if p)


def _resolve_field(
    obj, variable, channel, time, func: str, *, time_for_swaths: bool = True
) -> tuple[xr.DataArray, str | None]:
    """The 2-D field to draw; ``time_for_swaths=False`` ignores ``time`` on swaths (compare)."""
    da = _pick_variable(obj, variable)
    da, channel = _pick_channel(da, channel)
    if not set(_SWATH_DIMS) <= set(da.dims):
        da = _pick_time(da, time)
    elif time is not None and time_for_swaths:
        raise InvalidArgumentError(
            f"time={time!r} applies to gridded (time, lat, lon) data; a swath has one time "
            "per scan: select scans with .isel(along_track=...) instead"
        )
    return da, channel


def _draw(
    ax: Any,
    lon: np.ndarray,
    lat: np.ndarray,
    values: np.ma.MaskedArray,
    style: dict[str, Any],
    kwargs: dict[str, Any],
):
    if _is_geoaxes(ax) and "transform" not in kwargs:
        import cartopy.crs as ccrs

        kwargs = {**kwargs, "transform": ccrs.PlateCarree()}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The input coordinates to pcolormesh")
        return ax.pcolormesh(lon, lat, values, shading="auto", **_mesh_kwargs(style), **kwargs)


def _frame(ax: Any, extent: tuple[float, float, float, float]) -> None:
    if _is_geoaxes(ax):
        import cartopy.crs as ccrs

        ax.set_extent(extent, crs=ccrs.PlateCarree())
        gl = ax.gridlines(draw_labels=True, linewidth=0.3, color="0.5", alpha=0.6)
        gl.top_labels = gl.right_labels = False
    else:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        mid_lat = np.deg2rad(np.clip((extent[2] + extent[3]) / 2.0, -80.0, 80.0))
        ax.set_aspect(1.0 / np.cos(mid_lat))  # a degree of longitude is shorter than one of lat
        ax.set_xlabel("longitude (deg)")
        ax.set_ylabel("latitude (deg)")


def plot_map(
    obj: xr.Dataset | xr.DataArray,
    variable: str | None = None,
    *,
    channel: str | None = None,
    time: Any = None,
    ax: Any = None,
    cmap: Any = None,
    vmin: float | None = None,
    vmax: float | None = None,
    norm: Any = None,
    add_colorbar: bool = True,
    coastlines: bool = True,
    projection: Any = "auto",
    extent: Sequence[float] | None = None,
    title: str | None = None,
    **kwargs: Any,
):
    """Draw a swath or a grid on a map.

    Parameters
    ----------
    obj : Dataset or DataArray
        A swath (``lon``/``lat`` over ``(cross_track, along_track)``), a grid with ``lat`` and
        ``lon`` dimensions (``(lat, lon)`` or ``(time, lat, lon)``), or a projected grid with
        2-D ``lon``/``lat`` coordinates (a radar composite).
    variable : str, optional
        Variable of a Dataset: ``"Tc"``, then ``"precipitation"``, then the only variable.
    channel : str, optional
        Channel label for variables with a ``pmw_frequency`` dim (the first by default).
    time : int, str or datetime-like, optional
        The time step of a ``(time, lat, lon)`` grid: an index, or a date matched to the
        nearest step within half a step. Required when there is more than one step.
    ax : matplotlib Axes or cartopy GeoAxes, optional
        Where to draw; a new figure otherwise (cartopy axes when ``projection`` gives one).
    cmap, vmin, vmax, norm
        Colour scale. By default brightness temperatures (K) use
        :data:`xgpm.colormaps.TB_CMAP`, rain rates (mm/h) log-spaced levels with dry pixels
        transparent (``vmin``/``vmax`` trim the levels; ``norm="log"`` gives a continuous
        :class:`~matplotlib.colors.LogNorm` instead).
    add_colorbar : bool
        Add a colour bar labelled with the variable's name and units.
    coastlines : bool
        Draw coastlines: Natural Earth's when cartopy has them on disk, else the contour of
        xgpm's 1 km land mask. Never downloads.
    projection : "auto", None or cartopy CRS
        ``"auto"``: cartopy's Plate Carree when cartopy is installed, plain lon/lat axes
        otherwise; ``None``: plain axes. Ignored when ``ax`` is given.
    extent : (lon_min, lon_max, lat_min, lat_max), optional
        Map frame; the data's bounding box (plus half a degree) by default.
    title : str, optional
        Axes title; product, variable, channel and time by default.
    **kwargs
        Passed to ``pcolormesh``.

    Returns
    -------
    matplotlib.collections.QuadMesh
        The mesh (``mesh.axes``, ``mesh.figure`` give the rest).

    Raises
    ------
    InvalidArgumentError
        Unknown variable, bad ``time``, no lon/lat, or more than two dimensions left.
    UnknownChannelError
        ``channel`` is not one of the variable's ``pmw_frequency`` labels.
    """
    da, channel = _resolve_field(obj, variable, channel, time, "plot_map")
    lon, lat, raw = _geometry(da, "plot_map")
    lon, lat, values = _clean_curvilinear(lon, lat, raw)
    style = _style(da.attrs.get("units"), cmap, vmin, vmax, norm)
    values = _mask_dry(values, style)
    if ax is None:
        ax = _new_axes(projection, (8, 6))
    mesh = _draw(ax, lon, lat, values, style, kwargs)
    frame = tuple(float(v) for v in extent) if extent is not None else None
    if frame is None:
        frame = _data_extent(lon, lat, raw, 0.5)
    if len(frame) != 4:
        raise InvalidArgumentError(
            f"extent must be (lon_min, lon_max, lat_min, lat_max); got {extent!r}"
        )
    _frame(ax, frame)
    if coastlines:
        _add_coastlines(ax, frame)
    ax.set_title(title if title is not None else _title_of(obj, da, channel))
    if add_colorbar:
        _colorbar(ax.figure, mesh, ax, style, _units_label(da))
    return mesh


def _as_list(value: Any, n: int, name: str) -> list[Any]:
    if value is None or isinstance(value, str):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise InvalidArgumentError(f"{name} has {len(values)} entries for {n} objects")
    return values


def plot_compare(
    objs: Sequence[xr.Dataset | xr.DataArray],
    variable: str | Sequence[str | None] | None = None,
    *,
    channel: str | Sequence[str | None] | None = None,
    time: Any = None,
    titles: Sequence[str] | None = None,
    cmap: Any = None,
    vmin: float | None = None,
    vmax: float | None = None,
    norm: Any = None,
    ncols: int | None = None,
    panel_size: tuple[float, float] = (5.0, 4.5),
    coastlines: bool = True,
    projection: Any = "auto",
    extent: Sequence[float] | None = None,
    suptitle: str | None = None,
    **kwargs: Any,
):
    """Several fields side by side on one shared colour scale (e.g. SSMIS, pseudo-GMI, GMI).

    Parameters
    ----------
    objs : sequence of Dataset or DataArray
        The fields, each anything :func:`plot_map` accepts.
    variable, channel : str or sequence, optional
        One for all panels, or one per panel (e.g. ``channel=["91V", "89V"]``).
    time : optional
        Time step for gridded panels (see :func:`plot_map`); one for all, ignored by swaths.
    titles : sequence of str, optional
        Panel titles; :func:`plot_map`'s default otherwise.
    cmap, vmin, vmax, norm
        The shared colour scale. Without ``vmin``/``vmax``, brightness temperatures share the
        overall 1st to 99th percentile of all panels; rain rates share the rain levels.
    ncols : int, optional
        Panels per row (all in one row by default, up to 4).
    panel_size : (width, height)
        Inches per panel.
    coastlines, projection, extent
        As in :func:`plot_map`; ``extent`` defaults to the union of all panels' extents.
    suptitle : str, optional
        Figure title.
    **kwargs
        Passed to ``pcolormesh``.

    Returns
    -------
    matplotlib.figure.Figure
        One colour bar for all panels; ``fig.axes[:n]`` are the panels.
    """
    import matplotlib.pyplot as plt

    objs = list(objs)
    if not objs:
        raise InvalidArgumentError("plot_compare needs at least one Dataset or DataArray")
    n = len(objs)
    variables = _as_list(variable, n, "variable")
    channels = _as_list(channel, n, "channel")
    if titles is not None and len(titles) != n:
        raise InvalidArgumentError(f"titles has {len(titles)} entries for {n} objects")
    fields = [
        _resolve_field(o, v, c, time, "plot_compare", time_for_swaths=False)
        for o, v, c in zip(objs, variables, channels, strict=True)
    ]
    geoms = [_geometry(da, "plot_compare") for da, _ in fields]
    units = {da.attrs.get("units") for da, _ in fields}
    if len(units) > 1:
        raise InvalidArgumentError(
            f"plot_compare shares one colour scale: the fields' units differ ({sorted(map(str, units))})"  # noqa: E501
        )
    unit = units.pop()
    rain = is_precipitation(unit) and cmap is None and norm is None
    if not rain and norm is None and (vmin is None or vmax is None):
        pooled = np.concatenate([np.ravel(g[2]) for g in geoms])
        pooled = pooled[np.isfinite(pooled)]
        if pooled.size:
            low, high = np.percentile(pooled, [1, 99])
            vmin = float(low) if vmin is None else vmin
            vmax = float(high) if vmax is None else vmax
    style = _style(unit, cmap, vmin, vmax, norm)
    ncols = ncols or min(n, 4)
    nrows = -(-n // ncols)
    crs = _resolve_projection(projection)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size[0] * ncols + 1.0, panel_size[1] * nrows),
        squeeze=False,
        subplot_kw={"projection": crs} if crs is not None else None,
        layout="constrained",
    )
    if extent is not None:
        frame = tuple(float(v) for v in extent)
    else:
        boxes = np.array([_data_extent(lo, la, raw, 0.5) for lo, la, raw in geoms])
        frame = (boxes[:, 0].min(), boxes[:, 1].max(), boxes[:, 2].min(), boxes[:, 3].max())
    mesh = None
    for i, ((da, chan), (lon, lat, raw), obj) in enumerate(zip(fields, geoms, objs, strict=True)):
        ax = axes.flat[i]
        lon, lat, values = _clean_curvilinear(lon, lat, raw)
        mesh = _draw(ax, lon, lat, _mask_dry(values, style), style, kwargs)
        _frame(ax, frame)
        if coastlines:
            _add_coastlines(ax, frame)
        ax.set_title(titles[i] if titles is not None else _title_of(obj, da, chan))
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    _colorbar(fig, mesh, list(axes.flat[:n]), style, _units_label(fields[0][0]))
    if suptitle:
        fig.suptitle(suptitle)
    return fig
