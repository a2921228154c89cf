"""The to_gmi benchmark's training pipeline: CycleGAN_R, Red-GAN, DANN and the learning curve.

``benchmarks/train_to_gmi.py`` (its docstring has the usage and the command line) runs these
stages; ``options`` below is its parsed command line (an :class:`argparse.Namespace`). Everything
is simulated; training uses 2021 only, the evaluation 2022 paired scenes:

1. **Unpaired data** (:func:`unpaired_tiles`): SSMIS and GMI overpasses of 2021 (cached), cut
   into 64 x 32 tiles; the paired 2021 scenes already simulated (:func:`done_scenes` of
   :func:`windows`).
2. **Models** (:func:`train_models`): CycleGAN_R stage 1 (+ optional stage 2), then Red-GAN and
   DANN from it, each keeping its best generator on the 2021 source-DPR validation.
3. **Evaluation** (:func:`evaluate`) on paired 2022 scenes, next to no adaptation and DRAIN on the
   paired GMI (:func:`ceiling`); the share of the gap each closes (:func:`gap_closed`).
4. **Learning curve** (:func:`learning_curve`): Red-GAN fine-tuned on 0, a few, more ... paired
   overpasses with DPR rain.

:func:`run_pipeline` runs them all and writes ``results.json``, ``table.md``, the figures and
(``options.save``) the registry entries (:mod:`xgpm.pipelines.to_gmi_report`).
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from xgpm.errors import InvalidArgumentError
from xgpm.pipelines.to_gmi_report import figure_curve, figure_example, markdown, save_models

__all__ = [
    "IDENTITY",
    "CEILING",
    "REGIONS",
    "ceiling",
    "done_scenes",
    "evaluate",
    "gap_closed",
    "learning_curve",
    "run_pipeline",
    "train_models",
    "unpaired_tiles",
    "windows",
]

REGIONS = ("france", "tropical-atlantic", "tropical-pacific", "conus")
#: Rows of the results table: no adaptation, and DRAIN on the paired GMI.
IDENTITY, CEILING = "identity (no adaptation)", "DRAIN on paired GMI (ceiling)"


def windows(dates: list[str], days: float, regions=REGIONS) -> list[Any]:
    """One :class:`~xgpm.translate.scenes.Window` per date and region (dates outermost)."""
    from xgpm.translate.scenes import Window

    return [Window(r, d, days) for d in dates for r in regions]


def done_scenes(caches: list[Path], windows: list[Any], source: str) -> list[Any]:
    """Scenes of the windows already simulated in any of the caches (read only)."""
    from xgpm.translate.scenes import load_scene

    scenes, seen = [], set()
    for window in windows:
        name = f"{source}_{window.region}_{window.start}_{window.days:g}d_s0"
        for cache in caches:
            folder = Path(cache) / name
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


def unpaired_tiles(options) -> tuple[Any, Any, list[Any]]:
    """SSMIS and GMI tiles (64 x 32) of the 2021 overpasses, and the paired 2021 scenes."""
    from xgpm.translate import train

    files = train.simulate_overpasses(
        options.cache[0],
        regions=("france", "tropical-atlantic", "tropical-pacific"),
        dates=options.train_dates.split(","),
    )
    for folder in options.cache:  # and any other cached 2021 overpass
        files += sorted(Path(folder).glob("*.npz"))
    arrays = train.load_overpasses(sorted(set(files)))
    gmi_swaths = list(arrays["gmi"])
    paired_windows = windows(options.paired_dates.split(","), 1.0)
    paired_scenes = done_scenes([Path(p) for p in options.pairs_cache], paired_windows, "ssmis-f17")
    if options.gmi_from_paired:  # GMI scenes only: nothing ties them to an SSMIS tile
        gmi_swaths += [
            train.swath_array(s.gmi, train.GMI_CHANNELS, densify=False) for s in paired_scenes
        ]
    source_tiles = train.extract_tiles(arrays["ssmis"], (64, 32), max_tiles=options.max_tiles)
    gmi_tiles = train.extract_tiles(gmi_swaths, (64, 32), max_tiles=options.max_tiles, seed=1)
    print(
        f"unpaired tiles: {len(source_tiles)} SSMIS, {len(gmi_tiles)} GMI "
        f"({len(arrays['ssmis'])} + {len(arrays['gmi'])} overpasses)",
        flush=True,
    )
    return source_tiles, gmi_tiles, paired_scenes


def train_models(
    options,
    source_tiles,
    gmi_tiles,
    pairs,
    validation,
    results_dir: Path,
    *,
    drain_version: str | None = None,
) -> dict[str, Any]:
    """CycleGAN_R (stage 1, optional stage 2), then Red-GAN and DANN from it.

    ``drain_version`` is stamped on Red-GAN's result (before DANN trains, as it always was).

    Returns ``{"cyclegan_r": ..., "redgan": ...[, "dann": ...]}`` (training results with
    ``generator``, ``history`` and ``selection``); ``sharpened.pt`` goes to ``results_dir``.
    """
    from xgpm.translate import cyclegan, dann, train

    source_channels = train.SOURCE_CHANNELS["ssmis"]
    generator_kwargs = {
        "base_channels": options.generator_base,
        "depth": options.generator_depth,
        "max_channels": 128,
    }
    sharpened = cyclegan.load_checkpoint(options.sharpened) if options.sharpened else None
    if options.minutes_sharpen > 0:
        sharpened = cyclegan.train_sharpening(
            source_tiles,
            gmi_tiles,
            source_channels=source_channels,
            generator_kwargs=generator_kwargs,
            init=sharpened,
            steps=1_000_000,
            max_minutes=options.minutes_sharpen,
            learning_rate=options.learning_rate_sharpen,
            structure_sampling=options.structure_sampling,
            validation=validation,
            validate_every=options.validate_every,
        )
    if sharpened is None:
        raise InvalidArgumentError(
            "--minutes-sharpen 0 skips stage 1, so it needs a stage-1 checkpoint: pass "
            "--sharpened CHECKPOINT (a file written by save_checkpoint)"
        )
    cyclegan.save_checkpoint(sharpened, results_dir / "sharpened.pt")
    cyc = sharpened
    if options.minutes_cyclegan > 0:
        cyc = cyclegan.train_cyclegan(
            source_tiles,
            gmi_tiles,
            source_channels=source_channels,
            init=copy.deepcopy(sharpened),
            steps=1_000_000,
            max_minutes=options.minutes_cyclegan,
            batch_size=options.batch_size,
            learning_rate=options.learning_rate_cyclegan,
            loss_weights={"adversarial": options.adversarial_weight},
            validation=validation,
            validate_every=options.validate_every,
        )
    red = cyc
    if options.minutes_redgan > 0:
        red = cyclegan.train_sharpening(
            source_tiles,
            gmi_tiles,
            source_channels=source_channels,
            init=copy.deepcopy(cyc),
            steps=1_000_000,
            max_minutes=options.minutes_redgan,
            learning_rate=options.learning_rate_redgan,
            rain_weight=options.redgan_rain_weight,
            structure_sampling=options.structure_sampling,
            drain=options.drain,
            validation=validation,
            validate_every=options.validate_every,
        )
    if options.minutes_redgan_paired > 0:
        red = cyclegan.train_cyclegan(
            source_tiles,
            gmi_tiles,
            source_channels=source_channels,
            method="redgan",
            rain_pairs=[(f.source, f.drain_gmi) for f in pairs],
            init=copy.deepcopy(red),
            steps=1_000_000,
            max_minutes=options.minutes_redgan_paired,
            batch_size=options.batch_size,
            rain_every=options.rain_every,
            loss_weights={"rain": options.rain_weight, "adversarial": 0.0},
            learning_rate=options.learning_rate_redgan,
            drain=options.drain,
        )
    red.drain_version = drain_version
    dan = None
    if options.minutes_dann > 0:
        dan = dann.train_dann(
            cyc,
            source_tiles,
            gmi_tiles,
            drain=options.drain,
            steps=1_000_000,
            max_minutes=options.minutes_dann,
            batch_size=options.batch_size,
            learning_rate=options.learning_rate_redgan,
            domain_weight=options.dann_weight,
            validation=validation,
            validate_every=options.validate_every,
        )
    return {"cyclegan_r": cyc, "redgan": red} | ({"dann": dan} if dan else {})


def evaluate(
    options, results: dict[str, Any], source_tiles, gmi_tiles
) -> tuple[dict, list[Any], Any, dict]:
    """Score every model on the paired 2022 scenes of ``options.eval_cache``.

    Returns the table (:data:`IDENTITY` first, then one row per model), the test fields, the
    identity result (no adaptation) and the ceiling's scores (:func:`ceiling`).
    """
    from xgpm.translate import cyclegan, train

    eval_windows = windows(options.eval_dates.split(","), 1.0)
    test = train.paired_fields(
        done_scenes([Path(p) for p in options.eval_cache], eval_windows, "ssmis-f17"),
        drain=options.drain,
    )
    print(f"paired scenes for evaluation (2022): {len(test)}", flush=True)
    identity = cyclegan.train_cyclegan(
        source_tiles[:2],
        gmi_tiles[:2],
        steps=0,
        progress=False,
        source_channels=train.SOURCE_CHANNELS["ssmis"],
    )
    table = {IDENTITY: train.score_generator(identity.generator, test)}
    for key, result in results.items():
        table[key] = train.score_generator(result.generator, test, drain=options.drain)
    gmi_scores = ceiling(test)
    print(json.dumps(table, indent=1), flush=True)
    return table, test, identity, gmi_scores


def learning_curve(
    options, red, pairs, table: dict, test, source_tiles, gmi_tiles
) -> list[dict[str, Any]]:
    """Red-GAN fine-tuned on ``options.curve`` paired overpasses with DPR rain, scored on ``test``.

    0 overpasses reads ``table["redgan"]``; the largest size adds a row to ``table``.
    """
    from xgpm.translate import cyclegan, train

    rng = np.random.default_rng(0)
    with_dpr = [f for f in pairs if np.isfinite(f.dpr).sum() > 500]
    order = rng.permutation(len(with_dpr))
    curve = []
    sizes = [min(int(v), len(with_dpr)) for v in options.curve.split(",")]
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
                max_minutes=options.minutes_finetune,
                drain=options.drain,
                batch_size=options.batch_size,
                rain_every=options.rain_every,
                loss_weights={"adversarial": 0.0},  # the adversarial term lowered rain skill
            )
            scores = train.score_generator(tuned.generator, test, drain=options.drain)
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
    return curve


def run_pipeline(options, *, command: str, docs_images: Path) -> dict[str, Any]:
    """The whole benchmark (``options``: the parsed ``benchmarks/train_to_gmi.py`` command line).

    Writes the checkpoints, ``results.json`` and ``table.md`` to ``options.results``; the figures
    to ``docs_images`` with ``options.save`` and a learning curve of two points or more (else to
    ``options.results``); with ``options.save`` the generators to the model registry. Returns
    what ``results.json`` holds (``meta``, ``table``, ``curve``, ``history_*``).
    """
    import torch

    from xgpm import models
    from xgpm.translate import cyclegan, train

    torch.set_num_threads(options.threads)
    results_dir = Path(options.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    # 1. unpaired data; 2. paired 2021 data: validation (source-DPR) and the fine-tuning pairs
    source_tiles, gmi_tiles, paired_scenes = unpaired_tiles(options)
    pairs = train.paired_fields(paired_scenes, drain=options.drain)
    drain_version = models.card(options.drain).version
    validation = train.rain_validation(pairs, drain=options.drain)
    print(f"paired scenes: {len(pairs)} (2021; validation); DRAIN {drain_version}", flush=True)
    selected = {"validation": options.validate_every}

    # 3. CycleGAN_R: stage 1 (+ optional stage 2), then Red-GAN and DANN from it; evaluation
    results = train_models(
        options,
        source_tiles,
        gmi_tiles,
        pairs,
        validation,
        results_dir,
        drain_version=drain_version,
    )
    for key, result in results.items():
        cyclegan.save_checkpoint(result, results_dir / f"{key}.pt")
        selected[key] = result.selection
    table, test, identity, gmi_scores = evaluate(options, results, source_tiles, gmi_tiles)

    # 4. fine-tuning learning curve
    curve = learning_curve(options, results["redgan"], pairs, table, test, source_tiles, gmi_tiles)
    for name in table:
        table[name].update(gap_closed(table[name], table[IDENTITY], gmi_scores))
    table[CEILING] = gmi_scores

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
    report = {
        "meta": meta,
        "table": table,
        "curve": curve,
        **{f"history_{k}": r.history[::10] for k, r in results.items()},
    }
    (results_dir / "results.json").write_text(json.dumps(report, indent=1))
    (results_dir / "table.md").write_text(markdown(table, curve, meta))
    print(markdown(table, curve, meta), flush=True)
    images = Path(docs_images) if options.save and len(curve) > 1 else results_dir
    figure_curve(curve, table, images / "cyclegan_learning_curve.png")
    figure_example(
        test,
        {"CycleGAN_R": results["cyclegan_r"].generator, "Red-GAN": results["redgan"].generator}
        | ({"DANN": results["dann"].generator} if "dann" in results else {}),
        identity.generator,
        options.drain,
        images / "cyclegan_example.png",
    )
    if options.save:
        save_models(options, results, table, test, pairs, source_tiles, gmi_tiles, command)
    return report
