"""Check real ODIM_H5 radar files: what each is, whether xgpm opens it, whether it equals pysteps.

Usage::

    python benchmarks/check_radar_files.py ../shared/data/real/opera_composites \
        ../shared/data/real/dpr_ground_radar_brisbane/IDR66_20141206_094829.vol.h5

Prints a Markdown table (one row per file and quantity) for docs/io.md. "Equal to pysteps"
compares :func:`xgpm.io.odim.open_radar_composite` with
``pysteps.io.importers.import_odim_hdf5`` (the function ``import_opera_hdf5`` wraps) on the
quantities pysteps reads (RATE, ACRR, DBZH): the values at float32 and the NaN pattern, and the
quality index where pysteps gives one. Known, deliberate differences are not counted: pysteps
gives -30 dBZ where DBZH is ``undetect`` (xgpm: NaN, flagged), and NaN where a quality field
without its own ``undetect`` is 0 (pysteps's default ``undetect=0``; xgpm: 0). Without pysteps
installed the last column says so.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from xgpm.errors import XGPMError
from xgpm.io.odim import open_radar_composite

SUFFIXES = {".h5", ".hdf", ".hdf5", ".odim"}
PYSTEPS_QUANTITIES = ("RATE", "ACRR", "DBZH")


def radar_files(targets: Iterable[str | Path]) -> list[Path]:
    """The files named, and the HDF5-looking files under the folders named, sorted."""
    out: list[Path] = []
    for target in map(Path, targets):
        if target.is_dir():
            out.extend(p for p in sorted(target.rglob("*")) if p.suffix.lower() in SUFFIXES)
        else:
            out.append(target)
    return out


def describe(path: Path) -> tuple[str, list[str]]:
    """(a one-line description of the file, its quantities) read with h5py."""
    import h5py

    from xgpm.io._odim_read import inventory, merged_attrs, text

    if not path.is_file() or not h5py.is_hdf5(path):
        return "not an HDF5 file", []
    with h5py.File(path, "r") as f:
        what = merged_attrs([f], "what")
        obj = text(what.get("object", "?"))
        version = text(what.get("version", f.attrs.get("Conventions", "?")))
        found = inventory(f)
        quantities = sorted({q for _, _, q in found if q})
        datasets = len({d for d, _, _ in found})
        where = merged_attrs([f], "where")
        size = (
            f", {int(where['ysize'])} x {int(where['xsize'])} cells of {float(where['xscale']):g} m"
            if {"xsize", "ysize", "xscale"} <= set(where)
            else ""
        )
        name = text(what.get("source", ""))
    kind = f"ODIM_H5 {obj} ({version}, {name})" if obj != "?" else "HDF5, no ODIM /what/object"
    content = f"{datasets} dataset(s): {', '.join(quantities) or 'no data'}{size}"
    return f"{kind}; {content}", quantities


def _equal_to_pysteps(path: Path, quantity: str, ds) -> str:
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pysteps.io.importers import import_odim_hdf5

            theirs, quality, _ = import_odim_hdf5(str(path), qty=quantity)
    except ImportError:
        return "pysteps not installed"
    except Exception as err:  # noqa: BLE001 - report whatever pysteps says
        return f"pysteps fails: {type(err).__name__}: {err}"
    if ds.sizes["time"] != 1:
        return f"not compared: {ds.sizes['time']} times (pysteps reads one dataset)"
    ours = ds[quantity].values[0]
    keep = ~ds["undetect"].values[0] if quantity == "DBZH" else np.ones(ours.shape, bool)
    expected = theirs.astype("float32")
    if not np.array_equal(ours[keep], expected[keep], equal_nan=True):
        diff = np.nanmax(np.abs(ours[keep] - expected[keep]))
        nan_mismatch = int((np.isnan(ours[keep]) != np.isnan(expected[keep])).sum())
        return f"differs: max |diff| {diff:g}, {nan_mismatch} cells NaN in one only"
    note = "equal (values at float32, NaN pattern"
    if quantity == "DBZH":
        note += "; undetect: pysteps -30 dBZ, xgpm NaN"
    if quality is not None and "quality" in ds:
        mine = ds["quality"].values[0]
        given = np.isfinite(quality)
        if not np.array_equal(mine[given], quality[given].astype("float32")):
            return note + "); quality differs"
        note += "; quality equal where pysteps has one"
    return note + ")"


def check(targets: Sequence[str | Path], *, pysteps: bool = True) -> list[str]:
    """Markdown table rows: file | what it is | opens in xgpm | equal to pysteps."""
    rows = [
        "| file | what it is | opens in xgpm | equal to pysteps |",
        "| --- | --- | --- | --- |",
    ]
    for path in radar_files(targets):
        what, quantities = describe(path)
        for quantity in quantities or [None]:
            try:
                ds = open_radar_composite(path, quantity)
            except XGPMError as err:
                message = str(err).replace(str(path), path.name)
                opened, same = f"no: `{type(err).__name__}`: {message}", "-"
            else:
                q = ds.attrs["quantity"]
                t0, t1 = (str(ds[c].values[0])[:16] for c in ("time", "time_end"))
                period = t0 if t0 == t1 else f"{t0} to {t1}"
                opened = f"yes: `{q}` ({ds[q].attrs['units']}), {period}"
                if pysteps and q in PYSTEPS_QUANTITIES:
                    same = _equal_to_pysteps(path, q, ds)
                else:
                    same = "not compared" if pysteps else "-"
            rows.append(f"| `{path.name}` | {what} | {opened.replace('|', '/')} | {same} |")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="+", help="ODIM_H5 files or folders of them")
    parser.add_argument("--no-pysteps", action="store_true", help="skip the pysteps comparison")
    args = parser.parse_args(argv)
    print("\n".join(check(args.targets, pysteps=not args.no_pysteps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
