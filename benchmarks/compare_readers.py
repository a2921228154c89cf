"""Open + load ``Tc`` of full-size 1C-GMI granules: xgpm vs GPM-API vs raw h5py, same run.

One granule (2959 scans x 221 pixels x 13 channels, S1 + S2), then a day of them
(``--day-granules``, 16 by default: one per orbit, through ``xgpm.open_granules`` and
``gpm.open_files``), all written by ``xgpm.write_granule`` (once, under the temp folder).
Each reader opens the files afresh (no handle cache) and loads every brightness temperature
into memory. The readers take turns (round-robin, so that all see the same drift of a shared
machine's load); best and median of ``--repeat`` (day: ``--day-repeat``) runs are printed.

    python benchmarks/compare_readers.py [--repeat 9] [--day-granules 16] [--day-repeat 3]

Goals, on the default (dask) path: xgpm >= 3x faster than GPM-API, and <= 1.2x raw h5py (the
floor: the same datasets read with h5py, no decoding); the same for the day of granules.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from _granules import full_gmi_modes, write_full_gmi  # noqa: E402

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


def write_day(n_granules: int, directory: str | None = None) -> list[str]:
    """Write (once) ``n_granules`` full 1C-GMI granules, one orbit apart; return their paths."""
    import tempfile

    directory = directory or os.path.join(tempfile.gettempdir(), "xgpm-bench", "day")
    os.makedirs(directory, exist_ok=True)
    for k in range(len(glob.glob(os.path.join(directory, "*.HDF5"))), n_granules):
        shift = np.timedelta64(k * 5550, "s")  # one GMI orbit (~92.5 min) apart
        modes = full_gmi_modes(seed=k)
        modes = {m: ds.assign_coords(time=ds["time"] + shift) for m, ds in modes.items()}
        xgpm.write_granule(modes, directory, granule_number=40_000 + k, overwrite=True)
    return sorted(glob.glob(os.path.join(directory, "*.HDF5")))[:n_granules]


def day_h5py(paths: list[str]) -> list[np.ndarray]:
    out = []
    for path in paths:
        out += read_h5py(path)
    return out


def day_xgpm(paths: list[str]) -> list[np.ndarray]:
    _hdf5.close_cached()
    return [
        xgpm.open_granules(paths, scan_mode=mode, variables="Tc")["Tc"].values
        for mode in ("S1", "S2")
    ]


def day_gpm_api(paths: list[str]) -> list[np.ndarray]:
    import gpm

    tree = gpm.open_files(paths, scan_modes=["S1", "S2"], variables="Tc")
    return [tree[mode]["Tc"].values for mode in ("S1", "S2")]


def interleaved(funcs: dict, arg, repeat: int) -> dict[str, tuple[float, float, float]]:
    """(best wall, median wall, median CPU) seconds of each reader, runs taken round-robin.

    One warm-up call each first (imports, OS page cache). CPU time is steadier on a shared
    machine; the readers take turns so that a drift of its load hits all alike.
    """
    for func in funcs.values():
        func(arg)
    wall: dict[str, list[float]] = {name: [] for name in funcs}
    cpu: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            func(arg)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: (min(wall[name]), statistics.median(wall[name]), statistics.median(cpu[name]))
        for name in funcs
    }


def report(times: dict, floor: str, ours: list[str], peer: str) -> None:
    """The table (ratios to the floor) and each of ``ours`` against the peer and the floor."""
    width = max(len(k) for k in times)
    floor_best, floor_wall, floor_cpu = times[floor]
    print(f"\n{'reader':<{width}}  best s  median s  vs h5py   CPU s  vs h5py")
    for name, (best, wall, cpu) in times.items():
        print(
            f"{name:<{width}}  {best:6.3f}  {wall:8.3f}  {wall / floor_wall:5.2f}x  {cpu:6.3f}  "
            f"{cpu / floor_cpu:5.2f}x"
        )
    for label in ours:
        ours_best, ours_wall, ours_cpu = times[label]
        print(f"\n{label}:")
        if peer in times:
            peer_best, peer_wall, peer_cpu = times[peer]
            print(
                f"  vs {peer}: {peer_wall / ours_wall:.2f}x faster wall (best "
                f"{peer_best / ours_best:.2f}x), {peer_cpu / ours_cpu:.2f}x CPU (goal >= 3x)"
            )
        print(
            f"  vs h5py floor: {ours_wall / floor_wall:.2f}x wall (best "
            f"{ours_best / floor_best:.2f}x), {ours_cpu / floor_cpu:.2f}x CPU (goal <= 1.2x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--day-granules", type=int, default=16, help="0: no day case")
    parser.add_argument("--day-repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    try:
        import gpm  # noqa: F401
    except ImportError:
        gpm = None
        print("GPM-API not installed: skipping it")
    path = write_full_gmi()
    print(f"granule: {path} ({os.path.getsize(path) / 1e6:.1f} MB); load {os.getloadavg()}")

    # same values from every reader (NaN where h5py sees the fill value)
    raw = read_h5py(path)
    for r, o, o2 in zip(raw, read_xgpm_scan_modes(path), read_xgpm_no_dask(path), strict=True):
        np.testing.assert_array_equal(o, o2)
        expected = np.where(r == np.float32(-9999.9), np.nan, r).transpose(1, 0, 2)
        np.testing.assert_array_equal(o, expected)

    funcs = {
        "h5py raw (floor)": read_h5py,
        "xgpm S1+S2": read_xgpm_scan_modes,
        "xgpm S1+S2 chunks=None": read_xgpm_no_dask,
        "xgpm merged (13 ch)": read_xgpm_merged,
    }
    if gpm is not None:
        funcs["GPM-API S1+S2"] = read_gpm_api
    times = interleaved(funcs, path, args.repeat)
    report(times, "h5py raw (floor)", ["xgpm S1+S2", "xgpm S1+S2 chunks=None"], "GPM-API S1+S2")
    if args.day_granules <= 0:
        return

    paths = write_day(args.day_granules)
    print(f"\nday: {len(paths)} granules in {os.path.dirname(paths[0])}; load {os.getloadavg()}")
    ours = day_xgpm(paths)
    if gpm is not None:
        for a, b in zip(ours, day_gpm_api(paths), strict=True):
            np.testing.assert_array_equal(a, b)
    day = {"h5py raw (floor), day": day_h5py, "xgpm open_granules, day": day_xgpm}
    if gpm is not None:
        day["GPM-API open_files, day"] = day_gpm_api
    times = interleaved(day, paths, args.day_repeat)
    report(times, "h5py raw (floor), day", ["xgpm open_granules, day"], "GPM-API open_files, day")
    print(f"\nload after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
