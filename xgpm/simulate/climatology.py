"""Climatology of the truth scenes: precipitation regimes, their frequencies, moisture, heat.

The parameters of each precipitation regime (``_REGIME_PARAMS``), their frequencies per climate
group and local season (``_FREQUENCIES``), the local wetness and moisture multipliers by Koppen
main class, the seasonal phase, the water-vapour climatology and the temperature profile of
:mod:`xgpm.simulate.scenes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xgpm.seasons import SEASONS, season_index


@dataclass(frozen=True)
class _Regime:
    wet_fraction: float  # area fraction with rain > 0
    log_median: float  # ln of the median conditional rain rate (mm/h)
    log_sigma: float
    beta: float
    anisotropy: float
    convective_share: float  # share of the raining area (its most intense part) that is convective
    ice_factor: float
    cloud_fraction: float
    vortex: float


_REGIME_PARAMS = {
    "clear": _Regime(0.005, np.log(0.35), 0.8, 3.2, 1.0, 0.05, 0.4, 0.2, 0.0),
    "shallow": _Regime(0.06, np.log(0.35), 0.9, 2.6, 1.0, 0.0, 0.15, 0.55, 0.0),
    "stratiform": _Regime(0.26, np.log(0.8), 1.0, 3.4, 2.0, 0.04, 0.7, 0.7, 0.0),
    "scattered_convection": _Regime(0.08, np.log(1.1), 1.45, 2.5, 1.0, 0.35, 1.5, 0.35, 0.0),
    "squall_line": _Regime(0.15, np.log(1.3), 1.35, 3.0, 5.0, 0.25, 1.4, 0.5, 0.0),
    "tropical_cyclone": _Regime(0.3, np.log(2.5), 1.2, 3.0, 1.0, 0.15, 1.0, 0.8, 1.0),
}


_PARAM_NAMES = tuple(_Regime.__dataclass_fields__)


# Regime frequencies per climate group and local season (summer, transition, winter).
_FREQUENCIES = {
    "A": {
        "summer": (0.15, 0.1, 0.1, 0.4, 0.2, 0.05),
        "transition": (0.2, 0.1, 0.1, 0.37, 0.2, 0.03),
        "winter": (0.35, 0.15, 0.1, 0.25, 0.15, 0.0),
    },
    "B": {
        "summer": (0.6, 0.05, 0.05, 0.25, 0.05, 0.0),
        "transition": (0.65, 0.05, 0.1, 0.15, 0.05, 0.0),
        "winter": (0.65, 0.05, 0.2, 0.05, 0.05, 0.0),
    },
    "C": {
        "summer": (0.3, 0.07, 0.13, 0.3, 0.2, 0.0),
        "transition": (0.33, 0.1, 0.3, 0.15, 0.12, 0.0),
        "winter": (0.35, 0.15, 0.4, 0.05, 0.05, 0.0),
    },
    "D": {
        "summer": (0.3, 0.08, 0.17, 0.28, 0.17, 0.0),
        "transition": (0.35, 0.12, 0.33, 0.12, 0.08, 0.0),
        "winter": (0.4, 0.2, 0.38, 0.01, 0.01, 0.0),
    },
    "E": {
        "summer": (0.4, 0.3, 0.3, 0.0, 0.0, 0.0),
        "transition": (0.45, 0.3, 0.25, 0.0, 0.0, 0.0),
        "winter": (0.5, 0.3, 0.2, 0.0, 0.0, 0.0),
    },
    "ocean_tropics": {
        "summer": (0.15, 0.3, 0.1, 0.25, 0.12, 0.08),
        "transition": (0.2, 0.3, 0.1, 0.22, 0.12, 0.06),
        "winter": (0.25, 0.35, 0.1, 0.18, 0.1, 0.02),
    },
    "ocean_mid": {
        "summer": (0.3, 0.3, 0.25, 0.08, 0.07, 0.0),
        "transition": (0.28, 0.27, 0.35, 0.05, 0.05, 0.0),
        "winter": (0.25, 0.25, 0.45, 0.03, 0.02, 0.0),
    },
    "ocean_polar": {
        "summer": (0.35, 0.35, 0.3, 0.0, 0.0, 0.0),
        "transition": (0.3, 0.35, 0.35, 0.0, 0.0, 0.0),
        "winter": (0.3, 0.35, 0.35, 0.0, 0.0, 0.0),
    },
}


# Local wetness multiplier of the wet fraction, by Koppen main class (ocean, A, B, C, D, E).
_WETNESS = np.array([1.0, 1.4, 0.35, 1.0, 0.9, 0.6], dtype=np.float32)


# TCWV multiplier of the latitude/season climatology by main class (arid air is dry).
_MOISTURE = np.array([1.05, 1.1, 0.6, 0.95, 0.85, 0.5], dtype=np.float32)


def _season_name(month: int) -> str:
    return SEASONS[int(season_index(month))]


def _local_season(month: int, lat: float) -> str:
    season = _season_name(month)
    if lat < 0:
        season = {"DJF": "JJA", "JJA": "DJF", "MAM": "SON", "SON": "MAM"}[season]
    return {"JJA": "summer", "DJF": "winter"}.get(season, "transition")


def _seasonal_phase(day_of_year: float, lat: np.ndarray) -> np.ndarray:
    """+1 at the local warmest time of year (late July in the north), -1 half a year later."""
    return np.cos(2 * np.pi * (day_of_year - 200.0) / 365.25) * np.sign(lat + 1e-6)


def _tcwv_climatology(lat: np.ndarray, day_of_year: float) -> np.ndarray:
    itcz = 6.0 * np.cos(2 * np.pi * (day_of_year - 200.0) / 365.25)
    return (
        4.0
        + 48.0 * np.exp(-(((lat - itcz) / 33.0) ** 2))
        + 6.0 * _seasonal_phase(day_of_year, lat) * np.clip(np.abs(lat) / 40.0, 0, 1)
    )


def _temperatures(
    lat: np.ndarray,
    lon: np.ndarray,
    land: np.ndarray,
    main_class: np.ndarray,
    time: np.datetime64,
    noise: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(daily-mean 2 m temperature, instantaneous 2 m temperature, skin temperature) in K.

    Land ``302 - 42 sin^2(lat) + 0.3 |lat| s`` (+3 K arid, -12 K polar), ``s`` the seasonal
    phase lagging the sun by two weeks; SST ``302 - 32 sin^2(lat) + 0.08 |lat| s`` (floor
    271.2 K); mixed by land fraction, plus 2 K of static noise; a diurnal cycle over land (air
    peaking at 15 h, skin at 13 h local solar time, 1.6x in arid climates). A numba kernel.
    """
    from xgpm.simulate import _scene_kernels

    ts = pd.Timestamp(time)
    doy = ts.day_of_year + ts.hour / 24.0
    season_cycle = float(np.cos(2 * np.pi * (doy - 15.0 - 200.0) / 365.25))  # ground lags sun
    n = np.shape(lat)[0]
    daily, t2m, skin = (np.empty(n, np.float32) for _ in range(3))
    _scene_kernels.temperatures(
        np.ascontiguousarray(lat, np.float64),
        np.ascontiguousarray(lon, np.float64),
        np.ascontiguousarray(land, np.float32),
        np.ascontiguousarray(main_class),
        np.ascontiguousarray(noise, np.float32),
        season_cycle,
        ts.hour + ts.minute / 60.0,
        daily,
        t2m,
        skin,
    )
    return daily, t2m, skin
