"""Colocation stage 3: the per-chunk work, one call of the Numba kernels per task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xgpm.colocation._common import _FIXED_OUTPUTS, _NAT, EARTH_RADIUS_KM


def _stack_values(arrays: list[np.ndarray]) -> np.ndarray:
    """(nvar_flat, n_cross, n_scan) float64 from arrays shaped (n_cross, n_scan, *extra)."""
    parts = [
        np.asarray(a, dtype=np.float64).reshape(a.shape[0], a.shape[1], -1)
        if a.size
        else np.zeros(a.shape[:2] + (int(np.prod(a.shape[2:])),))
        for a in arrays
    ]
    if not parts:
        return np.zeros((0, 0, 0))
    return np.ascontiguousarray(np.moveaxis(np.concatenate(parts, axis=2), 2, 0))


def _swath_task(
    t_lon: np.ndarray,
    t_lat: np.ndarray,
    t_time: np.ndarray,
    t_col0: int,
    s_lon: np.ndarray,
    s_lat: np.ndarray,
    s_cols: np.ndarray,
    s_time: np.ndarray,
    scan_ids: np.ndarray,
    n_scan_global: int,
    params: dict[str, Any],
    t_caps: tuple[np.ndarray, ...],
    s_caps: tuple[np.ndarray, ...],
    *arrays: np.ndarray,
    into: dict[str, np.ndarray] | None = None,
    scratch: np.ndarray | None = None,
) -> tuple[np.ndarray, ...] | None:
    """Colocate one target chunk.

    The chunk's target scans are columns ``t_col0 : t_col0 + t_time.size`` of ``t_lon`` /
    ``t_lat``, and its source scans (global numbers ``scan_ids``) columns ``s_cols`` of
    ``s_lon`` / ``s_lat``: eager calls pass the whole swaths (no copies), lazy ones the chunk's
    own copies. ``arrays`` hold the source values of the ``scan_ids`` scans only.

    With ``into`` (views of the caller's full outputs, keyed by output name, variables last in
    the order of ``arrays``) results are written there in place and None is returned.
    """
    from xgpm.colocation import _kernels as k

    mode = params["mode"]
    nxt, nst = t_lon.shape[0], t_time.size
    values = _stack_values(list(arrays)) if mode != k.MODE_NEAREST else np.zeros((0, 1, 1))
    index_dtype = _index_dtype(s_lon.shape[0] * n_scan_global)
    if into is None:
        index = np.empty((nxt, nst), dtype=index_dtype)
        distance = np.empty((nxt, nst), dtype=np.float32)
        offset = np.empty((nxt, nst), dtype="timedelta64[ns]")
        n_match = np.empty((nxt if mode != k.MODE_NEAREST else 0, nst), dtype=np.int32)
    else:
        index, distance, offset = into["source_index"], into["distance"], into["time_offset"]
        n_match = into.get("n_matches", np.empty((0, nst), dtype=np.int32))
    out = np.empty((values.shape[0], nxt, nst))
    k.colocate_swath_into(
        t_lon,
        t_lat,
        t_time,
        t_col0,
        t_caps,
        s_lon,
        s_lat,
        s_cols,
        s_time,
        s_caps,
        scan_ids,
        n_scan_global,
        values,
        mode,
        params["r_chord"],
        params["max_dt"],
        params["sigma_along"],
        params["sigma_cross"],
        *params["tile"],
        *params["target_tile"],
        index,
        distance,
        offset.view(np.int64),
        n_match,
        out,
        np.empty(0) if scratch is None else scratch,
    )
    var_names = [n for n in (into or {}) if n not in _FIXED_OUTPUTS]
    if mode == k.MODE_NEAREST:
        local = np.zeros(n_scan_global, dtype=np.int64)  # global scan -> scan in the subset
        local[scan_ids] = np.arange(scan_ids.size)
        outs = []
        for v, a in enumerate(arrays):
            a = np.asarray(a)
            if into is None:
                dtype = np.result_type(a.dtype, np.float32)
                g = np.empty(index.shape + a.shape[2:], dtype=dtype)
            else:
                g = into[var_names[v]]
            # (nx, ns, m) views of the values and of the output (a copy would lose the writes).
            m = int(np.prod(a.shape[2:]))
            a3 = a.reshape(a.shape[0], a.shape[1], m)
            g3 = g.reshape(g.shape[0], g.shape[1], m)
            if np.may_share_memory(g3, g) and a.dtype.kind in "fiub":
                k.gather_nearest(index, n_scan_global, local, a3, g3)
            else:  # unusual layouts: fancy indexing
                ok = index >= 0
                xs, scan = np.divmod(index[ok], n_scan_global)
                g[...] = np.nan
                g[ok] = a[xs, local[scan]]
            outs.append(g)
        n_match = None
    else:
        outs = _split_out(out, arrays)
        if into is not None:
            for v, o in enumerate(outs):
                into[var_names[v]][...] = o
    if into is not None:
        return None
    return (distance, offset, index, n_match, *outs)


def _index_dtype(n_source_pixels: int) -> np.dtype:
    """int32 flat indices when they fit (halves the memory of ``source_index``), else int64."""
    return np.dtype(np.int32 if n_source_pixels < np.iinfo(np.int32).max else np.int64)


def _split_out(out: np.ndarray, arrays: Sequence[Any]) -> list[np.ndarray]:
    """Split (nvar_flat, nx, ns) back into one (nx, ns, *extra) array per variable."""
    res = []
    start = 0
    for a in arrays:
        extra = a.shape[2:]
        n = int(np.prod(extra)) if extra else 1
        block = np.moveaxis(out[start : start + n], 0, -1)
        dtype = np.result_type(a.dtype, np.float32)
        res.append(block.reshape(block.shape[:2] + tuple(extra)).astype(dtype, copy=False))
        start += n
    return res


def _finish(
    chord: np.ndarray,
    index: np.ndarray,
    ok: np.ndarray,
    t_time: np.ndarray,
    s_time_matched: np.ndarray | None,
    n_match: np.ndarray | None,
    outs: list[np.ndarray],
) -> tuple[np.ndarray, ...]:
    distance = (2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))).astype(
        np.float32
    )
    if s_time_matched is None:
        offset = np.full(chord.shape, _NAT, dtype=np.int64)
    else:
        tt = np.broadcast_to(t_time[None, :], chord.shape)
        valid = ok & (s_time_matched != _NAT) & (tt != _NAT)
        offset = np.where(valid, s_time_matched - tt, _NAT)
    return (distance, offset.view("timedelta64[ns]"), index, n_match, *outs)


def _grid_task(
    t_lon: np.ndarray,
    t_lat: np.ndarray,
    t_time: np.ndarray,
    time_index: np.ndarray,
    grid_times: np.ndarray | None,
    params: dict[str, Any],
    *arrays: np.ndarray,
) -> tuple[np.ndarray, ...]:
    from xgpm.colocation import _kernels as k

    g = params["grid"]
    # arrays: (ntime, nlat, nlon, *extra) -> values (nvar_flat, ntime, nlat, nlon)
    parts = []
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        parts.append(a.reshape(a.shape[:3] + (-1,)))
    values = np.ascontiguousarray(np.moveaxis(np.concatenate(parts, axis=3), 3, 0))
    if g["flip_lat"]:
        values = values[:, :, ::-1, :]
    values = np.ascontiguousarray(values)
    best, chord, out = k.sample_grid(
        t_lon,
        t_lat,
        time_index,
        values,
        g["lat0"],
        g["dlat"],
        g["nlat"],
        g["lon0"],
        g["dlon"],
        g["nlon"],
        g["periodic"],
        params["mode"],
    )
    ok = (best >= 0) & (chord <= params["r_chord"])
    chord = np.where(ok, chord, np.nan)
    out = np.where(ok[None], out, np.nan)
    index = np.where(ok, best, -1)
    if g["flip_lat"]:  # report the index in the source's own lat order
        i, j = index // g["nlon"], index % g["nlon"]
        index = np.where(ok, (g["nlat"] - 1 - i) * g["nlon"] + j, -1)
    matched = None
    if grid_times is not None:
        ti = np.broadcast_to(time_index[None, :], chord.shape)
        matched = np.where(ti >= 0, grid_times[np.clip(ti, 0, None)], _NAT)
    outs = _split_out(out, [np.empty((1, 1) + a.shape[3:], dtype=a.dtype) for a in arrays])
    index = index.astype(_index_dtype(g["nlat"] * g["nlon"]), copy=False)
    return _finish(chord, index, ok, t_time, matched, None, outs)
