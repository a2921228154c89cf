"""Numba kernels of the colocation engine.

All geometry is on a sphere of radius R = 6371.0 km in 3-D unit vectors, so the antimeridian
and the poles need no special case. The search metric is the chord ``|p - q|`` between unit
vectors: it is a true metric (the triangle inequality holds, so bounding caps prune exactly)
and it is a monotonic function of the great-circle distance ``d = 2 R asin(chord / 2)``, so
the nearest pixel in chord is the nearest pixel in great-circle distance.

Scan order is the spatial index: a swath is cut into tiles of a few consecutive scans x a few
pixels (about square, ~``SOURCE_TILE_SIZE`` pixels), each with a bounding cap (centre unit
vector, chord radius, time range), and tiles are grouped into blocks of whole scans. For each
target block the kernel tests every source block, then each target tile tests the tiles of the
candidate blocks, then each target pixel the pixels of the candidate tiles, pruned by the tight
caps of the tiles and of their scan segments (for nearest: the tile of the previous pixel's
match first, then squared-chord tests against the best distance so far). No global tree is
built, orbits that cross themselves simply give more than one candidate window, and missing
scans / NaN geolocation are skipped.

The kernels are compiled ``parallel=False, nogil=True``: parallelism comes from running them on
several target chunks at once (dask threads or the thread pool of :mod:`.core`), never from
numba's own thread pool, so they coexist with dask workers without oversubscription.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Pixels per tile; the tile shape (pixels x scans) is chosen per swath to be roughly square.
SOURCE_TILE_SIZE = 64
TARGET_TILE_SIZE = 32
NAT = np.iinfo(np.int64).min

EARTH_RADIUS_KM = 6371.0
MODE_NEAREST = 0
MODE_MEAN = 1
MODE_GAUSSIAN = 2


@njit(cache=True, nogil=True)
def _xyz(lon, lat, out, k):
    """Write the unit vector of (lon, lat) degrees to out[:, k]; return False if invalid."""
    lo = np.float64(lon)
    la = np.float64(lat)
    if lo != lo or la != la or abs(la) > 90.0 + 1e-9:
        return False
    d2r = math.pi / 180.0
    cl = math.cos(la * d2r)
    out[0, k] = cl * math.cos(lo * d2r)
    out[1, k] = cl * math.sin(lo * d2r)
    out[2, k] = math.sin(la * d2r)
    return True


@njit(cache=True, nogil=True)
def _box_cap(lon, lat, x0, x1, s0, s1, stime, use_time, out_c):
    """Bounding cap of pixels [x0:x1, s0:s1] from their lat/lon box (no per-pixel trig).

    The farthest point of a lat/lon box (lon span <= 180 deg) from the box centre is a corner
    (distance grows with |dlon| along a parallel and is unimodal along a meridian), so the cap
    through the farthest corner contains every pixel. Boxes spanning more than 180
    deg of longitude (around a pole) get a polar cap. Fills out_c (3,) with the centre, returns
    (chord radius, number of valid pixels).
    """
    la_min = 1e9
    la_max = -1e9
    lo_min = 1e9
    lo_max = -1e9
    n = 0
    for x in range(x0, x1):
        for s in range(s0, s1):
            if use_time and stime[s] == NAT:
                continue
            lo = np.float64(lon[x, s])
            la = np.float64(lat[x, s])
            if lo != lo or la != la or abs(la) > 90.0 + 1e-9:
                continue
            if lo < -180.0 or lo >= 180.0:  # rare: normalise to [-180, 180)
                lo = ((lo + 180.0) % 360.0) - 180.0
            n += 1
            la_min = min(la_min, la)
            la_max = max(la_max, la)
            lo_min = min(lo_min, lo)
            lo_max = max(lo_max, lo)
    if n == 0:
        out_c[0] = 0.0
        out_c[1] = 0.0
        out_c[2] = 0.0
        return 0.0, 0
    if lo_max - lo_min > 180.0:
        # Maybe shorter the other way round, across the antimeridian: longitudes wrapped to
        # [0, 360). (A span <= 180 deg is never shorter wrapped, so only this case needs it.)
        lw_min = 1e9
        lw_max = -1e9
        for x in range(x0, x1):
            for s in range(s0, s1):
                if use_time and stime[s] == NAT:
                    continue
                lo = np.float64(lon[x, s])
                la = np.float64(lat[x, s])
                if lo != lo or la != la or abs(la) > 90.0 + 1e-9:
                    continue
                if lo < -180.0 or lo >= 180.0:
                    lo = ((lo + 180.0) % 360.0) - 180.0
                lw = lo + 360.0 if lo < 0.0 else lo
                lw_min = min(lw_min, lw)
                lw_max = max(lw_max, lw)
        if lw_max - lw_min < lo_max - lo_min:
            lo_min = lw_min
            lo_max = lw_max
    span = lo_max - lo_min
    d2r = math.pi / 180.0
    if span > 180.0:
        if la_min > 0.0:
            cz, ang = 1.0, (90.0 - la_min) * d2r
        elif la_max < 0.0:
            cz, ang = -1.0, (90.0 + la_max) * d2r
        else:
            cz, ang = 0.0, math.pi
        out_c[0] = 1.0 if cz == 0.0 else 0.0
        out_c[1] = 0.0
        out_c[2] = cz
        chord = 2.0 * math.sin(0.5 * min(ang, math.pi))
    else:
        c_lo = 0.5 * (lo_min + lo_max) * d2r
        c_la = 0.5 * (la_min + la_max) * d2r
        cl = math.cos(c_la)
        out_c[0] = cl * math.cos(c_lo)
        out_c[1] = cl * math.sin(c_lo)
        out_c[2] = math.sin(c_la)
        # Chord from the centre to the farthest of the 4 corners.
        c0 = math.cos(lo_min * d2r)
        sn0 = math.sin(lo_min * d2r)
        c1 = math.cos(lo_max * d2r)
        sn1 = math.sin(lo_max * d2r)
        chord = 0.0
        for la in (la_min, la_max):
            cla = math.cos(la * d2r)
            sla = math.sin(la * d2r)
            chord = max(
                chord,
                _chord(cla * c0, cla * sn0, sla, out_c[0], out_c[1], out_c[2]),
                _chord(cla * c1, cla * sn1, sla, out_c[0], out_c[1], out_c[2]),
            )
    # Margin so rounding never prunes a pixel on the cap's edge (~1e-6 m).
    return chord * (1.0 + 1e-9) + 1e-12, n


@njit(cache=True, nogil=True)
def _time_range(stime, s0, s1):
    t0 = np.iinfo(np.int64).max
    t1 = NAT
    for s in range(s0, s1):
        t = stime[s]
        if t == NAT:
            continue
        if t < t0:
            t0 = t
        if t > t1:
            t1 = t
    return t0, t1


@njit(cache=True, nogil=True)
def _chord(ax, ay, az, bx, by, bz):
    dx = ax - bx
    dy = ay - by
    dz = az - bz
    return math.sqrt(dx * dx + dy * dy + dz * dz)


@njit(cache=True, nogil=True)
def tile_caps(lon, lat, stime, use_time, tile_pixels, tile_scans):
    """Caps of tiles (scans x pixel segments) and of blocks (whole scans) of a swath."""
    nx = lon.shape[0]
    ns = lon.shape[1]
    nbx = (nx + tile_pixels - 1) // tile_pixels
    nbs = (ns + tile_scans - 1) // tile_scans
    block_c = np.zeros((nbs, 3))
    block_r = np.zeros(nbs)
    block_n = np.zeros(nbs, dtype=np.int64)
    block_t = np.zeros((nbs, 2), dtype=np.int64)
    tile_c = np.zeros((nbs, nbx, 3))
    tile_r = np.zeros((nbs, nbx))
    tile_n = np.zeros((nbs, nbx), dtype=np.int64)
    for b in range(nbs):
        s0 = b * tile_scans
        s1 = min(ns, s0 + tile_scans)
        t0, t1 = _time_range(stime, s0, s1)
        block_t[b, 0] = t0
        block_t[b, 1] = t1
        cx = 0.0
        cy = 0.0
        cz = 0.0
        for k in range(nbx):
            x0 = k * tile_pixels
            x1 = min(nx, x0 + tile_pixels)
            r, n = _box_cap(lon, lat, x0, x1, s0, s1, stime, use_time, tile_c[b, k])
            tile_r[b, k] = r
            tile_n[b, k] = n
            if n > 0:
                block_n[b] += n
                cx += tile_c[b, k, 0]
                cy += tile_c[b, k, 1]
                cz += tile_c[b, k, 2]
        if block_n[b] == 0:
            continue
        # Block cap encloses its tile caps (triangle inequality of the chord metric).
        norm = math.sqrt(cx * cx + cy * cy + cz * cz)
        if norm < 1e-12:
            cx, cy, cz, norm = 1.0, 0.0, 0.0, 1.0
        block_c[b, 0] = cx / norm
        block_c[b, 1] = cy / norm
        block_c[b, 2] = cz / norm
        r = 0.0
        for k in range(nbx):
            if tile_n[b, k] > 0:
                d = _chord(
                    block_c[b, 0],
                    block_c[b, 1],
                    block_c[b, 2],
                    tile_c[b, k, 0],
                    tile_c[b, k, 1],
                    tile_c[b, k, 2],
                )
                r = max(r, d + tile_r[b, k])
        block_r[b] = r * (1.0 + 1e-12)
    return block_c, block_r, block_n, block_t, tile_c, tile_r, tile_n


@njit(cache=True, nogil=True)
def blocks_needed(t_caps, s_caps, r_chord, max_dt, tile_scans, ns):
    """Boolean mask over source scans that some target pixel could match (planning step).

    ``t_caps`` / ``s_caps`` are :func:`tile_caps` of the target chunk and the whole source.
    Whole source blocks of ``tile_scans`` scans are selected, so a task's source subset is tiled
    exactly like the full source and sums run in the same order for any target chunking.
    """
    use_time = max_dt >= 0
    tb_c, tb_r, tb_n, tb_t = t_caps[0], t_caps[1], t_caps[2], t_caps[3]
    sb_c, sb_r, sb_n, sb_t = s_caps[0], s_caps[1], s_caps[2], s_caps[3]
    need = np.zeros(ns, dtype=np.bool_)
    for a in range(tb_r.shape[0]):
        if tb_n[a] == 0:
            continue
        for b in range(sb_r.shape[0]):
            if sb_n[b] == 0 or need[b * tile_scans]:
                continue
            if use_time and (sb_t[b, 0] > tb_t[a, 1] + max_dt or sb_t[b, 1] < tb_t[a, 0] - max_dt):
                continue
            d = _chord(tb_c[a, 0], tb_c[a, 1], tb_c[a, 2], sb_c[b, 0], sb_c[b, 1], sb_c[b, 2])
            if d - tb_r[a] - sb_r[b] > r_chord:
                continue
            s0 = b * tile_scans
            for s in range(s0, min(ns, s0 + tile_scans)):
                need[s] = True
    return need


@njit(cache=True, nogil=True)
def _group_caps(sb_c, sb_r, sb_n, sb_t, group):
    """Caps and time ranges of groups of ``group`` consecutive source blocks (a coarser level)."""
    nsb = sb_r.shape[0]
    ng = (nsb + group - 1) // group
    g_c = np.zeros((ng, 3))
    g_r = np.zeros(ng)
    g_n = np.zeros(ng, dtype=np.int64)
    g_t = np.empty((ng, 2), dtype=np.int64)
    for g in range(ng):
        b0 = g * group
        b1 = min(nsb, b0 + group)
        cx = 0.0
        cy = 0.0
        cz = 0.0
        t0 = np.iinfo(np.int64).max
        t1 = NAT
        for b in range(b0, b1):
            if sb_n[b] == 0:
                continue
            g_n[g] += 1
            cx += sb_c[b, 0]
            cy += sb_c[b, 1]
            cz += sb_c[b, 2]
            t0 = min(t0, sb_t[b, 0])
            t1 = max(t1, sb_t[b, 1])
        g_t[g, 0] = t0
        g_t[g, 1] = t1
        if g_n[g] == 0:
            continue
        norm = math.sqrt(cx * cx + cy * cy + cz * cz)
        if norm < 1e-12:
            g_c[g, 0] = 1.0
            g_r[g] = 4.0  # degenerate spread: never prunes
            continue
        g_c[g, 0] = cx / norm
        g_c[g, 1] = cy / norm
        g_c[g, 2] = cz / norm
        r = 0.0
        for b in range(b0, b1):
            if sb_n[b] > 0:
                d = _chord(g_c[g, 0], g_c[g, 1], g_c[g, 2], sb_c[b, 0], sb_c[b, 1], sb_c[b, 2])
                r = max(r, d + sb_r[b])
        g_r[g] = r * (1.0 + 1e-12) + 1e-15
    return g_c, g_r, g_n, g_t


@njit(cache=True, nogil=True)
def block_pairs(t_caps, s_caps, r_chord, max_dt, group):
    """Source blocks within reach of each target block, as CSR ``(indptr, indices)``.

    The same block test as :func:`blocks_needed` (caps and time ranges), for the whole target
    at once, with groups of ``group`` source blocks tested first (a group cap encloses its
    block caps, so a group out of reach holds no block in reach: the selection is unchanged).
    ``indices[indptr[a]:indptr[a + 1]]`` are the increasing source blocks of target block ``a``.
    """
    use_time = max_dt >= 0
    tb_c, tb_r, tb_n, tb_t = t_caps[0], t_caps[1], t_caps[2], t_caps[3]
    sb_c, sb_r, sb_n, sb_t = s_caps[0], s_caps[1], s_caps[2], s_caps[3]
    nsb = sb_r.shape[0]
    ntb = tb_r.shape[0]
    g_c, g_r, g_n, g_t = _group_caps(sb_c, sb_r, sb_n, sb_t, group)
    ng = g_r.shape[0]
    indptr = np.zeros(ntb + 1, dtype=np.int64)
    size = max(16, 4 * ntb)
    indices = np.empty(size, dtype=np.int64)
    n = 0
    for a in range(ntb):
        indptr[a] = n
        if tb_n[a] == 0:
            continue
        lo_t = tb_t[a, 0] - max_dt
        hi_t = tb_t[a, 1] + max_dt
        for g in range(ng):
            if g_n[g] == 0:
                continue
            if use_time and (g_t[g, 0] > hi_t or g_t[g, 1] < lo_t):
                continue
            d = _chord(tb_c[a, 0], tb_c[a, 1], tb_c[a, 2], g_c[g, 0], g_c[g, 1], g_c[g, 2])
            if d - tb_r[a] - g_r[g] > r_chord:
                continue
            for b in range(g * group, min(nsb, (g + 1) * group)):
                if sb_n[b] == 0:
                    continue
                if use_time and (sb_t[b, 0] > hi_t or sb_t[b, 1] < lo_t):
                    continue
                d = _chord(tb_c[a, 0], tb_c[a, 1], tb_c[a, 2], sb_c[b, 0], sb_c[b, 1], sb_c[b, 2])
                if d - tb_r[a] - sb_r[b] > r_chord:
                    continue
                if n == size:
                    size *= 2
                    grown = np.empty(size, dtype=np.int64)
                    grown[:n] = indices[:n]
                    indices = grown
                indices[n] = b
                n += 1
    indptr[ntb] = n
    return indptr, indices[:n]


@njit(cache=True, nogil=True)
def _scan_axes(t_lon, t_lat, x, s, p):
    """Return unit vectors along the local scan line (cross) and perpendicular to it (along)."""
    nx = t_lon.shape[0]
    xa = max(0, x - 1)
    xb = min(nx - 1, x + 1)
    e = np.empty((3, 2))
    if xa == xb or not _xyz(t_lon[xa, s], t_lat[xa, s], e, 0):
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    if not _xyz(t_lon[xb, s], t_lat[xb, s], e, 1):
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    px, py, pz = p[0], p[1], p[2]
    ex = e[0, 1] - e[0, 0]
    ey = e[1, 1] - e[1, 0]
    ez = e[2, 1] - e[2, 0]
    dot = ex * px + ey * py + ez * pz  # project on the tangent plane at p
    ex -= dot * px
    ey -= dot * py
    ez -= dot * pz
    norm = math.sqrt(ex * ex + ey * ey + ez * ez)
    if norm < 1e-15:
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    ex /= norm
    ey /= norm
    ez /= norm
    ax = py * ez - pz * ey
    ay = pz * ex - px * ez
    az = px * ey - py * ex
    return True, ex, ey, ez, ax, ay, az


@njit(cache=True, nogil=True)
def _fill_tile(
    s_lon, s_lat, s_time, use_time, b, k, tile_pixels, tile_scans, pts, cap_c, seg_c, seg_r
):
    """Fill the unit vectors of tile (b, k), scan by scan; NaN for invalid pixels or NaT scans.

    Also writes the tile's tight cap centre to ``cap_c`` and returns its chord radius (tighter
    than the lat/lon-box cap used for planning, so the per-pixel pruning visits fewer tiles),
    and the cap of each of its scan segments to ``seg_c`` / ``seg_r`` (radius -1: no pixel).
    """
    nxs = s_lon.shape[0]
    nss = s_lon.shape[1]
    s0 = b * tile_scans
    x0 = k * tile_pixels
    cx = 0.0
    cy = 0.0
    cz = 0.0
    nls = min(nss - s0, tile_scans)
    nlx = min(nxs - x0, tile_pixels)
    for ls in range(nls):
        ss = s0 + ls
        bad_time = use_time and s_time[ss] == NAT
        for lx in range(nlx):
            j = ls * tile_pixels + lx
            if bad_time or not _xyz(s_lon[x0 + lx, ss], s_lat[x0 + lx, ss], pts.T, j):
                pts[j, 0] = np.nan
                pts[j, 1] = np.nan
                pts[j, 2] = np.nan
            else:
                cx += pts[j, 0]
                cy += pts[j, 1]
                cz += pts[j, 2]
    for ls in range(tile_scans):
        # Scan segment caps: centre = first + last valid pixel (normalised), radius = max chord.
        seg_r[ls] = -1.0
        if ls >= nls:
            continue
        first = -1
        last = -1
        for lx in range(nlx):
            j = ls * tile_pixels + lx
            if pts[j, 0] == pts[j, 0]:
                if first < 0:
                    first = j
                last = j
        if first < 0:
            continue
        sx = pts[first, 0] + pts[last, 0]
        sy = pts[first, 1] + pts[last, 1]
        sz = pts[first, 2] + pts[last, 2]
        sn = math.sqrt(sx * sx + sy * sy + sz * sz)
        if sn < 1e-12:
            seg_c[ls, 0] = 0.0
            seg_c[ls, 1] = 0.0
            seg_c[ls, 2] = 0.0
            seg_r[ls] = 4.0  # antipodal ends: never prunes
            continue
        seg_c[ls, 0] = sx / sn
        seg_c[ls, 1] = sy / sn
        seg_c[ls, 2] = sz / sn
        m2 = 0.0
        for lx in range(nlx):
            j = ls * tile_pixels + lx
            if pts[j, 0] == pts[j, 0]:
                dx = pts[j, 0] - seg_c[ls, 0]
                dy = pts[j, 1] - seg_c[ls, 1]
                dz = pts[j, 2] - seg_c[ls, 2]
                m2 = max(m2, dx * dx + dy * dy + dz * dz)
        seg_r[ls] = math.sqrt(m2) * (1.0 + 1e-9) + 1e-12
    norm = math.sqrt(cx * cx + cy * cy + cz * cz)
    if norm < 1e-12:
        cap_c[0] = 0.0
        cap_c[1] = 0.0
        cap_c[2] = 0.0
        return 4.0  # no valid pixel (or a degenerate spread): never prunes wrongly
    cap_c[0] = cx / norm
    cap_c[1] = cy / norm
    cap_c[2] = cz / norm
    r2 = 0.0
    for ls in range(nls):
        for lx in range(nlx):
            j = ls * tile_pixels + lx
            if pts[j, 0] == pts[j, 0]:
                dx = pts[j, 0] - cap_c[0]
                dy = pts[j, 1] - cap_c[1]
                dz = pts[j, 2] - cap_c[2]
                r2 = max(r2, dx * dx + dy * dy + dz * dz)
    return math.sqrt(r2) * (1.0 + 1e-9) + 1e-12


@njit(cache=True, nogil=True, inline="always")
def _nearest_in_tile(
    s_pts,
    seg_c,
    seg_r,
    t,
    b,
    k,
    px,
    py,
    pz,
    tt,
    s_time,
    use_time,
    max_dt,
    r2,
    bd2,
    bi,
    bound,
    nss,
    nxs,
    tile_pixels,
    tile_scans,
):
    """Scan tile (b, k) (flat index ``t`` of ``s_pts``) for the nearest pixel within ``r2``.

    Returns the updated (bd2, bi).

    ``bound`` is the chord of the best match so far (or the radius): scan segments whose cap is
    farther than that are skipped (squared chords, no square root).
    """
    s0 = b * tile_scans
    x0 = k * tile_pixels
    nls = min(nss - s0, tile_scans)
    nlx = min(nxs - x0, tile_pixels)
    for ls in range(nls):
        ss = s0 + ls
        if use_time:
            st = s_time[ss]
            if st == NAT or abs(st - tt) > max_dt:
                continue
        rs = seg_r[t, ls]
        if rs < 0.0:
            continue
        ex = px - seg_c[t, ls, 0]
        ey = py - seg_c[t, ls, 1]
        ez = pz - seg_c[t, ls, 2]
        lim = rs + bound
        if ex * ex + ey * ey + ez * ez > lim * lim:
            continue
        base = ls * tile_pixels
        for lx in range(nlx):
            dx = s_pts[t, base + lx, 0] - px
            dy = s_pts[t, base + lx, 1] - py
            dz = s_pts[t, base + lx, 2] - pz
            d2 = dx * dx + dy * dy + dz * dz
            if not d2 <= r2:  # also skips NaN (invalid pixels)
                continue
            if d2 <= bd2:
                f = (x0 + lx) * nss + ss
                if d2 < bd2 or f < bi:
                    bd2 = d2
                    bi = f
                    bound = math.sqrt(d2)
    return bd2, bi


@njit(cache=True, nogil=True)
def colocate_swath(
    t_lon,
    t_lat,
    t_time,
    t_caps,
    s_lon,
    s_lat,
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
    nst = t_lon.shape[1]
    index = np.empty((nxt, nst), dtype=np.int64)
    distance = np.empty((nxt, nst), dtype=np.float32)
    offset = np.empty((nxt, nst), dtype=np.int64)
    n_match = np.empty((nxt if mode != MODE_NEAREST else 0, nst), dtype=np.int32)
    out = np.empty((values.shape[0], nxt, nst))
    colocate_swath_into(
        t_lon,
        t_lat,
        t_time,
        t_caps,
        s_lon,
        s_lat,
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
    t_caps,
    s_lon,
    s_lat,
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
    t_lon, t_lat, s_lon, s_lat : (nx, ns) lon/lat in degrees (any float dtype), NaN = missing.
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
    scratch : float64 1-D work buffer reused for the source unit vectors when large enough
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
    nst = t_lon.shape[1]
    nxs = s_lon.shape[0]
    nss = s_lon.shape[1]
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
    # Tile-major storage: tile (b, k) holds its pixels scan by scan, contiguous, NaN if invalid.
    tile_size = tile_scans * tile_pixels
    n_pts = nbs * nbx * tile_size * 3
    if scratch.size >= n_pts:
        s_pts = scratch[:n_pts].reshape((nbs * nbx, tile_size, 3))
    else:
        s_pts = np.empty((nbs * nbx, tile_size, 3))
    s_done = np.zeros((nbs, nbx), dtype=np.bool_)
    fine_c = np.zeros((nbs, nbx, 3))  # tight caps of the filled tiles
    fine_r = np.zeros((nbs, nbx))
    seg_c = np.zeros((nbs * nbx, tile_scans, 3))  # caps of the scan segments of filled tiles
    seg_r = np.zeros((nbs * nbx, tile_scans))
    cand_blk = np.empty(nbs, dtype=np.int64)
    cand_b = np.empty(nbs * nbx, dtype=np.int64)
    cand_k = np.empty(nbs * nbx, dtype=np.int64)
    cand_cap = np.empty((nbs * nbx, 4))  # centre and radius of each candidate's tight cap
    lower = np.empty(nbs * nbx)
    order = np.empty(nbs * nbx, dtype=np.int64)
    p = np.zeros((3, 1))
    num = np.zeros(nvar)
    den = np.zeros(nvar)
    r2 = r_chord * r_chord
    R = EARTH_RADIUS_KM
    for a in range(tb_r.shape[0]):
        if tb_n[a] == 0:
            continue
        ts0 = a * t_tile_scans
        ts1 = min(nst, ts0 + t_tile_scans)
        tt0 = tb_t[a, 0]
        tt1 = tb_t[a, 1]
        # Source blocks (whole scans) that can reach this target block.
        nblk = 0
        for b in range(nbs):
            if sb_n[b] == 0:
                continue
            if use_time and (sb_t[b, 0] > tt1 + max_dt or sb_t[b, 1] < tt0 - max_dt):
                continue
            d = _chord(tb_c[a, 0], tb_c[a, 1], tb_c[a, 2], sb_c[b, 0], sb_c[b, 1], sb_c[b, 2])
            if d - tb_r[a] - sb_r[b] > r_chord:
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
                d = _chord(tcx, tcy, tcz, sb_c[b, 0], sb_c[b, 1], sb_c[b, 2])
                if d - t_r - sb_r[b] > r_chord:
                    continue
                for k in range(nbx):
                    if st_n[b, k] == 0:
                        continue
                    d = _chord(tcx, tcy, tcz, st_c[b, k, 0], st_c[b, k, 1], st_c[b, k, 2])
                    if d - t_r - st_r[b, k] > r_chord:
                        continue
                    cand_b[ncand] = b
                    cand_k[ncand] = k
                    ncand += 1
                    if not s_done[b, k]:
                        s_done[b, k] = True
                        fine_r[b, k] = _fill_tile(
                            s_lon,
                            s_lat,
                            s_time,
                            use_time,
                            b,
                            k,
                            tile_pixels,
                            tile_scans,
                            s_pts[b * nbx + k],
                            fine_c[b, k],
                            seg_c[b * nbx + k],
                            seg_r[b * nbx + k],
                        )
                    # The tight cap of the filled tile often rules it out for this target tile.
                    d = _chord(tcx, tcy, tcz, fine_c[b, k, 0], fine_c[b, k, 1], fine_c[b, k, 2])
                    if d - t_r - fine_r[b, k] > r_chord:
                        ncand -= 1
                        continue
                    # Contiguous copy of the candidate caps for the per-pixel loop.
                    cand_cap[ncand - 1, 0] = fine_c[b, k, 0]
                    cand_cap[ncand - 1, 1] = fine_c[b, k, 1]
                    cand_cap[ncand - 1, 2] = fine_c[b, k, 2]
                    cand_cap[ncand - 1, 3] = fine_r[b, k]
            if ncand == 0:
                continue
            seed = -1  # candidate tile of the previous pixel's match: scanned first
            for x in range(tx0, tx1):
                for s in range(ts0, ts1):
                    tt = t_time[s]
                    if use_time and tt == NAT:
                        continue
                    if not _xyz(t_lon[x, s], t_lat[x, s], p, 0):
                        continue
                    px = p[0, 0]
                    py = p[1, 0]
                    pz = p[2, 0]
                    if mode == MODE_NEAREST:
                        # Neighbouring target pixels have neighbouring matches: the seed tile
                        # gives a tight bound at once, and every other tile is tested with
                        # squared chords only (skip when chord - cap radius > bound). Exact:
                        # a skipped tile holds no pixel as near as the best one.
                        bi = np.int64(-1)
                        bd2 = np.inf
                        bound = r_chord
                        best_c = -1
                        if seed >= 0:
                            b = cand_b[seed]
                            k = cand_k[seed]
                            bd2, bi = _nearest_in_tile(
                                s_pts,
                                seg_c,
                                seg_r,
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
                                r2,
                                bd2,
                                bi,
                                bound,
                                nss,
                                nxs,
                                tile_pixels,
                                tile_scans,
                            )
                            if bi >= 0:
                                best_c = seed
                                bound = math.sqrt(bd2)
                        for c in range(ncand):
                            if c == seed:
                                continue
                            dx = px - cand_cap[c, 0]
                            dy = py - cand_cap[c, 1]
                            dz = pz - cand_cap[c, 2]
                            lim = cand_cap[c, 3] + bound
                            if dx * dx + dy * dy + dz * dz > lim * lim:
                                continue
                            b = cand_b[c]
                            k = cand_k[c]
                            prev = bi
                            bd2, bi = _nearest_in_tile(
                                s_pts,
                                seg_c,
                                seg_r,
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
                                r2,
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
                        if bi >= 0:
                            xs = bi // nss
                            ss = bi % nss
                            index[x, s] = xs * n_scan_global + scan_ids[ss]
                            distance[x, s] = 2.0 * R * math.asin(min(1.0, 0.5 * math.sqrt(bd2)))
                            if s_time[ss] != NAT and tt != NAT:
                                offset[x, s] = s_time[ss] - tt
                        continue
                    ok = False
                    ecx = ecy = ecz = eax = eay = eaz = 0.0
                    ia2 = ic2 = 0.0
                    if mode == MODE_GAUSSIAN:
                        ok, ecx, ecy, ecz, eax, eay, eaz = _scan_axes(t_lon, t_lat, x, s, p[:, 0])
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
                        pts = s_pts[b * nbx + k]
                        for ls in range(nls):
                            ss = s0 + ls
                            if use_time:
                                st = s_time[ss]
                                if st == NAT or abs(st - tt) > max_dt:
                                    continue
                            base = ls * tile_pixels
                            for lx in range(nlx):
                                dx = pts[base + lx, 0] - px
                                dy = pts[base + lx, 1] - py
                                dz = pts[base + lx, 2] - pz
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
                        xs = bi // nss
                        ss = bi % nss
                        index[x, s] = xs * n_scan_global + scan_ids[ss]
                        distance[x, s] = 2.0 * R * math.asin(min(1.0, 0.5 * math.sqrt(bd2)))
                        if s_time[ss] != NAT and tt != NAT:
                            offset[x, s] = s_time[ss] - tt
                        if mode != MODE_NEAREST:
                            n_match[x, s] = cnt
                            for v in range(nvar):
                                if den[v] > 0.0:
                                    out[v, x, s] = num[v] / den[v]


@njit(cache=True, nogil=True)
def _grid_point(lat0, dlat, lon0, dlon, i, j, out):
    d2r = math.pi / 180.0
    la = (lat0 + i * dlat) * d2r
    lo = (lon0 + j * dlon) * d2r
    cl = math.cos(la)
    out[0] = cl * math.cos(lo)
    out[1] = cl * math.sin(lo)
    out[2] = math.sin(la)


@njit(cache=True, nogil=True)
def sample_grid(
    t_lon, t_lat, time_index, values, lat0, dlat, nlat, lon0, dlon, nlon, periodic, mode
):
    """Nearest (mode 0) or bilinear (mode 1) sampling of a regular lat/lon grid at target pixels.

    ``values`` is (nvar, ntime, nlat, nlon) with increasing latitude; ``time_index`` (ns_t,)
    picks the grid time step of each target scan (-1: none). Returns the nearest grid flat
    index ``i * nlon + j`` (-1 if none), the chord to it and the sampled values.
    """
    nvar = values.shape[0]
    nxt = t_lon.shape[0]
    nst = t_lon.shape[1]
    best = np.full((nxt, nst), -1, dtype=np.int64)
    best_chord = np.full((nxt, nst), np.nan)
    out = np.full((nvar, nxt, nst), np.nan)
    g = np.zeros(3)
    pt = np.zeros((3, 1))
    d2r = math.pi / 180.0
    for x in range(nxt):
        for s in range(nst):
            it = time_index[s]
            if it < 0 or not _xyz(t_lon[x, s], t_lat[x, s], pt, 0):
                continue
            px = pt[0, 0]
            py = pt[1, 0]
            pz = pt[2, 0]
            lon = np.float64(t_lon[x, s])
            lat = np.float64(t_lat[x, s])
            fj = (lon - lon0) / dlon
            if periodic:
                fj = fj % nlon
            fi = (lat - lat0) / dlat
            # Nearest: the nearest column is one of the two bracketing ones (distance grows with
            # |dlon| at any latitude); for a column the nearest row brackets the latitude
            # phi* = atan2(sin(lat), cos(lat) cos(dlon)) where great-circle distance is least.
            bi = np.int64(-1)
            bd2 = np.inf
            jf = math.floor(fj)
            for dj in range(2):
                j = jf + dj
                if periodic:
                    j = j % nlon
                elif j < 0 or j >= nlon:
                    continue
                dl = (lon - (lon0 + j * dlon)) * d2r
                phi = math.atan2(math.sin(lat * d2r), math.cos(lat * d2r) * math.cos(dl)) / d2r
                fi_star = (phi - lat0) / dlat
                i_f = math.floor(fi_star)
                for di in range(2):
                    i = min(max(i_f + di, 0), nlat - 1)
                    _grid_point(lat0, dlat, lon0, dlon, i, j, g)
                    d2 = (g[0] - px) ** 2 + (g[1] - py) ** 2 + (g[2] - pz) ** 2
                    flat = i * nlon + j
                    if d2 < bd2 or (d2 == bd2 and flat < bi):
                        bd2 = d2
                        bi = flat
            if not periodic and (fj < -0.5 or fj > nlon - 0.5):
                bi = -1
            if fi < -0.5 or fi > nlat - 0.5:
                bi = -1
            if bi < 0:
                continue
            best[x, s] = bi
            best_chord[x, s] = math.sqrt(bd2)
            if mode == 0:
                i = bi // nlon
                j = bi % nlon
                for v in range(nvar):
                    out[v, x, s] = values[v, it, i, j]
                continue
            # Bilinear between the 4 surrounding nodes, renormalised over the non-NaN ones.
            if fi < 0.0 or fi > nlat - 1 or (not periodic and (fj < 0.0 or fj > nlon - 1)):
                continue
            i0 = min(int(math.floor(fi)), nlat - 2) if nlat > 1 else 0
            wi = fi - i0 if nlat > 1 else 0.0
            j0 = int(math.floor(fj))
            if not periodic:
                j0 = min(j0, nlon - 2) if nlon > 1 else 0
            wj = fj - j0 if nlon > 1 else 0.0
            j1 = (j0 + 1) % nlon if periodic else min(j0 + 1, nlon - 1)
            i1 = min(i0 + 1, nlat - 1)
            for v in range(nvar):
                acc = 0.0
                wsum = 0.0
                for ci in range(2):
                    ii = i1 if ci else i0
                    wa = wi if ci else 1.0 - wi
                    for cj in range(2):
                        jj = j1 if cj else j0
                        w = wa * (wj if cj else 1.0 - wj)
                        val = values[v, it, ii, jj]
                        if w > 0.0 and val == val:
                            acc += w * val
                            wsum += w
                if wsum > 0.0:
                    out[v, x, s] = acc / wsum
    return best, best_chord, out
