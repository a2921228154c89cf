"""Numba kernels of the colocation engine.

All geometry is on a sphere of radius R = 6371.0 km in 3-D unit vectors, so the antimeridian
and the poles need no special case. The search metric is the chord ``|p - q|`` between unit
vectors: it is a true metric (the triangle inequality holds, so bounding caps prune exactly)
and it is a monotonic function of the great-circle distance ``d = 2 R asin(chord / 2)``, so
the nearest pixel in chord is the nearest pixel in great-circle distance.

Scan order is the spatial index: a swath is cut into tiles of a few consecutive scans x a few
pixels (about square, ~``SOURCE_TILE_SIZE`` pixels), each with a bounding cap (centre unit
vector, chord radius, time range), and tiles are grouped into blocks of whole scans. For each
target block the kernel tests the source blocks (groups of blocks first), then each target tile
tests the tiles of the candidate blocks, then each target pixel the pixels of the candidate
tiles, pruned by the tight caps of the tiles and by a slab around each scan segment (for
nearest: the tile of the previous pixel's match first, then squared-chord tests against the
best distance so far). No global tree is built, orbits that cross themselves simply give more
than one candidate window, and missing scans / NaN geolocation are skipped.

Unit vectors come from a branch-free polynomial sine/cosine in degrees (:func:`_sincosd`), so
the loops that compute them are vectorised (SIMD): trigonometry, once ~30 % of the time, is a
few percent.

The kernels are compiled ``parallel=False, nogil=True``: parallelism comes from running them on
several target chunks at once (dask threads or the thread pool of :mod:`.core`), never from
numba's own thread pool, so they coexist with dask workers without oversubscription.

The kernels are in modules by stage: :mod:`._sphere_kernels` (constants, unit vectors, chords,
tile caps), :mod:`._block_kernels` (which source blocks a target block can reach),
:mod:`._tile_kernels` (the search inside a tile), this module (the swath kernels
:func:`colocate_swath` and ``colocate_swath_into``) and :mod:`._grid_kernels` (regular grids,
gathering). Every kernel the engine calls is importable from here.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from xgpm.colocation._block_kernels import _GROUP, _group_caps, block_pairs, blocks_needed
from xgpm.colocation._grid_kernels import _divmod, gather_nearest, sample_grid
from xgpm.colocation._sphere_kernels import (
    EARTH_RADIUS_KM,
    MODE_GAUSSIAN,
    MODE_MEAN,
    MODE_NEAREST,
    NAT,
    NO_MATCH,
    SOURCE_TILE_SIZE,
    TARGET_TILE_SIZE,
    _asin_half_chord,
    _chord,
    _far,
    _xyz_run,
    tile_caps,
)
from xgpm.colocation._tile_kernels import _fill_tile, _nearest_in_tile, _scan_axes

# The engine's kernel namespace: the callers read every kernel from here (``k.tile_caps``,
# ``k.block_pairs``, ``k.sample_grid`` ...), wherever it is defined.
__all__ = [
    "MODE_GAUSSIAN",
    "MODE_MEAN",
    "MODE_NEAREST",
    "NAT",
    "NO_MATCH",
    "SOURCE_TILE_SIZE",
    "TARGET_TILE_SIZE",
    "block_pairs",
    "blocks_needed",
    "colocate_swath",
    "colocate_swath_into",
    "gather_nearest",
    "sample_grid",
    "scratch_floats",
    "tile_caps",
]


@njit(cache=True, nogil=True)
def scratch_floats(n_blocks, n_tiles_per_block, tile_pixels, tile_scans):
    """Float64 work space :func:`colocate_swath_into` needs for a source of that tiling."""
    per_tile = 3 * tile_pixels * tile_scans + 4 * tile_scans + 4
    return n_blocks * n_tiles_per_block * per_tile


@njit(cache=True, nogil=True)
def colocate_swath(
    t_lon,
    t_lat,
    t_time,
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
    r_chord,
    max_dt,
    sigma_along,
    sigma_cross,
    tile_pixels,
    tile_scans,
    t_tile_pixels,
    t_tile_scans,
):
    """:func:`colocate_swath_into` with freshly allocated outputs; returns them."""
    nxt = t_lon.shape[0]
    nst = t_time.shape[0]
    index = np.empty((nxt, nst), dtype=np.int64)
    distance = np.empty((nxt, nst), dtype=np.float32)
    offset = np.empty((nxt, nst), dtype=np.int64)
    n_match = np.empty((nxt if mode != MODE_NEAREST else 0, nst), dtype=np.int32)
    out = np.empty((values.shape[0], nxt, nst))
    colocate_swath_into(
        t_lon,
        t_lat,
        t_time,
        0,
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
        r_chord,
        max_dt,
        sigma_along,
        sigma_cross,
        tile_pixels,
        tile_scans,
        t_tile_pixels,
        t_tile_scans,
        index,
        distance,
        offset,
        n_match,
        out,
        np.empty(0),
    )
    return index, distance, offset, n_match, out


@njit(cache=True, nogil=True)
def colocate_swath_into(
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
    r_chord,
    max_dt,
    sigma_along,
    sigma_cross,
    tile_pixels,
    tile_scans,
    t_tile_pixels,
    t_tile_scans,
    index,
    distance,
    offset,
    n_match,
    out,
    scratch,
):
    """Match every target pixel with the source pixels within ``r_chord``.

    Parameters
    ----------
    t_lon, t_lat, s_lon, s_lat : (nx, n) lon/lat in degrees (any float dtype), NaN = missing.
        They may be the whole swaths (no copies): target scan ``s`` of the task is column
        ``t_col0 + s`` of ``t_lon`` / ``t_lat``, source scan ``ss`` column ``s_cols[ss]``.
    t_col0 : first column of the task's target scans in ``t_lon`` / ``t_lat``.
    s_cols : (ns_s,) int64 column of each source scan of the task in ``s_lon`` / ``s_lat``.
    t_caps, s_caps : :func:`tile_caps` of the target (with ``t_tile_*``) and of the source
        subset (with ``tile_*``, whole blocks of the global source tiling).
    t_time, s_time : (ns,) int64 ns since epoch per scan, ``NAT`` = missing.
    scan_ids : (ns_s,) int64 increasing global scan number of each source scan.
    n_scan_global : number of scans of the whole source (for the flat index).
    values : (nvar, nx_s, ns_s) float64 source values (used by mean / gaussian only).
    mode : MODE_NEAREST, MODE_MEAN or MODE_GAUSSIAN.
    r_chord : search radius as chord on the unit sphere.
    max_dt : max |t_source - t_target| in ns, or -1 for no time window.
    sigma_along, sigma_cross : Gaussian sigmas (unit-sphere units) across / along the scan line.

    index, distance, offset, n_match, out : the outputs below, written in place (any
        layout, e.g. column slices of the caller's full result; ``index`` of any int dtype
        holding the global flat index, ``n_match`` with 0 rows for nearest).
    scratch : float64 1-D work buffer (unit vectors and bounds of the source tiles) of at least
        :func:`scratch_floats` elements, reused from task to task; smaller: allocated here.
        (saves fresh pages on every call); ``np.empty(0)`` to allocate.

    Outputs
    -------
    index : (nx_t, ns_t) int64 global flat index ``x * n_scan_global + scan`` of the nearest
        source pixel, -1 if none; ties go to the lowest flat index.
    distance : (nx_t, ns_t) float32 great-circle km to it (NaN if none).
    offset : (nx_t, ns_t) int64 ns, source time - target time (NAT if none).
    n_match : (nx_t, ns_t) int32 number of source pixels within the radius (empty for nearest).
    out : (nvar, nx_t, ns_t) float64 mean / gaussian average (NaN where no valid value).
    """
    use_time = max_dt >= 0
    nvar = values.shape[0]
    nxt = t_lon.shape[0]
    nst = t_time.shape[0]
    nxs = s_lon.shape[0]
    nss = s_time.shape[0]
    index[:] = -1
    distance[:] = np.nan
    offset[:] = NAT
    n_match[:] = 0
    out[:] = np.nan
    if nss == 0 or nxs == 0 or nst == 0 or nxt == 0:
        return
    sb_c, sb_r, sb_n, sb_t, st_c, st_r, st_n = s_caps
    nbs = sb_r.shape[0]
    nbx = st_r.shape[1]
    tb_c, tb_r, tb_n, tb_t, tt_c, tt_r, tt_n = t_caps
    # Tile-major storage: tile (b, k) holds x, y, z planes of its pixels scan by scan,
    # contiguous, NaN if invalid.
    tile_size = tile_scans * tile_pixels
    n_tiles = nbs * nbx
    n_work = scratch_floats(nbs, nbx, tile_pixels, tile_scans)
    work = scratch[:n_work] if scratch.size >= n_work else np.empty(n_work)
    # Per source tile, written when the tile is first used (s_done), never read before:
    s_pts = work[: n_tiles * 3 * tile_size].reshape((n_tiles, 3, tile_size))
    used = n_tiles * 3 * tile_size
    seg = work[used : used + n_tiles * tile_scans * 4].reshape((n_tiles, tile_scans, 4))
    used += n_tiles * tile_scans * 4
    fine_c = work[used : used + n_tiles * 3].reshape((nbs, nbx, 3))  # tight caps
    used += n_tiles * 3
    fine_r = work[used : used + n_tiles].reshape((nbs, nbx))
    buf = np.empty((2, max(tile_size, t_tile_pixels * t_tile_scans)))
    t_pts = np.empty((3, t_tile_pixels * t_tile_scans))  # unit vectors of one target tile
    s_done = np.zeros((nbs, nbx), dtype=np.bool_)
    cand_blk = np.empty(nbs, dtype=np.int64)
    cand_b = np.empty(nbs * nbx, dtype=np.int64)
    cand_k = np.empty(nbs * nbx, dtype=np.int64)
    cand_cap = np.empty((4, nbs * nbx))  # centre and radius of each candidate's tight cap
    lower = np.empty(nbs * nbx)
    order = np.empty(nbs * nbx, dtype=np.int64)
    p = np.zeros((3, 1))
    num = np.zeros(nvar)
    den = np.zeros(nvar)
    r2 = r_chord * r_chord
    R = EARTH_RADIUS_KM
    inv_nss = 1.0 / nss
    g_c, g_r, g_n, g_t = _group_caps(sb_c, sb_r, sb_n, sb_t, _GROUP)
    for a in range(tb_r.shape[0]):
        if tb_n[a] == 0:
            continue
        ts0 = a * t_tile_scans
        ts1 = min(nst, ts0 + t_tile_scans)
        tt0 = tb_t[a, 0]
        tt1 = tb_t[a, 1]
        # Source blocks (whole scans) that can reach this target block, in increasing order;
        # groups of blocks out of reach are skipped at once.
        nblk = 0
        for g in range(g_r.shape[0]):
            if g_n[g] == 0:
                continue
            if use_time and (g_t[g, 0] > tt1 + max_dt or g_t[g, 1] < tt0 - max_dt):
                continue
            if _far(
                tb_c[a, 0],
                tb_c[a, 1],
                tb_c[a, 2],
                g_c[g, 0],
                g_c[g, 1],
                g_c[g, 2],
                tb_r[a] + g_r[g] + r_chord,
            ):
                continue
            for b in range(g * _GROUP, min(nbs, (g + 1) * _GROUP)):
                if sb_n[b] == 0:
                    continue
                if use_time and (sb_t[b, 0] > tt1 + max_dt or sb_t[b, 1] < tt0 - max_dt):
                    continue
                if _far(
                    tb_c[a, 0],
                    tb_c[a, 1],
                    tb_c[a, 2],
                    sb_c[b, 0],
                    sb_c[b, 1],
                    sb_c[b, 2],
                    tb_r[a] + sb_r[b] + r_chord,
                ):
                    continue
                cand_blk[nblk] = b
                nblk += 1
        if nblk == 0:
            continue
        for kt in range(tt_r.shape[1]):
            if tt_n[a, kt] == 0:
                continue
            tx0 = kt * t_tile_pixels
            tx1 = min(nxt, tx0 + t_tile_pixels)
            tcx = tt_c[a, kt, 0]
            tcy = tt_c[a, kt, 1]
            tcz = tt_c[a, kt, 2]
            t_r = tt_r[a, kt]
            ncand = 0
            for i in range(nblk):
                b = cand_blk[i]
                if _far(tcx, tcy, tcz, sb_c[b, 0], sb_c[b, 1], sb_c[b, 2], t_r + sb_r[b] + r_chord):
                    continue
                for k in range(nbx):
                    if st_n[b, k] == 0:
                        continue
                    if _far(
                        tcx,
                        tcy,
                        tcz,
                        st_c[b, k, 0],
                        st_c[b, k, 1],
                        st_c[b, k, 2],
                        t_r + st_r[b, k] + r_chord,
                    ):
                        continue
                    cand_b[ncand] = b
                    cand_k[ncand] = k
                    ncand += 1
                    if not s_done[b, k]:
                        s_done[b, k] = True
                        fine_r[b, k] = _fill_tile(
                            s_lon,
                            s_lat,
                            s_cols,
                            s_time,
                            use_time,
                            b,
                            k,
                            tile_pixels,
                            tile_scans,
                            s_pts[b * nbx + k],
                            buf,
                            fine_c[b, k],
                            seg[b * nbx + k],
                        )
                    # The tight cap of the filled tile often rules it out for this target tile.
                    if _far(
                        tcx,
                        tcy,
                        tcz,
                        fine_c[b, k, 0],
                        fine_c[b, k, 1],
                        fine_c[b, k, 2],
                        t_r + fine_r[b, k] + r_chord,
                    ):
                        ncand -= 1
                        continue
                    # Contiguous copy of the candidate caps for the per-pixel loop.
                    cand_cap[0, ncand - 1] = fine_c[b, k, 0]
                    cand_cap[1, ncand - 1] = fine_c[b, k, 1]
                    cand_cap[2, ncand - 1] = fine_c[b, k, 2]
                    cand_cap[3, ncand - 1] = fine_r[b, k]
            if ncand == 0:
                continue
            # Unit vectors of the tile's pixels in one vectorised loop (NaN: invalid / NaT).
            nts = ts1 - ts0
            n_t = (tx1 - tx0) * nts
            for x in range(tx0, tx1):
                for s in range(ts0, ts1):
                    j = (x - tx0) * nts + s - ts0
                    buf[0, j] = t_lon[x, t_col0 + s]
                    buf[1, j] = t_lat[x, t_col0 + s]
            if use_time:
                for s in range(ts0, ts1):
                    if t_time[s] == NAT:
                        for x in range(tx0, tx1):
                            buf[0, (x - tx0) * nts + s - ts0] = np.nan
            _xyz_run(buf[0], buf[1], t_pts, n_t)
            # The tight cap of the target pixels (the lat/lon-box cap is loose for tiles lying
            # askew to the meridians) rules out more candidate tiles, keeping their order.
            cx = 0.0
            cy = 0.0
            cz = 0.0
            for j in range(n_t):
                if t_pts[0, j] == t_pts[0, j]:
                    cx += t_pts[0, j]
                    cy += t_pts[1, j]
                    cz += t_pts[2, j]
            norm = math.sqrt(cx * cx + cy * cy + cz * cz)
            if norm > 1e-12:
                cx /= norm
                cy /= norm
                cz /= norm
                m2 = 0.0
                for j in range(n_t):
                    dx = t_pts[0, j] - cx
                    dy = t_pts[1, j] - cy
                    dz = t_pts[2, j] - cz
                    d2 = dx * dx + dy * dy + dz * dz
                    m2 = d2 if d2 > m2 else m2  # NaN (invalid pixel) never wins
                t_r = math.sqrt(m2) * (1.0 + 1e-9) + 1e-12
                kept = 0
                for c in range(ncand):
                    if _far(
                        cx,
                        cy,
                        cz,
                        cand_cap[0, c],
                        cand_cap[1, c],
                        cand_cap[2, c],
                        t_r + cand_cap[3, c] + r_chord,
                    ):
                        continue
                    cand_b[kept] = cand_b[c]
                    cand_k[kept] = cand_k[c]
                    for i in range(4):
                        cand_cap[i, kept] = cand_cap[i, c]
                    kept += 1
                ncand = kept
            seed = -1  # candidate tile of the previous pixel's match: scanned first
            for x in range(tx0, tx1):
                for s in range(ts0, ts1):
                    j = (x - tx0) * nts + s - ts0
                    px = t_pts[0, j]
                    if px != px:
                        continue
                    py = t_pts[1, j]
                    pz = t_pts[2, j]
                    tt = t_time[s]
                    if mode == MODE_NEAREST:
                        # Neighbouring target pixels have neighbouring matches: the seed tile
                        # gives a tight bound at once, and every other tile is tested with
                        # squared chords only (skip when chord - cap radius > bound). Exact:
                        # a skipped tile holds no pixel as near as the best one.
                        bi = NO_MATCH
                        bd2 = r2
                        bound = r_chord
                        best_c = -1
                        if seed >= 0:
                            b = cand_b[seed]
                            k = cand_k[seed]
                            bd2, bi = _nearest_in_tile(
                                s_pts,
                                seg,
                                b * nbx + k,
                                b,
                                k,
                                px,
                                py,
                                pz,
                                tt,
                                s_time,
                                use_time,
                                max_dt,
                                bd2,
                                bi,
                                bound,
                                nss,
                                nxs,
                                tile_pixels,
                                tile_scans,
                            )
                            if bi != NO_MATCH:
                                best_c = seed
                                bound = math.sqrt(bd2)
                        for c in range(ncand):
                            if c == seed:
                                continue
                            dx = px - cand_cap[0, c]
                            dy = py - cand_cap[1, c]
                            dz = pz - cand_cap[2, c]
                            lim = cand_cap[3, c] + bound
                            if dx * dx + dy * dy + dz * dz > lim * lim:
                                continue
                            b = cand_b[c]
                            k = cand_k[c]
                            prev = bi
                            bd2, bi = _nearest_in_tile(
                                s_pts,
                                seg,
                                b * nbx + k,
                                b,
                                k,
                                px,
                                py,
                                pz,
                                tt,
                                s_time,
                                use_time,
                                max_dt,
                                bd2,
                                bi,
                                bound,
                                nss,
                                nxs,
                                tile_pixels,
                                tile_scans,
                            )
                            if bi != prev:
                                best_c = c
                                bound = math.sqrt(bd2)
                        if best_c >= 0:
                            seed = best_c
                        if bi != NO_MATCH:
                            xs, ss = _divmod(bi, nss, inv_nss)
                            index[x, s] = xs * n_scan_global + scan_ids[ss]
                            distance[x, s] = 2.0 * R * _asin_half_chord(bd2)
                            if s_time[ss] != NAT and tt != NAT:
                                offset[x, s] = s_time[ss] - tt
                        continue
                    p[0, 0] = px
                    p[1, 0] = py
                    p[2, 0] = pz
                    ok = False
                    ecx = ecy = ecz = eax = eay = eaz = 0.0
                    ia2 = ic2 = 0.0
                    if mode == MODE_GAUSSIAN:
                        ok, ecx, ecy, ecz, eax, eay, eaz = _scan_axes(
                            t_lon, t_lat, x, t_col0 + s, p[:, 0]
                        )
                        if ok:
                            ia2 = 1.0 / (sigma_along * sigma_along)
                            ic2 = 1.0 / (sigma_cross * sigma_cross)
                        else:  # no scan direction: circular footprint of the mean size
                            sig = 0.5 * (sigma_along + sigma_cross)
                            ia2 = 1.0 / (sig * sig)
                            ic2 = ia2
                    bi = np.int64(-1)
                    bd2 = np.inf
                    cnt = 0
                    for v in range(nvar):
                        num[v] = 0.0
                        den[v] = 0.0
                    # Lower bound of the chord to any pixel of each candidate tile; for nearest,
                    # visit tiles closest first so the best match found prunes the rest.
                    nc = 0
                    for c in range(ncand):
                        b = cand_b[c]
                        k = cand_k[c]
                        lb = _chord(px, py, pz, fine_c[b, k, 0], fine_c[b, k, 1], fine_c[b, k, 2])
                        lb -= fine_r[b, k]
                        if lb > r_chord:
                            continue
                        j = nc
                        if mode == MODE_NEAREST:
                            while j > 0 and lower[j - 1] > lb:
                                lower[j] = lower[j - 1]
                                order[j] = order[j - 1]
                                j -= 1
                        lower[j] = lb
                        order[j] = c
                        nc += 1
                    for o in range(nc):
                        if mode == MODE_NEAREST and bi >= 0 and lower[o] > math.sqrt(bd2):
                            break
                        c = order[o]
                        b = cand_b[c]
                        k = cand_k[c]
                        s0 = b * tile_scans
                        x0 = k * tile_pixels
                        nls = min(nss - s0, tile_scans)
                        nlx = min(nxs - x0, tile_pixels)
                        qx = s_pts[b * nbx + k, 0]
                        qy = s_pts[b * nbx + k, 1]
                        qz = s_pts[b * nbx + k, 2]
                        for ls in range(nls):
                            ss = s0 + ls
                            if use_time:
                                st = s_time[ss]
                                if st == NAT or abs(st - tt) > max_dt:
                                    continue
                            base = ls * tile_pixels
                            for lx in range(nlx):
                                dx = qx[base + lx] - px
                                dy = qy[base + lx] - py
                                dz = qz[base + lx] - pz
                                d2 = dx * dx + dy * dy + dz * dz
                                if not d2 <= r2:  # also skips NaN (invalid pixels)
                                    continue
                                if d2 <= bd2:
                                    f = (x0 + lx) * nss + ss
                                    if d2 < bd2 or f < bi:
                                        bd2 = d2
                                        bi = f
                                if mode == MODE_NEAREST:
                                    continue
                                cnt += 1
                                w = 1.0
                                if mode == MODE_GAUSSIAN:
                                    if ok:
                                        da = dx * eax + dy * eay + dz * eaz
                                        dc = dx * ecx + dy * ecy + dz * ecz
                                        w = math.exp(-0.5 * (da * da * ia2 + dc * dc * ic2))
                                    else:
                                        w = math.exp(-0.5 * d2 * ia2)
                                for v in range(nvar):
                                    val = values[v, x0 + lx, ss]
                                    if val == val:
                                        num[v] += w * val
                                        den[v] += w
                    if bi >= 0:
                        xs, ss = _divmod(bi, nss, inv_nss)
                        index[x, s] = xs * n_scan_global + scan_ids[ss]
                        distance[x, s] = 2.0 * R * _asin_half_chord(bd2)
                        if s_time[ss] != NAT and tt != NAT:
                            offset[x, s] = s_time[ss] - tt
                        if mode != MODE_NEAREST:
                            n_match[x, s] = cnt
                            for v in range(nvar):
                                if den[v] > 0.0:
                                    out[v, x, s] = num[v] / den[v]
