"""asv benchmarks of the observing half of the simulator (orbits, instruments, products).

Two worlds:

* ``synthetic``: a cheap analytic truth and a linear "RTM", which isolates the observing system
  (swath geometry, truth-grid construction, footprint convolution, sampling, noise) - the part
  designed for "one full GMI orbit + DPR in <= 10 s on 2 cores";
* ``physics``: the real :func:`xgpm.simulate.truth_scene` and
  :func:`xgpm.simulate.brightness_temperatures` for one France overpass.

Run directly with ``python benchmarks/bench_simulate.py`` (prints the timings, and the speed-up
of the forward model's numba kernel over its plain-numpy reference measured in the same run; add
``--physics-orbit`` for one full orbit with the real physics, about a minute on 2 cores,
``--stages`` for the CPU time of each stage of that orbit, ``--threads-ab`` for that orbit
with the truth engine on one thread and then on all cores, back to back, or ``--ab PATH
[--repeat N]`` for that orbit with another copy of the code (e.g. the committed one:
``git archive HEAD xgpm | tar -x -C PATH``) and with this one, alternately in fresh processes,
with the CPU and wall ratios and the load average).
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


def _gpm_targets(granule: int, scans: slice | None = None):
    gmi, dpr = sensors.get("GMI"), sensors.get("DPR")
    # the DPR scans 2.7x as often as GMI: the same stretch of orbit
    dpr_scans = None if scans is None else slice(scans.start * 8 // 3, scans.stop * 8 // 3)
    return [
        (gmi, orbits.swath_geometry(gmi, granule, scans=scans)),
        (dpr, orbits.swath_geometry(dpr, granule, scan_modes=["FS"], scans=dpr_scans)),
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


class FullOrbitPhysics:
    """The speed goal: one full GMI orbit + DPR with the real truth and forward model."""

    timeout = 600.0
    number = 1
    repeat = 1
    rounds = 1
    warmup_time = 0.0

    def setup(self):
        self.targets = FullOrbitGMIDPR()
        self.targets.setup()

    def smoke_setup(self):
        """A 150-scan stretch of the orbit: what tests/test_asv.py runs (the full one takes
        minutes)."""
        self.targets = FullOrbitGMIDPR()
        granule = orbits.granules("GMI", "2021-01-01", "2021-01-01T02:00")[0].number
        self.targets.targets = _gpm_targets(granule, slice(1000, 1150))

    def time_observe_physics(self):
        instruments.observe_platform(self.targets.targets, seed=0)

    def peakmem_observe_physics(self):
        instruments.observe_platform(self.targets.targets, seed=0)


class ForwardModelKernel:
    """All 13 GMI channels of a 60 000-pixel Gulf of Mexico scene (numba kernel)."""

    number = 1
    repeat = 3

    def setup(self):
        from xgpm.simulate import truth_scene

        lat = np.arange(28.0, 32.0, 0.02)
        lon = np.arange(-92.0, -86.0, 0.02)
        times = np.array(["2019-07-10T18:00"], dtype="datetime64[ns]")
        self.scene = truth_scene(lat, lon, times, seed=42)
        self.channels = sensors.get("GMI").channels
        self.time_numba_kernel()  # compile / load the cached kernel outside the timing

    def time_numba_kernel(self):
        from xgpm.simulate import brightness_temperatures

        brightness_temperatures(self.scene, self.channels)

    def time_numpy_reference(self):
        from xgpm.simulate import rtm

        arrays = rtm._scene_arrays(self.scene)
        flat = {k: np.asarray(v.values, np.float64).ravel() for k, v in arrays.items()}
        for ch in self.channels:
            offset = float(ch.offset or 0.0)
            inc = np.full(flat["t2m"].shape, ch.incidence_angle)
            rtm._tb_block(float(ch.frequency), (-offset, offset) if offset else (0.0,), flat, inc)


def full_orbit_physics() -> None:
    """One full GMI orbit + DPR with the real physics (minutes; not an asv benchmark)."""
    bench = FullOrbitGMIDPR()
    bench.setup()
    t, c = time.perf_counter(), time.process_time()
    instruments.observe_platform(bench.targets, seed=0)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"full orbit GMI+DPR observe (real physics): wall {wall:.1f} s, CPU {cpu:.1f} s, "
        f"peak RSS {peak:.0f} MB (process)"
    )


def full_orbit_threads_ab() -> None:
    """The full orbit with the truth engine on one thread, then on all cores (``--threads-ab``).

    Back to back in one process (the same load for both), each from an empty AR-state cache;
    the outputs must be identical bit for bit. The forward model uses its own threads in both.
    """
    from xgpm.simulate import _noise, _parallel

    bench = FullOrbitGMIDPR()
    bench.setup()
    instruments.observe_platform(_gpm_targets(bench.granule, slice(1000, 1020)), seed=0)  # JIT
    runs = {}
    for label, n in (("truth on 1 thread", 1), ("truth on all cores", _parallel.available_cores())):
        _noise._STATES.clear()
        t, c = time.perf_counter(), time.process_time()
        with _parallel.threads(n):
            out = instruments.observe_platform(bench.targets, seed=0)
        runs[label] = (time.perf_counter() - t, time.process_time() - c, out)
        print(
            f"full orbit GMI+DPR, {label} ({n}): wall {runs[label][0]:.1f} s, "
            f"CPU {runs[label][1]:.1f} s"
        )
    (w1, c1, a), (w2, c2, b) = runs.values()
    same = all(
        np.array_equal(a[i][m][v].values, b[i][m][v].values, equal_nan=True)
        for i, m, v in ((0, "S1", "Tc"), (0, "S2", "Tc"), (1, "FS", "precipRateNearSurface"))
    )
    print(f"  wall ratio {w1 / w2:.2f}x, CPU ratio {c1 / c2:.2f}x; outputs identical: {same}")


def full_orbit_stages() -> None:
    """Where the CPU of one full orbit goes: thread CPU time of each stage (``--stages``).

    The truth runs in a worker thread, the forward model in a few threads of its own; the
    stages are timed with ``time.thread_time`` in the thread that runs them, so the forward
    model's kernel is the process CPU left over by the other stages.
    """
    import functools
    import resource

    from xgpm.simulate import scenes

    totals: dict[str, list[float]] = {}

    def timed(module, name: str, label: str) -> None:
        func = getattr(module, name)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                entry = totals.setdefault(label, [0.0, 0.0])
                entry[0] += time.perf_counter() - t0
                entry[1] += time.thread_time() - c0

        setattr(module, name, wrapper)

    timed(scenes, "_SceneContext", "truth: land fraction, Koppen, tile layout, static fields")
    timed(scenes, "_scene_at", "truth: AR noise states, FFTs, geophysical fields")
    timed(instruments, "truth_on_grid", "truth: total (worker thread)")
    from xgpm.simulate import _parallel

    # The truth's tiles and point chunks run in a pool: their CPU is counted per task.
    map_ordered = _parallel.map_ordered

    def counted_map(func, items):
        def task(item):
            c0 = time.thread_time()
            try:
                return func(item)
            finally:
                entry = totals.setdefault("truth: of which in the pool's threads", [0.0, 0.0])
                entry[1] += time.thread_time() - c0

        return map_ordered(task, items)

    _parallel.map_ordered = counted_map
    timed(instruments, "_complex_nodes", "adaptive RTM: node selection")
    timed(instruments, "_sample_footprint", "antenna pattern: Gaussian filters + sampling")
    timed(instruments, "_radar_block", "DPR: footprint, type")
    timed(instruments, "_radiometer_datasets", "noise, calibration, datasets")
    bench = FullOrbitGMIDPR()
    bench.setup()
    instruments.observe_platform(_gpm_targets(bench.granule, slice(1000, 1020)), seed=0)  # JIT
    totals.clear()
    t, c = time.perf_counter(), time.process_time()
    instruments.observe_platform(bench.targets, seed=0)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"full orbit GMI+DPR: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak:.0f} MB")
    main_stages = sum(v[1] for k, v in totals.items() if not k.startswith("truth"))
    for label, (w, cpu_s) in totals.items():
        print(f"  {label:<58} CPU {cpu_s:6.1f} s  (wall {w:6.1f} s)")
    truth = totals["truth: total (worker thread)"][1]
    pool = totals.get("truth: of which in the pool's threads", [0.0, 0.0])[1]
    print(f"  {'truth: total CPU (worker and pool threads)':<58} CPU {truth + pool:6.1f} s")
    rest = cpu - truth - pool - main_stages
    print(f"  {'forward model (numba, own threads) and the rest':<58} CPU {rest:6.1f} s")


_ONE_ORBIT = """
import resource, sys, time
sys.path.insert(0, {bench_dir!r})
import bench_simulate as B
from xgpm.simulate import _noise, instruments
bench = B.FullOrbitGMIDPR()
bench.setup()
instruments.observe_platform(B._gpm_targets(bench.granule, slice(1000, 1020)), seed=0)  # JIT
_noise._STATES.clear()
t, c = time.perf_counter(), time.process_time()
instruments.observe_platform(bench.targets, seed=0)
wall, cpu = time.perf_counter() - t, time.process_time() - c
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"RESULT {{wall:.3f}} {{cpu:.3f}} {{peak:.0f}}")
"""


def full_orbit_ab(other: str, repeat: int = 2) -> None:
    """The full orbit with the code in ``other`` and with this code, alternately (``--ab``).

    Each run is a fresh process (``PYTHONPATH`` set to the copy's root) after a 20-scan
    warm-up, so both see the same machine; the ratios are of the medians.
    """
    import os
    import pathlib
    import statistics
    import subprocess

    here = pathlib.Path(__file__).resolve().parents[1]
    script = _ONE_ORBIT.format(bench_dir=str(here / "benchmarks"))
    runs: dict[str, list[tuple[float, float, float]]] = {"other": [], "this": []}
    for _ in range(repeat):
        for label, root in (("other", pathlib.Path(other).resolve()), ("this", here)):
            load = os.getloadavg()[0]
            env = dict(os.environ, PYTHONPATH=str(root))
            done = subprocess.run(
                [sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=root
            )
            line = [x for x in done.stdout.splitlines() if x.startswith("RESULT")]
            if done.returncode or not line:
                raise RuntimeError(f"the {label} run failed:\n{done.stderr[-2000:]}")
            wall, cpu, peak = (float(v) for v in line[0].split()[1:])
            runs[label].append((wall, cpu, peak))
            print(
                f"{label:5s} ({root}): wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak:.0f} MB"
                f" (load before {load:.1f})"
            )
    med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in runs.items()}
    print(
        f"median: other wall {med['other'][0]:.1f} s CPU {med['other'][1]:.1f} s; this wall "
        f"{med['this'][0]:.1f} s CPU {med['this'][1]:.1f} s; this is "
        f"{med['other'][0] / med['this'][0]:.2f}x (wall), "
        f"{med['other'][1] / med['this'][1]:.2f}x (CPU) faster"
    )


def _main() -> None:
    if "--ab" in sys.argv:
        other = sys.argv[sys.argv.index("--ab") + 1]
        repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 2
        full_orbit_ab(other, repeat)
        return
    if "--stages" in sys.argv:
        full_orbit_stages()
        return
    if "--threads-ab" in sys.argv:
        full_orbit_threads_ab()
        return
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
    kernel = ForwardModelKernel()
    kernel.setup()
    timings = {}
    for name in ("time_numba_kernel", "time_numpy_reference"):
        t, c = time.perf_counter(), time.process_time()
        getattr(kernel, name)()
        timings[name] = (time.perf_counter() - t, time.process_time() - c)
    (fast_wall, fast_cpu), (ref_wall, ref_cpu) = timings.values()
    print(
        f"forward model, 13 GMI channels x 60000 pixels: numba kernel wall {fast_wall:.2f} s "
        f"CPU {fast_cpu:.2f} s; numpy reference wall {ref_wall:.2f} s CPU {ref_cpu:.2f} s; "
        f"speed-up {ref_wall / fast_wall:.1f}x wall, {ref_cpu / fast_cpu:.1f}x CPU"
    )
    if "--physics-orbit" in sys.argv:
        full_orbit_physics()


if __name__ == "__main__":
    _main()
