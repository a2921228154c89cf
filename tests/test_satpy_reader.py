"""The satpy plugin readers (xgpm.satpy_reader) on real cut granules and a full-size granule."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.resources
import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xgpm
from tests.conftest import GRANULES
from xgpm.satpy_reader import READERS

satpy = pytest.importorskip("satpy")
from pyresample.geometry import SwathDefinition  # noqa: E402
from satpy.dataset import DataQuery  # noqa: E402

from xgpm.satpy_reader.gpm_l1c import channel_dataset_name  # noqa: E402

#: reader -> product of its real cut granule in tests/data/gpm_granules
READER_PRODUCTS = {
    "gmi_l1c_h5": "1C-GMI",
    "ssmis_l1c_h5": "1C-SSMIS-F17",
    "amsr2_l1c_h5": "1C-AMSR2-GCOMW1",
    "tmi_l1c_h5": "1C-TMI",
    "ssmi_l1c_h5": "1C-SSMI-F15",
    "atms_l1c_h5": "1C-ATMS-NOAA20",
    "mhs_l1c_h5": "1C-MHS-METOPA",
    "dpr_l2a_h5": "2A-DPR",
    "gprof_l2a_h5": "2A-GMI",
    "imerg_hhr_h5": "IMERG-FR",
}
#: the 1C (brightness temperature) readers
L1C_READERS = [r for r in READERS if r.endswith("_l1c_h5")]
DPR_FIELDS = ("precipRateNearSurface", "typePrecip", "heightStormTop")
ETC = importlib.resources.files("xgpm.satpy_reader") / "etc"


@pytest.fixture
def plugin_config():
    """Make satpy find the reader YAMLs whether or not the entry point is installed."""
    with satpy.config.set(config_path=[str(ETC)]):
        yield


def _scene(reader: str, *paths) -> satpy.Scene:
    return satpy.Scene(reader=reader, filenames=[str(p) for p in paths])


def _xgpm_tc(path, label: str, scan_mode: str) -> xr.DataArray:
    tc = xgpm.open_granule(path, scan_mode=scan_mode, variables="Tc")["Tc"]
    return tc.sel(pmw_frequency=label).transpose("along_track", "cross_track")


def _xgpm_swath(path, scan_mode: str, variables=None) -> xr.Dataset:
    ds = xgpm.open_granule(path, scan_mode=scan_mode, variables=variables)
    return ds.transpose("along_track", "cross_track", ...)


def test_reader_yamls_match_declared_readers():
    yamls = sorted(p.name for p in (ETC / "readers").iterdir() if p.name.endswith(".yaml"))
    assert yamls == sorted(f"{name}.yaml" for name in READERS)
    assert set(READER_PRODUCTS) == set(READERS)


#: instrument of the registry -> reader offering it (AMSR-E, AMSU-B and SAPHIR have none yet)
INSTRUMENT_READERS = {
    "GMI": "gmi_l1c_h5",
    "SSMIS": "ssmis_l1c_h5",
    "AMSR2": "amsr2_l1c_h5",
    "TMI": "tmi_l1c_h5",
    "SSMI": "ssmi_l1c_h5",
    "ATMS": "atms_l1c_h5",
    "MHS": "mhs_l1c_h5",
    "DPR": "dpr_l2a_h5",
}


def test_file_patterns_match_exactly_the_pps_names_of_their_instrument(plugin_config, tmp_path):
    from satpy.readers.core.grouping import find_files_and_readers

    expected: dict[str, set[str]] = {reader: set() for reader in READERS}
    start, end = dt.datetime(2020, 1, 1, 23, 50), dt.datetime(2020, 1, 2, 1, 20)
    for name in xgpm.sensors.names():
        sensor = xgpm.sensors.get(name)
        for product in sensor.products:
            filename = xgpm.pps_filename(product, start, end, 12345)
            (tmp_path / filename).touch()
            reader = INSTRUMENT_READERS.get(sensor.instrument)
            if reader is not None:
                expected[reader].add(filename)
    assert len(expected["ssmis_l1c_h5"]) == 4 and len(expected["gmi_l1c_h5"]) == 2  # 1C and 1C-R
    for product in ("2A-GMI", "2A-SSMIS-F17-CLIM", "2A-AMSR2-GCOMW1", "2A-MHS-METOPA-CLIM"):
        filename = xgpm.pps_filename(product, start, end, 12345)
        (tmp_path / filename).touch()
        expected["gprof_l2a_h5"].add(filename)
    half_hour_end = dt.datetime(2020, 1, 2, 0, 19, 59)
    for product in ("IMERG-FR", "IMERG-LR", "IMERG-ER"):
        filename = xgpm.pps_filename(product, start, half_hour_end, 0)
        (tmp_path / filename).touch()
        expected["imerg_hhr_h5"].add(filename)
    rt_name = "3B-HHR-L.MS.MRG.3IMERG.20200101-S233000-E235959.1410.V07B.RT-H5"
    (tmp_path / rt_name).touch()
    expected["imerg_hhr_h5"].add(rt_name)
    for reader in READERS:
        found = find_files_and_readers(base_dir=str(tmp_path), reader=reader)[reader]
        assert {os.path.basename(f) for f in found} == expected[reader], reader


@pytest.mark.parametrize("label", ["89V", "183V7"])
def test_gmi_channel_values_attrs_and_swath(plugin_config, gmi_path, label):
    channel = xgpm.sensors.get("GMI").channel(label)
    scn = _scene("gmi_l1c_h5", gmi_path)
    scn.load([label])
    tb = scn[label]

    expected = _xgpm_tc(gmi_path, label, channel.scan_mode)
    assert tb.dims == ("y", "x")
    np.testing.assert_array_equal(tb.values, expected.values)  # the cut granule is NaN here
    np.testing.assert_array_equal(tb["time"].values, expected["time"].values)

    assert tb.attrs["frequency"] == channel.frequency
    assert tb.attrs["sideband_offset"] == channel.offset
    assert tb.attrs["polarization"] == "V"
    assert tb.attrs["units"] == "K"
    assert tb.attrs["standard_name"] == "toa_brightness_temperature"
    assert tb.attrs["sensor"] == "gmi"
    assert tb.attrs["platform_name"] == "GPM"
    assert tb.attrs["start_time"] == xgpm.parse_filename(gmi_path).start
    # satpy's frequency objects: the double-sideband channel contains its upper passband centre
    if channel.offset:
        band = tb.attrs["_satpy_id"]["frequency_double_sideband"]
        assert channel.frequency + channel.offset == band
        assert channel.frequency != band
    else:
        assert channel.frequency == tb.attrs["_satpy_id"]["frequency_range"]

    area = tb.attrs["area"]
    assert isinstance(area, SwathDefinition)
    swath = _xgpm_swath(gmi_path, channel.scan_mode, "Tc")
    np.testing.assert_array_equal(area.lons.values, swath["lon"].values)
    np.testing.assert_array_equal(area.lats.values, swath["lat"].values)


def test_gmi_scan_modes_are_separate_swaths(plugin_config, gmi_path):
    scn = _scene("gmi_l1c_h5", gmi_path)
    scn.load(["89V", "183V7"])
    s1, s2 = (_xgpm_swath(gmi_path, m, "Tc") for m in ("S1", "S2"))
    assert not np.array_equal(s1["lon"].values, s2["lon"].values)
    np.testing.assert_array_equal(scn["183V7"].attrs["area"].lons.values, s2["lon"].values)
    assert scn["89V"].attrs["scan_mode"] == "S1"
    assert scn["183V7"].attrs["scan_mode"] == "S2"


def _frequency_query(sensor, frequency: float, polarization: str, double_sideband: bool):
    key = "frequency_double_sideband" if double_sideband else "frequency_range"
    return DataQuery(**{key: frequency, "polarization": polarization})


@pytest.mark.parametrize(
    ("frequency", "polarization", "double_sideband"),
    [
        (89.0, "V", False),
        (89.0, "H", False),
        (88.0, "V", False),
        (37.0, "H", False),
        (36.64, "V", False),
        (10.65, "V", False),
        (18.9, "V", False),
        (166.0, "H", False),
        (190.31, "V", True),
        (186.0, "V", True),
        (176.5, "V", True),
    ],
)
def test_frequency_query_picks_registry_nearest_channel(
    plugin_config, gmi_path, frequency, polarization, double_sideband
):
    sensor = xgpm.sensors.get("GMI")
    expected = sensor.find_channel(frequency, polarization).label
    scn = _scene("gmi_l1c_h5", gmi_path)
    scn.load([_frequency_query(sensor, frequency, polarization, double_sideband)])
    assert [key["name"] for key in scn.keys()] == [expected]
    np.testing.assert_array_equal(
        scn[expected].values, _xgpm_tc(gmi_path, expected, sensor.scan_mode_of(expected)).values
    )


@pytest.mark.parametrize("reader", L1C_READERS)
def test_every_channel_is_found_by_its_passband_without_ambiguity(plugin_config, reader):
    path = GRANULES[READER_PRODUCTS[reader]]
    sensor = xgpm.sensors.from_product(READER_PRODUCTS[reader])
    for channel in sensor.channels:
        if channel_dataset_name(sensor, channel) != channel.label:
            continue  # AMSR2 S6 repeat: by name only
        query = _frequency_query(
            sensor, channel.passbands[-1], channel.polarization, channel.offset > 0
        )
        scn = _scene(reader, path)
        scn.load([query])
        assert [key["name"] for key in scn.keys()] == [channel.label], query


def test_frequency_query_outside_every_window_is_unknown(plugin_config, gmi_path):
    scn = _scene("gmi_l1c_h5", gmi_path)
    with pytest.raises(KeyError, match="frequency_range=60.0"):
        scn.load([DataQuery(frequency_range=60.0, polarization="V")])


@pytest.mark.parametrize("reader", L1C_READERS)
def test_every_1c_reader_loads_every_channel_of_its_real_granule(plugin_config, reader):
    product = READER_PRODUCTS[reader]
    path = GRANULES[product]
    sensor = xgpm.sensors.from_product(product)
    scn = _scene(reader, path)
    names = set(scn.available_dataset_names())
    channel_names = [n for n in names if not n.startswith(("longitude_", "latitude_"))]
    assert len(channel_names) == len(sensor.channels)
    assert {f"longitude_{m}" for m in sensor.scan_modes} <= names

    scn.load(channel_names)
    for name in channel_names:
        tb = scn[name]
        mode = tb.attrs["scan_mode"]
        label = tb.attrs["channel_label"]
        assert sensor.channel(label, scan_mode=mode).label == label
        np.testing.assert_array_equal(tb.values, _xgpm_tc(path, label, mode).values)
        assert tb.attrs["area"].lons.shape == tb.shape
        assert tb.attrs["sensor"] == sensor.instrument.lower()


@pytest.mark.parametrize(("label", "scan_mode"), [("10V", "S1"), ("37H", "S2"), ("89H", "S3")])
def test_tmi_values_equal_the_raw_hdf5_scan_by_pixel_array(plugin_config, label, scan_mode):
    h5py = pytest.importorskip("h5py")
    path = GRANULES["1C-TMI"]
    index = xgpm.sensors.get("TMI").channel(label).index
    with h5py.File(path, "r") as h5:
        raw = h5[f"{scan_mode}/Tc"][:, :, index].astype("float32")  # (nscan, npixel) = (y, x)
        raw_lon = h5[f"{scan_mode}/Longitude"][:]
    raw[raw < 0] = np.nan  # PPS fill value -9999.9
    scn = _scene("tmi_l1c_h5", path)
    scn.load([label])
    assert np.isfinite(raw).any()
    np.testing.assert_array_equal(scn[label].values, raw)
    np.testing.assert_array_equal(scn[label].attrs["area"].lons.values, raw_lon)


def test_amsr2_repeated_labels_get_a_scan_mode_suffix(plugin_config):
    path = GRANULES["1C-AMSR2-GCOMW1"]
    scn = _scene("amsr2_l1c_h5", path)
    scn.load([DataQuery(frequency_range=89.0, polarization="V"), "89V_S6"])
    assert scn["89V"].attrs["scan_mode"] == "S5"
    assert scn["89V_S6"].attrs["scan_mode"] == "S6"
    np.testing.assert_array_equal(scn["89V_S6"].values, _xgpm_tc(path, "89V", "S6").values)


def test_dpr_reader_loads_near_surface_fields(plugin_config):
    path = GRANULES["2A-DPR"]
    scn = _scene("dpr_l2a_h5", path)
    names = set(scn.available_dataset_names())
    assert set(DPR_FIELDS) <= names
    assert "precipRateNearSurface_HS" in names
    assert "zFactorFinal" not in names  # 3-D fields are not offered

    scn.load([*DPR_FIELDS, "precipRateNearSurface_HS"])
    fs = _xgpm_swath(path, "FS", list(DPR_FIELDS))
    for name in DPR_FIELDS:
        np.testing.assert_array_equal(scn[name].values, fs[name].values)
        np.testing.assert_array_equal(scn[name].attrs["area"].lats.values, fs["lat"].values)
    assert scn["precipRateNearSurface"].attrs["units"] == "mm/hr"
    hs = _xgpm_swath(path, "HS", "precipRateNearSurface")
    np.testing.assert_array_equal(
        scn["precipRateNearSurface_HS"].values, hs["precipRateNearSurface"].values
    )
    assert scn["precipRateNearSurface"].attrs["sensor"] == "dpr"


def test_1c_r_granule_uses_the_gmi_reader(plugin_config):
    path = GRANULES["1C-GMI-R"]
    scn = _scene("gmi_l1c_h5", path)
    scn.load(["89V"])
    np.testing.assert_array_equal(scn["89V"].values, _xgpm_tc(path, "89V", "S1").values)


def _synthetic_gmi(n_scan: int, n_pix: int, start: np.datetime64, seed: int) -> dict:
    """A GMI granule per scan mode in GPM-API's data model (as tests/test_io_write.py builds)."""
    rng = np.random.default_rng(seed)
    sensor = xgpm.sensors.get("GMI")
    modes = {}
    for name, mode in sensor.scan_modes.items():
        lon = np.linspace(-40, 40, n_pix)[:, None] + 0.05 * np.arange(n_scan)[None]
        lat = np.linspace(-5, 5, n_pix)[:, None] + 0.06 * np.arange(n_scan)[None]
        tc = rng.uniform(150, 290, size=(n_pix, n_scan, len(mode.channels))).astype("float32")
        tc[0, 0, :] = np.nan
        modes[name] = xr.Dataset(
            {"Tc": (("cross_track", "along_track", "pmw_frequency"), tc, {"units": "K"})},
            coords={
                "lon": (("cross_track", "along_track"), lon.astype("float32")),
                "lat": (("cross_track", "along_track"), lat.astype("float32")),
                "time": ("along_track", start + np.arange(n_scan) * np.timedelta64(1900, "ms")),
                "pmw_frequency": list(mode.labels),
            },
            attrs={"gpm_api_product": sensor.product},
        )
    return modes


def test_full_size_simulated_gmi_granules_load_and_concatenate(plugin_config, tmp_path):
    n_scan, n_pix = 300, 221
    first = np.datetime64("2021-01-01T10:00:00", "ns")
    second = first + np.timedelta64(20, "m")
    data1 = _synthetic_gmi(n_scan, n_pix, first, seed=1)
    data2 = _synthetic_gmi(n_scan, n_pix, second, seed=2)
    path1 = xgpm.write_granule(data1, tmp_path, granule_number=1)
    path2 = xgpm.write_granule(data2, tmp_path, granule_number=2)

    scn = _scene("gmi_l1c_h5", path1)
    scn.load(["89V", "183V7"])
    for label, mode in (("89V", "S1"), ("183V7", "S2")):
        expected = data1[mode]["Tc"].sel(pmw_frequency=label).transpose().values
        assert scn[label].shape == (n_scan, n_pix)
        np.testing.assert_array_equal(scn[label].values, expected)
        lons = data1[mode]["lon"].transpose().values
        np.testing.assert_array_equal(scn[label].attrs["area"].lons.values, lons)
    assert scn["89V"].attrs["start_time"] == dt.datetime(2021, 1, 1, 10, 0, 0)

    both = _scene("gmi_l1c_h5", path2, path1)  # satpy orders files by start time
    both.load(["89V"])
    tb = both["89V"]
    assert tb.shape == (2 * n_scan, n_pix)
    stacked = np.concatenate(
        [d["S1"]["Tc"].sel(pmw_frequency="89V").transpose().values for d in (data1, data2)]
    )
    np.testing.assert_array_equal(tb.values, stacked)
    assert (np.diff(tb["time"].values) > np.timedelta64(0)).all()


@pytest.fixture(scope="module")
def full_gmi_granule(tmp_path_factory):
    """A full-width GMI granule (300 scans x 221 px) written by xgpm, and its source data."""
    data = _synthetic_gmi(300, 221, np.datetime64("2021-01-01T10:00:00", "ns"), seed=3)
    return xgpm.write_granule(data, tmp_path_factory.mktemp("gmi"), granule_number=3), data


@settings(max_examples=8, deadline=None)
@given(scans_per_chunk=st.integers(1, 400))
def test_values_do_not_depend_on_dask_chunks(full_gmi_granule, scans_per_chunk):
    path, data = full_gmi_granule
    with satpy.config.set(config_path=[str(ETC)]):
        scn = satpy.Scene(
            reader="gmi_l1c_h5", filenames=[path], reader_kwargs={"chunks": scans_per_chunk}
        )
        scn.load(["183V3"])
    tb = scn["183V3"]
    assert tb.chunks[0][0] == min(scans_per_chunk, 300)
    expected = data["S2"]["Tc"].sel(pmw_frequency="183V3").transpose().values
    np.testing.assert_array_equal(tb.values, expected)


def test_corrupt_file_with_a_pps_name_is_reported(plugin_config, tmp_path, gmi_path):
    fake = tmp_path / gmi_path.name
    fake.write_bytes(b"not an HDF5 file at all")
    with pytest.raises(xgpm.XGPMError, match=gmi_path.name):
        _scene("gmi_l1c_h5", fake).load(["89V"])


def test_importing_the_plugin_package_is_light():
    heavy = ("torch", "numba", "satpy", "h5py", "distributed", "pyresample", "dask")
    code = (
        f"import sys, xgpm.satpy_reader; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing xgpm.satpy_reader imported {out.stdout.strip()}"


def test_importing_the_file_handlers_imports_no_torch_or_numba():
    # satpy itself imports dask.distributed (satpy.multiscene), so that one is not checked
    code = (
        "import sys, xgpm.satpy_reader.gpm_l1c, xgpm.satpy_reader.gpm_l2_l3; "
        "print(','.join(m for m in ('torch', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


#: The entry point the lead adds to pyproject.toml, as pip writes it into entry_points.txt.
ENTRY_POINTS_TXT = "[satpy.readers]\nxgpm = xgpm.satpy_reader\n"


def test_entry_point_declaration_makes_satpy_find_the_readers(tmp_path):
    """The entry point works: a stand-in distribution declaring it, in a fresh interpreter."""
    dist_info = tmp_path / "xgpm_satpy_entry_point-0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: xgpm-satpy-entry-point\nVersion: 0.0\n"
    )
    (dist_info / "entry_points.txt").write_text(ENTRY_POINTS_TXT)
    code = (
        "import satpy; "
        "from satpy.readers.core.config import configs_for_reader; "
        f"print(all(list(configs_for_reader(r)) for r in {READERS!r})); "
        f"scn = satpy.Scene(reader='tmi_l1c_h5', filenames=[{str(GRANULES['1C-TMI'])!r}]); "
        "scn.load(['89V']); print(scn['89V'].attrs['reader'], scn['89V'].shape)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path[1:]])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:2] == ["True", "tmi_l1c_h5 (10, 10)"]


def _xgpm_entry_point():
    for entry_point in importlib.metadata.entry_points(group="satpy.readers"):
        if entry_point.value.split(":")[0].strip() == "xgpm.satpy_reader":
            return entry_point
    return None


@pytest.mark.skipif(
    _xgpm_entry_point() is None,
    reason="xgpm's satpy.readers entry point is not installed (add it to pyproject.toml and "
    "reinstall xgpm: pip install -e .)",
)
def test_installed_entry_point_makes_satpy_find_the_readers(gmi_path):
    from satpy._config import get_entry_points_config_dirs
    from satpy.readers.core.config import available_readers

    assert str(ETC) in get_entry_points_config_dirs("satpy.readers", include_config_path=False)
    assert set(READERS) <= set(available_readers())
    scn = satpy.Scene(reader="gmi_l1c_h5", filenames=[str(gmi_path)])
    scn.load(["89V"])
    np.testing.assert_array_equal(scn["89V"].values, _xgpm_tc(gmi_path, "89V", "S1").values)


# --------------------------------------------------------------------------------------------
# 2A-GPROF and IMERG readers
# --------------------------------------------------------------------------------------------

GPROF_FIELDS = ("surfacePrecipitation", "probabilityOfPrecip", "convectivePrecipitation")


@pytest.mark.parametrize("product", ["2A-GMI", "2A-SSMIS-F17-CLIM"])
def test_gprof_reader_loads_swath_fields_equal_to_xgpm(plugin_config, product):
    path = GRANULES[product]
    scn = _scene("gprof_l2a_h5", path)
    names = set(scn.available_dataset_names())
    assert set(GPROF_FIELDS) | {"qualityFlag", "longitude_S1", "latitude_S1"} <= names
    assert "profileNumber" not in names  # 3-D: xgpm.open_granule only
    scn.load(list(GPROF_FIELDS))
    ours = _xgpm_swath(path, "S1")
    sensor = xgpm.sensors.from_product(product)
    for name in GPROF_FIELDS:
        field = scn[name]
        assert field.dims == ("y", "x")
        np.testing.assert_array_equal(field.values, ours[name].values)
        assert isinstance(field.attrs["area"], SwathDefinition)
        np.testing.assert_array_equal(field.attrs["area"].lats.values, ours["lat"].values)
        assert field.attrs["sensor"] == sensor.instrument.lower()
        assert field.attrs["platform_name"] == sensor.platform
        assert field.attrs["scan_mode"] == "S1"
    assert scn["surfacePrecipitation"].attrs["start_time"] == xgpm.parse_filename(path.name).start


@pytest.mark.parametrize("product", ["IMERG-FR", "IMERG-FR-V06"])
def test_imerg_reader_loads_the_grid_north_up_with_an_area(plugin_config, product):
    from pyresample.geometry import AreaDefinition

    path = GRANULES[product]
    scn = _scene("imerg_hhr_h5", path)
    names = set(scn.available_dataset_names())
    assert {"precipitation", "randomError", "probabilityLiquidPrecipitation"} <= names
    scn.load(["precipitation", "randomError"])
    ours = xgpm.open_granule(path).isel(time=0)
    for name in ("precipitation", "randomError"):
        field = scn[name]
        expected = ours[name].transpose("lat", "lon").isel(lat=slice(None, None, -1))
        np.testing.assert_array_equal(field.values, expected.values)
        assert field.attrs["sensor"] == "multiple"
    area = scn["precipitation"].attrs["area"]
    assert isinstance(area, AreaDefinition)
    assert area.shape == (ours.sizes["lat"], ours.sizes["lon"])
    lons, lats = area.get_lonlats()
    np.testing.assert_allclose(lats[:, 0], ours["lat"].values[::-1], atol=1e-4)
    np.testing.assert_allclose(lons[0], ours["lon"].values, atol=1e-4)
    assert scn["precipitation"].attrs["start_time"] == dt.datetime(2000, 6, 1, 0, 0)
    assert scn["precipitation"].attrs["end_time"] == dt.datetime(2000, 6, 1, 0, 29, 59)


def test_imerg_area_of_a_full_grid_has_the_global_extent():
    from xgpm.satpy_reader.gpm_l2_l3 import imerg_area

    lat = np.arange(-89.95, 90, 0.1)
    lon = np.arange(-179.95, 180, 0.1)
    area = imerg_area(lat, lon)
    assert area.shape == (1800, 3600)
    np.testing.assert_allclose(area.area_extent, (-180, -90, 180, 90), atol=1e-6)
    with pytest.raises(xgpm.XGPMError, match="regularly spaced"):
        imerg_area(np.array([0.0]), lon)


# --------------------------------------------------------------------------------------------
# fsspec: URLs and FSFile objects, as satpy's own readers take them
# --------------------------------------------------------------------------------------------

FSSPEC_CASES = [
    ("gmi_l1c_h5", "1C-GMI", "89V"),
    ("dpr_l2a_h5", "2A-DPR", "precipRateNearSurface"),
    ("gprof_l2a_h5", "2A-SSMIS-F17-CLIM", "surfacePrecipitation"),
    ("imerg_hhr_h5", "IMERG-FR-V06", "precipitation"),
]


def _local_values(reader: str, product: str, name: str) -> np.ndarray:
    scn = _scene(reader, GRANULES[product])
    scn.load([name])
    return scn[name].values


@pytest.mark.parametrize(("reader", "product", "name"), FSSPEC_CASES)
def test_memory_url_and_fsfile_load_like_a_local_path(plugin_config, reader, product, name):
    fsspec = pytest.importorskip("fsspec")
    from satpy.readers.core.remote import FSFile

    path = GRANULES[product]
    expected = _local_values(reader, product, name)
    fs = fsspec.filesystem("memory")
    remote = f"/xgpm-satpy-test/{reader}/{path.name}"
    fs.pipe(remote, path.read_bytes())
    try:
        for filename in (f"memory://{remote}", FSFile(remote, fs)):
            scn = satpy.Scene(reader=reader, filenames=[filename])
            scn.load([name])
            np.testing.assert_array_equal(scn[name].values, expected)
            assert scn[name].attrs["start_time"] == xgpm.parse_filename(path.name).start
    finally:
        fs.rm(remote)


def test_local_fsfile_is_read_by_path(plugin_config, gmi_path):
    fsspec = pytest.importorskip("fsspec")
    from satpy.readers.core.remote import FSFile

    from xgpm.satpy_reader.gpm_l1c import granule_source

    local = FSFile(str(gmi_path), fsspec.filesystem("file"))
    assert granule_source(local) == str(gmi_path)
    scn = satpy.Scene(reader="gmi_l1c_h5", filenames=[local])
    scn.load(["89V"])
    np.testing.assert_array_equal(scn["89V"].values, _xgpm_tc(gmi_path, "89V", "S1").values)
