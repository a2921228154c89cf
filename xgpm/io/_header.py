"""A granule's header: open the source, read the FileHeader, tell the product, check the name.

The header decides the product (its ``FileName``, else ``AlgorithmID``); the file's own name,
when it is a PPS, PPS custom-subset or JAXA name, is checked against it.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pandas as pd

from xgpm.errors import (
    FileNameMismatchError,
    GranuleError,
    InvalidArgumentError,
    UnknownProductError,
)
from xgpm.io import _hdf5
from xgpm.io.filenames import PPSFileName, parse_filename
from xgpm.io.products import Family, Product, product_from_algorithm_id
from xgpm.io.products import product as get_product
from xgpm.io.pvl import parse_pvl

__all__ = ["GranuleInfo", "check_filename", "open_h5", "product_from_header", "read_root_attrs"]

#: seconds a name's times may differ from the header's (level-2 headers differ by a second or so)
_TIME_TOLERANCE_S = 60


def _pps_version(text: str | None) -> str | None:
    """``"V07A"`` for ``"V07A"`` or JAXA's ``"07A"``; None for nothing."""
    text = (text or "").strip()
    if not text:
        return None
    return text if text.upper().startswith("V") else f"V{text}"


class GranuleInfo:
    """What a granule's header says: product, family, sensor, times, granule and version."""

    def __init__(self, name: str, root_attrs: dict[str, dict[str, str]], product: str):
        self.name = name
        self.root_attrs = root_attrs
        self.header = {k: v.strip() for k, v in root_attrs["FileHeader"].items()}
        self.product = product
        self.spec: Product = get_product(product)
        self.family: Family = self.spec.family
        self.sensor = self.spec.sensor
        try:
            self.filename: PPSFileName | None = parse_filename(self.header.get("FileName", ""))
        except UnknownProductError:
            self.filename = None
        self.version = _pps_version(self.header.get("ProductVersion")) or (
            self.filename.version if self.filename else None
        )

    @property
    def scan_modes(self) -> tuple[str, ...]:
        """The product's data-model scan modes in this granule's version."""
        return self.spec.scan_modes(self.version)

    @property
    def granule_number(self) -> int:
        """The orbit number (GranuleNumber, else the header's file name; -1 if neither)."""
        text = self.header.get("GranuleNumber", "").strip()
        if text.isdigit():
            return int(text)
        return self.filename.granule if self.filename else -1


def read_root_attrs(h5: Any, name: str) -> dict[str, dict[str, str]]:
    """The root PVL blocks (FileHeader, FileInfo ...) as dicts, unstripped."""
    if "FileHeader" not in h5.attrs:
        raise GranuleError(
            f"{name}: no FileHeader attribute: this HDF5 file is not a NASA PPS granule"
        )
    blocks = {}
    for key, value in h5.attrs.items():
        value = _hdf5.attr_text(value)
        if isinstance(value, str) and "=" in value:
            blocks[key] = parse_pvl(value, strip=False)
    return blocks


def product_from_header(header: dict[str, str], name: str, product: str | None = None) -> str:
    """The product of a FileHeader: its FileName, else its AlgorithmID, else ``product``.

    Raises
    ------
    UnknownProductError
        If neither the header nor ``product`` tells the product.
    """
    header_name = (header.get("FileName") or "").strip()
    if header_name:
        try:
            return parse_filename(header_name).product
        except UnknownProductError:
            pass
    algorithm_id = (header.get("AlgorithmID") or "").strip()
    found = product_from_algorithm_id(
        algorithm_id,
        (header.get("SatelliteName") or "").strip(),
        (header.get("InstrumentName") or "").strip(),
    )
    if found is not None:
        return found
    if product is not None:
        return product
    raise UnknownProductError(
        f"{name}: cannot tell the product from FileHeader (FileName={header_name!r}, "
        f"AlgorithmID={algorithm_id!r}); pass product=... (a GPM-API name such as '2A-Ku') to "
        "say what it holds"
    )


def _header_time(text: str) -> dt.datetime | None:
    text = (text or "").strip().rstrip("Z")
    if not text:
        return None
    try:
        return pd.Timestamp(text).floor("s").to_pydatetime()
    except ValueError:
        return None


def _off(a: dt.datetime, b: dt.datetime) -> float:
    return abs((a - b).total_seconds())


def check_filename(source_name: str, info: GranuleInfo) -> None:
    """Raise if the file's own name (PPS, custom subset or JAXA) disagrees with its FileHeader.

    A custom subset (``2A-CS-<box>...``) names the times of its first and last scans: they must
    lie within the granule's; a JAXA name gives times to the minute.
    """
    try:
        actual = parse_filename(source_name)
    except UnknownProductError:
        return  # renamed file or file object: the header alone decides
    header = info.header
    problems = []
    if actual.product != info.product:
        problems.append(f"product {actual.product} in the name, {info.product} in the header")
    tolerance = _TIME_TOLERANCE_S + actual.time_resolution_s
    stated = info.filename
    if stated is not None:
        if actual.granule != stated.granule:
            problems.append(
                f"granule {actual.granule} in the name, {stated.granule} in FileHeader.FileName"
            )
        if _pps_version(actual.version) != _pps_version(stated.version):
            problems.append(
                f"version {actual.version} in the name, {stated.version} in FileHeader.FileName"
            )
        if actual.subset is None or stated.subset is not None:
            exact = actual.convention == stated.convention and actual.subset == stated.subset
            slack = 0 if exact else max(actual.time_resolution_s, stated.time_resolution_s)
            for field in ("start", "end"):
                a, h = getattr(actual, field), getattr(stated, field)
                if _off(a, h) > slack:
                    problems.append(f"{field} {a} in the name, {h} in FileHeader.FileName")
    elif info.version and _pps_version(actual.version) != info.version:
        problems.append(f"version {actual.version} in the name, {info.version} in ProductVersion")
    granule = header.get("GranuleNumber", "")
    if granule.strip().isdigit() and not info.family.is_grid and int(granule) != actual.granule:
        problems.append(f"granule {actual.granule} in the name, {int(granule)} in GranuleNumber")
    start = _header_time(header.get("StartGranuleDateTime", ""))
    stop = _header_time(header.get("StopGranuleDateTime", ""))
    if actual.subset is not None:
        # a subset's scans lie within its granule
        if start is not None and (actual.start - start).total_seconds() < -tolerance:
            problems.append(
                f"subset start {actual.start:%Y-%m-%dT%H:%M:%S} in the name, before the "
                f"granule's StartGranuleDateTime {header.get('StartGranuleDateTime')}"
            )
        if stop is not None and (actual.end - stop).total_seconds() > tolerance:
            problems.append(
                f"subset end {actual.end:%Y-%m-%dT%H:%M:%S} in the name, after the granule's "
                f"StopGranuleDateTime {header.get('StopGranuleDateTime')}"
            )
    elif start is not None and _off(start, actual.start) > tolerance:
        problems.append(
            f"start {actual.start:%Y-%m-%dT%H:%M:%S} in the name, "
            f"{header.get('StartGranuleDateTime')} in StartGranuleDateTime"
        )
    if problems:
        raise FileNameMismatchError(
            f"{source_name}: the file name disagrees with the file's FileHeader: "
            + "; ".join(problems)
            + ". The file may have been renamed or its content replaced; pass "
            "check_filename=False to trust the header"
        )


def open_h5(source: Any, storage_options: dict | None):
    """Return (opener-or-file, h5py.File, name) for any supported source."""
    if isinstance(source, (str, os.PathLike)):
        opener = _hdf5.H5Opener(source, storage_options)
        return opener, _hdf5.cached_file(opener), _hdf5.source_name(source)
    if hasattr(source, "read") or isinstance(source, (bytes, bytearray, memoryview)):
        name = _hdf5.source_name(source)
        h5 = _hdf5.open_h5_fileobj(source, name)
        return h5, h5, name
    raise InvalidArgumentError(
        f"source must be a path, a URL or a binary file object, not {type(source).__name__}"
    )
