"""asv benchmarks of the observing half of the simulator (orbits, instruments, products).

Two worlds:

* ``synthetic``: a cheap analytic truth and a linear "RTM", which isolates the observing system
  (swath geometry, truth-grid construction, footprint convolution, sampling, noise) - the part
  designed for "one full GMI orbit + DPR in <= 10 s on 2 cores";
* ``physics``: the real :func:`xgpm.simulate.truth_scene` and
  :func:`xgpm.simulate.brightness_temperatures` for one France overpass.

Run directly with ``python benchmarks/bench_simulate.py`` (prints the timings; add
``--physics-orbit`` for one full orbit with the real physics, several minutes).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import xarray as xr

from xgpm import sensors
from xgpm.simulate import instruments, orbits
from xgpm.simulate import products as P


def synthetic_truth(lat, lon, times, *, seed, resolution_km=None):
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    wave = np.cos(np.deg2rad(lat) * 1440.0) * np.cos(np.deg2rad(lon) * 1030.0)
    rain = (12.0 * np.clip(wave, 0, None) ** 3).astype("float32")
    ptype = np.where(rain > 5, 2, np.where(rain > 0, 1, 0)).astype("int8")
    return xr.Dataset(
        {
            "surface_precip": (("time", "y", "x"), rain[None]),
            "precip_type": (("time", "y", "x"), ptype[None]),
        },
        coords={"time": np.asarray(times, "datetime64[ns]")},
    )


def linear_rtm(scene, channels, incidence=None):
    rain = scene["surface_precip"]
    tbs = [280.0 - 4.0 * rain * (1 + 0.001 * ch.frequency) for ch in channels]
    return xr.concat(tbs, dim="pmw_frequency").assign_coords(
        pmw_frequency=[c.label for c in channels]
    )


def _gpm_targets(granule: int):
    gmi, dpr = sensors.get("GMI"), sensors.get("DPR")
    return [
        (gmi, orbits.swath_geometry(gmi, granule)),
        (dpr, orbits.swath_geometry(dpr, granule, scan_modes=["FS"])),
    ]


class FullOrbitGMIDPR:
    """One full GMI orbit (~2960 x 221 x 13) plus its DPR swath (~8000 x 49)."""

    timeout = 600.0
    number = 1
    repeat = 2

    def setup(self):
        self.granule = orbits.granules("GMI", "2021-01-01", "2021-01-01T02:00")[0].number
        self.targets = _gpm_targets(self.granule)

    def time_geometry(self):
        _gpm_targets(self.granule)

    def time_observe_synthetic_world(self):
        instruments.observe_platform(
            self.targets, seed=0, truth_fn=synthetic_truth, rtm_fn=linear_rtm
        )

    def peakmem_observe_synthetic_world(self):
        instruments.observe_platform(
            self.targets, seed=0, truth_fn=synthetic_truth, rtm_fn=linear_rtm
        )


class FranceOverpassPhysics:
    """One GMI + DPR overpass of the 800 x 800 km France region with the real physics."""

    timeout = 600.0
    number = 1
    repeat = 2

    def setup(self):
        self.region = P.get_region("france")
        tasks = P._orbit_tasks(
            [sensors.get("GMI"), sensors.get("DPR")],
            np.datetime64("2021-01-01T06:00"),
            np.datetime64("2021-01-01T07:00"),
            self.region,
        )
        self.task = tasks[0]

    def time_gmi_dpr_overpass(self):
        P._run_orbit_task(self.task, self.region, 0, crop=True, truth_res_km=2.5)


def full_orbit_physics() -> None:
    """One full GMI orbit + DPR with the real physics (minutes; not an asv benchmark)."""
    bench = FullOrbitGMIDPR()
    bench.setup()
    t, c = time.perf_counter(), time.process_time()
    instruments.observe_platform(bench.targets, seed=0)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"full orbit GMI+DPR observe (real physics): wall {wall:.1f} s, CPU {cpu:.1f} s")


def _main() -> None:
    bench = FullOrbitGMIDPR()
    bench.setup()
    t = time.perf_counter()
    bench.time_geometry()
    print(f"full orbit GMI+DPR geometry: {time.perf_counter() - t:.2f} s")
    t, c = time.perf_counter(), time.process_time()
    bench.time_observe_synthetic_world()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"full orbit GMI+DPR observe (synthetic world): wall {wall:.2f} s, CPU {cpu:.2f} s")
    france = FranceOverpassPhysics()
    france.setup()
    t, c = time.perf_counter(), time.process_time()
    france.time_gmi_dpr_overpass()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"France GMI+DPR overpass (real physics): wall {wall:.2f} s, CPU {cpu:.2f} s")
    if "--physics-orbit" in sys.argv:
        full_orbit_physics()


if __name__ == "__main__":
    _main()
