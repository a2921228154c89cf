"""Numba kernels of the colocation engine: the sphere (unit vectors, chords, bounding caps).

The constants every kernel shares (tile sizes, sentinels, modes, the Earth's radius), the
branch-free sine/cosine in degrees (``_sincosd``) and unit vectors, chord and great-circle
arithmetic, and :func:`tile_caps`: the bounding cap (centre, chord radius, time range) of each
tile of a swath. See :mod:`xgpm.colocation._kernels` for the design.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Pixels per tile; the tile shape (pixels x scans) is chosen per swath to be roughly square.
SOURCE_TILE_SIZE = 64


TARGET_TILE_SIZE = 32


NAT = np.iinfo(np.int64).min


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


@njit(cache=True, nogil=True, inline="always")
def _box_pixel(lon, lat, x, s, stime, use_time):
    """(valid, lon, lat) of pixel (x, s) for :func:`_box_cap`, lon normalised to [-180, 180).

    Invalid: NaN lon or lat, |lat| > 90, or (with ``use_time``) a NaT scan.
    """
    if use_time and stime[s] == NAT:
        return False, 0.0, 0.0
    lo = np.float64(lon[x, s])
    la = np.float64(lat[x, s])
    if lo != lo or la != la or abs(la) > 90.0 + 1e-9:
        return False, 0.0, 0.0
    if lo < -180.0 or lo >= 180.0:  # rare: normalise to [-180, 180)
        lo = ((lo + 180.0) % 360.0) - 180.0
    return True, lo, la


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
            ok, lo, la = _box_pixel(lon, lat, x, s, stime, use_time)
            if not ok:
                continue
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
                ok, lo, la = _box_pixel(lon, lat, x, s, stime, use_time)
                if not ok:
                    continue
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
