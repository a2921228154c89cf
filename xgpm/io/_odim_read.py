"""Decoding of ODIM_H5 2.x Cartesian products (``COMP`` / ``IMAGE``) with h5py, by the spec.

What the public reader (:func:`xgpm.io.odim.open_radar_composite`) builds its Dataset from:
one :class:`OdimField` per ``/datasetN/dataM`` holding the requested quantity.

ODIM_H5 2.x lets every ``what``, ``where`` and ``how`` attribute stand at the root, at
``/datasetN`` or at ``/datasetN/dataM``; each attribute is looked up from the data level up,
the lowest level winning (:func:`merged_attrs`). Quality fields (``qualityK``) sit under a
``dataM`` (for that quantity) or under a ``datasetN`` (for all its data); their own ``what``
says their ``gain``/``offset`` (and, when stated, ``quantity``, ``nodata``, ``undetect``).
Decoding: physical = ``offset + gain * raw``; ``nodata`` (not scanned) -> NaN; ``undetect``
(scanned, no echo) -> 0 for rain quantities (``RATE``, ``ACRR``) and NaN, flagged in a mask,
for every other quantity (a reflectivity below the detection limit is not 0 dBZ).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xgpm.errors import (
    DataQualityWarning,
    NoSuchFileError,
    NotHDF5Error,
    ProjectionError,
    RadarFileError,
    StorageError,
)
from xgpm.io._radar_grid import RadarGrid

if TYPE_CHECKING:  # pragma: no cover
    import h5py

__all__ = [
    "RAIN_QUANTITIES",
    "UNITS",
    "OdimField",
    "QualityField",
    "check_path",
    "inventory",
    "merged_attrs",
    "read_fields",
]

#: Quantities whose ``undetect`` (scanned, no echo) is a real zero.
RAIN_QUANTITIES = frozenset({"RATE", "ACRR"})
#: Units of the ODIM quantities xgpm names (ODIM 2.x, table of quantities).
UNITS = {
    "RATE": "mm/h",
    "ACRR": "mm",
    "DBZH": "dBZ",
    "DBZV": "dBZ",
    "TH": "dBZ",
    "TV": "dBZ",
    "ZDR": "dB",
    "RHOHV": "1",
    "VRAD": "m/s",
    "HGHT": "km",
    "QIND": "1",
}
LONG_NAMES = {
    "RATE": "rain rate",
    "ACRR": "accumulated precipitation",
    "DBZH": "equivalent reflectivity factor, horizontal polarisation",
    "TH": "total (uncorrected) reflectivity factor, horizontal polarisation",
    "QIND": "quality index (0 poorest, 1 best)",
}
#: ``object`` values of 2-D Cartesian products; the others are polar or profiles.
_CARTESIAN = {"COMP", "IMAGE"}
_POLAR = {"PVOL", "SCAN", "ELEV", "AZIM", "RAY", "VP", "XSEC", "CVOL", "PIC"}


@dataclass
class QualityField:
    """One decoded ``qualityK`` group."""

    name: str
    values: np.ndarray
    attrs: dict[str, Any]


@dataclass
class OdimField:
    """One decoded ``/datasetN/dataM``: values, masks, grid, period and metadata."""

    quantity: str
    values: np.ndarray
    undetect: np.ndarray
    grid: RadarGrid
    start: np.datetime64
    end: np.datetime64
    group: str
    attrs: dict[str, Any]
    quality: list[QualityField] = field(default_factory=list)


def text(value: Any) -> str:
    """An HDF5 attribute as a str (bytes, numpy bytes, one-element arrays)."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return " ".join(text(v) for v in value.ravel())
        value = value.ravel()[0]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", "replace").rstrip("\x00").strip()
    return str(value).strip()


def number(value: Any) -> float:
    """An HDF5 attribute as a float (some producers store numbers as strings)."""
    if isinstance(value, np.ndarray):
        value = value.ravel()[0]
    if isinstance(value, bytes | np.bytes_ | str):
        return float(text(value))
    return float(value)


def check_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is a readable HDF5 file; xgpm errors otherwise."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise NoSuchFileError(f"{path}: no such file or folder; check the path")
    if path.is_dir():
        raise StorageError(
            f"{path}: is a folder, not a file; pass one ODIM_H5 file, or a list of them, e.g. "
            f"open_radar_composite(sorted(Path('{path}').glob('*.h5')))"
        )
    if not os.access(path, os.R_OK):
        raise StorageError(f"{path}: permission denied to read it; check its permissions")
    if path.stat().st_size == 0:
        raise NotHDF5Error(f"{path} is empty (0 bytes), not an ODIM_H5 file; download it again")
    if not h5py.is_hdf5(path):
        raise NotHDF5Error(
            f"{path} is not an HDF5 file, so not an ODIM_H5 composite (a GRIB, netCDF-3, "
            "BUFR or HTML error page?); check the file or download it again"
        )
    return path


def _numbered(group: h5py.Group, prefix: str) -> list[str]:
    """Member names ``prefix1, prefix2, ...`` sorted by their number (dataset10 after 2)."""
    pattern = re.compile(rf"{prefix}(\d+)$")
    found = [(int(m.group(1)), k) for k in group if (m := pattern.match(k))]
    return [k for _, k in sorted(found)]


def merged_attrs(groups: list[h5py.Group], name: str) -> dict[str, Any]:
    """Attributes of the ``name`` subgroup (what/where/how) of ``groups``, top to bottom.

    ``groups`` runs from the root down to the data level; a lower level overrides a higher
    one, as ODIM_H5 2.x specifies.
    """
    import h5py

    out: dict[str, Any] = {}
    for group in groups:
        sub = group.get(name)
        if isinstance(sub, h5py.Group):
            out.update({key: sub.attrs[key] for key in sub.attrs})
    return out


def _found(f: h5py.File) -> str:
    """A short listing of what a file holds, for error messages."""
    import h5py

    parts = []
    for key in list(f)[:12]:
        item = f[key]
        if isinstance(item, h5py.Group):
            parts.append(f"/{key}/ ({', '.join(list(item)[:8])})")
        else:
            parts.append(f"/{key}")
    conventions = text(f.attrs["Conventions"]) if "Conventions" in f.attrs else "none"
    return f"Conventions={conventions!r}; top level: {'; '.join(parts) or 'nothing'}"


def inventory(f: h5py.File) -> list[tuple[str, str, str | None]]:
    """Every ``(datasetN, dataM, quantity)`` of a file that has a ``data`` array.

    The quantity is resolved through the hierarchy (None where no level states one).
    """
    import h5py

    out = []
    for ds_name in _numbered(f, "dataset"):
        dset = f[ds_name]
        if not isinstance(dset, h5py.Group):
            continue
        for data_name in _numbered(dset, "data"):
            grp = dset[data_name]
            if not isinstance(grp, h5py.Group) or not isinstance(grp.get("data"), h5py.Dataset):
                continue
            what = merged_attrs([f, dset, grp], "what")
            quantity = text(what["quantity"]).upper() if "quantity" in what else None
            out.append((ds_name, data_name, quantity))
    return out


def _odim_object(path: Path, f: h5py.File) -> str | None:
    what = f.get("what")
    obj = (
        text(what.attrs["object"]).upper() if what is not None and "object" in what.attrs else None
    )
    if obj in _POLAR:
        hint = (
            "open it with xradar (xradar.io.open_odim_datatree) or wradlib"
            if obj in {"PVOL", "SCAN"}
            else "xgpm reads 2-D Cartesian products only (object=COMP or IMAGE)"
        )
        raise RadarFileError(
            f"{path} is an ODIM_H5 {obj} (object={obj}), not a 2-D composite: {hint}"
        )
    return obj


def _time(path: Path, what: dict[str, Any], date_key: str, time_key: str) -> np.datetime64:
    date, hhmmss = what[date_key], what[time_key]
    if isinstance(date, np.integer | int):
        date = f"{int(date):08d}"
    if isinstance(hhmmss, np.integer | int):
        hhmmss = f"{int(hhmmss):06d}"
    stamp = text(date) + text(hhmmss).zfill(6)
    try:
        return np.datetime64(dt.datetime.strptime(stamp[:14], "%Y%m%d%H%M%S"), "ns")
    except ValueError as err:
        raise RadarFileError(
            f"{path}: what/{date_key}={text(date)!r}, what/{time_key}={text(hhmmss)!r} is not "
            "an ODIM date (YYYYMMDD) and time (HHmmss)"
        ) from err


def _period(path: Path, what: dict[str, Any]) -> tuple[np.datetime64, np.datetime64]:
    """(start, end) from startdate/starttime/enddate/endtime, else the nominal date/time."""
    start = end = None
    if "startdate" in what and "starttime" in what:
        start = _time(path, what, "startdate", "starttime")
    if "enddate" in what and "endtime" in what:
        end = _time(path, what, "enddate", "endtime")
    if start is None and end is None:
        if "date" in what and "time" in what:
            start = end = _time(path, what, "date", "time")
        else:
            raise RadarFileError(
                f"{path}: no time: none of what/startdate+starttime, enddate+endtime or "
                f"date+time at the root, dataset or data level (what holds {sorted(what)})"
            )
    return (start if start is not None else end), (end if end is not None else start)


def _transformer(path: Path, projdef: str) -> Any:
    from pyproj import CRS, Transformer

    try:
        return Transformer.from_crs("EPSG:4326", CRS.from_user_input(projdef), always_xy=True)
    except Exception as err:  # noqa: BLE001 - pyproj raises CRSError or ProjError
        raise ProjectionError(
            f"{path}: where/projdef {projdef!r} is not a projection PROJ understands ({err}); "
            "fix the file's /where/projdef (a PROJ string such as '+proj=laea +lat_0=55 "
            "+lon_0=10 +ellps=WGS84') or ask its producer"
        ) from err


def _grid(path: Path, where: dict[str, Any], shape: tuple[int, ...], group: str) -> RadarGrid:
    missing = [k for k in ("projdef", "xscale", "yscale") if k not in where]
    if missing:
        raise RadarFileError(
            f"{path}: {group} has no where/{', where/'.join(missing)} at the root, dataset or "
            f"data level (where holds {sorted(where) or 'nothing'}): not a Cartesian ODIM grid"
        )
    projdef = text(where["projdef"])
    xscale, yscale = number(where["xscale"]), number(where["yscale"])
    xsize = int(number(where["xsize"])) if "xsize" in where else shape[-1]
    ysize = int(number(where["ysize"])) if "ysize" in where else shape[-2]
    if (ysize, xsize) != tuple(shape[-2:]) or len(shape) != 2:
        raise RadarFileError(
            f"{path}: {group}/data has shape {shape}, but where says ysize={ysize}, "
            f"xsize={xsize}; xgpm reads 2-D (ysize, xsize) composites"
        )
    tr = _transformer(path, projdef)
    if "UL_x" in where and "UL_y" in where:  # xgpm's own writer: the exact projected corner
        return RadarGrid(
            projdef, number(where["UL_x"]), number(where["UL_y"]), xscale, yscale, xsize, ysize
        )
    corners = {}
    for key in ("UL", "LL", "UR", "LR"):
        if f"{key}_lon" in where and f"{key}_lat" in where:
            x, y = tr.transform(number(where[f"{key}_lon"]), number(where[f"{key}_lat"]))
            if not (np.isfinite(x) and np.isfinite(y)):
                raise ProjectionError(
                    f"{path}: corner {key} ({number(where[f'{key}_lon'])}, "
                    f"{number(where[f'{key}_lat'])}) cannot be projected with where/projdef "
                    f"{projdef!r}; the projdef or the corners are wrong"
                )
            corners[key] = (float(x), float(y))
    if not corners:
        raise RadarFileError(
            f"{path}: where has no corner coordinates (UL_lon/UL_lat, LL_lon/LL_lat, ...) at "
            f"any level (where holds {sorted(where)}): the grid cannot be placed"
        )
    width, height = xscale * xsize, yscale * ysize
    # Outer corners of the corner cells (ODIM); left and top edges as pysteps takes them.
    lefts = [corners[k][0] for k in ("UL", "LL") if k in corners] or [
        corners[k][0] - width for k in ("UR", "LR") if k in corners
    ]
    tops = [corners[k][1] for k in ("UL", "UR") if k in corners] or [
        corners[k][1] + height for k in ("LL", "LR") if k in corners
    ]
    x_left, y_top = min(lefts), max(tops)
    for key, (x, y) in corners.items():
        ex = x_left + (width if key in ("UR", "LR") else 0.0)
        ey = y_top - (height if key in ("LL", "LR") else 0.0)
        if abs(x - ex) > xscale / 2 or abs(y - ey) > yscale / 2:
            warnings.warn(
                f"{path}: corner {key} projects to ({x:.0f}, {y:.0f}) m but the grid "
                f"(upper-left corner + size x scale) puts it at ({ex:.0f}, {ey:.0f}) m; using "
                "the upper-left corner, xscale and yscale",
                DataQualityWarning,
                stacklevel=5,
            )
            break
    return RadarGrid(projdef, x_left, y_top, xscale, yscale, xsize, ysize)


def _match(raw: np.ndarray, value: float | None) -> np.ndarray | None:
    """Where ``raw`` equals a special value stated as a float attribute (None: nowhere)."""
    if value is None:
        return None
    if raw.dtype.kind == "f":
        if np.isnan(value):
            return np.isnan(raw)
        return raw == raw.dtype.type(value)  # compare in the stored precision
    if np.isnan(value) or value != int(value):
        return None
    info = np.iinfo(raw.dtype)
    if not info.min <= value <= info.max:
        return None
    return raw == int(value)


def _specials(what: dict[str, Any]) -> tuple[float, float, float | None, float | None]:
    gain = number(what["gain"]) if "gain" in what else 1.0
    offset = number(what["offset"]) if "offset" in what else 0.0
    nodata = number(what["nodata"]) if "nodata" in what else None
    undetect = number(what["undetect"]) if "undetect" in what else None
    return gain, offset, nodata, undetect


def _quality(path: Path, f: h5py.File, levels: list[h5py.Group]) -> list[QualityField]:
    """The ``qualityK`` groups of the data level, then of the dataset level."""
    import h5py

    out: list[QualityField] = []
    names: set[str] = set()
    for parent in reversed(levels[1:]):
        for q_name in _numbered(parent, "quality"):
            grp = parent[q_name]
            if not isinstance(grp, h5py.Group) or not isinstance(grp.get("data"), h5py.Dataset):
                continue
            what = merged_attrs([grp], "what")  # a quality field states its own scaling
            how = merged_attrs([grp], "how")
            gain, offset, nodata, undetect = _specials(what)
            raw = grp["data"][...]
            values = (offset + gain * raw.astype("float64")).astype("float32")
            for mask in (_match(raw, nodata), _match(raw, undetect)):
                if mask is not None:
                    values[mask] = np.nan
            quantity = text(what["quantity"]).upper() if "quantity" in what else None
            name = "quality" if quantity in (None, "QIND") and "quality" not in names else None
            if name is None:
                name = f"quality_{quantity or q_name}"
                while name in names:
                    name += "_"
            names.add(name)
            attrs: dict[str, Any] = {
                "odim_group": grp.name,
                "units": UNITS.get(quantity or "QIND", ""),
                "odim_gain": gain,
                "odim_offset": offset,
            }
            attrs["odim_quantity"] = quantity or "none stated (QIND assumed)"
            if "task" in how:
                attrs["odim_task"] = text(how["task"])
            if quantity in (None, "QIND"):
                attrs["long_name"] = LONG_NAMES["QIND"]
            out.append(QualityField(name, values, attrs))
    return out


def _decode(path: Path, f: h5py.File, ds_name: str, data_name: str, quantity: str) -> OdimField:
    dset = f[ds_name]
    grp = dset[data_name]
    levels = [f, dset, grp]
    what = merged_attrs(levels, "what")
    where = merged_attrs(levels, "where")
    how = merged_attrs(levels, "how")
    group = f"/{ds_name}/{data_name}"
    raw = grp["data"][...]
    grid = _grid(path, where, raw.shape, group)
    gain, offset, nodata, undetect = _specials(what)
    nodata_mask = _match(raw, nodata)
    undetect_mask = _match(raw, undetect)
    values = (offset + gain * raw.astype("float64")).astype("float32")
    if undetect_mask is None:
        undetect_mask = np.zeros(raw.shape, dtype=bool)
    if nodata_mask is not None:
        undetect_mask &= ~nodata_mask
    values[undetect_mask] = 0.0 if quantity in RAIN_QUANTITIES else np.nan
    if nodata_mask is not None:
        values[nodata_mask] = np.nan
    start, end = _period(path, what)
    attrs: dict[str, Any] = {
        "odim_quantity": quantity,
        "odim_gain": gain,
        "odim_offset": offset,
        "odim_nodata": "none stated" if nodata is None else nodata,
        "odim_undetect": "none stated" if undetect is None else undetect,
    }
    for key in ("product", "prodname"):
        if key in what:
            attrs[f"odim_{key}"] = text(what[key])
    for key in ("zr_a", "zr_b"):
        if key in how:
            attrs[key] = number(how[key])
    return OdimField(
        quantity, values, undetect_mask, grid, start, end, group, attrs, _quality(path, f, levels)
    )


def read_fields(path: Path, quantity: str | None) -> tuple[list[OdimField], dict[str, Any]]:
    """Decode every field of ``quantity`` in one ODIM_H5 file (a checked path).

    Returns the fields (in dataset order) and the file's attributes (object, version, source,
    Conventions). With ``quantity=None`` the file must hold one quantity only.
    """
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise NotHDF5Error(f"{path} cannot be opened as HDF5 ({err}); download it again") from err
    with f:
        obj = _odim_object(path, f)
        found = inventory(f)
        if not found:
            raise RadarFileError(
                f"{path} is HDF5 but not an ODIM_H5 composite: no /datasetN/dataM/data array "
                f"({_found(f)}); xgpm reads ODIM_H5 2.x COMP/IMAGE files (OPERA, national "
                "composites)"
            )
        quantities = sorted({q or "?" for _, _, q in found})
        if quantity is None:
            if len(quantities) > 1:
                raise RadarFileError(
                    f"{path} holds several quantities {quantities} "
                    f"({', '.join(f'/{d}/{m}={q}' for d, m, q in found)}); pass quantity=, "
                    "e.g. open_radar_composite(path, quantity='RATE')"
                )
            quantity = quantities[0]
            if quantity == "?":
                d, m, _ = found[0]
                raise RadarFileError(
                    f"{path}: /{d}/{m} states no what/quantity at the data, dataset or root "
                    "level; ODIM_H5 requires one (RATE, ACRR, DBZH ...)"
                )
        wanted = quantity.upper()
        chosen = [(d, m) for d, m, q in found if q == wanted]
        if not chosen:
            raise RadarFileError(
                f"{path} holds no {wanted}: it has {quantities} "
                f"({', '.join(f'/{d}/{m}={q}' for d, m, q in found)}); pass one of those as "
                "quantity="
            )
        fields = [_decode(path, f, d, m, wanted) for d, m in chosen]
        root_what = merged_attrs([f], "what")
        file_attrs: dict[str, Any] = {"odim_object": obj or "none stated"}
        for key in ("version", "source"):
            if key in root_what:
                file_attrs[f"odim_{key}"] = text(root_what[key])
        if "Conventions" in f.attrs:
            file_attrs["Conventions"] = text(f.attrs["Conventions"])
    return fields, file_attrs
