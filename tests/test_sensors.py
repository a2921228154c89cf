"""Tests of the sensor registry against the real 1C granules and its own invariants."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from pathlib import Path

import pytest
import yaml

import xgpm
from xgpm import sensors
from xgpm.errors import (
    InvalidArgumentError,
    RegistryError,
    UnknownChannelError,
    UnknownProductError,
    UnknownSensorError,
)

from .conftest import PRODUCTS  # noqa: E402

GRANULES = Path(__file__).parent / "data" / "gpm_granules"
L1C_FILES = sorted(GRANULES.glob("1C-*/*.HDF5"))
DPR_FILES = sorted(GRANULES.glob("2A-DPR/*.HDF5"))


def _tokens(path: Path) -> tuple[str, str]:
    """(satellite, instrument) tokens of a PPS file name."""
    _level, satellite, instrument, *_ = path.name.split(".")
    return satellite, instrument


def _swaths(path: Path) -> dict[str, tuple[int, int | None]]:
    """Scan mode -> (NumberPixels from its SwathHeader, channel count of Tc or None)."""
    h5py = pytest.importorskip("h5py")
    out = {}
    with h5py.File(path, "r") as f:
        for name, group in f.items():
            header = group.attrs.get(f"{name}_SwathHeader") if hasattr(group, "attrs") else None
            if header is None:
                continue
            header = header.decode() if isinstance(header, bytes) else str(header)
            n_pixels = int(re.search(r"NumberPixels=(\d+)", header).group(1))
            n_channels = group["Tc"].shape[-1] if "Tc" in group else None
            out[name] = (n_pixels, n_channels)
    return out


def test_granules_present():
    assert len(L1C_FILES) >= 8 and DPR_FILES


@pytest.mark.parametrize("path", L1C_FILES, ids=lambda p: p.parent.name)
def test_registry_matches_real_1c_file_layout(path):
    sensor = sensors.from_pps(*_tokens(path))
    swaths = _swaths(path)
    assert list(sensor.scan_modes) == list(swaths)
    for name, (n_pixels, n_channels) in swaths.items():
        mode = sensor.scan_modes[name]
        assert mode.n_pixels == n_pixels, name
        assert len(mode.channels) == n_channels, name
    # The directory holds the GPM-API product name (and -V06 for older layouts); it maps back
    # to the same sensor.
    product = PRODUCTS[path.parent.name]
    assert sensors.from_product(product) is sensor
    assert product in sensor.products


@pytest.mark.parametrize("path", L1C_FILES, ids=lambda p: p.parent.name)
def test_labels_equal_gpm_api_labels(path):
    gpm = pytest.importorskip("gpm")
    sensor = sensors.from_pps(*_tokens(path))
    for name, mode in sensor.scan_modes.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = gpm.open_granule_dataset(str(path), scan_mode=name, variables=["Tc"])
        assert tuple(str(v) for v in ds["pmw_frequency"].values) == mode.labels, name


def test_dpr_layout_matches_real_2a_file():
    dpr = sensors.from_pps("GPM", "DPR")
    assert dpr is sensors.get("dpr") is sensors.from_product("2A-DPR")
    swaths = _swaths(DPR_FILES[0])
    assert {k: v[0] for k, v in swaths.items()} == {
        k: m.n_pixels for k, m in dpr.scan_modes.items()
    }
    assert dpr.kind == "radar"
    assert [c.label for c in dpr.scan_modes["FS"].channels] == ["Ku", "Ka"]
    assert dpr.channel("Ku").frequency == pytest.approx(13.6)
    assert dpr.channel("Ka").frequency == pytest.approx(35.5)
    assert dpr.min_detectable_rate_mm_h == pytest.approx(0.2)


@pytest.mark.parametrize("name", sensors.names())
def test_every_sensor_is_consistent(name):
    sensor = sensors.get(name)
    assert sensor.name == name
    assert sensors.get(name.lower()) is sensor
    assert sensors.from_product(sensor.product) is sensor
    assert sensors.from_pps(sensor.pps_satellite, sensor.pps_instrument) is sensor
    assert sensor.kind in ("radiometer", "radar")
    assert sensor.scan_type in ("CONICAL", "CROSSTRACK")
    assert sensor.swath_width_km > 0 and sensor.scan_spacing_km > 0
    assert 0 < sensor.orbit.inclination_deg < 180 and sensor.orbit.altitude_km > 300
    if not sensor.orbit.sun_synchronous:
        assert sensor.orbit.ascending_node_local_time is None
    seen = []
    for mode_name, mode in sensor.scan_modes.items():
        assert mode.name == mode_name and mode.n_pixels > 0
        labels = [c.label for c in mode.channels]
        assert len(set(labels)) == len(labels)
        assert [c.index for c in mode.channels] == list(range(len(mode.channels)))
        for c in mode.channels:
            assert c.scan_mode == mode_name
            assert 5 <= c.frequency - c.offset and c.frequency + c.offset <= 200
            assert c.polarization in ("V", "H", "QV", "QH")
            if sensor.kind == "radiometer":
                assert c.nedt > 0
            else:
                assert math.isnan(c.nedt)
            assert all(f > 0 for f in c.footprint_km)
            # Conical footprints are stretched along the line of sight (along-track).
            if sensor.scan_type == "CONICAL":
                assert c.footprint_km[0] >= c.footprint_km[1]
                assert 45 < c.incidence_angle < 60 and not c.incidence_varies
            else:
                assert c.incidence_varies
            assert sensor.channel(c.label, scan_mode=mode_name) is c
            assert sensor.scan_modes[sensor.scan_mode_of(c.label)].labels.count(c.label) == 1
            seen.append(c)
    assert sensor.channels == tuple(seen)
    assert sensor.labels == tuple(c.label for c in seen)


@pytest.mark.parametrize("name", sensors.names())
def test_label_offsets_agree_with_labels(name):
    """A label's trailing sideband (183V7, 183.31QH4.5, 89V0.9) is the channel's offset (+/-0.5)."""
    for c in sensors.get(name).channels:
        match = re.fullmatch(r"[\d.]+(?:QV|QH|V|H)([\d.]+)", c.label)
        if match:
            assert c.offset == pytest.approx(float(match.group(1)), abs=0.5), c.label
        else:
            assert c.offset == 0.0, c.label


def test_expected_coverage():
    expected = {
        "GMI", "TMI", "DPR", "AMSR2-GCOMW1", "AMSRE-AQUA", "SAPHIR-MT1",
        *(f"SSMIS-F{n}" for n in (16, 17, 18, 19)),
        *(f"SSMI-F{n:02d}" for n in (8, 10, 11, 13, 14, 15)),
        *(f"ATMS-{p}" for p in ("NPP", "NOAA20", "NOAA21")),
        *(f"MHS-{p}" for p in ("METOPA", "METOPB", "METOPC", "NOAA18", "NOAA19")),
        *(f"AMSUB-NOAA{n}" for n in (15, 16, 17)),
    }  # fmt: skip
    assert set(sensors.names()) == expected


def test_gmi_facts():
    gmi = sensors.get("GMI")
    assert gmi.platform == "GPM" and gmi.pps_satellite == "GPM" and gmi.imerg_source_code == 9
    assert sensors.from_product("1C-GMI-R") is gmi
    assert gmi.channel("37V").frequency == pytest.approx(36.64)
    ch = gmi.channel("183V7")
    assert (ch.frequency, ch.offset, ch.scan_mode, ch.index) == (183.31, 7.0, "S2", 3)
    assert gmi.scan_mode_of("89H") == "S1"
    assert gmi.channel("165V").incidence_angle != gmi.channel("89V").incidence_angle


def test_shared_instrument_data_is_not_copied():
    f16, f19 = sensors.get("SSMIS-F16"), sensors.get("SSMIS-F19")
    assert f16.scan_modes is f19.scan_modes  # one instrument entry, built once
    assert f16.orbit.altitude_km == f19.orbit.altitude_km
    assert f16.pps_satellite == "F16" and f19.product == "1C-SSMIS-F19"
    assert sensors.get("SSMI-F11").imerg_source_code == 16
    assert sensors.get("SSMI-F13").imerg_source_code == 4
    assert sensors.get("ATMS-NOAA21").imerg_source_code == 21


def test_amsr2_repeated_89_labels():
    amsr2 = sensors.get("AMSR2")
    assert amsr2.name == "AMSR2-GCOMW1"
    assert amsr2.labels.count("89V") == 2
    assert amsr2.channel("89V").scan_mode == "S5"
    assert amsr2.channel("89V", scan_mode="S6").scan_mode == "S6"
    with pytest.raises(UnknownChannelError, match="no scan mode 'S9'"):
        amsr2.channel("89V", scan_mode="S9")


@pytest.mark.parametrize(
    ("sensor", "frequency", "pol", "label"),
    [
        ("GMI", 89.0, "V", "89V"),
        ("GMI", 18.7, "H", "19H"),
        ("GMI", 176.3, "V", "183V7"),
        ("GMI", 190.3, "V", "183V7"),
        ("GMI", 183.31, "V", "183V3"),
        ("GMI", 166.0, None, "165V"),
        ("SSMIS-F17", 89.0, "V", "91V"),
        ("SSMIS-F17", 155.0, "H", "150H"),
        ("SSMIS-F17", 166.0, "H", "183H7"),  # 183.31 - 6.6 = 176.7 GHz is nearer than 150
        ("SSMIS-F17", 10.65, "V", "19V"),
        ("ATMS-NOAA20", 89.0, "V", "88.2QV"),
        ("ATMS-NOAA20", 183.31, "QH", "183.31QH1"),
        ("MHS-METOPA", 183.31, "H", "183.31H1"),
        ("TMI", 89.0, "H", "89H"),
        ("AMSR2", 89.0, "V", "89V"),
    ],
)
def test_find_channel(sensor, frequency, pol, label):
    assert sensors.find_channel(sensor, frequency, pol).label == label


def test_find_channel_polarisation_matching_and_method():
    atms = sensors.get("ATMS-NOAA20")
    assert atms.find_channel(23.8, "V").polarization == "QV"
    assert atms.find_channel(165.5, "H").label == "165.5QH"
    assert sensors.get("GMI").find_channel(89.0, "QH").label == "89H"
    assert sensors.find_channel(atms, 31.0).label == "31.4QV"


def test_find_channel_tolerance():
    gmi = sensors.get("GMI")
    assert gmi.find_channel(91.655, "V", tolerance=0.05).label == "89V"
    with pytest.raises(UnknownChannelError, match=r"within 10% of 50 GHz.*nearest is 37V"):
        gmi.find_channel(50.0, "V", tolerance=0.1)
    with pytest.raises(UnknownChannelError, match="no V-polarised channel"):
        sensors.find_channel("SAPHIR", 183.31, "V")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((-1.0,), {}), (("abc",), {}), ((89.0, "X"), {}), ((89.0,), {"tolerance": -0.1})],
)
def test_find_channel_bad_arguments(args, kwargs):
    with pytest.raises(InvalidArgumentError):
        sensors.get("GMI").find_channel(*args, **kwargs)


def test_lookup_aliases_and_products():
    assert sensors.get("AMSRE").name == "AMSRE-AQUA"
    assert sensors.get("saphir").name == "SAPHIR-MT1"
    assert sensors.get("ssmis_f17").name == "SSMIS-F17"
    assert sensors.get("1C-SSMIS-F17").name == "SSMIS-F17"
    assert sensors.from_product("2A-SSMIS-F17-CLIM").name == "SSMIS-F17"
    assert sensors.from_product("2A-GMI").name == "GMI"
    assert sensors.from_pps("f17", "ssmis").name == "SSMIS-F17"
    gmi = sensors.get("GMI")
    assert sensors.get(gmi) is gmi
    assert xgpm.sensors.get("GMI") is gmi


def test_unknown_sensor_error():
    with pytest.raises(UnknownSensorError) as info:
        sensors.get("SSMSI-F17")
    assert isinstance(info.value, KeyError) and isinstance(info.value, xgpm.XGPMError)
    assert "Did you mean 'SSMIS-F17'" in str(info.value) and "GMI" in str(info.value)
    with pytest.raises(KeyError):
        sensors.get("NOPE")
    with pytest.raises(UnknownSensorError, match="must be a string"):
        sensors.get(17)


def test_ambiguous_instrument():
    with pytest.raises(UnknownSensorError, match="ambiguous") as info:
        sensors.get("SSMIS")
    for platform in ("F16", "F17", "F18", "F19"):
        assert f"SSMIS-{platform}" in str(info.value)


def test_unknown_pps_product_and_channel():
    with pytest.raises(UnknownSensorError, match=r"F17\.SSMIS"):
        sensors.from_pps("F99", "SSMIS")
    with pytest.raises(UnknownProductError, match="1C-SSMIS-F17"):
        sensors.from_product("1C-SSMIS-F99")
    with pytest.raises(UnknownChannelError, match="Valid labels: 10V, 10H") as info:
        sensors.get("GMI").channel("91V")
    assert isinstance(info.value, KeyError) and isinstance(info.value, xgpm.XGPMError)
    assert sensors.get("GMI").channel("89v").label == "89V"


def test_dataclasses_are_frozen():
    gmi = sensors.get("GMI")
    with pytest.raises(dataclasses.FrozenInstanceError):
        gmi.name = "X"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        gmi.channel("89V").frequency = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        gmi.orbit.altitude_km = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        gmi.scan_modes["S1"].n_pixels = 1  # type: ignore[misc]
    assert hash(gmi) == hash(sensors.get("gmi"))


def _document():
    from importlib.resources import files

    return yaml.safe_load(files("xgpm").joinpath("etc/sensors.yaml").read_text("utf-8"))


def test_yaml_validation_accepts_shipped_file():
    registry = sensors._build_registry(_document())
    assert list(registry.sensors) == sensors.names()


def _s1(document):
    return document["instruments"]["GMI"]["scan_modes"]["S1"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: _s1(d)["channels"][0].pop("nedt"), "lacks nedt"),
        (lambda d: _s1(d)["channels"][1].update(label="10V"), "duplicate"),
        (lambda d: _s1(d)["channels"][0].update(polarization="X"), "polarization"),
        (lambda d: _s1(d)["channels"][0].update(nedt=0), "nedt"),
        (lambda d: _s1(d)["channels"][0].update(frequency="ten"), "number"),
        (lambda d: _s1(d).update(n_pixels=0), "n_pixels"),
        (lambda d: d["sensors"]["GMI"].update(platform="MOON"), "unknown platform"),
        (lambda d: d["sensors"]["SSMIS-F16"].update(products=["1C-SSMIS-F17"]), "already belongs"),
        (lambda d: d["platforms"]["GPM"]["orbit"].pop("period_min"), "orbit needs"),
        (lambda d: d.pop("sensors"), "missing or empty section"),
    ],
)  # fmt: skip
def test_yaml_validation_rejects_bad_entries(mutate, message):
    document = _document()
    mutate(document)
    with pytest.raises(RegistryError, match=message) as info:
        sensors._build_registry(document)
    assert isinstance(info.value, xgpm.XGPMError) and "sensors.yaml" in str(info.value)
