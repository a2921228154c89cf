"""Dask overhead of ``xgpm.retrieve.rainrate`` on a full GMI orbit, against the direct call.

One orbit of 221 x 2959 pixels x 4 channels (37V, 37H, 89V, 89H) of random-but-realistic
brightness temperatures (smooth warm background, cold 89 GHz scattering cells) goes through

- ``direct``: :func:`xgpm.inference.predict_numpy` on the whole array, with 1 torch thread and
  with ``--threads`` (the faster is the baseline: on a busy machine one thread can win);
- ``dask 1 block``: ``rainrate(ds)`` on a single-chunk dask array (the graph's own cost);
- ``dask auto``: ``rainrate(ds, chunks="auto")``: blocks overlapped by the receptive margin,
  one per core, one torch thread each, dask's threaded scheduler.

Same run, same model, same input; each path timed ``--repeats`` times, round-robin so that all
paths see the same drift of a shared machine's load (best and median printed), after one
warm-up call each (model loading is not timed). The model is the DRAIN architecture of the
``drain`` card with random (He-normal) weights, so the benchmark needs no trained file: the
timing is that of the real network size; the values are meaningless.

    python benchmarks/compare_inference.py               # full orbit, 3 repeats
    python benchmarks/compare_inference.py --cols 600 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import dask
import numpy as np

import xgpm.models
from xgpm.inference import predict_numpy
from xgpm.models._testing import CHANNELS, register_random_unet, synthetic_orbit
from xgpm.retrieve import rainrate


def with_threads(n_threads: int, func):
    """``func`` run with ``n_threads`` torch threads in the calling thread."""
    import torch

    def call():
        previous = torch.get_num_threads()
        torch.set_num_threads(n_threads)
        try:
            return func()
        finally:
            torch.set_num_threads(previous)

    return call


def interleaved(paths: dict, repeats: int) -> dict[str, tuple[float, float, object]]:
    """Best and median time of each path, the repetitions taken round-robin.

    Round-robin rather than path after path: the load of a shared machine drifts, and every
    path should see the same drift. One warm-up call per path first (model load, allocator).
    """
    results = {name: func() for name, func in paths.items()}
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, func in paths.items():
            start = time.perf_counter()
            results[name] = func()
            times[name].append(time.perf_counter() - start)
    return {
        name: (min(times[name]), statistics.median(times[name]), results[name]) for name in paths
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=221)
    parser.add_argument("--cols", type=int, default=2959)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    spec = register_random_unet("drain-random", base="drain")
    load = os.getloadavg()
    tc = synthetic_orbit(args.rows, args.cols)
    values = tc.values
    n_params = sum(p.numel() for p in xgpm.models.load(spec.name).parameters())
    print(
        f"orbit {args.rows} x {args.cols} x {len(CHANNELS)}; model {spec.name} (architecture of "
        f"'drain', random weights, {n_params / 1e6:.2f} M parameters, receptive margin "
        f"{spec.receptive_margin}); {args.threads} threads; torch {torch.__version__}"
    )

    # torch's own threading is the direct call's best case: on a busy machine one thread can
    # beat several (OpenMP threads spin-wait for cores), so time both and keep the faster.
    single = tc.chunk({"along_track": -1, "cross_track": -1})
    n_blocks = rainrate(tc, spec.name, chunks="auto")["surface_precip"].data.npartitions
    direct_names = {n: f"direct predict_numpy, {n} thr" for n in sorted({1, args.threads})}
    paths = {
        label: with_threads(n, lambda: predict_numpy(spec.name, values))
        for n, label in direct_names.items()
    }
    paths["dask 1 block"] = lambda: rainrate(single, spec.name, quantiles=None).compute()
    paths[f"dask auto ({n_blocks} blocks)"] = lambda: rainrate(
        tc, spec.name, quantiles=None, chunks="auto"
    ).compute()
    with dask.config.set(scheduler="threads", num_workers=args.threads):
        timings = interleaved(paths, args.repeats)
    direct_label = min(direct_names.values(), key=lambda label: timings[label][0])
    direct_best, _, reference = timings[direct_label]

    def max_diff(result) -> float:
        return float(np.nanmax(np.abs(result["surface_precip"].values - reference[..., 0])))

    rows = [
        (name, best, median, float("nan") if name in direct_names.values() else max_diff(result))
        for name, (best, median, result) in timings.items()
    ]
    print(f"load average before: {load[0]:.1f}; overhead is against the fastest direct call")
    print(f"{'path':30s} {'best s':>8s} {'median s':>9s} {'overhead':>9s} {'max|diff|':>10s}")
    for name, best, median, diff in rows:
        overhead = 100 * (best / direct_best - 1)
        print(f"{name:30s} {best:8.2f} {median:9.2f} {overhead:8.1f}% {diff:10.2e}")
    return {name: best for name, (best, _, _) in timings.items()}


if __name__ == "__main__":
    main()
