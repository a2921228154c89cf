"""Train the shipped to_gmi translation models (CycleGAN_R, then Red-GAN) and their learning curve.

Everything is simulated; training uses 2021 only, the evaluation here uses 2022 paired scenes
(the days of :data:`xgpm.translate.scenes.EVALUATION_WINDOWS`):

1. unpaired SSMIS (F16/F17/F18, densified to GMI sampling) and GMI overpasses over several
   regions and seasons of 2021 (:func:`xgpm.translate.train.simulate_overpasses`, cached), cut
   into 64 x 32 tiles;
2. paired 2021 scenes (SSMIS-F17 + a virtual GMI and DPR on its orbit,
   :func:`xgpm.translate.scenes.cached_paired_scenes`) for Red-GAN's rain term (DRAIN on the
   paired GMI) and for the semi-supervised fine-tuning (DPR rain);
3. CycleGAN_R with the physics-structured inverse (``F`` = nearest GMI channel seen through the
   registry footprints, :class:`xgpm.translate.cyclegan.FootprintInverse`): stage 1, the backward
   cycle alone on GMI tiles (:func:`~xgpm.translate.cyclegan.train_sharpening`,
   ``--minutes-sharpen``), stage 2 the full CycleGAN_R losses (adversarial, both cycles,
   low-frequency; ``--minutes-cyclegan``); then Red-GAN started from it for ``--minutes-redgan``;
4. fine-tuning of Red-GAN on 0, a few, more ... paired overpasses with DPR rain (the learning
   curve), each for ``--minutes-finetune``;
5. evaluation on paired 2022 scenes: DRAIN(pseudo-GMI) against the DPR rain, next to DRAIN on
   the nearest-channel SSMIS (no adaptation) and DRAIN on the paired GMI (the ceiling), and the
   brightness-temperature error against the paired GMI.

With ``--save`` the generators are written to the model registry (``cyclegan_r-ssmis``,
``redgan-ssmis``) with their metrics, and the figures to ``docs/images/``.

Run (about 35 min at one thread)::

    nice -n 5 python benchmarks/train_to_gmi.py --save --results /tmp/gan/results
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ("france", "tropical-atlantic", "tropical-pacific", "conus")


def _windows(dates: list[str], days: float, regions=REGIONS) -> list[Any]:
    from xgpm.translate.scenes import Window

    return [Window(r, d, days) for d in dates for r in regions]


def _done_scenes(caches: list[Path], windows: list[Any], source: str) -> list[Any]:
    """Scenes of the windows already simulated in any of the caches (read only)."""
    from xgpm.translate.scenes import load_scene

    scenes, seen = [], set()
    for window in windows:
        name = f"{source}_{window.region}_{window.start}_{window.days:g}d_s0"
        for cache in caches:
            folder = cache / name
            if (folder / "done").is_file() and name not in seen:
                seen.add(name)
                scenes += [load_scene(p) for p in sorted(folder.glob("*.json"))]
    return scenes


def gap_closed(adapted: dict, unadapted: dict, gmi: dict) -> dict[str, float]:
    """(skill_adapted - skill_unadapted) / (skill_GMI - skill_unadapted) for MSE, CSI, corr."""
    out = {}
    for key in ("mse", "csi", "correlation"):
        span = gmi[key] - unadapted[key]
        out[f"gap_closed_{key}"] = float((adapted[key] - unadapted[key]) / span) if span else 0.0
    return out


def ceiling(fields: list[Any]) -> dict[str, float]:
    """DRAIN on the paired GMI (the skill pseudo-GMI can at best reach)."""
    from xgpm.translate.train import rain_scores, scored_pixels

    rain = np.concatenate([f.drain_gmi[scored_pixels(f)] for f in fields])
    truth = np.concatenate([f.dpr[scored_pixels(f)] for f in fields])
    ok = np.isfinite(rain)
    return rain_scores(rain[ok], truth[ok])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache", nargs="+", default=["/tmp/gan/cache"], help="unpaired overpass caches"
    )
    parser.add_argument(
        "--pairs-cache", nargs="+", default=["/tmp/gan/pairs-train"], help="paired 2021 caches"
    )
    parser.add_argument(
        "--eval-cache", nargs="+", default=["/tmp/gan/pairs-eval"], help="paired 2022 caches"
    )
    parser.add_argument("--train-dates", default="2021-01-15,2021-04-15,2021-07-15,2021-10-15")
    parser.add_argument("--paired-dates", default="2021-01-12,2021-07-12")
    parser.add_argument("--eval-dates", default="2022-02-15,2022-08-15")
    parser.add_argument("--minutes-sharpen", type=float, default=4.0, help="stage 1")
    parser.add_argument("--validate-every", type=int, default=300, help="steps between validations")
    parser.add_argument("--minutes-cyclegan", type=float, default=0.0, help="stage 2 (adversarial)")
    parser.add_argument("--sharpened", default=None, help="stage-1 checkpoint to start from")
    parser.add_argument(
        "--structure-sampling",
        action="store_true",
        help="draw stage-1 GMI tiles by 89 GHz contrast (default: uniformly)",
    )
    parser.add_argument("--generator-base", type=int, default=32)
    parser.add_argument("--generator-depth", type=int, default=2)
    parser.add_argument(
        "--gmi-from-paired",
        action="store_true",
        help="add the GMI swaths of the paired 2021 scenes to the GMI tiles (they share the "
        "validation scenes' truth)",
    )
    parser.add_argument(
        "--minutes-redgan", type=float, default=5.0, help="DRAIN third player on stage 1's cycle"
    )
    parser.add_argument("--redgan-rain-weight", type=float, default=1.0)
    parser.add_argument(
        "--minutes-redgan-paired",
        type=float,
        default=0.0,
        help="then the paired rain term (DRAIN on the paired GMI) with train_cyclegan",
    )
    parser.add_argument("--minutes-dann", type=float, default=5.0)
    parser.add_argument("--dann-weight", type=float, default=0.1)
    parser.add_argument("--minutes-finetune", type=float, default=2.0)
    parser.add_argument("--curve", default="0,3,8,16", help="paired overpasses for fine-tuning")
    parser.add_argument("--max-tiles", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--drain", default="drain")
    parser.add_argument("--rain-every", type=int, default=2)
    parser.add_argument("--rain-weight", type=float, default=5.0, help="paired rain term")
    parser.add_argument("--adversarial-weight", type=float, default=1.0, help="stage 2")
    parser.add_argument("--learning-rate-redgan", type=float, default=3e-4)
    parser.add_argument("--learning-rate-sharpen", type=float, default=1e-3)
    parser.add_argument("--learning-rate-cyclegan", type=float, default=2e-4)
    parser.add_argument("--results", default="/tmp/gan/results")
    parser.add_argument("--save", action="store_true", help="write weights, cards and figures")
    args = parser.parse_args()

    import torch

    from xgpm import models
    from xgpm.translate import cyclegan, dann, train

    torch.set_num_threads(args.threads)
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    command = "nice -n 5 python benchmarks/train_to_gmi.py " + " ".join(
        a for a in __import__("sys").argv[1:]
    )

    # 1. unpaired data --------------------------------------------------------------------
    files = train.simulate_overpasses(
        args.cache[0],
        regions=("france", "tropical-atlantic", "tropical-pacific"),
        dates=args.train_dates.split(","),
    )
    for folder in args.cache:  # and any other cached 2021 overpass
        files += sorted(Path(folder).glob("*.npz"))
    arrays = train.load_overpasses(sorted(set(files)))
    gmi_swaths = list(arrays["gmi"])
    paired_windows = _windows(args.paired_dates.split(","), 1.0)
    paired_scenes = _done_scenes([Path(p) for p in args.pairs_cache], paired_windows, "ssmis-f17")
    if args.gmi_from_paired:  # GMI scenes only: nothing ties them to an SSMIS tile
        gmi_swaths += [
            train.swath_array(s.gmi, train.GMI_CHANNELS, densify=False) for s in paired_scenes
        ]
    source_tiles = train.extract_tiles(arrays["ssmis"], (64, 32), max_tiles=args.max_tiles)
    gmi_tiles = train.extract_tiles(gmi_swaths, (64, 32), max_tiles=args.max_tiles, seed=1)
    print(
        f"unpaired tiles: {len(source_tiles)} SSMIS, {len(gmi_tiles)} GMI "
        f"({len(arrays['ssmis'])} + {len(arrays['gmi'])} overpasses)",
        flush=True,
    )

    # 2. paired 2021 data: validation (source-DPR) and the fine-tuning pairs ----------------
    pairs = train.paired_fields(paired_scenes, drain=args.drain)
    drain_version = models.card(args.drain).version
    validation = train.rain_validation(pairs, drain=args.drain)
    print(f"paired scenes: {len(pairs)} (2021; validation); DRAIN {drain_version}", flush=True)
    selected = {"validation": args.validate_every}

    # 3. CycleGAN_R: stage 1 (+ optional stage 2), then Red-GAN and DANN from it ------------
    generator_kwargs = {
        "base_channels": args.generator_base,
        "depth": args.generator_depth,
        "max_channels": 128,
    }
    sharpened = cyclegan.load_checkpoint(args.sharpened) if args.sharpened else None
    if args.minutes_sharpen > 0:
        sharpened = cyclegan.train_sharpening(
            source_tiles,
            gmi_tiles,
            source_channels=train.SOURCE_CHANNELS["ssmis"],
            generator_kwargs=generator_kwargs,
            init=sharpened,
            steps=1_000_000,
            max_minutes=args.minutes_sharpen,
            learning_rate=args.learning_rate_sharpen,
            structure_sampling=args.structure_sampling,
            validation=validation,
            validate_every=args.validate_every,
        )
    if sharpened is None:
        raise SystemExit("--minutes-sharpen 0 needs --sharpened CHECKPOINT")
    cyclegan.save_checkpoint(sharpened, results_dir / "sharpened.pt")
    cyc = sharpened
    if args.minutes_cyclegan > 0:
        cyc = cyclegan.train_cyclegan(
            source_tiles,
            gmi_tiles,
            source_channels=train.SOURCE_CHANNELS["ssmis"],
            init=copy.deepcopy(sharpened),
            steps=1_000_000,
            max_minutes=args.minutes_cyclegan,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate_cyclegan,
            loss_weights={"adversarial": args.adversarial_weight},
            validation=validation,
            validate_every=args.validate_every,
        )
    red = cyc
    if args.minutes_redgan > 0:
        red = cyclegan.train_sharpening(
            source_tiles,
            gmi_tiles,
            source_channels=train.SOURCE_CHANNELS["ssmis"],
            init=copy.deepcopy(cyc),
            steps=1_000_000,
            max_minutes=args.minutes_redgan,
            learning_rate=args.learning_rate_redgan,
            rain_weight=args.redgan_rain_weight,
            structure_sampling=args.structure_sampling,
            drain=args.drain,
            validation=validation,
            validate_every=args.validate_every,
        )
    if args.minutes_redgan_paired > 0:
        red = cyclegan.train_cyclegan(
            source_tiles,
            gmi_tiles,
            source_channels=train.SOURCE_CHANNELS["ssmis"],
            method="redgan",
            rain_pairs=[(f.source, f.drain_gmi) for f in pairs],
            init=copy.deepcopy(red),
            steps=1_000_000,
            max_minutes=args.minutes_redgan_paired,
            batch_size=args.batch_size,
            rain_every=args.rain_every,
            loss_weights={"rain": args.rain_weight, "adversarial": 0.0},
            learning_rate=args.learning_rate_redgan,
            drain=args.drain,
        )
    red.drain_version = drain_version
    dan = None
    if args.minutes_dann > 0:
        dan = dann.train_dann(
            cyc,
            source_tiles,
            gmi_tiles,
            drain=args.drain,
            steps=1_000_000,
            max_minutes=args.minutes_dann,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate_redgan,
            domain_weight=args.dann_weight,
            validation=validation,
            validate_every=args.validate_every,
        )
    results = {"cyclegan_r": cyc, "redgan": red} | ({"dann": dan} if dan else {})
    for key, result in results.items():
        cyclegan.save_checkpoint(result, results_dir / f"{key}.pt")
        selected[key] = result.selection
    eval_windows = _windows(args.eval_dates.split(","), 1.0)
    test = train.paired_fields(
        _done_scenes([Path(p) for p in args.eval_cache], eval_windows, "ssmis-f17"),
        drain=args.drain,
    )
    print(f"paired scenes for evaluation (2022): {len(test)}", flush=True)
    identity = cyclegan.train_cyclegan(
        source_tiles[:2],
        gmi_tiles[:2],
        steps=0,
        progress=False,
        source_channels=train.SOURCE_CHANNELS["ssmis"],
    )
    table = {"identity (no adaptation)": train.score_generator(identity.generator, test)}
    for key, result in results.items():
        table[key] = train.score_generator(result.generator, test, drain=args.drain)
    gmi_scores = ceiling(test)
    print(json.dumps(table, indent=1), flush=True)

    # 4. fine-tuning learning curve ---------------------------------------------------------
    rng = np.random.default_rng(0)
    with_dpr = [f for f in pairs if np.isfinite(f.dpr).sum() > 500]
    order = rng.permutation(len(with_dpr))
    curve = []
    sizes = [min(int(v), len(with_dpr)) for v in args.curve.split(",")]
    for n in sizes:
        if n == 0:
            scores, steps = table["redgan"], 0
        else:
            chosen = [with_dpr[i] for i in order[:n]]
            tuned = cyclegan.fine_tune(
                red,
                [(f.source, f.dpr) for f in chosen],
                source_tiles,
                gmi_tiles,
                steps=100_000,
                max_minutes=args.minutes_finetune,
                drain=args.drain,
                batch_size=args.batch_size,
                rain_every=args.rain_every,
                loss_weights={"adversarial": 0.0},  # the adversarial term lowered rain skill
            )
            scores = train.score_generator(tuned.generator, test, drain=args.drain)
            steps = len(tuned.history)
            if n == max(sizes):
                table[f"redgan + DPR fine-tuning ({n} overpasses)"] = scores
        pixels = int(sum(np.isfinite(with_dpr[i].dpr).sum() for i in order[:n]))
        curve.append({"overpasses": n, "dpr_pixels": pixels, "steps": steps, **scores})
        print(
            f"fine-tuning on {n} overpasses ({pixels} DPR pixels): csi {scores['csi']:.3f} "
            f"corr {scores['correlation']:.3f} mse {scores['mse']:.3f}",
            flush=True,
        )
    for name in table:
        table[name].update(gap_closed(table[name], table["identity (no adaptation)"], gmi_scores))
    table["DRAIN on paired GMI (ceiling)"] = gmi_scores

    meta = {
        "command": command,
        "minutes": round((time.perf_counter() - t0) / 60, 1),
        "drain_version": drain_version,
        "unpaired_tiles": [int(len(source_tiles)), int(len(gmi_tiles))],
        "paired_train_scenes": len(pairs),
        "test_scenes": len(test),
        "steps": {key: len(result.history) for key, result in results.items()},
        "selection": selected,
    }
    (results_dir / "results.json").write_text(
        json.dumps(
            {
                "meta": meta,
                "table": table,
                "curve": curve,
                **{f"history_{k}": r.history[::10] for k, r in results.items()},
            },
            indent=1,
        )
    )
    (results_dir / "table.md").write_text(_markdown(table, curve, meta))
    print(_markdown(table, curve, meta), flush=True)
    images = ROOT / "docs" / "images" if args.save and len(curve) > 1 else results_dir
    _figure_curve(curve, table, images / "cyclegan_learning_curve.png")
    _figure_example(
        test,
        {"CycleGAN_R": cyc.generator, "Red-GAN": red.generator}
        | ({"DANN": dan.generator} if dan else {}),
        identity.generator,
        args.drain,
        images / "cyclegan_example.png",
    )
    if args.save:
        _save(args, results, table, test, pairs, source_tiles, gmi_tiles, command)


def _save(args, results, table, test, pairs, source_tiles, gmi_tiles, command) -> None:
    """Write the generators to the model registry with cards saying how they were made."""
    from xgpm.translate import cyclegan

    common = (
        "Trained on simulated data only: unpaired SSMIS (F16, F17, F18; densified to GMI "
        f"sampling) and GMI overpasses of 2021 ({len(source_tiles)} + {len(gmi_tiles)} tiles "
        "of 64 x 32 pixels; regions france, tropical-atlantic, tropical-pacific, conus), "
        "xgpm.simulate; not real observations. Physics-structured inverse F (nearest GMI "
        "channel seen through the registry footprints, SSMIS NEDT added; fixed). Stage 1: the "
        f"backward cycle G(F(y)) ~ y alone (L1; {args.minutes_sharpen} min"
        + (f" from {args.sharpened}" if args.sharpened else "")
        + "). Every stage keeps the generator with the lowest validation MSE of DRAIN on its "
        f"pseudo-GMI against the DPR over {len(pairs)} simulated 2021 SSMIS-F17/DPR "
        f"coincidences ({args.paired_dates}), scored every {args.validate_every} steps."
    )
    notes = {
        "cyclegan_r": (
            f" Stage 2 (adversarial, {args.minutes_cyclegan} min)."
            if args.minutes_cyclegan > 0
            else " No adversarial stage: it lowered the rain skill (docs/models/cyclegan.md)."
        ),
        "redgan": (
            " Red-GAN: then the frozen DRAIN as third player on the same cycle, "
            f"{args.redgan_rain_weight} x MSE(DRAIN(G(F(y))), DRAIN(y)) "
            f"({args.minutes_redgan} min, learning rate {args.learning_rate_redgan}); no scene "
            "is paired."
            + (
                f" Then the paired rain term ({args.minutes_redgan_paired} min)."
                if args.minutes_redgan_paired > 0
                else ""
            )
        ),
        "dann": (
            " DANN: then a domain classifier on DRAIN's bottleneck features (real GMI vs "
            f"pseudo-GMI) behind a gradient reversal layer, weight {args.dann_weight} "
            f"({args.minutes_dann} min); no scene is paired."
        ),
    }
    for key, result in results.items():
        metrics = {
            "dataset": f"simulated paired 2022 SSMIS-F17 / virtual GMI-DPR scenes "
            f"({len(test)} overpasses; days {args.eval_dates})",
            "reference": "DPR near-surface rain on GMI footprints",
            **{
                k: round(v, 4)
                for k, v in table[key].items()
                if not k.startswith("tb_mae_") or k == "tb_mae_k"
            },
            "tb_mae_k_per_channel": {
                k[7:]: round(v, 2)
                for k, v in table[key].items()
                if k.startswith("tb_mae_") and k != "tb_mae_k"
            },
            "csi_threshold_mm_h": 1.0,
            "selected_step": (result.selection or {}).get("best_step"),
            "command": command,
        }
        path = cyclegan.save_generator(
            f"{key}-ssmis",
            result,
            method=key,
            training_data=common + notes[key],
            command=command,
            metrics=metrics,
            version="0.3.0",
        )
        print(f"wrote {path}")


def _markdown(table: dict, curve: list, meta: dict) -> str:
    lines = [
        "| model | MSE | CSI (1 mm/h) | correlation | bias % | TB MAE (K) | gap closed MSE / "
        "CSI / corr |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in table.items():
        gap = (
            f"{s['gap_closed_mse']:.2f} / {s['gap_closed_csi']:.2f} / "
            f"{s['gap_closed_correlation']:.2f}"
            if "gap_closed_mse" in s
            else "-"
        )
        tb = f"{s['tb_mae_k']:.2f}" if "tb_mae_k" in s else "-"
        lines.append(
            f"| {name} | {s['mse']:.3f} | {s['csi']:.3f} | {s['correlation']:.3f} | "
            f"{s['bias_pct']:.1f} | {tb} | {gap} |"
        )
    lines += [
        "",
        "| paired overpasses | DPR pixels | steps | MSE | CSI | correlation |",
        "|---|---|---|---|---|---|",
    ]
    for c in curve:
        lines.append(
            f"| {c['overpasses']} | {c['dpr_pixels']} | {c['steps']} | {c['mse']:.3f} | "
            f"{c['csi']:.3f} | {c['correlation']:.3f} |"
        )
    lines += [
        "",
        f"run: `{meta['command']}` ({meta['minutes']} min; DRAIN "
        f"{meta['drain_version']}; {meta['test_scenes']} test overpasses)",
        "",
    ]
    return "\n".join(lines)


def _figure_curve(curve: list, table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    x = [max(c["overpasses"], 0.5) for c in curve]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, key, label in zip(
        axes,
        ("csi", "correlation", "mse"),
        ("CSI (1 mm/h)", "correlation", "MSE (mm/h)$^2$"),
        strict=True,
    ):
        ax.plot(x, [c[key] for c in curve], "o-", label="Red-GAN + DPR fine-tuning")
        ax.axhline(
            table["DRAIN on paired GMI (ceiling)"][key], color="k", ls="--", label="DRAIN on GMI"
        )
        ax.axhline(table["identity (no adaptation)"][key], color="r", ls=":", label="no adaptation")
        ax.axhline(table["cyclegan_r"][key], color="g", ls="-.", label="CycleGAN_R")
        ax.set_xscale("log")
        ax.set_xlabel("paired overpasses with DPR (0 plotted at 0.5)")
        ax.set_title(label)
    axes[0].legend(fontsize=7)
    fig.suptitle("DRAIN(pseudo-GMI from SSMIS) vs DPR, simulated 2022 scenes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _figure_example(fields: list, generators: dict, identity: Any, drain: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from xgpm.translate.cyclegan import _Drain
    from xgpm.translate.train import GMI_CHANNELS, translate_field

    field = max(fields, key=lambda f: float(np.nansum(f.dpr)))
    network = _Drain(drain, GMI_CHANNELS, "cpu")
    c89 = GMI_CHANNELS.index("89V")
    rows = {"no adaptation": identity, **generators}
    fig, axes = plt.subplots(2, len(rows) + 1, figsize=(3.2 * (len(rows) + 1), 6))
    valid = np.isfinite(field.source).all(0)
    with torch.no_grad():
        for i, (name, gen) in enumerate(rows.items()):
            pseudo, rain = translate_field(gen, field.source, network)
            tb = pseudo[c89]
            axes[0, i].imshow(np.where(valid, tb, np.nan).T, vmin=200, vmax=290, cmap="viridis")
            axes[0, i].set_title(f"{name}: 89V (K)")
            axes[1, i].imshow(np.where(valid, rain, np.nan).T, vmin=0, vmax=10, cmap="Blues")
            axes[1, i].set_title(f"DRAIN({name})")
    axes[0, -1].imshow(field.gmi[c89].T, vmin=200, vmax=290, cmap="viridis")
    axes[0, -1].set_title("paired GMI: 89V (K)")
    axes[1, -1].imshow(field.dpr.T, vmin=0, vmax=10, cmap="Blues")
    axes[1, -1].set_title("DPR rain (mm/h)")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"simulated 2022 scene {field.name} (rows: along track)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
