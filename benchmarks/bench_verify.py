"""Benchmarks of ``xgpm.verify``: scoring half-hourly 80 x 80 maps (the 800 km France domain).

asv classes time ``xgpm.verify.score`` with CSI at 3 thresholds and FSS at 3 window sizes on N
in-memory maps, and the pooled score over a dask-backed archive.

Run as a script to time the two-year archive (35,000 maps) with dask on 2 threads and to compare
with the peers (``scores.spatial.fss_2d`` + ``xskillscore.Contingency``) on a subset in the same
run::

    python benchmarks/bench_verify.py            # 35,000 maps
    python benchmarks/bench_verify.py --maps 5000 --peer-maps 200
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import xarray as xr

import xgpm.verify as xv

NY = NX = 80
THRESHOLDS = (0.1, 1.0, 10.0)
SCALES = (1, 5, 11)
BASE_MAPS = 500


def synthetic_maps(n_maps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rain-like (forecast, reference) float32 maps: smooth cells, ~10 % raining, a few NaN."""
    from scipy.ndimage import shift, uniform_filter

    rng = np.random.default_rng(seed)
    noise = rng.gamma(0.3, 1.0, (n_maps, NY, NX))
    # Smoothed gamma noise above its 90th percentile (~0.41): ~10 % raining, ~1 % above 10 mm/h.
    field = uniform_filter(noise, size=(1, 7, 7))
    reference = (np.clip(field - 0.41, 0.0, None) * 90.0).astype(np.float32)
    reference[:, :3, :5] = np.nan  # outside the radar coverage
    moved = shift(reference, (0, 1, 2), order=0, mode="nearest")
    forecast = (moved * rng.lognormal(0.0, 0.4, moved.shape)).astype(np.float32)
    return forecast, reference


def as_dataarray(values, start: str = "2019-01-01") -> xr.DataArray:
    """Wrap ``(time, lat, lon)`` values (numpy or dask) on a 0.1 deg grid over France."""
    n_maps = values.shape[0]
    return xr.DataArray(
        values,
        dims=("time", "lat", "lon"),
        coords={
            "time": pd.date_range(start, periods=n_maps, freq="30min"),
            "lat": 42.5 + 0.1 * np.arange(NY),
            "lon": -1.5 + 0.1 * np.arange(NX),
        },
        attrs={"units": "mm/h"},
    )


def archive(n_maps: int, chunk: int = 1000) -> tuple[xr.DataArray, xr.DataArray]:
    """Dask-backed archive of ``n_maps`` maps that repeats one in-memory block of maps.

    The block is built once, so the timing measures scoring, not random-number generation or
    disk reads.
    """
    import dask.array as da

    forecast, reference = synthetic_maps(BASE_MAPS)
    reps = -(-n_maps // BASE_MAPS)
    blocks_f = da.concatenate([da.from_array(forecast, chunks=(BASE_MAPS, NY, NX))] * reps)
    blocks_r = da.concatenate([da.from_array(reference, chunks=(BASE_MAPS, NY, NX))] * reps)
    blocks_f = blocks_f[:n_maps].rechunk((chunk, NY, NX))
    blocks_r = blocks_r[:n_maps].rechunk((chunk, NY, NX))
    return as_dataarray(blocks_f), as_dataarray(blocks_r)


class ScoreMaps:
    """Per-map and pooled CSI (3 thresholds) and FSS (3 scales) on N in-memory maps."""

    params = [100, 1000]
    param_names = ["n_maps"]

    def setup(self, n_maps: int) -> None:
        forecast, reference = synthetic_maps(n_maps)
        self.forecast = as_dataarray(forecast)
        self.reference = as_dataarray(reference)

    def time_csi_fss(self, n_maps: int) -> None:
        xv.score(
            self.forecast,
            self.reference,
            thresholds=THRESHOLDS,
            scales=SCALES,
            metrics=["csi", "fss"],
        )

    def time_all_metrics_but_spearman(self, n_maps: int) -> None:
        metrics = [m for m in xv.ALL_METRICS if m != "spearman_r"]
        xv.score(
            self.forecast, self.reference, thresholds=THRESHOLDS, scales=SCALES, metrics=metrics
        )

    def peakmem_csi_fss(self, n_maps: int) -> None:
        xv.score(
            self.forecast,
            self.reference,
            thresholds=THRESHOLDS,
            scales=SCALES,
            metrics=["csi", "fss"],
        )


class ScoreDaskArchive:
    """Pooled CSI + FSS over a dask-backed archive (threaded scheduler)."""

    params = [2000]
    param_names = ["n_maps"]

    def setup(self, n_maps: int) -> None:
        self.forecast, self.reference = archive(n_maps, chunk=500)

    def time_pooled_csi_fss(self, n_maps: int) -> None:
        out = xv.score(
            self.forecast,
            self.reference,
            thresholds=THRESHOLDS,
            scales=SCALES,
            metrics=["csi", "fss"],
        )
        out[["pooled_csi", "pooled_fss"]].compute(scheduler="threads", num_workers=2)


def _peer_scores(forecast: xr.DataArray, reference: xr.DataArray) -> None:
    """CSI with xskillscore and per-map FSS with scores, the same quantities as xgpm's run."""
    import xskillscore as xs
    from scores.spatial import fss_2d

    edges = np.array([-np.inf, 0.0, np.inf])
    for threshold in THRESHOLDS:
        edges[1] = threshold
        table = xs.Contingency(reference, forecast, edges, edges, dim=["lat", "lon"])
        table.threat_score().compute()
        for size in SCALES:
            fss_2d(
                forecast.fillna(0.0),
                reference.fillna(0.0),
                event_threshold=threshold,
                window_size=(size, size),
                spatial_dims=("lat", "lon"),
                zero_padding=True,
                threshold_operator=np.greater_equal,
                preserve_dims=["time"],
            )


def main() -> None:
    """Time the two-year archive and compare with the peers."""
    import dask

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, default=35_000, help="maps in the archive")
    parser.add_argument("--chunk", type=int, default=1000, help="maps per dask chunk")
    parser.add_argument("--workers", type=int, default=2, help="dask threads")
    parser.add_argument("--peer-maps", type=int, default=200, help="maps for the peer ratio")
    args = parser.parse_args()

    forecast, reference = archive(args.maps, chunk=args.chunk)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = xv.score(
        forecast, reference, thresholds=THRESHOLDS, scales=SCALES, metrics=["csi", "fss"]
    )
    with dask.config.set(scheduler="threads", num_workers=args.workers):
        result = result.compute()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(
        f"xgpm.verify.score: {args.maps} maps of {NY}x{NX}, CSI at {len(THRESHOLDS)} thresholds"
        f" + FSS at {len(SCALES)} scales, per-map and pooled, dask {args.workers} threads, "
        f"chunks of {args.chunk}: wall {elapsed:.1f} s ({elapsed / args.maps * 1e3:.3f} ms/map),"
        f" CPU {cpu:.1f} s (other processes on the machine slow the wall time)"
    )
    print("pooled CSI:", np.round(result["pooled_csi"].values, 3).tolist())
    print("pooled FSS:", np.round(result["pooled_fss"].values, 3).tolist())

    # Peers on a subset, single-threaded, same run: per-map CSI (xskillscore) + FSS (scores).
    f_small, r_small = synthetic_maps(args.peer_maps)
    f_small, r_small = as_dataarray(f_small), as_dataarray(r_small)
    start = time.perf_counter()
    xv.score(f_small, r_small, thresholds=THRESHOLDS, scales=SCALES, metrics=["csi", "fss"])
    ours = time.perf_counter() - start
    start = time.perf_counter()
    _peer_scores(f_small, r_small)
    peers = time.perf_counter() - start
    print(
        f"{args.peer_maps} maps in memory, one thread: xgpm {ours:.2f} s, "
        f"xskillscore.Contingency + scores.fss_2d {peers:.2f} s, ratio peers/xgpm = "
        f"{peers / ours:.1f}x"
    )


if __name__ == "__main__":
    main()
