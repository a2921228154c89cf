"""Writing PPS granules: faithful round trips and files built from scratch."""

from __future__ import annotations

import os

import fsspec
import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xgpm
from xgpm.errors import WriteError

from .conftest import GRANULES


def _h5_tree(path) -> dict:
    out = {}
    with h5py.File(path, "r") as h5:
        for key, value in h5.attrs.items():
            out[f"/@{key}"] = value

        def visit(name, obj):
            attrs = {
                k: v for k, v in obj.attrs.items() if k not in ("DIMENSION_LIST", "REFERENCE_LIST")
            }
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype, obj.shape, obj[()], attrs)
            else:
                out[name] = ("group", attrs)

        h5.visititems(visit)
    return out


def _assert_same_attrs(a: dict, b: dict, where: str) -> None:
    assert set(a) == set(b), where
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=where)


@pytest.mark.parametrize("product", sorted(GRANULES))
def test_round_trip_every_product(product, tmp_path):
    """read(write(read(file))) == read(file), and the written file mirrors the original."""
    path = GRANULES[product]
    tree = xgpm.open_granule(path, scan_mode="all", chunks=None)  # lazy, without dask: faster
    written = xgpm.write_granule(tree, tmp_path)
    assert os.path.basename(written) == path.name
    again = xgpm.open_granule(written, scan_mode="all", chunks=None)
    assert list(again.children) == list(tree.children)
    for mode in tree.children:
        xr.testing.assert_identical(
            again[mode].to_dataset().compute(), tree[mode].to_dataset().compute()
        )

    original, copy = _h5_tree(path), _h5_tree(written)
    assert set(copy) == set(original)
    for key, item in original.items():
        if key.startswith("/@"):
            assert copy[key] == item, key
            continue
        if item[0] == "group":
            _assert_same_attrs(item[1], copy[key][1], key)
            continue
        dtype, shape, values, attrs = item
        assert (copy[key][0], copy[key][1]) == (dtype, shape), key
        # every stored code comes back: -9999 under a -9999.9 _FillValue (GPROF geolocation and
        # precipitation), -1111, the 0 of bin indices, level-2 ScanTime as stored
        np.testing.assert_array_equal(copy[key][2], values, err_msg=key)
        _assert_same_attrs(attrs, copy[key][3], key)


def _synthetic_1c(sensor_name: str, n_scan: int = 40, seed: int = 0) -> dict[str, xr.Dataset]:
    """A small swath per scan mode, built from scratch like the simulator does."""
    rng = np.random.default_rng(seed)
    sensor = xgpm.sensors.get(sensor_name)
    start = np.datetime64("2021-01-01T10:00:00.123", "ns")
    modes = {}
    for name, mode in sensor.scan_modes.items():
        n_pix = 12
        lon = 2.0 + np.linspace(-3, 3, n_pix)[:, None] + 0.1 * np.arange(n_scan)[None]
        lat = 45.0 + np.zeros((n_pix, 1)) + 0.11 * np.arange(n_scan)[None]
        tc = rng.uniform(150, 290, size=(n_pix, n_scan, len(mode.channels))).astype("float32")
        tc[0, 0, :] = np.nan
        modes[name] = xr.Dataset(
            {
                "Tc": (("cross_track", "along_track", "pmw_frequency"), tc, {"units": "K"}),
                "Quality": (("cross_track", "along_track"), np.zeros((n_pix, n_scan))),
                "incidenceAngle": (
                    ("cross_track", "along_track"),
                    np.full((n_pix, n_scan), 53.1, dtype="float32"),
                ),
            },
            coords={
                "lon": (("cross_track", "along_track"), lon.astype("float32")),
                "lat": (("cross_track", "along_track"), lat.astype("float32")),
                "time": ("along_track", start + np.arange(n_scan) * np.timedelta64(1900, "ms")),
                "pmw_frequency": list(mode.labels),
            },
            attrs={"gpm_api_product": sensor.product},
        )
    return modes


def test_write_from_scratch_generates_pps_name_and_reads_back(tmp_path):
    modes = _synthetic_1c("SSMIS-F17")
    path = xgpm.write_granule(modes, tmp_path, granule_number=12345)
    name = os.path.basename(path)
    assert name == "1C.F17.SSMIS.XCAL2021-V.20210101-S100000-E100114.012345.V07A.HDF5"
    parsed = xgpm.parse_filename(name)
    assert parsed.product == "1C-SSMIS-F17" and parsed.granule == 12345
    back = xgpm.open_granule(path, scan_mode="all")
    for mode, ds in modes.items():
        got = back[mode].to_dataset()
        np.testing.assert_array_equal(got["Tc"].values, ds["Tc"].values)
        np.testing.assert_array_equal(got["time"].values, ds["time"].values)
        np.testing.assert_array_equal(got["lat"].values, ds["lat"].values)
        np.testing.assert_allclose(got["incidenceAngle"].values[..., 0], 53.1, rtol=1e-6)
    with h5py.File(path) as h5:
        header = h5.attrs["FileHeader"].decode()
        assert "GranuleNumber=012345;" in header and "InstrumentName=SSMIS;" in header
        assert h5["S3"].attrs["S3_SwathHeader"].decode().count("NumberPixels=12;") == 1
        assert h5["S1/Tc"].attrs["DimensionNames"] == b"nscan1,npixel1,nchannel1"
        assert h5["S1/Tc"].attrs["_FillValue"] == np.float32(-9999.9)
        assert h5["S1/Tc"][0, 0, 0] == np.float32(-9999.9)


def test_files_written_from_scratch_open_with_gpm_api(tmp_path):
    gpm = pytest.importorskip("gpm")
    modes = _synthetic_1c("GMI")
    path = xgpm.write_granule(modes, tmp_path, granule_number=7)
    for mode, ds in modes.items():
        theirs = gpm.open_granule_dataset(path, scan_mode=mode).compute()
        np.testing.assert_array_equal(theirs["Tc"].values, ds["Tc"].values)
        assert list(theirs["pmw_frequency"].values) == list(ds["pmw_frequency"].values)
        # GPM-API keeps whole seconds of ScanTime; xgpm keeps the milliseconds
        np.testing.assert_array_equal(
            theirs["time"].values.astype("datetime64[s]"), ds["time"].values.astype("datetime64[s]")
        )


def test_merged_dataset_is_split_back_into_scan_modes(tmp_path):
    modes = _synthetic_1c("GMI")
    merged = xr.concat(
        [modes["S1"], modes["S2"]],
        dim="pmw_frequency",
        data_vars="minimal",
        coords="minimal",
        compat="override",
    )
    path = xgpm.write_granule(merged, tmp_path, granule_number=1)
    back = xgpm.open_granule(path)  # merged again on read: co-located, so exact
    np.testing.assert_array_equal(back["Tc"].values, merged["Tc"].values)
    with h5py.File(path) as h5:
        assert set(h5) == {"S1", "S2"}


def test_imerg_subgrid_from_scratch(tmp_path):
    gpm = pytest.importorskip("gpm")
    lat = np.round(np.arange(41.05, 43.0, 0.1), 2).astype("float32")
    lon = np.round(np.arange(-1.95, 1.0, 0.1), 2).astype("float32")
    rng = np.random.default_rng(1)
    precip = rng.gamma(0.3, 2.0, size=(1, lat.size, lon.size)).astype("float32")
    ds = xr.Dataset(
        {
            "precipitation": (("time", "lat", "lon"), precip, {"units": "mm/hr"}),
            "MWprecipSource": (("time", "lat", "lon"), np.full(precip.shape, 5.0)),
            "precipitationQualityIndex": (("time", "lat", "lon"), np.full(precip.shape, 0.8)),
        },
        coords={"time": [np.datetime64("2021-01-01T12:30", "ns")], "lat": lat, "lon": lon},
        attrs={"gpm_api_product": "IMERG-LR"},
    )
    path = xgpm.write_granule(ds, tmp_path)
    assert os.path.basename(path) == (
        "3B-HHR-L.MS.MRG.3IMERG.20210101-S123000-E125959.0750.V07A.HDF5"
    )
    back = xgpm.open_granule(path)
    np.testing.assert_array_equal(back["precipitation"].values, precip)
    np.testing.assert_array_equal(back["MWprecipSource"].values, 5.0)
    theirs = gpm.open_granule_dataset(path).compute()
    np.testing.assert_array_equal(theirs["precipitation"].values, precip)
    np.testing.assert_allclose(theirs["lat"].values, lat)


def test_write_to_fsspec_url(tmp_path):
    modes = _synthetic_1c("MHS-METOPA")
    url = "memory://out/"
    written = xgpm.write_granule(modes, url, granule_number=3)
    try:
        assert written.startswith("memory://out/1C.METOPA.MHS.")
        back = xgpm.open_granule(written)
        np.testing.assert_array_equal(back["Tc"].values, modes["S1"]["Tc"].values)
    finally:
        fsspec.filesystem("memory").rm("/out", recursive=True)


def test_existing_file_is_not_overwritten_unless_asked(tmp_path, gmi_path):
    ds = xgpm.open_granule(gmi_path, scan_mode="all")
    path = xgpm.write_granule(ds, tmp_path)
    with pytest.raises(WriteError, match="exists"):
        xgpm.write_granule(ds, tmp_path)
    xgpm.write_granule(ds, tmp_path, overwrite=True)
    assert os.listdir(tmp_path) == [os.path.basename(path)]


def test_failed_write_leaves_nothing_behind(tmp_path):
    modes = _synthetic_1c("TMI")
    bad = modes["S2"].copy()
    bad["oops"] = (("along_track", "mystery"), np.zeros((bad.sizes["along_track"], 2)))
    bad["oops"].encoding = {
        "hdf5_path": "oops",
        "hdf5_dims": "nscan2,elsewhere",
        "dtype": np.dtype("float32"),
        "_FillValue": None,
        "hdf5_attrs": {},
    }
    modes["S2"] = bad
    with pytest.raises(WriteError, match="oops"):
        xgpm.write_granule(modes, tmp_path, granule_number=5)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: {"S1": m["S1"].drop_vars("Tc")}, "needs 'Tc'"),
        (lambda m: {"S1": m["S1"].isel(pmw_frequency=[1, 0, 2])}, "in that order"),
        (lambda m: {"S9": m["S1"]}, "no scan mode 'S9'"),
        (lambda m: {"S1": m["S1"].drop_vars("lat")}, "needs 'lat'"),
        (
            lambda m: {
                "S1": m["S1"].assign_coords(
                    time=(
                        "along_track",
                        np.full(m["S1"].sizes["along_track"], np.datetime64("NaT", "ns")),
                    )
                )
            },
            "every time is missing",
        ),
    ],
)
def test_bad_datasets_are_refused(tmp_path, change, message):
    modes = _synthetic_1c("SSMIS-F16")
    with pytest.raises(WriteError, match=message):
        xgpm.write_granule(change(modes), tmp_path, granule_number=1)


def test_product_is_required(tmp_path):
    ds = _synthetic_1c("GMI")["S1"]
    ds.attrs = {}
    with pytest.raises(WriteError, match="which product"):
        xgpm.write_granule(ds, tmp_path)
    with pytest.raises(xgpm.errors.UnknownProductError):
        xgpm.write_granule(ds, tmp_path, product="1C-NOPE")


def test_time_header_follows_shifted_data(tmp_path, gmi_path):
    ds = xgpm.open_granule(gmi_path, scan_mode="S1")
    shifted = ds.assign_coords(time=ds["time"] + np.timedelta64(1, "D"))
    path = xgpm.write_granule(shifted, tmp_path)
    info = xgpm.io.read.granule_info(path)
    first = pd.Timestamp(shifted["time"].values[0])
    assert info.header["StartGranuleDateTime"].startswith(first.strftime("%Y-%m-%dT%H:%M:%S"))
    assert xgpm.parse_filename(path).start.date() == first.date()


def test_a_file_replaced_under_the_same_name_is_read_afresh(tmp_path, gmi_path):
    """Handles are cached per process: a granule rewritten in place must not be served stale."""
    import shutil

    ds = xgpm.open_granule(gmi_path, scan_mode="S1").compute()
    path = tmp_path / gmi_path.name
    shutil.copy(gmi_path, path)
    first = xgpm.open_granule(str(path), scan_mode="S1")["Tc"].values
    changed = ds.copy()
    changed["Tc"] = ds["Tc"].fillna(0.0) + 1.0
    other = tmp_path / "elsewhere"
    other.mkdir()
    written = xgpm.write_granule(changed, other)
    os.replace(written, path)  # replaced behind xgpm's back, as another process would
    second = xgpm.open_granule(f"file://{path}", scan_mode="S1")["Tc"].values
    third = xgpm.open_granule(str(path), scan_mode="S1")["Tc"].values
    assert not np.array_equal(first, second, equal_nan=True)
    np.testing.assert_array_equal(second, changed["Tc"].values)
    np.testing.assert_array_equal(third, changed["Tc"].values)


def test_decoded_codes_are_written_back_and_changed_values_written_as_set(tmp_path):
    """-1111 and 0 read as NaN come back as -1111 and 0; a value changed since is written."""
    path = GRANULES["2A-DPR"]
    ds = xgpm.open_granule(path, scan_mode="FS", variables=["binBBPeak", "flagBB"]).compute()
    assert np.isnan(ds["binBBPeak"].values).all()
    with h5py.File(path) as src:
        peak, flag = src["FS/CSF/binBBPeak"][()], src["FS/CSF/flagBB"][()]
    scan, ray = np.argwhere(flag == 0)[0]  # flagBB 0: "not detected", a value
    ds["binBBPeak"][0, 0] = 120.0  # a bright band found later
    ds["flagBB"][ray, scan] = np.nan  # a value the user sets missing
    written = xgpm.write_granule(ds, tmp_path)
    with h5py.File(written) as out:
        peak[0, 0] = 120
        np.testing.assert_array_equal(out["FS/CSF/binBBPeak"][()], peak)
        flag[scan, ray] = -9999  # NaN that was a value: the declared fill value
        np.testing.assert_array_equal(out["FS/CSF/flagBB"][()], flag)


def test_raw_read_round_trips(tmp_path):
    """decode=False: the stored codes as numbers, written back as they were."""
    path = GRANULES["2A-MHS-METOPA-CLIM"]
    raw = xgpm.open_granule(path, decode=False)
    assert (raw["surfacePrecipitation"].values == -9999.0).all()
    written = xgpm.write_granule(raw, tmp_path)
    again = xgpm.open_granule(written, decode=False)
    xr.testing.assert_identical(again.compute(), raw.compute())
    with h5py.File(path) as src, h5py.File(written) as out:
        for name in ("S1/surfacePrecipitation", "S1/precipitationYesNoFlag", "S1/Latitude"):
            np.testing.assert_array_equal(out[name][()], src[name][()], err_msg=name)
