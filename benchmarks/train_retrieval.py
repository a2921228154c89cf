"""First end-to-end training and evaluation of xgpm's rain retrievals on SIMULATED data.

Simulates GMI + DPR overpasses (``xgpm.simulate``) for training days and for *different*
held-out days, builds GMI-DPR matchup stores (``xgpm.matchups.build_matchups``), trains the
4-channel DRAIN U-Net for a bounded number of epochs on CPU, fits the BRAIN Bayesian database on
a subsample of the training pixels, and scores both on the held-out pixels the DPR saw: MSE,
MAE, bias, correlation, CSI/POD/FAR at 1 mm/h, the quantile calibration (plain and randomized
PIT coverage, :func:`xgpm.verify.calibration.quantile_calibration`), and the same stratified
by surface type, climate zone, season and rain regime.

Everything here is simulated data; the model is a first small run, not a validated retrieval.

Usage::

    python benchmarks/train_retrieval.py --minutes 30 --extra-windows --save --write-docs
    python benchmarks/train_retrieval.py --stage data      # only simulate (cached, resumable)
    python benchmarks/train_retrieval.py --stage eval --write-docs   # score the registered models

``--write-docs`` writes ``docs/models/drain.md`` (every table) and ``docs/images/drain_*.png``.

Cache: ``/tmp/xgpm-train`` (``--cache``), never the repository.

The code is package code: the stages in :mod:`xgpm.pipelines.drain`, the run in
:mod:`xgpm.pipelines.drain_run`, the report in :mod:`xgpm.pipelines.drain_docs`; this script
keeps the command line and writes the docs of this repository.
"""

from __future__ import annotations

from pathlib import Path

from xgpm.pipelines.drain import *  # noqa: F403  (the stages, importable from here as before)
from xgpm.pipelines.drain_run import main as _main

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> dict:
    """Run the benchmark; ``--write-docs`` writes this repository's docs."""
    return _main(argv, root=ROOT)


if __name__ == "__main__":
    main()
