"""The Datasets of one simulated granule: radiometer Tc and DPR fields, noise and calibration.

:func:`xgpm.simulate.instruments.observe_platform` samples the truth at the pixels; this module
turns those samples into the Datasets of the data model: the NEDT noise and the calibration
residual (:func:`calibration_residual`, clipped to :data:`CALIBRATION_LIMIT_K`) of a radiometer,
the DPR's rain, reflectivity-like fields and ``typePrecip`` codes, and the spacecraft position and
local time. :func:`granule_rng` is the random generator of one granule, from the master seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from xgpm.simulate.orbits import SwathGeometry

__all__ = [
    "CALIBRATION_LIMIT_K",
    "TYPE_PRECIP_CODES",
    "TYPE_PRECIP_NO_RAIN",
    "calibration_residual",
    "granule_rng",
]

CALIBRATION_LIMIT_K = 1.0


#: PPS-like 2A-DPR ``typePrecip`` codes (leading digit: 1 stratiform, 2 convective, 3 other).
TYPE_PRECIP_CODES = {1: 10000000, 2: 20000000, 3: 30000000}


TYPE_PRECIP_NO_RAIN = -1111


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def granule_rng(seed: int, key: str, granule: int) -> np.random.Generator:
    """Return the random generator of one granule, derived from the master seed and its id."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _crc(key), int(granule)]))


def calibration_residual(sensor: Any, seed: int) -> dict[str, tuple[float, float]]:
    """Per-channel calibration residual coefficients ``(a, b)`` of a sensor for a seed.

    The residual applied to a brightness temperature ``tb`` is
    ``clip(a + b * (tb - 250), -1, 1)`` K.

    Parameters
    ----------
    sensor : Sensor
    seed : int

    Returns
    -------
    dict
        ``"<scan mode>/<label>" -> (a, b)``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _crc(sensor.name), 7331]))
    out = {}
    for mode_name, mode in sensor.scan_modes.items():
        for ch in mode.channels:
            a, b = rng.normal(0.0, 0.3), rng.normal(0.0, 0.004)
            out[f"{mode_name}/{ch.label}"] = (float(a), float(b))
    return out


@dataclass
class _Target:
    sensor: Any
    geom: SwathGeometry
    kind: str  # "radiometer" | "radar"


def _sun_local_time(lon: np.ndarray, times: np.ndarray) -> np.ndarray:
    day = times.astype("datetime64[D]")
    hours = (times - day).astype("int64") / 3.6e12
    return np.mod(hours[None, :] + lon / 15.0, 24.0).astype("float32")


def _spacecraft(geom: SwathGeometry) -> dict[str, Any]:
    lat, lon = geom.orbit.subsatellite(geom.scan_times)
    return {
        "SClatitude": ("along_track", lat.astype("float32")),
        "SClongitude": ("along_track", lon.astype("float32")),
        "SCaltitude": ("along_track", np.full(lat.shape, geom.orbit.altitude_km, "float32")),
    }


def _radiometer_datasets(
    t: _Target, per: dict[str, dict[str, np.ndarray]], rng: np.random.Generator, seed: int
) -> dict[str, xr.Dataset]:
    sensor, geom = t.sensor, t.geom
    calib = calibration_residual(sensor, seed)
    out = {}
    for name, mode in geom.modes.items():
        channels = sensor.scan_modes[name].channels
        tc = per[name]["tc"]
        for i, ch in enumerate(channels):
            a, b = calib[f"{name}/{ch.label}"]
            clean = tc[..., i]
            residual = np.clip(a + b * (clean - 250.0), -CALIBRATION_LIMIT_K, CALIBRATION_LIMIT_K)
            noise = rng.standard_normal(clean.shape).astype("float32") * np.float32(ch.nedt)
            tc[..., i] = clean + residual + noise
        ds = xr.Dataset(
            {
                "Tc": (("cross_track", "along_track", "pmw_frequency"), tc),
                "incidenceAngle": (("cross_track", "along_track"), mode.incidence),
                "sunLocalTime": (
                    ("cross_track", "along_track"),
                    _sun_local_time(mode.lon, geom.scan_times),
                ),
                **_spacecraft(geom),
            },
            coords={**geom.coords(name), "pmw_frequency": [ch.label for ch in channels]},
        )
        ds["Tc"].attrs["units"] = "K"
        ds.attrs.update(
            gpm_api_product=sensor.product,
            sensor=sensor.name,
            scan_mode=name,
            granule_number=int(geom.granule),
            simulated="xgpm.simulate",
        )
        out[name] = ds
    return out


def _radar_datasets(
    t: _Target, per: dict[str, dict[str, np.ndarray]], rng: np.random.Generator
) -> dict[str, xr.Dataset]:
    sensor, geom = t.sensor, t.geom
    floor = float(getattr(sensor, "min_detectable_rate_mm_h", None) or 0.2)
    name = next(iter(per))  # "FS": the full-swath scan mode carries the near-surface rate
    rain = per[name]["rain"]
    truth_type = per[name]["type"]
    valid = np.isfinite(rain)
    # Retrieval error: ~15 % multiplicative log-normal scatter on detected rain.
    noisy = rain * np.exp(rng.normal(0.0, 0.15, rain.shape)).astype("float32")
    detected = valid & (noisy >= floor)
    rate = np.where(detected, noisy, np.where(valid, 0.0, np.nan)).astype("float32")
    codes = np.full(rain.shape, TYPE_PRECIP_NO_RAIN, dtype="int32")
    for truth_code, pps_code in TYPE_PRECIP_CODES.items():
        codes[detected & (truth_type == truth_code)] = pps_code
    # Detected rain whose truth type is unknown/none is "other".
    codes[detected & (codes == TYPE_PRECIP_NO_RAIN)] = TYPE_PRECIP_CODES[3]
    codes[~valid] = TYPE_PRECIP_NO_RAIN
    mode = geom.modes[name]
    ds = xr.Dataset(
        {
            "precipRateNearSurface": (("cross_track", "along_track"), rate),
            "precipRateESurface": (("cross_track", "along_track"), rate.copy()),
            "typePrecip": (("cross_track", "along_track"), codes),
            "flagPrecip": (
                ("cross_track", "along_track"),
                np.where(detected, 11, 0).astype("int32"),
            ),
        },
        coords=geom.coords(name),
    )
    ds["precipRateNearSurface"].attrs["units"] = "mm/h"
    ds.attrs.update(
        gpm_api_product=sensor.product,
        sensor=sensor.name,
        scan_mode=name,
        granule_number=int(geom.granule),
        min_detectable_rate_mm_h=floor,
        simulated="xgpm.simulate",
    )
    del mode
    return {name: ds}
