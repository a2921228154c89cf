"""Numba kernel of the forward model (:mod:`xgpm.simulate.rtm`): all channels, one pass per pixel.

The kernel reproduces the numpy reference of :func:`xgpm.simulate.rtm._tb_block` column by
column, but builds each pixel's profile (temperature, cloud, rain, ice) once and loops over the
distinct passbands of all requested channels (a V/H pair or two channels at the same frequency
share one radiative transfer). Frequency-only quantities (gas and cloud absorption tables,
hydrometeor optics) are tabulated per passband by the caller. Columns without scattering skip
the second up/down iteration, which only matters where layers reflect.

Compiled ``nogil=True``: the caller runs it on pixel chunks in a few threads. This module imports
numba at top level and is only imported lazily by :mod:`xgpm.simulate.rtm`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Rows of the stacked per-pixel input array.
F_T2M = 0
F_SKIN = 1
F_TCWV = 2
F_CLWP = 3
F_RWP = 4
F_IWP = 5
F_PTYPE = 6
F_SURFACE = 7
F_LAND = 8
F_WIND = 9
F_LAND_E = 10
F_LAND_POL = 11
F_LAND_SLOPE = 12
N_FIELDS = 13

# Rows of the per-band optics array.
B_FREQ = 0
B_O2 = 1
B_K_RAIN = 2
B_A_RAIN = 3
B_SSA_RAIN = 4
B_G_RAIN = 5
B_KEXT_ICE = 6
B_SSA_ICE = 7
B_G_ICE = 8
B_LOG_F = 9
B_INC_ROW = 10
N_BAND = 11


@njit(cache=True, nogil=True)
def _layer_fraction(lo_edge, hi_edge, bottom, top):
    lo = max(lo_edge, bottom)
    hi = min(hi_edge, top)
    thickness = max(top - bottom, 1e-3)
    return max(hi - lo, 0.0) / thickness


@njit(cache=True, nogil=True)
def _clip(x, lo, hi):
    return min(max(x, lo), hi)


@njit(cache=True, nogil=True, fastmath=True)
def _exp_neg(x):
    """``exp(-x)`` for ``x >= 0``.

    A Taylor polynomial for thin layers (most of them at window frequencies and aloft), where it
    is exact to < 3e-11 and several times cheaper than ``exp``.
    """
    if x < 0.02:
        return 1.0 - x * (1.0 - x * (0.5 - x * (1.0 / 6.0 - x * (1.0 / 24.0))))
    return math.exp(-min(x, 50.0))


@njit(cache=True, nogil=True, fastmath=True)
def tb_kernel(
    fields,  # (N_FIELDS, n) float64
    incidence,  # (n_inc, n) float64, degrees, already clipped to [0, 88.9]
    bands,  # (N_BAND, nb) float64
    vap_table,  # (nb, nz, nT) float64: vapour mass absorption at the layer pressure
    cld_table,  # (nb, nT) float64: cloud mass absorption
    ocean_table,  # (nb, 2, n_inc_grid, n_sst_grid) float64: smooth-sea Fresnel emissivity V, H
    ocean_inc_step,  # incidence spacing of the ocean table (deg), first node at 0
    ocean_sst0,  # first SST of the ocean table (K)
    ocean_sst_step,  # SST spacing (K)
    t_table0,  # first temperature of the tables (K); 1 K spacing
    z_edges,  # (nz + 1,)
    t_cosmic,
    lapse,
    t_tropopause,
    vapour_scale,
    pressure_scale,
    out_v,  # (nb, n) float32
    out_h,  # (nb, n) float32
):
    nz = z_edges.shape[0] - 1
    n = fields.shape[1]
    nb = bands.shape[1]
    n_t = cld_table.shape[1]
    temp = np.empty(nz)
    vapour = np.empty(nz)
    cloud = np.empty(nz)
    rain_rate = np.empty(nz)
    log1p_rain = np.empty(nz)
    ice = np.empty(nz)
    t_idx = np.empty(nz, dtype=np.int64)
    t_w = np.empty(nz)
    vfrac = np.empty(nz)
    o2w = np.empty(nz)
    dz = np.empty(nz)
    zmid = np.empty(nz)
    for i in range(nz):
        zlo, zhi = z_edges[i], z_edges[i + 1]
        vfrac[i] = math.exp(-zlo / vapour_scale) - math.exp(-zhi / vapour_scale)
        o2w[i] = math.exp(-2 * zlo / pressure_scale) - math.exp(-2 * zhi / pressure_scale)
        dz[i] = zhi - zlo
        zmid[i] = 0.5 * (zlo + zhi)
    trans = np.empty(nz)
    refl = np.empty(nz)
    source = np.empty(nz)
    up_ref = np.empty(nz)
    down = np.empty(nz + 1)
    deg = math.pi / 180.0
    sin53_2 = math.sin(53.0 * deg) ** 2
    # Per band and per incidence row: what does not change from layer to layer or band to band.
    rough_freq = np.empty(nb)
    for b in range(nb):
        rough_freq[b] = 1.0 - math.exp(-bands[B_FREQ, b] / 12.0)
    n_rows = incidence.shape[0]
    row_inv_mu = np.empty(n_rows)
    row_sin2 = np.empty(n_rows)
    for p in range(n):
        t2m = fields[F_T2M, p]
        skin = fields[F_SKIN, p]
        tcwv = max(fields[F_TCWV, p], 0.0)
        clwp = max(fields[F_CLWP, p], 0.0)
        rwp = max(fields[F_RWP, p], 0.0)
        iwp = max(fields[F_IWP, p], 0.0)
        convective = fields[F_PTYPE, p] >= 2
        freezing = _clip((t2m - 273.15) / lapse, 0.3, 5.5)
        if convective:
            cloud_top = freezing + 1.5
            ice_top = freezing + 4.0 + 1.2 * math.sqrt(iwp)
        else:
            cloud_top = max(freezing, 1.6)
            ice_top = freezing + 3.0
        cloud_top = min(cloud_top, 8.0)
        ice_top = min(ice_top, 16.0)
        any_hydro = False
        for i in range(nz):
            zlo, zhi = z_edges[i], z_edges[i + 1]
            t = max(t2m - lapse * zmid[i], t_tropopause)
            temp[i] = t
            x = t - t_table0
            j = int(math.floor(x))
            if j < 0:
                t_idx[i] = 0
                t_w[i] = 0.0
            elif j >= n_t - 1:
                t_idx[i] = n_t - 2
                t_w[i] = 1.0
            else:
                t_idx[i] = j
                t_w[i] = x - j
            vapour[i] = tcwv * vfrac[i]
            cloud[i] = clwp * _layer_fraction(zlo, zhi, 0.6, cloud_top)
            content = rwp * _layer_fraction(zlo, zhi, 0.0, freezing) / dz[i]
            if content > 0.0:
                rr = (content / 0.072) ** (1.0 / 0.88)
                rain_rate[i] = rr
                log1p_rain[i] = math.log1p(rr)
                any_hydro = True
            else:
                rain_rate[i] = 0.0
                log1p_rain[i] = 0.0
            ice[i] = iwp * _layer_fraction(zlo, zhi, freezing + 0.3, ice_top)
            if ice[i] > 0.0:
                any_hydro = True

        # Surface: what does not depend on the frequency.
        surface = fields[F_SURFACE, p]
        land_fraction = _clip(fields[F_LAND, p], 0.0, 1.0)
        frozen = surface == 3
        frozen_ocean = frozen and land_fraction < 0.5
        weight = 1.0 if frozen_ocean else land_fraction
        wind = _clip(fields[F_WIND, p], 0.0, 40.0)
        foam = _clip(1.95e-5 * wind**2.55, 0.0, 1.0)
        # Smooth-sea emissivity: bilinear in the (incidence, SST) table; SST node shared by bands.
        n_sst = ocean_table.shape[3]
        xs = (max(skin, 271.0) - ocean_sst0) / ocean_sst_step
        js = min(max(int(math.floor(xs)), 0), n_sst - 2)
        ws = _clip(xs - js, 0.0, 1.0)
        land_e = fields[F_LAND_E, p]
        land_pol = fields[F_LAND_POL, p]
        land_slope = fields[F_LAND_SLOPE, p]
        for r in range(n_rows):
            theta_r = incidence[r, p] * deg
            row_inv_mu[r] = 1.0 / math.cos(theta_r)
            sin_r = math.sin(theta_r)
            row_sin2[r] = sin_r * sin_r

        for b in range(nb):
            row = int(bands[B_INC_ROW, b])
            inc = incidence[row, p]
            theta = inc * deg
            inv_mu = row_inv_mu[row]
            o2 = bands[B_O2, b]
            k_rain = bands[B_K_RAIN, b]
            a_rain = bands[B_A_RAIN, b]
            ssa_rain0 = bands[B_SSA_RAIN, b]
            g_rain = bands[B_G_RAIN, b]
            kext_ice = bands[B_KEXT_ICE, b]
            ssa_ice = bands[B_SSA_ICE, b]
            g_ice = bands[B_G_ICE, b]
            scattering = False
            for i in range(nz):
                j = t_idx[i]
                w = t_w[i]
                kv = vap_table[b, i, j] + w * (vap_table[b, i, j + 1] - vap_table[b, i, j])
                tau = vapour[i] * kv + o2 * o2w[i]
                if cloud[i] > 0.0:
                    kc = cld_table[b, j] + w * (cld_table[b, j + 1] - cld_table[b, j])
                    tau += cloud[i] * kc
                if any_hydro and (rain_rate[i] > 0.0 or ice[i] > 0.0):
                    rr = rain_rate[i]
                    tau_rain = 0.0
                    ssa_rain = 0.0
                    if rr > 0.0:
                        tau_rain = k_rain * rr**a_rain / 4.343 * dz[i]
                        ssa_rain = ssa_rain0 * _clip(0.6 + 0.1 * log1p_rain[i], 0.6, 1.0)
                    tau_ice = ice[i] * kext_ice
                    tau = tau + tau_rain + tau_ice
                    scat = tau_rain * ssa_rain + tau_ice * ssa_ice
                    ssa = scat / max(tau, 1e-12) if tau > 0 else 0.0
                    asym = 0.0
                    if scat > 0:
                        asym = (tau_rain * ssa_rain * g_rain + tau_ice * ssa_ice * g_ice) / max(
                            scat, 1e-12
                        )
                    gamma1 = 1.0 - 0.5 * ssa * (1.0 + asym)
                    gamma2 = 0.5 * ssa * (1.0 - asym)
                    k = math.sqrt(max(gamma1 * gamma1 - gamma2 * gamma2, 1e-10))
                    decay = _exp_neg(k * tau * inv_mu)
                    decay2 = decay * decay
                    denom = k * (1.0 + decay2) + gamma1 * (1.0 - decay2)
                    r = gamma2 * (1.0 - decay2) / denom
                    tr = 2.0 * k * decay / denom
                    if r != 0.0:
                        scattering = True
                else:
                    # No scatterer: the two-stream slab reduces to exp(-tau / mu).
                    r = 0.0
                    tr = _exp_neg(tau * inv_mu)
                refl[i] = r
                trans[i] = tr
                source[i] = _clip(1.0 - r - tr, 0.0, 1.0) * temp[i]

            # Surface emissivity at this passband and incidence.
            log_f = bands[B_LOG_F, b]
            if frozen:
                if frozen_ocean:
                    lv = _clip(0.94 - 0.035 * log_f, 0.8, 0.99)
                    lh = lv - 0.06
                else:
                    lv = _clip(0.965 - 0.045 * log_f, 0.75, 0.99)
                    lh = lv - 0.04
            else:
                lv = _clip(land_e + land_slope * log_f, 0.7, 0.995)
                pol = land_pol * _clip(1.0 - 0.25 * log_f, 0.35, 1.2)
                lh = _clip(lv - pol, 0.6, 0.99)
            if weight < 1.0:
                n_inc_grid = ocean_table.shape[2]
                xi = inc / ocean_inc_step
                ji = min(int(xi), n_inc_grid - 2)
                wi = xi - ji
                ov = (1.0 - wi) * (
                    (1.0 - ws) * ocean_table[b, 0, ji, js] + ws * ocean_table[b, 0, ji, js + 1]
                ) + wi * (
                    (1.0 - ws) * ocean_table[b, 0, ji + 1, js]
                    + ws * ocean_table[b, 0, ji + 1, js + 1]
                )
                oh = (1.0 - wi) * (
                    (1.0 - ws) * ocean_table[b, 1, ji, js] + ws * ocean_table[b, 1, ji, js + 1]
                ) + wi * (
                    (1.0 - ws) * ocean_table[b, 1, ji + 1, js]
                    + ws * ocean_table[b, 1, ji + 1, js + 1]
                )
                angle_factor = row_sin2[row] / sin53_2
                rough = wind * rough_freq[b] * angle_factor
                oh = oh + 0.0037 * rough
                steep = 1.0 if theta > 55.0 * deg else 0.0
                ov = ov + 0.0006 * rough * (1.0 - 2.0 * angle_factor * steep)
                ov = _clip((1.0 - foam) * ov + foam * 0.96, 0.0, 1.0)
                oh = _clip((1.0 - foam) * oh + foam * (0.96 - 0.03 * angle_factor), 0.0, 1.0)
            else:
                ov = 0.0
                oh = 0.0
            e_v = weight * lv + (1.0 - weight) * ov
            e_h = weight * lh + (1.0 - weight) * oh

            if not scattering:
                # No layer reflects: one pass down, then both polarisations up together (the
                # general passes below with refl = 0, without its arrays).
                dn = t_cosmic
                for i in range(nz - 1, -1, -1):
                    dn = trans[i] * dn + source[i]
                tb_v = e_v * skin + (1.0 - e_v) * dn
                tb_h = e_h * skin + (1.0 - e_h) * dn
                for i in range(nz):
                    tb_v = trans[i] * tb_v + source[i]
                    tb_h = trans[i] * tb_h + source[i]
                out_v[b, p] = tb_v
                out_h[b, p] = tb_h
                continue
            # Layers reflect: the up/down passes are iterated twice (the cold sky seen upwards).
            # The first iteration only feeds the H upwelling profile back into the second.
            for i in range(nz):
                up_ref[i] = temp[i]
            down[nz] = t_cosmic
            for i in range(nz - 1, -1, -1):
                down[i] = trans[i] * down[i + 1] + refl[i] * up_ref[i] + source[i]
            up_h = e_h * skin + (1.0 - e_h) * down[0]
            for i in range(nz):
                up_ref[i] = up_h
                up_h = trans[i] * up_h + refl[i] * down[i + 1] + source[i]
            for i in range(nz - 1, -1, -1):
                down[i] = trans[i] * down[i + 1] + refl[i] * up_ref[i] + source[i]
            tb_v = e_v * skin + (1.0 - e_v) * down[0]
            tb_h = e_h * skin + (1.0 - e_h) * down[0]
            for i in range(nz):
                tb_v = trans[i] * tb_v + refl[i] * down[i + 1] + source[i]
                tb_h = trans[i] * tb_h + refl[i] * down[i + 1] + source[i]
            out_v[b, p] = tb_v
            out_h[b, p] = tb_h
