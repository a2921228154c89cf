"""``xgpm train to-gmi``: train a TB-field translation model (CycleGAN_R, Red-GAN) to pseudo-GMI.

Training reads *unpaired* scenes: brightness temperatures of the source radiometer (SSMIS),
densified to GMI's pixel spacing by :func:`xgpm.translate.grid.to_gmi_sampling`, and of GMI,
from either

- a directory of PPS granules (``--granules DIR``: ``1C-SSMIS-F1x`` and ``1C-GMI`` files, or the
  ``catalog.csv`` that ``xgpm simulate`` writes), or
- the simulator itself (``--simulate``), which caches one small ``.npz`` per overpass in
  ``--cache DIR`` so that a second run does not simulate again.

Each overpass is cut into all-finite tiles (``--tile ROWS COLS`` on (cross_track, along_track));
the tiles (:mod:`xgpm.translate.data`) are what :func:`xgpm.translate.cyclegan.train_cyclegan`
trains on. Red-GAN
(``--method redgan``) also needs *paired* tiles (source and GMI of the same scene at the same
time): they come from :func:`xgpm.translate.scenes.paired_scenes` (``--paired-days``).

``--method dann`` refines a stage-1 generator (``--sharpen-steps``) by aligning DRAIN's features of
pseudo-GMI and GMI (:func:`xgpm.translate.dann.train_dann`); ``--validate-every N`` keeps the
best step of each stage by DRAIN's MSE against the DPR of the paired windows.

Examples
--------
``xgpm train to-gmi --method cyclegan_r --source ssmis --simulate --cache /tmp/c --minutes 10``
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xgpm._argtypes import non_negative_float, non_negative_int, positive_float, positive_int
from xgpm.errors import InvalidArgumentError
from xgpm.translate.data import (  # noqa: F401  (defined there, importable from here too)
    DEFAULT_REGIONS,
    DEFAULT_TRAIN_DATES,
    EDGE_PIXELS,
    GMI_CHANNELS,
    SOURCE_CHANNELS,
    SOURCE_SENSORS,
    PairedField,
    _check_source,
    extract_tiles,
    load_overpasses,
    overpasses_from_granules,
    paired_fields,
    paired_training_fields,
    rain_scores,
    rain_validation,
    score_generator,
    scored_pixels,
    simulate_overpasses,
    swath_array,
    translate_field,
)

__all__ = [
    "DEFAULT_REGIONS",
    "DEFAULT_TRAIN_DATES",
    "GMI_CHANNELS",
    "SOURCE_CHANNELS",
    "add_parser",
    "extract_tiles",
    "load_overpasses",
    "main",
    "overpasses_from_granules",
    "PairedField",
    "paired_fields",
    "run",
    "simulate_overpasses",
    "swath_array",
]


# ------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------


def add_parser(subparsers: Any, name: str = "to-gmi") -> argparse.ArgumentParser:
    """Register the ``to-gmi`` training command on an ``argparse`` sub-parsers object."""
    parser = subparsers.add_parser(
        name,
        help="train a to_gmi translation model (CycleGAN_R, Red-GAN) on unpaired scenes",
        description=__doc__.split("\n\n")[0],
    )
    _arguments(parser)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=("cyclegan_r", "redgan", "dann"), default="cyclegan_r")
    parser.add_argument("--source", default="ssmis", choices=sorted(SOURCE_CHANNELS))
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--granules", help="directory (or catalog.csv) of GMI and source granules")
    data.add_argument("--simulate", action="store_true", help="simulate the training scenes")
    parser.add_argument("--cache", default=None, help="cache directory of the scene arrays")
    parser.add_argument("--regions", default=",".join(DEFAULT_REGIONS))
    parser.add_argument("--dates", default=",".join(DEFAULT_TRAIN_DATES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tile", type=positive_int, nargs=2, default=(64, 32), metavar=("ROWS", "COLS")
    )
    parser.add_argument("--max-tiles", type=positive_int, default=2000)
    parser.add_argument(
        "--steps", type=non_negative_int, default=2000, help="training steps (at most)"
    )
    parser.add_argument("--minutes", type=positive_float, default=None, help="wall-clock cap")
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--learning-rate", type=positive_float, default=2e-4)
    parser.add_argument(
        "--paired-windows",
        dest="paired_windows",
        type=positive_int,
        default=4,
        help="redgan: paired 2021 windows simulated",
    )
    parser.add_argument(
        "--drain", default="drain", help="redgan, dann: registered DRAIN model (frozen)"
    )
    parser.add_argument(
        "--domain-weight",
        type=non_negative_float,
        default=0.1,
        help="dann: weight of the domain term",
    )
    parser.add_argument("--init", default=None, help="start from this registered generator")
    parser.add_argument(
        "--sharpen-steps",
        type=non_negative_int,
        default=0,
        help="stage 1 first: steps of the backward cycle alone (the generator learns to undo "
        "the registry footprints on GMI scenes; see xgpm.translate.cyclegan.train_sharpening)",
    )
    parser.add_argument(
        "--sharpen-minutes", type=positive_float, default=None, help="stage-1 time cap"
    )
    parser.add_argument(
        "--validate-every",
        type=int,
        default=0,
        help="score DRAIN on pseudo-GMI against the DPR of the paired windows every N steps and "
        "keep the best generator of each stage (0: keep the last)",
    )
    parser.add_argument("--base-channels", type=positive_int, default=16, help="generator width")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")
    parser.add_argument("--name", default=None, help="save under this name (default METHOD-SOURCE)")
    parser.add_argument("--output-dir", default=None, help="registry directory to write")
    parser.add_argument("--no-save", action="store_true", help="train only, write nothing")


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm train to-gmi``."""
    from xgpm.translate import checkpoints, sharpening, training

    training.set_threads(args.threads)
    source = _check_source(args.source)
    if args.simulate:
        cache = args.cache or "xgpm-to-gmi-cache"
        files = simulate_overpasses(
            cache,
            source=source,
            regions=[r for r in args.regions.split(",") if r],
            dates=[d for d in args.dates.split(",") if d],
            seed=args.seed,
        )
        origin = (
            f"simulated with xgpm.simulate (regions {args.regions}; days {args.dates}; seed "
            f"{args.seed})"
        )
    else:
        if not Path(args.granules).exists():
            from xgpm.errors import StorageError

            raise StorageError(
                f"--granules {args.granules}: no such directory or catalog.csv; pass the folder "
                "that `xgpm simulate --out` wrote (or a folder of PPS granules), or --simulate"
            )
        files = overpasses_from_granules(args.granules, source=source, cache=args.cache)
        origin = f"read from the granules of {args.granules}"
    arrays = load_overpasses(files)
    tile = tuple(args.tile)
    source_tiles = extract_tiles(arrays.get(source, []), tile, max_tiles=args.max_tiles)
    gmi_tiles = extract_tiles(arrays.get("gmi", []), tile, max_tiles=args.max_tiles)
    if len(source_tiles) == 0 or len(gmi_tiles) == 0:
        raise InvalidArgumentError(
            f"no complete {tile} tile in the training scenes ({len(source_tiles)} source, "
            f"{len(gmi_tiles)} GMI): use a smaller --tile or more scenes"
        )
    paired = validation = None
    if args.validate_every < 0:
        raise InvalidArgumentError(f"--validate-every must be >= 0, got {args.validate_every}")
    if args.method == "redgan" or args.validate_every:
        fields = paired_training_fields(
            source=source,
            windows=_paired_windows(args.paired_windows),
            seed=args.seed,
            drain=args.drain,
            cache=args.cache,
        )
        if args.method == "redgan":
            paired = [(f.source, f.drain_gmi) for f in fields]
        if args.validate_every:
            validation = rain_validation(fields, drain=args.drain)
    selection = {"validation": validation, "validate_every": max(args.validate_every, 1)}
    init: Any = None
    generator_kwargs = {"base_channels": args.base_channels, "max_channels": 128}
    if args.init:
        from xgpm import models

        init = models.load(args.init, "cpu")
        if args.sharpen_steps:
            raise InvalidArgumentError("--sharpen-steps trains a new generator: drop --init")
    if args.sharpen_steps:
        init = sharpening.train_sharpening(
            source_tiles,
            gmi_tiles,
            source_channels=SOURCE_CHANNELS[source],
            source_sensor=SOURCE_SENSORS[source][1],
            generator_kwargs=generator_kwargs,
            steps=args.sharpen_steps,
            max_minutes=args.sharpen_minutes,
            batch_size=args.batch_size,
            device=args.device,
            seed=args.seed,
            **selection,
        )
    if args.method == "dann":
        result = _train_dann(args, init, source_tiles, gmi_tiles, source, selection)
    else:
        result = training.train_cyclegan(
            source_tiles,
            gmi_tiles,
            source_channels=SOURCE_CHANNELS[source],
            method=args.method,
            rain_pairs=paired,
            drain=args.drain,
            steps=args.steps,
            max_minutes=args.minutes,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            device=args.device,
            seed=args.seed,
            init=init,
            generator_kwargs=generator_kwargs,
            **selection,
        )
    print(
        f"trained {args.method} on {len(source_tiles)} {source.upper()} and {len(gmi_tiles)} GMI "
        f"tiles: {len(result.history)} steps"
    )
    if args.no_save:
        return 0
    name = args.name or f"{args.method}-{source}"
    scenes = (
        f"unpaired {source.upper()} and GMI scenes {origin}, {len(source_tiles)} + "
        f"{len(gmi_tiles)} tiles of {tile[0]} x {tile[1]} pixels at GMI sampling"
    )
    if args.simulate:
        statement = f"Trained on simulated data only: {scenes}; not on real observations."
    else:
        statement = f"Trained on {scenes} (whatever those granules are: check their origin)."
    if validation is not None:
        statement += (
            f" Kept the generator with the lowest MSE of DRAIN ({args.drain}) on its pseudo-GMI "
            "against the DPR of the paired simulated 2021 overpasses, scored every "
            f"{args.validate_every} steps."
        )
    if args.method == "dann":
        statement += (
            f" DANN: a domain classifier on the bottleneck features of DRAIN ({args.drain}, "
            f"frozen) behind a gradient reversal layer, weight {args.domain_weight}."
        )
    if paired is not None:
        statement += (
            f" Red-GAN rain term: DRAIN ({args.drain}) on the paired GMI of {len(paired)} "
            "simulated 2021 overpasses (xgpm.translate.scenes.paired_scenes)."
        )
    path = checkpoints.save_generator(
        name,
        result,
        method=args.method,
        source=source,
        training_data=statement,
        command="xgpm train to-gmi " + _command_line(args),
        directory=args.output_dir,
    )
    print(f"wrote {path}")
    return 0


def _train_dann(
    args: argparse.Namespace,
    init: Any,
    source_tiles: np.ndarray,
    gmi_tiles: np.ndarray,
    source: str,
    selection: dict[str, Any],
) -> Any:
    """``--method dann``: DANN from stage 1 (``--sharpen-steps``) or a registered generator."""
    from xgpm.translate import dann, training

    if init is None:
        raise InvalidArgumentError(
            "--method dann refines a stage-1 generator: give --sharpen-steps N (or --init NAME)"
        )
    if not isinstance(init, training.CycleGANResult):  # a registered generator: add the physics
        init = training.train_cyclegan(
            source_tiles,
            gmi_tiles,
            source_channels=SOURCE_CHANNELS[source],
            source_sensor=SOURCE_SENSORS[source][1],
            init=init,
            steps=0,
            progress=False,
        )
    return dann.train_dann(
        init,
        source_tiles,
        gmi_tiles,
        drain=args.drain,
        steps=args.steps,
        max_minutes=args.minutes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        domain_weight=args.domain_weight,
        source_sensor=SOURCE_SENSORS[source][1],
        device=args.device,
        seed=args.seed,
        **selection,
    )


def _paired_windows(n: int) -> list[Any]:
    from xgpm.translate.scenes import TRAINING_WINDOWS

    return list(TRAINING_WINDOWS[:: max(1, len(TRAINING_WINDOWS) // max(n, 1))][:n])


def _command_line(args: argparse.Namespace) -> str:
    parts = [f"--method {args.method}", f"--source {args.source}"]
    parts.append("--simulate" if args.simulate else f"--granules {args.granules}")
    if args.minutes:
        parts.append(f"--minutes {args.minutes:g}")
    parts.append(f"--steps {args.steps}")
    return " ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xgpm.translate.train ...`` (the same as ``xgpm train to-gmi ...``)."""
    parser = argparse.ArgumentParser(prog="xgpm train to-gmi", description=__doc__.split("\n\n")[0])
    _arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
