"""The product registry: GPM-API products, their families, scan modes, layouts and decoding.

Everything here is read from ``xgpm/etc/products.yaml``; code asks the registry instead of
branching on product names. A *product* is a GPM-API product name (``"2A-Ku"``,
``"1C-SSMIS-F17"``); a *family* is a file layout shared by several products (``"2A-RADAR"`` for
2A-DPR, 2A-Ku, 2A-Ka and 2A-PR).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import yaml

from xgpm.errors import UnknownProductError

__all__ = [
    "DecodeRule",
    "Family",
    "Product",
    "VariableSpec",
    "default_fill_value",
    "dimension_name",
    "family",
    "family_of_product",
    "names",
    "product",
    "product_from_algorithm_id",
    "product_name",
    "product_names",
    "sensor_of_product",
    "version_number",
]


@dataclass(frozen=True)
class VariableSpec:
    """How one variable of a product is stored in the HDF5 file."""

    name: str
    path: str
    dtype: str
    hdf5_dims: str
    units: str | None


@dataclass(frozen=True)
class DecodeRule:
    """Stored values that become missing (or another value) in the data model.

    Applied on top of ``_FillValue`` and ``CodeMissingValue``. ``missing`` codes become NaN;
    values below ``valid_min`` or not above ``above`` become NaN; ``replace`` maps a code to a
    value (e.g. qualityTypePrecip's -1111 "no rain" to 0).
    """

    missing: tuple[float, ...] = ()
    valid_min: float | None = None
    above: float | None = None
    replace: tuple[tuple[float, float], ...] = ()

    @property
    def empty(self) -> bool:
        """Whether the rule adds nothing to the fill value."""
        return not (self.missing or self.replace) and self.valid_min is None and self.above is None

    def merge(self, other: DecodeRule) -> DecodeRule:
        """Both rules at once (codes united, the stricter bounds kept)."""

        def stricter(a: float | None, b: float | None) -> float | None:
            return b if a is None else a if b is None else max(a, b)

        return DecodeRule(
            missing=tuple(dict.fromkeys(self.missing + other.missing)),
            valid_min=stricter(self.valid_min, other.valid_min),
            above=stricter(self.above, other.above),
            replace=tuple(dict(self.replace + other.replace).items()),
        )


def _rule(spec: dict[str, Any] | None) -> DecodeRule:
    spec = spec or {}
    return DecodeRule(
        missing=tuple(float(v) for v in spec.get("missing", ())),
        valid_min=None if spec.get("valid_min") is None else float(spec["valid_min"]),
        above=None if spec.get("above") is None else float(spec["above"]),
        replace=tuple((float(k), float(v)) for k, v in (spec.get("replace") or {}).items()),
    )


@dataclass(frozen=True)
class Family:
    """A product family: one file layout (1C, 2A-RADAR, 2B-CORRA, 2A-GPROF, IMERG ...)."""

    name: str
    kind: str
    #: every data-model scan mode of the family (None: from the sensor registry, 1C)
    scan_modes: tuple[str, ...] | None
    default_scan_mode: str
    coordinates: tuple[str, ...]
    algorithms: dict[str, str]
    extra_root_attrs: tuple[str, ...]
    variables: dict[str, VariableSpec]
    pps_satellite: str | None = None
    pps_instrument: str | None = None
    scan_modes_by_version: dict[str, tuple[str, ...]] = field(default_factory=dict)
    renamed_scan_modes: dict[str, str] = field(default_factory=dict)
    renamed_variables: dict[str, str] = field(default_factory=dict)
    max_scans: dict[str, int] = field(default_factory=dict)
    hdf5_dims: dict[str, dict[str, str]] = field(default_factory=dict)
    uia_dim: str | None = None
    required: tuple[str, ...] = ()
    channel_labels: str | None = None
    decoding: dict[str, DecodeRule] = field(default_factory=dict)
    decoding_patterns: tuple[tuple[str, str | None, DecodeRule], ...] = ()

    @property
    def is_grid(self) -> bool:
        """Whether the family is gridded (``time, lat, lon``) rather than an orbit swath."""
        return self.kind == "grid"

    @property
    def v06_scan_modes(self) -> dict[str, str]:
        """Data-model scan mode -> its group name in older (V06) files."""
        return self.renamed_scan_modes

    @property
    def v06_names(self) -> dict[str, str]:
        """Older (V06) variable name -> data-model name."""
        return self.renamed_variables

    def hdf5_dim_names(self, scan_mode: str) -> dict[str, str]:
        """Data-model dim -> HDF5 dimension name for a scan mode (``{n}`` = its number)."""
        names = dict(self.hdf5_dims.get("default", {}))
        names.update(self.hdf5_dims.get(scan_mode, {}))
        number = "".join(ch for ch in scan_mode if ch.isdigit())
        return {dim: text.format(n=number) for dim, text in names.items()}

    def algorithm(self, instrument: str) -> str:
        """Default PPS algorithm token of the file name for an instrument."""
        return self.algorithms.get(instrument, self.algorithms["default"])

    def decode_rule(self, name: str, dtype_kind: str) -> DecodeRule:
        """The decoding rule of a variable (data-model name) of this family."""
        rule = self.decoding.get(name, DecodeRule())
        for pattern, kind, extra in self.decoding_patterns:
            if (kind is None or kind == dtype_kind) and re.search(pattern, name):
                rule = rule.merge(extra)
        return rule


@dataclass(frozen=True)
class Product:
    """One GPM-API product: its family, sensor, scan modes by version and file-name tokens."""

    name: str
    family: Family
    level: str
    satellite: str | None
    instrument: str | None
    sensor: Any = None
    channel_sensor: Any = None
    scan_modes_by_version: dict[str, tuple[str, ...]] = field(default_factory=dict)
    radar_frequency: tuple[str, ...] = ()
    file_algorithm: str | None = None

    def scan_modes(self, version: str | None = None) -> tuple[str, ...]:
        """Data-model scan modes of the product in a version (``"V06A"``; latest if None)."""
        if self.family.scan_modes is None:
            return tuple(self.sensor.scan_modes) if self.sensor is not None else ()
        return _by_version(self.scan_modes_by_version, version)

    @property
    def all_scan_modes(self) -> tuple[str, ...]:
        """Every data-model scan mode the product has in any version."""
        if self.family.scan_modes is None:
            return self.scan_modes()
        seen: dict[str, None] = {}
        for modes in self.scan_modes_by_version.values():
            seen.update(dict.fromkeys(modes))
        return tuple(seen)

    def default_scan_mode(self, version: str | None = None) -> str:
        """The scan mode read when none is asked for (``"merged"`` for multi-swath 1C)."""
        if self.family.default_scan_mode:
            return self.family.default_scan_mode
        return self.scan_modes(version)[0]

    def algorithm(self) -> str:
        """Algorithm token written in a file name built from scratch."""
        if self.file_algorithm:
            return self.file_algorithm
        instrument = self.sensor.pps_instrument if self.sensor is not None else "default"
        return self.family.algorithm(instrument)


def version_number(version: str | None) -> int | None:
    """Major version of ``"V07A"``, ``"07A"`` or ``"V06"`` (None if there is none)."""
    m = re.search(r"(\d+)", str(version or ""))
    return int(m.group(1)) if m else None


def _by_version(table: dict[str, tuple[str, ...]], version: str | None) -> tuple[str, ...]:
    """The entry of the highest version <= ``version`` (the lowest one for older versions)."""
    if not table:
        return ()
    keyed = sorted((version_number(k) or 0, v) for k, v in table.items())
    number = version_number(version)
    if number is None:
        return keyed[-1][1]
    chosen = keyed[0][1]
    for key, modes in keyed:
        if key <= number:
            chosen = modes
    return chosen


@functools.cache
def _registry() -> dict[str, Any]:
    text = resources.files("xgpm").joinpath("etc/products.yaml").read_text()
    return yaml.safe_load(text)


def _modes_table(spec: Any) -> dict[str, tuple[str, ...]]:
    if isinstance(spec, dict):
        return {str(k): tuple(v) for k, v in spec.items()}
    return {}


@functools.cache
def family(name: str) -> Family:
    """Return a product family by name (``"1C"``, ``"2A-RADAR"``, ``"IMERG"`` ...)."""
    fams = _registry()["families"]
    if name not in fams:
        raise UnknownProductError(
            f"unknown product family {name!r}; known families: {', '.join(fams)}"
        )
    spec = dict(fams[name])
    variables = {
        var: VariableSpec(var, path, dtype, dims, units)
        for var, (path, dtype, dims, units) in spec.pop("variables", {}).items()
    }
    scan_spec = spec.pop("scan_modes")
    by_version = _modes_table(scan_spec)
    decoding = spec.pop("decoding", None) or {}
    family_rules = {k: _rule(v) for k, v in (decoding.get("variables") or {}).items()}
    patterns = tuple(
        (p["pattern"], p.get("kind"), _rule(p)) for p in decoding.get("patterns") or ()
    )
    fam = Family(
        name=name,
        kind=spec.pop("kind"),
        scan_modes=None,
        default_scan_mode=spec.pop("default_scan_mode", ""),
        coordinates=tuple(spec.pop("coordinates", ())),
        algorithms=dict(spec.pop("algorithm")),
        extra_root_attrs=tuple(spec.pop("extra_root_attrs", ())),
        variables=variables,
        pps_satellite=spec.pop("pps_satellite", None),
        pps_instrument=spec.pop("pps_instrument", None),
        scan_modes_by_version=by_version,
        renamed_scan_modes=dict(spec.pop("renamed_scan_modes", {})),
        renamed_variables=dict(spec.pop("renamed_variables", {})),
        max_scans=dict(spec.pop("max_scans", {"default": 0})),
        hdf5_dims={k: dict(v) for k, v in spec.pop("hdf5_dims", {}).items()},
        uia_dim=spec.pop("uia_dim", None),
        required=tuple(spec.pop("required", ())),
        channel_labels=spec.pop("channel_labels", None),
        decoding=family_rules,
        decoding_patterns=patterns,
    )
    if scan_spec == "from_sensor":
        return fam
    # every scan mode of the family's products, in registry order (what a writer may write)
    modes: dict[str, None] = {}
    for table in [by_version] + [
        _modes_table(r.get("scan_modes")) for r in _rules() if r["family"] == name
    ]:
        for listed in table.values():
            modes.update(dict.fromkeys(listed))
    return replace(fam, scan_modes=tuple(modes))


def _rules() -> list[dict[str, Any]]:
    return _registry()["products"]


def _sensor_token(sensor_product: str) -> str:
    # "1C-SSMIS-F17" -> "SSMIS-F17"
    return sensor_product.split("-", 1)[1]


def _pps_sensor(satellite: str, instrument: str):
    from xgpm import sensors

    try:
        return sensors.from_pps(satellite, instrument)
    except KeyError:
        return None


def _rule_fits(rule: dict[str, Any], tokens: dict[str, str], sensor) -> bool:
    for key, wanted in rule["match"].items():
        if key == "kind":
            if sensor is None or sensor.kind != wanted:
                return False
        elif key == "algorithm":
            if not re.match(str(wanted), tokens.get("algorithm", "")):
                return False
        elif str(tokens.get(key, "")).upper() != str(wanted).upper():
            return False
    return True


def _expand(rule: dict[str, Any], sensor) -> str | None:
    name = rule["name"]
    if "{sensor}" not in name:
        return name
    if sensor is None:
        return None
    return name.format(sensor=_sensor_token(sensor.product))


def product_name(
    level: str, satellite: str, instrument: str, algorithm: str = ""
) -> tuple[str, str]:
    """Map PPS file-name tokens to ``(GPM-API product name, family name)``.

    Raises
    ------
    UnknownProductError
        If no rule of the registry matches.
    """
    sensor = _pps_sensor(satellite, instrument)
    tokens = {
        "level": level,
        "satellite": satellite,
        "instrument": instrument,
        "algorithm": algorithm,
    }
    for rule in _rules():
        if _rule_fits(rule, tokens, sensor):
            name = _expand(rule, sensor)
            if name is not None:
                return name, rule["family"]
    raise UnknownProductError(
        f"no product in xgpm's registry for level={level!r}, satellite={satellite!r}, "
        f"instrument={instrument!r}, algorithm={algorithm!r}; xgpm reads the products listed by "
        "xgpm.io.products.product_names() (1A/1B/1C, 2A radar, ENV, SLH, GPROF, 2B CORRA/CSH, "
        "IMERG)"
    )


def product_from_algorithm_id(algorithm_id: str, satellite: str, instrument: str) -> str | None:
    """The product of a FileHeader (AlgorithmID, SatelliteName, InstrumentName), or None.

    Used when the header's FileName is no PPS or JAXA name. AlgorithmID cannot tell 1C from
    1C-R, 2A from 2A-CLIM or IMERG Final from Early/Late: the first rule (1C, 2A, IMERG-FR) wins.
    """
    sensor = _pps_sensor(satellite, instrument)
    for rule in _rules():
        pattern = rule.get("algorithm_id")
        if not pattern or not re.search(pattern, algorithm_id):
            continue
        if rule["match"].get("kind") and (sensor is None or sensor.kind != rule["match"]["kind"]):
            continue
        name = _expand(rule, sensor)
        if name is not None:
            return name
    return None


def jaxa_product(sensor_token: str, level_token: str) -> dict[str, Any] | None:
    """The registry rule of a JAXA name's sensor and level tokens (``KUR``, ``1B``), or None."""
    for rule in _rules():
        jaxa = rule.get("jaxa")
        if jaxa and jaxa["sensor"] == sensor_token and str(jaxa["level"]) == level_token:
            return rule
    return None


def jaxa_satellite(mission: str) -> str | None:
    """PPS satellite of a JAXA mission token (``GPMCOR`` -> ``GPM``)."""
    for key, satellite in _registry()["jaxa_missions"].items():
        if key in mission:
            return satellite
    return None


def _template_match(rule: dict[str, Any], name: str):
    """The sensor of ``name`` under a ``{sensor}`` rule (or True for a literal match)."""
    from xgpm import sensors

    template = rule["name"]
    if "{sensor}" not in template:
        return template == name
    pattern = re.escape(template).replace(re.escape("{sensor}"), "(?P<sensor>.+)")
    m = re.fullmatch(pattern, name)
    if m is None:
        return None
    try:
        sensor = sensors.get(m["sensor"])
    except KeyError:
        return None
    if _sensor_token(sensor.product) != m["sensor"].upper():
        return None
    kind = rule["match"].get("kind")
    if kind and sensor.kind != kind:
        return None
    return sensor


@functools.cache
def product(name: str) -> Product:
    """Return a GPM-API product by name (``"1C-GMI"``, ``"2A-Ku"``, ``"2A-SSMIS-F17-CLIM"``).

    Raises
    ------
    UnknownProductError
        If the registry has no such product.
    """
    from xgpm import sensors

    for rule in _rules():
        found = _template_match(rule, name)
        if not found:
            continue
        fam = family(rule["family"])
        sensor = found if found is not True else None
        if sensor is None and rule.get("sensor"):
            sensor = sensors.get(rule["sensor"])
        channel_sensor = sensors.get(rule["channel_sensor"]) if rule.get("channel_sensor") else None
        match = rule["match"]
        return Product(
            name=name,
            family=fam,
            level=str(match["level"]),
            satellite=match.get("satellite") or (sensor.pps_satellite if sensor else None),
            instrument=match.get("instrument") or (sensor.pps_instrument if sensor else None),
            sensor=sensor,
            channel_sensor=channel_sensor,
            scan_modes_by_version=_modes_table(rule.get("scan_modes")) or fam.scan_modes_by_version,
            radar_frequency=tuple(rule.get("radar_frequency", ())),
            file_algorithm=rule.get("file_algorithm"),
        )
    raise UnknownProductError(
        f"unknown product {name!r}; expected a GPM-API product name such as '1C-GMI', "
        "'1C-SSMIS-F17', '2A-DPR', '2A-Ku', '2B-GPM-CORRA', '2A-GMI' or 'IMERG-FR' "
        "(xgpm.io.products.product_names() lists them all)"
    )


def family_of_product(product_name_: str) -> Family:
    """Return the family of a GPM-API product name (``"1C-GMI"`` -> family ``1C``)."""
    return product(product_name_).family


def sensor_of_product(product_name_: str):
    """Return the :class:`xgpm.sensors.Sensor` of a product, or None (IMERG, TRMM PR)."""
    return product(product_name_).sensor


def product_names() -> list[str]:
    """Every product name the registry reads (``{sensor}`` rules expanded over the sensors)."""
    from xgpm import sensors

    out: dict[str, None] = {}
    for rule in _rules():
        if "{sensor}" not in rule["name"]:
            out[rule["name"]] = None
            continue
        kind = rule["match"].get("kind")
        for key in sensors.names():
            sensor = sensors.get(key)
            if kind is None or sensor.kind == kind:
                out[rule["name"].format(sensor=_sensor_token(sensor.product))] = None
    return list(out)


@functools.cache
def _dimension_patterns() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(p), name) for p, name in _registry()["dimensions"]]


def dimension_name(hdf5_dim: str) -> str:
    """Data-model dimension of an HDF5 ``DimensionNames`` entry (``nscan1`` -> ``along_track``)."""
    for pattern, name in _dimension_patterns():
        if pattern.match(hdf5_dim):
            return name
    return hdf5_dim


def default_fill_value(dtype) -> Any:
    """PPS fill value for a dtype (float -9999.9, int8 -99, int16/int32 -9999, uint8 255)."""
    import numpy as np

    key = np.dtype(dtype).name
    fills = _registry()["fill_values"]
    if key not in fills:
        return None
    return np.dtype(dtype).type(fills[key])


def root_attribute_layout() -> dict[str, list[str]]:
    """Keys of each root PVL block (FileHeader, FileInfo, ...) in file order."""
    return {k: list(v) for k, v in _registry()["root_attributes"].items()}


def file_info_defaults() -> dict[str, str]:
    """FileInfo values written when a Dataset carries none."""
    return {k: str(v) for k, v in _registry()["file_info_defaults"].items()}


def names() -> list[str]:
    """Product family names in the registry."""
    return list(_registry()["families"])
