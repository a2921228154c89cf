"""Numba kernels of the colocation engine: regular grids (lat/lon or projected) and gathering.

:func:`sample_grid` reads a regular grid at swath pixels (nearest or bilinear) and
:func:`gather_nearest` gathers source values by the flat indices a swath search found.
See :mod:`xgpm.colocation._kernels`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from xgpm.colocation._sphere_kernels import _xyz


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
