"""A fast plane-parallel microwave forward model for simulated truth scenes.

The model turns the geophysical fields of :func:`xgpm.simulate.truth_scene` into brightness
temperatures (K) at the scene's native resolution, before any antenna smoothing. It is meant to
reproduce the *signatures* that matter for precipitation retrieval, not to replace a line-by-line
code such as RTTOV-SCATT or ARTS:

* surface: Fresnel emissivity of sea water (Klein & Swift 1977 dielectric) with wind roughening and
  foam; weakly polarised land (vegetation/soil wetness noise, drier = more polarised); coarse snow
  and sea ice;
* gases: water vapour from the 22.235 and 183.31 GHz lines (pressure-broadened Van Vleck-Weisskopf
  shapes, so 183 +/- 1 GHz peaks high in the troposphere and 183 +/- 7 GHz lower) plus a continuum;
  oxygen as a tabulated zenith opacity;
* hydrometeors: cloud liquid (Rayleigh absorption from the double-Debye water permittivity), rain
  (ITU-R P.838 extinction with a frequency-dependent single-scattering albedo) and precipitation ice
  (scattering whose strength grows steeply from 10 to 183 GHz);
* radiative transfer: 18 layers from 0 to 20 km, each a two-stream slab (reflectance, transmittance,
  emittance) along the slant path ``1 / cos(incidence)``, with downwelling and upwelling passes
  iterated so that scattering layers reflect the cold sky.

Everything is vectorised numpy over pixels (processed in blocks so memory stays bounded).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, MissingVariableError

__all__ = [
    "brightness_temperature",
    "brightness_temperatures",
    "gas_optical_depth",
    "ocean_emissivity",
    "REQUIRED_VARIABLES",
]

#: Scene variables the forward model reads.
REQUIRED_VARIABLES = (
    "surface_precip",
    "precip_type",
    "rain_water_path",
    "cloud_liquid_path",
    "ice_water_path",
    "total_column_water_vapor",
    "skin_temperature",
    "t2m",
    "wind_speed",
    "surface_type",
    "land_fraction",
)

_POLARIZATIONS = ("V", "H", "QV", "QH")
_T_COSMIC = 2.73
_LAPSE_K_PER_KM = 6.5
_T_TROPOPAUSE = 212.0
_PRESSURE_SCALE_KM = 7.6
_VAPOUR_SCALE_KM = 1.5
_SATELLITE_ALTITUDE_KM = 830.0  # for the scan angle of quasi-polarised channels
_EARTH_RADIUS_KM = 6371.0
# Layer edges (km). Fine near the surface where rain and vapour live.
_Z_EDGES = np.array(
    [
        0.0,
        0.5,
        1.0,
        1.5,
        2.0,
        2.5,
        3.0,
        3.5,
        4.0,
        5.0,
        6.0,
        7.0,
        8.0,
        9.0,
        10.0,
        12.0,
        14.0,
        16.0,
        20.0,
    ]
)
_Z_MID = 0.5 * (_Z_EDGES[1:] + _Z_EDGES[:-1])
_DZ = np.diff(_Z_EDGES)
_BLOCK = 131_072  # pixels per block: bounds memory to ~ 18 layers x block x a few arrays

# Zenith oxygen opacity (Np) of a standard atmosphere: window channels below the 60 GHz complex,
# the 118.75 GHz line wing at 150-190 GHz (Liebe MPM93, US standard atmosphere, rounded).
_O2_FREQ = np.array(
    [
        1.0,
        6.9,
        10.65,
        18.7,
        23.8,
        31.4,
        36.5,
        40.0,
        50.3,
        54.0,
        80.0,
        89.0,
        100.0,
        118.75,
        140.0,
        150.0,
        166.0,
        183.31,
        190.0,
        200.0,
        300.0,
    ]
)
_O2_TAU = np.array(
    [
        0.006,
        0.0085,
        0.0095,
        0.0125,
        0.0155,
        0.025,
        0.037,
        0.05,
        0.2,
        1.5,
        0.058,
        0.043,
        0.045,
        10.0,
        0.06,
        0.045,
        0.035,
        0.03,
        0.029,
        0.028,
        0.03,
    ]
)

# Rain extinction, ITU-R P.838-3 (coefficients k [dB/km], alpha; mean of H and V).
_RAIN_FREQ = np.array(
    [
        1.0,
        6.0,
        10.0,
        15.0,
        20.0,
        25.0,
        30.0,
        35.0,
        40.0,
        50.0,
        60.0,
        80.0,
        90.0,
        100.0,
        120.0,
        150.0,
        200.0,
        300.0,
    ]
)
_RAIN_K = np.array(
    [
        3.9e-5,
        0.0016,
        0.0098,
        0.0345,
        0.0751,
        0.1265,
        0.1868,
        0.2563,
        0.3374,
        0.5120,
        0.6853,
        0.9607,
        1.0600,
        1.1230,
        1.1810,
        1.2350,
        1.3100,
        1.3900,
    ]
)
_RAIN_ALPHA = np.array(
    [
        0.91,
        1.37,
        1.27,
        1.15,
        1.08,
        1.04,
        1.00,
        0.95,
        0.91,
        0.85,
        0.81,
        0.75,
        0.73,
        0.71,
        0.69,
        0.68,
        0.67,
        0.66,
    ]
)
# Rain single-scattering albedo and asymmetry (Mie, Marshall-Palmer drops, a few mm/h).
_RAIN_SSA_FREQ = np.array([1.0, 10.0, 19.0, 37.0, 89.0, 150.0, 190.0, 300.0])
_RAIN_SSA = np.array([0.0, 0.05, 0.2, 0.4, 0.52, 0.54, 0.55, 0.55])
_RAIN_G = np.array([0.0, 0.05, 0.15, 0.3, 0.55, 0.65, 0.7, 0.7])
# Precipitation ice (graupel, snow aggregates ~1 mm): mass extinction (m2/kg), albedo, asymmetry.
_ICE_FREQ = np.array([1.0, 10.0, 19.0, 37.0, 89.0, 150.0, 166.0, 190.0, 300.0])
_ICE_KEXT = np.array([0.0, 0.004, 0.025, 0.12, 0.75, 1.45, 1.6, 1.75, 2.2])
_ICE_SSA = np.array([0.0, 0.3, 0.6, 0.85, 0.95, 0.96, 0.96, 0.96, 0.96])
_ICE_G = np.array([0.0, 0.05, 0.1, 0.2, 0.35, 0.45, 0.47, 0.5, 0.55])

# Water vapour lines (Liebe MPM89/93): centre (GHz), strength b1 (kHz/kPa), temperature exponent
# b2 and width b3 (MHz/kPa). The far wings of the sub-millimetre lines are in the continuum.
_H2O_LINES = ((22.23508, 0.1090, 2.143, 28.11), (183.310117, 2.300, 0.653, 28.64))
_H2O_CONTINUUM = 1.0e-6  # m2/kg per GHz^2 at 1013 hPa and 300 K (~0.3 dB/km at 90 GHz, 7.5 g/m3)
_R_VAPOUR = 461.5


def _interp_log(freq: float, table_f: np.ndarray, table_v: np.ndarray) -> float:
    return float(np.interp(np.log(freq), np.log(table_f), table_v))


def _o2_zenith_opacity(freq: float) -> float:
    return float(np.exp(np.interp(np.log(freq), np.log(_O2_FREQ), np.log(_O2_TAU))))


def _vapour_mass_absorption(freq: float, pressure_hpa: Any, temp_k: Any = 280.0) -> np.ndarray:
    """Water-vapour mass absorption coefficient (m2/kg) at ``freq`` GHz, pressure (hPa), T (K).

    Van Vleck-Weisskopf lines with Liebe's strengths and pressure broadening, so the absorption
    of a line wing per kg of vapour falls with height (183 +/- 7 GHz peaks lower than +/- 1).
    """
    p_kpa = np.asarray(pressure_hpa, dtype=np.float64) / 10.0
    theta = 300.0 / np.asarray(temp_k, dtype=np.float64)
    kappa = _H2O_CONTINUUM * freq**2 * (p_kpa / 101.325) * theta**3
    for centre, b1, b2, b3 in _H2O_LINES:
        gamma = b3 * 1e-3 * p_kpa * theta**0.8
        shape = (freq / centre) * (
            gamma / ((centre - freq) ** 2 + gamma**2) + gamma / ((centre + freq) ** 2 + gamma**2)
        )
        strength = b1 * theta**3.5 * np.exp(b2 * (1.0 - theta))
        # alpha [dB/km] = 0.182 f S F'' with S per kPa of vapour pressure e = rho R_v T.
        kappa = (
            kappa
            + 0.182 * freq * strength * shape * (_R_VAPOUR * np.asarray(temp_k) / 1000.0) / 4343.0
        )
    return kappa


def _water_permittivity(freq: float, temp_k: np.ndarray) -> np.ndarray:
    """Complex permittivity of pure liquid water, double Debye (Liebe et al. 1991)."""
    theta = 1.0 - 300.0 / np.asarray(temp_k, dtype=np.float64)
    eps0 = 77.66 - 103.3 * theta
    eps1 = 0.0671 * eps0
    eps2 = 3.52
    f1 = 20.2 + 146.4 * theta + 316.0 * theta**2
    f2 = 39.8 * f1
    return (eps0 - eps1) / (1.0 - 1j * freq / f1) + (eps1 - eps2) / (1.0 - 1j * freq / f2) + eps2


def _cloud_mass_absorption(freq: float, temp_k: np.ndarray) -> np.ndarray:
    """Rayleigh absorption of cloud droplets (m2/kg of liquid water)."""
    eps = _water_permittivity(freq, temp_k)
    k_factor = (eps - 1.0) / (eps + 2.0)
    wavelength_m = 0.299792458 / freq
    return 6.0 * np.pi / (wavelength_m * 1000.0) * np.abs(np.imag(k_factor))


def _seawater_permittivity(freq: float, sst_k: np.ndarray, salinity: float = 35.0) -> np.ndarray:
    """Complex permittivity of sea water, single Debye with conductivity (Klein & Swift 1977)."""
    t = np.asarray(sst_k, dtype=np.float64) - 273.15
    s = salinity
    eps_s_pure = 87.134 - 1.949e-1 * t - 1.276e-2 * t**2 + 2.491e-4 * t**3
    a = 1.0 + 1.613e-5 * t * s - 3.656e-3 * s + 3.210e-5 * s**2 - 4.232e-7 * s**3
    eps_s = eps_s_pure * a
    tau_pure = 1.768e-11 - 6.086e-13 * t + 1.104e-14 * t**2 - 8.111e-17 * t**3
    b = 1.0 + 2.282e-5 * t * s - 7.638e-4 * s - 7.760e-6 * s**2 + 1.105e-8 * s**3
    tau = tau_pure * b
    delta = 25.0 - t
    sigma25 = s * (0.182521 - 1.46192e-3 * s + 2.09324e-5 * s**2 - 1.28205e-7 * s**3)
    beta = 2.033e-2 + 1.266e-4 * delta + 2.464e-6 * delta**2
    beta = beta - s * (1.849e-5 - 2.551e-7 * delta + 2.551e-8 * delta**2)
    sigma = sigma25 * np.exp(-delta * beta)
    omega = 2.0 * np.pi * freq * 1e9
    eps_inf = 4.9
    eps0_vacuum = 8.854e-12
    return (
        eps_inf + (eps_s - eps_inf) / (1.0 - 1j * omega * tau) + 1j * sigma / (omega * eps0_vacuum)
    )


def _smooth_sea_emissivity(
    freq: float, incidence_deg: Any, sst_k: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Fresnel (V, H) emissivity of a flat sea surface."""
    theta = np.deg2rad(np.asarray(incidence_deg, dtype=np.float64))
    eps = _seawater_permittivity(freq, sst_k)
    cos_t = np.cos(theta)
    root = np.sqrt(eps - np.sin(theta) ** 2)
    r_v = np.abs((eps * cos_t - root) / (eps * cos_t + root)) ** 2
    r_h = np.abs((cos_t - root) / (cos_t + root)) ** 2
    return 1.0 - r_v, 1.0 - r_h


# Nodes of the per-passband flat-sea emissivity table of the numba kernel (bilinear in incidence
# and SST; interpolation error < 1e-5 in emissivity, i.e. < 0.003 K).
_OCEAN_INC_STEP = 0.5
_OCEAN_INC = np.arange(0.0, 89.0 + _OCEAN_INC_STEP / 2, _OCEAN_INC_STEP)
_OCEAN_SST_STEP = 0.5
_OCEAN_SST = np.arange(271.0, 321.0 + _OCEAN_SST_STEP / 2, _OCEAN_SST_STEP)


def ocean_emissivity(
    freq: float, incidence_deg: Any, sst_k: Any, wind_speed: Any
) -> tuple[np.ndarray, np.ndarray]:
    """V and H emissivity of the sea surface.

    Fresnel reflection of sea water (Klein & Swift permittivity) with a wind-roughening term that
    raises mostly H, and foam coverage (Monahan & O'Muircheartaigh) with emissivity ~0.95.

    Parameters
    ----------
    freq : float
        Frequency in GHz.
    incidence_deg, sst_k, wind_speed : array_like
        Earth incidence angle (deg), sea-surface temperature (K) and 10 m wind speed (m/s),
        broadcastable together.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Emissivity in vertical and horizontal polarisation.
    """
    theta = np.deg2rad(np.asarray(incidence_deg, dtype=np.float64))
    wind = np.clip(np.asarray(wind_speed, dtype=np.float64), 0.0, 40.0)
    e_v, e_h = _smooth_sea_emissivity(freq, incidence_deg, sst_k)
    # Roughness: large-scale waves mix V and H (H rises, V barely moves at ~53 deg); small-scale
    # roughness matters more at high frequency (Wentz 1975/1992 fits, simplified).
    angle_factor = (np.sin(theta) / np.sin(np.deg2rad(53.0))) ** 2
    rough = wind * (1.0 - np.exp(-freq / 12.0)) * angle_factor
    e_h = e_h + 0.0037 * rough
    e_v = e_v + 0.0006 * rough * (1.0 - 2.0 * angle_factor * (theta > np.deg2rad(55.0)))
    foam = np.clip(1.95e-5 * wind**2.55, 0.0, 1.0)
    e_v = (1.0 - foam) * e_v + foam * 0.96
    e_h = (1.0 - foam) * e_h + foam * (0.96 - 0.03 * angle_factor)  # equal to V at nadir
    return np.clip(e_v, 0.0, 1.0), np.clip(e_h, 0.0, 1.0)


def _land_emissivity(freq: float, scene: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """V and H emissivity of snow-free land from the scene's emissivity parameters."""
    e10 = scene["land_emissivity"]
    pol10 = scene["land_polarization"]
    slope = scene.get("land_emissivity_slope", np.zeros_like(e10))
    log_f = np.log(freq / 10.65)
    e_v = np.clip(e10 + slope * log_f, 0.7, 0.995)
    # Polarisation difference shrinks with frequency (vegetation depolarises more at short waves).
    pol = pol10 * np.clip(1.0 - 0.25 * log_f, 0.35, 1.2)
    return e_v, np.clip(e_v - pol, 0.6, 0.99)


def _snow_emissivity(freq: float, frozen_ocean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """V and H emissivity of snow-covered land or sea ice (coarse; volume scattering)."""
    log_f = np.log(freq / 10.65)
    snow_v = np.clip(0.965 - 0.045 * log_f, 0.75, 0.99)
    ice_v = np.clip(0.94 - 0.035 * log_f, 0.8, 0.99)
    e_v = np.where(frozen_ocean, ice_v, snow_v)
    e_h = e_v - np.where(frozen_ocean, 0.06, 0.04)
    return e_v, e_h


def gas_optical_depth(freq: float, total_column_water_vapor: Any, incidence_deg: Any = 0.0) -> Any:
    """Slant optical depth of water vapour plus oxygen through the whole atmosphere.

    Parameters
    ----------
    freq : float
        Frequency in GHz.
    total_column_water_vapor : array_like
        kg/m2.
    incidence_deg : array_like
        Angle from nadir at the surface (deg).

    Returns
    -------
    numpy.ndarray
        Optical depth (Np) along the slant path.
    """
    tcwv = np.asarray(total_column_water_vapor, dtype=np.float64)
    pressure = 1013.25 * np.exp(-_Z_MID / _PRESSURE_SCALE_KM)
    vapour_fraction = np.exp(-_Z_EDGES[:-1] / _VAPOUR_SCALE_KM) - np.exp(
        -_Z_EDGES[1:] / _VAPOUR_SCALE_KM
    )
    temp = np.maximum(288.0 - _LAPSE_K_PER_KM * _Z_MID, _T_TROPOPAUSE)
    kappa = _vapour_mass_absorption(freq, pressure, temp)
    tau_v = tcwv * float(np.sum(kappa * vapour_fraction))
    mu = np.cos(np.deg2rad(np.asarray(incidence_deg, dtype=np.float64)))
    return (tau_v + _o2_zenith_opacity(freq)) / mu


def _two_stream(tau: np.ndarray, ssa: np.ndarray, asym: np.ndarray):
    """Reflectance, transmittance, emittance of homogeneous slabs (hemispheric-mean two-stream).

    ``tau`` is the slant optical depth, so a non-scattering slab transmits ``exp(-tau)``.
    """
    gamma1 = 1.0 - 0.5 * ssa * (1.0 + asym)
    gamma2 = 0.5 * ssa * (1.0 - asym)
    k = np.sqrt(np.maximum(gamma1**2 - gamma2**2, 1e-10))
    decay = np.exp(-np.minimum(k * tau, 50.0))
    decay2 = decay * decay
    denom = k * (1.0 + decay2) + gamma1 * (1.0 - decay2)
    refl = gamma2 * (1.0 - decay2) / denom
    trans = 2.0 * k * decay / denom
    emit = np.clip(1.0 - refl - trans, 0.0, 1.0)
    return refl, trans, emit


_T_TABLE = np.arange(170.0, 341.0, 1.0)


def _tabulated(fn: Any, freq: float, temp: np.ndarray, pressure: np.ndarray | None = None):
    """Evaluate ``fn(freq, [pressure,] T)`` on (nz, n) temperatures through a 1 K lookup table."""
    out = np.empty_like(temp)
    for i in range(temp.shape[0]):
        if pressure is None:
            table = fn(freq, _T_TABLE)
        else:
            table = fn(freq, pressure[i], _T_TABLE)
        out[i] = np.interp(temp[i], _T_TABLE, table)
    return out


def _layer_fraction(bottom: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Fraction of a uniform slab [bottom, top] (km) inside each model layer, shape (nz, n)."""
    lo = np.maximum(_Z_EDGES[:-1, None], bottom[None, :])
    hi = np.minimum(_Z_EDGES[1:, None], top[None, :])
    thickness = np.maximum(top - bottom, 1e-3)
    return np.clip(hi - lo, 0.0, None) / thickness[None, :]


def _freezing_level_km(t2m: np.ndarray) -> np.ndarray:
    return np.clip((t2m - 273.15) / _LAPSE_K_PER_KM, 0.3, 5.5)


def _tb_block(
    freq: float,
    offsets: tuple[float, ...],
    fields: dict[str, np.ndarray],
    incidence: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """V and H brightness temperatures of a flat block of pixels (1-D arrays)."""
    n = incidence.shape[0]
    mu = np.cos(np.deg2rad(incidence))
    t2m = fields["t2m"]
    skin = fields["skin_temperature"]
    tcwv = np.maximum(fields["total_column_water_vapor"], 0.0)
    clwp = np.maximum(fields["cloud_liquid_path"], 0.0)
    rwp = np.maximum(fields["rain_water_path"], 0.0)
    iwp = np.maximum(fields["ice_water_path"], 0.0)
    convective = fields["precip_type"] >= 2

    temp = np.maximum(t2m[None, :] - _LAPSE_K_PER_KM * _Z_MID[:, None], _T_TROPOPAUSE)  # (nz, n)
    pressure = 1013.25 * np.exp(-_Z_MID / _PRESSURE_SCALE_KM)
    vapour = tcwv[None, :] * (
        np.exp(-_Z_EDGES[:-1, None] / _VAPOUR_SCALE_KM)
        - np.exp(-_Z_EDGES[1:, None] / _VAPOUR_SCALE_KM)
    )
    o2_weights = np.exp(-2 * _Z_EDGES[:-1] / _PRESSURE_SCALE_KM) - np.exp(
        -2 * _Z_EDGES[1:] / _PRESSURE_SCALE_KM
    )
    freezing = _freezing_level_km(t2m)

    # Cloud liquid between 0.6 km and a top above the freezing level in convection.
    cloud_top = np.where(convective, freezing + 1.5, np.maximum(freezing, 1.6))
    cloud = clwp[None, :] * _layer_fraction(np.full(n, 0.6), np.minimum(cloud_top, 8.0))
    # Rain below the freezing level: rain water content (g/m3) gives an equivalent rain rate.
    rain_frac = _layer_fraction(np.zeros(n), freezing)
    rain_content = rwp[None, :] * rain_frac / (_DZ[:, None] * 1000.0) * 1000.0  # g/m3
    rain_rate = (np.maximum(rain_content, 0.0) / 0.072) ** (1.0 / 0.88)
    # Precipitation ice from just above the freezing level to a regime-dependent top.
    ice_top = freezing + np.where(convective, 4.0 + 1.2 * np.sqrt(iwp), 3.0)
    ice = iwp[None, :] * _layer_fraction(freezing + 0.3, np.minimum(ice_top, 16.0))

    tb = []
    for offset in offsets or (0.0,):
        f_band = freq + offset
        tau_abs = vapour * _tabulated(_vapour_mass_absorption, f_band, temp, pressure)
        tau_abs = tau_abs + _o2_zenith_opacity(f_band) * o2_weights[:, None]
        tau_abs = tau_abs + cloud * _tabulated(_cloud_mass_absorption, f_band, temp)
        k_rain = _interp_log(f_band, _RAIN_FREQ, _RAIN_K)
        a_rain = _interp_log(f_band, _RAIN_FREQ, _RAIN_ALPHA)
        tau_rain = k_rain * rain_rate**a_rain / 4.343 * _DZ[:, None]
        ssa_rain = _interp_log(f_band, _RAIN_SSA_FREQ, _RAIN_SSA) * np.clip(
            0.6 + 0.1 * np.log1p(rain_rate), 0.6, 1.0
        )
        g_rain = _interp_log(f_band, _RAIN_SSA_FREQ, _RAIN_G)
        tau_ice = ice * _interp_log(f_band, _ICE_FREQ, _ICE_KEXT)
        ssa_ice = _interp_log(f_band, _ICE_FREQ, _ICE_SSA)
        g_ice = _interp_log(f_band, _ICE_FREQ, _ICE_G)

        tau = tau_abs + tau_rain + tau_ice
        scat = tau_rain * ssa_rain + tau_ice * ssa_ice
        ssa = np.where(tau > 0, scat / np.maximum(tau, 1e-12), 0.0)
        asym = np.where(
            scat > 0,
            (tau_rain * ssa_rain * g_rain + tau_ice * ssa_ice * g_ice) / np.maximum(scat, 1e-12),
            0.0,
        )
        refl, trans, emit = _two_stream(tau / mu[None, :], ssa, asym)
        source = emit * temp

        e_v, e_h = _surface_emissivity(f_band, fields, incidence)
        nz = tau.shape[0]
        # Pass 1: downwelling without reflection of upwelling; then iterate up/down twice so that
        # scattering layers reflect the cold sky upwards and the warm surface downwards.
        up = np.zeros((nz + 1, n))
        up_ref = np.broadcast_to(temp, (nz, n))  # first guess of upwelling into each layer
        down = np.empty((nz + 1, n))
        for _ in range(2):
            down[nz] = _T_COSMIC
            for i in range(nz - 1, -1, -1):
                down[i] = trans[i] * down[i + 1] + refl[i] * up_ref[i] + source[i]
            results = []
            for e_s in (e_v, e_h):
                up[0] = e_s * skin + (1.0 - e_s) * down[0]
                for i in range(nz):
                    up[i + 1] = trans[i] * up[i] + refl[i] * down[i + 1] + source[i]
                results.append(up[nz].copy())
            up_ref = up[:-1].copy()  # H-pol upwelling is close enough for the next pass
        tb.append(results)
    tb_v = np.mean([r[0] for r in tb], axis=0)
    tb_h = np.mean([r[1] for r in tb], axis=0)
    return tb_v, tb_h


def _surface_emissivity(
    freq: float, fields: dict[str, np.ndarray], incidence: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    surface = fields["surface_type"]
    land_fraction = np.clip(fields["land_fraction"], 0.0, 1.0)
    skin = fields["skin_temperature"]
    ocean_v, ocean_h = ocean_emissivity(
        freq, incidence, np.maximum(skin, 271.0), fields["wind_speed"]
    )
    land_v, land_h = _land_emissivity(freq, fields)
    frozen = surface == 3
    frozen_ocean = frozen & (land_fraction < 0.5)
    snow_v, snow_h = _snow_emissivity(freq, frozen_ocean)
    land_v = np.where(frozen, snow_v, land_v)
    land_h = np.where(frozen, snow_h, land_h)
    weight = np.where(frozen_ocean, 1.0, land_fraction)
    return weight * land_v + (1 - weight) * ocean_v, weight * land_h + (1 - weight) * ocean_h


def _scan_angle_deg(incidence_deg: np.ndarray) -> np.ndarray:
    ratio = _EARTH_RADIUS_KM / (_EARTH_RADIUS_KM + _SATELLITE_ALTITUDE_KM)
    return np.rad2deg(np.arcsin(np.clip(ratio * np.sin(np.deg2rad(incidence_deg)), -1.0, 1.0)))


def _scene_arrays(scene: xr.Dataset) -> dict[str, xr.DataArray]:
    if not isinstance(scene, xr.Dataset):
        raise InvalidArgumentError(
            "scene must be an xarray.Dataset from xgpm.simulate.truth_scene, got "
            f"{type(scene).__name__}"
        )
    missing = [name for name in REQUIRED_VARIABLES if name not in scene]
    if missing:
        raise MissingVariableError(
            f"scene lacks variable(s) {missing} that the forward model needs; build it with "
            "xgpm.simulate.truth_scene or add them."
        )
    arrays = {name: scene[name] for name in REQUIRED_VARIABLES}
    for name in ("land_emissivity", "land_polarization", "land_emissivity_slope"):
        if name in scene:
            arrays[name] = scene[name]
    if "land_emissivity" not in arrays:
        arrays["land_emissivity"] = xr.full_like(scene["t2m"], 0.95)
    if "land_polarization" not in arrays:
        arrays["land_polarization"] = xr.full_like(scene["t2m"], 0.03)
    if "land_emissivity_slope" not in arrays:
        arrays["land_emissivity_slope"] = xr.zeros_like(scene["t2m"])
    return arrays


def _validate_polarization(polarization: str) -> str:
    pol = str(polarization).upper()
    if pol not in _POLARIZATIONS:
        raise InvalidArgumentError(
            f"polarization must be one of {_POLARIZATIONS}, got {polarization!r}."
        )
    return pol


def _validate_frequency(frequency_ghz: float, offset_ghz: float) -> None:
    if not np.isfinite(frequency_ghz) or not 1.0 <= frequency_ghz <= 300.0:
        raise InvalidArgumentError(
            f"frequency_ghz must be between 1 and 300 GHz, got {frequency_ghz!r}."
        )
    if offset_ghz < 0 or offset_ghz >= frequency_ghz:
        raise InvalidArgumentError(
            f"offset_ghz must be >= 0 and below the frequency, got {offset_ghz!r}."
        )


def brightness_temperature(
    scene: xr.Dataset,
    frequency_ghz: float,
    polarization: str,
    incidence_deg: Any,
    *,
    offset_ghz: float = 0.0,
    scan_angle_deg: Any = None,
) -> xr.DataArray:
    """Brightness temperature of a truth scene for one channel.

    Parameters
    ----------
    scene : xarray.Dataset
        A scene from :func:`xgpm.simulate.truth_scene` (any dims; the variables listed in
        :data:`REQUIRED_VARIABLES`).
    frequency_ghz : float
        Centre frequency (GHz), e.g. 18.7 or 183.31.
    polarization : {"V", "H", "QV", "QH"}
        Quasi-polarisations (cross-track sounders) mix V and H with the scan angle ``a``:
        ``QV = V cos^2 a + H sin^2 a`` and ``QH = V sin^2 a + H cos^2 a``.
    incidence_deg : float or array_like
        Earth incidence angle (deg); a scalar or anything broadcastable to the scene (an
        ``xarray.DataArray`` is aligned by dimension name).
    offset_ghz : float, optional
        Sideband offset of a double-sideband channel (183.31 +/- 7 -> 7.0); the two passbands are
        averaged.
    scan_angle_deg : float or array_like, optional
        Scan (nadir) angle for quasi-polarised channels; derived from the incidence angle for an
        830 km orbit when not given.

    Returns
    -------
    xarray.DataArray
        TB in K with the scene's dims and coords, at the scene's native resolution (no antenna
        pattern, no noise).

    Examples
    --------
    >>> import numpy as np
    >>> from xgpm.simulate import truth_scene, brightness_temperature
    >>> lat = np.linspace(30.0, 31.0, 32); lon = np.linspace(-90.0, -89.0, 32)
    >>> scene = truth_scene(lat, lon, np.array(["2019-07-01T18:00"], "datetime64[ns]"), seed=1)
    >>> tb = brightness_temperature(scene, 89.0, "V", 52.8)
    >>> bool(tb.min() > 50 and tb.max() < 320)
    True
    """
    pol = _validate_polarization(polarization)
    _validate_frequency(float(frequency_ghz), float(offset_ghz))
    arrays = _scene_arrays(scene)
    template = arrays["t2m"]
    incidence = _angle_array(incidence_deg, template, "incidence_deg")
    if not _is_lazy(incidence) and np.any((incidence < 0) | (incidence >= 89.0)):
        raise InvalidArgumentError("incidence_deg must be in [0, 89) degrees.")
    if pol in ("QV", "QH") and scan_angle_deg is not None:
        scan = _angle_array(scan_angle_deg, template, "scan_angle_deg")
    else:
        scan = incidence  # unused for V/H; derived from the incidence for QV/QH
    names = list(arrays)
    tb = xr.apply_ufunc(
        _tb_kernel,
        *[arrays[name] for name in names],
        incidence,
        scan,
        kwargs={
            "names": names,
            "freq": float(frequency_ghz),
            "offset": float(offset_ghz),
            "pol": pol,
            "scan_given": scan_angle_deg is not None,
        },
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    tb = tb.transpose(*[d for d in template.dims if d in tb.dims], ...)
    tb.name = "tb"
    tb.attrs = {
        "units": "K",
        "long_name": "brightness temperature",
        "frequency_ghz": float(frequency_ghz),
        "offset_ghz": float(offset_ghz),
        "polarization": pol,
    }
    return tb


def _is_lazy(arr: xr.DataArray) -> bool:
    return arr.chunks is not None


def _tb_kernel(*arrays: np.ndarray, names, freq, offset, pol, scan_given) -> np.ndarray:
    """Numpy-facing kernel of :func:`brightness_temperature` (inputs broadcastable, any shape)."""
    *fields, incidence, scan = np.broadcast_arrays(*arrays)
    shape = incidence.shape
    flat = {name: np.ravel(a) for name, a in zip(names, fields, strict=True)}
    inc = np.ravel(incidence)[None, :]
    scan_rows = np.ravel(scan)[None, :] if scan_given else None
    out = _tb_channels(flat, [(freq, offset, pol, 0)], inc, scan_rows)
    return out[0].reshape(shape)


def _tb_multi_kernel(*arrays: np.ndarray, names, specs, n_inc, scan_given) -> np.ndarray:
    """Kernel of :func:`brightness_temperatures`: all channels at once, channel axis last."""
    n_scan = 1 if scan_given else 0
    arrays = np.broadcast_arrays(*arrays)
    n_fields = len(names)
    shape = arrays[0].shape
    flat = {name: np.ravel(a) for name, a in zip(names, arrays[:n_fields], strict=True)}
    inc = np.stack([np.ravel(a) for a in arrays[n_fields : n_fields + n_inc]])
    scan_rows = np.ravel(arrays[-1])[None, :] if n_scan else None
    out = _tb_channels(flat, specs, inc, scan_rows)
    return np.moveaxis(out.reshape(len(specs), *shape), 0, -1)


_KERNEL_FIELDS = (
    "t2m",
    "skin_temperature",
    "total_column_water_vapor",
    "cloud_liquid_path",
    "rain_water_path",
    "ice_water_path",
    "precip_type",
    "surface_type",
    "land_fraction",
    "wind_speed",
    "land_emissivity",
    "land_polarization",
    "land_emissivity_slope",
)
_CHUNK = 16_384  # pixels per kernel call (threads work on chunks)


@functools.lru_cache(maxsize=64)
def _band_tables(f_band: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, ...]]:
    """Per-passband tables: vapour (nz, nT) and cloud (nT) absorption, flat sea, optics."""
    pressure = 1013.25 * np.exp(-_Z_MID / _PRESSURE_SCALE_KM)
    vap = np.stack([_vapour_mass_absorption(f_band, p, _T_TABLE) for p in pressure])
    cld = np.asarray(_cloud_mass_absorption(f_band, _T_TABLE), dtype=np.float64)
    optics = (
        f_band,
        _o2_zenith_opacity(f_band),
        _interp_log(f_band, _RAIN_FREQ, _RAIN_K),
        _interp_log(f_band, _RAIN_FREQ, _RAIN_ALPHA),
        _interp_log(f_band, _RAIN_SSA_FREQ, _RAIN_SSA),
        _interp_log(f_band, _RAIN_SSA_FREQ, _RAIN_G),
        _interp_log(f_band, _ICE_FREQ, _ICE_KEXT),
        _interp_log(f_band, _ICE_FREQ, _ICE_SSA),
        _interp_log(f_band, _ICE_FREQ, _ICE_G),
        float(np.log(f_band / 10.65)),
    )
    inc, sst = np.meshgrid(_OCEAN_INC, _OCEAN_SST, indexing="ij")
    ocean = np.stack(_smooth_sea_emissivity(f_band, inc, sst))
    return np.ascontiguousarray(vap, dtype=np.float64), cld, ocean, optics


#: Double-sideband channels (183 +/- 3, +/- 7 GHz) as one radiative transfer with the mean
#: absorption of their two sidebands instead of two (the 183.31 GHz line is nearly symmetric).
_MERGE_SIDEBANDS = True


@functools.lru_cache(maxsize=64)
def _passband_tables(f_bands: tuple[float, ...]):
    """:func:`_band_tables` of one frequency, or the mean over the sidebands of a channel."""
    if len(f_bands) == 1:
        return _band_tables(f_bands[0])
    tables = [_band_tables(f) for f in f_bands]
    vap, cld, ocean = (np.mean([t[i] for t in tables], axis=0) for i in range(3))
    optics = tuple(float(np.mean([t[3][i] for t in tables])) for i in range(len(tables[0][3])))
    return vap, cld, ocean, optics


def _n_threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _tb_channels(
    flat: dict[str, np.ndarray],
    specs: Sequence[tuple[float, float, str, int]],
    incidence: np.ndarray,
    scan: np.ndarray | None,
) -> np.ndarray:
    """TBs ``(n_channels, n)`` float32 of flat fields for channels ``(freq, offset, pol, row)``.

    ``row`` indexes ``incidence`` (``(n_rows, n)`` degrees). Channels sharing a passband and an
    incidence row share one radiative transfer (V and H come out together). The work runs in
    a numba kernel on pixel chunks, in a few threads when called from the main thread.
    """
    from xgpm.simulate import _rtm_kernels as K

    n = incidence.shape[1]
    # A passband is (frequencies averaged, incidence row): a double-sideband channel is one
    # radiative transfer with the sidebands' mean absorption (see _passband_tables).
    band_index: dict[tuple[tuple[float, ...], int], int] = {}
    channel_bands = []
    for freq, offset, _pol, row in specs:
        f_bands = (freq - offset, freq + offset) if offset > 0 else (freq,)
        if not _MERGE_SIDEBANDS:
            members = [
                band_index.setdefault(((float(f),), int(row)), len(band_index)) for f in f_bands
            ]
        else:
            key = (tuple(float(f) for f in f_bands), int(row))
            members = [band_index.setdefault(key, len(band_index))]
        channel_bands.append(members)
    n_bands = len(band_index)
    bands = np.empty((K.N_BAND, n_bands))
    vap = np.empty((n_bands, _Z_MID.size, _T_TABLE.size))
    cld = np.empty((n_bands, _T_TABLE.size))
    ocean = np.empty((n_bands, 2, _OCEAN_INC.size, _OCEAN_SST.size))
    for (f_bands, row), b in band_index.items():
        vap[b], cld[b], ocean[b], optics = _passband_tables(f_bands)
        bands[: len(optics), b] = optics
        bands[K.B_INC_ROW, b] = row
    inc = np.clip(np.asarray(incidence, dtype=np.float64), 0.0, 88.9)
    tb_v = np.empty((n_bands, n), dtype=np.float32)
    tb_h = np.empty((n_bands, n), dtype=np.float32)

    def run(start: int) -> None:
        sl = slice(start, min(start + _CHUNK, n))
        stacked = np.empty((K.N_FIELDS, sl.stop - sl.start))
        for i, name in enumerate(_KERNEL_FIELDS):
            stacked[i] = flat[name][sl]
        K.tb_kernel(
            stacked,
            np.ascontiguousarray(inc[:, sl]),
            bands,
            vap,
            cld,
            ocean,
            _OCEAN_INC_STEP,
            float(_OCEAN_SST[0]),
            _OCEAN_SST_STEP,
            float(_T_TABLE[0]),
            _Z_EDGES,
            _T_COSMIC,
            _LAPSE_K_PER_KM,
            _T_TROPOPAUSE,
            _VAPOUR_SCALE_KM,
            _PRESSURE_SCALE_KM,
            tb_v[:, sl],
            tb_h[:, sl],
        )

    starts = range(0, n, _CHUNK)
    # Threads only from the main thread: inside dask's (or any) worker threads the caller
    # already runs chunks in parallel, and nested pools would oversubscribe the cores.
    own_pool = threading.current_thread() is threading.main_thread()
    workers = min(_n_threads(), len(starts)) if own_pool else 1
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, starts))
    else:
        for start in starts:
            run(start)

    out = np.empty((len(specs), n), dtype=np.float32)
    for c, ((_freq, _offset, pol, row), members) in enumerate(
        zip(specs, channel_bands, strict=True)
    ):
        v = np.mean([tb_v[b] for b in members], axis=0, dtype=np.float32)
        h = np.mean([tb_h[b] for b in members], axis=0, dtype=np.float32)
        if pol == "V":
            out[c] = v
        elif pol == "H":
            out[c] = h
        else:
            angle = scan[0] if scan is not None else _scan_angle_deg(inc[row])
            cos2 = (np.cos(np.deg2rad(angle)) ** 2).astype(np.float32)
            out[c] = v * cos2 + h * (1 - cos2) if pol == "QV" else v * (1 - cos2) + h * cos2
    return out


def _angle_array(value: Any, template: xr.DataArray, name: str) -> xr.DataArray:
    """An angle as a DataArray broadcastable against the scene (named dims, or the scene's)."""
    if isinstance(value, xr.DataArray):
        unknown = [d for d in value.dims if d not in template.dims]
        if unknown:
            raise InvalidArgumentError(
                f"{name} has dims {unknown} that the scene (dims {template.dims}) lacks."
            )
        return value.astype(np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return xr.DataArray(arr)
    try:
        full = np.broadcast_to(arr, template.shape)
    except ValueError as err:
        raise InvalidArgumentError(
            f"{name} of shape {arr.shape} cannot be broadcast to the scene shape {template.shape} "
            f"(dims {template.dims}); pass a scalar or a DataArray with named dims."
        ) from err
    out = xr.DataArray(np.ascontiguousarray(full), dims=template.dims)
    if template.chunks is not None:
        out = out.chunk(dict(zip(template.dims, template.chunks, strict=True)))
    return out


def brightness_temperatures(
    scene: xr.Dataset,
    channels: Sequence[Any],
    incidence: Any = None,
    *,
    scan_angle_deg: Any = None,
) -> xr.DataArray:
    """Brightness temperatures of a truth scene for several channels.

    Parameters
    ----------
    scene : xarray.Dataset
        A scene from :func:`xgpm.simulate.truth_scene`.
    channels : sequence of xgpm.sensors.Channel
        Channels (``sensors.get("GMI").channels``); anything with ``label``, ``frequency``,
        ``offset``, ``polarization`` and ``incidence_angle`` attributes works.
    incidence : float, array_like, mapping or None
        Incidence angle (deg). None uses each channel's nominal ``incidence_angle``; a mapping
        from channel label to angle sets it per channel; anything else applies to all channels.
    scan_angle_deg : float or array_like, optional
        Scan angle for quasi-polarised channels (see :func:`brightness_temperature`).

    Returns
    -------
    xarray.DataArray
        TBs (K) with a leading ``pmw_frequency`` dim labelled by channel label.
    """
    channels = list(channels)
    if not channels:
        raise InvalidArgumentError("channels is empty; pass e.g. xgpm.sensors.get('GMI').channels.")
    arrays = _scene_arrays(scene)
    template = arrays["t2m"]
    angle_rows: list[xr.DataArray] = []
    angle_keys: dict[Any, int] = {}
    specs = []
    for channel in channels:
        for attr in ("label", "frequency", "polarization"):
            if not hasattr(channel, attr):
                raise InvalidArgumentError(
                    f"channels must be xgpm.sensors.Channel objects; {channel!r} has no {attr!r}."
                )
        if incidence is None:
            angle = getattr(channel, "incidence_angle", None)
            if angle is None or getattr(channel, "incidence_varies", False) and not angle:
                angle = 0.0
        elif isinstance(incidence, dict):
            if channel.label not in incidence:
                raise InvalidArgumentError(
                    f"incidence mapping has no angle for channel {channel.label!r}."
                )
            angle = incidence[channel.label]
        else:
            angle = incidence
        pol = _validate_polarization(channel.polarization)
        freq = float(channel.frequency)
        offset = float(getattr(channel, "offset", 0.0) or 0.0)
        _validate_frequency(freq, offset)
        # Channels with the same angle share one incidence row (and their radiative transfer).
        key = ("scalar", float(angle)) if np.ndim(angle) == 0 else ("array", id(angle))
        if key not in angle_keys:
            angle_keys[key] = len(angle_rows)
            row = _angle_array(angle, template, "incidence_deg")
            if not _is_lazy(row) and np.any((row < 0) | (row >= 89.0)):
                raise InvalidArgumentError("incidence_deg must be in [0, 89) degrees.")
            angle_rows.append(row)
        specs.append((freq, offset, pol, angle_keys[key]))
    scan_given = scan_angle_deg is not None and any(s[2] in ("QV", "QH") for s in specs)
    extra = [_angle_array(scan_angle_deg, template, "scan_angle_deg")] if scan_given else []
    names = list(arrays)
    out = xr.apply_ufunc(
        _tb_multi_kernel,
        *[arrays[name] for name in names],
        *angle_rows,
        *extra,
        kwargs={
            "names": names,
            "specs": specs,
            "n_inc": len(angle_rows),
            "scan_given": scan_given,
        },
        output_core_dims=[["pmw_frequency"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"pmw_frequency": len(channels)}},
    )
    dims = [d for d in template.dims if d in out.dims]
    out = out.transpose("pmw_frequency", *dims, ...)
    out = out.assign_coords(pmw_frequency=[c.label for c in channels])
    out.name = "Tc"
    out.attrs = {"units": "K", "long_name": "simulated brightness temperature"}
    return out
