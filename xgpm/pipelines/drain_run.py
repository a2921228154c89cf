"""First end-to-end training and evaluation of xgpm's rain retrievals on SIMULATED data.

The orchestration of ``benchmarks/train_retrieval.py`` (its docstring has the usage): simulate
the windows, build the matchup stores, train DRAIN and fit BRAIN (:mod:`xgpm.pipelines.drain`),
score them, register the weights (:func:`save_models`, :func:`save_drain13`) and write the docs
page (:mod:`xgpm.pipelines.drain_docs`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

from xgpm.pipelines.drain import (
    _TRAIN_KEYS,
    ARCHITECTURE_UPDATES,
    CSI_THRESHOLD,
    EXTRA_TRAIN_WINDOWS,
    LEARNING_RATE,
    TEST_WINDOWS,
    TRAIN_WINDOWS,
    build_store,
    evaluate,
    fit_brain,
    load_store,
    simulate_windows,
    train_drain_bounded,
)
from xgpm.pipelines.drain_docs import (
    _stages_13,
    write_docs,
)


def main(argv=None, root: str | Path | None = None) -> dict:
    """Run the benchmark (``argv`` as for ``benchmarks/train_retrieval.py``).

    ``root``: the repository whose ``docs/`` ``--write-docs`` updates (default: the current
    directory).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/xgpm-train")
    parser.add_argument(
        "--stage",
        choices=["data", "train", "eval", "all"],
        default="all",
        help="train: train DRAIN, fit BRAIN, write both to --workdir; eval: score them (and "
        "--save / --write-docs); all: both",
    )
    parser.add_argument("--epochs", type=int, default=200, help="upper bound; --minutes caps")
    parser.add_argument("--minutes", type=float, default=30.0, help="training time budget")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--brain-database", type=int, default=60_000)
    parser.add_argument("--max-eval-pixels", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--extra-windows", action="store_true", help="add EXTRA_TRAIN_WINDOWS")
    parser.add_argument("--save", action="store_true", help="register the weights if sensible")
    parser.add_argument("--write-docs", action="store_true", help="docs/models/drain.md + PNGs")
    parser.add_argument("--workdir", default="/tmp/drain", help="checkpoints and results")
    parser.add_argument(
        "--init-from",
        default=None,
        help="warm-start DRAIN from this drain.pt (e.g. the 0.2.0 weights); the normalisation "
        "is then the registered drain card's",
    )
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    parser.add_argument(
        "--model",
        choices=["drain", "drain-13ch"],
        default="drain",
        help="architecture to train: drain (37V/37H/89V/89H) or drain-13ch (all 13 GMI "
        "channels; its eval also scores the --baseline-workdir drain and BRAIN)",
    )
    parser.add_argument(
        "--baseline-workdir",
        default=None,
        help="with --model drain-13ch: workdir of the 4-channel run (drain.pt, brain.npz, "
        "train.json) scored next to it",
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # the machine is shared: one core for this run
    cache, workdir = Path(args.cache), Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    command = "python benchmarks/train_retrieval.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )

    def done(name: str) -> bool:  # a complete matchup store needs no simulation check
        return args.stage != "data" and (cache / f"{name}.done").exists()

    test_dirs = simulate_windows(cache, TEST_WINDOWS, "test", skip=done("test"))
    if args.stage in ("data", "train", "all"):
        train_dirs = simulate_windows(cache, TRAIN_WINDOWS, "train", skip=done("train"))
        extra_dirs = (
            simulate_windows(cache, EXTRA_TRAIN_WINDOWS, "train", skip=done("train-extra"))
            if args.extra_windows
            else []
        )
        print(f"simulated in {time.perf_counter() - t0:.0f} s")
    if args.stage == "data":
        return {}
    if args.stage in ("train", "all"):
        stores = [build_store(train_dirs, cache / "train.zarr")]
        if extra_dirs:
            stores.append(build_store(extra_dirs, cache / "train-extra.zarr"))
        train = load_store(stores)
        n_train_px = int(np.isfinite(train["rain"]).sum())
        print(
            f"train: {len(train['rain'])} scenes, {n_train_px} DPR pixels "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
        t_train = time.perf_counter()
        net, normalisation, history = train_drain_bounded(
            train,
            args.epochs,
            args.minutes,
            args.batch_size,
            args.seed,
            args.init_from,
            args.learning_rate,
            args.model,
        )
        import torch

        torch.save(net.state_dict(), workdir / f"{args.model}.pt")
        info = {
            "train_scenes": len(train["rain"]),
            "train_dpr_pixels": n_train_px,
            "train_granules": int(np.unique(train["granule"]).size),
            "train_windows": len(train_dirs) + len(extra_dirs),
            "epochs": len(history),
            "history": history,
            "train_minutes": round((time.perf_counter() - t_train) / 60, 1),
            "train_command": command,
            "init_from": args.init_from,
            "learning_rate": args.learning_rate,
            "normalisation": normalisation,
            "model": args.model,
        }
        previous = Path(args.init_from).with_name("train.json") if args.init_from else None
        if previous is not None and previous.exists():  # continuing a run of this model
            before = json.loads(previous.read_text())
            if before.get("model") == args.model:
                keys = ("epochs", "train_minutes", "learning_rate", "train_command", "init_from")
                info["continues"] = {k: before.get(k) for k in keys}
        if args.model == "drain":  # drain-13ch is scored against the baseline run's BRAIN
            brain, info["brain_database"] = fit_brain(train, args.brain_database, args.seed)
            brain.save(workdir / "brain.npz")
        (workdir / "train.json").write_text(json.dumps(info, indent=1))
        del train
        print(f"trained; checkpoint in {workdir} ({time.perf_counter() - t0:.0f} s)", flush=True)
        if args.stage == "train":
            return info
    import torch

    import xgpm.models
    from xgpm.models.brain import BrainRetrieval
    from xgpm.models.unet import DrainUNet

    def load_net(model: str, directory: Path):
        run = json.loads((directory / "train.json").read_text())
        kwargs = {**xgpm.models.card(model).architecture_kwargs, **ARCHITECTURE_UPDATES}
        net = DrainUNet(**kwargs)
        state = torch.load(directory / f"{model}.pt", map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        return net.eval(), run

    extra = {}
    if args.model == "drain":
        baseline = workdir
    else:
        if args.baseline_workdir is None:
            parser.error("--model drain-13ch needs --baseline-workdir (the 4-channel run)")
        baseline = Path(args.baseline_workdir)
        net13, info13 = load_net(args.model, workdir)
        extra["drain13"] = (net13, info13["normalisation"], args.model)
    net, info = load_net("drain", baseline)
    normalisation = info["normalisation"]
    brain = BrainRetrieval.load(baseline / "brain.npz")
    test = load_store([build_store(test_dirs, cache / "test.zarr")])
    if extra:
        this = f"{info13['train_command']} && {command}"
        if info13.get("continues"):  # a continued run: its first stage's command first
            this = f"{info13['continues']['train_command']} && {this}"
    else:
        this = command if args.stage == "all" else f"{info['train_command']} && {command}"
    results = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **{k: info.get(k) for k in _TRAIN_KEYS},
        "command": this if not extra else f"{info['train_command']} && {this}",
    }
    if extra:
        results["drain13_info"] = {
            **{k: info13.get(k) for k in _TRAIN_KEYS},
            "command": this,
            "normalisation": info13["normalisation"],
            "continues": info13.get("continues"),
        }
        first = Path(info13["init_from"] or "").with_name("results.json")
        if info13.get("continues") and first.is_file():  # the first stage's held-out scores
            before = json.loads(first.read_text())
            results["drain13_info"]["first_stage"] = {
                "scores": before.get("drain13"),
                "goals": before.get("goals_drain13"),
                "date": before.get("date"),
            }
    results.update(
        evaluate(net, normalisation, brain, test, args.max_eval_pixels, args.seed, extra)
    )
    arrays = results.pop("_arrays")
    print_table(results)
    key = "drain13" if extra else "drain"
    d = results[key]
    sensible = (
        d["mse"] < results["zero"]["mse"]
        and np.isfinite(d["correlation"])
        and (d["correlation"] > 0.3)
    )
    results["sensible"] = bool(sensible)
    (workdir / "results.json").write_text(json.dumps(results, indent=1))
    if args.save and sensible:
        if extra:
            save_drain13(net13, info13["normalisation"], results)
        else:
            save_models(net, normalisation, brain, results)
    elif args.save:
        print(f"{key} not sensible (not better than predicting 0): nothing saved")
    if args.write_docs:
        write_docs(results, arrays, Path.cwd() if root is None else Path(root))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return results


def print_table(r: dict) -> None:
    """The held-out scores of a run, on the console."""
    print(
        f"\nheld-out: {r['eval_pixels']} DPR pixels of {r['test_scenes']} scenes "
        f"({r['test_granules']} overpasses); mean rain {r['test_rain_mean']:.3f} mm/h, "
        f"{100 * r['test_frac_gt_1']:.1f} % > 1 mm/h, {100 * r['test_frac_dry']:.1f} % < 0.1"
    )
    print(
        f"{'model':<14}{'MSE':>9}{'MAE':>8}{'bias %':>9}{'corr':>7}{'CSI':>7}{'POD':>7}{'FAR':>7}"
    )
    names = ["drain", "drain_median", "brain", "brain_median", "zero"]
    if "drain13" in r:
        names[2:2] = ["drain13", "drain13_median"]
    for name in names:
        s = r[name]
        print(
            f"{name:<14}{s['mse']:9.4f}{s['mae']:8.4f}{s['bias']:9.1f}{s['correlation']:7.3f}"
            f"{s['csi']:7.3f}{s['pod']:7.3f}{s['far']:7.3f}"
        )
    for name in ("drain", "drain13", "brain") if "drain13" in r else ("drain", "brain"):
        c = r[name + "_calibration"]
        print(
            f"{name} calibration: plain {c['coverage_plain']}; "
            f"randomized {c['randomized_coverage']}"
        )
    g = r["goals"]
    print(
        f"goals: MSE gain {100 * g['mse_gain']:.1f} % (>= 10 %: {g['mse_gain'] >= 0.1}); "
        f"CSI@1 gain {100 * g['csi_gain']:.1f} % (>= 10 %: {g['csi_gain'] >= 0.1}); "
        f"max |randomized coverage - nominal| {g['max_calibration_error']:.3f} "
        f"(<= 0.05: {g['max_calibration_error'] <= 0.05}); plain "
        f"{g['max_calibration_error_plain']:.3f}"
    )
    if "drain13" in r:
        g = r["goals_drain13"]
        print(
            f"drain-13ch goals: MSE gain {100 * g['mse_gain']:.1f} %; CSI@1 gain "
            f"{100 * g['csi_gain']:.1f} %; max |randomized coverage - nominal| "
            f"{g['max_calibration_error']:.3f}"
        )
    for key, rules in r.get("decision_rules", {}).items():
        text = "; ".join(
            f"{name} > {v['default_threshold']:g}: {v['csi']:.3f} (2-fold CV threshold "
            f"{'/'.join(f'{t:.3g}' for t in v['cv_thresholds'])}: {v['cv_csi']:.3f})"
            for name, v in rules.items()
        )
        print(f"CSI@1 decision rules, {key}: {text}")


def _regions_sentence() -> str:
    train = sorted({f"{r} {s} (+{d} d)" for r, s, d, _ in TRAIN_WINDOWS})
    test = sorted({f"{r} {s} (+{d} d)" for r, s, d, _ in TEST_WINDOWS})
    return f"training windows: {'; '.join(train)}. Held-out windows: {'; '.join(test)}."


def save_models(net, normalisation, brain, r: dict) -> None:
    """Register ``drain`` (and ``brain`` if small) in the package with the run's metrics."""
    import tempfile

    import xgpm.models

    package = Path(xgpm.models.__file__).parent
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
        "command": r["command"],
        "csi_threshold_mm_h": CSI_THRESHOLD,
        "quantile_calibration_tie_rule": "y and q equal when both < 0.1 mm/h",
    }

    def model_metrics(name: str) -> dict:
        cal = r[name + "_calibration"]
        return {
            **metrics,
            **{k: round(v, 4) for k, v in r[name].items()},
            "quantile_calibration": cal["coverage_plain"],
            "quantile_coverage_tie_rule": cal["coverage"],
            "quantile_coverage_strict": cal["coverage_strict"],
            "quantile_randomized_coverage": cal["randomized_coverage"],
            "max_randomized_calibration_error": round(cal["max_error_randomized"], 4),
        }

    xgpm.models.save(
        "drain",
        net,
        {
            "version": "0.3.0",
            "description": (
                "DRAIN-style U-Net (Viltard et al. 2023, arXiv:2303.01220) retrieving surface "
                "rain from the GMI 37 and 89 GHz V/H brightness temperatures used as image "
                "channels, with xgpm's extra heads: probability of precipitation (rain >= 0.1 "
                "mm/h) and zero-inflated quantiles (0 where tau <= 1 - P(rain), else the "
                "conditional rain quantile at (tau - (1 - P)) / P). surface_precip is the mean "
                "rain rate (MSE-trained head)."
            ),
            "architecture": {
                "kwargs": {
                    **ARCHITECTURE_UPDATES,
                    "conditional_levels": [float(v) for v in net.conditional_levels],
                }
            },
            "inputs": {"normalisation": normalisation},
            "training_data": common
            + (
                "Warm-started from the 0.2.0 weights (21 epochs), then "
                if r.get("init_from")
                else ""
            )
            + f"{r['epochs']} epochs (cosine learning-rate decay, random flips, "
            f"{r['train_minutes']} min on a shared 2-core CPU) on {r['train_scenes']} scenes "
            f"({r['train_granules']} overpasses).",
            "metrics": model_metrics("drain"),
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
                "version": "0.3.0",
                "training_data": common + f"Database: {r['brain_database']} random training "
                "pixels the DPR saw.",
                "metrics": model_metrics("brain"),
            },
            directory=package,
        )
    else:
        print(f"BRAIN database is {size_mb:.1f} MB (>= 5 MB): not saved")


def save_drain13(net, normalisation, r: dict) -> None:
    """Register ``drain-13ch`` in the package with the run's metrics (drain and brain stay)."""
    import xgpm.models

    package = Path(xgpm.models.__file__).parent
    info = r["drain13_info"]
    cal = r["drain13_calibration"]
    metrics = {
        "dataset": f"simulated held-out GMI-DPR matchups ({r['eval_pixels']} DPR pixels, "
        f"{r['test_granules']} overpasses, days disjoint from training; the pixels drain "
        "0.3.0 and brain 0.3.0 were scored on)",
        "date": r["date"],
        "command": r["command"],
        **{k: round(v, 4) for k, v in r["drain13"].items()},
        "csi_threshold_mm_h": CSI_THRESHOLD,
        "quantile_calibration": cal["coverage_plain"],
        "quantile_calibration_tie_rule": "y and q equal when both < 0.1 mm/h",
        "quantile_coverage_tie_rule": cal["coverage"],
        "quantile_coverage_strict": cal["coverage_strict"],
        "quantile_randomized_coverage": cal["randomized_coverage"],
        "max_randomized_calibration_error": round(cal["max_error_randomized"], 4),
    }
    xgpm.models.save(
        "drain-13ch",
        net,
        {
            "version": "0.1.0",
            "description": (
                "Variant of the DRAIN U-Net reading all 13 GMI channels (10-183 GHz) instead of "
                "DRAIN's four, with the same heads: mean rain (surface_precip, MSE-trained), "
                "probability of precipitation (rain >= 0.1 mm/h) and zero-inflated, "
                "non-crossing quantiles."
            ),
            "architecture": {
                "kwargs": {
                    **ARCHITECTURE_UPDATES,
                    "conditional_levels": [float(v) for v in net.conditional_levels],
                }
            },
            "inputs": {"normalisation": normalisation},
            "training_data": (
                "Trained on simulated data only: xgpm.simulate GMI brightness temperatures and "
                "simulated DPR near-surface rain, colocated with xgpm.matchups.build_matchups "
                "(gmi-dpr, 128 x 128 tiles), not on real GMI/DPR observations; the training "
                f"scenes of drain 0.3.0. {_regions_sentence()} Warm-started from the drain "
                "0.3.0 weights (every layer; the first convolution's kernels of 37V/37H/89V/89H "
                "copied to their positions, the 9 other channels' kernels started at 1 % of "
                "the initialisation scale; standardisation of those four channels kept from "
                "the drain card); random flips, a shared 2-core CPU, "
                f"{info['train_scenes']} scenes ({info['train_granules']} overpasses). "
                + _stages_13(info).replace(" (the epoch losses below)", "")
            ),
            "metrics": metrics,
        },
        directory=package,
    )


# ------------------------------------------------------------------------------------------
# documentation: docs/models/drain.md and docs/images/drain_*.png
# ------------------------------------------------------------------------------------------
