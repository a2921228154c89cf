"""Geometry of DPR-ground radar matching: the GR site and sweeps, the DPR rays and bins.

Private helpers of :mod:`xgpm.verify.ground_radar`. Positions are in the azimuthal equidistant
projection centred on the GR (pyproj, WGS84; what xradar's georeferencing uses), heights in m;
the GR beam follows the 4/3 effective-earth model (Doviak and Zrnic 1993).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, NoOverlapError

DPR_BEAMWIDTH_DEG = 0.71
"""DPR Ku beam width (degrees) used for the footprint radius."""
DPR_BIN_SIZE_M = 125.0
"""Range-bin spacing of 2A-Ku/2A-DPR NS/MS/FS (m), used where the file has no ``height``."""
DPR_ELLIPSOID_BIN = 176
"""1-based bin at the ellipsoid in 2A-Ku/DPR NS/MS/FS (176 bins)."""
EFFECTIVE_RADIUS_FRACTION = 4.0 / 3.0
"""Effective earth radius factor of the GR beam-propagation model (standard refraction)."""


@dataclass
class Site:
    lon: float
    lat: float
    alt: float
    earth_radius: float  # m, WGS84 radius at the site's latitude (as xradar)

    def crs(self) -> Any:
        import pyproj

        return pyproj.CRS(proj="aeqd", lon_0=self.lon, lat_0=self.lat, ellps="WGS84")

    def to_xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import pyproj

        t = pyproj.Transformer.from_crs("EPSG:4326", self.crs(), always_xy=True)
        return t.transform(np.asarray(lon, "float64"), np.asarray(lat, "float64"))

    def to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import pyproj

        t = pyproj.Transformer.from_crs(self.crs(), "EPSG:4326", always_xy=True)
        return t.transform(np.asarray(x, "float64"), np.asarray(y, "float64"))

    def antenna(self, ground: np.ndarray, height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(elevation in degrees, slant range in m) of points seen from the GR (4/3 earth)."""
        r_eff = EFFECTIVE_RADIUS_FRACTION * self.earth_radius
        phi = ground / r_eff
        dist = r_eff + height
        dx = dist * np.sin(phi)
        dy = dist * np.cos(phi) - (r_eff + self.alt)
        return np.degrees(np.arctan2(dy, dx)), np.hypot(dx, dy)


def earth_radius(lat_deg: float) -> float:
    a, b = 6378137.0, 6356752.314245
    c, s = np.cos(np.radians(lat_deg)), np.sin(np.radians(lat_deg))
    return float(np.sqrt((a**4 * c**2 + b**4 * s**2) / (a**2 * c**2 + b**2 * s**2)))


@dataclass
class Sweep:
    index: int
    elevation: float  # fixed angle, degrees
    x: np.ndarray  # (n_gates,) AEQD m
    y: np.ndarray
    z: np.ndarray  # altitude m
    dbz: np.ndarray
    time: np.ndarray  # datetime64[ns] per gate
    max_range: float

    _tree: Any = None

    def tree(self) -> Any:
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(np.column_stack([self.x, self.y]))
        return self._tree


def as_volume(gr: Any) -> xr.DataTree:
    if isinstance(gr, str | os.PathLike):
        from xgpm.io.polar import open_polar_volume

        return open_polar_volume(gr)
    if not isinstance(gr, xr.DataTree):
        raise InvalidArgumentError(
            f"gr must be a polar volume (xarray.DataTree from xgpm.io.polar.open_polar_volume) or "
            f"its path, got {type(gr).__name__}"
        )
    return gr


def as_dpr(dpr: Any) -> xr.Dataset:
    if isinstance(dpr, str | os.PathLike):
        from xgpm.io.read import open_granule

        dpr = open_granule(dpr)
    if isinstance(dpr, xr.DataTree):
        raise InvalidArgumentError(
            "dpr is a DataTree (scan_mode='all'): pass one scan mode's Dataset, e.g. "
            "dpr['NS'].to_dataset() or xgpm.open_granule(path, scan_mode='NS')"
        )
    if not isinstance(dpr, xr.Dataset):
        raise InvalidArgumentError(
            f"dpr must be a 2A-Ku/2A-DPR Dataset from xgpm.open_granule, got {type(dpr).__name__}"
        )
    return dpr


def site_of(volume: xr.DataTree) -> Site:
    root = volume.to_dataset(inherit=False)
    missing = [k for k in ("latitude", "longitude", "altitude") if k not in root.variables]
    if missing:
        raise InvalidArgumentError(
            f"gr has no site {missing} at its root (xradar reads them from the file's /where): "
            "open it with xgpm.io.polar.open_polar_volume"
        )
    lat = float(root["latitude"].values)
    return Site(
        float(root["longitude"].values), lat, float(root["altitude"].values), earth_radius(lat)
    )


def read_sweeps(volume: xr.DataTree, site: Site, variable: str, which: Any = None) -> list[Sweep]:
    import xradar

    from xgpm.io.polar import polar_sweeps

    sweeps = polar_sweeps(volume)
    if not sweeps:
        raise InvalidArgumentError("gr has no sweep_<n> node: not a polar volume from xradar")
    lacking = [i for i, s in enumerate(sweeps) if variable not in s]
    if lacking:
        found = sorted({str(v) for s in sweeps for v in s.data_vars})
        raise InvalidArgumentError(
            f"gr has no {variable!r} in sweep(s) {lacking} (variables: {found}); the matching "
            "needs the horizontal reflectivity in dBZ: pass gr_variable= (e.g. 'TH', 'DBZH_CLEAN')"
        )
    out = []
    for i, sweep in enumerate(sweeps):
        if which is not None and i not in which:
            continue
        units = str(sweep[variable].attrs.get("units", "dBZ"))
        if units.lower() != "dbz":
            raise InvalidArgumentError(f"gr {variable!r} is in {units!r}, not dBZ")
        geo = xradar.georeference.get_x_y_z(sweep, earth_radius=site.earth_radius)
        dbz = geo[variable].transpose("azimuth", "range")
        shape = dbz.shape
        rng = np.asarray(geo["range"].values, "float64")
        step = float(np.median(np.diff(rng))) if rng.size > 1 else 0.0
        out.append(
            Sweep(
                index=i,
                elevation=float(sweep["sweep_fixed_angle"].values),
                x=np.asarray(geo["x"].transpose("azimuth", "range").values, "float64").ravel(),
                y=np.asarray(geo["y"].transpose("azimuth", "range").values, "float64").ravel(),
                z=np.asarray(geo["z"].transpose("azimuth", "range").values, "float64").ravel(),
                dbz=np.asarray(dbz.values, "float64").ravel(),
                time=np.broadcast_to(geo["time"].values[:, None], shape).ravel(),
                max_range=float(rng.max() + step / 2.0),
            )
        )
    return out


@dataclass
class Rays:
    """The DPR rays near the GR, flattened to ``ray``; profiles ``(ray, bin)``."""

    along: np.ndarray
    cross: np.ndarray
    time: np.ndarray
    x0: np.ndarray  # footprint at the ellipsoid, AEQD m
    y0: np.ndarray
    zenith: np.ndarray  # degrees
    sat_alt: np.ndarray  # m
    ux: np.ndarray  # unit vector from the footprint towards the sub-satellite point
    uy: np.ndarray
    height: np.ndarray  # (ray, bin) m above the ellipsoid
    bin_number: np.ndarray  # (bin,) 1-based
    clutter_free: np.ndarray  # (ray,) 1-based lowest clutter-free bin
    precip_type: np.ndarray  # 0 none, 1 stratiform, 2 convective, 3 other
    parallax: bool

    def _per_ray(self, values: np.ndarray, like: np.ndarray) -> np.ndarray:
        return values.reshape(values.shape + (1,) * (np.ndim(like) - 1))

    def xy(self, height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position (AEQD m) along each ray at ``height``, ``(ray,)`` or ``(ray, bin)``."""
        height = np.asarray(height, "float64")
        shift = height * self._per_ray(np.tan(np.radians(self.zenith)), height)
        x0, y0 = self._per_ray(self.x0, height), self._per_ray(self.y0, height)
        return (
            x0 + self._per_ray(self.ux, height) * shift,
            y0 + self._per_ray(self.uy, height) * shift,
        )

    def footprint_radius(self, height: np.ndarray, rays: Any = slice(None)) -> np.ndarray:
        """DPR footprint radius at ``height`` (Warren et al. 2018): 0.5 (1 + cos a) r tan(bw/2).

        ``height`` is ``(ray,)`` or ``(ray, bin)`` for the rays ``rays`` (an index).
        """
        height = np.asarray(height, "float64")
        cos_a = self._per_ray(np.cos(np.radians(self.zenith[rays])), height)
        slant = (self._per_ray(self.sat_alt[rays], height) - height) / cos_a
        return 0.5 * (1.0 + cos_a) * slant * np.tan(np.radians(DPR_BEAMWIDTH_DEG / 2.0))


def need(dpr: xr.Dataset, names: tuple[str, ...], why: str) -> None:
    missing = [n for n in names if n not in dpr.variables]
    if missing:
        raise InvalidArgumentError(
            f"dpr has no {missing}: {why}; open the 2A-Ku/2A-DPR granule with all its variables "
            "(xgpm.open_granule(path)) or include them in variables="
        )


def along_values(da: xr.DataArray, along: slice) -> np.ndarray:
    order = [d for d in ("cross_track", "along_track", "range") if d in da.dims]
    return np.asarray(da.isel(along_track=along).transpose(*order).values, "float64")


def dpr_rays(dpr: xr.Dataset, site: Site, max_range: float, profiles: tuple[str, ...]) -> tuple:
    """The rays whose footprint lies within ``max_range`` (+ 10 km for parallax) of the GR."""
    need(
        dpr,
        ("lon", "lat", "localZenithAngle", "binClutterFreeBottom", "time"),
        "the matching needs the footprints' position, zenith angle and clutter-free bottom",
    )
    if "height" not in dpr.variables:
        need(dpr, ("ellipsoidBinOffset",), "bin heights need 'height' or 'ellipsoidBinOffset'")
    lon = np.asarray(dpr["lon"].transpose("cross_track", "along_track").values, "float64")
    lat = np.asarray(dpr["lat"].transpose("cross_track", "along_track").values, "float64")
    x, y = site.to_xy(lon, lat)
    near = np.isfinite(x) & (np.hypot(x, y) <= max_range + 10e3)
    if not near.any():
        dist = np.nanmin(np.hypot(x, y)) / 1e3
        raise NoOverlapError(
            f"dpr and gr do not overlap: the nearest DPR footprint is {dist:.0f} km from the radar "
            f"at ({site.lon:.3f}E, {site.lat:.3f}N), beyond its {max_range / 1e3:.0f} km range"
        )
    cross, along = np.nonzero(near)
    a0, a1 = int(along.min()), int(along.max()) + 1
    sl, local = slice(a0, a1), along - a0

    def ray(name: str, default: float = np.nan) -> np.ndarray:
        if name not in dpr.variables:
            return np.full(cross.size, default)
        values = along_values(dpr[name], sl)
        return values[local] if values.ndim == 1 else values[cross, local]

    zenith = ray("localZenithAngle")
    time = np.asarray(dpr["time"].isel(along_track=sl).values)[local]
    n_bins = dpr.sizes["range"]
    bin_number = (
        np.asarray(dpr["range"].values, int) if "range" in dpr.coords else np.arange(1, n_bins + 1)
    )
    if "height" in dpr.variables:
        height = along_values(dpr["height"], sl)[cross, local]
    else:
        if bin_number.max() > DPR_ELLIPSOID_BIN:
            raise InvalidArgumentError(
                f"dpr has no 'height' and {n_bins} range bins: bin heights from "
                "ellipsoidBinOffset assume 176 bins of 125 m (2A-Ku/DPR NS, MS, FS)"
            )
        offset = ray("ellipsoidBinOffset")
        along_ray = offset[:, None] + (DPR_ELLIPSOID_BIN - bin_number[None, :]) * DPR_BIN_SIZE_M
        height = along_ray * np.cos(np.radians(zenith))[:, None]
    # parallax: a bin at height h lies h tan(zenith) from its footprint, towards the satellite
    parallax = "scLon" in dpr.variables and "scLat" in dpr.variables
    ux = np.zeros(cross.size)
    uy = np.zeros(cross.size)
    if parallax:
        sx, sy = site.to_xy(ray("scLon"), ray("scLat"))
        dx, dy = sx - x[cross, along], sy - y[cross, along]
        norm = np.hypot(dx, dy)
        ok = norm > 1.0
        ux[ok], uy[ok] = dx[ok] / norm[ok], dy[ok] / norm[ok]
    sat_alt = ray("dprAlt") if "dprAlt" in dpr.variables else ray("scAlt", 407e3)
    ptype = ray("typePrecip", 0.0)
    ptype = np.where(np.isfinite(ptype) & (ptype > 0), np.floor(ptype / 1e7), 0).astype("int8")
    rays = Rays(
        along=along,
        cross=cross,
        time=time,
        x0=x[cross, along],
        y0=y[cross, along],
        zenith=zenith,
        sat_alt=np.where(np.isfinite(sat_alt), sat_alt, 407e3),
        ux=ux,
        uy=uy,
        height=height,
        bin_number=bin_number,
        clutter_free=ray("binClutterFreeBottom"),
        precip_type=ptype,
        parallax=parallax,
    )
    loaded = {}
    for name in profiles:
        values = along_values(dpr[name], sl)
        loaded[name] = values[cross, local]
    bb = {n: ray(n) for n in ("heightBB", "widthBB", "flagBB", "qualityBB", "heightZeroDeg")}
    return rays, loaded, bb


def place_melting_layer(bb: dict[str, np.ndarray], half_depth: float, given: Any) -> tuple:
    """(bottom, top, how) of the melting layer, in m."""
    if given is not None:
        bottom, top = (float(v) for v in given)
        if not top > bottom:
            raise InvalidArgumentError(f"melting_layer must be (bottom, top) in m, got {given}")
        return bottom, top, f"given: {bottom:.0f} to {top:.0f} m"
    has_bb = np.isfinite(bb["heightBB"]) & (bb["heightBB"] > 0)
    if np.isfinite(bb["flagBB"]).any():
        has_bb &= bb["flagBB"] > 0
    if has_bb.any():
        centre = float(np.median(bb["heightBB"][has_bb]))
        return (
            centre - half_depth,
            centre + half_depth,
            f"median DPR bright-band peak (heightBB of {int(has_bb.sum())} rays with a bright band"
            f" near the GR) {centre:.0f} m +- {half_depth:.0f} m",
        )
    if np.isfinite(bb["heightZeroDeg"]).any():
        top = float(np.nanmedian(bb["heightZeroDeg"]))
        return (
            top - 2 * half_depth,
            top,
            f"no bright band detected: {2 * half_depth:.0f} m below the median freezing level "
            f"(heightZeroDeg) {top:.0f} m",
        )
    return np.nan, np.nan, "not applied: no heightBB nor heightZeroDeg in dpr (rain assumed)"
