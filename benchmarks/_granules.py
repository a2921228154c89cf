"""Full-size synthetic granules for benchmarks, written with ``xgpm.write_granule``."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import xarray as xr

import xgpm

GMI_SCANS = 2959
GMI_PIXELS = 221


def full_gmi_modes(n_scan: int = GMI_SCANS, seed: int = 0) -> dict[str, xr.Dataset]:
    """A full 1C-GMI orbit (S1: 9 channels, S2: 4 channels, 221 pixels) with plausible TBs."""
    rng = np.random.default_rng(seed)
    sensor = xgpm.sensors.get("GMI")
    along = np.arange(n_scan)
    cross = np.linspace(-1, 1, GMI_PIXELS)
    # a 65-degree inclined ground track, the swath ~900 km across it
    phase = 2 * np.pi * along / n_scan
    track_lat = 65.0 * np.sin(phase)
    track_lon = np.rad2deg(phase) - 180.0
    lat = (track_lat[None, :] + 4.0 * cross[:, None]).astype("float32")
    lon = (((track_lon[None, :] + 4.0 * cross[:, None]) + 180.0) % 360.0 - 180.0).astype("float32")
    time = np.datetime64("2021-06-01T00:00:00", "ns") + (along * 1876).astype("timedelta64[ms]")
    modes = {}
    for name, mode in sensor.scan_modes.items():
        n_ch = len(mode.channels)
        base = np.linspace(160, 270, n_ch, dtype="float32")
        tc = base + rng.normal(0, 8, size=(GMI_PIXELS, n_scan, n_ch)).astype("float32")
        modes[name] = xr.Dataset(
            {"Tc": (("cross_track", "along_track", "pmw_frequency"), tc, {"units": "K"})},
            coords={
                "lon": (("cross_track", "along_track"), lon),
                "lat": (("cross_track", "along_track"), lat),
                "time": ("along_track", time),
                "pmw_frequency": list(mode.labels),
            },
            attrs={"gpm_api_product": "1C-GMI"},
        )
    return modes


def write_full_gmi(directory: str | None = None) -> str:
    """Write (once) and return the path of a full-size 1C-GMI granule."""
    directory = directory or os.path.join(tempfile.gettempdir(), "xgpm-bench")
    os.makedirs(directory, exist_ok=True)
    name = "1C.GPM.GMI.XCAL2016-C.20210601-S000000-E013230.040000.V07A.HDF5"
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        xgpm.write_granule(full_gmi_modes(), path, granule_number=40000)
    return path
