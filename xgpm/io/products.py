"""The product registry: PPS product families, their layouts and naming rules.

Everything here is read from ``xgpm/etc/products.yaml``; code asks the registry instead of
branching on product names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from xgpm.errors import UnknownProductError

__all__ = [
    "Family",
    "VariableSpec",
    "family",
    "family_of_product",
    "product_name",
    "dimension_name",
    "default_fill_value",
    "names",
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
class Family:
    """A product family (1C, 2A-DPR, 2B-CORRA, 2A-GPROF, IMERG)."""

    name: str
    kind: str
    scan_modes: tuple[str, ...] | None
    default_scan_mode: str
    coordinates: tuple[str, ...]
    algorithms: dict[str, str]
    extra_root_attrs: tuple[str, ...]
    variables: dict[str, VariableSpec]
    pps_satellite: str | None = None
    pps_instrument: str | None = None
    radar_frequency: tuple[str, ...] = ()
    v06_scan_modes: dict[str, str] = field(default_factory=dict)
    v06_names: dict[str, str] = field(default_factory=dict)
    max_scans: dict[str, int] = field(default_factory=dict)
    hdf5_dims: dict[str, dict[str, str]] = field(default_factory=dict)
    uia_dim: str | None = None
    required: tuple[str, ...] = ()

    @property
    def is_grid(self) -> bool:
        """Whether the family is gridded (``time, lat, lon``) rather than an orbit swath."""
        return self.kind == "grid"

    def hdf5_dim_names(self, scan_mode: str) -> dict[str, str]:
        """Data-model dim -> HDF5 dimension name for a scan mode (``{n}`` = its number)."""
        names = dict(self.hdf5_dims.get("default", {}))
        names.update(self.hdf5_dims.get(scan_mode, {}))
        number = "".join(ch for ch in scan_mode if ch.isdigit())
        return {dim: text.format(n=number) for dim, text in names.items()}

    def algorithm(self, instrument: str) -> str:
        """Default PPS algorithm token of the file name for an instrument."""
        return self.algorithms.get(instrument, self.algorithms["default"])


@functools.cache
def _registry() -> dict[str, Any]:
    text = resources.files("xgpm").joinpath("etc/products.yaml").read_text()
    return yaml.safe_load(text)


@functools.cache
def family(name: str) -> Family:
    """Return a product family by name (``"1C"``, ``"2A-DPR"``, ``"IMERG"`` ...)."""
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
    scan_modes = spec.pop("scan_modes")
    return Family(
        name=name,
        kind=spec.pop("kind"),
        scan_modes=None if scan_modes == "from_sensor" else tuple(scan_modes),
        default_scan_mode=spec.pop("default_scan_mode"),
        coordinates=tuple(spec.pop("coordinates", ())),
        algorithms=dict(spec.pop("algorithm")),
        extra_root_attrs=tuple(spec.pop("extra_root_attrs", ())),
        variables=variables,
        pps_satellite=spec.pop("pps_satellite", None),
        pps_instrument=spec.pop("pps_instrument", None),
        radar_frequency=tuple(spec.pop("radar_frequency", ())),
        v06_scan_modes=dict(spec.pop("v06_scan_modes", {})),
        v06_names=dict(spec.pop("v06_names", {})),
        max_scans=dict(spec.pop("max_scans", {"default": 0})),
        hdf5_dims={k: dict(v) for k, v in spec.pop("hdf5_dims", {}).items()},
        uia_dim=spec.pop("uia_dim", None),
        required=tuple(spec.pop("required", ())),
    )


def _rules() -> list[dict[str, Any]]:
    return _registry()["rules"]


def _sensor_token(sensor_product: str) -> str:
    # "1C-SSMIS-F17" -> "SSMIS-F17"
    return sensor_product.split("-", 1)[1]


def product_name(level: str, satellite: str, instrument: str) -> tuple[str, str]:
    """Map PPS file-name tokens to ``(GPM-API product name, family name)``.

    Raises
    ------
    UnknownProductError
        If no rule of the registry matches.
    """
    from xgpm import sensors

    try:
        sensor = sensors.from_pps(satellite, instrument)
    except KeyError:
        sensor = None
    for rule in _rules():
        match = rule["match"]
        if match.get("level") != level:
            continue
        if "instrument" in match and match["instrument"] != instrument:
            continue
        if "kind" in match and (sensor is None or sensor.kind != match["kind"]):
            continue
        name = rule["name"]
        if "{sensor}" in name:
            if sensor is None:
                continue
            name = name.format(sensor=_sensor_token(sensor.product))
        return name, rule["family"]
    raise UnknownProductError(
        f"no product in xgpm's registry for level={level!r}, satellite={satellite!r}, "
        f"instrument={instrument!r}; supported: 1C, 1C-R, 2A (GPROF, DPR), 2A-CLIM, 2B CORRA, "
        "3B-HHR (IMERG)"
    )


def family_of_product(product: str) -> Family:
    """Return the family of a GPM-API product name (``"1C-GMI"`` -> family ``1C``)."""
    from xgpm import sensors

    for rule in _rules():
        pattern = re.escape(rule["name"]).replace(re.escape("{sensor}"), "(?P<sensor>.+)")
        m = re.fullmatch(pattern, product)
        if m is None:
            continue
        if "sensor" in m.groupdict():
            try:
                sensors.get(m["sensor"])
            except KeyError:
                continue
        return family(rule["family"])
    raise UnknownProductError(
        f"unknown product {product!r}; expected a GPM-API product name such as '1C-GMI', "
        "'1C-SSMIS-F17', '2A-DPR', '2B-GPM-CORRA', '2A-GMI' or 'IMERG-FR'"
    )


def sensor_of_product(product: str):
    """Return the :class:`xgpm.sensors.Sensor` of a product, or None for merged products."""
    from xgpm import sensors

    fam = family_of_product(product)
    if fam.name == "IMERG":
        return None
    if fam.name in ("2A-DPR", "2B-CORRA"):
        return sensors.get("DPR")
    core = product.split("-", 1)[1]
    for suffix in ("-CLIM", "-R"):
        core = core.removesuffix(suffix)
    return sensors.get(core)


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
