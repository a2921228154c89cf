"""Which products xgpm and GPM-API open, and whether their values agree: docs/io.md's table.

Usage::

    python benchmarks/check_products.py --markdown          # the table for docs/io.md
    python benchmarks/check_products.py tests/data/gpm_granules

For every cut granule (one folder per product) both libraries open every scan mode GPM-API
lists for the product and version, and every variable both expose is compared
(``tests/test_gpm_api_parity.py``: same values, NaN included, except the deliberate
differences of its table, named in the last column). Then copies of cuts relabelled as other
platforms and versions of the same layouts (TRMM SLH/CSH, ENV-PR, 1B-PR, a V05 2A-Ku, MHS on
NOAA-19: name and FileHeader changed, content not), compared the same way. Then the same
granules under names GPM-API does not read: PPS custom subsets (``2A-CS-CONUS...``, the header
keeping its granule's name) and a JAXA level-2 name; there "values" compares xgpm on the copy
with xgpm on the original.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ is a package: its comparison is the one checked here

import xarray as xr  # noqa: E402

import xgpm  # noqa: E402
from tests.test_gpm_api_parity import (  # noqa: E402
    compare_granule,
    custom_subset_copy,
    jaxa_copy,
)

#: (folder, how to rename) of the renamed copies
RENAMED = [
    ("2A-Ku", "custom subset"),
    ("2A-DPR-V06", "custom subset"),
    ("1C-GMI-R", "custom subset"),
    ("2A-GMI", "custom subset"),
    ("2A-Ku", "JAXA"),
]


def _granules(root: Path) -> dict[str, Path]:
    out = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [p for p in sorted(folder.iterdir()) if p.suffix in (".HDF5", ".h5")]
        if files:
            out[folder.name] = files[0]
    return out


def _opens_gpm_api(path: Path, product: str) -> str:
    import gpm
    from gpm.io.info import get_product_from_filepath

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = gpm.open_granule_dataset(str(path))
    except Exception as err:  # noqa: BLE001 - reported
        return f"no ({type(err).__name__})"
    theirs = ds.attrs.get("gpm_api_product") or get_product_from_filepath(path.name)
    return "yes" if theirs == product else f"as {theirs}, not {product}"


def cut_rows(root: Path) -> list[list[str]]:
    """One row per cut granule: folder, product, file name, xgpm, GPM-API, values."""
    return [_row(compare_granule(folder, path), path) for folder, path in _granules(root).items()]


def relabelled_rows(root: Path, tmp: Path) -> list[list[str]]:
    """Rows of other platforms and versions of known layouts (relabelled copies of cuts)."""
    from tests.test_io_read import RELABELLED, relabel

    granules = _granules(root)
    rows = []
    for folder, prefix, version, header, product, _ in RELABELLED:
        copy = relabel(granules[folder], tmp, prefix, version, header)
        rows.append(_row(compare_granule(f"{product} {version} (from {folder})", copy), copy))
    return rows


def _row(report, path: Path) -> list[str]:
    x = "yes" if report.xgpm_error is None else f"no: {report.xgpm_error[:60]}"
    g = "yes" if report.gpm_api_error is None else f"no ({report.gpm_api_error.split(':')[0]})"
    if report.xgpm_error or report.gpm_api_error:
        values = "-"
    elif report.different:
        values = "**no**: " + ", ".join(f"{m}/{n}" for m, n, _ in report.different[:4])
    else:
        keys = sorted({d[2] for d in report.documented})
        values = f"yes ({len(report.equal) + len(report.documented)} variables)"
        if keys:
            values += "; on purpose: " + ", ".join(f"`{k}`" for k in keys)
    return [report.folder, report.product or "?", f"`{path.name}`", x, g, values]


def renamed_rows(root: Path, tmp: Path) -> list[list[str]]:
    """Rows of the renamed copies (custom subsets, JAXA names)."""
    granules = _granules(root)
    rows = []
    for folder, how in RENAMED:
        if folder not in granules:
            continue
        source = granules[folder]
        if how == "JAXA":
            copy = jaxa_copy(source, tmp, "KUR", "L2", "DU2")
        else:
            copy = custom_subset_copy(source, tmp)
        try:
            ours = xgpm.open_granule(copy, scan_mode="all", chunks=None)
            x, product = "yes", ours.attrs["gpm_api_product"]
            original = xgpm.open_granule(source, scan_mode="all", chunks=None)
            same = all(ours[m].to_dataset().equals(original[m].to_dataset()) for m in original)
            values = "same as the original's (xgpm)" if same else "**differ**"
        except Exception as err:  # noqa: BLE001 - reported
            x, product, values = f"no: {type(err).__name__}: {str(err)[:60]}", "?", "-"
        g = _opens_gpm_api(copy, product)
        rows.append([f"{folder} ({how})", product, f"`{copy.name}`", x, g, values])
    return rows


def markdown(rows: list[list[str]]) -> str:
    """The rows as a Markdown table."""
    head = ["granule", "product", "file", "xgpm opens", "GPM-API opens", "values equal"]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the product table; exit 1 if a value differs or a cut does not open."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=str(ROOT / "tests/data/gpm_granules"))
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    import gpm

    xr.set_options(keep_attrs=True)
    root = Path(args.root)
    rows = cut_rows(root)
    with tempfile.TemporaryDirectory() as tmp:
        rows += relabelled_rows(root, Path(tmp))
        rows += renamed_rows(root, Path(tmp))
    if args.markdown:
        print(
            f"Written by `python benchmarks/check_products.py --markdown` on "
            f"{dt.date.today():%Y-%m-%d} (xgpm {xgpm.__version__}, GPM-API "
            f"{getattr(gpm, '__version__', '?')}), over every cut in `tests/data/gpm_granules`.\n"
        )
        print(markdown(rows))
    else:
        for row in rows:
            print("  ".join(row))
    bad = [r for r in rows if not r[3].startswith("yes") or r[5].startswith("**")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
