"""Instrument simulation: antenna patterns, sampling, noise and calibration residuals.

For one granule, the truth scene is generated on a **swath-aligned grid** (``s`` km along the
ground track, ``c`` km across it, spacing ``truth_res_km``) and converted to brightness
temperatures per channel by the radiative-transfer model. Each channel's effective field of view is
a Gaussian whose full width at half maximum is the registry's 3 dB footprint (along, cross),
applied as two separable 1-D filters on that grid (:func:`scipy.ndimage.gaussian_filter1d`); the
filtered field is then sampled at the pixel centres by bilinear interpolation (channels whose
footprint spans 3 grid nodes or more, GMI 10-37 GHz, on every other node: their footprint, not
the grid, sets their resolution). The footprint axes
are taken aligned with the track: exact at the swath centre of a conical scanner, an approximation
towards its edges, where the real ellipse rotates with the scan azimuth. Cross-track footprints
grow with the slant range (``ModeGeometry.footprint_scale``); they are filtered at a few widths and
interpolated per pixel. Then:

* NEDT noise: independent Gaussian noise of standard deviation ``Channel.nedt`` per pixel;
* a calibration residual ``a + b (TB - 250 K)``, fixed per sensor, channel and seed (``a`` ~ 0.3 K,
  ``b`` ~ 0.004), clipped to +/- 1 K: the residual left after XCAL intercalibration.

Memory is bounded by the region, not the duration: only the part of the swath inside the region
is simulated (pixels outside are NaN, lon/lat/time stay full-size), and a long swath is processed
in along-track blocks of ``block_km``. The truth of a block is taken at the time the satellite is
at the block's centre (a region crossing lasts ~2 minutes). The truth of the next block is built
in a worker thread while the current block is observed (in block order, so the result is the same
as a serial run): at most two blocks of truth are in memory. Called from the main thread, that
worker also spreads each block's truth tiles and point chunks over the cores
(:mod:`xgpm.simulate._parallel`; the same values for any number of threads).

All sensors on one platform share the swath coordinates (``s = 0`` at the granule start), so
GMI and DPR are sampled from the same truth grid in :func:`observe_platform`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from xgpm._deprecated import moved_names
from xgpm.errors import InvalidArgumentError
from xgpm.simulate import _parallel
from xgpm.simulate.orbits import ModeGeometry, SwathGeometry, in_region
from xgpm.simulate.swath_datasets import (  # noqa: F401  (defined there, importable from here too)
    CALIBRATION_LIMIT_K,
    TYPE_PRECIP_CODES,
    TYPE_PRECIP_NO_RAIN,
    _radar_datasets,
    _radiometer_datasets,
    _Target,
    calibration_residual,
    granule_rng,
)

__all__ = [
    "CALIBRATION_LIMIT_K",
    "calibration_residual",
    "observe_platform",
    "simulate_dpr",
    "simulate_radiometer",
    "truth_on_grid",
]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
_TRUNCATE = 3.0


# --------------------------------------------------------------------------------------------
# Truth on a swath-aligned grid
# --------------------------------------------------------------------------------------------


#: Largest change of an RTM input (between a node and the bilinear interpolation of the coarse
#: lattice) for which the coarse brightness temperatures are interpolated instead of computed.
_RTM_TOLERANCE = {
    "cloud_liquid_path": 0.01,
    "total_column_water_vapor": 0.3,
    "skin_temperature": 0.3,
    "t2m": 0.3,
    "wind_speed": 0.3,
    "land_fraction": 0.01,
    "land_emissivity": 0.002,
    "land_polarization": 0.002,
    "land_emissivity_slope": 0.002,
    "freezing_level": 50.0,
}
_HYDROMETEORS = ("surface_precip", "rain_water_path", "ice_water_path")
_CATEGORICAL = ("surface_type", "precip_type")


@dataclass
class TruthGrid:
    """Truth scene on a swath-aligned grid (rows: along-track ``s``, columns: across ``c``).

    Only the nodes in ``evaluated`` hold truth (others are 0): the nodes within reach of a
    pixel's footprint, plus the corners of the coarse lattice (every ``coarse`` nodes, anchored
    at multiples of ``coarse * res`` km) that surround them.
    """

    s0: float
    c0: float
    res: float
    shape: tuple[int, int]
    lon: np.ndarray
    lat: np.ndarray
    time: np.datetime64
    fields: dict[str, np.ndarray]  # (y, x)
    needed: np.ndarray  # (y, x) bool
    evaluated: np.ndarray  # (y, x) bool
    coarse: int
    attrs: dict[str, Any]
    #: Per-grid memo of the adaptive RTM node selection (shared by the scan modes).
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)

    def indices(self, s: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Fractional grid indices of swath coordinates, shape ``(2, n)``."""
        return np.stack([(np.ravel(s) - self.s0) / self.res, (np.ravel(c) - self.c0) / self.res])

    def points(self, flat: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> xr.Dataset:
        """Return the truth at flat node indices as a scene Dataset with dims ``(y=1, x=n)``."""
        data = {name: (("y", "x"), arr.ravel()[flat][None, :]) for name, arr in self.fields.items()}
        coords = {
            "lat": (("y", "x"), self.lat.ravel()[flat][None, :]),
            "lon": (("y", "x"), self.lon.ravel()[flat][None, :]),
        }
        ds = xr.Dataset(data, coords=coords, attrs=dict(self.attrs))
        for key, value in (extra or {}).items():
            ds.coords[key] = value
        return ds


def _squeeze_time(ds: xr.Dataset) -> xr.Dataset:
    if "time" in ds.dims:
        ds = ds.isel(time=0)
    return ds


def _lattice_nodes(needed: np.ndarray, k: int) -> np.ndarray:
    """Lattice nodes (every ``k`` rows/columns) at the corners of the cells holding needed nodes.

    The grid has ``(n - 1) % k == 0`` rows and columns, its first row/column on the lattice.
    """
    ny, nx = needed.shape
    my, mx = (ny - 1) // k, (nx - 1) // k
    rows = np.minimum(np.arange(ny) // k, my - 1)
    cols = np.minimum(np.arange(nx) // k, mx - 1)
    cells = np.zeros((my, mx), dtype=bool)
    ii, jj = np.nonzero(needed)
    cells[rows[ii], cols[jj]] = True
    lattice = np.zeros((my + 1, mx + 1), dtype=bool)
    for di in (0, 1):
        for dj in (0, 1):
            lattice[di : di + my, dj : dj + mx] |= cells
    out = np.zeros_like(needed)
    out[::k, ::k] = lattice
    return out


def _upsample(coarse: np.ndarray, k: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear, separable upsampling of lattice values ``(..., my + 1, mx + 1)`` to ``shape``."""
    out = coarse
    for axis, n in ((-2, shape[0]), (-1, shape[1])):
        m = out.shape[axis] - 1
        lo = np.minimum(np.arange(n) // k, max(m - 1, 0))
        w = (np.arange(n) - lo * k) / k
        hi = np.minimum(lo + 1, m)
        a = np.take(out, lo, axis=axis)
        b = np.take(out, hi, axis=axis)
        shape_w = [1] * out.ndim
        shape_w[axis] = n
        w = w.reshape(shape_w).astype(out.dtype)
        out = a + w * (b - a)
    return out


def truth_on_grid(
    geom: SwathGeometry,
    s_range: tuple[float, float],
    c_range: tuple[float, float],
    *,
    res_km: float,
    seed: int,
    time: Any = None,
    needed: Any = None,
    coarse: int = 4,
    truth_fn: Any = None,
) -> TruthGrid:
    """Generate the truth scene on the swath-aligned grid covering ``s_range`` x ``c_range``.

    Parameters
    ----------
    geom : SwathGeometry
        Provides the ground track (the (s, c) -> lon/lat mapping) and the time.
    s_range, c_range : (float, float)
        Extent in km.
    res_km : float
        Grid spacing in km.
    seed : int
        Master seed of the truth (the same world for every sensor).
    time : datetime64, optional
        Time of the truth; default: when the satellite is at the centre of ``s_range``.
    needed : callable, optional
        ``needed(s0, c0, shape) -> bool array``: the nodes where the truth is required (default:
        all).
    coarse : int
        Coarse lattice step (in nodes) of the adaptive radiative transfer.
    truth_fn : callable, optional
        Replacement of :func:`xgpm.simulate.truth_scene` (same signature).

    Returns
    -------
    TruthGrid
    """
    if truth_fn is None:
        from xgpm.simulate.scenes import truth_scene as truth_fn

    # Nodes at multiples of res_km, coarse lattice at multiples of coarse * res_km: the same
    # pixel is computed from the same nodes whatever the extent of the grid, which keeps the
    # simulation of a granule independent of its neighbours and of the other sensors.
    step = res_km * coarse
    s_idx = np.arange(np.floor(s_range[0] / step) * coarse, np.ceil(s_range[1] / step) * coarse + 1)
    c_idx = np.arange(np.floor(c_range[0] / step) * coarse, np.ceil(c_range[1] / step) * coarse + 1)
    s_grid, c_grid = res_km * s_idx, res_km * c_idx
    shape = (s_grid.size, c_grid.size)
    need = np.ones(shape, bool) if needed is None else needed(s_grid[0], c_grid[0], shape)
    evaluated = need | _lattice_nodes(need, coarse)
    flat = np.flatnonzero(evaluated)
    lon_pts, lat_pts = geom.track.grid_to_lonlat(s_grid, c_grid, flat // shape[1], flat % shape[1])
    if time is None:
        time = geom.track.time_at(np.array(0.5 * (s_range[0] + s_range[1])))[()]
    time = np.datetime64(time, "ns")
    scene = truth_fn(lat_pts[None, :], lon_pts[None, :], np.array([time]), seed=seed)
    scene = _squeeze_time(scene)
    fields = {}
    for name, var in scene.data_vars.items():
        if var.dims != ("y", "x"):
            continue
        arr = np.zeros(shape, dtype=var.dtype)
        arr.ravel()[flat] = var.values[0]
        fields[name] = arr
    lon = np.full(shape, np.nan)
    lat = np.full(shape, np.nan)
    lon.ravel()[flat], lat.ravel()[flat] = lon_pts, lat_pts
    return TruthGrid(
        float(s_grid[0]),
        float(c_grid[0]),
        float(res_km),
        shape,
        lon,
        lat,
        time,
        fields,
        need,
        evaluated,
        coarse,
        dict(scene.attrs),
    )


def _complex_nodes(grid: TruthGrid) -> np.ndarray:
    """Needed nodes whose RTM inputs differ from the coarse-lattice interpolation (bool, y x).

    Precipitating nodes (or nodes next to precipitation) and category changes (coast, snow, rain
    type) always count as complex; the smooth rest is interpolated.
    """
    from xgpm.simulate import _scene_kernels

    k = grid.coarse
    out = np.zeros(grid.shape, dtype=bool)
    # One pass per field (a numba kernel; nodes already flagged are skipped), the same flags
    # as comparing each field with _upsample of its lattice values.
    for name, arr in grid.fields.items():
        if name in _HYDROMETEORS:
            wet = (arr[::k, ::k] > 0).astype("float32")
            coarse, tol, is_wet = _dilate_lattice(wet), 0.0, True
        elif name in _CATEGORICAL or name in _RTM_TOLERANCE:
            coarse = np.ascontiguousarray(arr[::k, ::k], dtype="float32")
            tol, is_wet = _RTM_TOLERANCE.get(name, 1e-3), False
        else:
            continue
        values = np.ascontiguousarray(arr, dtype="float32")
        _scene_kernels.flag_departures(values, coarse, k, tol, is_wet, out)
    return out & grid.needed


def _dilate_lattice(values: np.ndarray) -> np.ndarray:
    """Max over each lattice node and its right/lower neighbours (any wet corner of a cell)."""
    out = values.copy()
    out[:-1] = np.maximum(out[:-1], values[1:])
    out2 = out.copy()
    out2[:, :-1] = np.maximum(out2[:, :-1], out[:, 1:])
    return out2


def _brightness(
    grid: TruthGrid, sensor: Any, mode_name: str, incidence_of_c: Any = None, rtm_fn: Any = None
) -> list[tuple[np.ndarray, int]]:
    """TBs of one scan mode's channels on the grid: per channel a float32 field and its step.

    The step is 1 (the truth grid) or 2 (every other node, wide footprints; see
    :func:`_brightness_of`).

    Adaptive: the radiative transfer runs on the coarse lattice and on the "complex" nodes only
    (see :func:`_complex_nodes`); the other nodes interpolate the lattice bilinearly. Scan modes
    at their nominal incidence angles (conical scanners: GMI S1 and S2) listed in
    ``grid.memo[("modes", sensor.name)]`` are computed in one call, which builds each node's
    atmospheric profile once for all of them; the values are the same as mode by mode.
    """
    k = grid.coarse
    if "run" not in grid.memo:  # the same for every scan mode of the grid
        is_complex = _complex_nodes(grid)
        lattice = _lattice_nodes(grid.needed, k)
        grid.memo["is_complex"] = is_complex
        grid.memo["run"] = np.flatnonzero(lattice | is_complex)
    if incidence_of_c is not None:
        return _brightness_of(grid, sensor.scan_modes[mode_name].channels, incidence_of_c, rtm_fn)
    key = ("tb", sensor.name)
    cached = grid.memo.get(key)
    if cached is None or mode_name not in cached:
        modes = [
            m
            for m in grid.memo.get(("modes", sensor.name), ())
            if not any(
                getattr(ch, "incidence_varies", False) for ch in sensor.scan_modes[m].channels
            )
        ]
        if mode_name not in modes or cached is not None:
            modes = [mode_name]
        channels = [ch for m in modes for ch in sensor.scan_modes[m].channels]
        tb = _brightness_of(grid, channels, None, rtm_fn)
        cached, start = {}, 0
        for m in modes:
            n = len(sensor.scan_modes[m].channels)
            cached[m] = tb[start : start + n]
            start += n
        grid.memo[key] = cached
    return cached.pop(mode_name)  # used once: the grid does not keep it


def _brightness_of(
    grid: TruthGrid, channels: Sequence[Any], incidence_of_c: Any, rtm_fn: Any
) -> list[tuple[np.ndarray, int]]:
    """TBs of ``channels``: per channel a (y, x) field and its node step (1 or 2).

    Adaptive (see :func:`_brightness`). Wide footprints (10-37 GHz on GMI) average many nodes:
    their radiative transfer runs on the 2-node sub-grid (its complex nodes, the rest
    interpolated from the lattice) and their footprints are filtered and sampled there, a
    quarter of the nodes; the footprint, not the grid, sets their resolution.
    """
    from xgpm.simulate import _scene_kernels

    if rtm_fn is None:
        from xgpm.simulate.rtm import brightness_temperatures as rtm_fn

    k = grid.coarse
    is_complex = grid.memo["is_complex"]
    out: list[Any] = [None] * len(channels)
    # (The sub-grid must hold the lattice: its step divides the lattice's.)
    wide_step = _RTM_COARSE_STEP if k % _RTM_COARSE_STEP == 0 else 1
    steps = [wide_step if _is_wide(ch, grid.res) else 1 for ch in channels]
    for step in sorted(set(steps)):
        group = [i for i, w in enumerate(steps) if w == step]
        shape = tuple((n - 1) // step + 1 for n in grid.shape)
        if step == 1:
            need = _group_needed(grid, [channels[i] for i in group])
            complex_here = is_complex & need
            run = np.flatnonzero(_lattice_nodes(need, k) | complex_here)
        else:
            complex_here = is_complex
            run = _sub_grid_run(grid, step)
        incidence = None
        if incidence_of_c is not None:
            c = grid.c0 + grid.res * (run % grid.shape[1])
            incidence = xr.DataArray(incidence_of_c(c)[None, :].astype("float64"), dims=("y", "x"))
        tb_run = rtm_fn(grid.points(run), [channels[i] for i in group], incidence)
        tb_run = np.asarray(tb_run.transpose("pmw_frequency", ...).values, "float32").reshape(
            len(group), -1
        )
        # Flat indices of the run on this (sub-)grid.
        rows, cols = run // grid.shape[1], run % grid.shape[1]
        flat = (rows // step) * shape[1] + cols // step
        full = np.zeros((len(group), shape[0] * shape[1]), dtype="float32")
        full[:, flat] = tb_run
        full = full.reshape(len(group), *shape)
        # Bilinear lattice interpolation everywhere but on the complex nodes (which keep their
        # computed TBs), in place: the same values as _upsample(full[:, ::kk, ::kk]) there.
        kk = k // step
        keep = complex_here[::step, ::step]
        _scene_kernels.upsample_into(full, np.ascontiguousarray(full[:, ::kk, ::kk]), kk, keep)
        for j, i in enumerate(group):
            out[i] = (full[j], step)
    return out


#: Sub-grid step (nodes) of the radiative transfer and footprints of wide-footprint channels.
_RTM_COARSE_STEP = 2
#: A channel whose smallest 3 dB footprint spans this many truth nodes or more is wide.
_WIDE_FOOTPRINT_NODES = 3.0


def _is_wide(channel: Any, res_km: float) -> bool:
    footprint = getattr(channel, "footprint_km", None)
    if not footprint:
        return False
    return float(min(footprint)) >= _WIDE_FOOTPRINT_NODES * res_km


def _sub_grid_run(grid: TruthGrid, step: int) -> np.ndarray:
    """Flat nodes of the radiative transfer of wide channels: lattice + complex sub-grid nodes."""
    key = ("run", step)
    if key not in grid.memo:
        on_sub = np.zeros(grid.shape, dtype=bool)
        on_sub[::step, ::step] = True
        lattice = _lattice_nodes(grid.needed, grid.coarse)
        grid.memo[key] = np.flatnonzero(lattice | (grid.memo["is_complex"] & on_sub))
    return grid.memo[key]


def _filter(field: np.ndarray, sigma_rows: float, sigma_cols: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    out = field
    if sigma_rows > 0.05:
        out = gaussian_filter1d(out, sigma_rows, axis=-2, mode="nearest", truncate=_TRUNCATE)
    if sigma_cols > 0.05:
        out = gaussian_filter1d(out, sigma_cols, axis=-1, mode="nearest", truncate=_TRUNCATE)
    return out


def _sample(field: np.ndarray, idx: np.ndarray, order: int = 1) -> np.ndarray:
    from scipy.ndimage import map_coordinates

    return map_coordinates(field, idx, order=order, mode="nearest", prefilter=False)


def _scale_levels(scale: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(scale)), float(np.max(scale))
    if hi / lo < 1.05:
        return np.array([lo])
    n = int(np.clip(np.ceil(np.log(hi / lo) / np.log(1.35)), 1, 6)) + 1
    return np.geomspace(lo, hi, n)


def _block_mean(field: np.ndarray, f: int) -> np.ndarray:
    ny, nx = field.shape
    py, px = (-ny) % f, (-nx) % f
    padded = np.pad(field, ((0, py), (0, px)), mode="edge")
    return padded.reshape((ny + py) // f, f, (nx + px) // f, f).mean(axis=(1, 3))


def _filtered_sample(field: np.ndarray, sig_rows: float, sig_cols: float, idx: np.ndarray):
    """Gaussian-filter ``field`` (sigmas in nodes) and sample it at fractional indices ``idx``.

    Wide footprints are filtered on a block-averaged copy (factor ``f`` keeping >= 3 nodes per
    sigma): the block mean is itself a box filter of variance ``(f**2 - 1) / 12`` nodes**2, which
    is removed from the Gaussian's, so the result matches the full-resolution filter closely at a
    fraction of the cost (tested against the direct filter).
    """
    f = max(1, int(min(sig_rows, sig_cols) / 3.0))
    if f == 1:
        return _sample(_filter(field, sig_rows, sig_cols), idx)
    box_var = (f**2 - 1) / 12.0
    coarse = _block_mean(field, f)
    sr = np.sqrt(max(sig_rows**2 - box_var, 0.0)) / f
    sc = np.sqrt(max(sig_cols**2 - box_var, 0.0)) / f
    return _sample(_filter(coarse, sr, sc), (idx - (f - 1) / 2.0) / f)


def _sample_footprint(
    field: np.ndarray,
    footprint_km: tuple[float, float],
    scale: np.ndarray,
    idx: np.ndarray,
    res_km: float,
) -> np.ndarray:
    """Convolve ``field`` with the Gaussian EFOV and sample at ``idx``; scale per pixel."""
    along, cross = (float(v) * _FWHM_TO_SIGMA / res_km for v in footprint_km)
    levels = _scale_levels(scale)
    samples = np.stack([_filtered_sample(field, along * k, cross * k, idx) for k in levels])
    if len(levels) == 1:
        return samples[0]
    pos = np.interp(np.log(scale), np.log(levels), np.arange(len(levels)))
    lo = np.clip(np.floor(pos).astype(int), 0, len(levels) - 2)
    w = pos - lo
    cols = np.arange(samples.shape[1])
    return (1 - w) * samples[lo, cols] + w * samples[lo + 1, cols]


# --------------------------------------------------------------------------------------------
# Platform-level simulation
# --------------------------------------------------------------------------------------------


def _pixel_mask(mode: ModeGeometry, region: Any) -> np.ndarray:
    if region is None:
        return np.ones(mode.lon.shape, dtype=bool)
    return in_region(mode.lon, mode.lat, region)


def _max_footprint(sensor: Any, mode: ModeGeometry) -> float:
    fp = max(max(ch.footprint_km) for m in sensor.scan_modes.values() for ch in m.channels)
    return float(fp) * float(np.max(mode.footprint_scale))


def observe_platform(
    targets: Sequence[tuple[Any, SwathGeometry]],
    *,
    seed: int,
    region: Any = None,
    truth_res_km: float = 2.5,
    block_km: float = 4000.0,
    truth_seed: int | None = None,
    truth_time: Any = None,
    truth_fn: Any = None,
    rtm_fn: Any = None,
) -> list[dict[str, xr.Dataset] | None]:
    """Simulate the observations of sensors on one platform from one shared truth grid.

    Parameters
    ----------
    targets : sequence of (Sensor, SwathGeometry)
        Sensors of the same platform (e.g. GMI and DPR) and their geometry for the same granule.
    seed : int
        Master seed; the noise of each granule derives from it and the granule number.
    region : Region, str or (lon_min, lon_max, lat_min, lat_max), optional
        Only pixels inside are simulated (others NaN). None simulates the whole swath.
    truth_res_km : float
        Spacing of the swath-aligned truth grid (km); smaller than the smallest footprint / 2 is
        advisable.
    block_km : float
        Along-track length of the processing blocks (bounds memory).
    truth_seed : int, optional
        Seed of the truth scene; defaults to ``seed``.
    truth_time : datetime64, optional
        One time for the truth of every block (e.g. the time of the region crossing); default:
        the time the satellite is at the centre of each block.
    truth_fn, rtm_fn : callable, optional
        Replacements of :func:`xgpm.simulate.truth_scene` and
        :func:`xgpm.simulate.brightness_temperatures` (same signatures), e.g. a cheap synthetic
        world for tests and benchmarks of the observing system alone.

    Returns
    -------
    list
        Per target: a dict scan mode -> Dataset (1C layout for radiometers, 2A-DPR "FS" for the
        radar), or None when no pixel lies in the region.
    """
    if truth_res_km <= 0 or block_km <= 0:
        raise InvalidArgumentError("truth_res_km and block_km must be positive")
    truth_seed = seed if truth_seed is None else truth_seed
    tlist = []
    for sensor, geom in targets:
        kind = str(getattr(sensor, "kind", "radiometer"))
        tlist.append(_Target(sensor, geom, kind))
    # Per target and mode: the pixel mask and output arrays.
    masks = [{k: _pixel_mask(m, region) for k, m in t.geom.modes.items()} for t in tlist]
    if not any(mk.any() for per in masks for mk in per.values()):
        return [None] * len(tlist)
    outputs: list[dict[str, dict[str, np.ndarray]]] = []
    for t in tlist:
        per = {}
        for name, mode in t.geom.modes.items():
            n_ch = len(t.sensor.scan_modes[name].channels)
            if t.kind == "radar":
                per[name] = {
                    "rain": np.full(mode.lon.shape, np.nan, "float32"),
                    "type": np.full(mode.lon.shape, TYPE_PRECIP_NO_RAIN, "int32"),
                }
            else:
                per[name] = {"tc": np.full((*mode.lon.shape, n_ch), np.nan, "float32")}
        outputs.append(per)

    s_all = np.concatenate(
        [
            mode.s_km[per[name]]
            for t, per in zip(tlist, masks, strict=True)
            for name, mode in t.geom.modes.items()
        ]
    )
    margin = max(
        _TRUNCATE * _max_footprint(t.sensor, m) * _FWHM_TO_SIGMA * 1.5 + 2 * truth_res_km
        for t in tlist
        for m in t.geom.modes.values()
    )
    # Reach of the widest truncated footprint (+ bilinear sampling): nodes farther from every
    # pixel are never used, so the truth and radiative transfer skip them.
    reach = margin / 1.5
    s_lo, s_hi = float(s_all.min()), float(s_all.max())
    # Blocks anchored at multiples of block_km (s = 0 at the granule start): a pixel's block, and
    # hence its truth time, does not depend on which other pixels or sensors are simulated.
    first, last = int(np.floor(s_lo / block_km)), int(np.floor(s_hi / block_km))
    edges = block_km * np.arange(first, last + 2, dtype="float64")
    blocks = []
    for b in range(len(edges) - 1):
        sel = []
        c_min, c_max = np.inf, -np.inf
        for ti, t in enumerate(tlist):
            for name, mode in t.geom.modes.items():
                pick = masks[ti][name] & (mode.s_km >= edges[b]) & (mode.s_km < edges[b + 1])
                if pick.any():
                    sel.append((ti, name, pick))
                    c_min = min(c_min, float(mode.c_km[pick].min()))
                    c_max = max(c_max, float(mode.c_km[pick].max()))
        if sel:
            blocks.append((b, sel, c_min, c_max))

    # The truth worker spreads each block's tiles over the cores when this runs in the main
    # thread (in a dask worker or any other thread: serially, see _parallel).
    truth_threads = _parallel.n_threads()

    def block_truth(block: tuple) -> TruthGrid:
        with _parallel.threads(truth_threads):
            return _block_truth(block)

    def _block_truth(block: tuple) -> TruthGrid:
        b, sel, c_min, c_max = block
        block_time = truth_time
        if block_time is None:
            block_time = tlist[0].geom.track.time_at(np.array(0.5 * (edges[b] + edges[b + 1])))
        pix_s = np.concatenate([tlist[ti].geom.modes[n].s_km[p] for ti, n, p in sel])
        pix_c = np.concatenate([tlist[ti].geom.modes[n].c_km[p] for ti, n, p in sel])
        grid = truth_on_grid(
            tlist[0].geom,
            (edges[b] - margin, edges[b + 1] + margin),
            (c_min - margin, c_max + margin),
            res_km=truth_res_km,
            seed=truth_seed,
            time=block_time,
            needed=_needed_nodes(pix_s, pix_c, reach, truth_res_km),
            truth_fn=truth_fn,
        )
        # Narrow footprints need fewer nodes than the widest: their radiative transfer skips
        # the others (see _brightness_of).
        grid.memo["needed_within"] = _needed_nodes(pix_s, pix_c, None, truth_res_km)
        grid.memo["footprint_scale"] = max(
            float(np.max(tlist[ti].geom.modes[n].footprint_scale[p])) for ti, n, p in sel
        )
        return grid

    # Pipeline: the truth of the next block (one worker, blocks in order, so the random engine
    # sees the same sequence of requests as a serial run) is built while this block's radiative
    # transfer and footprints run; both release the GIL for their heavy parts.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(block_truth, blocks[0]) if blocks else None
        for k, (_b, sel, _c0, _c1) in enumerate(blocks):
            grid = pending.result()
            pending = pool.submit(block_truth, blocks[k + 1]) if k + 1 < len(blocks) else None
            for ti, name, _pick in sel:  # scan modes of each sensor in this block (see _brightness)
                grid.memo.setdefault(("modes", tlist[ti].sensor.name), []).append(name)
            for ti, name, pick in sel:
                t = tlist[ti]
                mode = t.geom.modes[name]
                idx = grid.indices(mode.s_km[pick], mode.c_km[pick])
                scale = mode.footprint_scale[pick]
                if t.kind == "radar":
                    rain, ptype = _radar_block(t.sensor, name, grid, idx, scale)
                    outputs[ti][name]["rain"][pick] = rain
                    outputs[ti][name]["type"][pick] = ptype
                else:
                    tb = _radiometer_block(t.sensor, name, grid, idx, scale, mode, rtm_fn)
                    outputs[ti][name]["tc"][pick] = tb
            del grid

    results: list[dict[str, xr.Dataset] | None] = []
    for t, per, mk in zip(tlist, outputs, masks, strict=True):
        if not any(m.any() for m in mk.values()):
            results.append(None)
            continue
        rng = granule_rng(seed, t.sensor.name, t.geom.granule)
        if t.kind == "radar":
            results.append(_radar_datasets(t, per, rng))
        else:
            results.append(_radiometer_datasets(t, per, rng, seed))
    return results


def _needed_nodes(pix_s: np.ndarray, pix_c: np.ndarray, reach_km: float | None, res_km: float):
    """Return ``needed(s0, c0, shape)``: nodes within ``reach_km`` (square) of any pixel.

    ``reach_km=None``: ``needed(s0, c0, shape, reach_km)`` takes the reach as an argument.
    """

    def needed(s0: float, c0: float, shape: tuple[int, int], reach: float | None = None):
        from scipy.ndimage import maximum_filter

        hit = np.zeros(shape, dtype=bool)
        i = np.clip(np.rint((pix_s - s0) / res_km).astype(int), 0, shape[0] - 1)
        j = np.clip(np.rint((pix_c - c0) / res_km).astype(int), 0, shape[1] - 1)
        hit[i, j] = True
        r = int(np.ceil((reach_km if reach is None else reach) / res_km)) + 2
        return maximum_filter(hit, size=2 * r + 1, mode="constant", cval=False)

    return needed


def _group_needed(grid: TruthGrid, channels: Sequence[Any]) -> np.ndarray:
    """Needed nodes of a group of channels: within reach of their own widest footprint.

    The grid's ``needed`` covers the widest footprint of all sensors (10 GHz: ~45 km around
    each pixel); 89-183 GHz footprints reach ~13 km. Falls back to ``grid.needed``.
    """
    within = grid.memo.get("needed_within")
    widest = max((max(getattr(ch, "footprint_km", None) or (0.0,)) for ch in channels), default=0)
    if within is None or widest <= 0:
        return grid.needed
    reach = _TRUNCATE * float(widest) * _FWHM_TO_SIGMA * grid.memo["footprint_scale"]
    key = ("needed", round(reach, 6))
    if key not in grid.memo:
        grid.memo[key] = within(grid.s0, grid.c0, grid.shape, reach + 2 * grid.res) & grid.needed
    return grid.memo[key]


def _radiometer_block(
    sensor: Any,
    mode_name: str,
    grid: TruthGrid,
    idx: np.ndarray,
    scale: np.ndarray,
    mode: ModeGeometry,
    rtm_fn: Any = None,
) -> np.ndarray:
    channels = sensor.scan_modes[mode_name].channels
    varies = any(getattr(ch, "incidence_varies", False) for ch in channels)
    incidence_of_c = None  # conical: each channel's nominal incidence angle (GMI S2: 49.19 deg)
    if varies:
        # Cross-track: the incidence angle depends on the cross-track distance only.
        c_pix = mode.c_km[:, 0]
        order = np.argsort(c_pix)

        def incidence_of_c(c: np.ndarray) -> np.ndarray:
            return np.interp(c, c_pix[order], mode.incidence[order, 0])

    tb = _brightness(grid, sensor, mode_name, incidence_of_c, rtm_fn)
    out = np.empty((idx.shape[1], len(channels)), dtype="float32")
    for i, ch in enumerate(channels):
        field, step = tb[i]
        out[:, i] = _sample_footprint(field, ch.footprint_km, scale, idx / step, grid.res * step)
    return out


def _radar_block(
    sensor: Any, mode_name: str, grid: TruthGrid, idx: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.ndimage import maximum_filter

    ch = sensor.scan_modes[mode_name].channels[0]
    rain_field = np.asarray(grid.fields["surface_precip"], dtype="float32")
    rain = _sample_footprint(np.nan_to_num(rain_field), ch.footprint_km, scale, idx, grid.res)
    # The footprint's type: convective if any convective node lies within it.
    size = max(int(round(max(ch.footprint_km) / grid.res)), 1)
    ptype_field = maximum_filter(grid.fields["precip_type"].astype("float32"), size=size)
    ptype = _sample(ptype_field, idx, order=0)
    return rain.astype("float32"), np.rint(ptype).astype("int32")


def simulate_radiometer(
    sensor: Any, geom: SwathGeometry, *, seed: int, region: Any = None, **kwargs: Any
) -> dict[str, xr.Dataset] | None:
    """Simulate one 1C granule of a radiometer (see :func:`observe_platform` for options).

    Returns
    -------
    dict or None
        Scan mode -> Dataset with ``Tc (cross_track, along_track, pmw_frequency)``,
        ``incidenceAngle``, ``sunLocalTime``, spacecraft position and lon/lat/time coordinates;
        None when the swath misses the region.
    """
    return observe_platform([(sensor, geom)], seed=seed, region=region, **kwargs)[0]


def simulate_dpr(
    sensor: Any, geom: SwathGeometry, *, seed: int, region: Any = None, **kwargs: Any
) -> dict[str, xr.Dataset] | None:
    """Simulate one 2A-DPR granule ("FS": near-surface rain and precipitation type).

    The near-surface rate is the truth convolved with the 5 km footprint, with a 15 % log-normal
    retrieval scatter; rates below the registry's ``min_detectable_rate_mm_h`` (~0.2 mm/h) are
    reported as 0 (missed light rain). ``typePrecip`` uses PPS codes (10000000 stratiform,
    20000000 convective, 30000000 other, -1111 no rain).
    """
    return observe_platform([(sensor, geom)], seed=seed, region=region, **kwargs)[0]


# Private helpers that moved to xgpm.simulate.swath_datasets.
__getattr__ = moved_names(
    __name__,
    dict.fromkeys(("_crc", "_sun_local_time", "_spacecraft"), "xgpm.simulate.swath_datasets"),
)
