"""Open + load ``Tc`` of a full-size 1C-GMI granule: xgpm vs GPM-API vs raw h5py, same run.

The granule (2959 scans x 221 pixels x 13 channels, S1 + S2) is written by
``xgpm.write_granule``. Each reader opens the file afresh (no handle cache) and loads every
brightness temperature into memory; the median of ``--repeat`` runs is reported.

    python benchmarks/compare_readers.py [--repeat 7]

Goals: xgpm >= 2x faster than GPM-API, and within 1.5x of raw h5py (the floor: the same
datasets read with h5py, no decoding).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from _granules import write_full_gmi  # noqa: E402

import xgpm  # noqa: E402
from xgpm.io import _hdf5  # noqa: E402


def read_h5py(path: str) -> list[np.ndarray]:
    with h5py.File(path, "r") as h5:
        return [h5["S1/Tc"][()], h5["S2/Tc"][()]]


def read_xgpm_scan_modes(path: str) -> list[np.ndarray]:
    _hdf5.close_cached()
    return [
        xgpm.open_granule(path, scan_mode=mode, variables="Tc")["Tc"].values
        for mode in ("S1", "S2")
    ]


def read_xgpm_no_dask(path: str) -> list[np.ndarray]:
    _hdf5.close_cached()
    return [
        xgpm.open_granule(path, scan_mode=mode, variables="Tc", chunks=None)["Tc"].values
        for mode in ("S1", "S2")
    ]


def read_xgpm_merged(path: str) -> list[np.ndarray]:
    _hdf5.close_cached()
    return [xgpm.open_granule(path, variables="Tc")["Tc"].values]


def read_gpm_api(path: str) -> list[np.ndarray]:
    import gpm

    return [
        gpm.open_granule_dataset(path, scan_mode=mode, variables="Tc")["Tc"].values
        for mode in ("S1", "S2")
    ]


def timed(func, path: str, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds (CPU time is steadier on a shared machine)."""
    func(path)  # warm-up: imports, OS page cache
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        func(path)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    path = write_full_gmi()
    print(f"granule: {path} ({os.path.getsize(path) / 1e6:.1f} MB)")

    # same values from every reader (NaN where h5py sees the fill value)
    raw = read_h5py(path)
    for r, o, o2 in zip(raw, read_xgpm_scan_modes(path), read_xgpm_no_dask(path), strict=True):
        np.testing.assert_array_equal(o, o2)
        expected = np.where(r == np.float32(-9999.9), np.nan, r).transpose(1, 0, 2)
        np.testing.assert_array_equal(o, expected)

    times = {
        "h5py raw (floor)": timed(read_h5py, path, args.repeat),
        "xgpm S1+S2": timed(read_xgpm_scan_modes, path, args.repeat),
        "xgpm S1+S2 chunks=None": timed(read_xgpm_no_dask, path, args.repeat),
        "xgpm merged (13 ch)": timed(read_xgpm_merged, path, args.repeat),
    }
    try:
        times["GPM-API S1+S2"] = timed(read_gpm_api, path, args.repeat)
    except ImportError:
        print("GPM-API not installed: skipping it")
    width = max(len(k) for k in times)
    floor_wall, floor_cpu = times["h5py raw (floor)"]
    print(f"\n{'reader':<{width}}  wall s  vs h5py   CPU s  vs h5py")
    for name, (wall, cpu) in times.items():
        print(
            f"{name:<{width}}  {wall:6.3f}  {wall / floor_wall:5.2f}x  {cpu:6.3f}  "
            f"{cpu / floor_cpu:5.2f}x"
        )
    for label in ("xgpm S1+S2", "xgpm S1+S2 chunks=None"):
        ours_wall, ours_cpu = times[label]
        print(f"\n{label}:")
        if "GPM-API S1+S2" in times:
            peer_wall, peer_cpu = times["GPM-API S1+S2"]
            print(
                f"  vs GPM-API (S1+S2): {peer_wall / ours_wall:.2f}x faster wall, "
                f"{peer_cpu / ours_cpu:.2f}x CPU (goal >= 2x)"
            )
        print(
            f"  vs h5py floor: {ours_wall / floor_wall:.2f}x wall, "
            f"{ours_cpu / floor_cpu:.2f}x CPU (goal <= 1.5x)"
        )


if __name__ == "__main__":
    main()
