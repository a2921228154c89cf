"""ODIM_H5 radar composites (OPERA / national composites): a writer and a basic reader.

Layout written (ODIM_H5 v2.2, ``object=COMP``)::

    /what      object, version, date, time, source
    /where     projdef, xsize, ysize, xscale, yscale, LL/UL/UR/LR_lon/lat (corner coordinates)
    /how       simulated / software information
    /dataset1/what         product=COMP, startdate, starttime, enddate, endtime
    /dataset1/data1/data   uint16 (ysize, xsize), first row = northernmost
    /dataset1/data1/what   quantity (ACRR | RATE), gain, offset, nodata, undetect
    /dataset1/data1/quality1/data  uint8 0-100 (QIND), optional

Physical value = ``offset + gain * raw``; ``nodata`` marks cells no radar scanned, ``undetect``
cells scanned without echo (a real zero). The reader returns the field with nodata as NaN and
undetect as 0.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import GranuleError, InvalidArgumentError, NotHDF5Error, WriteError

__all__ = [
    "FRANCE_PROJDEF",
    "RadarGrid",
    "france_1km",
    "open_radar_composite",
    "write_radar_composite",
]

#: Polar stereographic projection of the French national composites.
FRANCE_PROJDEF = (
    "+proj=stere +lat_0=90 +lon_0=0 +lat_ts=45 +x_0=619652.07 +y_0=5262818.34 +ellps=WGS84"
)
_NODATA = 65535
_UNDETECT = 65534


@dataclass(frozen=True)
class RadarGrid:
    """A regular grid in a projection: upper-left corner (m), cell size (m) and size."""

    projdef: str
    x_ul: float
    y_ul: float
    xscale: float
    yscale: float
    xsize: int
    ysize: int

    @property
    def x(self) -> np.ndarray:
        """Cell-centre x coordinates (m), west to east."""
        return self.x_ul + self.xscale * (np.arange(self.xsize) + 0.5)

    @property
    def y(self) -> np.ndarray:
        """Cell-centre y coordinates (m), north to south (first row northernmost)."""
        return self.y_ul - self.yscale * (np.arange(self.ysize) + 0.5)

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """2-D (lon, lat) of the cell centres, shape (ysize, xsize)."""
        from pyproj import Transformer

        tr = Transformer.from_proj(self.projdef, "EPSG:4326", always_xy=True)
        xx, yy = np.meshgrid(self.x, self.y)
        lon, lat = tr.transform(xx, yy)
        return np.asarray(lon), np.asarray(lat)

    def corners(self) -> dict[str, float]:
        """ODIM corner attributes (outer corners of the grid)."""
        from pyproj import Transformer

        tr = Transformer.from_proj(self.projdef, "EPSG:4326", always_xy=True)
        x0, x1 = self.x_ul, self.x_ul + self.xscale * self.xsize
        y0, y1 = self.y_ul, self.y_ul - self.yscale * self.ysize
        out = {}
        for key, (x, y) in {"UL": (x0, y0), "UR": (x1, y0), "LL": (x0, y1), "LR": (x1, y1)}.items():
            lon, lat = tr.transform(x, y)
            out[f"{key}_lon"], out[f"{key}_lat"] = float(lon), float(lat)
        return out

    def cut(self, lat: float, lon: float, size_km: float) -> RadarGrid:
        """Return a square sub-grid of ``size_km`` centred on (lat, lon), aligned with this grid."""
        from pyproj import Transformer

        tr = Transformer.from_proj("EPSG:4326", self.projdef, always_xy=True)
        xc, yc = tr.transform(lon, lat)
        n = int(round(size_km * 1000.0 / self.xscale))
        col = int(round((xc - self.x_ul) / self.xscale - n / 2))
        row = int(round((self.y_ul - yc) / self.yscale - n / 2))
        return RadarGrid(
            self.projdef,
            self.x_ul + col * self.xscale,
            self.y_ul - row * self.yscale,
            self.xscale,
            self.yscale,
            n,
            n,
        )


@functools.cache
def france_1km() -> RadarGrid:
    """Return the legacy 1 km French composite grid (1536 x 1536, corner 53.67N 9.97W)."""
    from pyproj import Transformer

    tr = Transformer.from_proj("EPSG:4326", FRANCE_PROJDEF, always_xy=True)
    x_ul, y_ul = tr.transform(-9.97, 53.67)
    return RadarGrid(FRANCE_PROJDEF, float(x_ul), float(y_ul), 1000.0, 1000.0, 1536, 1536)


def _attrs(group: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, str):
            group.attrs[key] = np.bytes_(value)
        else:
            group.attrs[key] = value


def write_radar_composite(
    path: str | os.PathLike,
    field: np.ndarray,
    grid: RadarGrid,
    start: Any,
    end: Any,
    *,
    quantity: str = "ACRR",
    gain: float = 0.01,
    offset: float = 0.0,
    quality: np.ndarray | None = None,
    source: str = "ORG:xgpm,CMT:simulated composite",
    overwrite: bool = False,
) -> Path:
    """Write a 2-D composite field as an ODIM_H5 file (atomically: temp file + rename).

    Parameters
    ----------
    path : path-like
        Output file.
    field : ndarray (ysize, xsize)
        Physical values (mm for ACRR, mm/h for RATE); NaN = not scanned (``nodata``), values at or
        below 0 = no echo (``undetect``). First row = northernmost.
    grid : RadarGrid
        Grid of ``field``.
    start, end : time-like
        Accumulation (or validity) period.
    quantity : {"ACRR", "RATE"}
    gain, offset : float
        Packing into uint16: ``raw = round((value - offset) / gain)``.
    quality : ndarray (ysize, xsize), optional
        Quality index 0-1, stored as uint8 0-100 in ``quality1``.
    source : str
        ODIM ``/what/source``.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
    """
    import h5py

    path = Path(path)
    field = np.asarray(field, dtype="float64")
    if field.shape != (grid.ysize, grid.xsize):
        raise WriteError(
            f"field shape {field.shape} does not match the grid ({grid.ysize}, {grid.xsize})"
        )
    if quantity not in ("ACRR", "RATE"):
        raise InvalidArgumentError(f"quantity must be 'ACRR' or 'RATE', got {quantity!r}")
    if path.exists() and not overwrite:
        raise WriteError(f"{path} exists; pass overwrite=True to replace it")
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    raw = np.round((np.nan_to_num(field, nan=0.0) - offset) / gain)
    raw = np.clip(raw, 0, _UNDETECT - 1).astype("uint16")
    raw[~(field > 0)] = _UNDETECT
    raw[np.isnan(field)] = _NODATA
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as f:
            _attrs(f, {"Conventions": "ODIM_H5/V2_2"})
            _attrs(
                f.create_group("what"),
                {
                    "object": "COMP",
                    "version": "H5rad 2.2",
                    "date": f"{t1:%Y%m%d}",
                    "time": f"{t1:%H%M%S}",
                    "source": source,
                },
            )
            where = f.create_group("where")
            _attrs(
                where,
                {
                    "projdef": grid.projdef,
                    "xsize": np.int64(grid.xsize),
                    "ysize": np.int64(grid.ysize),
                    "xscale": float(grid.xscale),
                    "yscale": float(grid.yscale),
                    "UL_x": float(grid.x_ul),
                    "UL_y": float(grid.y_ul),
                    **grid.corners(),
                },
            )
            _attrs(f.create_group("how"), {"software": "xgpm.simulate", "simulated": "True"})
            ds = f.create_group("dataset1")
            _attrs(
                ds.create_group("what"),
                {
                    "product": "COMP",
                    "startdate": f"{t0:%Y%m%d}",
                    "starttime": f"{t0:%H%M%S}",
                    "enddate": f"{t1:%Y%m%d}",
                    "endtime": f"{t1:%H%M%S}",
                },
            )
            data1 = ds.create_group("data1")
            d = data1.create_dataset("data", data=raw, compression="gzip", compression_opts=4)
            _attrs(d, {"CLASS": "IMAGE", "IMAGE_VERSION": "1.2"})
            _attrs(
                data1.create_group("what"),
                {
                    "quantity": quantity,
                    "gain": float(gain),
                    "offset": float(offset),
                    "nodata": float(_NODATA),
                    "undetect": float(_UNDETECT),
                },
            )
            if quality is not None:
                q = np.clip(np.round(np.nan_to_num(quality) * 100), 0, 100).astype("uint8")
                qg = data1.create_group("quality1")
                qg.create_dataset("data", data=q, compression="gzip", compression_opts=4)
                _attrs(
                    qg.create_group("what"),
                    {"quantity": "QIND", "gain": 0.01, "offset": 0.0},
                )
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _text(value: Any) -> str:
    if isinstance(value, bytes | np.bytes_):
        return value.decode()
    return str(value)


def _odim_time(date: Any, time: Any) -> np.datetime64:
    return np.datetime64(dt.datetime.strptime(_text(date) + _text(time), "%Y%m%d%H%M%S"), "ns")


def open_radar_composite(path: str | os.PathLike | Sequence[str | os.PathLike]) -> xr.Dataset:
    """Open an ODIM_H5 composite (or several, concatenated along ``time``).

    Parameters
    ----------
    path : path-like or sequence of path-like

    Returns
    -------
    xr.Dataset
        The quantity (``ACRR`` mm or ``RATE`` mm/h) as float32 ``(time, y, x)`` with ``nodata``
        -> NaN and ``undetect`` -> 0; ``quality`` (0-1) when present; coordinates ``x``, ``y``
        (projection metres), 2-D ``lon``, ``lat``, ``time`` (start of the period) and
        ``time_end``. The projection is in ``attrs["projdef"]``.

    Raises
    ------
    NotHDF5Error, GranuleError
        If the file is not HDF5 or not an ODIM composite.
    """
    if not isinstance(path, str | os.PathLike):
        parts = [open_radar_composite(p) for p in path]
        if not parts:
            raise InvalidArgumentError("open_radar_composite needs at least one path")
        return xr.concat(parts, dim="time")
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise NotHDF5Error(f"{path} is not a readable HDF5 file ({err})") from err
    with f:
        try:
            where = f["where"].attrs
            what = f["dataset1/data1/what"].attrs
            dwhat = f["dataset1/what"].attrs
            raw = f["dataset1/data1/data"][...]
            has_quality = "quality1" in f["dataset1/data1"]
            quality = f["dataset1/data1/quality1/data"][...] if has_quality else None
            grid = RadarGrid(
                _text(where["projdef"]),
                float(where["UL_x"]) if "UL_x" in where else np.nan,
                float(where["UL_y"]) if "UL_y" in where else np.nan,
                float(where["xscale"]),
                float(where["yscale"]),
                int(where["xsize"]),
                int(where["ysize"]),
            )
            quantity = _text(what["quantity"])
            gain, offset = float(what["gain"]), float(what["offset"])
            nodata, undetect = float(what["nodata"]), float(what["undetect"])
            t0 = _odim_time(dwhat["startdate"], dwhat["starttime"])
            t1 = _odim_time(dwhat["enddate"], dwhat["endtime"])
        except KeyError as err:
            raise GranuleError(
                f"{path} is not an ODIM_H5 composite: missing {err}; expected /where, "
                "/dataset1/what and /dataset1/data1/{data,what}"
            ) from err
    if np.isnan(grid.x_ul):
        from pyproj import Transformer

        tr = Transformer.from_proj("EPSG:4326", grid.projdef, always_xy=True)
        x_ul, y_ul = tr.transform(float(where["UL_lon"]), float(where["UL_lat"]))
        grid = RadarGrid(grid.projdef, x_ul, y_ul, grid.xscale, grid.yscale, grid.xsize, grid.ysize)
    value = (offset + gain * raw.astype("float32")).astype("float32")
    value[raw == undetect] = 0.0
    value[raw == nodata] = np.nan
    lon, lat = grid.lonlat()
    data_vars = {quantity: (("time", "y", "x"), value[None])}
    if quality is not None:
        data_vars["quality"] = (("time", "y", "x"), (quality.astype("float32") / 100.0)[None])
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": [t0],
            "time_end": ("time", [t1]),
            "x": grid.x,
            "y": grid.y,
            "lon": (("y", "x"), lon.astype("float32")),
            "lat": (("y", "x"), lat.astype("float32")),
        },
        attrs={"projdef": grid.projdef, "source_file": str(path)},
    )
    ds[quantity].attrs["units"] = "mm" if quantity == "ACRR" else "mm/h"
    return ds
