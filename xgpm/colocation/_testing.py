"""Synthetic swath geometry for tests and benchmarks of the colocation engine.

The swaths come from a circular orbit over a rotating spherical Earth (R = 6371 km): a conical
scanner sees a forward arc of constant earth-central angle around the sub-satellite point
(GMI, SSMIS), a cross-track scanner sees a line through nadir (DPR). This is geometry only,
good enough to give colocation realistic pixel spacing, curvature, orbit crossings, poles and
antimeridian crossings; it is not an orbit propagator.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = [
    "EARTH_RADIUS_KM",
    "conical_swath",
    "cross_track_swath",
    "gmi_orbit",
    "ssmis_orbit",
    "dpr_orbit",
    "synthetic_field",
]

EARTH_RADIUS_KM = 6371.0
_MU_KM3_S2 = 398600.4418
_EARTH_ROTATION_RAD_S = 7.2921159e-5


def _orbit_frames(
    times_s: np.ndarray,
    altitude_km: float,
    inclination_deg: float,
    ascending_node_lon_deg: float,
    start_arg_lat_deg: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sub-satellite unit vector, along-track and left-of-track unit vectors (Earth-fixed)."""
    a = EARTH_RADIUS_KM + altitude_km
    n = np.sqrt(_MU_KM3_S2 / a**3)  # mean motion, rad/s
    u = np.deg2rad(start_arg_lat_deg) + n * times_s
    inc = np.deg2rad(inclination_deg)
    # Earth rotation moves the node westward in the Earth-fixed frame.
    node = np.deg2rad(ascending_node_lon_deg) - _EARTH_ROTATION_RAD_S * times_s
    cos_u, sin_u = np.cos(u), np.sin(u)
    cos_o, sin_o = np.cos(node), np.sin(node)
    cos_i, sin_i = np.cos(inc), np.sin(inc)
    r = np.stack(
        [
            cos_u * cos_o - sin_u * cos_i * sin_o,
            cos_u * sin_o + sin_u * cos_i * cos_o,
            sin_u * sin_i,
        ]
    )
    v = np.stack(
        [
            -sin_u * cos_o - cos_u * cos_i * sin_o,
            -sin_u * sin_o + cos_u * cos_i * cos_o,
            cos_u * sin_i,
        ]
    )
    left = np.cross(r, v, axis=0)
    return r, v, left


def _to_lonlat(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.rad2deg(np.arctan2(xyz[1], xyz[0]))
    lat = np.rad2deg(np.arcsin(np.clip(xyz[2], -1.0, 1.0)))
    return lon.astype(np.float32), lat.astype(np.float32)


def _swath_dataset(
    xyz: np.ndarray, start_time: str | np.datetime64, times_s: np.ndarray, sensor: str
) -> xr.Dataset:
    lon, lat = _to_lonlat(xyz)
    time = np.datetime64(start_time, "ns") + (times_s * 1e9).astype("timedelta64[ns]")
    ds = xr.Dataset(
        coords={
            "lon": (("cross_track", "along_track"), lon),
            "lat": (("cross_track", "along_track"), lat),
            "time": ("along_track", time),
        },
        attrs={"sensor": sensor},
    )
    ds["Tc"] = (("cross_track", "along_track"), synthetic_field(lon, lat))
    return ds


def synthetic_field(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return a smooth brightness-temperature-like field (K) with ~50-500 km structure."""
    lo = np.deg2rad(np.asarray(lon, dtype=np.float64))
    la = np.deg2rad(np.asarray(lat, dtype=np.float64))
    field = 230.0 + 30.0 * np.cos(2 * la) * np.sin(3 * lo) + 8.0 * np.sin(40 * la) * np.cos(35 * lo)
    return field.astype(np.float32)


def conical_swath(
    n_scans: int,
    n_pixels: int,
    *,
    altitude_km: float,
    inclination_deg: float,
    swath_width_km: float,
    look_distance_km: float,
    scan_period_s: float,
    ascending_node_lon_deg: float = 0.0,
    start_arg_lat_deg: float = 0.0,
    start_time: str | np.datetime64 = "2020-01-01T00:00:00",
    sensor: str = "GMI",
) -> xr.Dataset:
    """Make a conical-scan swath from a circular orbit.

    Parameters
    ----------
    n_scans, n_pixels
        Number of scans (``along_track``) and pixels per scan (``cross_track``).
    altitude_km, inclination_deg
        Circular orbit.
    swath_width_km
        Distance between the first and last pixel of a scan (chord of the scan arc, km).
    look_distance_km
        Ground distance from the sub-satellite point to the footprints (radius of the scan arc).
    scan_period_s
        Time between scans.
    ascending_node_lon_deg, start_arg_lat_deg
        Longitude of the ascending node and argument of latitude at the first scan.
    start_time
        Time of the first scan.
    sensor
        Stored in ``attrs["sensor"]``.

    Returns
    -------
    xarray.Dataset
        ``lon``, ``lat`` (cross_track, along_track) float32, ``time`` (along_track) and a
        synthetic ``Tc`` field.
    """
    times_s = np.arange(n_scans) * scan_period_s
    r, v, left = _orbit_frames(
        times_s, altitude_km, inclination_deg, ascending_node_lon_deg, start_arg_lat_deg
    )
    gamma = look_distance_km / EARTH_RADIUS_KM
    half_angle = np.arcsin(min(1.0, swath_width_km / 2 / look_distance_km))
    azimuth = np.linspace(half_angle, -half_angle, n_pixels)  # left edge first
    cos_g, sin_g = np.cos(gamma), np.sin(gamma)
    xyz = cos_g * r[:, None, :] + sin_g * (
        np.cos(azimuth)[None, :, None] * v[:, None, :]
        + np.sin(azimuth)[None, :, None] * left[:, None, :]
    )
    return _swath_dataset(xyz, start_time, times_s, sensor)


def cross_track_swath(
    n_scans: int,
    n_pixels: int,
    *,
    altitude_km: float,
    inclination_deg: float,
    swath_width_km: float,
    scan_period_s: float,
    ascending_node_lon_deg: float = 0.0,
    start_arg_lat_deg: float = 0.0,
    start_time: str | np.datetime64 = "2020-01-01T00:00:00",
    sensor: str = "DPR",
) -> xr.Dataset:
    """Make a cross-track swath centred on nadir (parameters as in :func:`conical_swath`)."""
    times_s = np.arange(n_scans) * scan_period_s
    r, _, left = _orbit_frames(
        times_s, altitude_km, inclination_deg, ascending_node_lon_deg, start_arg_lat_deg
    )
    delta = np.linspace(swath_width_km / 2, -swath_width_km / 2, n_pixels) / EARTH_RADIUS_KM
    xyz = (
        np.cos(delta)[None, :, None] * r[:, None, :]
        + np.sin(delta)[None, :, None] * left[:, None, :]
    )
    return _swath_dataset(xyz, start_time, times_s, sensor)


def gmi_orbit(n_scans: int = 2959, n_pixels: int = 221, **kwargs) -> xr.Dataset:
    """Make a GMI-like orbit: 407 km, 65 deg, 904 km swath, 1.875 s scans (a full orbit)."""
    params = dict(
        altitude_km=407.0,
        inclination_deg=65.0,
        swath_width_km=904.0,
        look_distance_km=478.0,
        scan_period_s=1.875,
        sensor="GMI",
    )
    params.update(kwargs)
    return conical_swath(n_scans, n_pixels, **params)


def ssmis_orbit(n_scans: int = 3218, n_pixels: int = 180, **kwargs) -> xr.Dataset:
    """Make an SSMIS-like orbit: 850 km, 98.8 deg, 1707 km swath, 1.899 s scans (S3/S4: 180 px)."""
    params = dict(
        altitude_km=850.0,
        inclination_deg=98.8,
        swath_width_km=1707.0,
        look_distance_km=900.0,
        scan_period_s=1.899,
        ascending_node_lon_deg=40.0,
        sensor="SSMIS",
    )
    params.update(kwargs)
    return conical_swath(n_scans, n_pixels, **params)


def dpr_orbit(n_scans: int = 7934, n_pixels: int = 49, **kwargs) -> xr.Dataset:
    """Make a DPR-like swath on the GMI orbit: 49 rays over 240 km, 0.7 s scans, at nadir.

    The GMI swath of :func:`gmi_orbit` is centred on the same ground track, about 478 km ahead
    (the real instruments are arranged the same way: GMI sees a spot ~1 min before DPR).
    """
    params = dict(
        altitude_km=407.0,
        inclination_deg=65.0,
        swath_width_km=240.0,
        scan_period_s=0.7,
        sensor="DPR",
    )
    params.update(kwargs)
    return cross_track_swath(n_scans, n_pixels, **params)
