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

The stages are package code (:mod:`xgpm.pipelines.to_gmi`, reports in
:mod:`xgpm.pipelines.to_gmi_report`); this script keeps the benchmark's command line and its
defaults (figures in ``docs/images`` with ``--save``).

Run (about 35 min at one thread)::

    nice -n 5 python benchmarks/train_to_gmi.py --save --results /tmp/gan/results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xgpm.pipelines.to_gmi import (  # noqa: F401  (the stages, importable from here as before)
    REGIONS,
    ceiling,
    gap_closed,
    run_pipeline,
)
from xgpm.pipelines.to_gmi import done_scenes as _done_scenes  # noqa: F401
from xgpm.pipelines.to_gmi import windows as _windows  # noqa: F401
from xgpm.pipelines.to_gmi_report import markdown as _markdown  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
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
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    run_pipeline(
        args,
        command="nice -n 5 python benchmarks/train_to_gmi.py " + " ".join(given),
        docs_images=ROOT / "docs" / "images",
    )


if __name__ == "__main__":
    main()
