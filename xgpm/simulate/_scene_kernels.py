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
def land_fraction(
    lat, lon, packed, summary, per_deg, offsets_km, km_per_deg, lake_boxes, out, near_lake
):
    """Fraction of land samples in a box of ``offsets_km`` x ``offsets_km`` around each point.

    ``packed``: bit-packed land mask (row 0 at 90 N, ``per_deg`` rows/columns per degree).
    ``summary[i, j]`` says whether the 8 x 8 mask cells of rows ``8 i .. 8 i + 7`` and packed
    byte ``j`` are all water (0), all land (1) or mixed (2): a box whose samples all fall in pure
    cells of one kind (open ocean, inland) is 0 or 1 without sampling (the same value).
    ``offsets_km`` must be increasing. Points whose samples may fall in a lake bounding box
    (``lake_boxes`` rows: lon0, lat0, lon1, lat1) are flagged in ``near_lake`` for an exact
    recomputation by the caller.
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
        # The rows and columns the samples fall in (rows fall as latitude rises).
        lat_hi = min(max(la + offsets_km[n_off - 1] / km_per_deg, -90.0), 90.0)
        lat_lo = min(max(la + offsets_km[0] / km_per_deg, -90.0), 90.0)
        row_top = min(max(int((90.0 - lat_hi) * per_deg), 0), n_rows - 1)
        row_bottom = min(max(int((90.0 - lat_lo) * per_deg), 0), n_rows - 1)
        lon_w = lo + offsets_km[0] / (km_per_deg * cos_lat)
        lon_e = lo + offsets_km[n_off - 1] / (km_per_deg * cos_lat)
        col_w = min(max(int(((lon_w + 180.0) % 360.0) * per_deg), 0), n_cols - 1)
        col_e = min(max(int(((lon_e + 180.0) % 360.0) * per_deg), 0), n_cols - 1)
        kind = -1
        if col_w <= col_e:  # not across the date line
            for i in range(row_top >> 3, (row_bottom >> 3) + 1):
                for j in range(col_w >> 3, (col_e >> 3) + 1):
                    v = summary[i, j]
                    if v == 2 or (kind >= 0 and v != kind):
                        kind = 2
                        break
                    kind = v
                if kind == 2:
                    break
        if kind == 0 or kind == 1:
            out[p] = np.float32(kind)
        else:
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


@njit(cache=True, nogil=True, inline="always")
def _cell(r, c, ny, nx):
    """Corner indices and weights of the bilinear cell of (r, c), already clamped to the grid."""
    i = min(int(r), ny - 2) if ny > 1 else 0
    j = min(int(c), nx - 2) if nx > 1 else 0
    return i, j, min(i + 1, ny - 1), min(j + 1, nx - 1), r - i, c - j


@njit(cache=True, nogil=True, inline="always")
def _blend(field, i, j, i1, j1, wr, wc):
    """Bilinear blend of the four corners of a cell."""
    top = (1.0 - wc) * field[i, j] + wc * field[i, j1]
    bottom = (1.0 - wc) * field[i1, j] + wc * field[i1, j1]
    return (1.0 - wr) * top + wr * bottom


@njit(cache=True, nogil=True)
def bilinear(field, rows, cols, out):
    """Bilinear sample of a 2-D field at fractional (row, col), clamped at the edges.

    Same result as ``scipy.ndimage.map_coordinates(order=1, mode="nearest")``.
    """
    ny, nx = field.shape
    for p in range(rows.shape[0]):
        r = min(max(rows[p], 0.0), ny - 1.0)
        c = min(max(cols[p], 0.0), nx - 1.0)
        i, j, i1, j1, wr, wc = _cell(r, c, ny, nx)
        out[p] = _blend(field, i, j, i1, j1, wr, wc)


@njit(cache=True, nogil=True)
def ar_accumulate(state, phi, rows, cols, draws, gain):
    """``state = decay * state + e`` in place, ``e`` the innovation of random bytes ``draws``.

    ``decay[i, j] = phi[i, j] * rows[i] * cols[j]`` (AR coefficient times the separable phase
    ramps of the one-step advection). ``draws`` holds int8 values: the real parts of all
    coefficients, then the imaginary parts; the innovation is ``gain * (b + 0.5)`` (as built by
    :func:`xgpm.simulate._noise._innovation`), fused here to save passes over the tile.
    """
    ny, nx = state.shape
    n = ny * nx
    half = np.float32(0.5)
    for i in range(ny):
        r = rows[i]
        for j in range(nx):
            k = i * nx + j
            e = complex(
                gain * (np.float32(draws[k]) + half), gain * (np.float32(draws[n + k]) + half)
            )
            state[i, j] = phi[i, j] * (r * cols[j]) * state[i, j] + e


@njit(cache=True, nogil=True)
def ar_step(state, phi, rows, cols, scale, phi_tail, rows_t, cols_t, draws_new, draws_old, gain):
    """One AR step of the truncated moving average, in place.

    ``state = decay * state + scale * e(n) - decay_tail * scale * e(n - M - 1)``, ``decay`` and
    ``decay_tail`` built from amplitudes and phase ramps as in :func:`ar_accumulate`.
    """
    ny, nx = state.shape
    n = ny * nx
    half = np.float32(0.5)
    for i in range(ny):
        r = rows[i]
        rt = rows_t[i]
        for j in range(nx):
            k = i * nx + j
            e_new = complex(
                gain * (np.float32(draws_new[k]) + half),
                gain * (np.float32(draws_new[n + k]) + half),
            )
            e_old = complex(
                gain * (np.float32(draws_old[k]) + half),
                gain * (np.float32(draws_old[n + k]) + half),
            )
            c = scale[i, j]
            state[i, j] = (
                phi[i, j] * (r * cols[j]) * state[i, j]
                + c * e_new
                - phi_tail[i, j] * (rt * cols_t[j]) * c * e_old
            )


@njit(cache=True, nogil=True)
def filter_shift(state, amplitude, rows, cols, out):
    """``out = state * amplitude * rows[:, None] * cols[None, :]`` (filter and advection)."""
    ny, nx = state.shape
    for i in range(ny):
        r = rows[i]
        for j in range(nx):
            out[i, j] = state[i, j] * (amplitude[i, j] * (r * cols[j]))


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
    for c in range(n):  # channel by channel: contiguous writes
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
                a0 = coarse[c, lo_r, lo_c]
                t0 = a0 + w_r * (coarse[c, hi_r, lo_c] - a0)
                a1 = coarse[c, lo_r, hi_c]
                t1 = a1 + w_r * (coarse[c, hi_r, hi_c] - a1)
                full[c, i, j] = t0 + w_c * (t1 - t0)


@njit(cache=True, nogil=True)
def bilinear_weighted(field, rows, cols, weight, out):
    """``out = sqrt(weight) * bilinear(field, rows, cols)`` (a tile's blended contribution)."""
    ny, nx = field.shape
    for p in range(rows.shape[0]):
        r = min(max(rows[p], 0.0), ny - 1.0)
        c = min(max(cols[p], 0.0), nx - 1.0)
        i, j, i1, j1, wr, wc = _cell(r, c, ny, nx)
        out[p] = np.float32(math.sqrt(weight[p])) * np.float32(_blend(field, i, j, i1, j1, wr, wc))


@njit(cache=True, nogil=True)
def add_at(dst, index, values):
    """``dst[index] += values`` (distinct indices)."""
    for p in range(index.shape[0]):
        dst[index[p]] += values[p]


@njit(cache=True, nogil=True)
def add_outer_at(dst, index, weight, values):
    """``dst[:, index] += values[:, None] * weight[None, :]`` (distinct indices, float32)."""
    for k in range(values.shape[0]):
        v = np.float32(values[k])
        if v == 0:
            continue
        for p in range(index.shape[0]):
            dst[k, index[p]] += v * weight[p]


@njit(cache=True, nogil=True)
def tile_coords(lat, lon, index, lat_c, lon_c, km_per_deg, km_per_deg_lon, res, n_pix, rows, cols):
    """Fractional (row, col) in a tile grid of the points ``index`` (``Tile.pixel_coords``)."""
    half = 0.5 * (n_pix - 1)
    for p in range(index.shape[0]):
        k = index[p]
        dlon = lon[k] - lon_c  # to [-180, 180) without a floating modulo
        while dlon >= 180.0:
            dlon -= 360.0
        while dlon < -180.0:
            dlon += 360.0
        cols[p] = dlon * km_per_deg_lon / res + half
        rows[p] = (lat[k] - lat_c) * km_per_deg / res + half


@njit(cache=True, nogil=True)
def tile_groups(lat, lon, band_height_deg, n_tiles, key_stride, min_weight):
    """Tiles touching each point and their weights, grouped by tile (a counting sort).

    Every point lies in 2 bands x 2 tiles with weights ``cos^2`` / ``sin^2`` of its position
    (a partition of unity); band ``b`` has ``n_tiles[b]`` tiles. Returns ``starts`` (per key
    ``band * key_stride + tile``, the first entry of its group; ``starts[-1]`` the total),
    ``point`` and ``weight`` (entries grouped by key, points increasing within a group).
    Weights ``<= min_weight`` are dropped.
    """
    n = lat.shape[0]
    n_keys = n_tiles.shape[0] * key_stride
    keys = np.empty(4 * n, dtype=np.int64)
    weights = np.empty(4 * n, dtype=np.float64)
    half_pi = 0.5 * math.pi
    for p in range(n):
        la = min(max(lat[p], -89.999), 89.999)
        pos = (la + 90.0) / (band_height_deg / 2)
        band0 = int(math.floor(pos))
        fy = pos - band0
        # cos^2 and sin^2 of (pi / 2) f: one cosine, (1 +/- cos(pi f)) / 2.
        cy = math.cos(2.0 * half_pi * fy)
        lon_pos = (lon[p] + 180.0) % 360.0
        for db in range(2):
            band = band0 + db
            wy = 0.5 * (1.0 + cy) if db == 0 else 0.5 * (1.0 - cy)
            nt = n_tiles[band]
            posx = lon_pos / (360.0 / nt)
            tile0 = int(math.floor(posx))
            fx = posx - tile0
            cx = math.cos(2.0 * half_pi * fx)
            for dt in range(2):
                wx = 0.5 * (1.0 + cx) if dt == 0 else 0.5 * (1.0 - cx)
                w = wy * wx
                e = 4 * p + 2 * db + dt
                weights[e] = w
                keys[e] = band * key_stride + (tile0 + dt) % nt if w > min_weight else -1
    starts = np.zeros(n_keys + 1, dtype=np.int64)
    for e in range(4 * n):
        if keys[e] >= 0:
            starts[keys[e] + 1] += 1
    for k in range(n_keys):
        starts[k + 1] += starts[k]
    fill = starts[:-1].copy()
    point = np.empty(starts[n_keys], dtype=np.int64)
    weight = np.empty(starts[n_keys], dtype=np.float64)
    for e in range(4 * n):
        k = keys[e]
        if k >= 0:
            point[fill[k]] = e // 4
            weight[fill[k]] = weights[e]
            fill[k] += 1
    return starts, point, weight


@njit(cache=True, nogil=True)
def flag_departures(values, coarse, k, tol, wet, out):
    """Flag nodes where the bilinear lattice interpolation is not good enough, in place.

    ``coarse`` (my + 1, mx + 1) holds lattice values interpolated as in :func:`upsample_into`.
    ``wet=False``: ``out |= |interp - values| > tol``. ``wet=True`` (``coarse`` a wet-cell
    indicator): ``out |= (values > 0) | (interp > 0)``.
    """
    ny, nx = values.shape
    my = coarse.shape[0] - 1
    mx = coarse.shape[1] - 1
    for i in range(ny):
        lo_r = min(i // k, max(my - 1, 0))
        hi_r = min(lo_r + 1, my)
        w_r = np.float32((i - lo_r * k) / k)
        for j in range(nx):
            if out[i, j]:
                continue
            lo_c = min(j // k, max(mx - 1, 0))
            hi_c = min(lo_c + 1, mx)
            w_c = np.float32((j - lo_c * k) / k)
            a0 = coarse[lo_r, lo_c]
            t0 = a0 + w_r * (coarse[hi_r, lo_c] - a0)
            a1 = coarse[lo_r, hi_c]
            t1 = a1 + w_r * (coarse[hi_r, hi_c] - a1)
            interp = t0 + w_c * (t1 - t0)
            if wet:
                out[i, j] = values[i, j] > 0 or interp > 0
            else:
                out[i, j] = abs(interp - values[i, j]) > tol


@njit(cache=True, nogil=True)
def temperatures(lat, lon, land, main_class, noise, season_cycle, hour, daily, t2m, skin):
    """Daily-mean 2 m, instantaneous 2 m and skin temperatures (K), point by point.

    The formulas of :func:`xgpm.simulate.scenes._temperatures` (its docstring): latitude,
    season (``season_cycle``: the cosine of the lagged annual phase, +1 at the northern warmest
    time), climate class, land fraction, the static noise and the local solar ``hour``.
    """
    for p in range(lat.shape[0]):
        daily[p], t2m[p], skin[p] = point_temperatures(
            lat[p], lon[p], land[p], main_class[p], noise[p], season_cycle, hour
        )


@njit(cache=True, nogil=True, inline="always")
def point_temperatures(la, lo, lf, mc, nz, season_cycle, hour):
    """(daily-mean 2 m, 2 m, skin) temperature (K) of one point.

    The formulas of :func:`temperatures`, shared with the fused geophysics kernel.
    """
    s = math.sin(la * (math.pi / 180.0))
    sin2 = s * s
    season = season_cycle * (1.0 if la + 1e-6 > 0 else -1.0)
    t_land = 302.0 - 42.0 * sin2 + 0.3 * abs(la) * season
    if mc == 2:
        t_land += 3.0
    elif mc == 5:
        t_land -= 12.0
    sst = max(302.0 - 32.0 * sin2 + 0.08 * abs(la) * season, 271.2)
    day = lf * t_land + (1.0 - lf) * (sst - 1.0) + 2.0 * nz
    local_hour = (hour + lo / 15.0) % 24.0
    arid = 1.6 if mc == 2 else 1.0
    air = day + lf * 4.0 * arid * math.cos(2.0 * math.pi * (local_hour - 15.0) / 24.0)
    ground = air + 0.5 + 4.5 * arid * math.cos(2.0 * math.pi * (local_hour - 13.0) / 24.0)
    return day, air, lf * ground + (1.0 - lf) * max(sst + 0.5 * nz, 271.2)


@njit(cache=True, nogil=True)
def bilinear_weighted4(f0, f1, f2, f3, rows, cols, scale, shift, weight, out):
    """:func:`bilinear_weighted` of four fields of one grid at once (``out`` is (4, n)).

    The fields are sampled at ``rows * scale + shift``, ``cols * scale + shift`` (the same
    tile at another resolution).
    """
    ny, nx = f0.shape
    for p in range(rows.shape[0]):
        r = min(max(rows[p] * scale + shift, 0.0), ny - 1.0)
        c = min(max(cols[p] * scale + shift, 0.0), nx - 1.0)
        i, j, i1, j1, wr, wc = _cell(r, c, ny, nx)
        root = np.float32(math.sqrt(weight[p]))
        for q in range(4):
            field = f0 if q == 0 else f1 if q == 1 else f2 if q == 2 else f3
            out[q, p] = root * np.float32(_blend(field, i, j, i1, j1, wr, wc))


_SQRT2 = math.sqrt(2.0)


@njit(cache=True, nogil=True)
def ndtr(x):
    """Standard normal CDF."""
    return 0.5 * math.erfc(-x / _SQRT2)


@njit(cache=True, nogil=True)
def ndtri(p):
    """Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9).

    Thresholds and quantiles of the rain and cloud fields; float32 ``scipy.special.ndtri`` is
    less accurate than this.
    """
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    if p < 0.02425 or p > 0.97575:
        q = math.sqrt(-2.0 * math.log(p if p < 0.5 else 1.0 - p))
        x = (
            (
                (
                    (
                        (-7.784894002430293e-03 * q - 3.223964580411365e-01) * q
                        - 2.400758277161838e00
                    )
                    * q
                    - 2.549732539343734e00
                )
                * q
                + 4.374664141464968e00
            )
            * q
            + 2.938163982698783e00
        ) / (
            (
                ((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e00) * q
                + 3.754408661907416e00
            )
            * q
            + 1.0
        )
        if p > 0.5:
            x = -x
    else:
        q = p - 0.5
        r = q * q
        x = (
            (
                (
                    (
                        (
                            (-3.969683028665376e01 * r + 2.209460984245205e02) * r
                            - 2.759285104469687e02
                        )
                        * r
                        + 1.383577518672690e02
                    )
                    * r
                    - 3.066479806614716e01
                )
                * r
                + 2.506628277459239e00
            )
            * q
        ) / (
            (
                (
                    ((-5.447609879822406e01 * r + 1.615858368580409e02) * r - 1.556989798598866e02)
                    * r
                    + 6.680131188771972e01
                )
                * r
                - 1.328068155288572e01
            )
            * r
            + 1.0
        )
    return x


@njit(cache=True, nogil=True)
def geophysics(
    lat, lon, land, main_class, koppen_zone, wetness, surface, moisture, wind_noise, temp_noise,
    rain_field, cloud_field, params, regime_weight, moisture_factor,
    season_cycle, hour, tcwv_cycle, itcz,
    rain_out, ptype_out, rwp_out, clwp_out, iwp_out, tcwv_out, skin_out, t2m_out, wind_out,
    stype_out, freezing_out, land_e_out, land_pol_out, land_slope_out, regime_out,
):  # fmt: skip
    """Rain, its type and the companion fields, point by point.

    The formulas of :func:`xgpm.simulate.scenes._geophysics_numpy` (the reference, documented
    there) in one pass: ``params`` rows follow ``scenes._PARAM_NAMES``; ``season_cycle`` and
    ``hour`` as in :func:`temperatures`; ``tcwv_cycle`` the cosine of the annual phase and
    ``itcz`` the latitude of the moisture maximum.
    """
    n_regimes = regime_weight.shape[0]
    for p in range(lat.shape[0]):
        la = lat[p]
        lf = land[p]
        mc = main_class[p]
        rf = rain_field[p]
        cf = cloud_field[p]
        wet_fraction = params[0, p]
        log_median = params[1, p]
        log_sigma = params[2, p]
        convective_share = params[5, p]
        ice_factor = params[6, p]
        cloud_fraction = params[7, p]
        vortex = params[8, p]
        best = 0
        for r in range(1, n_regimes):
            if regime_weight[r, p] > regime_weight[best, p]:
                best = r
        regime_out[p] = best

        # Intermittency and intensity.
        wet = min(max(wet_fraction * wetness[p], 1e-4), 0.9)
        threshold = ndtri(1.0 - wet)
        exceed = min(max((ndtr(rf) - (1.0 - wet)) / wet, 0.0), 1.0 - 1e-7)
        raining = rf > threshold
        rain = 0.0
        if raining:
            rain = min(math.exp(log_median + log_sigma * ndtri(max(exceed, 1e-7))), 250.0)
        rain = float(np.float32(rain))
        convective = raining and exceed >= 1.0 - convective_share and rain >= 2.0
        ptype_out[p] = 2 if convective else (1 if raining and rain > 0 else 0)
        rain_out[p] = rain

        # Temperatures (see temperatures), cooled by rain.
        hemisphere = 1.0 if la + 1e-6 > 0 else -1.0
        daily, t2m, skin = point_temperatures(la, lon[p], lf, mc, temp_noise[p], season_cycle, hour)
        cooling = math.sqrt(min(rain, 20.0)) * (1.2 if convective else 0.6)
        t2m -= cooling
        skin -= cooling * (0.3 + 0.7 * lf)
        t2m_out[p] = t2m
        skin_out[p] = skin
        if lf >= 0.5:
            snow_ice = daily + 2.0 * surface[p] < 268.5
        else:
            snow_ice = skin < 271.5
        snow_ice = snow_ice or koppen_zone[p] == 30
        stype_out[p] = 3 if snow_ice else (0 if lf < 0.05 else (1 if lf > 0.95 else 2))

        # Water vapour: climatology x climate, noise, moistening, Clausius-Clapeyron cap.
        tcwv = (
            4.0
            + 48.0 * math.exp(-(((la - itcz) / 33.0) ** 2))
            + 6.0 * tcwv_cycle * hemisphere * min(max(abs(la) / 40.0, 0.0), 1.0)
        ) * moisture_factor[mc]
        tcwv *= math.exp(0.22 * moisture[p] + 0.1 * cf)
        tcwv *= 1.0 + 0.25 * min(max(rf - threshold + 1.0, 0.0), 1.5)
        cap = max(8.0 * math.exp(0.065 * (daily - 273.15)) + 5.0, 3.0)
        tcwv_out[p] = min(max(min(tcwv, cap), 1.0), 75.0)

        # Clouds, rain water, ice.
        cloud_excess = max(cf - ndtri(1.0 - min(max(cloud_fraction, 0.01), 0.99)), 0.0)
        clwp = 0.06 * cloud_excess * (1.5 if lf < 0.5 else 1.0)
        freezing = min(max((t2m - 273.15) / 6.5, 0.3), 5.5)
        if raining:
            clwp += (0.12 + 0.08 * math.sqrt(rain)) * (1.6 if convective else 1.0)
        clwp_out[p] = min(max(clwp, 0.0), 4.0)
        rwp_out[p] = 0.072 * rain**0.88 * freezing if raining else 0.0
        if convective:
            iwp = 0.27 * rain**1.1
        elif raining:
            iwp = 0.2 * rain**0.9 + 0.04
        else:
            iwp = 0.1 * cloud_excess * (1.0 if ice_factor > 1.0 else 0.0)
        iwp *= ice_factor * (0.7 if lf < 0.5 and abs(la) < 30 else 1.0)
        iwp_out[p] = min(max(iwp, 0.0), 25.0)
        freezing_out[p] = freezing * 1000.0

        # Wind: latitude climatology, noise, gusts under rain and cyclones.
        abs_lat = abs(la)
        base_wind = (
            5.5
            + 3.5 * math.exp(-(((abs_lat - 50.0) / 15.0) ** 2))
            + math.exp(-((abs_lat / 15.0) ** 2))
        )
        wind = base_wind * math.exp(0.3 * wind_noise[p]) * (0.6 if lf > 0.5 else 1.0)
        wind += 4.0 * rain / (rain + 5.0) + 25.0 * vortex * min(max(rf, 0.0), 2.0) / 2.0
        wind_out[p] = min(max(wind, 0.2), 60.0)

        # Land emissivity parameters.
        is_arid = 1.0 if mc == 2 else 0.0
        sn = surface[p]
        land_e_out[p] = 0.946 - 0.025 * is_arid - 0.01 * sn
        land_pol_out[p] = min(
            max(0.027 * math.exp(0.5 * sn) + 0.03 * is_arid + 0.02 * min(rain, 5.0) / 5.0, 0.005),
            0.12,
        )
        land_slope_out[p] = -0.014 * is_arid + 0.004 + 0.006 * sn
