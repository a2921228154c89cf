"""Granule file names: parse PPS, PPS custom-subset and JAXA names, and build PPS names.

Three conventions name the same granules:

- PPS: ``2A.GPM.Ku.V9-20211125.20140308-S220950-E234217.000144.V07A.HDF5``;
- PPS custom subsets: the level carries ``-CS-<box>`` and the times are those of the subset
  (``2A-CS-CONUS.GPM.Ku.V8-20180723.20180416-S001234-E002112.023465.V06A.HDF5``);
- JAXA (G-Portal): ``GPMCOR_KUR_1403082209_2342_000144_1BS_DUB_07A.h5``.

Which product a name holds is the registry's business (:mod:`xgpm.io.products`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from xgpm.errors import UnknownProductError

__all__ = ["PPSFileName", "check_product", "parse_filename", "pps_filename"]

_PPS = re.compile(
    r"^(?P<level>[0-9][A-Z](?:-(?!CS-)[A-Z]+)*)(?:-CS-(?P<subset>[A-Za-z0-9_]+))?"
    r"\.(?P<satellite>[A-Za-z0-9]+)\.(?P<instrument>[A-Za-z0-9]+)\.(?P<algorithm>[A-Za-z0-9_\-]+)"
    r"\.(?P<date>\d{8})-S(?P<start>\d{6})-E(?P<end>\d{6})"
    r"\.(?P<granule>\d{4,6})\.(?P<version>V\d{2}[A-Z]?)\.(?P<ext>HDF5|h5|hdf5|nc4?)$"
)
_JAXA = re.compile(
    r"^(?P<mission>[A-Z0-9]+)_(?P<sensor>[A-Z0-9]+)_(?P<start>\d{10})_(?P<end>\d{4})"
    r"_(?P<granule>\d{6})_(?P<level>[0-9A-Z]{2})(?P<type>[SR])_(?P<algorithm>[A-Z0-9]+)"
    r"_(?P<version>\d{2}[A-Z]?)\.(?P<ext>h5|HDF5)$"
)


@dataclass(frozen=True)
class PPSFileName:
    """The parts of a granule file name (PPS, PPS custom subset or JAXA).

    ``granule`` is the orbit number for orbit products and the minute of the day for IMERG
    half-hourly files; ``end`` rolls over to the next day when the end time is earlier than the
    start (granules crossing midnight). ``version`` is always PPS-style (``"V07A"``, also for
    JAXA's ``07A``). ``subset`` is the box of a PPS custom subset (its ``start``/``end`` are the
    subset's first and last scans, within the granule's). ``convention`` is ``"PPS"`` or
    ``"JAXA"``; JAXA names give times to the minute.
    """

    filename: str
    level: str
    satellite: str
    instrument: str
    algorithm: str
    start: dt.datetime
    end: dt.datetime
    granule: int
    version: str
    product: str
    family: str
    subset: str | None = None
    convention: str = "PPS"

    @property
    def time_resolution_s(self) -> int:
        """Resolution of the name's times in seconds (60 for JAXA names)."""
        return 60 if self.convention == "JAXA" else 1


def parse_filename(path: str | os.PathLike) -> PPSFileName:
    """Parse a PPS, PPS custom-subset or JAXA file name (a path or URL: its last part is read).

    Raises
    ------
    UnknownProductError
        If the name follows none of the conventions or names a product xgpm does not know.

    Examples
    --------
    >>> p = parse_filename("1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5")
    >>> p.product, p.granule, p.start.isoformat()
    ('1C-GMI', 79, '2014-03-04T17:59:32')
    >>> parse_filename("GPMCOR_KUR_1403082209_2342_000144_1BS_DUB_07A.h5").product
    '1B-Ku'
    >>> name = "2A-CS-CONUS.GPM.Ku.V8-20180723.20180416-S001234-E002112.023465.V06A.HDF5"
    >>> p = parse_filename(name)
    >>> p.product, p.subset
    ('2A-Ku', 'CONUS')
    """
    name = os.path.basename(str(path).rstrip("/").split("?")[0])
    m = _PPS.match(name)
    if m is not None:
        return _from_pps(name, m)
    m = _JAXA.match(name)
    if m is not None:
        return _from_jaxa(name, m)
    raise UnknownProductError(
        f"{name!r} is not a PPS file name "
        "('{level}.{satellite}.{instrument}.{algorithm}.{YYYYMMDD}-S{HHMMSS}-E{HHMMSS}"
        ".{granule}.{version}.HDF5', a custom subset '{level}-CS-{box}.{satellite}...', or a JAXA "
        "name 'GPMCOR_KUR_{YYMMDDhhmm}_{hhmm}_{granule}_{level}S_{algorithm}_{version}.h5'); "
        "pass product=... to say what it holds"
    )


def _from_pps(name: str, m: re.Match[str]) -> PPSFileName:
    from xgpm.io.products import product_name

    date = dt.datetime.strptime(m["date"], "%Y%m%d")
    start = date + _hms(m["start"])
    end = date + _hms(m["end"])
    if end < start:
        end += dt.timedelta(days=1)
    product, family = product_name(m["level"], m["satellite"], m["instrument"], m["algorithm"])
    return PPSFileName(
        filename=name,
        level=m["level"],
        satellite=m["satellite"],
        instrument=m["instrument"],
        algorithm=m["algorithm"],
        start=start,
        end=end,
        granule=int(m["granule"]),
        version=m["version"],
        product=product,
        family=family,
        subset=m["subset"],
    )


def _from_jaxa(name: str, m: re.Match[str]) -> PPSFileName:
    from xgpm.io.products import jaxa_product, jaxa_satellite

    rule = jaxa_product(m["sensor"], m["level"])
    satellite = jaxa_satellite(m["mission"])
    if rule is None or satellite is None:
        raise UnknownProductError(
            f"{name!r} is a JAXA name, but xgpm's registry has no product for mission "
            f"{m['mission']!r}, sensor {m['sensor']!r} and level {m['level']!r}; pass "
            "product=... to say what it holds"
        )
    start = dt.datetime.strptime(m["start"], "%y%m%d%H%M")
    end = start.replace(hour=int(m["end"][:2]), minute=int(m["end"][2:]))
    if end < start:
        end += dt.timedelta(days=1)
    match = rule["match"]
    return PPSFileName(
        filename=name,
        level=str(match["level"]),
        satellite=satellite,
        instrument=str(match["instrument"]),
        algorithm=m["algorithm"],
        start=start,
        end=end,
        granule=int(m["granule"]),
        version=f"V{m['version']}",
        product=rule["name"],
        family=rule["family"],
        convention="JAXA",
    )


def _hms(text: str) -> dt.timedelta:
    return dt.timedelta(hours=int(text[:2]), minutes=int(text[2:4]), seconds=int(text[4:6]))


def pps_filename(
    product: str,
    start: dt.datetime,
    end: dt.datetime,
    granule: int,
    version: str = "V07A",
    algorithm: str | None = None,
) -> str:
    """Build the PPS file name of a granule.

    Parameters
    ----------
    product : str
        GPM-API product name, e.g. ``"1C-SSMIS-F17"``, ``"2A-DPR"``, ``"IMERG-FR"``.
    start, end : datetime
        First and last scan times (IMERG: start and end of the half hour).
    granule : int
        Orbit number (IMERG: minute of the day of ``start``).
    version : str
        Product version, ``"V07A"`` by default.
    algorithm : str, optional
        Algorithm token; the product's default otherwise.

    Examples
    --------
    >>> import datetime as dt
    >>> pps_filename("1C-GMI", dt.datetime(2014, 3, 4, 17, 59, 32),
    ...              dt.datetime(2014, 3, 4, 19, 31, 59), 79)
    '1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5'
    """
    from xgpm.io.products import product as get_product

    spec = get_product(product)
    fam = spec.family
    if fam.is_grid:
        satellite, instrument = fam.pps_satellite, fam.pps_instrument
        granule_text = f"{granule:04d}"
    else:
        satellite, instrument = spec.satellite, spec.instrument
        granule_text = f"{granule:06d}"
    if algorithm is None:
        algorithm = spec.algorithm()
    version = version if version.startswith("V") else f"V{version}"
    return (
        f"{spec.level}.{satellite}.{instrument}.{algorithm}.{start:%Y%m%d}-S{start:%H%M%S}"
        f"-E{end:%H%M%S}.{granule_text}.{version}.HDF5"
    )


def check_product(name: str) -> None:
    """Raise :class:`UnknownProductError` unless ``name`` is a known product."""
    from xgpm.io.products import product

    product(name)
