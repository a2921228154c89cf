"""Numba kernels of the truth-scene engine and the instruments.

Land fraction, bilinear sampling of tile fields, the AR steps of the noise engine and the
bilinear interpolation of the adaptive forward model's lattice. Imported lazily by
:mod:`xgpm.simulate.scenes`, :mod:`xgpm.simulate._noise` and :mod:`xgpm.simulate.instruments`
(this module imports numba at top level). The kernels reproduce the numpy code they replace
(exactly for the lattice interpolation, up to float rounding otherwise); they exist because the
truth of a full orbit touches ~6.6 M points.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def land_fraction(lat, lon, packed, per_deg, offsets_km, km_per_deg, lake_boxes, out, near_lake):
    """Fraction of land samples in a box of ``offsets_km`` x ``offsets_km`` around each point.

    ``packed``: bit-packed land mask (row 0 at 90 N, ``per_deg`` rows/columns per degree).
    Points whose samples may fall in a lake bounding box (``lake_boxes`` rows: lon0, lat0, lon1,
    lat1) are flagged in ``near_lake`` for an exact recomputation by the caller.
    """
    n_rows = packed.shape[0]
    n_cols = int(360 * per_deg)
    n_off = offsets_km.shape[0]
    reach = np.max(np.abs(offsets_km))
    deg = math.pi / 180.0
    for p in range(lat.shape[0]):
        la = lat[p]
        lo = lon[p]
        cos_lat = max(math.cos(la * deg), 0.05)
        count = 0
        for a in range(n_off):
            lat_s = min(max(la + offsets_km[a] / km_per_deg, -90.0), 90.0)
            row = min(max(int((90.0 - lat_s) * per_deg), 0), n_rows - 1)
            for b in range(n_off):
                lon_s = lo + offsets_km[b] / (km_per_deg * cos_lat)
                col = min(max(int(((lon_s + 180.0) % 360.0) * per_deg), 0), n_cols - 1)
                count += (packed[row, col >> 3] >> (7 - (col & 7))) & 1
        out[p] = np.float32(count) / np.float32(n_off * n_off)
        dlat = reach / km_per_deg
        dlon = reach / (km_per_deg * cos_lat)
        flag = False
        for k in range(lake_boxes.shape[0]):
            if (
                lo + dlon >= lake_boxes[k, 0]
                and lo - dlon <= lake_boxes[k, 2]
                and la + dlat >= lake_boxes[k, 1]
                and la - dlat <= lake_boxes[k, 3]
            ):
                flag = True
                break
        near_lake[p] = flag


@njit(cache=True, nogil=True)
def bilinear(field, rows, cols, out):
    """Bilinear sample of a 2-D field at fractional (row, col), clamped at the edges.

    Same result as ``scipy.ndimage.map_coordinates(order=1, mode="nearest")``.
    """
    ny, nx = field.shape
    for p in range(rows.shape[0]):
        r = min(max(rows[p], 0.0), ny - 1.0)
        c = min(max(cols[p], 0.0), nx - 1.0)
        i = min(int(r), ny - 2) if ny > 1 else 0
        j = min(int(c), nx - 2) if nx > 1 else 0
        wr = r - i
        wc = c - j
        i1 = min(i + 1, ny - 1)
        j1 = min(j + 1, nx - 1)
        top = (1.0 - wc) * field[i, j] + wc * field[i, j1]
        bottom = (1.0 - wc) * field[i1, j] + wc * field[i1, j1]
        out[p] = (1.0 - wr) * top + wr * bottom


@njit(cache=True, nogil=True)
def ar_accumulate(state, decay, uniform, gain):
    """``state = decay * state + e`` in place, ``e`` the innovation of ``uniform`` draws.

    ``uniform`` holds float32 draws in [0, 1): the real parts of all coefficients, then the
    imaginary parts; the innovation is ``gain * (u - 0.5)`` (as built by
    :func:`xgpm.simulate._noise._innovation`), fused here to save passes over the tile.
    """
    s = state.ravel()
    d = decay.ravel()
    half = np.float32(0.5)
    n = s.size
    for i in range(n):
        e = complex(gain * (uniform[i] - half), gain * (uniform[n + i] - half))
        s[i] = d[i] * s[i] + e


@njit(cache=True, nogil=True)
def ar_step(state, decay, scale, decay_tail, uniform_new, uniform_old, gain):
    """One AR step of the truncated moving average, in place.

    ``state = decay * state + scale * e(n) - decay_tail * scale * e(n - M - 1)``.
    """
    s = state.ravel()
    d = decay.ravel()
    c = scale.ravel()
    t = decay_tail.ravel()
    half = np.float32(0.5)
    n = s.size
    for i in range(n):
        e_new = complex(gain * (uniform_new[i] - half), gain * (uniform_new[n + i] - half))
        e_old = complex(gain * (uniform_old[i] - half), gain * (uniform_old[n + i] - half))
        s[i] = d[i] * s[i] + c[i] * e_new - t[i] * c[i] * e_old


@njit(cache=True, nogil=True)
def upsample_into(full, coarse, k, keep):
    """Bilinear upsampling of lattice values into ``full`` except where ``keep`` is True.

    ``full`` (n, ny, nx) float32 receives, at every node not in ``keep`` (ny, nx), the separable
    bilinear interpolation of ``coarse`` (n, my + 1, mx + 1), a copy of ``full[:, ::k, ::k]``:
    rows first, then columns, with the same float32 operations in the same order as
    :func:`xgpm.simulate.instruments._upsample`, so the values are identical to it. One pass and
    no full-size temporaries.
    """
    n, ny, nx = full.shape
    my = coarse.shape[1] - 1
    mx = coarse.shape[2] - 1
    for i in range(ny):
        lo_r = min(i // k, max(my - 1, 0))
        hi_r = min(lo_r + 1, my)
        w_r = np.float32((i - lo_r * k) / k)
        for j in range(nx):
            if keep[i, j]:
                continue
            lo_c = min(j // k, max(mx - 1, 0))
            hi_c = min(lo_c + 1, mx)
            w_c = np.float32((j - lo_c * k) / k)
            for c in range(n):
                a0 = coarse[c, lo_r, lo_c]
                t0 = a0 + w_r * (coarse[c, hi_r, lo_c] - a0)
                a1 = coarse[c, lo_r, hi_c]
                t1 = a1 + w_r * (coarse[c, hi_r, hi_c] - a1)
                full[c, i, j] = t0 + w_c * (t1 - t0)
