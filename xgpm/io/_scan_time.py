"""Times of PPS granules: orbit scan times (``ScanTime``) and grid times (IMERG ``time``)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from xgpm.errors import MissingVariableError

__all__ = ["GPS_EPOCH", "epoch_of_units", "grid_times", "scan_time", "REDOWNLOAD"]

#: IMERG V07 counts seconds from the GPS epoch; V06 from 1970 (the ``units`` attribute says)
GPS_EPOCH = np.datetime64("1980-01-06T00:00:00", "ns")
REDOWNLOAD = " (PPS: https://arthurhou.pps.eosdis.nasa.gov, or GES DISC)"
_SCANTIME_FIELDS = ("Year", "Month", "DayOfMonth", "Hour", "Minute", "Second", "MilliSecond")
_UNITS = re.compile(r"seconds\s+since\s+(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?")


def epoch_of_units(units: Any, default: np.datetime64 = GPS_EPOCH) -> np.datetime64:
    """The epoch of a ``"seconds since 1980-01-06 00:00:00 UTC"`` units text (ns precision).

    ``default`` (the GPS epoch of IMERG V07) when the text says no epoch.
    """
    if isinstance(units, bytes):
        units = units.decode(errors="replace")
    m = _UNITS.search(str(units or ""))
    if m is None:
        return default
    import pandas as pd

    stamp = pd.Timestamp(f"{m.group(1)} {m.group(2) or '00:00:00'}")
    return np.datetime64(stamp.to_datetime64(), "ns")


def grid_times(dset: Any) -> tuple[np.ndarray, np.datetime64]:
    """Times of a grid ``time``-like dataset (datetime64[ns]) and the epoch they count from."""
    from xgpm.io._hdf5 import attr_text

    units = attr_text(dset.attrs.get("units") or dset.attrs.get("Units") or "")
    epoch = epoch_of_units(units)
    seconds = np.asarray(dset[()]).astype("int64")
    return (epoch + seconds.astype("timedelta64[s]")).astype("datetime64[ns]"), epoch


def scan_time(group: Any, name: str) -> np.ndarray:
    """Scan times (datetime64[ns], NaT where missing) from a swath's ScanTime group, to the ms.

    Level-2 files (GPROF) and some 1C files (AMSR2) leave ``MilliSecond`` at 0 and keep the
    fraction in ``SecondOfDay``: the milliseconds are taken from it wherever it agrees with
    H:M:S.
    """
    if "ScanTime" not in group:
        raise MissingVariableError(
            f"{name}: scan mode {group.name} has no ScanTime group, so scan times cannot be "
            f"read; the file is damaged or incomplete: download it again{REDOWNLOAD}"
        )
    st = group["ScanTime"]
    parts = {}
    for field in _SCANTIME_FIELDS:
        if field not in st:
            raise MissingVariableError(
                f"{name}: {st.name}/{field} is missing, so scan times cannot be read; the file "
                f"is damaged or incomplete: download it again{REDOWNLOAD}"
            )
        parts[field] = st[field][()].astype("int64")
    year, month, day = parts["Year"], parts["Month"], parts["DayOfMonth"]
    hour, minute, second = parts["Hour"], parts["Minute"], parts["Second"]
    ms = parts["MilliSecond"].copy()
    invalid = (
        (year < 1)
        | (month < 1)
        | (month > 12)
        | (day < 1)
        | (day > 31)
        | (hour < 0)
        | (minute < 0)
        | (second < 0)
        | (ms < 0)
    )
    whole = hour * 3600 + minute * 60 + second
    if "SecondOfDay" in st:
        sod = st["SecondOfDay"][()].astype("float64")
        agrees = np.isfinite(sod) & (np.floor(sod + 1e-6) == whole)
        frac_ms = np.rint((sod - np.floor(sod + 1e-6)) * 1000.0)
        ms = np.where(agrees, np.clip(frac_ms, 0, 999), ms).astype("int64")
    # vectorised calendar arithmetic (pandas.to_datetime on a frame is 50x slower)
    safe = ~invalid
    months = np.where(safe, (year - 1970) * 12 + month - 1, 0).astype("timedelta64[M]")
    dates = np.datetime64("1970-01", "M") + months
    days = dates.astype("datetime64[D]") + np.where(safe, day - 1, 0).astype("timedelta64[D]")
    offset = (whole * 1000 + ms).astype("timedelta64[ms]")
    times = (days.astype("datetime64[ms]") + offset).astype("datetime64[ns]")
    times[invalid] = np.datetime64("NaT")
    return times
