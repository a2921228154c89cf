"""Numba kernels of the colocation engine: the search inside a tile.

``_scan_axes`` (the scan segment's along/across axes), ``_fill_tile`` (a target tile's candidate
source pixels, pruned by the tiles' caps and a slab around each scan segment) and
``_nearest_in_tile`` (the nearest candidate: the tile of the previous pixel's match first, then
squared-chord tests against the best distance so far). See :mod:`xgpm.colocation._kernels`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from xgpm.colocation._sphere_kernels import NAT, _xyz, _xyz_run


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
