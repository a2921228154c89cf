"""The sensor registry: every GPM constellation sensor, its scan modes and channels, as data.

The facts live in ``xgpm/etc/sensors.yaml`` (instruments and platforms written once, combined into
per-platform sensors); this module loads and validates them once and exposes frozen dataclasses.

Examples
--------
>>> from xgpm import sensors
>>> gmi = sensors.get("GMI")
>>> gmi.channel("89V").frequency
89.0
>>> sensors.find_channel("SSMIS-F17", 89.0, "V").label
'91V'
>>> sensors.from_pps("F17", "SSMIS").product
'1C-SSMIS-F17'
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from xgpm.errors import (
    InvalidArgumentError,
    RegistryError,
    UnknownChannelError,
    UnknownProductError,
    UnknownSensorError,
)

__all__ = [
    "Channel",
    "ScanMode",
    "Orbit",
    "Sensor",
    "get",
    "names",
    "from_product",
    "from_pps",
    "find_channel",
]

_POLARIZATIONS = ("V", "H", "QV", "QH")
_KINDS = ("radiometer", "radar")
_SCAN_TYPES = ("CONICAL", "CROSSTRACK")
_CHANNEL_REQUIRED = (
    "label",
    "frequency",
    "polarization",
    "nedt",
    "footprint_km",
    "beamwidth_deg",
    "incidence_angle",
)
_CHANNEL_OPTIONAL = ("offset", "incidence_varies", "approximate", "notes")
_INSTRUMENT_REQUIRED = (
    "pps_instrument",
    "kind",
    "scan_type",
    "swath_width_km",
    "scan_spacing_km",
    "scan_period_s",
    "imerg_source_code",
    "scan_modes",
)
_ORBIT_FIELDS = (
    "altitude_km",
    "inclination_deg",
    "sun_synchronous",
    "period_min",
    "ascending_node_local_time",
)
# Instrument-level scalars a sensor entry may override.
_OVERRIDABLE = (
    "swath_width_km",
    "scan_spacing_km",
    "scan_period_s",
    "imerg_source_code",
    "min_detectable_rate_mm_h",
)
_FREQUENCY_RANGE_GHZ = (1.0, 300.0)


@dataclass(frozen=True)
class Channel:
    """One channel of a sensor, as stored in the 1C ``Tc`` variable of one scan mode.

    Attributes
    ----------
    label : str
        GPM-API ``pmw_frequency`` label ("89V", "183V7"); "Ku"/"Ka" for the DPR.
    frequency : float
        Centre frequency in GHz (36.64 for GMI "37V", 183.31 for 183 GHz channels).
    offset : float
        Sideband offset in GHz; 0.0 for a single passband ("183V7" -> 7.0).
    polarization : str
        "V", "H", "QV" or "QH" (quasi-V/H of cross-track sounders).
    scan_mode : str
        Scan mode holding the channel ("S1".."S6"; "FS"/"HS" for the DPR).
    index : int
        0-based position in the scan mode's channel dimension.
    nedt : float
        Noise-equivalent delta temperature in K (NaN for radar channels).
    footprint_km : tuple of float
        (along_track, cross_track) 3 dB footprint size in km (at nadir for cross-track sensors).
    beamwidth_deg : float or None
        3 dB beamwidth in degrees.
    incidence_angle : float
        Nominal earth incidence angle in degrees (0 at nadir for cross-track sensors).
    incidence_varies : bool
        True when the incidence angle changes across the scan (cross-track sensors).
    approximate : bool
        True when some value of the channel is approximate or derived; ``notes`` says which.
    notes : str
        Provenance of approximate values.
    """

    label: str
    frequency: float
    offset: float
    polarization: str
    scan_mode: str
    index: int
    nedt: float
    footprint_km: tuple[float, float]
    beamwidth_deg: float | None
    incidence_angle: float
    incidence_varies: bool = False
    approximate: bool = False
    notes: str = ""

    @property
    def passbands(self) -> tuple[float, ...]:
        """Centre frequencies of the passbands in GHz (two for a double-sideband channel)."""
        if self.offset > 0:
            return (self.frequency - self.offset, self.frequency + self.offset)
        return (self.frequency,)


@dataclass(frozen=True)
class ScanMode:
    """A swath (1C group ``S1``..``S6``, DPR ``FS``/``HS``) with its pixel count and channels."""

    name: str
    n_pixels: int
    channels: tuple[Channel, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """Channel labels in ``Tc`` order."""
        return tuple(c.label for c in self.channels)


@dataclass(frozen=True)
class Orbit:
    """Nominal orbit of a platform.

    ``ascending_node_local_time`` is in hours (sun-synchronous orbits only; None otherwise or
    when unknown; DMSP and NOAA nodes drift, the value is the one at launch).
    """

    altitude_km: float
    inclination_deg: float
    sun_synchronous: bool
    period_min: float
    ascending_node_local_time: float | None


@dataclass(frozen=True)
class Sensor:
    """An instrument on a platform: the unit of the registry.

    Attributes
    ----------
    name : str
        Registry key ("GMI", "SSMIS-F17", "AMSR2-GCOMW1", "DPR").
    instrument, platform : str
        Instrument type ("SSMIS") and platform ("F17"; "GPM" for GMI/DPR, "TRMM" for TMI).
    pps_satellite, pps_instrument : str
        Satellite and instrument tokens of PPS file names ("F17", "SSMIS").
    product : str
        Main GPM-API product ("1C-SSMIS-F17"; "2A-DPR" for the DPR).
    kind : str
        "radiometer" or "radar".
    scan_type : str
        "CONICAL" or "CROSSTRACK".
    scan_modes : dict of str to ScanMode
        Scan modes in file order.
    swath_width_km, scan_spacing_km : float
        Swath width and along-track scan spacing in km.
    scan_period_s : float or None
        Time per scan in seconds.
    orbit : Orbit
        Platform orbit.
    imerg_source_code : int or None
        IMERG ``MWprecipSource`` code of the sensor.
    approximate_fields : tuple of str
        Names of sensor-level fields whose values are approximate ("orbit.period_min").
    products : tuple of str
        Every GPM-API product of exactly this sensor (GMI: "1C-GMI", "1C-GMI-R").
    min_detectable_rate_mm_h : float or None
        Radar sensitivity as a rain rate (DPR ~0.2 mm/h); None for radiometers.
    """

    name: str
    instrument: str
    platform: str
    pps_satellite: str
    pps_instrument: str
    product: str
    kind: str
    scan_type: str
    scan_modes: dict[str, ScanMode]
    swath_width_km: float
    scan_spacing_km: float
    scan_period_s: float | None
    orbit: Orbit
    imerg_source_code: int | None
    approximate_fields: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    min_detectable_rate_mm_h: float | None = None

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """All channels in 1C order (S1 channels, then S2 ...)."""
        return tuple(c for mode in self.scan_modes.values() for c in mode.channels)

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of :attr:`channels` (a label can repeat across scan modes: AMSR2 S5/S6)."""
        return tuple(c.label for c in self.channels)

    def channel(self, label: str, *, scan_mode: str | None = None) -> Channel:
        """Return the channel with GPM-API label ``label``.

        Parameters
        ----------
        label : str
            Channel label, e.g. "89V" (exact, case-sensitive as in GPM-API; a case-insensitive
            match is accepted when unique).
        scan_mode : str, optional
            Scan mode to look in; needed only to reach a label repeated in a later scan mode
            (AMSR2 "89V" is S5 by default, S6 with ``scan_mode="S6"``).

        Raises
        ------
        UnknownChannelError
            If the sensor (or scan mode) has no such channel; the message lists the valid labels.
        """
        if scan_mode is not None:
            mode = self._scan_mode(scan_mode)
            candidates = {c.label: c for c in mode.channels}
        else:
            candidates = {}
            for c in self.channels:
                candidates.setdefault(c.label, c)  # first scan mode wins (AMSR2 S5 "89V")
        if label in candidates:
            return candidates[label]
        folded = [c for lab, c in candidates.items() if lab.upper() == str(label).strip().upper()]
        if len(folded) == 1:
            return folded[0]
        where = f"{self.name} scan mode {scan_mode}" if scan_mode else self.name
        close = difflib.get_close_matches(str(label), list(candidates), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownChannelError(
            f"{where} has no channel {label!r}.{hint} Valid labels: {', '.join(candidates)}."
        )

    def scan_mode_of(self, label: str) -> str:
        """Return the scan mode holding channel ``label`` (the first one for a repeated label)."""
        return self.channel(label).scan_mode

    def find_channel(
        self,
        frequency: float,
        polarization: str | None = None,
        *,
        tolerance: float | None = None,
    ) -> Channel:
        """Return the channel nearest to ``frequency`` (GHz) with a matching polarisation.

        Nearness is ``|log(frequency / f)|`` where ``f`` is the channel centre or, for a
        double-sideband channel, either passband centre (``183V7`` is near 176.3 and 190.3 GHz as
        well as 183.31 GHz). Ties go to the smaller sideband offset, then to 1C order, so
        ``find_channel(183.31, "V")`` on GMI gives "183V3".

        Parameters
        ----------
        frequency : float
            Frequency in GHz (> 0).
        polarization : str, optional
            "V", "H", "QV" or "QH"; "V" matches V and QV channels, "H" matches H and QH. None
            matches any polarisation.
        tolerance : float, optional
            Maximum relative frequency difference (0.1 = 10 %); beyond it an error is raised.

        Raises
        ------
        UnknownChannelError
            If no channel has that polarisation or none lies within ``tolerance``.
        InvalidArgumentError
            If ``frequency``, ``polarization`` or ``tolerance`` is not valid.
        """
        try:
            freq = float(frequency)
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                f"frequency must be a number in GHz, got {frequency!r}."
            ) from None
        if not math.isfinite(freq) or freq <= 0:
            raise InvalidArgumentError(f"frequency must be a positive number in GHz, got {freq}.")
        if tolerance is not None and not (tolerance >= 0):
            raise InvalidArgumentError(f"tolerance must be >= 0 (relative), got {tolerance!r}.")
        base_pol = None
        if polarization is not None:
            pol = str(polarization).upper()
            if pol not in _POLARIZATIONS:
                raise InvalidArgumentError(
                    f"polarization must be one of {', '.join(_POLARIZATIONS)} or None, "
                    f"got {polarization!r}."
                )
            base_pol = pol[-1]
        candidates = [
            c for c in self.channels if base_pol is None or c.polarization[-1] == base_pol
        ]
        if not candidates:
            pols = sorted({c.polarization for c in self.channels})
            raise UnknownChannelError(
                f"{self.name} has no {polarization}-polarised channel; "
                f"its polarisations are {', '.join(pols)}."
            )

        def distance(c: Channel) -> float:
            centres = (c.frequency, *c.passbands)
            return min(abs(math.log(freq / f)) for f in centres)

        order = {id(c): i for i, c in enumerate(candidates)}
        best = min(candidates, key=lambda c: (round(distance(c), 12), c.offset, order[id(c)]))
        if tolerance is not None and distance(best) > math.log1p(tolerance) + 1e-12:
            listing = ", ".join(f"{c.label} ({c.frequency:g} GHz)" for c in candidates)
            raise UnknownChannelError(
                f"{self.name} has no channel within {tolerance:.0%} of {freq:g} GHz"
                f"{' ' + str(polarization) if polarization else ''}; nearest is {best.label} "
                f"({best.frequency:g} GHz). Channels: {listing}."
            )
        return best

    def _scan_mode(self, name: str) -> ScanMode:
        try:
            return self.scan_modes[name]
        except KeyError:
            raise UnknownChannelError(
                f"{self.name} has no scan mode {name!r}; valid: {', '.join(self.scan_modes)}."
            ) from None


# --------------------------------------------------------------------------------------------
# Loading and validation


def _fail(where: str, message: str) -> RegistryError:
    return RegistryError(f"sensors.yaml, {where}: {message}")


def _number(value: Any, where: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"expected a number, got {value!r}")
    return float(value)


def _build_channel(raw: Any, mode: str, index: int, kind: str, where: str) -> Channel:
    if not isinstance(raw, Mapping):
        raise _fail(where, f"a channel must be a mapping, got {raw!r}")
    missing = [k for k in _CHANNEL_REQUIRED if k not in raw]
    if missing:
        raise _fail(where, f"channel {raw.get('label')!r} lacks {', '.join(missing)}")
    unknown = set(raw) - set(_CHANNEL_REQUIRED) - set(_CHANNEL_OPTIONAL)
    if unknown:
        raise _fail(where, f"channel {raw['label']!r} has unknown keys {sorted(unknown)}")
    label = str(raw["label"])
    where = f"{where} channel {label}"
    frequency = _number(raw["frequency"], f"{where} frequency")
    lo, hi = _FREQUENCY_RANGE_GHZ
    if not lo <= frequency <= hi:
        raise _fail(where, f"frequency {frequency} GHz outside {lo}-{hi} GHz")
    offset = _number(raw.get("offset", 0.0), f"{where} offset")
    if not 0 <= offset < frequency:
        raise _fail(where, f"offset {offset} GHz must be in [0, frequency)")
    pol = raw["polarization"]
    if pol not in _POLARIZATIONS:
        raise _fail(where, f"polarization {pol!r} not in {_POLARIZATIONS}")
    if kind == "radar":
        nedt = _number(raw["nedt"], f"{where} nedt", allow_none=True)
        nedt = math.nan if nedt is None else nedt
    else:
        nedt = _number(raw["nedt"], f"{where} nedt")
        if not nedt > 0:
            raise _fail(where, f"nedt must be > 0 K, got {nedt}")
    footprint = raw["footprint_km"]
    if not (isinstance(footprint, (list, tuple)) and len(footprint) == 2):
        raise _fail(where, f"footprint_km must be [along_track, cross_track], got {footprint!r}")
    along, cross = (_number(v, f"{where} footprint_km") for v in footprint)
    if not (along > 0 and cross > 0):
        raise _fail(where, f"footprint_km must be positive, got {footprint!r}")
    beam = _number(raw["beamwidth_deg"], f"{where} beamwidth_deg", allow_none=True)
    incidence = _number(raw["incidence_angle"], f"{where} incidence_angle")
    if not 0 <= incidence < 90:
        raise _fail(where, f"incidence_angle {incidence} must be in [0, 90) deg")
    return Channel(
        label=label,
        frequency=frequency,
        offset=offset,
        polarization=pol,
        scan_mode=mode,
        index=index,
        nedt=nedt,
        footprint_km=(along, cross),
        beamwidth_deg=beam,
        incidence_angle=incidence,
        incidence_varies=bool(raw.get("incidence_varies", False)),
        approximate=bool(raw.get("approximate", False)),
        notes=str(raw.get("notes", "") or ""),
    )


def _build_scan_modes(raw: Any, kind: str, where: str) -> dict[str, ScanMode]:
    if not isinstance(raw, Mapping) or not raw:
        raise _fail(where, "scan_modes must be a non-empty mapping")
    modes: dict[str, ScanMode] = {}
    for name, spec in raw.items():
        here = f"{where} scan mode {name}"
        if not isinstance(spec, Mapping) or "n_pixels" not in spec or "channels" not in spec:
            raise _fail(here, "needs n_pixels and channels")
        n_pixels = spec["n_pixels"]
        if isinstance(n_pixels, bool) or not isinstance(n_pixels, int) or n_pixels <= 0:
            raise _fail(here, f"n_pixels must be a positive integer, got {n_pixels!r}")
        raw_channels = spec["channels"]
        if not isinstance(raw_channels, list) or not raw_channels:
            raise _fail(here, "channels must be a non-empty list")
        channels = tuple(
            _build_channel(c, str(name), i, kind, here) for i, c in enumerate(raw_channels)
        )
        labels = [c.label for c in channels]
        if len(set(labels)) != len(labels):
            raise _fail(here, f"duplicate channel labels {labels}")
        modes[str(name)] = ScanMode(name=str(name), n_pixels=n_pixels, channels=channels)
    return modes


def _build_orbit(raw: Any, where: str) -> Orbit:
    if not isinstance(raw, Mapping) or set(raw) != set(_ORBIT_FIELDS):
        raise _fail(where, f"orbit needs exactly the keys {', '.join(_ORBIT_FIELDS)}")
    node = _number(raw["ascending_node_local_time"], f"{where} node", allow_none=True)
    if node is not None and not 0 <= node < 24:
        raise _fail(where, f"ascending_node_local_time {node} must be in [0, 24) h")
    return Orbit(
        altitude_km=_number(raw["altitude_km"], f"{where} altitude_km"),
        inclination_deg=_number(raw["inclination_deg"], f"{where} inclination_deg"),
        sun_synchronous=bool(raw["sun_synchronous"]),
        period_min=_number(raw["period_min"], f"{where} period_min"),
        ascending_node_local_time=node,
    )


@dataclass(frozen=True)
class _Registry:
    sensors: dict[str, Sensor]
    aliases: dict[str, str]  # upper-case alias -> sensor name
    ambiguous: dict[str, tuple[str, ...]]  # upper-case instrument -> sensor names
    products: dict[str, str]  # upper-case product -> sensor name
    pps: dict[tuple[str, str], str]  # (satellite, instrument) upper-case -> sensor name


def _build_registry(document: Any) -> _Registry:
    """Validate the parsed YAML document and build the registry (raises RegistryError)."""
    if not isinstance(document, Mapping):
        raise _fail("top level", "expected a mapping")
    for key in ("platforms", "instruments", "sensors"):
        if not isinstance(document.get(key), Mapping) or not document[key]:
            raise _fail("top level", f"missing or empty section {key!r}")
    platforms = document["platforms"]
    instruments = document["instruments"]

    sensors: dict[str, Sensor] = {}
    products: dict[str, str] = {}
    pps: dict[tuple[str, str], str] = {}
    built_modes: dict[str, dict[str, ScanMode]] = {}
    for name, spec in document["sensors"].items():
        name = str(name)
        where = f"sensor {name}"
        if name != name.upper():
            raise _fail(where, "registry keys must be upper case")
        if not isinstance(spec, Mapping):
            raise _fail(where, "expected a mapping")
        instrument_name, platform_name = spec.get("instrument"), spec.get("platform")
        if instrument_name not in instruments:
            raise _fail(where, f"unknown instrument {instrument_name!r}")
        if platform_name not in platforms:
            raise _fail(where, f"unknown platform {platform_name!r}")
        unknown = set(spec) - {"instrument", "platform", "products", *_OVERRIDABLE}
        if unknown:
            raise _fail(where, f"unknown keys {sorted(unknown)}")
        inst = instruments[instrument_name]
        plat = platforms[platform_name]
        missing = [k for k in _INSTRUMENT_REQUIRED if k not in inst]
        if missing:
            raise _fail(f"instrument {instrument_name}", f"lacks {', '.join(missing)}")
        if inst["kind"] not in _KINDS:
            raise _fail(f"instrument {instrument_name}", f"kind must be one of {_KINDS}")
        if inst["scan_type"] not in _SCAN_TYPES:
            raise _fail(f"instrument {instrument_name}", f"scan_type must be one of {_SCAN_TYPES}")
        if "pps_satellite" not in plat or "orbit" not in plat:
            raise _fail(f"platform {platform_name}", "needs pps_satellite and orbit")
        if instrument_name not in built_modes:
            built_modes[instrument_name] = _build_scan_modes(
                inst["scan_modes"], inst["kind"], f"instrument {instrument_name}"
            )
        merged = {k: inst.get(k) for k in _OVERRIDABLE} | {
            k: spec[k] for k in _OVERRIDABLE if k in spec
        }
        product_list = spec.get("products") or [f"1C-{instrument_name}-{platform_name}"]
        code = merged["imerg_source_code"]
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            raise _fail(where, f"imerg_source_code must be an integer or null, got {code!r}")
        sensor = Sensor(
            name=name,
            instrument=str(instrument_name),
            platform=str(platform_name),
            pps_satellite=str(plat["pps_satellite"]),
            pps_instrument=str(inst["pps_instrument"]),
            product=str(product_list[0]),
            kind=inst["kind"],
            scan_type=inst["scan_type"],
            scan_modes=built_modes[instrument_name],
            swath_width_km=_number(merged["swath_width_km"], f"{where} swath_width_km"),
            scan_spacing_km=_number(merged["scan_spacing_km"], f"{where} scan_spacing_km"),
            scan_period_s=_number(
                merged["scan_period_s"], f"{where} scan_period_s", allow_none=True
            ),
            orbit=_build_orbit(plat["orbit"], f"platform {platform_name}"),
            imerg_source_code=code,
            approximate_fields=tuple(
                dict.fromkeys(
                    [*inst.get("approximate_fields", []), *plat.get("approximate_fields", [])]
                )
            ),
            products=tuple(str(p) for p in product_list),
            min_detectable_rate_mm_h=_number(
                merged["min_detectable_rate_mm_h"],
                f"{where} min_detectable_rate_mm_h",
                allow_none=True,
            ),
        )
        sensors[name] = sensor
        for product in sensor.products:
            if product.upper() in products:
                raise _fail(where, f"product {product} already belongs to {products[product]}")
            products[product.upper()] = name
        key = (sensor.pps_satellite.upper(), sensor.pps_instrument.upper())
        if key in pps:
            raise _fail(where, f"PPS tokens {key} already belong to {pps[key]}")
        pps[key] = name

    by_instrument: dict[str, list[str]] = {}
    for sensor in sensors.values():
        by_instrument.setdefault(sensor.instrument.upper(), []).append(sensor.name)
    aliases = {k: v[0] for k, v in by_instrument.items() if len(v) == 1 and k not in sensors}
    ambiguous = {k: tuple(v) for k, v in by_instrument.items() if len(v) > 1}
    return _Registry(sensors, aliases, ambiguous, products, pps)


@functools.cache
def _registry() -> _Registry:
    text = importlib.resources.files("xgpm").joinpath("etc/sensors.yaml").read_text("utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RegistryError(f"xgpm/etc/sensors.yaml is not valid YAML: {err}") from err
    return _build_registry(document)


# --------------------------------------------------------------------------------------------
# Public look-ups


def names() -> list[str]:
    """Return the registry keys, in registry order ("GMI", "TMI", "DPR", "SSMIS-F16", ...)."""
    return list(_registry().sensors)


def _unknown_sensor(name: object) -> UnknownSensorError:
    reg = _registry()
    choices = list(reg.sensors) + list(reg.aliases) + list(reg.products)
    close = difflib.get_close_matches(str(name).upper(), choices, n=4, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return UnknownSensorError(
        f"Unknown sensor {name!r}.{hint} Valid sensors: {', '.join(reg.sensors)} "
        f"(a product name such as '1C-SSMIS-F17' works too)."
    )


def get(name: str | Sensor) -> Sensor:
    """Return the sensor registered as ``name``.

    Parameters
    ----------
    name : str or Sensor
        Registry key, case-insensitive ("gmi", "SSMIS-F17", "ssmis_f17"); an instrument carried by
        a single platform ("AMSR2" -> "AMSR2-GCOMW1", "AMSRE", "SAPHIR"); or a product name
        ("1C-SSMIS-F17", "1C-GMI-R", "2A-DPR"). A Sensor is returned as is.

    Raises
    ------
    UnknownSensorError
        If ``name`` is unknown (the message suggests close matches) or ambiguous ("SSMIS": the
        message lists the platforms to choose from).
    """
    if isinstance(name, Sensor):
        return name
    if not isinstance(name, str):
        raise UnknownSensorError(f"A sensor name must be a string, got {type(name).__name__}.")
    reg = _registry()
    key = name.strip().upper().replace("_", "-").replace(" ", "-")
    if key in reg.sensors:
        return reg.sensors[key]
    if key in reg.aliases:
        return reg.sensors[reg.aliases[key]]
    if key in reg.products:
        return reg.sensors[reg.products[key]]
    if key in reg.ambiguous:
        options = reg.ambiguous[key]
        raise UnknownSensorError(
            f"Sensor {name!r} is ambiguous: {key} flies on several platforms. "
            f"Use one of {', '.join(options)}."
        )
    raise _unknown_sensor(name)


def from_product(product: str) -> Sensor:
    """Return the sensor of a GPM-API product name.

    Exact 1C/2A product names are looked up first ("1C-GMI", "1C-GMI-R", "1C-SSMIS-F17",
    "2A-DPR"); other product names of one sensor are matched by their sensor part after the level
    ("2A-GMI" -> GMI, "2A-SSMIS-F17-CLIM" -> SSMIS-F17).

    Raises
    ------
    UnknownProductError
        If no sensor matches the product name.
    """
    reg = _registry()
    key = str(product).strip().upper()
    if key in reg.products:
        return reg.sensors[reg.products[key]]
    parts = key.split("-")[1:]
    for end in range(len(parts), 0, -1):
        candidate = "-".join(parts[:end])
        if candidate in reg.sensors:
            return reg.sensors[candidate]
        if candidate in reg.aliases:
            return reg.sensors[reg.aliases[candidate]]
    close = difflib.get_close_matches(key, list(reg.products), n=4, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise UnknownProductError(
        f"No sensor for product {product!r}.{hint} Known 1C products: "
        f"{', '.join(sorted(reg.products))}."
    )


def from_pps(satellite: str, instrument: str) -> Sensor:
    """Return the sensor of a PPS file name's satellite and instrument tokens.

    ``from_pps("F17", "SSMIS")`` -> SSMIS-F17; ``from_pps("GPM", "GMI")`` -> GMI;
    ``from_pps("GPM", "DPR")`` -> DPR. Case-insensitive.

    Raises
    ------
    UnknownSensorError
        If no sensor has these tokens; the message lists the valid pairs.
    """
    reg = _registry()
    key = (str(satellite).strip().upper(), str(instrument).strip().upper())
    if key in reg.pps:
        return reg.sensors[reg.pps[key]]
    same_instrument = [f"{s}.{i}" for s, i in reg.pps if i == key[1]]
    listing = ", ".join(same_instrument) or ", ".join(f"{s}.{i}" for s, i in reg.pps)
    raise UnknownSensorError(
        f"No sensor for PPS satellite {satellite!r} and instrument {instrument!r}. "
        f"Valid satellite.instrument pairs: {listing}."
    )


def find_channel(
    sensor: str | Sensor, frequency: float, polarization: str | None = None, **kw: Any
) -> Channel:
    """Return the channel of ``sensor`` nearest to ``frequency`` (see `Sensor.find_channel`)."""
    return get(sensor).find_channel(frequency, polarization, **kw)
