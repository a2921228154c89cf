"""Earth-anchored, time-evolving power-law noise (the random engine of the truth scenes).

Why tiles: every sensor of the simulated constellation must see the *same* world, whatever grid
it asks for (a regular lat/lon grid, a swath-aligned curvilinear grid, a single column). The noise
is therefore defined on fixed, overlapping tiles anchored to the Earth, and a point's value depends
only on (seed, position, time, resolution) - never on the requested grid:

* latitude bands 16 deg high, centred every 8 deg; in each band tiles ~1780 km wide, centred every
  half width, so every point lies in 2 x 2 tiles;
* each tile holds a square grid (``resolution_km`` spacing, local equirectangular km coordinates)
  of spectrally filtered white noise (pysteps-style |k|^(-beta/2) amplitude filter, optional
  anisotropy);
* tiles are blended with ``sqrt`` of a sin^2 partition of unity, which keeps the variance 1;
* time: the spectral coefficients follow a Lagrangian AR(1) on a 30-minute lattice anchored at
  1970-01-01, written as a truncated moving average of per-step innovations seeded by
  (seed, tile, step): the state at step ``n`` is a pure function of ``n`` (consistent whatever
  times are requested), advected by the tile's steering wind (a Fourier phase shift) and
  decorrelating with a scale-dependent lifetime (30 min at 10 km, hours at 100+ km).
"""

from __future__ import annotations

import functools
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

STEP_SECONDS = 1800.0
MEMORY_STEPS = 12  # truncation of the moving average: 6 h
BAND_HEIGHT_DEG = 16.0
TILE_WIDTH_KM = 1780.0
KM_PER_DEG = 111.195
_CACHE_SIZE = 48


def stable_hash(*parts: object) -> int:
    """32-bit hash of ``parts`` that is identical across processes (unlike ``hash``)."""
    return zlib.crc32(repr(parts).encode()) & 0xFFFFFFFF


@dataclass(frozen=True)
class Tile:
    """One anchored tile: band index, index within the band, centre and size."""

    band: int
    index: int
    lat_c: float
    lon_c: float
    width_deg: float
    n_pix: int
    resolution_km: float

    @property
    def key(self) -> tuple[int, int]:
        return (self.band, self.index)

    @property
    def km_per_deg_lon(self) -> float:
        return KM_PER_DEG * max(np.cos(np.deg2rad(self.lat_c)), 0.2)

    def pixel_coords(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (row, col) of points inside the tile grid."""
        dlon = (lon - self.lon_c + 180.0) % 360.0 - 180.0
        x_km = dlon * self.km_per_deg_lon
        y_km = (lat - self.lat_c) * KM_PER_DEG
        half = 0.5 * (self.n_pix - 1)
        return y_km / self.resolution_km + half, x_km / self.resolution_km + half


def _band_layout(band: int) -> tuple[float, int]:
    lat_c = -90.0 + band * BAND_HEIGHT_DEG / 2
    cos_lat = max(np.cos(np.deg2rad(lat_c)), 0.2)
    width_deg = TILE_WIDTH_KM / (KM_PER_DEG * cos_lat)
    n_tiles = max(int(np.ceil(360.0 / (width_deg / 2))), 2)
    return lat_c, n_tiles


@functools.lru_cache(maxsize=64)
def make_tile(band: int, index: int, resolution_km: float) -> Tile:
    """Build tile (band, index) at a resolution; its grid is square and FFT-friendly."""
    from scipy.fft import next_fast_len

    lat_c, n_tiles = _band_layout(band)
    spacing = 360.0 / n_tiles
    height_km = BAND_HEIGHT_DEG * KM_PER_DEG
    width_km = 2 * spacing * KM_PER_DEG * max(np.cos(np.deg2rad(lat_c)), 0.2)
    n_pix = next_fast_len(int(np.ceil(max(height_km, width_km) / resolution_km)) + 4)
    return Tile(
        band,
        index % n_tiles,
        lat_c,
        -180.0 + spacing * (index % n_tiles),
        2 * spacing,
        n_pix,
        resolution_km,
    )


def tile_weights(lat: np.ndarray, lon: np.ndarray, resolution_km: float):
    """Yield (tile, point indices, weight) for every tile touching the points.

    The weights are a partition of unity (they sum to 1 at every point).
    """
    for band, t, idx, w in tile_parts(lat, lon):
        yield make_tile(band, t, resolution_km), idx, w


def tile_parts(lat: np.ndarray, lon: np.ndarray) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """(band, tile index, point indices, weight) of every tile touching the points.

    Tiles in (band, tile) order, point indices increasing. The layout of the tiles does not
    depend on the resolution, so this is computed once for the engine's two resolutions
    (:func:`tile_weights` wraps it).
    """
    from xgpm.simulate import _scene_kernels

    lat = np.ascontiguousarray(lat, dtype=np.float64).ravel()
    lon = np.ascontiguousarray(lon, dtype=np.float64).ravel()
    starts, point, weight = _scene_kernels.tile_groups(
        lat, lon, BAND_HEIGHT_DEG, _TILES_PER_BAND, _KEY_STRIDE, 1e-6
    )
    out = []
    for key in np.flatnonzero(np.diff(starts)):
        sl = slice(starts[key], starts[key + 1])
        out.append((int(key // _KEY_STRIDE), int(key % _KEY_STRIDE), point[sl], weight[sl]))
    return out


# Tiles per latitude band (bands 0 .. 23: a point's upper band may be one past the pole's).
_TILES_PER_BAND = np.array(
    [_band_layout(b)[1] for b in range(int(180.0 / (BAND_HEIGHT_DEG / 2)) + 2)], dtype=np.int64
)
_KEY_STRIDE = int(_TILES_PER_BAND.max()) + 1


@functools.lru_cache(maxsize=8)
def _wavenumbers(n_pix: int, resolution_km: float) -> tuple[np.ndarray, np.ndarray]:
    ky = np.fft.fftfreq(n_pix, d=resolution_km)[:, None]
    kx = np.fft.rfftfreq(n_pix, d=resolution_km)[None, :]
    return ky.astype(np.float32), kx.astype(np.float32)


def power_law_filter(
    n_pix: int,
    resolution_km: float,
    beta: float,
    *,
    anisotropy: float = 1.0,
    angle_deg: float = 0.0,
    outer_scale_km: float = 600.0,
    inner_scale_km: float = 0.0,
) -> np.ndarray:
    """Amplitude filter |k|^(-beta/2) (rfft layout), so the power spectrum goes as k^-beta.

    ``anisotropy`` > 1 stretches structures along ``angle_deg`` (from the x axis, degrees);
    scales beyond ``outer_scale_km`` are flattened (rain fields decorrelate at synoptic scales).
    """
    ky, kx = _wavenumbers(n_pix, resolution_km)
    a = np.deg2rad(angle_deg)
    cos_a, sin_a = np.float32(np.cos(a)), np.float32(np.sin(a))
    # |k|^2 with the anisotropy and the outer scale, in float32 and in place (one power call:
    # this runs for every rain tile and block).
    k2 = kx * cos_a + ky * sin_a
    k2 *= k2
    k2 *= np.float32(anisotropy)
    across = ky * cos_a - kx * sin_a
    across *= across
    across *= np.float32(1.0 / anisotropy)
    k2 += across
    k2 += np.float32((1.0 / outer_scale_km) ** 2)
    amp = np.power(k2, np.float32(-beta / 4.0))
    if inner_scale_km > 0:
        amp *= np.exp(-k2 * np.float32(inner_scale_km**2))
    amp[0, 0] = 0.0
    return amp.astype(np.float32, copy=False)


# Innovations are random bytes: each coefficient's real and imaginary parts are one signed byte
# (a discrete uniform on -128..127, variance (256**2 - 1) / 12), read straight from the bit
# generator's raw 64-bit words (SFC64; ~20x cheaper than uniform floats, ~100x than normal draws).
_BYTE_VARIANCE = (256.0**2 - 1.0) / 12.0


def _innovation_bits(seed: int, stream: str, tile: Tile, step: int) -> np.random.SFC64:
    """The bit generator of one (seed, stream, tile, step): SFC64, ~2x faster than PCG64."""
    return np.random.SFC64(
        [
            seed & 0xFFFFFFFF,
            stable_hash(stream, tile.key),
            step & 0xFFFFFFFF,
            (step >> 32) & 0xFFFFFFFF,
        ]
    )


def _innovation_gain(tile: Tile) -> np.float32:
    """Factor turning ``byte + 0.5`` into a coefficient of variance ``n_pix**2 / 2`` per part."""
    return np.float32(np.sqrt(tile.n_pix * tile.n_pix / 2.0 / _BYTE_VARIANCE))


def _innovation_bytes(seed: int, stream: str, tile: Tile, step: int) -> np.ndarray:
    """The random bytes behind :func:`_innovation`: real parts, then imaginary parts (flat int8)."""
    n_cols = tile.n_pix // 2 + 1
    n = 2 * tile.n_pix * n_cols
    words = _innovation_bits(seed, stream, tile, step).random_raw((n + 7) // 8)
    return words.view(np.int8)[:n]


def _innovation(seed: int, stream: str, tile: Tile, step: int) -> np.ndarray:
    """Complex white noise of the AR process of one (seed, stream, tile, step), rfft2 layout.

    Drawn directly in the rfft2 layout (as rfft2 of real white noise would be, up to the
    Hermitian symmetry of two columns that irfft2 resolves): no forward FFT. The coefficients
    are discrete uniform (random bytes) with the variance of rfft2 of unit white noise, not
    Gaussian: every point of the filtered field sums hundreds of them, so the field is Gaussian
    all the same (central limit; tested), and random bytes cost ~15x less than uniform floats
    (the innovations of each tile's moving average dominate the engine). :class:`_ARState`
    fuses these same draws into its update.
    """
    n_cols = tile.n_pix // 2 + 1
    white = _innovation_bytes(seed, stream, tile, step).astype(np.float32)
    white = white.reshape(2, tile.n_pix, n_cols)
    white += np.float32(0.5)
    white *= _innovation_gain(tile)
    spectrum = np.empty((tile.n_pix, n_cols), dtype=np.complex64)
    spectrum.real = white[0]
    spectrum.imag = white[1]
    return spectrum


def _white_spectrum(seed: int, stream: str, tile: Tile, step: int) -> np.ndarray:
    """White noise in the rfft2 layout for the static fields (one draw per tile).

    The same random bytes as the innovations (the filtered field is Gaussian by the central
    limit theorem; the static fields were drawn from normal deviates before, ~100x slower).
    """
    return _innovation(seed, stream, tile, step)


def _lifetime_steps(tile: Tile) -> np.ndarray:
    """AR(1) lifetime (in steps) per wavenumber: ~1 step at 10 km, growing with scale."""
    return _lifetime_table(tile.n_pix, tile.resolution_km)


@functools.lru_cache(maxsize=4)
def _lifetime_table(n_pix: int, resolution_km: float) -> np.ndarray:
    ky, kx = _wavenumbers(n_pix, resolution_km)
    scale_km = 1.0 / np.maximum(np.sqrt(kx**2 + ky**2), 1e-6)
    hours = np.clip(1.5 * (scale_km / 10.0) ** 0.7, 0.75, 6.0)
    return hours * 3600.0 / STEP_SECONDS


@functools.lru_cache(maxsize=4)
def _decay_amplitudes(n_pix: int, resolution_km: float) -> tuple[np.ndarray, ...]:
    """AR coefficient ``phi``, normalisation and ``phi ** (M + 1)`` per wavenumber (float32)."""
    phi = np.exp(-1.0 / _lifetime_table(n_pix, resolution_km)).astype(np.float32)
    scale = np.sqrt((1 - phi**2) / (1 - phi ** (2 * (MEMORY_STEPS + 1)))).astype(np.float32)
    return phi, scale, (phi ** (MEMORY_STEPS + 1)).astype(np.float32)


def _phase_ramps(tile: Tile, shift_rows: float, shift_cols: float) -> tuple[np.ndarray, ...]:
    """The 1-D phase ramps whose outer product shifts a tile field (rows, columns; complex64).

    Separable: ``exp(-2 pi i (ky dy + kx dx))`` is the outer product of two 1-D ramps, so the
    kernels apply a shift without a full-size phase array.
    """
    ky, kx = _wavenumbers(tile.n_pix, tile.resolution_km)
    res = tile.resolution_km
    rows = np.exp(-2j * np.pi * (ky.astype(np.float64) * res * shift_rows)).astype(np.complex64)
    cols = np.exp(-2j * np.pi * (kx.astype(np.float64) * res * shift_cols)).astype(np.complex64)
    return rows.ravel(), cols.ravel()


def _shift_phase(tile: Tile, shift_rows: float, shift_cols: float) -> np.ndarray:
    rows, cols = _phase_ramps(tile, shift_rows, shift_cols)
    return rows[:, None] * cols[None, :]


class _ARState:
    """Truncated moving-average AR(1) spectral state of one (seed, stream, tile)."""

    def __init__(self, seed: int, stream: str, tile: Tile, wind_ms: tuple[float, float]):
        self.seed, self.stream, self.tile = seed, stream, tile
        self.wind_ms = wind_ms
        # One-step Lagrangian shift in pixels (wind: eastward, northward m/s).
        step_km = np.array(wind_ms) * STEP_SECONDS / 1000.0
        self.shift = (step_km[1] / tile.resolution_km, step_km[0] / tile.resolution_km)
        # Only the state is kept per tile (the cache holds dozens); the AR coefficients are
        # per-resolution tables and separable phase ramps, combined inside the kernels.
        self.step: int | None = None
        self.state: np.ndarray | None = None
        self.lock = threading.Lock()  # the state is stepped in place

    def spectrum_at(self, step: int) -> np.ndarray:
        """A copy of the state at ``step`` (thread-safe)."""
        with self.lock:
            return self.at(step).copy()

    def filtered_at(self, step: int, amplitude: np.ndarray, seconds: float) -> np.ndarray:
        """The state at ``step`` advected by ``seconds`` and times ``amplitude`` (thread-safe).

        The same as ``advect(spectrum_at(step), ...) * amplitude`` in one pass, no copies.
        """
        from xgpm.simulate import _scene_kernels

        km = np.array(self.wind_ms) * seconds / 1000.0
        rows, cols = _phase_ramps(
            self.tile, km[1] / self.tile.resolution_km, km[0] / self.tile.resolution_km
        )
        with self.lock:
            state = self.at(step)
            out = np.empty_like(state)
            _scene_kernels.filter_shift(state, amplitude, rows, cols, out)
        return out

    def at(self, step: int) -> np.ndarray:
        from xgpm.simulate import _scene_kernels

        tile = self.tile
        gain = _innovation_gain(tile)
        phi, scale, phi_tail = _decay_amplitudes(tile.n_pix, tile.resolution_km)
        # decay = phi times the one-step shift; decay ** (M + 1): phi ** (M + 1) times the
        # shift by (M + 1) steps.
        rows, cols = _phase_ramps(tile, *self.shift)
        if self.step is not None and 0 <= step - self.step <= MEMORY_STEPS // 2:
            tail = (MEMORY_STEPS + 1) * np.array(self.shift)
            rows_t, cols_t = _phase_ramps(tile, *tail)
            while self.step < step:
                n = self.step + 1
                new = _innovation_bytes(self.seed, self.stream, tile, n)
                old = _innovation_bytes(self.seed, self.stream, tile, n - MEMORY_STEPS - 1)
                _scene_kernels.ar_step(
                    self.state, phi, rows, cols, scale, phi_tail, rows_t, cols_t, new, old, gain
                )
                self.step = n
            return self.state
        # Oldest first: state = sum_j decay^j e(n - j), accumulated in place.
        state = np.zeros(phi.shape, dtype=np.complex64)
        for j in range(MEMORY_STEPS, -1, -1):
            draws = _innovation_bytes(self.seed, self.stream, tile, step - j)
            _scene_kernels.ar_accumulate(state, phi, rows, cols, draws, gain)
        state *= scale
        self.state = state
        self.step = step
        return self.state


_STATES: OrderedDict[tuple, _ARState] = OrderedDict()
_STATES_LOCK = threading.Lock()  # guards the cache's order; each state has its own lock


def ar_state(seed: int, stream: str, tile: Tile, wind_ms: tuple[float, float]) -> _ARState:
    """The cached AR state of one (seed, stream, tile, wind), marked most recently used.

    Its values at a step depend on the steps it was asked for before (stepped in place or
    rebuilt, float rounding differs), so callers that compute several tiles in parallel take
    the states here first, in a fixed order (the cache evicts the same states as a serial run),
    then step each one once with :meth:`_ARState.spectrum_at`.
    """
    key = (seed, stream, tile.key, tile.resolution_km, wind_ms)
    with _STATES_LOCK:
        ar = _STATES.pop(key, None)
        if ar is None:
            ar = _ARState(seed, stream, tile, wind_ms)
        _STATES[key] = ar
        while len(_STATES) > _CACHE_SIZE:
            _STATES.popitem(last=False)
        return ar


def spectral_state(
    seed: int, stream: str, tile: Tile, step: int, wind_ms: tuple[float, float]
) -> np.ndarray:
    """White-in-space, AR(1)-in-time spectral coefficients of a tile at lattice ``step``.

    Unit variance per coefficient in the sense of ``rfft2`` of unit white noise.
    """
    return ar_state(seed, stream, tile, wind_ms).spectrum_at(step)


def advect(spectrum: np.ndarray, tile: Tile, wind_ms: tuple[float, float], seconds: float):
    """Shift a spectral field by ``wind * seconds`` (sub-step Lagrangian persistence)."""
    km = np.array(wind_ms) * seconds / 1000.0
    return spectrum * _shift_phase(tile, km[1] / tile.resolution_km, km[0] / tile.resolution_km)


def static_spectrum(seed: int, stream: str, tile: Tile) -> np.ndarray:
    """Time-independent white spectral coefficients (surface properties)."""
    return _white_spectrum(seed, "static-" + stream, tile, 0)


def to_field(spectrum: np.ndarray, amplitude: np.ndarray | None, n_pix: int) -> np.ndarray:
    """Filter a spectrum and return a standardised (mean 0, std 1) real float32 field.

    ``amplitude=None``: the spectrum is already filtered (:meth:`_ARState.filtered_at`).
    """
    import scipy.fft

    filtered = spectrum if amplitude is None else spectrum * amplitude
    # scipy's pocketfft keeps single precision (~2x faster than numpy's here); one worker: the
    # tiles themselves run in parallel.
    field = scipy.fft.irfft2(filtered, s=(n_pix, n_pix), overwrite_x=amplitude is not None)
    field = field.astype(np.float32, copy=False)
    field -= field.mean()
    std = field.std()
    return field / std if std > 0 else field


def sample(field: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear sample of a tile field at fractional pixel coordinates (clamped at the edge)."""
    from xgpm.simulate import _scene_kernels

    out = np.empty(np.shape(rows), dtype=field.dtype)
    _scene_kernels.bilinear(
        field,
        np.ascontiguousarray(rows, dtype=np.float64).ravel(),
        np.ascontiguousarray(cols, dtype=np.float64).ravel(),
        out.reshape(-1),
    )
    return out
