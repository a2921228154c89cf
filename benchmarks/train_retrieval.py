"""First end-to-end training and evaluation of xgpm's rain retrievals on SIMULATED data.

Simulates GMI + DPR overpasses (``xgpm.simulate``) for training days and for *different*
held-out days, builds GMI-DPR matchup stores (``xgpm.matchups.build_matchups``), trains the
4-channel DRAIN U-Net for a bounded number of epochs on CPU, fits the BRAIN Bayesian database on
a subsample of the training pixels, and scores both on the held-out pixels the DPR saw: MSE,
MAE, bias, correlation, CSI/POD/FAR at 1 mm/h and DRAIN's quantile calibration.

Everything here is simulated data; the model is a first small run, not a validated retrieval.

Usage::

    python benchmarks/train_retrieval.py --epochs 30 --minutes 10 --save
    python benchmarks/train_retrieval.py --stage data      # only simulate (cached, resumable)

Cache: ``/tmp/xgpm-train`` (``--cache``), never the repository.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np

# (region, start, days, seed): training and held-out windows never share a day (held-out is
# 2022). Every window has its own simulator seed, written out so that a run from an empty cache
# simulates exactly the data of the documented run.
_REGIONS = ("tropical-pacific", "tropical-atlantic", "conus", "france")
TRAIN_WINDOWS = [
    (region, start, 4, i * 4 + k)
    for i, region in enumerate(_REGIONS)
    for k, start in enumerate(("2021-01-10", "2021-04-10", "2021-07-10", "2021-10-10"))
] + [
    (region, start, 4, 515 - (i * 4 + k))
    for i, region in enumerate(_REGIONS)
    for k, start in enumerate(("2021-02-20", "2021-05-20", "2021-08-20", "2021-11-20"))
]
TEST_WINDOWS = [
    (region, start, 2, 1000 + i * 2 + k)
    for i, region in enumerate(_REGIONS)
    for k, start in enumerate(("2022-02-15", "2022-08-15"))
]


def simulate_windows(cache: Path, windows, tag: str) -> list[Path]:
    """Simulate GMI + DPR for each window under ``cache/tag/<region>_<start>`` (resumable)."""
    from tqdm import tqdm

    from xgpm.simulate.products import simulate_to_disk

    dirs = []
    for region, start, days, seed in tqdm(windows, desc=f"simulate {tag}"):
        out = cache / tag / f"{region}_{start}_{days}d"
        simulate_to_disk(
            out,
            region,
            start,
            days=days,
            sensors="gmi,dpr",
            seed=seed,
            truth_res_km=2.5,
            progress=False,
        )
        dirs.append(out)
    return dirs


DRAIN_CHANNELS = ["37V", "37H", "89V", "89H"]
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
CSI_THRESHOLD = 1.0  # mm/h


def build_store(dirs: list[Path], store: Path) -> Path:
    """One gmi-dpr Zarr matchup store from every window directory (skipped when complete)."""
    from xgpm.matchups import build_matchups

    done = store.with_suffix(".done")
    if done.exists() and store.exists():
        return store
    for i, directory in enumerate(dirs):
        try:
            build_matchups(
                directory,
                store,
                kind="gmi-dpr",
                tile=(128, 128),
                overwrite=(i == 0),
                progress=False,
            )
        except Exception as error:  # a window without a usable overpass: say so, go on
            print(f"  matchups: {directory.name} skipped ({type(error).__name__}: {error})")
    done.write_text("ok\n")
    return store


def load_store(store: Path) -> dict[str, np.ndarray]:
    """Arrays of a matchup store: tb4 (N, 4, H, W), tb13 (N, H, W, 13), rain, surface_type."""
    import xarray as xr

    ds = xr.open_zarr(store)
    tc = ds["Tc"].transpose("scene", "cross_track", "along_track", "pmw_frequency")
    tb13 = np.asarray(tc.values, dtype=np.float32)
    labels = [str(v) for v in ds["pmw_frequency"].values]
    index = [labels.index(c) for c in DRAIN_CHANNELS]
    return {
        "tb4": np.ascontiguousarray(np.moveaxis(tb13[..., index], -1, 1)),
        "tb13": tb13,
        "labels": labels,
        "rain": np.asarray(
            ds["surface_precip"].transpose("scene", "cross_track", "along_track").values,
            dtype=np.float32,
        ),
        "surface_type": np.asarray(
            ds["surface_type"].transpose("scene", "cross_track", "along_track").values
        ),
        "granule": np.asarray(ds["granule"].values),
    }


class _TimeUp(Exception):
    pass


def train_drain_bounded(train, epochs: int, minutes: float, batch_size: int, seed: int):
    """Train the 4-channel ``drain`` architecture for ``epochs`` or ``minutes``, whichever first."""
    import torch

    import xgpm.models
    from xgpm.models.unet import DrainUNet, train_drain

    spec = xgpm.models.card("drain")
    torch.manual_seed(seed)
    net = DrainUNet(**spec.architecture_kwargs)
    tb = train["tb4"]
    normalisation = {
        "mean": [float(np.nanmean(tb[:, c])) for c in range(tb.shape[1])],
        "std": [float(np.nanstd(tb[:, c])) for c in range(tb.shape[1])],
    }
    history: list[dict] = []
    start = time.perf_counter()

    def stop_when_late(entry):
        history.append(entry)
        print(
            f"  epoch {entry['epoch']}: loss {entry['loss']:.4f} (mean {entry['mean']:.4f}, "
            f"pop {entry['pop']:.4f}, quantile {entry['quantile']:.4f})",
            flush=True,
        )
        if time.perf_counter() - start > minutes * 60:
            raise _TimeUp

    try:
        train_drain(
            (tb, train["rain"]),
            model=net,
            normalisation=normalisation,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=1e-3,
            device="cpu",
            seed=seed,
            callback=stop_when_late,
        )
    except _TimeUp:
        print(f"  stopped after {len(history)} epochs ({minutes} min budget)")
    net = net.to("cpu").eval()
    return net, normalisation, history


def predict_drain(net, normalisation, tb4: np.ndarray, batch: int = 8) -> np.ndarray:
    """DRAIN outputs (N, H, W, 2 + Q) for tiles (N, 4, H, W), NaN where an input is NaN."""
    import torch
    import torch.nn.functional as F

    mean = torch.tensor(normalisation["mean"])[:, None, None]
    std = torch.tensor(normalisation["std"])[:, None, None]
    outs = []
    with torch.no_grad():
        for i in range(0, len(tb4), batch):
            x = torch.from_numpy(tb4[i : i + batch])
            bad = ~torch.isfinite(x).all(dim=1)
            x = torch.nan_to_num((x - mean) / std, nan=0.0)
            h, w = x.shape[-2:]
            d = net.divisibility
            x = F.pad(x, (0, (-w) % d, 0, (-h) % d), mode="replicate")
            y = net(x)[..., :h, :w].permute(0, 2, 3, 1).clone()
            y[bad] = float("nan")
            outs.append(y.numpy())
    return np.concatenate(outs)


def fit_brain(train, n_database: int, seed: int):
    """BRAIN database from a random subsample of the training pixels the DPR saw."""
    from xgpm.models import card
    from xgpm.models.brain import BrainRetrieval

    spec = card("brain")
    kwargs = dict(spec.architecture_kwargs)
    labels = train["labels"]
    index = [labels.index(c) for c in spec.input_channels]
    tb = train["tb13"][..., index].reshape(-1, len(index))
    rain = train["rain"].reshape(-1)
    stype = train["surface_type"].reshape(-1)
    ok = np.isfinite(rain) & np.isfinite(tb).all(axis=1) & (stype >= 0)
    pick = np.flatnonzero(ok)
    rng = np.random.default_rng(seed)
    pick = rng.choice(pick, size=min(n_database, pick.size), replace=False)
    sigma = kwargs.pop("sigma")
    brain = BrainRetrieval(sigma, **kwargs)
    brain.fit(tb[pick], rain[pick], surface_type=stype[pick])
    return brain, index, int(pick.size)


def scores(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """SatRain metrics of 1-D pairs with xgpm.evaluate (rain/no-rain decided at 1 mm/h)."""
    import xarray as xr

    from xgpm.evaluate import evaluate_retrieval

    ds = evaluate_retrieval(
        xr.DataArray(pred, dims="pixel"),
        xr.DataArray(ref, dims="pixel"),
        rain_threshold=CSI_THRESHOLD,
    )
    out = {k: float(ds[k]) for k in ("mse", "mae", "bias", "correlation", "csi", "pod", "far")}
    out["n"] = int(ds["n_valid"])
    return out


def calibration(quantiles: np.ndarray, ref: np.ndarray) -> list[float]:
    """Fraction of reference values below each predicted quantile (nominal: the level)."""
    return [float(np.mean(ref <= quantiles[:, k])) for k in range(quantiles.shape[1])]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/xgpm-train")
    parser.add_argument("--stage", choices=["data", "all"], default="all")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--brain-database", type=int, default=60_000)
    parser.add_argument("--max-eval-pixels", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", action="store_true", help="register the weights if sensible")
    parser.add_argument("--results", default=None, help="write the results JSON here")
    args = parser.parse_args(argv)
    cache = Path(args.cache)
    t0 = time.perf_counter()

    test_dirs = simulate_windows(cache, TEST_WINDOWS, "test")
    train_dirs = simulate_windows(cache, TRAIN_WINDOWS, "train")
    print(f"simulated in {time.perf_counter() - t0:.0f} s")
    if args.stage == "data":
        return {}
    train_store = build_store(train_dirs, cache / "train.zarr")
    test_store = build_store(test_dirs, cache / "test.zarr")
    train, test = load_store(train_store), load_store(test_store)
    n_train_px = int(np.isfinite(train["rain"]).sum())
    print(
        f"train: {len(train['rain'])} scenes, {n_train_px} DPR pixels; test: "
        f"{len(test['rain'])} scenes, {int(np.isfinite(test['rain']).sum())} DPR pixels "
        f"({time.perf_counter() - t0:.0f} s)"
    )

    net, normalisation, history = train_drain_bounded(
        train, args.epochs, args.minutes, args.batch_size, args.seed
    )
    brain, brain_index, n_database = fit_brain(train, args.brain_database, args.seed)

    # Held-out pixels the DPR saw (capped, random, the same for both models).
    drain_out = predict_drain(net, normalisation, test["tb4"])
    ref = test["rain"]
    seen = np.isfinite(ref) & np.isfinite(test["tb13"][..., brain_index]).all(axis=-1)
    pixels = np.flatnonzero(seen.reshape(-1))
    rng = np.random.default_rng(args.seed)
    if pixels.size > args.max_eval_pixels:
        pixels = np.sort(rng.choice(pixels, args.max_eval_pixels, replace=False))
    ref_px = ref.reshape(-1)[pixels]
    drain_px = drain_out.reshape(-1, drain_out.shape[-1])[pixels]
    tb13_px = test["tb13"][..., brain_index].reshape(-1, len(brain_index))[pixels]
    t_brain = time.perf_counter()
    brain_px = brain.predict(tb13_px, surface_type=test["surface_type"].reshape(-1)[pixels])
    print(f"BRAIN predicted {pixels.size} pixels in {time.perf_counter() - t_brain:.0f} s")
    # Score both models on the same pixels: those where both gave a value.
    both = np.isfinite(drain_px).all(axis=1) & np.isfinite(brain_px).all(axis=1)
    ref_px, drain_px, brain_px, pixels = ref_px[both], drain_px[both], brain_px[both], pixels[both]

    results = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "train_scenes": len(train["rain"]),
        "train_dpr_pixels": n_train_px,
        "train_granules": int(np.unique(train["granule"]).size),
        "test_scenes": len(test["rain"]),
        "test_granules": int(np.unique(test["granule"]).size),
        "eval_pixels": int(pixels.size),
        "epochs": len(history),
        "history": history,
        "brain_database": n_database,
        "drain": scores(drain_px[:, 0], ref_px),
        "brain": scores(brain_px[:, 0], ref_px),
        "zero": scores(np.zeros_like(ref_px), ref_px),
        "climatology": scores(np.full_like(ref_px, np.nanmean(train["rain"])), ref_px),
        "drain_calibration": calibration(drain_px[:, 2:], ref_px),
        "brain_calibration": calibration(brain_px[:, 2:], ref_px),
        "test_rain_mean": float(ref_px.mean()),
        "test_frac_ge_1": float((ref_px > CSI_THRESHOLD).mean()),
    }
    d, b = results["drain"], results["brain"]
    results["goals"] = {
        "mse_gain": 1 - d["mse"] / b["mse"],
        "csi_gain": d["csi"] / b["csi"] - 1,
        "max_calibration_error": max(
            abs(f - q) for f, q in zip(results["drain_calibration"], QUANTILES, strict=True)
        ),
    }
    print_table(results)
    sensible = d["mse"] < min(results["zero"]["mse"], results["climatology"]["mse"]) and (
        np.isfinite(d["correlation"]) and d["correlation"] > 0.3
    )
    results["sensible"] = bool(sensible)
    if args.save and sensible:
        save_models(net, normalisation, brain, results)
    elif args.save:
        print("DRAIN not sensible (not better than trivial predictors): nothing saved")
    if args.results:
        Path(args.results).write_text(json.dumps(results, indent=1))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return results


def print_table(r: dict) -> None:
    print(
        f"\nheld-out: {r['eval_pixels']} DPR pixels of {r['test_scenes']} scenes "
        f"({r['test_granules']} overpasses); mean rain {r['test_rain_mean']:.3f} mm/h, "
        f"{100 * r['test_frac_ge_1']:.1f} % > 1 mm/h"
    )
    head = (
        f"{'model':<12}{'MSE':>9}{'MAE':>8}{'bias %':>9}{'corr':>7}{'CSI':>7}{'POD':>7}{'FAR':>7}"
    )
    print(head)
    for name in ("drain", "brain", "zero", "climatology"):
        s = r[name]
        print(
            f"{name:<12}{s['mse']:9.4f}{s['mae']:8.4f}{s['bias']:9.1f}{s['correlation']:7.3f}"
            f"{s['csi']:7.3f}{s['pod']:7.3f}{s['far']:7.3f}"
        )
    print("quantile calibration (fraction of truths <= predicted quantile):")
    for q, fd, fb in zip(QUANTILES, r["drain_calibration"], r["brain_calibration"], strict=True):
        print(f"  q={q:.2f}: DRAIN {fd:.3f}  BRAIN {fb:.3f}")
    g = r["goals"]
    print(
        f"goals: MSE gain {100 * g['mse_gain']:.1f} % (>= 10 %: {g['mse_gain'] >= 0.1}); "
        f"CSI@1 gain {100 * g['csi_gain']:.1f} % (>= 10 %: {g['csi_gain'] >= 0.1}); "
        f"max |calibration - nominal| {g['max_calibration_error']:.3f} "
        f"(<= 0.05: {g['max_calibration_error'] <= 0.05})"
    )


def _regions_sentence() -> str:
    train = sorted({f"{r} {s} (+{d} d)" for r, s, d, _ in TRAIN_WINDOWS})
    test = sorted({f"{r} {s} (+{d} d)" for r, s, d, _ in TEST_WINDOWS})
    return f"training windows: {'; '.join(train)}. Held-out windows: {'; '.join(test)}."


def save_models(net, normalisation, brain, r: dict) -> None:
    """Register ``drain`` (and ``brain`` if small) in the package with plain training cards."""
    import tempfile

    import xgpm.models

    package = Path(xgpm.models.__file__).parent
    d, b = r["drain"], r["brain"]
    common = (
        "Trained on simulated data only: xgpm.simulate GMI brightness temperatures and "
        "simulated DPR near-surface rain, colocated with xgpm.matchups.build_matchups "
        "(gmi-dpr, 128 x 128 tiles), not on real GMI/DPR observations. "
        f"{_regions_sentence()} "
    )
    metrics = {
        "dataset": f"simulated held-out GMI-DPR matchups ({r['eval_pixels']} DPR pixels, "
        f"{r['test_granules']} overpasses, days disjoint from training)",
        "date": r["date"],
        "command": "python benchmarks/train_retrieval.py --epochs 30 --minutes 10 --save",
    }
    xgpm.models.save(
        "drain",
        net,
        {
            "version": "0.2.0",
            "inputs": {"normalisation": normalisation},
            "training_data": common + f"A first small run: {r['epochs']} epochs on "
            f"{r['train_scenes']} scenes ({r['train_granules']} overpasses), CPU.",
            "metrics": {
                **metrics,
                **{k: round(v, 4) for k, v in d.items()},
                "csi_threshold_mm_h": CSI_THRESHOLD,
                "quantile_calibration": [round(v, 4) for v in r["drain_calibration"]],
            },
        },
        directory=package,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "brain.npz"
        brain.save(path)
        size_mb = path.stat().st_size / 1e6
    if size_mb < 5:
        xgpm.models.save(
            "brain",
            brain,
            {
                "version": "0.2.0",
                "training_data": common + f"Database: {r['brain_database']} random training "
                "pixels the DPR saw.",
                "metrics": {
                    **metrics,
                    **{k: round(v, 4) for k, v in b.items()},
                    "csi_threshold_mm_h": CSI_THRESHOLD,
                    "quantile_calibration": [round(v, 4) for v in r["brain_calibration"]],
                },
            },
            directory=package,
        )
    else:
        print(f"BRAIN database is {size_mb:.1f} MB (>= 5 MB): not saved")


if __name__ == "__main__":
    main()
