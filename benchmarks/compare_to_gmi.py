"""Dask overhead of ``to_gmi`` + ``rainrate`` on one full SSMIS orbit, against direct calls.

One SSMIS-F17 orbit (180 x 3211 pixels, 11 channels; geometry from the simulator, TBs random
but realistic, see benchmarks/bench_to_gmi.py) is translated to pseudo-GMI (densified to
359 x 3211) and DRAIN (random weights of the real size) retrieves rain:

- ``direct``: NumPy in memory: ``to_gmi(ds)`` then ``rainrate`` on the eager result;
- ``dask``: ``to_gmi(ds, chunks="auto")`` then ``rainrate(..., chunks="auto").compute()``:
  blocks overlapped by the models' receptive margins, dask's threaded scheduler.

Same run, same models, same input, repetitions round-robin (best and median printed), one
warm-up each. The overhead ratio is dask / direct (goal <= 1.15).

    python benchmarks/compare_to_gmi.py [--method identity] [--along 3211] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_to_gmi import RAIN_MODEL, ssmis_swath, translation_models  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default=None, help="translation (default: the last shipped)")
    parser.add_argument("--along", type=int, default=3211, help="scans (3211: a full orbit)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from xgpm import models
    from xgpm.models._testing import register_random_unet
    from xgpm.retrieve import rainrate
    from xgpm.translate import to_gmi

    method = args.method or translation_models()[-1]
    register_random_unet(RAIN_MODEL, base="drain")
    ds = ssmis_swath(args.along)

    def direct():
        return rainrate(to_gmi(ds, method), RAIN_MODEL, quantiles=())["surface_precip"].values

    def lazy():
        pseudo = to_gmi(ds, method, chunks="auto")
        return rainrate(pseudo, RAIN_MODEL, quantiles=(), chunks="auto")["surface_precip"].values

    paths = {"direct": direct, "dask": lazy}
    outputs = {name: func() for name, func in paths.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, func in paths.items():
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    import numpy as np

    same = np.allclose(outputs["direct"], outputs["dask"], atol=1e-3, equal_nan=True)
    pseudo = to_gmi(ds, method)
    print(
        f"to_gmi({method!r}) + rainrate(drain-random) on SSMIS {ds.sizes['cross_track']} x "
        f"{ds.sizes['along_track']} -> pseudo-GMI {pseudo.sizes['cross_track']} x "
        f"{pseudo.sizes['along_track']}; cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}"
    )
    for name, values in times.items():
        print(f"  {name:7s} best {min(values):7.2f} s   median {statistics.median(values):7.2f} s")
    ratio = min(times["dask"]) / min(times["direct"])
    median_ratio = statistics.median(times["dask"]) / statistics.median(times["direct"])
    print(f"  dask / direct: best {ratio:.3f}  median {median_ratio:.3f} (goal <= 1.15)")
    print(f"  same result: {same}")
    models.unregister(RAIN_MODEL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
