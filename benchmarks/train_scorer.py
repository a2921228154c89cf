"""Train and evaluate the learned IMERG scorer on a simulated two-year France archive.

Steps (each cached under ``--work``, so a re-run resumes):

1. **Archive**: for each of the 24 months of 2021-2022, ``--days-per-month`` whole days
   (the 5th, 15th and 25th by default) of simulated IMERG half hours (``simulate_imerg``,
   0.1 deg, one truth sample per cell) and the simulated radar composite (``simulate_radar``,
   30-min steps, truth every 10 km), both on one truth world (``truth_scene`` with a 5 km
   engine); the radar becomes the reference on IMERG's grid (``reference_for``). One NetCDF
   file per day.
2. **Table**: per map, the IMERG fields the scorer reads, the true scores against the radar
   (``xgpm.verify.score``: CSI at 1 mm/h, FSS at 0.5 mm/h over 5 cells ~ 50 km) and the
   quality-index context of the baseline (``map_context``). Held out: whole months, every
   4th month (April, August, December of both years).
3. **Models**: the quality-index baseline (``QualityIndexBaseline``) and the learned scorer
   (``xgpm.verify.learned``: conv autoencoder + score head), fitted on the training months;
   DESOM and DEC clusters on its latent space (``xgpm.verify.learned.clusters``), labelled by the
   training maps' scores.
4. **Evaluation** on the held-out months: correlation of predicted vs true scores (learned vs
   baseline), share of the score variance the clusters explain. Figures go to
   ``docs/images/scorer_*.png``; ``--write-docs`` writes the table into ``docs/scoring.md``
   between the ``<!-- train_scorer:begin -->`` / ``end`` markers; ``--save`` writes the
   weights and card ``scorer`` into the model registry.

The stages are package code (``xgpm.pipelines.scorer``, also ``xgpm train scorer --simulate
WORK``); this script keeps the benchmark's command line and its defaults (figures in
``docs/images``, the table in ``docs/scoring.md``).

Run::

    nice -n 5 python benchmarks/train_scorer.py --workers 2 --minutes 10 --write-docs --save

All numbers come from *simulated* data (xgpm.simulate), not from real IMERG or radar.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from xgpm.pipelines.scorer import (  # noqa: F401  (the stages, importable from here as before)
    archive_days,
    build_archive,
    correlation,
    day_table,
    is_held_out,
    load_table,
    markdown,
    pipeline_options,
    run_pipeline,
    simulate_day,
)

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/scorer"))
    parser.add_argument("--days-per-month", type=int, default=3)
    parser.add_argument("--hours", type=float, default=24.0, help="hours simulated per day")
    parser.add_argument("--workers", type=int, default=1, help="simulation processes")
    parser.add_argument("--only-archive", action="store_true", help="simulate, then stop")
    parser.add_argument("--skip-simulation", action="store_true", help="use the days there")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=10.0, help="training wall-time cap")
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--reconstruction-weight", type=float, default=0.05)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--write-docs", action="store_true", help="update docs/scoring.md")
    parser.add_argument("--save", action="store_true", help="write weights + card 'scorer'")
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    run_pipeline(
        args.work,
        **pipeline_options(args),
        docs=ROOT / "docs" / "scoring.md" if args.write_docs else None,
        command="python benchmarks/train_scorer.py " + shlex.join(given),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
