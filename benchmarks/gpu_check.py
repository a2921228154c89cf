"""GPU check: DRAIN and ``to_gmi`` on a full simulated orbit through dask, against the CPU.

On a machine with a CUDA device::

    python benchmarks/gpu_check.py                       # full orbit, --device cuda

- DRAIN: a full 1C-GMI granule (2959 scans x 221 pixels, S1 + S2, written by
  ``xgpm.write_granule`` like ``compare_readers.py``'s) is opened with ``xgpm.open_granule``
  (merged, dask, the default chunks), its ``Tc`` loaded into dask memory (``persist``), then
  ``ds.gpm.rainrate(device=...)`` with the shipped ``drain`` weights is computed;
- ``to_gmi``: one full simulated SSMIS-F17 orbit (180 x 3211 pixels, the swath of
  ``bench_to_gmi.py``) translated with ``--method`` (default: the last shipped method with
  weights) through ``to_gmi(..., chunks="auto", device=...)``.

Each is run once on the CPU (the reference) and on ``--device``: the outputs must agree within
the tolerances below (convolutions on CUDA use TF32 by default: about 1e-3 relative), and the
device's best and median of ``--repeats`` timed runs are printed after one warm-up (model
loading and CUDA start-up are not timed; ``torch.cuda.synchronize`` ends each timed run).
Goal: DRAIN <= 0.2 s per orbit on an H100.

Without CUDA the same code runs on the CPU, on a small orbit, in seconds (the test does this)::

    python benchmarks/gpu_check.py --device cpu --small --repeats 1

Exit status 1 when an output disagrees with the CPU's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

#: |device - cpu| <= ATOL + RTOL * |cpu|, per output
RAIN_ATOL, RAIN_RTOL = 0.05, 0.02  # mm/h
TB_ATOL, TB_RTOL = 0.5, 0.0  # K
DRAIN_GOAL_S = 0.2
SMALL_GMI_SCANS, SMALL_SSMIS_SCANS = 160, 160


def gmi_orbit(small: bool, directory: str | None = None) -> Any:
    """A 1C-GMI granule opened by ``xgpm.open_granule`` (merged, dask), ``Tc`` persisted."""
    from _granules import full_gmi_modes, write_full_gmi

    import xgpm

    if small:
        directory = directory or tempfile.mkdtemp(prefix="xgpm-gpu-check-")
        modes = full_gmi_modes(n_scan=SMALL_GMI_SCANS)
        path = str(xgpm.write_granule(modes, directory, granule_number=40_000, overwrite=True))
    else:
        path = write_full_gmi(directory)
    ds = xgpm.open_granule(path, variables="Tc")
    return ds.persist()


def ssmis_orbit(small: bool) -> Any:
    """A simulated 1C-SSMIS-F17 swath (``bench_to_gmi.ssmis_swath``), full or small."""
    from bench_to_gmi import ssmis_swath

    return ssmis_swath(SMALL_SSMIS_SCANS if small else 3211)


def synchronize(device: str) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def timed(func: Callable[[], np.ndarray], device: str, repeats: int) -> tuple[np.ndarray, list]:
    """The output of one warm-up call and the wall times of ``repeats`` more calls."""
    out = func()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return out, times


def compare(name: str, ref: np.ndarray, out: np.ndarray, atol: float, rtol: float) -> bool:
    """Print the largest difference and whether ``out`` agrees with ``ref`` (NaN alike)."""
    same_nan = bool(np.array_equal(np.isnan(ref), np.isnan(out)))
    valid = ~np.isnan(ref) & ~np.isnan(out)
    diff = np.abs(out[valid] - ref[valid])
    max_diff = float(diff.max()) if diff.size else 0.0
    ok = same_nan and bool(np.all(diff <= atol + rtol * np.abs(ref[valid])))
    print(
        f"  {name}: max |device - cpu| {max_diff:.3g} (tolerance {atol:g} + {rtol:g} x |cpu|), "
        f"NaN where the CPU's: {same_nan} -> {'OK' if ok else 'DIFFERS'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="torch device (default cuda)")
    parser.add_argument("--small", action="store_true", help="a small orbit (seconds on CPU)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--method", default=None, help="to_gmi method (default: last shipped)")
    parser.add_argument("--model", default="drain", help="rain model (default drain)")
    parser.add_argument("--workdir", default=None, help="where the GMI granule is written")
    args = parser.parse_args(argv)

    import torch

    from xgpm.translate import to_gmi

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"no CUDA device (torch {torch.__version__}): run with --device cpu [--small]")
        return 2
    from bench_to_gmi import translation_models

    method = args.method or translation_models()[-1]
    start = time.perf_counter()
    gmi = gmi_orbit(args.small, args.workdir)
    ssmis = ssmis_orbit(args.small)
    print(
        f"inputs ({time.perf_counter() - start:.1f} s): GMI {gmi.sizes['cross_track']} x "
        f"{gmi.sizes['along_track']} x {gmi.sizes['pmw_frequency']} (dask, "
        f"{gmi['Tc'].data.npartitions} block(s)); SSMIS {ssmis.sizes['cross_track']} x "
        f"{ssmis.sizes['along_track']}; device {args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else "")
        + f"; torch {torch.__version__}; load {os.getloadavg()[0]:.1f}"
    )

    def drain(device: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            out = gmi.gpm.rainrate(args.model, quantiles=(), device=device)
            return out["surface_precip"].values

        return run

    def translate(device: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            return to_gmi(ssmis, method, chunks="auto", device=device)["Tc"].values

        return run

    checks = (
        (f"DRAIN ({args.model})", drain, RAIN_ATOL, RAIN_RTOL),
        (f"to_gmi ({method})", translate, TB_ATOL, TB_RTOL),
    )
    ok = True
    best: dict[str, float] = {}
    for name, make, atol, rtol in checks:
        reference = make("cpu")()
        out, times = timed(make(args.device), args.device, args.repeats)
        print(
            f"{name} on {args.device}: best {min(times):.3f} s, median "
            f"{statistics.median(times):.3f} s ({args.repeats} runs)"
        )
        ok &= compare(name, reference, out, atol, rtol)
        best[name] = min(times)
    drain_best = best[f"DRAIN ({args.model})"]
    verdict = "met" if drain_best <= DRAIN_GOAL_S else "missed"
    scope = "" if args.device.startswith("cuda") and not args.small else " (applies to CUDA, full)"
    goal = f"DRAIN goal <= {DRAIN_GOAL_S} s per orbit on an H100{scope}"
    print(f"{goal}: {drain_best:.3f} s, {verdict}")
    print("outputs agree with the CPU's" if ok else "OUTPUTS DIFFER FROM THE CPU'S")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
