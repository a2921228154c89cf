"""``xgpm train MODEL``: the trainers of every model family, under one command.

- ``xgpm train <retrieval model> --matchups ZARR``: every registered retrieval card (drain,
  drain-13ch, brain ...; :mod:`xgpm.models.cli`);
- ``xgpm train drain --simulate WORK``: the DRAIN benchmark pipeline on simulated data
  (:mod:`xgpm.pipelines.drain_run`);
- ``xgpm train scorer --archive ...``: the IMERG scorer (:mod:`xgpm.verify.learned.cli`);
- ``xgpm train scorer --simulate WORK``: the scorer's benchmark pipeline on a simulated archive
  (:mod:`xgpm.pipelines.scorer`);
- ``xgpm train to-gmi --method ... --source ...``: translation models (:mod:`xgpm.translate.train`).

It lives above the capabilities it dispatches to, so that the models floor imports none of them.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from xgpm._argtypes import add_no_progress, positive_float, positive_int
from xgpm.models.cli import (  # noqa: F401  (train_from_matchups: its old neighbour)
    add_retrieval_arguments,
    retrieval_models,
    run_retrieval,
    train_from_matchups,
)

__all__ = ["add_parser", "run"]


def _add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "benchmark pipeline (--simulate WORK instead of --archive)",
        "simulate a France archive of IMERG + radar under WORK (cached, resumable), train on "
        "all months but every 4th, evaluate on the held-out months (xgpm.pipelines.scorer)",
    )
    group.add_argument("--simulate", metavar="WORK", type=Path, help="work folder (cache)")
    group.add_argument("--days-per-month", type=positive_int, default=3)
    group.add_argument(
        "--hours", type=positive_float, default=24.0, help="hours simulated per day (default 24)"
    )
    group.add_argument("--workers", type=positive_int, default=1, help="simulation processes")
    group.add_argument("--only-archive", action="store_true", help="simulate, then stop")
    group.add_argument("--skip-simulation", action="store_true", help="use the days there")
    group.add_argument("--reconstruction-weight", type=positive_float, default=0.05)
    group.add_argument("--images", type=Path, default=None, help="write the figures there")
    group.add_argument(
        "--write-docs",
        type=Path,
        default=None,
        metavar="MARKDOWN",
        help="replace the train_scorer block of this file by the tables",
    )
    group.add_argument("--save", action="store_true", help="write the weights and card")
    add_no_progress(group)


#: Retrieval models the DRAIN benchmark pipeline trains (``--simulate WORK``).
_DRAIN_PIPELINE_MODELS = ("drain", "drain-13ch")


def _add_drain_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "benchmark pipeline (--simulate WORK instead of --matchups)",
        "simulate GMI + DPR training and held-out windows under WORK (cached, resumable), build "
        "the matchup stores, train, score the held-out pixels (xgpm.pipelines.drain_run); "
        "--epochs, --minutes (default 30), --batch-size and --learning-rate apply",
    )
    group.add_argument("--simulate", metavar="WORK", type=Path, help="work folder (cache)")
    group.add_argument("--stage", choices=["data", "train", "eval", "all"], default="all")
    group.add_argument("--extra-windows", action="store_true", help="more training windows")
    group.add_argument("--save", action="store_true", help="register the weights if sensible")
    group.add_argument(
        "--write-docs", action="store_true", help="docs/models/drain.md + PNGs under the cwd"
    )


def _drain_pipeline_argv(args: argparse.Namespace) -> list[str]:
    work = Path(args.simulate)
    argv = [
        "--cache", str(work / "cache"),
        "--workdir", str(work / args.model),
        "--model", args.model,
        "--stage", args.stage,
        "--epochs", str(args.epochs),
        "--minutes", str(30.0 if args.minutes is None else args.minutes),
        "--batch-size", str(args.batch_size),
        "--learning-rate", str(args.learning_rate),
    ]  # fmt: skip
    flags = {"--extra-windows": args.extra_windows, "--save": args.save}
    flags["--write-docs"] = args.write_docs
    return argv + [flag for flag, on in flags.items() if on]


def _run_drain(args: argparse.Namespace) -> int:
    if getattr(args, "simulate", None) is None:
        return run_retrieval(args)
    from xgpm.pipelines.drain_run import main as drain_main

    drain_main(_drain_pipeline_argv(args))
    return 0


def _run_scorer(args: argparse.Namespace) -> int:
    if getattr(args, "simulate", None) is None:
        from xgpm.verify.learned import cli as scorer_cli

        return scorer_cli.run(args)
    from xgpm.pipelines.scorer import pipeline_options, run_pipeline
    from xgpm.verify.learned.cli import _som_shape

    run_pipeline(
        args.simulate,
        **pipeline_options(args),
        som_shape=_som_shape(args.som_shape),
        dec_clusters=args.dec_clusters,
        docs=args.write_docs,
        name=args.name or "scorer",
        directory=args.output_dir,
        command="xgpm " + shlex.join(sys.argv[1:]),
        progress=not args.no_progress,
    )
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``xgpm train`` and its trainers (one sub-command per trainable model family)."""
    from xgpm.translate import train as to_gmi_train
    from xgpm.verify.learned import cli as scorer_cli

    parser = subparsers.add_parser(
        "train", help="train a model: retrieval (drain, brain ...), scorer, to-gmi"
    )
    trainers = parser.add_subparsers(dest="model", metavar="MODEL", required=True)
    for name in retrieval_models():
        sub = trainers.add_parser(name, help=f"train the retrieval model {name!r} on matchups")
        pipeline = name in _DRAIN_PIPELINE_MODELS
        add_retrieval_arguments(sub, matchups_required=not pipeline)
        if pipeline:
            _add_drain_pipeline_arguments(sub)
        sub.set_defaults(train_run=_run_drain if pipeline else run_retrieval)
    scorer = trainers.add_parser("scorer", help="train the IMERG scorer (no-reference scores)")
    scorer_cli.add_arguments(scorer)
    _add_pipeline_arguments(scorer)
    scorer.set_defaults(train_run=_run_scorer)
    to_gmi = to_gmi_train.add_parser(trainers)
    to_gmi.set_defaults(train_run=to_gmi_train.run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm train MODEL``."""
    return args.train_run(args)
