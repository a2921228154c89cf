"""PPS file names: parse them into their parts and build them from a granule's metadata."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from xgpm.errors import UnknownProductError

__all__ = ["PPSFileName", "parse_filename", "pps_filename"]

_PATTERN = re.compile(
    r"^(?P<level>[0-9][A-Z](?:-[A-Z]+)*)"
    r"\.(?P<satellite>[A-Za-z0-9]+)\.(?P<instrument>[A-Za-z0-9]+)\.(?P<algorithm>[A-Za-z0-9_\-]+)"
    r"\.(?P<date>\d{8})-S(?P<start>\d{6})-E(?P<end>\d{6})"
    r"\.(?P<granule>\d{4,6})\.(?P<version>V\d{2}[A-Z]?)\.(?P<ext>HDF5|h5|hdf5|nc4?)$"
)


@dataclass(frozen=True)
class PPSFileName:
    """The parts of a PPS file name.

    ``granule`` is the orbit number for orbit products and the minute of the day for IMERG
    half-hourly files; ``end`` rolls over to the next day when the end time is earlier than the
    start (granules crossing midnight).
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


def parse_filename(path: str | os.PathLike) -> PPSFileName:
    """Parse a PPS file name (a path or URL may be given; only its last part is read).

    Raises
    ------
    UnknownProductError
        If the name does not follow the PPS convention or names a product xgpm does not know.

    Examples
    --------
    >>> p = parse_filename("1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5")
    >>> p.product, p.granule, p.start.isoformat()
    ('1C-GMI', 79, '2014-03-04T17:59:32')
    """
    from xgpm.io.products import product_name

    name = os.path.basename(str(path).rstrip("/").split("?")[0])
    m = _PATTERN.match(name)
    if m is None:
        raise UnknownProductError(
            f"{name!r} is not a PPS file name "
            "('{level}.{satellite}.{instrument}.{algorithm}.{YYYYMMDD}-S{HHMMSS}-E{HHMMSS}"
            ".{granule}.{version}.HDF5'); pass product=... to say what it holds"
        )
    date = dt.datetime.strptime(m["date"], "%Y%m%d")
    start = date + _hms(m["start"])
    end = date + _hms(m["end"])
    if end < start:
        end += dt.timedelta(days=1)
    product, family = product_name(m["level"], m["satellite"], m["instrument"])
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
        Algorithm token; the family's default for the instrument otherwise.

    Examples
    --------
    >>> import datetime as dt
    >>> pps_filename("1C-GMI", dt.datetime(2014, 3, 4, 17, 59, 32),
    ...              dt.datetime(2014, 3, 4, 19, 31, 59), 79)
    '1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5'
    """
    from xgpm.io.products import _rules, family_of_product, sensor_of_product

    fam = family_of_product(product)
    sensor = sensor_of_product(product)
    level = next(
        rule["match"]["level"]
        for rule in _rules()
        if rule["family"] == fam.name and _rule_matches(rule["name"], product, sensor)
    )
    if fam.is_grid:
        satellite, instrument = fam.pps_satellite, fam.pps_instrument
        granule_text = f"{granule:04d}"
    else:
        satellite = sensor.pps_satellite
        instrument = "DPRGMI" if fam.name == "2B-CORRA" else sensor.pps_instrument
        granule_text = f"{granule:06d}"
    if algorithm is None:
        algorithm = fam.algorithm(instrument)
    return (
        f"{level}.{satellite}.{instrument}.{algorithm}.{start:%Y%m%d}-S{start:%H%M%S}"
        f"-E{end:%H%M%S}.{granule_text}.{version}.HDF5"
    )


def _rule_matches(template: str, product: str, sensor) -> bool:
    if "{sensor}" not in template:
        return template == product
    if sensor is None:
        return False
    return template.format(sensor=sensor.product.split("-", 1)[1]) == product


def check_product(name: str) -> None:
    """Raise :class:`UnknownProductError` unless ``name`` is a known product."""
    from xgpm.io.products import family_of_product

    family_of_product(name)


__all__ += ["check_product"]
