"""Orbits, ground tracks, granules and swath geometry for the constellation simulator.

The orbit model is deliberately simple and fully documented, so that the geometry of every
simulated granule can be reproduced by hand:

* **Circular Keplerian orbit** of radius ``a = R + h`` around a spherical Earth
  (``R = 6371 km``), mean motion ``n = sqrt(mu / a**3)``.
* **J2 secular perturbations** (Vallado, eq. 9-41): the node regresses at
  ``dOmega/dt = -3/2 n J2 (R/a)**2 cos(i)`` and the argument of latitude advances at
  ``du/dt = n [1 + 3/4 J2 (R/a)**2 (8 cos(i)**2 - 2)]``. For orbits flagged sun-synchronous the
  inclination is set to the exact sun-synchronous value for the altitude (within ~0.2 deg of the
  registry value), so the node precesses at the mean-sun rate of 0.9856 deg/day and the local time
  of the ascending node stays constant. A 65 deg orbit at 407 km (GPM) regresses ~3.4 deg/day,
  i.e. ~4.4 deg/day against the sun: its ascending node sweeps all local times in ~82 days, and the
  ascending plus descending passes together sample all local times in ~41 days.
* **Earth rotation** through the Greenwich mean sidereal time (IAU 1982, linear term).
* The right ascension of the node at the epoch comes from the registry's
  ``ascending_node_local_time`` when given (local time of the ascending node against the mean
  sun); otherwise, like the in-orbit phase, it is a fixed pseudo-random phase derived from the
  satellite name, so that different satellites are not synchronised and every run is reproducible.

Granules follow PPS: one orbit per granule, starting at the southernmost latitude (argument of
latitude 270 deg); the granule number is the orbit count since :data:`EPOCH` (1987-01-01, before
every sensor in the registry).

Swath geometry is built in *swath coordinates*: ``s`` (km along the ground track) and ``c`` (km
across it, positive to the right of the flight direction, along the great circle perpendicular to
the track). Every pixel, truth-grid node and footprint is placed in (s, c) and mapped to lon/lat by
one function (:meth:`GroundTrack.to_lonlat`), which keeps the instrument simulation (done on a
swath-aligned grid) and the geolocation consistent.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = [
    "EARTH_RADIUS_KM",
    "EPOCH",
    "Granule",
    "GroundTrack",
    "ModeGeometry",
    "OrbitModel",
    "SwathGeometry",
    "find_coincidences",
    "granules",
    "ground_track",
    "orbit_model",
    "swath_geometry",
]

EARTH_RADIUS_KM = 6371.0
MU_KM3_S2 = 398600.4418
J2 = 1.08262668e-3
EPOCH = np.datetime64("1987-01-01T00:00:00", "ns")
_J2000_NS = np.datetime64("2000-01-01T12:00:00", "ns")
_MEAN_SUN_RATE_DEG_S = 0.98564736 / 86400.0
_GMST_RATE_DEG_S = 360.98564736629 / 86400.0
_SOUTHERNMOST_U_DEG = 270.0


def _as_ns(t: Any) -> np.ndarray:
    """Convert anything time-like (str, datetime, numpy, pandas) to datetime64[ns]."""
    try:
        return np.asarray(pd.to_datetime(t), dtype="datetime64[ns]")
    except (ValueError, TypeError) as err:
        raise InvalidArgumentError(
            f"cannot interpret {t!r} as a time; pass an ISO string like '2021-01-01T00:00'"
        ) from err


def _seconds_since(t: np.ndarray, ref: np.datetime64) -> np.ndarray:
    return (np.asarray(t, dtype="datetime64[ns]") - ref).astype("int64") / 1e9


def _name_phase(name: str, salt: str) -> float:
    """Return a reproducible pseudo-random angle in [0, 360) derived from a name."""
    return (zlib.crc32(f"{name}|{salt}".encode()) % 3_600_000) / 10_000.0


def _resolve_sensor(sensor: Any) -> Any:
    if isinstance(sensor, str):
        from xgpm import sensors

        return sensors.get(sensor)
    return sensor


def _sensor_name(sensor: Any) -> str:
    for attr in ("name", "product", "pps_instrument"):
        value = getattr(sensor, attr, None)
        if isinstance(value, str) and value:
            return value
    return repr(sensor)


@dataclass(frozen=True)
class OrbitModel:
    """A circular orbit with J2 secular precession.

    Attributes
    ----------
    name : str
        Satellite/sensor name (used for reproducible phases).
    altitude_km, inclination_deg : float
        Orbit altitude above the spherical Earth and inclination (possibly adjusted to the exact
        sun-synchronous value).
    raan0_deg, u0_deg : float
        Right ascension of the ascending node and argument of latitude at :data:`EPOCH`.
    raan_rate_deg_s, u_rate_deg_s : float
        Secular rates of the node and of the argument of latitude.
    """

    name: str
    altitude_km: float
    inclination_deg: float
    raan0_deg: float
    u0_deg: float
    raan_rate_deg_s: float
    u_rate_deg_s: float
    sun_synchronous: bool = False

    @property
    def period_s(self) -> float:
        """Nodal period (s): time between two passes at the same argument of latitude."""
        return 360.0 / self.u_rate_deg_s

    @property
    def ground_speed_km_s(self) -> float:
        """Speed of the sub-satellite point over a non-rotating Earth (km/s)."""
        return np.deg2rad(self.u_rate_deg_s) * EARTH_RADIUS_KM

    def argument_of_latitude(self, times: Any) -> np.ndarray:
        """Argument of latitude (deg, unwrapped) at ``times``."""
        return self.u0_deg + self.u_rate_deg_s * _seconds_since(_as_ns(times), EPOCH)

    def raan(self, times: Any) -> np.ndarray:
        """Right ascension of the ascending node (deg, unwrapped) at ``times``."""
        return self.raan0_deg + self.raan_rate_deg_s * _seconds_since(_as_ns(times), EPOCH)

    def ecef_unit(self, times: Any) -> np.ndarray:
        """Earth-fixed unit vector of the sub-satellite point, shape ``times.shape + (3,)``."""
        t = _as_ns(times)
        u = np.deg2rad(self.argument_of_latitude(t))
        omega = np.deg2rad(self.raan(t) - _gmst_deg(t))
        inc = np.deg2rad(self.inclination_deg)
        cu, su = np.cos(u), np.sin(u)
        co, so = np.cos(omega), np.sin(omega)
        x = co * cu - so * su * np.cos(inc)
        y = so * cu + co * su * np.cos(inc)
        z = su * np.sin(inc)
        return np.stack([x, y, z], axis=-1)

    def subsatellite(self, times: Any) -> tuple[np.ndarray, np.ndarray]:
        """Sub-satellite (lat, lon) in degrees at ``times``."""
        return _unit_to_latlon(self.ecef_unit(times))

    def orbit_number(self, times: Any) -> np.ndarray:
        """Orbit (= granule) number at ``times``: orbits start at the southernmost latitude."""
        u = self.argument_of_latitude(times)
        # 1e-9 orbit (~6 us) absorbs the rounding of orbit_start to whole nanoseconds.
        return np.floor((u - _SOUTHERNMOST_U_DEG) / 360.0 + 1e-9).astype("int64")

    def orbit_start(self, number: int | np.ndarray) -> np.ndarray:
        """Start time (datetime64[ns]) of orbit ``number`` (southernmost latitude)."""
        u_target = _SOUTHERNMOST_U_DEG + 360.0 * np.asarray(number, dtype="float64")
        seconds = (u_target - self.u0_deg) / self.u_rate_deg_s
        return EPOCH + np.round(seconds * 1e9).astype("int64").astype("timedelta64[ns]")

    def ascending_node_local_time(self, times: Any) -> np.ndarray:
        """Mean local solar time (h, 0-24) of the ascending node at ``times``."""
        t = _as_ns(times)
        delta = self.raan(t) - _mean_sun_ra_deg(t)
        return np.mod(12.0 + delta / 15.0, 24.0)


def _gmst_deg(t: np.ndarray) -> np.ndarray:
    return 280.46061837 + _GMST_RATE_DEG_S * _seconds_since(t, _J2000_NS)


def _mean_sun_ra_deg(t: np.ndarray) -> np.ndarray:
    return 280.46061837 + _MEAN_SUN_RATE_DEG_S * _seconds_since(t, _J2000_NS)


def _unit_to_latlon(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = np.rad2deg(np.arcsin(np.clip(p[..., 2], -1.0, 1.0)))
    lon = np.rad2deg(np.arctan2(p[..., 1], p[..., 0]))
    return lat, lon


def _latlon_to_unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def orbit_model(sensor: Any) -> OrbitModel:
    """Build the :class:`OrbitModel` of a registry sensor.

    Parameters
    ----------
    sensor : str or Sensor
        A registry name (``"GMI"``, ``"SSMIS-F17"`` ...) or a ``xgpm.sensors`` Sensor.

    Returns
    -------
    OrbitModel
    """
    sensor = _resolve_sensor(sensor)
    orbit = getattr(sensor, "orbit", None)
    if orbit is None:
        raise InvalidArgumentError(f"sensor {_sensor_name(sensor)!r} has no orbit in the registry")
    name = _sensor_name(sensor)
    # Satellites carrying several instruments (GPM: GMI + DPR) must share one orbit.
    sat = getattr(sensor, "pps_satellite", None) or name
    h = float(orbit.altitude_km)
    a = EARTH_RADIUS_KM + h
    n = np.sqrt(MU_KM3_S2 / a**3)  # rad/s
    k = 1.5 * n * J2 * (EARTH_RADIUS_KM / a) ** 2
    sso = bool(getattr(orbit, "sun_synchronous", False))
    if sso:
        cos_i = -np.deg2rad(_MEAN_SUN_RATE_DEG_S) / k
        inc = float(np.rad2deg(np.arccos(np.clip(cos_i, -1.0, 1.0))))
    else:
        inc = float(orbit.inclination_deg)
    ci = np.cos(np.deg2rad(inc))
    raan_rate = float(np.rad2deg(-k * ci))
    u_rate = float(np.rad2deg(n * (1.0 + 0.75 * J2 * (EARTH_RADIUS_KM / a) ** 2 * (8 * ci**2 - 2))))
    ltan = getattr(orbit, "ascending_node_local_time", None)
    if ltan is None:
        ltan = _name_phase(sat, "ltan") / 15.0
    raan0 = float(_mean_sun_ra_deg(np.array([EPOCH]))[0] + 15.0 * (float(ltan) - 12.0))
    return OrbitModel(
        name=sat,
        altitude_km=h,
        inclination_deg=inc,
        raan0_deg=raan0,
        u0_deg=_name_phase(sat, "u0"),
        raan_rate_deg_s=raan_rate,
        u_rate_deg_s=u_rate,
        sun_synchronous=sso,
    )


def ground_track(sensor: Any, start: Any, end: Any, step: str = "30s") -> xr.Dataset:
    """Sub-satellite ground track between ``start`` and ``end``.

    Parameters
    ----------
    sensor : str or Sensor
        Registry sensor.
    start, end : time-like
        Time range (``end`` excluded).
    step : str
        Time step (pandas frequency string).

    Returns
    -------
    xr.Dataset
        ``lat``, ``lon`` (deg) and ``orbit_number`` along ``time``.
    """
    model = orbit_model(sensor)
    times = pd.date_range(_as_ns(start)[()], _as_ns(end)[()], freq=step, inclusive="left")
    lat, lon = model.subsatellite(times.values)
    return xr.Dataset(
        {
            "lat": ("time", lat),
            "lon": ("time", lon),
            "orbit_number": ("time", model.orbit_number(times.values)),
        },
        coords={"time": times.values.astype("datetime64[ns]")},
        attrs={"sensor": model.name},
    )


@dataclass(frozen=True)
class Granule:
    """One PPS orbit granule: number, start (southernmost latitude) and end time."""

    sensor: str
    number: int
    start: np.datetime64
    end: np.datetime64


def granules(sensor: Any, start: Any, end: Any) -> list[Granule]:
    """List the granules (orbits) of ``sensor`` overlapping ``[start, end)``.

    Parameters
    ----------
    sensor : str or Sensor
    start, end : time-like

    Returns
    -------
    list of Granule
    """
    sensor = _resolve_sensor(sensor)
    model = orbit_model(sensor)
    t0, t1 = _as_ns(start)[()], _as_ns(end)[()]
    if t1 <= t0:
        raise InvalidArgumentError(f"end ({t1}) must be after start ({t0})")
    first, last = model.orbit_number(np.array([t0, t1 - np.timedelta64(1, "ns")]))
    name = _sensor_name(sensor)
    out = []
    for k in range(int(first), int(last) + 1):
        s, e = model.orbit_start(np.array([k, k + 1]))
        out.append(Granule(name, k, s, e))
    return out


@dataclass
class GroundTrack:
    """A densely sampled ground track with its along-track distance, for (s, c) mapping."""

    times: np.ndarray  # (n,) datetime64[ns]
    s_km: np.ndarray  # (n,) along-track distance, monotonic
    unit: np.ndarray  # (n, 3) sub-satellite ECEF unit vectors

    @classmethod
    def from_model(cls, model: OrbitModel, times: np.ndarray) -> GroundTrack:
        """Sample ``model`` at ``times`` (must be sorted and dense, e.g. scan times)."""
        unit = model.ecef_unit(times)
        dots = np.clip(np.einsum("ij,ij->i", unit[1:], unit[:-1]), -1.0, 1.0)
        steps = np.arccos(dots) * EARTH_RADIUS_KM
        s = np.concatenate([[0.0], np.cumsum(steps)])
        return cls(times=np.asarray(times, dtype="datetime64[ns]"), s_km=s, unit=unit)

    def _frame(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position P and unit heading T on the track at along-track distances ``s``."""
        s = np.asarray(s, dtype="float64")
        idx = np.clip(np.searchsorted(self.s_km, s) - 1, 0, len(self.s_km) - 2)
        s0, s1 = self.s_km[idx], self.s_km[idx + 1]
        w = ((s - s0) / (s1 - s0))[..., None]
        p0, p1 = self.unit[idx], self.unit[idx + 1]
        p = p0 + w * (p1 - p0)
        p /= np.linalg.norm(p, axis=-1, keepdims=True)
        t = p1 - p0
        t -= np.einsum("...i,...i->...", t, p)[..., None] * p
        t /= np.linalg.norm(t, axis=-1, keepdims=True)
        return p, t

    def to_lonlat(self, s: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map swath coordinates (km along, km across, right positive) to (lon, lat) in deg."""
        s, c = np.broadcast_arrays(np.asarray(s, "float64"), np.asarray(c, "float64"))
        p, t = self._frame(s)
        right = np.cross(t, p)
        ang = (c / EARTH_RADIUS_KM)[..., None]
        q = p * np.cos(ang) + right * np.sin(ang)
        lat, lon = _unit_to_latlon(q)
        return lon, lat

    def grid_to_lonlat(
        self, s_axis: np.ndarray, c_axis: np.ndarray, rows: np.ndarray, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`to_lonlat` of the grid nodes ``(s_axis[rows], c_axis[cols])``.

        The same values, with the track frame computed once per row and the rotation once per
        column (a swath grid has ~400 nodes per row).
        """
        p, t = self._frame(np.asarray(s_axis, "float64"))
        right = np.cross(t, p)
        ang = (np.asarray(c_axis, "float64") / EARTH_RADIUS_KM)[:, None]
        cos_c, sin_c = np.cos(ang), np.sin(ang)
        q = p[rows] * cos_c[cols] + right[rows] * sin_c[cols]
        lat, lon = _unit_to_latlon(q)
        return lon, lat

    def time_at(self, s: np.ndarray) -> np.ndarray:
        """Time at which the sub-satellite point is at along-track distance ``s``."""
        t_num = (self.times - self.times[0]).astype("int64").astype("float64")
        out = np.interp(np.asarray(s, "float64"), self.s_km, t_num)
        return self.times[0] + out.astype("int64").astype("timedelta64[ns]")


@dataclass
class ModeGeometry:
    """Pixel geometry of one scan mode: swath coordinates, lon/lat and incidence angle."""

    name: str
    s_km: np.ndarray  # (cross_track, along_track)
    c_km: np.ndarray  # (cross_track, along_track)
    lon: np.ndarray
    lat: np.ndarray
    incidence: np.ndarray  # (cross_track, along_track) earth incidence angle (deg)
    footprint_scale: np.ndarray  # (cross_track, along_track) footprint size / nominal size


@dataclass
class SwathGeometry:
    """Geometry of one simulated granule (all scan modes share the scan times)."""

    sensor: str
    granule: int
    scan_times: np.ndarray  # (along_track,)
    s_scan_km: np.ndarray  # (along_track,)
    track: GroundTrack
    modes: dict[str, ModeGeometry] = field(default_factory=dict)
    orbit: OrbitModel | None = None

    def coords(self, mode: str) -> dict[str, Any]:
        """Return the coordinates (``lon``, ``lat``, ``time``) of scan mode ``mode``."""
        g = self.modes[mode]
        return {
            "lon": (("cross_track", "along_track"), g.lon.astype("float32")),
            "lat": (("cross_track", "along_track"), g.lat.astype("float32")),
            "time": ("along_track", self.scan_times),
        }

    def subset(self, scans: slice) -> SwathGeometry:
        """Return the same geometry restricted to a range of scans (along-track)."""
        modes = {
            k: ModeGeometry(
                m.name,
                m.s_km[:, scans],
                m.c_km[:, scans],
                m.lon[:, scans],
                m.lat[:, scans],
                m.incidence[:, scans],
                m.footprint_scale[:, scans],
            )
            for k, m in self.modes.items()
        }
        return SwathGeometry(
            self.sensor,
            self.granule,
            self.scan_times[scans],
            self.s_scan_km[scans],
            self.track,
            modes,
            self.orbit,
        )


def _scan_period(sensor: Any, model: OrbitModel) -> float:
    """Scan period (s): the registry's, or scan spacing / ground speed when it has none (DPR)."""
    period = getattr(sensor, "scan_period_s", None)
    if period is None:
        spacing = getattr(sensor, "scan_spacing_km", None)
        if spacing:
            period = float(spacing) / model.ground_speed_km_s
    if period is None or not float(period) > 0:
        raise InvalidArgumentError(
            f"sensor {_sensor_name(sensor)!r} has neither scan_period_s nor scan_spacing_km"
        )
    return float(period)


def _mode_incidence(mode: Any) -> float:
    angles = [getattr(ch, "incidence_angle", None) for ch in getattr(mode, "channels", ())]
    angles = [float(a) for a in angles if a is not None]
    return float(np.mean(angles)) if angles else 53.0


def _conical_mode(
    name: str, n_pixels: int, incidence_deg: float, altitude_km: float, swath_km: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Along offset, cross offset, incidence and footprint scale of a conical scan (per pixel)."""
    r = EARTH_RADIUS_KM
    theta = np.deg2rad(incidence_deg)
    off_nadir = np.arcsin(r / (r + altitude_km) * np.sin(theta))
    gamma = theta - off_nadir  # Earth central angle from sub-satellite point to the scan circle
    # Active sector from the registry swath width: cross reach = R asin(sin(gamma) sin(psi)).
    ratio = np.sin(swath_km / 2.0 / r) / np.sin(gamma)
    half_sector = np.arcsin(np.clip(ratio, 0.0, 1.0))
    azimuth = np.linspace(-half_sector, half_sector, n_pixels)
    along = r * np.arctan(np.tan(gamma) * np.cos(azimuth))
    cross = r * np.arcsin(np.sin(gamma) * np.sin(azimuth))
    return along, cross, np.full(n_pixels, incidence_deg), np.ones(n_pixels)


def _cross_track_mode(
    n_pixels: int, altitude_km: float, swath_km: float, max_scan_deg: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Along offset, cross offset, incidence and footprint scale of a cross-track scan."""
    r = EARTH_RADIUS_KM
    k = (r + altitude_km) / r
    if max_scan_deg is None:
        # Invert the swath width: half swath = R (theta - beta) with sin(theta) = k sin(beta).
        betas = np.deg2rad(np.linspace(0.0, np.rad2deg(np.arcsin(1.0 / k)) - 1e-6, 20001))
        reach = r * (np.arcsin(np.clip(k * np.sin(betas), -1, 1)) - betas)
        beta_max = float(np.interp(swath_km / 2.0, reach, betas))
    else:
        beta_max = np.deg2rad(max_scan_deg)
    beta = np.linspace(-beta_max, beta_max, n_pixels)
    theta = np.arcsin(np.clip(k * np.sin(beta), -1, 1))
    cross = r * (theta - beta)
    orbit_r = r + altitude_km
    slant = np.sqrt(r**2 + orbit_r**2 - 2 * r * orbit_r * np.cos(theta - beta))
    # The beam's footprint grows with slant range; the cross-scan axis also by 1/cos(incidence).
    scale = slant / altitude_km / np.sqrt(np.cos(theta))
    return np.zeros(n_pixels), cross, np.rad2deg(np.abs(theta)), scale


def swath_geometry(
    sensor: Any,
    granule: int | Granule,
    *,
    scan_modes: Sequence[str] | None = None,
    pad_scans: int = 64,
    scans: slice | None = None,
) -> SwathGeometry:
    """Pixel geometry (lon, lat, time, incidence) of every scan mode of one granule.

    Conical scanners: pixels on the scan circle at the earth incidence angle of the scan mode's
    channels, over the active sector that gives the registry swath width (forward looking).
    Cross-track scanners: ``n_pixels`` equally spaced scan angles whose outermost reach gives the
    registry swath width (or the sensor's ``max_scan_angle_deg`` when it has one); the incidence
    angle and footprint size vary across the scan. Scans are ``scan_period_s`` apart, i.e.
    ``scan_period_s x ground speed`` along track. Scan modes share the scan times; modes with the
    same pixel count and incidence share pixels.

    Parameters
    ----------
    sensor : str or Sensor
    granule : int or Granule
        Granule (orbit) number, see :func:`granules`.
    scan_modes : sequence of str, optional
        Restrict to these scan modes.
    pad_scans : int
        Extra track samples before/after the granule (forward-looking pixels need the track ahead).
    scans : slice, optional
        Compute the pixels of these scans only (the ground track, hence the swath coordinates,
        is still computed for the whole granule, so the result equals a subset of the full one).

    Returns
    -------
    SwathGeometry
    """
    sensor = _resolve_sensor(sensor)
    model = orbit_model(sensor)
    number = granule.number if isinstance(granule, Granule) else int(granule)
    t0, t1 = model.orbit_start(np.array([number, number + 1]))
    period = _scan_period(sensor, model)
    n_scans = int(np.floor((t1 - t0).astype("int64") / 1e9 / period))
    offsets = np.arange(-pad_scans, n_scans + pad_scans) * period
    # Scan times at millisecond precision, like the PPS ScanTime records.
    times = (t0 + np.round(offsets * 1e9).astype("int64").astype("timedelta64[ns]")).astype(
        "datetime64[ms]"
    )
    times = times.astype("datetime64[ns]")
    track = GroundTrack.from_model(model, times)
    # s = 0 at the granule start, so sensors of one platform share swath coordinates.
    track.s_km -= track.s_km[pad_scans]
    s_scan = track.s_km[pad_scans : pad_scans + n_scans]
    scan_times = times[pad_scans : pad_scans + n_scans]
    if scans is not None:
        s_scan, scan_times = s_scan[scans], scan_times[scans]

    all_modes = getattr(sensor, "scan_modes", {})
    names = list(all_modes) if scan_modes is None else list(scan_modes)
    unknown = [m for m in names if m not in all_modes]
    if unknown:
        raise InvalidArgumentError(
            f"scan mode(s) {unknown} not in {_sensor_name(sensor)!r}; available: {list(all_modes)}"
        )
    scan_type = str(getattr(sensor, "scan_type", "conical")).lower()
    swath_km = float(sensor.swath_width_km)
    out = SwathGeometry(_sensor_name(sensor), number, scan_times, s_scan, track, orbit=model)
    cache: dict[tuple, tuple] = {}
    for name in names:
        mode = all_modes[name]
        n_pix = int(mode.n_pixels)
        if "cross" in scan_type:
            key = ("x", n_pix)
            if key not in cache:
                max_angle = getattr(sensor, "max_scan_angle_deg", None)
                cache[key] = _cross_track_mode(n_pix, model.altitude_km, swath_km, max_angle)
        else:
            inc = _mode_incidence(mode)
            key = ("c", n_pix, round(inc, 3))
            if key not in cache:
                cache[key] = _conical_mode(name, n_pix, inc, model.altitude_km, swath_km)
        along, cross, inc_pix, scale = cache[key]
        s = s_scan[None, :] + along[:, None]
        c = np.broadcast_to(cross[:, None], s.shape)
        lon, lat = track.to_lonlat(s, c)
        shape = s.shape
        out.modes[name] = ModeGeometry(
            name,
            s,
            np.ascontiguousarray(c),
            lon,
            lat,
            np.broadcast_to(inc_pix[:, None], shape).astype("float32"),
            np.broadcast_to(scale[:, None], shape),
        )
    return out


def _region_bounds(region: Any) -> tuple[float, float, float, float]:
    """(lon_min, lon_max, lat_min, lat_max) of a region name, Region or 4-tuple."""
    if isinstance(region, str):
        from xgpm.simulate.regions import get_region

        region = get_region(region)
    if hasattr(region, "bounds"):
        return tuple(region.bounds)  # type: ignore[return-value]
    vals = tuple(float(v) for v in region)
    if len(vals) != 4:
        raise InvalidArgumentError(
            f"region {region!r} must be a name, a Region or (lon_min, lon_max, lat_min, lat_max)"
        )
    return vals  # type: ignore[return-value]


def candidate_scans(sensor: Any, granule: int, region: Any) -> slice | None:
    """Find the scans of a granule whose swath can reach a region (a cheap ground-track test).

    Parameters
    ----------
    sensor : str or Sensor
    granule : int
    region : str, Region or (lon_min, lon_max, lat_min, lat_max)

    Returns
    -------
    slice or None
        The range of scans whose sub-satellite point lies within half a swath + 600 km (the
        forward look of a conical scanner, with margin) + half the region's diagonal of the
        region's centre; None when there is none.
    """
    sensor = _resolve_sensor(sensor)
    model = orbit_model(sensor)
    t0, t1 = model.orbit_start(np.array([granule, granule + 1]))
    period = _scan_period(sensor, model)
    n_scans = int(np.floor((t1 - t0).astype("int64") / 1e9 / period))
    # The track every ~10 s is enough for this test; then back to scan indices.
    stride = max(int(10.0 / period), 1)
    idx = np.arange(0, n_scans, stride)
    times = t0 + np.round(idx * period * 1e9).astype("int64").astype("timedelta64[ns]")
    p = model.ecef_unit(times)
    lon_min, lon_max, lat_min, lat_max = _region_bounds(region)
    clat = 0.5 * (lat_min + lat_max)
    clon = lon_min + 0.5 * np.mod(lon_max - lon_min, 360.0)
    c = _latlon_to_unit(np.array(clat), np.array(clon))
    dist = np.arccos(np.clip(p @ c, -1, 1)) * EARTH_RADIUS_KM
    half_diag = 0.5 * np.hypot(
        (lat_max - lat_min) * 111.2,
        np.mod(lon_max - lon_min, 360.0) * 111.2 * np.cos(np.deg2rad(clat)),
    )
    reach = float(sensor.swath_width_km) / 2.0 + 600.0 + half_diag
    near = np.flatnonzero(dist < reach)
    if near.size == 0:
        return None
    lo = max(int(idx[near[0]]) - stride, 0)
    hi = min(int(idx[near[-1]]) + stride + 1, n_scans)
    return slice(lo, hi)


def in_region(lon: np.ndarray, lat: np.ndarray, region: Any) -> np.ndarray:
    """Boolean mask of points inside a region's lon/lat bounding box."""
    lon_min, lon_max, lat_min, lat_max = _region_bounds(region)
    lon_w = np.mod(np.asarray(lon) - lon_min, 360.0)
    return (lon_w <= np.mod(lon_max - lon_min, 360.0)) & (lat >= lat_min) & (lat <= lat_max)


def find_coincidences(
    sensor_a: Any,
    sensor_b: Any,
    start: Any,
    end: Any,
    region: Any,
    max_dt: str | np.timedelta64 = "15min",
) -> pd.DataFrame:
    """All overpass pairs of two sensors over a region within ``max_dt`` of each other.

    An overpass is a granule whose swath has pixels in the region; its time is the mean time of
    those scans. Pairs are kept when both swaths see the region less than ``max_dt`` apart.

    Parameters
    ----------
    sensor_a, sensor_b : str or Sensor
    start, end : time-like
    region : str, Region or (lon_min, lon_max, lat_min, lat_max)
    max_dt : str or timedelta64

    Returns
    -------
    pandas.DataFrame
        Columns ``granule_a``, ``time_a``, ``granule_b``, ``time_b``, ``dt`` (b - a), sorted by
        ``time_a``.
    """
    limit = pd.Timedelta(max_dt)
    pa = overpasses(sensor_a, start, end, region)
    pb = overpasses(sensor_b, start, end, region)
    rows = []
    for ga, ta in pa:
        for gb, tb in pb:
            dt = pd.Timestamp(tb) - pd.Timestamp(ta)
            if abs(dt) <= limit:
                rows.append((ga, ta, gb, tb, dt))
    cols = ["granule_a", "time_a", "granule_b", "time_b", "dt"]
    return pd.DataFrame(rows, columns=cols).sort_values("time_a").reset_index(drop=True)


def overpasses(sensor: Any, start: Any, end: Any, region: Any) -> list[tuple[int, np.datetime64]]:
    """(granule number, mean time over the region) of every overpass of ``sensor`` in a window."""
    sensor = _resolve_sensor(sensor)
    t0, t1 = _as_ns(start)[()], _as_ns(end)[()]
    out = []
    for gr in granules(sensor, t0, t1):
        scans = candidate_scans(sensor, gr.number, region)
        if scans is None:
            continue
        geom = swath_geometry(sensor, gr, scan_modes=[next(iter(sensor.scan_modes))], scans=scans)
        mode = next(iter(geom.modes.values()))
        inside = in_region(mode.lon, mode.lat, region)
        scans = np.flatnonzero(inside.any(axis=0))
        if scans.size == 0:
            continue
        # Split one granule into separate passes (ascending / descending) at gaps in the scans.
        for group in np.split(scans, np.flatnonzero(np.diff(scans) > 1) + 1):
            tmid = _mean_time(geom.scan_times[group])
            if t0 <= tmid < t1:
                out.append((gr.number, tmid))
    return out


def _mean_time(times: Iterable[np.datetime64]) -> np.datetime64:
    t = np.asarray(list(times), dtype="datetime64[ns]")
    ref = t[0]
    return ref + np.timedelta64(int(np.mean((t - ref).astype("int64"))), "ns")
