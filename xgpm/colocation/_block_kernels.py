"""Numba kernels of the colocation engine: which source blocks each target block can reach.

:func:`blocks_needed` and :func:`block_pairs` test the caps of target blocks against those of
source blocks (groups of ``_GROUP`` blocks first, ``_group_caps``), so that each target tile
only ever looks at the tiles of the candidate blocks. See :mod:`xgpm.colocation._kernels`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from xgpm.colocation._sphere_kernels import NAT, _chord

_GROUP = 16  # source blocks per group: a coarser level of caps for the block search


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
