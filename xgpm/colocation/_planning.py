"""Colocation stage 2: planning the work (tiles, bounding caps, chunks) and assembling the result.

A swath source is cut into tiles whose spherical caps (:func:`xgpm.colocation._kernels.tile_caps`)
say which source scans each target chunk can reach (``_plan_swath``), balanced into tasks
(``_balanced_chunks``); a grid source is planned by index arithmetic (``_plan_grid``). Each dask
task then carries only the source scans it can reach; ``_assemble`` puts the chunks back together.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import numpy as np
import xarray as xr

from xgpm.colocation._common import (
    _FIXED_OUTPUTS,
    _MAX_SCANS_PER_TASK,
    _NAT,
    _empty_together,
    great_circle_km,
)
from xgpm.colocation._geometry import _Geometry
from xgpm.colocation._output import _pixel_dims
from xgpm.colocation._tasks import _grid_task, _index_dtype, _swath_task
from xgpm.errors import (
    InvalidArgumentError,
)


def _tile_shape(lon: np.ndarray, lat: np.ndarray, n_per_tile: int) -> tuple[int, int]:
    """Pixels x scans of a roughly square tile holding about ``n_per_tile`` pixels.

    Only changes speed, never results: any tiling finds the same matches.
    """
    nx, ns = lon.shape
    x = nx // 2
    step = max(1, ns // 200)
    scans = np.arange(0, max(ns - 1, 0), step)
    with np.errstate(invalid="ignore"):
        d_px = great_circle_km(
            lon[x, scans],
            lat[x, scans],
            lon[min(x + 1, nx - 1), scans],
            lat[min(x + 1, nx - 1), scans],
        )
        d_scan = great_circle_km(lon[x, scans], lat[x, scans], lon[x, scans + 1], lat[x, scans + 1])
    d_px, d_scan = (
        float(np.median(d[np.isfinite(d)])) if np.isfinite(d).any() else np.nan
        for d in (d_px, d_scan)
    )
    if not (np.isfinite(d_px) and np.isfinite(d_scan) and d_px > 0 and d_scan > 0):
        return 16, 4
    pixels = int(np.clip(round(math.sqrt(n_per_tile * d_scan / d_px)), 1, max(nx, 1)))
    scans_per_tile = int(np.clip(round(n_per_tile / pixels), 1, 64))
    # Equal tiles across the scan (49 DPR rays: 7 x 7, not 6 x 8 + 1): no padding to store.
    pixels = -(-max(nx, 1) // -(-max(nx, 1) // pixels))
    return pixels, scans_per_tile


def _plan_swath(
    source: xr.Dataset,
    src: _Geometry,
    tgt: _Geometry,
    names: list[Hashable],
    chunks: list[int],
    params: dict[str, Any],
    method: str,
    max_dt_ns: int,
    threads: int = 1,
    pre: dict[str, Any] | None = None,
    pool: ThreadPoolExecutor | None = None,
    copies: bool = True,
) -> tuple[list[tuple[Any, ...]], bool]:
    """One task per target chunk, with the source scans (whole blocks) that can reach it.

    With ``copies`` (lazy calls) each task gets copies of its own target and source
    geolocation; without (eager calls) the tasks read the whole swaths in place.

    ``pre`` (from :func:`_balanced_chunks`, whose chunks must then be passed) holds the tile
    shapes, the caps of the whole source and target and the block pairs: no cap is recomputed.
    """
    from xgpm.colocation import _kernels as k

    if pre is None:
        tile = _tile_shape(src.lon, src.lat, k.SOURCE_TILE_SIZE)
        t_tile = _tile_shape(tgt.lon, tgt.lat, k.TARGET_TILE_SIZE)
    else:
        tile, t_tile = pre["tile"], pre["target_tile"]
    params = dict(
        params,
        mode={"nearest": 0, "mean": 1, "gaussian": 2}[method],
        tile=tile,
        target_tile=t_tile,
    )
    n_scan = src.lon.shape[1]
    use_time = max_dt_ns >= 0
    if pre is None:
        s_caps = k.tile_caps(src.lon, src.lat, src.time, use_time, tile[0], tile[1])
    else:
        s_caps = pre["s_caps"]
    arrays = [source[n].transpose(src.cross_dim, src.scan_dim, ...).data for n in names]
    starts = np.concatenate([[0], np.cumsum(chunks)]).astype(int)

    def plan(j: int) -> tuple[Any, ...]:
        start, stop = int(starts[j]), int(starts[j + 1])
        t_time = np.ascontiguousarray(tgt.time[start:stop])
        if pre is None:
            t_caps = k.tile_caps(
                np.ascontiguousarray(tgt.lon[:, start:stop]),
                np.ascontiguousarray(tgt.lat[:, start:stop]),
                t_time,
                use_time,
                t_tile[0],
                t_tile[1],
            )
            need = k.blocks_needed(t_caps, s_caps, params["r_chord"], max_dt_ns, tile[1], n_scan)
            scan_ids = np.flatnonzero(need)
            blocks = np.unique(scan_ids // tile[1])
        else:
            # Chunks start on target block boundaries: their caps are slices of the global ones.
            a0, a1 = start // t_tile[1], -(-stop // t_tile[1])
            t_caps = tuple(np.ascontiguousarray(c[a0:a1]) for c in pre["t_caps"])
            indptr, indices = pre["pairs"]
            blocks = np.unique(indices[indptr[a0] : indptr[a1]])
            scan_ids = (blocks[:, None] * tile[1] + np.arange(tile[1])).ravel()
            scan_ids = scan_ids[scan_ids < n_scan]
        if scan_ids.size == n_scan:
            sub: Any = slice(None)  # whole source: no copy
        elif scan_ids.size and scan_ids[-1] - scan_ids[0] + 1 == scan_ids.size:
            sub = slice(int(scan_ids[0]), int(scan_ids[-1]) + 1)
        else:
            sub = scan_ids
        if copies:  # a task of its own (dask): only the chunk's geolocation
            t_geo = (tgt.lon[:, start:stop].copy(), tgt.lat[:, start:stop].copy(), t_time, 0)
            s_lon = np.ascontiguousarray(src.lon[:, sub])
            s_geo = (s_lon, np.ascontiguousarray(src.lat[:, sub]), np.arange(scan_ids.size))
        else:  # eager: the whole swaths, read in place (copies cost more than the kernel)
            t_geo = (tgt.lon, tgt.lat, t_time, start)
            s_geo = (src.lon, src.lat, scan_ids)
        return (
            _swath_task,
            *t_geo,
            *s_geo,
            np.ascontiguousarray(src.time[sub]),
            scan_ids,
            n_scan,
            params,
            t_caps,
            tuple(np.ascontiguousarray(c[blocks]) for c in s_caps),
            *[a[:, sub] for a in arrays],
        )

    # Planning is per target chunk and releases the GIL: spread it on the eager threads too.
    if threads > 1 and len(chunks) > 1:
        with nullcontext(pool) if pool is not None else ThreadPoolExecutor(threads) as workers:
            pieces = list(workers.map(plan, range(len(chunks))))
    else:
        pieces = [plan(j) for j in range(len(chunks))]
    overlap = any(p[9].size > 0 for p in pieces)
    return pieces, overlap


def _tile_caps_parallel(
    geom: _Geometry, use_time: bool, tile: tuple[int, int], pool: ThreadPoolExecutor, parts: int
) -> list[Any]:
    """Futures of :func:`_kernels.tile_caps` of a swath on ``parts`` scan ranges (in ``pool``).

    The ranges start on block boundaries, so :func:`_join_caps` gives the caps of one call.
    """
    from xgpm.colocation import _kernels as k

    n_blocks = -(-geom.lon.shape[1] // tile[1])
    cuts = np.unique(np.linspace(0, n_blocks, max(1, parts) + 1).astype(int)) * tile[1]
    cuts[-1] = geom.lon.shape[1]

    def caps(i: int) -> tuple[np.ndarray, ...]:
        sl = slice(int(cuts[i]), int(cuts[i + 1]))
        return k.tile_caps(geom.lon[:, sl], geom.lat[:, sl], geom.time[sl], use_time, *tile)

    futures = [pool.submit(caps, i) for i in range(len(cuts) - 1)]
    return futures


def _join_caps(futures: list[Any]) -> tuple[np.ndarray, ...]:
    parts = [f.result() for f in futures]
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(parts[0])))


def _balanced_chunks(
    src: _Geometry,
    tgt: _Geometry,
    r_chord: float,
    max_dt_ns: int,
    threads: int,
    pool: ThreadPoolExecutor | None = None,
) -> tuple[list[int], dict[str, Any]]:
    """Target chunks of about equal work for ``threads`` threads, and what planning needs.

    Work concentrates where the swaths overlap (one crossing of two orbits may be a tenth of the
    target), so equal numbers of scans leave one thread doing most of it. The caps of the whole
    source and target are computed once (in parallel), the source blocks within reach of each
    target block are listed, and the target is cut on block boundaries into ``3 * threads``
    chunks (one thread: one per 4096 scans, 2 at least) of about equal (target pixels x
    candidate source blocks). Only the split changes: the results are identical for any
    chunking.
    """
    from xgpm.colocation import _kernels as k

    tile = _tile_shape(src.lon, src.lat, k.SOURCE_TILE_SIZE)
    t_tile = _tile_shape(tgt.lon, tgt.lat, k.TARGET_TILE_SIZE)
    use_time = max_dt_ns >= 0
    if threads == 1:
        s_caps = k.tile_caps(src.lon, src.lat, src.time, use_time, *tile)
        t_caps = k.tile_caps(tgt.lon, tgt.lat, tgt.time, use_time, *t_tile)
    else:
        with nullcontext(pool) if pool is not None else ThreadPoolExecutor(threads) as workers:
            s_futures = _tile_caps_parallel(src, use_time, tile, workers, threads)
            t_futures = _tile_caps_parallel(tgt, use_time, t_tile, workers, threads)
            s_caps, t_caps = _join_caps(s_futures), _join_caps(t_futures)
    indptr, indices = k.block_pairs(t_caps, s_caps, r_chord, max_dt_ns, 16)
    n_scan = tgt.lon.shape[1]
    # Work of a target block: its pixels times its candidate source blocks, plus a little for
    # the blocks without any (their cap tests).
    work = t_caps[2].astype(np.float64) * (np.diff(indptr) + 0.05)
    cum = np.concatenate([[0.0], np.cumsum(work)])
    if threads == 1:  # few long tasks (less planning), but two at least: each task's work
        # buffer then holds the source tiles of about half the overlap (-5 MiB peak for DPR).
        n_tasks = max(2, -(-n_scan // _MAX_SCANS_PER_TASK))
    else:
        n_tasks = 3 * threads
    n_tasks = max(1, min(n_tasks, work.size))
    if cum[-1] > 0:
        edges = np.searchsorted(cum, np.linspace(0.0, cum[-1], n_tasks + 1)[1:-1])
    else:
        edges = np.linspace(0, work.size, n_tasks + 1)[1:-1].astype(int)
    bounds = np.unique(np.concatenate([[0], np.clip(edges, 0, work.size), [work.size]]))
    scans = np.minimum(bounds * t_tile[1], n_scan)
    chunks = [int(b - a) for a, b in zip(scans[:-1], scans[1:], strict=True) if b > a] or [n_scan]
    pre = {
        "tile": tile,
        "target_tile": t_tile,
        "s_caps": s_caps,
        "t_caps": t_caps,
        "pairs": (indptr, indices),
    }
    return chunks, pre


def _plan_grid(
    source: xr.Dataset,
    src: _Geometry,
    tgt: _Geometry,
    names: list[Hashable],
    chunks: list[int],
    params: dict[str, Any],
    method: str,
    max_dt_ns: int,
) -> tuple[list[tuple[Any, ...]], bool]:
    g = src.grid
    flip = g["dlat"] < 0
    lat = g["lat"][::-1] if flip else g["lat"]
    grid = dict(
        lat0=float(lat[0]),
        dlat=abs(g["dlat"]),
        nlat=lat.size,
        lon0=float(g["lon"][0]),
        dlon=g["dlon"],
        nlon=g["lon"].size,
        periodic=bool(g["periodic"]),
        flip_lat=bool(flip),
    )
    params = dict(params, mode={"nearest": 0, "bilinear": 1}[method], grid=grid)
    times = g["times"]
    arrays = []
    for n in names:
        da_ = source[n]
        if g["time_dim"] is not None and g["time_dim"] in da_.dims:
            da_ = da_.transpose(g["time_dim"], g["lat_dim"], g["lon_dim"], ...)
            arrays.append(da_.data)
        else:
            da_ = da_.transpose(g["lat_dim"], g["lon_dim"], ...)
            arrays.append(da_.data[None])
    # Grid time step for each target scan: the nearest one (within max_dt if set).
    if times is None or times.size == 0 or not tgt.has_time:
        time_index = np.zeros(tgt.lon.shape[1], dtype=np.int64)
        grid_times = None if times is None else times
        if times is not None and times.size > 1:
            raise InvalidArgumentError(
                "source grid has several time steps but target has no 'time' to choose one."
            )
    else:
        tt = tgt.time
        diff = np.abs(tt[:, None].astype(np.float64) - times[None, :].astype(np.float64))
        time_index = np.argmin(diff, axis=1).astype(np.int64)
        if max_dt_ns >= 0:
            time_index[diff[np.arange(tt.size), time_index] > max_dt_ns] = -1
        time_index[tt == _NAT] = -1
        grid_times = times
    if any(a.shape[0] != (1 if times is None else times.size) for a in arrays):
        time_index = np.where(time_index >= 0, 0, -1)
    pieces = []
    start = 0
    for size in chunks:
        stop = start + size
        pieces.append(
            (
                _grid_task,
                np.ascontiguousarray(tgt.lon[:, start:stop]),
                np.ascontiguousarray(tgt.lat[:, start:stop]),
                np.ascontiguousarray(tgt.time[start:stop]),
                np.ascontiguousarray(time_index[start:stop]),
                grid_times,
                params,
                *arrays,
            )
        )
        start = stop
    # Planning-level overlap: target latitudes reach the grid (within the radius) in time.
    t_lat = tgt.lat[np.isfinite(tgt.lat) & np.isfinite(tgt.lon)]
    margin = math.degrees(2.0 * math.asin(min(1.0, params["r_chord"] / 2.0)))
    overlap = bool(
        t_lat.size
        and t_lat.max() >= lat[0] - margin
        and t_lat.min() <= lat[-1] + margin
        and (time_index >= 0).any()
    )
    return pieces, overlap


def _assemble(
    pieces: list[tuple[Any, ...]],
    chunks: list[int],
    tgt: _Geometry,
    names: list[Hashable],
    source: xr.Dataset,
    lazy: bool,
    num_threads: int | None,
    with_counts: bool,
    n_source: int,
    pool: ThreadPoolExecutor | None = None,
) -> dict[str, Any]:
    """Run (or wrap lazily) the tasks and join them along the scan axis."""
    n_cross = tgt.lon.shape[0]
    n_scan = sum(chunks)
    fixed = list(_FIXED_OUTPUTS)
    fixed_dtypes = [np.float32, np.dtype("timedelta64[ns]"), _index_dtype(n_source), np.int32]
    extra_shapes = [
        tuple(
            source[n].shape[i]
            for i, d in enumerate(source[n].dims)
            if d not in _pixel_dims(source, n)
        )
        for n in names
    ]
    out_names = fixed + [str(n) for n in names]
    dtypes = fixed_dtypes + [np.result_type(source[n].dtype, np.float32) for n in names]
    shapes = [()] * len(fixed) + extra_shapes
    keep = [i for i, name in enumerate(out_names) if with_counts or name != "n_matches"]
    if lazy:
        import dask
        import dask.array as da

        parts: dict[int, list[Any]] = {i: [] for i in keep}
        for piece, size in zip(pieces, chunks, strict=True):
            func, *args = piece
            delayed = dask.delayed(func, nout=len(out_names), pure=True)(*args)
            for i in keep:
                parts[i].append(
                    da.from_delayed(delayed[i], shape=(n_cross, size, *shapes[i]), dtype=dtypes[i])
                )
        return {out_names[i]: da.concatenate(parts[i], axis=1) for i in keep}
    # Eager: tasks write into preallocated outputs, so the result is never held twice.
    arrays_out = _empty_together([((n_cross, n_scan, *shapes[i]), dtypes[i]) for i in keep])
    out = {out_names[i]: a for i, a in zip(keep, arrays_out, strict=True)}
    starts = np.concatenate([[0], np.cumsum(chunks)]).astype(int)

    threads = 1 if num_threads is None else max(1, int(num_threads))
    local = threading.local()
    scratch_size = max((_scratch_size(p) for p in pieces), default=0)
    n_workers = min(threads, len(pieces))
    # One allocation for the work buffers of all threads (huge pages, see _empty_together).
    scratches = np.empty((max(n_workers, 1), scratch_size))
    thread_number = itertools.count()

    def run(j: int) -> None:
        func, *args = pieces[j]
        cols = slice(starts[j], starts[j + 1])
        if func is _swath_task:
            # Write straight into the result, and reuse one work buffer per thread: fresh
            # pages cost more than the arithmetic on a busy machine.
            if getattr(local, "scratch", None) is None:
                local.scratch = scratches[next(thread_number)]
            views = {out_names[i]: out[out_names[i]][:, cols] for i in keep}
            func(*args, into=views, scratch=local.scratch)
            return
        result = func(*args)
        for i in keep:
            out[out_names[i]][:, cols] = result[i]

    if threads > 1 and len(pieces) > 1:
        with nullcontext(pool) if pool is not None else ThreadPoolExecutor(threads) as workers:
            list(workers.map(run, range(len(pieces))))
    else:
        for j in range(len(pieces)):
            run(j)
    return out


def _scratch_size(piece: tuple[Any, ...]) -> int:
    """Floats of the work buffer a swath task needs (0 for other tasks)."""
    from xgpm.colocation import _kernels as k

    if piece[0] is not _swath_task:
        return 0
    params, s_caps = piece[11], piece[13]
    return int(k.scratch_floats(s_caps[1].shape[0], s_caps[5].shape[1], *params["tile"]))
