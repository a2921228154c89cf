"""Spectroscopy and surface physics of the forward model (:mod:`xgpm.simulate.rtm`).

The atmosphere's layers and standard profile; oxygen (Liebe MPM93, tabulated zenith opacity),
water vapour (22 and 183 GHz lines and continuum) and cloud liquid absorption; rain (ITU-R
P.838-3) and precipitation ice extinction, albedo and asymmetry; the sea surface (double-Debye
permittivity, Fresnel, :func:`ocean_emissivity`), land and snow emissivities; the two-stream
scattering correction; :func:`gas_optical_depth`. Pure NumPy: the Numba column kernel reads tables
built from these functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["gas_optical_depth", "ocean_emissivity"]

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
