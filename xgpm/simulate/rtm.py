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

from xgpm._deprecated import moved_names
from xgpm.errors import InvalidArgumentError, MissingVariableError
from xgpm.simulate.spectroscopy import (
    _DZ,
    _EARTH_RADIUS_KM,
    _ICE_FREQ,
    _ICE_G,
    _ICE_KEXT,
    _ICE_SSA,
    _LAPSE_K_PER_KM,
    _OCEAN_INC,
    _OCEAN_INC_STEP,
    _OCEAN_SST,
    _OCEAN_SST_STEP,
    _PRESSURE_SCALE_KM,
    _RAIN_ALPHA,
    _RAIN_FREQ,
    _RAIN_G,
    _RAIN_K,
    _RAIN_SSA,
    _RAIN_SSA_FREQ,
    _SATELLITE_ALTITUDE_KM,
    _T_COSMIC,
    _T_TABLE,
    _T_TROPOPAUSE,
    _VAPOUR_SCALE_KM,
    _Z_EDGES,
    _Z_MID,
    _cloud_mass_absorption,
    _freezing_level_km,
    _interp_log,
    _land_emissivity,
    _layer_fraction,
    _o2_zenith_opacity,
    _smooth_sea_emissivity,
    _snow_emissivity,
    _tabulated,
    _two_stream,
    _vapour_mass_absorption,
    gas_optical_depth,
    ocean_emissivity,
)

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
_BLOCK = 131_072  # pixels per block: bounds memory to ~ 18 layers x block x a few arrays


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


# Private helpers of the spectroscopy that moved to xgpm.simulate.spectroscopy.
__getattr__ = moved_names(
    __name__,
    dict.fromkeys(
        (
            "_O2_FREQ",
            "_O2_TAU",
            "_H2O_LINES",
            "_H2O_CONTINUUM",
            "_R_VAPOUR",
            "_water_permittivity",
            "_seawater_permittivity",
        ),
        "xgpm.simulate.spectroscopy",
    ),
)
