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
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Pixels per tile; the tile shape (pixels x scans) is chosen per swath to be roughly square.
SOURCE_TILE_SIZE = 64
TARGET_TILE_SIZE = 32
NAT = np.iinfo(np.int64).min
_GROUP = 16  # source blocks per group: a coarser level of caps for the block search
NO_MATCH = np.iinfo(np.int64).max  # flat index before any match (loses every tie)

EARTH_RADIUS_KM = 6371.0
MODE_NEAREST = 0
MODE_MEAN = 1
MODE_GAUSSIAN = 2


# fdlibm's __kernel_sin / __kernel_cos minimax polynomials on [-pi/4, pi/4] (error < 1 ulp).
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11
_D2R = math.pi / 180.0


@njit(cache=True, nogil=True, inline="always")
def _sincosd(deg):
    """(sin, cos) of an angle in degrees, without calls or branches (so loops vectorise).

    The quadrant is removed in degrees (``deg - 90 q`` is exact for |deg| <= 360), then
    fdlibm's polynomials on [-45, 45] deg give results within ~1 ulp of glibc's.
    """
    q = math.floor(deg * (1.0 / 90.0) + 0.5)
    r = (deg - 90.0 * q) * _D2R
    z = r * r
    sn = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    cs = 1.0 - 0.5 * z + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    qi = np.int64(q) & 3
    s1 = cs if qi & 1 else sn
    c1 = sn if qi & 1 else cs
    s1 = -s1 if qi & 2 else s1
    c1 = -c1 if (qi + 1) & 2 else c1
    return s1, c1


@njit(cache=True, nogil=True)
def _xyz_run(lon, lat, out, n):
    """Unit vectors of ``lon[:n]``, ``lat[:n]`` (degrees) into ``out[0:3, :n]``; NaN if invalid.

    Branch-free, so the loop is vectorised (SIMD): ~15x faster than glibc's sin/cos per pixel.
    """
    for i in range(n):
        lo = np.float64(lon[i])
        la = np.float64(lat[i])
        bad = (lo != lo) | ~(abs(la) <= 90.0 + 1e-9)
        sla, cla = _sincosd(la)
        slo, clo = _sincosd(lo)
        out[0, i] = np.nan if bad else cla * clo
        out[1, i] = np.nan if bad else cla * slo
        out[2, i] = np.nan if bad else sla


@njit(cache=True, nogil=True)
def _xyz(lon, lat, out, k):
    """Write the unit vector of (lon, lat) degrees to out[:, k]; return False if invalid."""
    lo = np.float64(lon)
    la = np.float64(lat)
    if lo != lo or la != la or abs(la) > 90.0 + 1e-9:
        return False
    sla, cla = _sincosd(la)
    slo, clo = _sincosd(lo)
    out[0, k] = cla * clo
    out[1, k] = cla * slo
    out[2, k] = sla
    return True


@njit(cache=True, nogil=True)
def _box_cap(lon, lat, x0, x1, s0, s1, stime, use_time, out_c):
    """Bounding cap of pixels [x0:x1, s0:s1] from their lat/lon box (no per-pixel trig).

    The farthest point of a lat/lon box (lon span <= 180 deg) from the box centre is a corner
    (distance grows with |dlon| along a parallel and is unimodal along a meridian), so the cap
    through the farthest corner contains every pixel. Boxes spanning more than 180
    deg of longitude (around a pole) get a polar cap. Fills out_c (3,) with the centre, returns
    (chord radius, number of valid pixels). (:func:`tile_caps` finds the boxes of ordinary
    tiles faster itself and calls this for the others.)
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
    return _cap_of_box(la_min, la_max, lo_min, lo_max, out_c), n


@njit(cache=True, nogil=True)
def _cap_of_box(la_min, la_max, lo_min, lo_max, out_c):
    """Centre (into ``out_c``) and chord radius of the cap around a lat/lon box."""
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
        # (Polynomial sin/cos in degrees, as for the pixels: no libm calls per tile.)
        s_la, c_la = _sincosd(0.5 * (la_min + la_max))
        s_lo, c_lo = _sincosd(0.5 * (lo_min + lo_max))
        out_c[0] = c_la * c_lo
        out_c[1] = c_la * s_lo
        out_c[2] = s_la
        # Chord to the farthest corner (haversine form): the corners are (la, lon_c +- half
        # span), all at the same latitude offset, so the farthest is the one whose latitude
        # has the larger cosine.
        s_h, _ = _sincosd(0.25 * (la_max - la_min))
        s_d, _ = _sincosd(0.25 * (lo_max - lo_min))
        _, c_far = _sincosd(min(abs(la_min), abs(la_max)))
        chord = 2.0 * math.sqrt(s_h * s_h + c_la * c_far * s_d * s_d)
    # Margin so rounding never prunes a pixel on the cap's edge (~1e-6 m).
    return chord * (1.0 + 1e-9) + 1e-12


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
def _asin_half_chord(chord2):
    """Return ``asin(chord / 2)`` from the squared chord, without libm for short distances.

    Below ``chord / 2 = 0.01`` (127 km) the series to x**7 is within 3e-16 relative (the
    distance is stored as float32); libm's ``asin`` beyond.
    """
    x = 0.5 * math.sqrt(chord2)
    if x < 0.01:
        x2 = x * x
        return x * (1.0 + x2 * (1.0 / 6.0 + x2 * (3.0 / 40.0 + x2 * (5.0 / 112.0))))
    return math.asin(min(1.0, x))


@njit(cache=True, nogil=True, inline="always")
def _far(ax, ay, az, bx, by, bz, lim):
    """Whether the chord between a and b exceeds ``lim`` (>= 0), without a square root."""
    dx = ax - bx
    dy = ay - by
    dz = az - bz
    return dx * dx + dy * dy + dz * dz > lim * lim


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
            # Lat/lon box with selects, no branches (3x faster than skipping invalid pixels);
            # tiles with longitudes outside [-180, 180) or spanning > 180 deg go the slow way.
            la_min = 1e9
            la_max = -1e9
            lo_min = 1e9
            lo_max = -1e9
            n = 0
            odd = False
            for x in range(x0, x1):
                for s in range(s0, s1):
                    lo = np.float64(lon[x, s])
                    la = np.float64(lat[x, s])
                    ok = (lo == lo) & (abs(la) <= 90.0 + 1e-9)
                    if use_time:
                        ok &= stime[s] != NAT
                    odd |= ok & ((lo < -180.0) | (lo >= 180.0))
                    n += ok
                    la_min = min(la_min, la) if ok else la_min
                    la_max = max(la_max, la) if ok else la_max
                    lo_min = min(lo_min, lo) if ok else lo_min
                    lo_max = max(lo_max, lo) if ok else lo_max
            if n == 0:
                r = 0.0
            elif odd or lo_max - lo_min > 180.0:
                r, n = _box_cap(lon, lat, x0, x1, s0, s1, stime, use_time, tile_c[b, k])
            else:
                r = _cap_of_box(la_min, la_max, lo_min, lo_max, tile_c[b, k])
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
    s_lon, s_lat, s_cols, s_time, use_time, b, k, tile_pixels, tile_scans, pts, buf, cap_c, seg
):
    """Fill the unit vectors of tile (b, k), scan by scan; NaN for invalid pixels or NaT scans.

    Local source scan ``ss`` is column ``s_cols[ss]`` of ``s_lon`` / ``s_lat`` (``s_time`` is
    local). ``pts`` is (3, tile_scans * tile_pixels): x, y, z planes, pixel ``lx`` of scan ``ls`` at
    ``ls * tile_pixels + lx`` (padding beyond the swath edge is NaN); ``buf`` (2, same) is work
    space for the gathered lon/lat, so that the trigonometry runs as one vectorised loop.

    Also writes the tile's tight cap centre to ``cap_c`` and returns its chord radius (tighter
    than the lat/lon-box cap used for planning, so the per-pixel pruning visits fewer tiles),
    and a slab around each of its scan segments to ``seg`` (tile_scans, 4): the unit normal of
    the great circle through the segment's first and last valid pixels and the largest
    ``|q . normal|`` of its pixels ``q`` (the half width). A point ``p`` is at least
    ``|p . normal| - width`` from every pixel of the segment (projection on a unit vector
    shortens chords), and scan lines are nearly great-circle arcs, so the slab is thin: it
    rules out the other scans of the tile at once.
    """
    nxs = s_lon.shape[0]
    nss = s_time.shape[0]
    s0 = b * tile_scans
    x0 = k * tile_pixels
    nls = min(nss - s0, tile_scans)
    nlx = min(nxs - x0, tile_pixels)
    size = tile_scans * tile_pixels
    blon = buf[0]
    blat = buf[1]
    if nls < tile_scans or nlx < tile_pixels:
        blon[:size] = np.nan
    for lx in range(nlx):  # along the scans: contiguous reads of the (cross, scan) arrays
        for ls in range(nls):
            j = ls * tile_pixels + lx
            col = s_cols[s0 + ls]
            blon[j] = s_lon[x0 + lx, col]
            blat[j] = s_lat[x0 + lx, col]
    if use_time:
        for ls in range(nls):
            if s_time[s0 + ls] == NAT:
                for lx in range(nlx):
                    blon[ls * tile_pixels + lx] = np.nan
    _xyz_run(blon, blat, pts, size)
    px = pts[0]
    py = pts[1]
    pz = pts[2]
    cx = 0.0
    cy = 0.0
    cz = 0.0
    for ls in range(tile_scans):
        # Slab of the scan segment: the plane through the centre of the sphere and its first and
        # last valid pixels, and how far its pixels are from that plane.
        seg[ls, 0] = 0.0  # no valid pixel: a slab that rejects every point
        seg[ls, 1] = 0.0
        seg[ls, 2] = 0.0
        seg[ls, 3] = -8.0
        if ls >= nls:
            continue
        first = -1
        last = -1
        for lx in range(nlx):
            j = ls * tile_pixels + lx
            if px[j] == px[j]:
                if first < 0:
                    first = j
                last = j
                cx += px[j]
                cy += py[j]
                cz += pz[j]
        if first < 0:
            continue
        nx_ = py[first] * pz[last] - pz[first] * py[last]
        ny_ = pz[first] * px[last] - px[first] * pz[last]
        nz_ = px[first] * py[last] - py[first] * px[last]
        nn = math.sqrt(nx_ * nx_ + ny_ * ny_ + nz_ * nz_)
        if nn < 1e-12:  # one pixel, or ends (anti)parallel: a slab that never prunes
            seg[ls, 0] = 1.0
            seg[ls, 3] = 4.0
            continue
        nx_ /= nn
        ny_ /= nn
        nz_ /= nn
        w = 0.0
        for lx in range(nlx):
            j = ls * tile_pixels + lx
            h = abs(px[j] * nx_ + py[j] * ny_ + pz[j] * nz_)
            w = h if h > w else w  # NaN (invalid pixel) never wins
        seg[ls, 0] = nx_
        seg[ls, 1] = ny_
        seg[ls, 2] = nz_
        seg[ls, 3] = w * (1.0 + 1e-9) + 1e-12
    norm = math.sqrt(cx * cx + cy * cy + cz * cz)
    if norm < 1e-12:
        cap_c[0] = 0.0
        cap_c[1] = 0.0
        cap_c[2] = 0.0
        return 4.0  # no valid pixel (or a degenerate spread): never prunes wrongly
    ux = cx / norm
    uy = cy / norm
    uz = cz / norm
    cap_c[0] = ux
    cap_c[1] = uy
    cap_c[2] = uz
    r2 = 0.0
    for j in range(size):
        dx = px[j] - ux
        dy = py[j] - uy
        dz = pz[j] - uz
        d2 = dx * dx + dy * dy + dz * dz
        r2 = d2 if d2 > r2 else r2
    return math.sqrt(r2) * (1.0 + 1e-9) + 1e-12


@njit(cache=True, nogil=True, inline="always")
def _nearest_in_tile(
    s_pts,
    seg,
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
    bd2,
    bi,
    bound,
    nss,
    nxs,
    tile_pixels,
    tile_scans,
):
    """Scan tile (b, k) (flat index ``t`` of ``s_pts``) for a pixel nearer than ``bd2``.

    Returns the updated (bd2, bi): squared chord and flat source index of the best pixel. Start
    from ``bd2 = r2`` (squared search radius) and ``bi = NO_MATCH``: a pixel wins when it is
    nearer, or as near with a lower flat index (ties go to the lowest index), so a pixel on
    the radius is accepted and NaN (invalid) pixels never are.

    Scan segments whose slab is farther than the best chord so far are skipped.
    """
    s0 = b * tile_scans
    x0 = k * tile_pixels
    nls = min(nss - s0, tile_scans)
    nlx = min(nxs - x0, tile_pixels)
    qx = s_pts[t, 0]
    qy = s_pts[t, 1]
    qz = s_pts[t, 2]
    for ls in range(nls):
        ss = s0 + ls
        if use_time:
            st = s_time[ss]
            if st == NAT or abs(st - tt) > max_dt:
                continue
        if (
            abs(px * seg[t, ls, 0] + py * seg[t, ls, 1] + pz * seg[t, ls, 2])
            > seg[t, ls, 3] + bound
        ):
            continue
        base = ls * tile_pixels
        for lx in range(nlx):
            dx = qx[base + lx] - px
            dy = qy[base + lx] - py
            dz = qz[base + lx] - pz
            d2 = dx * dx + dy * dy + dz * dz
            if d2 <= bd2:
                f = (x0 + lx) * nss + ss
                if d2 < bd2 or f < bi:
                    bd2 = d2
                    bi = f
                    bound = math.sqrt(d2)
    return bd2, bi


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


@njit(cache=True, nogil=True)
def _divmod(i, n, inv):
    """Return ``divmod(i, n)`` for 0 <= i < 2**52, through a float reciprocal ``inv = 1 / n``.

    An integer division costs ~10x more; the float estimate is off by at most one.
    """
    q = np.int64(np.float64(i) * inv)
    r = i - q * n
    if r < 0:
        q -= 1
        r += n
    elif r >= n:
        q += 1
        r -= n
    return q, r


@njit(cache=True, nogil=True)
def gather_nearest(index, n_scan_global, local_scan, values, out):
    """Values of the nearest source pixels, without the temporaries of fancy indexing.

    ``out[x, s, :] = values[xs, local_scan[scan], :]`` for the nearest source pixel
    ``index[x, s] = xs * n_scan_global + scan``, NaN where ``index < 0``.
    """
    nv = values.shape[2]
    inv = 1.0 / n_scan_global
    for x in range(index.shape[0]):
        for s in range(index.shape[1]):
            i = np.int64(index[x, s])
            if i < 0:
                for v in range(nv):
                    out[x, s, v] = np.nan
                continue
            xs, scan = _divmod(i, n_scan_global, inv)
            ls = local_scan[scan]
            for v in range(nv):
                out[x, s, v] = values[xs, ls, v]


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
