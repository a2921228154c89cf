"""ODIM_H5 radar composites (OPERA, national composites): a reader by the spec and a writer.

Reading (:func:`open_radar_composite`) follows ODIM_H5 2.x, not one producer's habit: every
``what``/``where``/``how`` attribute may stand at the root, at ``/datasetN`` or at
``/datasetN/dataM`` (the lowest level wins); a file may hold several datasets (times) and
several data (quantities: ``RATE`` mm/h, ``ACRR`` mm, ``DBZH`` dBZ ...) with quality fields
(``qualityK``, e.g. ``QIND``). Physical value = ``offset + gain * raw``; ``nodata`` marks cells
no radar scanned (NaN), ``undetect`` cells scanned without echo: 0 for rain quantities, NaN (and
flagged in the ``undetect`` mask) for reflectivity, which becomes rain only through a stated
Z-R relation (:func:`dbz_to_rainrate`, ``to_rain=``). The decoding itself is in
:mod:`xgpm.io._odim_read`.

Layout written by :func:`write_radar_composite` (ODIM_H5 v2.2, ``object=COMP``)::

    /what      object, version, date, time, source
    /where     projdef, xsize, ysize, xscale, yscale, LL/UL/UR/LR_lon/lat (corner coordinates)
    /how       simulated / software information
    /dataset1/what         product=COMP, startdate, starttime, enddate, endtime
    /dataset1/data1/data   uint16 (ysize, xsize), first row = northernmost
    /dataset1/data1/what   quantity (ACRR | RATE), gain, offset, nodata, undetect
    /dataset1/data1/quality1/data  uint8 0-100 (QIND, gain 0.01), optional
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError, RadarFileError, WriteError
from xgpm.io._radar_grid import RadarGrid

__all__ = [
    "FRANCE_PROJDEF",
    "ZR_RELATIONS",
    "RadarGrid",
    "dbz_to_rainrate",
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


ZR_RELATIONS: dict[str, tuple[float, float]] = {"marshall-palmer": (200.0, 1.6)}
"""Named Z-R relations ``Z = a R^b`` (Z in mm^6 m^-3, R in mm/h): name -> (a, b)."""


@functools.lru_cache(maxsize=2)
def _lonlat32(grid: RadarGrid) -> tuple[np.ndarray, np.ndarray]:
    """Read-only float32 (lon, lat) of a grid's cell centres, cached (one per archive)."""
    lon, lat = grid.lonlat()
    lon, lat = lon.astype("float32"), lat.astype("float32")
    lon.flags.writeable = lat.flags.writeable = False
    return lon, lat


def _same_grid(a: RadarGrid, b: RadarGrid) -> bool:
    return (
        " ".join(a.projdef.split()) == " ".join(b.projdef.split())
        and (a.xsize, a.ysize) == (b.xsize, b.ysize)
        and np.isclose(a.xscale, b.xscale, rtol=1e-9)
        and np.isclose(a.yscale, b.yscale, rtol=1e-9)
        and abs(a.x_ul - b.x_ul) <= 1e-3 * a.xscale
        and abs(a.y_ul - b.y_ul) <= 1e-3 * a.yscale
    )


def _describe_grid(grid: RadarGrid) -> str:
    return (
        f"{grid.ysize} x {grid.xsize} cells of {grid.xscale:g} x {grid.yscale:g}, upper-left "
        f"corner ({grid.x_ul:.1f}, {grid.y_ul:.1f}) in {grid.projdef!r}"
    )


def _zr(to_rain: str | tuple[float, float]) -> tuple[float, float] | str:
    """(a, b) of a ``to_rain=`` value, or ``"file"`` (the file's own how/zr_a, zr_b)."""
    if isinstance(to_rain, str):
        if to_rain == "file":
            return "file"
        if to_rain.lower() in ZR_RELATIONS:
            return ZR_RELATIONS[to_rain.lower()]
        raise InvalidArgumentError(
            f"unknown Z-R relation {to_rain!r}: pass one of {sorted(ZR_RELATIONS)}, 'file' (the "
            "file's how/zr_a and zr_b) or (a, b) for Z = a R^b"
        )
    try:
        a, b = (float(v) for v in to_rain)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(
            f"to_rain must be a Z-R relation name, 'file' or (a, b), got {to_rain!r}"
        ) from err
    return a, b


def dbz_to_rainrate(
    ds: xr.Dataset | xr.DataArray,
    a: float = 200.0,
    b: float = 1.6,
    *,
    variable: str = "DBZH",
) -> xr.Dataset:
    """Rain rate (mm/h) from reflectivity (dBZ) with a stated Z-R relation ``Z = a R^b``.

    Parameters
    ----------
    ds : Dataset or DataArray
        A reflectivity composite from :func:`open_radar_composite` (``DBZH`` in dBZ). With the
        Dataset's ``undetect`` mask, cells scanned without echo become 0 mm/h; cells not
        scanned (NaN, not undetect) stay NaN. A DataArray has no mask: all its NaN stay NaN.
    a, b : float
        The Z-R relation (Z in mm^6 m^-3, R in mm/h). Marshall-Palmer: a=200, b=1.6.
    variable : str
        The reflectivity variable of ``ds``.

    Returns
    -------
    Dataset
        ``RATE`` (float32, mm/h) in place of ``variable``, with the relation in its attrs
        (``zr_a``, ``zr_b``, ``zr_relation``) and the other variables (quality, ``undetect``)
        kept.

    Raises
    ------
    InvalidArgumentError
        If ``variable`` is missing, is not in dBZ, or ``a``/``b`` are not positive.

    Examples
    --------
    >>> comp = open_radar_composite("dbzh.h5", quantity="DBZH")  # doctest: +SKIP
    >>> rain = dbz_to_rainrate(comp, a=200, b=1.6)  # doctest: +SKIP
    """
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or variable)
        variable = next(iter(ds.data_vars))
    if variable not in ds:
        raise InvalidArgumentError(
            f"no reflectivity variable {variable!r} (variables: {list(ds.data_vars)}); pass "
            "variable= or open the composite with quantity='DBZH'"
        )
    if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        raise InvalidArgumentError(f"a Z-R relation needs a > 0 and b > 0, got a={a}, b={b}")
    dbz = ds[variable]
    units = str(dbz.attrs.get("units", "dBZ"))
    if units.lower() != "dbz":
        raise InvalidArgumentError(
            f"{variable!r} is in {units!r}, not dBZ: only a reflectivity becomes rain through a "
            "Z-R relation"
        )
    z = np.power(10.0, dbz.astype("float64") / 10.0)
    rate = np.power(z / a, 1.0 / b)
    if "undetect" in ds:
        rate = rate.where(~ds["undetect"].astype(bool), 0.0)
    relation = f"Z = {a:g} R^{b:g}"
    rate = rate.astype("float32").assign_attrs(
        {
            **{k: v for k, v in dbz.attrs.items() if k not in ("units", "long_name")},
            "units": "mm/h",
            "long_name": f"rain rate from {variable} with {relation}",
            "zr_a": float(a),
            "zr_b": float(b),
            "zr_relation": relation,
            "derived_from": variable,
        }
    )
    others = {k: v for k, v in ds.data_vars.items() if k != variable}
    out = xr.Dataset({"RATE": rate, **others}, coords=ds.coords, attrs=dict(ds.attrs))
    out.attrs.update(quantity="RATE", derived_from=variable, zr_relation=relation)
    return out


def open_radar_composite(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    quantity: str | None = None,
    *,
    to_rain: str | tuple[float, float] | None = None,
) -> xr.Dataset:
    """Open ODIM_H5 2.x composites (OPERA, national, xgpm's own) along ``time``.

    Every ``what``/``where``/``how`` attribute is looked up from ``/datasetN/dataM`` up to
    ``/datasetN`` and the root, the lowest level winning (ODIM_H5 2.x). Each ``datasetN`` whose
    ``dataM`` holds ``quantity`` is one time step.

    Parameters
    ----------
    path : path-like or sequence of path-like
        One file or several (all on one grid).
    quantity : str, optional
        The ODIM quantity to read (``"RATE"`` mm/h, ``"ACRR"`` mm, ``"DBZH"`` dBZ, ...). None:
        the only quantity of the first file (an error if it holds several).
    to_rain : {"marshall-palmer", "file"} or (a, b), optional
        Turn a reflectivity (``DBZH``) into ``RATE`` with ``Z = a R^b`` (see
        :func:`dbz_to_rainrate`); ``"file"`` takes the file's ``how/zr_a`` and ``zr_b``.
        None (default): reflectivity stays reflectivity, never scored as rain.

    Returns
    -------
    xr.Dataset
        The quantity as float32 ``(time, y, x)``: ``offset + gain * raw``; ``nodata`` (not
        scanned) -> NaN; ``undetect`` (scanned, no echo) -> 0 for ``RATE``/``ACRR`` and NaN for
        every other quantity (e.g. ``DBZH``: below the detection limit is not 0 dBZ). The boolean
        ``undetect`` variable flags those cells for every quantity. Quality fields
        (``qualityK``): ``quality`` for the quality index (``QIND``, or a field stating no
        quantity), ``quality_<QUANTITY>`` for others, decoded with their own gain/offset.
        Coordinates ``time`` (start of the period), ``time_end``, ``x``, ``y`` (projection
        units, cell centres, first row northernmost), 2-D ``lon``/``lat``. ``attrs["projdef"]``
        holds the projection, ``attrs["quantity"]`` the quantity; ODIM metadata (gain, offset,
        nodata, undetect, product, Z-R relation) are in the variable's attrs.

    Raises
    ------
    StorageError
        A path is missing, a folder or unreadable.
    NotHDF5Error
        A file is not HDF5.
    RadarFileError
        A file is HDF5 but not an ODIM_H5 composite (a polar volume, no ``datasetN/dataM``),
        lacks the quantity, or lacks its what/where attributes: the message lists what it holds.
    ProjectionError
        ``where/projdef`` is not a projection PROJ understands.
    InvalidArgumentError
        No path, files on different grids, two files for the same time, or ``to_rain`` on a
        quantity that is not a reflectivity.

    Examples
    --------
    >>> rate = open_radar_composite(sorted(glob.glob("T_PAAH22_C_EUOC_*.hdf")))  # doctest: +SKIP
    >>> dbzh = open_radar_composite("comp.h5", "DBZH", to_rain="marshall-palmer")  # doctest: +SKIP
    """
    from xgpm.io._odim_read import LONG_NAMES, UNITS, check_path, read_fields

    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    if not paths:
        raise InvalidArgumentError("open_radar_composite needs at least one path")
    zr = _zr(to_rain) if to_rain is not None else None
    checked = [check_path(p) for p in paths]
    fields: list[tuple[int, Path, Any]] = []  # (index of the file in the list, path, field)
    file_attrs: dict[str, Any] | None = None
    for i, p in enumerate(checked):
        found, attrs = read_fields(p, quantity)
        quantity = quantity or found[0].quantity  # later files must hold the same
        file_attrs = file_attrs if file_attrs is not None else attrs
        fields.extend((i, p, fld) for fld in found)
    _, first_path, first = fields[0]
    for i, p, fld in fields[1:]:
        if not _same_grid(fld.grid, first.grid):
            message = (
                f"{p} {fld.group} is on another grid ({_describe_grid(fld.grid)}) than "
                f"{first_path} {first.group} ({_describe_grid(first.grid)}); open composites "
                "of one grid at a time"
            )
            raise (RadarFileError if i == 0 else InvalidArgumentError)(message)
    fields.sort(key=lambda item: (item[2].start, item[2].end))
    for (i0, p0, f0), (i1, p1, f1) in zip(fields, fields[1:], strict=False):
        if (f0.start, f0.end) == (f1.start, f1.end):
            message = (
                f"two {f0.quantity} fields for {f0.start}..{f0.end}: {p0} {f0.group} and {p1} "
                f"{f1.group}; pass each time once"
            )
            raise (RadarFileError if i0 == i1 else InvalidArgumentError)(message)
    quantity = first.quantity
    grid = first.grid
    n = len(fields)
    values = np.empty((n, grid.ysize, grid.xsize), dtype="float32")
    undetect = np.empty((n, grid.ysize, grid.xsize), dtype=bool)
    quality: dict[str, np.ndarray] = {}
    quality_attrs: dict[str, dict[str, Any]] = {}
    for i, (_, _, fld) in enumerate(fields):
        values[i], undetect[i] = fld.values, fld.undetect
        for q in fld.quality:
            if q.name not in quality:
                quality[q.name] = np.full(values.shape, np.nan, dtype="float32")
                quality_attrs[q.name] = q.attrs
            quality[q.name][i] = q.values
    dims = ("time", "y", "x")
    rain = quantity in ("RATE", "ACRR")
    var_attrs = {
        "units": UNITS.get(quantity, ""),
        **({"long_name": LONG_NAMES[quantity]} if quantity in LONG_NAMES else {}),
        **first.attrs,
        "undetect_value": "0 (scanned, no echo)" if rain else "NaN, flagged in 'undetect'",
    }
    data_vars: dict[str, Any] = {
        quantity: (dims, values, var_attrs),
        "undetect": (
            dims,
            undetect,
            {"long_name": "scanned without echo (ODIM undetect)", "odim_quantity": quantity},
        ),
    }
    for name, array in quality.items():
        data_vars[name] = (dims, array, quality_attrs[name])
    lon, lat = _lonlat32(grid)
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": np.array([fld.start for _, _, fld in fields], dtype="datetime64[ns]"),
            "time_end": (
                "time",
                np.array([fld.end for _, _, fld in fields], dtype="datetime64[ns]"),
            ),
            "x": grid.x,
            "y": grid.y,
            "lon": (("y", "x"), lon),
            "lat": (("y", "x"), lat),
        },
        attrs={
            "projdef": grid.projdef,
            "source_file": str(first_path),
            "quantity": quantity,
            **(file_attrs or {}),
        },
    )
    if zr is None:
        return ds
    if UNITS.get(quantity) != "dBZ":
        raise InvalidArgumentError(
            f"to_rain converts a reflectivity (dBZ), but {first_path} holds {quantity} "
            f"({UNITS.get(quantity, 'unknown units')}); drop to_rain"
        )
    if zr == "file":
        if "zr_a" not in var_attrs or "zr_b" not in var_attrs:
            raise InvalidArgumentError(
                f"to_rain='file', but {first_path} states no how/zr_a and how/zr_b; pass "
                "to_rain='marshall-palmer' or (a, b)"
            )
        zr = (var_attrs["zr_a"], var_attrs["zr_b"])
    return dbz_to_rainrate(ds, *zr, variable=quantity)
