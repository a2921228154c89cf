"""Several granules: expand paths and glob patterns, and set aside granules given twice."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, NoSuchFileError

__all__ = ["drop_duplicates", "expand_sources", "first_time", "source_of"]

_GLOB_CHARS = ("*", "?", "[")


def expand_sources(sources: Any, storage_options: dict | None) -> list[Any]:
    """A list of sources from a list, one path or URL, or a glob pattern."""
    if isinstance(sources, (str, os.PathLike)):
        text = os.fspath(sources)
        if any(c in text for c in _GLOB_CHARS):
            matched = _glob(text, storage_options)
            if not matched:
                raise NoSuchFileError(
                    f"{text}: the pattern matches no file; check the folder and the pattern "
                    "(PPS names look like 1C.GPM.GMI.XCAL2016-C.20140304-S175932-...HDF5)"
                )
            return matched
        return [text]
    if isinstance(sources, (bytes, bytearray)) or hasattr(sources, "read"):
        return [sources]
    try:
        listed = list(sources)
    except TypeError:
        raise InvalidArgumentError(
            f"sources must be a path, a glob pattern, or a list of paths, URLs or file objects, "
            f"not {type(sources).__name__}"
        ) from None
    if not listed:
        raise InvalidArgumentError(
            "open_granules needs at least one source and got an empty list; check the glob or "
            "listing that made it (e.g. sorted(glob.glob('1C.GPM.GMI.*.HDF5')) found nothing)"
        )
    return listed


def _glob(pattern: str, storage_options: dict | None) -> list[str]:
    from xgpm.io._storage import is_url, storage_errors, with_timeouts

    with storage_errors(pattern, "list"):
        if is_url(pattern):
            import fsspec

            fs, _ = fsspec.core.url_to_fs(pattern, **with_timeouts(pattern, storage_options))
            return sorted(fs.unstrip_protocol(p) for p in fs.glob(pattern))
        import glob as globlib

        path = pattern[len("file://") :] if pattern.startswith("file://") else pattern
        return sorted(p for p in globlib.glob(path) if not os.path.isdir(p))


def source_of(ds: xr.Dataset) -> str:
    """The file (path or URL) a granule was read from, for messages."""
    return str(ds.encoding.get("source") or ds.attrs.get("FileName") or "<granule>")


def _granule_key(ds: xr.Dataset) -> tuple:
    """What makes a granule itself: product, granule number, version and its time span."""
    attrs = ds.attrs
    if "time" in ds.dims:
        times = ds["time"].values
        span = (times[0], times[-1]) if times.size else ()
    else:
        span = (first_time(ds),)
    return (
        attrs.get("gpm_api_product"),
        attrs.get("GranuleNumber"),
        attrs.get("ProductVersion"),
        attrs.get("StartGranuleDateTime"),
        *span,
    )


def drop_duplicates(datasets: list[xr.Dataset]) -> list[xr.Dataset]:
    """Keep the first of granules given twice, warning with the files set aside."""
    import warnings

    from xgpm.errors import DataQualityWarning

    kept: dict[tuple, xr.Dataset] = {}
    dropped: list[tuple[str, str]] = []
    for ds in datasets:
        key = _granule_key(ds)
        if key in kept:
            dropped.append((source_of(ds), source_of(kept[key])))
            continue
        kept[key] = ds
    if dropped:
        listed = "; ".join(f"{a} (same granule as {b})" for a, b in dropped[:5])
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        warnings.warn(
            f"open_granules: {len(dropped)} of {len(datasets)} sources repeat a granule already "
            f"given and were skipped: {listed}{more}",
            DataQualityWarning,
            stacklevel=3,
        )
    return list(kept.values())


def first_time(ds: xr.Dataset) -> np.datetime64:
    """The first valid scan time of a swath (NaT if none)."""
    times = ds["time"].values
    valid = times[~np.isnat(times)]
    return valid[0] if valid.size else np.datetime64("NaT")
