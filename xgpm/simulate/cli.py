"""``xgpm simulate``: command-line front end of :func:`xgpm.simulate.products.simulate_to_disk`.

The main ``xgpm`` CLI adds the sub-command with :func:`add_parser` and dispatches to :func:`run`,
e.g. ``xgpm simulate --region france --start 2021-01-01 --days 2 --sensors
gmi,ssmis-f17,dpr,imerg,radar --out DIR --seed 0``.
"""

from __future__ import annotations

import argparse
from typing import Any

from xgpm._argtypes import add_no_progress, positive_float

__all__ = ["add_parser", "run"]


def _time(text: str) -> str:
    """``type=`` of ``--start``: a time pandas can read (kept as the text given)."""
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except (TypeError, ValueError, OverflowError):
        stamp = None
    if stamp is None or stamp is pd.NaT:
        raise argparse.ArgumentTypeError(
            f"expected a time such as 2021-01-01 or 2021-01-01T06:00, got {text!r}"
        )
    return text


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``simulate`` sub-command on an ``argparse`` sub-parsers object.

    Parameters
    ----------
    subparsers
        The object returned by ``ArgumentParser.add_subparsers()``.

    Returns
    -------
    argparse.ArgumentParser
        The sub-command parser (its default ``func`` is :func:`run`).
    """
    p = subparsers.add_parser(
        "simulate",
        help="simulate constellation granules, IMERG and a radar composite over a region",
        description=(
            "Simulate 1C/2A-DPR granules (PPS HDF5), IMERG-like half-hourly grids and a ground "
            "radar composite (ODIM_H5) over a region. Deterministic for a seed; re-running "
            "resumes (existing complete files are kept). Writes DIR/catalog.csv."
        ),
    )
    p.add_argument(
        "--region",
        default="france",
        help="region name (france, conus, "
        "tropical-pacific, tropical-atlantic) or LON_MIN,LON_MAX,LAT_MIN,LAT_MAX",
    )
    p.add_argument(
        "--start", required=True, type=_time, help="start time, e.g. 2021-01-01 or 2021-01-01T06"
    )
    p.add_argument("--days", type=positive_float, default=1.0, help="duration in days (default 1)")
    p.add_argument(
        "--sensors",
        default="gmi,ssmis-f17,dpr,imerg,radar",
        help="comma-separated registry sensors plus 'imerg' and 'radar'",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument(
        "--full-granules",
        action="store_true",
        help="keep whole orbits (NaN outside the region) instead of the scans over the region",
    )
    p.add_argument(
        "--truth-res-km", type=positive_float, default=2.5, help="swath truth grid spacing (km)"
    )
    p.add_argument("--imerg-run", default="FR", choices=("FR", "LR", "ER"))
    p.add_argument("--radar-step", default="5min", help="radar accumulation period")
    add_no_progress(p)
    p.set_defaults(func=run)
    return p


def _region_arg(text: str) -> Any:
    parts = text.split(",")
    if len(parts) == 4:
        try:
            return tuple(float(v) for v in parts)
        except ValueError:
            pass
    return text


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm simulate`` with parsed arguments; returns the exit status (0 on success)."""
    from xgpm.simulate.products import simulate_to_disk

    catalog = simulate_to_disk(
        args.out,
        region=_region_arg(args.region),
        start=args.start,
        days=args.days,
        sensors=args.sensors,
        seed=args.seed,
        crop=not args.full_granules,
        truth_res_km=args.truth_res_km,
        imerg_run=args.imerg_run,
        radar_step=args.radar_step,
        progress=not args.no_progress,
    )
    counts = catalog.groupby("product").size() if len(catalog) else {}
    summary = ", ".join(f"{n} {p}" for p, n in dict(counts).items()) or "no files"
    print(f"xgpm simulate: {summary} in {args.out} (catalog.csv)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m xgpm.simulate.cli ...``)."""
    parser = argparse.ArgumentParser(prog="xgpm")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
