"""xarray-level colocation: put a source dataset's variables onto a target's pixels.

See ``docs/colocation.md`` for the algorithm. Geolocation (``lon``, ``lat``, ``time``) of both
datasets is loaded eagerly to plan the work (it is small); data variables stay lazy when they are
dask arrays: one task per target chunk along the scan dimension, each given only the source scans
that can reach it.

This module checks the arguments and runs the stages: the geometry of both datasets
(:mod:`~xgpm.colocation._geometry`), the plan of tiles, caps and tasks
(:mod:`~xgpm.colocation._planning`), the per-chunk kernel calls (:mod:`~xgpm.colocation._tasks`,
Numba kernels in :mod:`~xgpm.colocation._kernels`) and the output Dataset
(:mod:`~xgpm.colocation._output`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import xarray as xr

from xgpm.colocation._common import (
    _FWHM_TO_SIGMA,
    _GRID_METHODS,
    _MAX_SCANS_PER_TASK,
    _SWATH_METHODS,
    _THREADED_SCANS_PER_TASK,
    EARTH_RADIUS_KM,
    great_circle_km,
)
from xgpm.colocation._geometry import _Geometry, _source_geometry, _target_geometries
from xgpm.colocation._output import _no_overlap_message, _to_dataset
from xgpm.colocation._planning import _assemble, _balanced_chunks, _plan_grid, _plan_swath
from xgpm.errors import (
    InvalidArgumentError,
    NoOverlapError,
)
from xgpm.io._inputs import as_swath
from xgpm.io._merge import DEFAULT_MERGE_RADIUS_KM

__all__ = ["EARTH_RADIUS_KM", "colocate", "great_circle_km"]


# --------------------------------------------------------------------------------------------
# Argument handling
# --------------------------------------------------------------------------------------------
def _footprint_sigmas(
    footprint_km: float | Sequence[float] | None,
    sensor: str | None,
    channel: str | None,
    target: xr.Dataset,
) -> tuple[float, float]:
    if footprint_km is None:
        name = sensor if sensor is not None else target.attrs.get("sensor")
        if name is None or channel is None:
            raise InvalidArgumentError(
                "method='gaussian' needs the target footprint: pass footprint_km=(along, cross) "
                "(3 dB full widths in km), or sensor= (or target.attrs['sensor']) and channel=."
            )
        try:
            from xgpm import sensors
        except ImportError as err:  # registry not available in this installation
            raise InvalidArgumentError(
                "the sensor registry xgpm.sensors is not available; pass footprint_km= instead."
            ) from err
        footprint_km = sensors.get(name).channel(channel).footprint_km
    try:
        fp = np.atleast_1d(np.asarray(footprint_km, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        fp = np.array([np.nan, np.nan, np.nan])
    if fp.size == 1:
        fp = np.repeat(fp, 2)
    if fp.size != 2 or not np.all(np.isfinite(fp)) or np.any(fp <= 0):
        raise InvalidArgumentError(
            f"footprint_km={footprint_km!r} must be a positive number or (along, cross) in km."
        )
    return float(fp[0]) * _FWHM_TO_SIGMA, float(fp[1]) * _FWHM_TO_SIGMA


def _max_dt_ns(max_dt: Any) -> int:
    if max_dt is None:
        return -1
    try:
        td = (
            np.timedelta64(max_dt)
            if not isinstance(max_dt, str)
            else np.timedelta64(__import__("pandas").Timedelta(max_dt).value, "ns")
        )
        ns = int(td.astype("timedelta64[ns]").astype(np.int64))
    except (ValueError, TypeError) as err:
        raise InvalidArgumentError(
            f"max_dt={max_dt!r} is not a time difference; use e.g. np.timedelta64(15, 'm'), "
            "datetime.timedelta(minutes=15) or '15min'."
        ) from err
    if ns < 0:
        raise InvalidArgumentError(f"max_dt={max_dt!r} must not be negative.")
    return ns


def _select_variables(
    source: xr.Dataset, geom: _Geometry, variables: Sequence[Hashable] | Hashable | None
) -> list[Hashable]:
    spatial = (
        {geom.grid["lat_dim"], geom.grid["lon_dim"]}
        if geom.kind == "grid"
        else {geom.cross_dim, geom.scan_dim}
    )
    if variables is None:
        names = [
            n
            for n, v in source.data_vars.items()
            if spatial <= set(v.dims) and v.dtype.kind in "biuf"
        ]
        if not names:
            raise InvalidArgumentError(
                f"source has no data variable on its pixel dims {sorted(map(str, spatial))}."
            )
        return names
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Sequence):
        variables = [variables]
    for name in variables:
        if not isinstance(name, Hashable):
            raise InvalidArgumentError(
                f"variables: {name!r} is not a variable name; pass a name or a list of names "
                f"of source's data variables ({sorted(map(str, source.data_vars))})."
            )
        if name not in source.data_vars:
            raise InvalidArgumentError(
                f"variables: {name!r} is not a data variable of source "
                f"(has {sorted(map(str, source.data_vars))})."
            )
        if source[name].dtype.kind not in "biuf":
            raise InvalidArgumentError(
                f"source[{name!r}] has dtype {source[name].dtype}; only numeric variables can be "
                "colocated."
            )
        if not spatial <= set(source[name].dims):
            raise InvalidArgumentError(
                f"source[{name!r}] has dims {source[name].dims}, not the pixel dims "
                f"{sorted(map(str, spatial))}."
            )
    return list(variables)


# --------------------------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------------------------
def colocate(
    source: xr.Dataset,
    target: xr.Dataset,
    *,
    radius_km: float,
    max_dt: Any = None,
    method: Literal["nearest", "mean", "gaussian", "bilinear"] = "nearest",
    variables: Sequence[Hashable] | Hashable | None = None,
    footprint_km: float | Sequence[float] | None = None,
    sensor: str | None = None,
    channel: str | None = None,
    on_empty: Literal["raise", "nan"] = "raise",
    target_crs: Any = None,
    scans_per_task: int | None = None,
    num_threads: int | None = None,
    merge_radius_km: float = DEFAULT_MERGE_RADIUS_KM,
) -> xr.Dataset:
    """Put ``source`` variables onto ``target``'s pixels.

    Parameters
    ----------
    source
        A swath (2-D ``lon``/``lat`` on (cross_track, along_track), ``time`` on along_track) or a
        regular lat/lon grid (1-D ``lat``, ``lon``, optional ``time``). Datasets opened by
        GPM-API are taken as they are; a granule's DataTree of 1C scan modes
        (``gpm.open_granule_datatree``, ``xgpm.open_granule(path, scan_mode="all")``) is merged
        as ``xgpm.open_granule(path)`` does, and a one-node DataTree is its node.
    target
        A swath, a regular lat/lon grid (1-D ``lat``, ``lon``) or a projected grid (1-D ``x``,
        ``y`` and a CRS, see ``target_crs``). Its ``time`` (scalar or per scan) is the time the
        time window is measured from; a grid with a ``time`` dimension is colocated per step.
        A DataTree as for ``source``.
    radius_km
        Search radius (great-circle km). Source pixels farther away never match.
    max_dt
        Largest allowed ``|t_source - t_target|`` per pixel (``np.timedelta64``,
        ``datetime.timedelta`` or a pandas string such as ``"15min"``); ``None``: no time window.
    method
        ``"nearest"`` (nearest source pixel), ``"mean"`` (unweighted mean of source pixels within
        the radius), ``"gaussian"`` (average weighted by a Gaussian EFOV of ``footprint_km``,
        truncated at the radius); for a grid source ``"nearest"`` or ``"bilinear"``.
    variables
        Source data variables to colocate (default: all on the source's pixel dims).
    footprint_km
        For ``"gaussian"``: 3 dB full widths (along, cross) of the target footprint in km, or a
        single number for a circular one. ``sigma = FWHM / 2.3548``.
    sensor, channel
        For ``"gaussian"`` without ``footprint_km``: look the footprint up in
        :mod:`xgpm.sensors` (``sensor`` defaults to ``target.attrs["sensor"]``).
    on_empty
        ``"raise"`` (default): raise :class:`~xgpm.errors.NoOverlapError` when no source pixel
        can match; ``"nan"``: return an all-NaN result.
    target_crs
        CRS of a projected target grid (anything :class:`pyproj.CRS` accepts); default from
        ``target.attrs["crs"]`` or a ``spatial_ref`` coordinate's ``crs_wkt``.
    scans_per_task
        Target scans per task when the target is not chunked with dask (default: tasks of at
        most 4096 scans with one thread, of about 512 with several).
    num_threads
        Threads used for an eager (non-dask) call (default: 1; kernels release the GIL). Lazy
        calls use dask's scheduler instead.
    merge_radius_km
        For a DataTree ``source`` or ``target``: search radius (km) of the nearest-neighbour
        merge of its scan modes onto the widest swath (as :func:`xgpm.open_granule`).

    Returns
    -------
    xarray.Dataset
        On the target's pixel dims and coords: the colocated variables (extra dims such as
        ``pmw_frequency`` kept), ``distance`` (km to the nearest match), ``time_offset``
        (source - target), ``n_matches`` (source pixels within the radius; ``mean`` and
        ``gaussian`` only) and
        ``source_index`` (int32, int64 beyond 2**31 source pixels: flat index of the nearest
        source pixel in the source's (cross_track, along_track) -- or (lat, lon) -- C order, -1
        if none). NaN where no match.
        Lazy (dask) when the target or the source variables are dask arrays.

    Raises
    ------
    InvalidArgumentError
        Malformed input (not a Dataset, missing or mismatched ``lon``/``lat``, non-numeric
        geolocation, an empty dataset, unknown variable, bad ``method``, ``radius_km``,
        ``max_dt``, ``footprint_km``, ``scans_per_task`` or ``num_threads``).
    InvalidDataError
        No pixel of ``source`` or ``target`` has a possible position, or a grid source has
        impossible ``lat``/``lon`` axes.
    ProjectionError
        The projected target's CRS (``target_crs``, ``attrs["crs"]``, ``spatial_ref``) is not
        one pyproj understands.
    NoOverlapError
        The datasets share no pixels within ``radius_km`` / ``max_dt`` (``on_empty="raise"``);
        the message gives both datasets' lat/lon boxes and time ranges and what to do.

    Warns
    -----
    DataQualityWarning
        Pixels with impossible geolocation (infinite, ``|lat| > 90``, ``|lon| > 360``) were set
        aside (treated as missing); the message says how many.
    """
    source = as_swath(source, "colocate", merge_radius_km=merge_radius_km, role="source")
    target = as_swath(target, "colocate", merge_radius_km=merge_radius_km, role="target")
    for name, ds in (("source", source), ("target", target)):
        if not isinstance(ds, xr.Dataset):
            hint = {
                "DataArray": f" Pass a Dataset ({name}.to_dataset(), keeping its lon/lat/time "
                "coords).",
            }.get(type(ds).__name__, "")
            raise InvalidArgumentError(
                f"{name} must be an xarray.Dataset, got {type(ds).__name__}.{hint}"
            )
    if not isinstance(method, str) or method not in (*_SWATH_METHODS, "bilinear"):
        raise InvalidArgumentError(
            f"method={method!r} is not one of 'nearest', 'mean', 'gaussian', 'bilinear'."
        )
    radius_km = _radius(radius_km)
    if on_empty not in ("raise", "nan"):
        raise InvalidArgumentError(f"on_empty={on_empty!r} must be 'raise' or 'nan'.")
    scans_per_task = _count_or_none(scans_per_task, "scans_per_task")
    num_threads = _count_or_none(num_threads, "num_threads")
    max_dt_ns = _max_dt_ns(max_dt)
    src = _source_geometry(source)
    if src.kind == "grid" and method not in _GRID_METHODS:
        raise InvalidArgumentError(
            f"method={method!r} needs a swath source; a grid source supports {_GRID_METHODS}."
        )
    if src.kind != "grid" and method == "bilinear":
        raise InvalidArgumentError("method='bilinear' needs a regular lat/lon grid source.")
    names = _select_variables(source, src, variables)
    if src.lon.size == 0 or src.lat.size == 0:
        raise InvalidArgumentError(
            f"source has no pixels (dims {dict(source['lon'].sizes)}): an empty granule or "
            "selection? Select a non-empty part of it."
        )

    if (
        "time" in target.dims
        and "lat" in target.variables
        and target["lat"].ndim == 1
        and "time" not in target["lat"].dims
    ) or ("time" in target.dims and "x" in target.variables and "lat" not in target.variables):
        # A gridded target with several time steps: one colocation per step.
        steps = [
            colocate(
                source,
                target.isel(time=i),
                radius_km=radius_km,
                max_dt=max_dt,
                method=method,
                variables=names,
                footprint_km=footprint_km,
                sensor=sensor,
                channel=channel,
                on_empty="nan",
                target_crs=target_crs,
                scans_per_task=scans_per_task,
                num_threads=num_threads,
            )
            for i in range(target.sizes["time"])
        ]
        result = xr.concat(steps, dim="time")
        lazy_result = _is_dask(result["distance"].data)
        if on_empty == "raise" and not lazy_result and not _any_match_eager(result):
            raise NoOverlapError(_no_overlap_message(source, target, src, None, radius_km, max_dt))
        return result

    tgt, out_dims = _target_geometries(target, target_crs)
    if tgt.lon.size == 0:
        raise InvalidArgumentError(
            f"target has no pixels (dims {dict(zip(out_dims, tgt.lon.shape, strict=False))}): "
            "an empty granule or selection? Select a non-empty part of it."
        )
    if max_dt_ns >= 0:
        for role, geom in (("source", src), ("target", tgt)):
            if not geom.has_time:
                raise InvalidArgumentError(
                    f"max_dt is set but {role} has no 'time' coordinate; drop max_dt or add time."
                )
    params: dict[str, Any] = {
        "r_chord": 2.0 * math.sin(min(radius_km / EARTH_RADIUS_KM, math.pi) / 2.0),
        "max_dt": max_dt_ns,
        "sigma_along": 1.0,
        "sigma_cross": 1.0,
    }
    if method == "gaussian":
        sa, sc = _footprint_sigmas(footprint_km, sensor, channel, target)
        params["sigma_along"] = sa / EARTH_RADIUS_KM
        params["sigma_cross"] = sc / EARTH_RADIUS_KM

    chunks = _target_chunks(target, tgt, scans_per_task, num_threads)
    lazy = _is_lazy(target, tgt) or any(_is_dask(source[n].data) for n in names)
    threads = 1 if lazy or num_threads is None else max(1, int(num_threads))
    # Eager and threaded: one pool for the caps, the planning and the tasks (threads start once).
    pool = ThreadPoolExecutor(threads) if threads > 1 and src.kind != "grid" else None
    try:
        if src.kind == "grid":
            pieces, overlap = _plan_grid(source, src, tgt, names, chunks, params, method, max_dt_ns)
        else:
            pre = None
            if not lazy and scans_per_task is None and tgt.lon.size and src.lon.size:
                # No chunking asked for: chunks of equal work, not of equal size (and with
                # one thread the block search of the planning, with groups of blocks).
                chunks, pre = _balanced_chunks(
                    src, tgt, params["r_chord"], max_dt_ns, threads, pool
                )
            pieces, overlap = _plan_swath(
                source,
                src,
                tgt,
                names,
                chunks,
                params,
                method,
                max_dt_ns,
                threads,
                pre,
                pool,
                copies=lazy,
            )
        if not overlap and on_empty == "raise":
            raise NoOverlapError(_no_overlap_message(source, target, src, tgt, radius_km, max_dt))
        with_counts = method in ("mean", "gaussian")
        n_source = src.lon.size if src.kind != "grid" else src.lat.size * src.lon.size
        result = _assemble(
            pieces, chunks, tgt, names, source, lazy, num_threads, with_counts, n_source, pool
        )
    finally:
        if pool is not None:
            pool.shutdown()
    if not lazy and on_empty == "raise" and not _any_match_eager(result):
        raise NoOverlapError(_no_overlap_message(source, target, src, tgt, radius_km, max_dt))
    return _to_dataset(result, target, tgt, out_dims, names, source, src, method, radius_km)


def _radius(radius_km: Any) -> float:
    """``radius_km`` as a float in (0, half the Earth's circumference]."""
    if isinstance(radius_km, (bool, np.bool_)):
        raise InvalidArgumentError(f"radius_km={radius_km!r} must be a number of km, not a bool.")
    try:
        radius = float(radius_km)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"radius_km={radius_km!r} must be a number (km).") from err
    if not (np.isfinite(radius) and radius > 0):
        raise InvalidArgumentError(f"radius_km={radius_km!r} must be a positive number of km.")
    half_earth = math.pi * EARTH_RADIUS_KM
    if radius > half_earth:
        raise InvalidArgumentError(
            f"radius_km={radius_km!r} is more than half the Earth's circumference "
            f"({half_earth:.0f} km): give the search radius in km (e.g. 10 for GMI footprints)."
        )
    return radius


def _count_or_none(value: Any, name: str) -> int | None:
    """None, or ``value`` as an int >= 1."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidArgumentError(f"{name}={value!r} must be a positive integer (or None).")
    return int(value)


def _any_match_eager(result: Any) -> bool:
    distance = result["distance"] if isinstance(result, (dict, xr.Dataset)) else result
    distance = np.asarray(distance).reshape(-1)
    step = 1 << 14  # in pieces: stops at the first match, no full-size temporary
    return any(np.isfinite(distance[i : i + step]).any() for i in range(0, distance.size, step))


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask")


def _is_lazy(target: xr.Dataset, tgt: _Geometry) -> bool:
    if tgt.kind == "swath":
        return _is_dask(target["lon"].data) or any(
            _is_dask(v.data) and tgt.scan_dim in v.dims for v in target.data_vars.values()
        )
    return any(_is_dask(v.data) for v in target.data_vars.values())


def _target_chunks(
    target: xr.Dataset, tgt: _Geometry, scans_per_task: int | None, num_threads: int | None = None
) -> list[int]:
    n = tgt.lon.shape[1]
    sizes: tuple[int, ...] | None = None
    for v in (target.coords.get("lon"), *target.data_vars.values()):
        if v is not None and _is_dask(v.data) and tgt.scan_dim in v.dims:
            sizes = v.chunksizes[tgt.scan_dim]
            break
    if sizes is None:
        if scans_per_task is None:
            threads = 1 if num_threads is None else max(1, int(num_threads))
            # One thread: few long tasks (less planning); several: short ones, which balance
            # the load (overlaps are uneven along a swath) and bound each thread's buffers.
            step = _MAX_SCANS_PER_TASK if threads == 1 else _THREADED_SCANS_PER_TASK
            step = max(1, -(-n // -(-n // step))) if n else 1  # equal lengths
        else:
            step = scans_per_task
        if step < 1:
            raise InvalidArgumentError(f"scans_per_task={scans_per_task!r} must be >= 1.")
        sizes = tuple(min(step, n - i) for i in range(0, n, step)) or (0,)
    return list(sizes)
