"""``xgpm matchups``: command-line front end of :func:`xgpm.matchups.build_matchups`.

``xgpm matchups --input DIR --out STORE.zarr --kind gmi-dpr`` writes GMI/DPR scene tiles
(layout in ``docs/matchups.md``) for ``xgpm train drain --matchups STORE.zarr``.
"""

from __future__ import annotations

import argparse
from typing import Any

from xgpm._argtypes import (
    add_no_progress,
    add_overwrite,
    fraction,
    positive_float,
    positive_int,
    require_path,
)

__all__ = ["add_parser", "run"]


def _tile(text: str) -> tuple[int, int]:
    try:
        parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"--tile {text!r}: expected CROSS,ALONG e.g. 128,128"
        ) from err
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"--tile {text!r}: expected CROSS,ALONG e.g. 128,128")
    return parts  # type: ignore[return-value]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``matchups`` sub-command on an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser(
        "matchups",
        help="build a Zarr store of GMI matchup scenes (GMI-DPR or GMI-other radiometer)",
        description=(
            "Pair the granules of a directory (its catalog.csv, else PPS-named HDF5 files), "
            "colocate them and append scene tiles to a Zarr store, granule after granule."
        ),
    )
    p.add_argument("--input", required=True, help="directory of granules or a catalog.csv")
    p.add_argument("--out", required=True, help="output Zarr store")
    p.add_argument("--kind", default="gmi-dpr", choices=("gmi-dpr", "gmi-x"))
    p.add_argument("--tile", type=_tile, default=(128, 128), help="CROSS,ALONG (default 128,128)")
    p.add_argument("--footprint", default="89V", help="GMI channel whose footprint weights DPR")
    p.add_argument("--radius-km", type=positive_float, default=None, help="search radius (km)")
    p.add_argument("--max-dt", default=None, help="time window, e.g. 5min (default by kind)")
    p.add_argument(
        "--min-valid-fraction",
        type=fraction,
        default=0.05,
        help="keep tiles with at least this share of reference pixels (default 0.05)",
    )
    p.add_argument(
        "--scenes-per-chunk", type=positive_int, default=16, help="Zarr chunk along scene"
    )
    add_overwrite(p)
    add_no_progress(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm matchups``; prints the number of scenes in the store."""
    from xgpm.matchups.store import build_matchups

    require_path(
        args.input,
        "--input",
        "no such directory or catalog.csv; pass the folder that `xgpm simulate --out` wrote "
        "(or a folder of PPS granules)",
    )

    ds = build_matchups(
        args.input,
        args.out,
        kind=args.kind,
        tile=args.tile,
        min_valid_fraction=args.min_valid_fraction,
        scenes_per_chunk=args.scenes_per_chunk,
        footprint=args.footprint,
        radius_km=args.radius_km,
        max_dt=args.max_dt,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    print(
        f"{args.out}: {ds.sizes['scene']} scenes of {ds.sizes['cross_track']} x "
        f"{ds.sizes['along_track']} ({args.kind})"
    )
    return 0
