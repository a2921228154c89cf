"""``xgpm process``: command-line front end of :func:`xgpm.process.process`.

``xgpm process SOURCE STORE --product 1C-GMI --start 2021-01-01 --end 2021-02-01`` runs the
default pipeline (``rainrate`` for GMI, ``to_gmi -> rainrate`` for other sensors) over every
selected granule on a local dask cluster and appends the results to the Zarr store; re-running
the same command finishes an interrupted run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from typing import Any

from xgpm._argtypes import add_no_progress, add_overwrite

__all__ = ["add_parser", "run", "main"]


def _step(text: str) -> Any:
    """``name`` or ``name:{"json": "kwargs"}`` or ``module:function`` (with optional kwargs)."""
    if "{" in text:
        name, _, raw = text.partition("{")
        name = name.rstrip(":=")
        try:
            kwargs = json.loads("{" + raw)
        except json.JSONDecodeError as err:
            raise argparse.ArgumentTypeError(
                f"--step {text!r}: the kwargs after the name must be a JSON object ({err})"
            ) from err
        return (name, kwargs)
    return text


def _options(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r} ({err})") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``process`` sub-command on an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser(
        "process",
        help="run a pipeline (to_gmi -> rainrate) over many granules into a Zarr store",
        description=(
            "Select granules from a directory or fsspec/S3 prefix laid out like the PPS archive, "
            "run a pipeline on a dask.distributed cluster and append the results to a Zarr "
            "store (one group per sensor). Resumable: re-run the same command to finish."
        ),
    )
    p.add_argument("source", help="directory or URL prefix of PPS granules (searched recursively)")
    p.add_argument("store", help="output Zarr store (path or URL, e.g. s3://bucket/out.zarr)")
    p.add_argument("--product", help="product(s), comma-separated (default: every 1C product)")
    p.add_argument("--sensor", help="sensor(s), comma-separated (e.g. GMI,SSMIS-F17)")
    p.add_argument("--start", help="keep granules ending after this time")
    p.add_argument("--end", help="keep granules starting before this time")
    p.add_argument(
        "--step",
        action="append",
        type=_step,
        dest="steps",
        metavar="STEP",
        help=(
            "pipeline step, repeatable, in order: an accessor method (rainrate, to_gmi), "
            "'package.module:function', optionally followed by JSON kwargs "
            '(rainrate:{"quantiles": [0.5]}); default: to_gmi, rainrate (GMI: rainrate)'
        ),
    )
    p.add_argument("--scheduler", help="address of an existing dask scheduler (tcp://host:8786)")
    p.add_argument(
        "--workers", type=int, default=None, help="local workers (default: one per core)"
    )
    p.add_argument("--threads-per-worker", type=int, default=1, help="threads per local worker")
    p.add_argument(
        "--memory-limit",
        default="auto",
        help="memory limit of each local worker process, e.g. 4GiB (default: auto; 'none': none)",
    )
    p.add_argument(
        "--threads",
        action="store_true",
        help="local workers as threads of this process instead of processes",
    )
    p.add_argument("--retries", type=int, default=2, help="task retries (worker death, errors)")
    p.add_argument("--chunk", type=int, default=1024, help="Zarr chunk size along along_track")
    p.add_argument("--storage-options", type=_options, help="fsspec options of SOURCE (JSON)")
    p.add_argument("--store-options", type=_options, help="fsspec options of STORE (JSON)")
    add_overwrite(p, help="delete STORE first")
    p.add_argument("--retry-failed", action="store_true", help="retry granules that failed")
    add_no_progress(p)
    p.add_argument(
        "--wait",
        nargs="?",
        type=float,
        const=math.inf,
        default=None,
        metavar="SECONDS",
        help=(
            "when another run holds the store's lease, wait for it to end (at most SECONDS; "
            "default: no limit) instead of failing"
        ),
    )
    p.add_argument(
        "--break-lock",
        action="store_true",
        help=(
            "take over a stale lease (no heartbeat for --stale-after seconds) left by a run that "
            "died; a fresh lease is never broken"
        ),
    )
    p.add_argument(
        "--stale-after",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="seconds without heartbeat after which a lease is stale (default: 600)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm process``; prints the summary. Exit code 1 when some granule failed."""
    from xgpm.process.core import process

    memory_limit = None if str(args.memory_limit).lower() == "none" else args.memory_limit
    with contextlib.suppress(ValueError):  # a plain number of bytes
        memory_limit = float(memory_limit) if memory_limit not in (None, "auto") else memory_limit
    summary = process(
        args.source,
        args.store,
        pipeline=args.steps,
        product=args.product,
        sensor=args.sensor,
        start=args.start,
        end=args.end,
        scheduler=args.scheduler,
        n_workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        processes=not args.threads,
        memory_limit=memory_limit,
        retries=args.retries,
        along_track_chunk=args.chunk,
        storage_options=args.storage_options,
        store_options=args.store_options,
        overwrite=args.overwrite,
        retry_failed=args.retry_failed,
        progress=not args.no_progress,
        wait=args.wait is not None,
        wait_timeout=None if args.wait in (None, math.inf) else args.wait,
        break_lock=args.break_lock,
        stale_after=args.stale_after,
    )
    print(summary)
    return 1 if len(summary.failures) else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m xgpm.process.cli ...`` (the same as ``xgpm process ...``).

    Exit codes: 0 done, 1 some granule failed or the run could not finish
    (:class:`~xgpm.errors.RunFailedError`), 2 any other xgpm error (bad arguments, a locked or
    unreachable store).
    """
    from xgpm.errors import RunFailedError, XGPMError

    parser = argparse.ArgumentParser(prog="xgpm")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["process", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except XGPMError as err:
        print(f"xgpm process: error: {err}", file=sys.stderr)
        return 1 if isinstance(err, RunFailedError) else 2


if __name__ == "__main__":
    sys.exit(main())
