"""Select PPS granules from a local tree or an fsspec/S3 prefix laid out like the PPS archive.

Any layout works (``<root>/<product>/...`` as written by :func:`xgpm.simulate.simulate_to_disk`,
``<root>/YYYY/MM/DD/1C/...`` as on the PPS server): every file below the root whose name is a PPS
file name is a candidate; other files are ignored.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from xgpm.errors import (
    InvalidArgumentError,
    UnknownProductError,
    UnknownSensorError,
    XGPMError,
)

__all__ = ["GranuleRef", "select_granules"]


@dataclass(frozen=True)
class GranuleRef:
    """One selected granule: where it is and what its PPS name says.

    Attributes
    ----------
    url : str
        Path or fsspec URL the workers open.
    name : str
        PPS file name (unique key of the granule in a store's manifest).
    product, sensor : str
        GPM-API product ("1C-GMI") and registry sensor name ("GMI"), the output group.
    start, end : datetime
        Times from the file name.
    granule : int
        Orbit number.
    version : str
        Product version ("V07A").
    """

    url: str
    name: str
    product: str
    sensor: str
    start: dt.datetime
    end: dt.datetime
    granule: int
    version: str

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO strings)."""
        record = asdict(self)
        record["start"] = self.start.isoformat()
        record["end"] = self.end.isoformat()
        return record


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    return [v.strip() for v in value]


def _timestamp(value: Any, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"{name}={value!r} is not a time; pass e.g. '2021-01-01' or '2021-01-01T06:00'"
        ) from err


def _list_files(source: str | os.PathLike, storage_options: dict | None) -> list[str]:
    """Every file below ``source`` as a path/URL openable with ``storage_options``."""
    import fsspec

    text = os.fspath(source)
    fs, root = fsspec.core.url_to_fs(text, **(storage_options or {}))
    try:
        if not fs.exists(root):
            raise InvalidArgumentError(
                f"source {text!r} does not exist; pass a directory or prefix holding PPS granules"
            )
        if fs.isfile(root):
            return [text]
        found = fs.find(root)
    except Exception as err:
        from xgpm.process.faults import is_storage_failure, store_error

        if isinstance(err, XGPMError) or not is_storage_failure(err):
            raise
        # the message's advice fits a source too: check it, then run again
        raise store_error(err, text, "list", options=storage_options, noun="source") from err
    protocol = fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
    local = protocol in ("file", "local")
    if local:
        return sorted(os.path.normpath(p) for p in found)
    return sorted(f"{protocol}://{p}" for p in found)


def _parse(url: str):
    from xgpm.io.filenames import parse_filename

    try:
        return parse_filename(url)
    except UnknownProductError:
        return None


def select_granules(
    source: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    product: str | Sequence[str] | None = None,
    sensor: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    storage_options: dict | None = None,
) -> list[GranuleRef]:
    """List the granules to process, in a deterministic order.

    Parameters
    ----------
    source : path, URL or iterable of them
        A directory or fsspec prefix (``s3://bucket/gpm/``) searched recursively, or explicit
        granule paths/URLs.
    product : str or sequence, optional
        GPM-API product names ("1C-GMI", comma-separated allowed). Default: every 1C product.
    sensor : str or sequence, optional
        Registry sensor names ("GMI", "SSMIS-F17"; case-insensitive).
    start, end : time-like, optional
        Keep the granules overlapping ``[start, end)`` (times from the file names).
    storage_options : dict, optional
        fsspec options of ``source`` (e.g. an S3 endpoint and keys).

    Returns
    -------
    list of GranuleRef
        Sorted by sensor, start time, orbit number. When one granule is present in several
        product versions, the highest version is kept.

    Raises
    ------
    InvalidArgumentError
        For a missing source, a bad time range, or when nothing matches (the message says what
        was found).
    UnknownProductError, UnknownSensorError
        For product or sensor names the registries do not know.
    """
    from xgpm import sensors as sensor_registry
    from xgpm.io.filenames import check_product

    products = _as_list(product)
    for name in products or []:
        try:
            check_product(name)
        except UnknownProductError as err:
            raise UnknownProductError(f"product={product!r}: {err}") from None
    sensor_names = _as_list(sensor)
    wanted_sensors = None
    if sensor_names is not None:
        if not sensor_names:
            raise InvalidArgumentError(f"sensor={sensor!r} names no sensor; pass e.g. 'GMI'")
        try:
            wanted_sensors = {sensor_registry.get(s).name for s in sensor_names}
        except UnknownSensorError as err:
            raise UnknownSensorError(f"sensor={sensor!r}: {err}") from None
    t0, t1 = _timestamp(start, "start"), _timestamp(end, "end")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise InvalidArgumentError(f"end ({end}) must be after start ({start})")

    if isinstance(source, (str, os.PathLike)):
        urls = _list_files(source, storage_options)
    else:
        urls = [os.fspath(u) for u in source]
    parsed_any = 0
    best: dict[tuple[str, int], GranuleRef] = {}
    for url in urls:
        parsed = _parse(url)
        if parsed is None:
            continue
        parsed_any += 1
        if products is not None:
            if parsed.product not in products:
                continue
        elif parsed.level != "1C":
            continue
        try:
            sensor_name = sensor_registry.from_product(parsed.product).name
        except UnknownProductError:
            continue  # a grid product (IMERG) has no sensor and no along-track layout
        if wanted_sensors is not None and sensor_name not in wanted_sensors:
            continue
        if t0 is not None and parsed.end < t0:
            continue
        if t1 is not None and parsed.start >= t1:
            continue
        ref = GranuleRef(
            url=url,
            name=parsed.filename,
            product=parsed.product,
            sensor=sensor_name,
            start=parsed.start,
            end=parsed.end,
            granule=parsed.granule,
            version=parsed.version,
        )
        key = (ref.product, ref.granule)
        if key not in best or (ref.version, ref.name) > (best[key].version, best[key].name):
            best[key] = ref
    if not best:
        raise InvalidArgumentError(
            f"no granule in {source!s} matches product={product!r}, sensor={sensor!r}, "
            f"start={start!r}, end={end!r} ({len(urls)} file(s) found, {parsed_any} with PPS "
            "names); check the source and the filters"
        )
    return sorted(best.values(), key=lambda r: (r.sensor, r.start, r.granule, r.name))
