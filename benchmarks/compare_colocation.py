"""Compare xgpm.colocation.colocate with pyresample nearest-neighbour on full orbits.

Cases (synthetic orbits from ``xgpm.colocation._testing``):

* ``gmi_on_ssmis``: one full GMI orbit (2959 x 221) onto one full SSMIS S3 orbit (3218 x 180).
* ``dpr_on_gmi``: one full DPR orbit (7934 x 49) onto one full GMI orbit (2959 x 221).

Each method runs in its own subprocess so that its peak resident memory (VmHWM, which sees
numba's and pykdtree's C allocations, unlike tracemalloc) is its own. In the subprocess the data
are built and the code is warmed up (numba kernels compiled / loaded from cache), then the peak
counter is reset (``/proc/self/clear_refs``) and the call is timed ``--repeat`` times (wall
clock, and CPU time of the process summed over its threads, which is steadier on a busy machine).
Reported memory is the peak increase over the resident size just before the timed calls; glibc
is told to return freed memory to the OS at once (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``) so that this measures the live allocations of the call.

pyresample: ``get_neighbour_info`` + ``get_sample_from_neighbour_info('nn')`` with
``radius_of_influence = radius_km * 1000`` and ``neighbours=1``. pykdtree uses OpenMP threads
(``OMP_NUM_THREADS``); xgpm uses ``num_threads`` target chunks in a thread pool. ``--threads``
sets both.

Usage::

    python benchmarks/compare_colocation.py [--repeat 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CASES = {
    "gmi_on_ssmis": {"source": "gmi", "target": "ssmis", "radius_km": 15.0},
    "dpr_on_gmi": {"source": "dpr", "target": "gmi", "radius_km": 5.0},
}


def _make(name: str):
    from xgpm.colocation._testing import dpr_orbit, gmi_orbit, ssmis_orbit

    return {"gmi": gmi_orbit, "ssmis": ssmis_orbit, "dpr": dpr_orbit}[name]()


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _worker(method: str, case: str, repeat: int, threads: int, out_npz: str) -> None:
    cfg = CASES[case]
    source = _make(cfg["source"])
    target = _make(cfg["target"])
    radius = cfg["radius_km"]
    if method == "xgpm":
        from xgpm.colocation import colocate

        def run():
            res = colocate(source, target, radius_km=radius, num_threads=threads)
            return res.source_index.values.ravel(), res.Tc.values

        small_t = target.isel(along_track=slice(0, 50))
        # Compile / load the JIT (every kernel the timed call uses, threaded planning included).
        colocate(source, small_t, radius_km=radius, on_empty="nan", num_threads=threads)
        colocate(source, small_t, radius_km=radius, on_empty="nan")
    else:
        from pyresample.geometry import SwathDefinition
        from pyresample.kd_tree import get_neighbour_info, get_sample_from_neighbour_info

        s_lon, s_lat = source.lon.values, source.lat.values
        t_lon, t_lat = target.lon.values, target.lat.values
        values = source.Tc.values

        def run():
            sdef = SwathDefinition(s_lon, s_lat)
            tdef = SwathDefinition(t_lon, t_lat)
            vin, vout, idx, _ = get_neighbour_info(sdef, tdef, radius * 1000.0, neighbours=1)
            tc = get_sample_from_neighbour_info(
                "nn", tdef.shape, values, vin, vout, idx, fill_value=None
            )
            flat_in = np.flatnonzero(vin)
            ok = idx < flat_in.size
            sub = np.full(idx.shape, -1, dtype=np.int64)
            sub[ok] = flat_in[idx[ok]]
            index = np.full(tdef.size, -1, dtype=np.int64)
            index[np.flatnonzero(vout)] = sub
            return index, tc

    rss0 = _rss_kib("VmRSS")
    _reset_peak()
    times = []
    cpu = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        c0 = time.process_time()
        index, tc = run()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = _rss_kib("VmHWM")
    np.savez(out_npz, index=index)
    print(
        json.dumps(
            {
                "times": times,
                "cpu": cpu,
                "peak_increase_mib": (peak - rss0) / 1024,
                "peak_mib": peak / 1024,
                "n_matched": int((index >= 0).sum()),
            }
        )
    )


def _run_subprocess(method: str, case: str, repeat: int, threads: int, npz: str) -> dict:
    # Fixed glibc mmap threshold and immediate trimming: freed arrays go back to the OS, so the
    # resident-set peak measures live memory rather than reuse of memory freed in the warm-up.
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(threads),
        MALLOC_MMAP_THRESHOLD_="65536",
        MALLOC_TRIM_THRESHOLD_="0",
    )
    cmd = [sys.executable, __file__, "--worker", method, "--case", case]
    cmd += ["--repeat", str(repeat), "--threads", str(threads), "--out", npz]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{method} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _agreement(case: str, idx_x: np.ndarray, idx_p: np.ndarray) -> str:
    from xgpm.colocation import great_circle_km

    cfg = CASES[case]
    source = _make(cfg["source"])
    target = _make(cfg["target"])
    same = idx_x == idx_p
    differ = np.flatnonzero(~same)
    text = f"identical neighbour index on {same.mean():.6%} of target pixels"
    if differ.size:
        both = differ[(idx_x[differ] >= 0) & (idx_p[differ] >= 0)]
        slon = source.lon.values.ravel().astype("f8")
        slat = source.lat.values.ravel().astype("f8")
        tlon = target.lon.values.ravel().astype("f8")[both]
        tlat = target.lat.values.ravel().astype("f8")[both]
        d_x = great_circle_km(slon[idx_x[both]], slat[idx_x[both]], tlon, tlat)
        d_p = great_circle_km(slon[idx_p[both]], slat[idx_p[both]], tlon, tlat)
        gap_m = np.abs(d_x - d_p) * 1000
        text += (
            f"; {differ.size} differ ({differ.size - both.size} matched by one only), "
            f"xgpm's neighbour nearer or equal in {np.mean(d_x <= d_p + 1e-12):.0%} of them, "
            f"max distance gap {gap_m.max() if gap_m.size else 0:.3f} m "
            "(float32 lon/lat rounding in pyresample's cartesian coordinates)"
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--worker", choices=["xgpm", "pyresample"])
    parser.add_argument("--out")
    parser.add_argument("--figure", help="write a PNG: orbits, matched pixels and timings")
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.case[0], args.repeat, args.threads, args.out)
        return
    from tqdm import tqdm

    cases = args.case or list(CASES)
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            results = {}
            for method in tqdm(["xgpm", "pyresample"], desc=case, leave=False):
                npz = os.path.join(tmp, f"{case}_{method}.npz")
                results[method] = _run_subprocess(method, case, args.repeat, args.threads, npz)
                results[method]["index"] = np.load(npz)["index"]
            x, p = results["xgpm"], results["pyresample"]
            tx, tp = min(x["times"]), min(p["times"])
            load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
            print(
                f"\n== {case}: radius {CASES[case]['radius_km']} km, {args.threads} thread(s), "
                f"{time.strftime('%H:%M:%S')} load average {load} (timings are noisy under load)"
            )
            for name, r in (("xgpm", x), ("pyresample", p)):
                print(
                    f"  {name:<11} best {min(r['times']) * 1e3:8.1f} ms  median "
                    f"{np.median(r['times']) * 1e3:8.1f} ms  "
                    f"CPU best {min(r['cpu']) * 1e3:8.1f} ms  "
                    f"peak +{r['peak_increase_mib']:7.1f} MiB"
                    f" (VmHWM {r['peak_mib']:.0f} MiB)  matched {r['n_matched']}"
                )
            print(
                f"  speed-up xgpm vs pyresample: {tp / tx:.1f}x (best), "
                f"{np.median(p['times']) / np.median(x['times']):.1f}x (median), "
                f"{min(p['cpu']) / min(x['cpu']):.1f}x (CPU time, all threads); "
                f"peak memory ratio {x['peak_increase_mib'] / p['peak_increase_mib']:.2f}"
            )
            print("  " + _agreement(case, x["index"], p["index"]))
            summary[case] = (tx, tp, x["index"])
    if args.figure:
        _figure(args.figure, summary, args.threads)
        print(f"figure written to {args.figure}")


def _figure(path: str, summary: dict, threads: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    ax = axes[0]
    if "gmi_on_ssmis" in summary:
        source, target = _make("gmi"), _make("ssmis")
        step = 4
        ax.scatter(
            source.lon.values[::step, ::step],
            source.lat.values[::step, ::step],
            s=0.1,
            c="tab:blue",
            label="GMI orbit (source)",
        )
        ax.scatter(
            target.lon.values[::step, ::step],
            target.lat.values[::step, ::step],
            s=0.1,
            c="tab:orange",
            label="SSMIS orbit (target)",
        )
        matched = (summary["gmi_on_ssmis"][2] >= 0).reshape(target.lon.shape)
        ax.scatter(
            target.lon.values[matched][::5],
            target.lat.values[matched][::5],
            s=0.3,
            c="k",
            label="target pixels with a match (15 km)",
        )
        ax.set(xlabel="longitude", ylabel="latitude", xlim=(-180, 180), ylim=(-90, 90))
        ax.legend(markerscale=20, loc="lower left", fontsize=8)
        ax.set_title("synthetic full orbits (xgpm.colocation._testing)")
    ax = axes[1]
    names = list(summary)
    pos = np.arange(len(names))
    ax.bar(pos - 0.2, [summary[n][0] * 1e3 for n in names], 0.4, label="xgpm")
    ax.bar(pos + 0.2, [summary[n][1] * 1e3 for n in names], 0.4, label="pyresample")
    ax.set_xticks(pos, names)
    ax.set(ylabel="best wall time (ms)", title=f"nearest neighbour, {threads} thread(s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
