"""Bad input, tried as a careful user and an attacker would, ends in one clear xgpm error.

Each case asserts the error (or warning) class, that it is an xgpm one, and that the message
names the file or argument at fault. Readers, writer and ``merge_scan_modes`` here; model and
verification entry points in ``test_bad_input_compute.py``; the CLI in ``test_cli_errors.py``;
``process`` in ``test_process_lock.py`` and ``test_process_faults.py``; radar files in
``test_odim.py``.
"""

from __future__ import annotations

import errno
import shutil
import time
import warnings

import h5py
import numpy as np
import pytest
import xarray as xr

import xgpm
from xgpm import errors

from .conftest import GRANULES

GMI = GRANULES["1C-GMI"]
SSMIS = GRANULES["1C-SSMIS-F17"]
DPR = GRANULES["2A-DPR"]


def _copy(tmp_path, src=GMI, name=None):
    path = tmp_path / (name or src.name)
    shutil.copy(src, path)
    return path


def _edit(path, action):
    with h5py.File(path, "r+") as h5:
        action(h5)
    return path


def _expect(error, call, *names):
    """Run ``call``; assert it raises ``error`` (an XGPMError) whose message holds ``names``."""
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, errors.XGPMError), type(info.value)
    message = str(info.value)
    for name in names:
        assert str(name) in message, (name, message)
    return message


# -- open_granule: the file ------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / GMI.name
    message = _expect(errors.NoSuchFileError, lambda: xgpm.open_granule(path), path)
    assert "check the path" in message


def test_missing_file_is_also_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        xgpm.open_granule(tmp_path / "nothing.HDF5")


def test_directory_instead_of_a_file(tmp_path):
    message = _expect(errors.StorageError, lambda: xgpm.open_granule(tmp_path), tmp_path)
    assert "open_granules" in message  # says what to do with a folder


def test_unreadable_file(tmp_path, monkeypatch):
    # root ignores file modes, so the refusal is injected where the file is opened
    from xgpm.io import _hdf5

    path = _copy(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(_hdf5, "open", refuse, raising=False)
    message = _expect(errors.StorageError, lambda: xgpm.open_granule(path), path)
    assert "permission denied" in message


@pytest.mark.parametrize(
    ("content", "error", "phrase"),
    [
        (b"<html>503 Service Unavailable</html>", errors.NotHDF5Error, "not an HDF5 file"),
        (b"", errors.NotHDF5Error, "empty or truncated"),
        (b"\x1f\x8b\x08\x00" + bytes(60), errors.NotHDF5Error, "compressed archive"),
        (b"\x89HDF\r\n\x1a\n" + bytes(40), errors.CorruptGranuleError, "truncated"),
    ],
    ids=["html", "empty", "gzip", "signature-only"],
)
def test_not_a_granule_file(tmp_path, content, error, phrase):
    path = tmp_path / GMI.name
    path.write_bytes(content)
    message = _expect(error, lambda: xgpm.open_granule(path), path.name)
    assert phrase in message


def test_truncated_granule(tmp_path):
    path = tmp_path / GMI.name
    path.write_bytes(GMI.read_bytes()[: GMI.stat().st_size // 2])
    _expect(errors.CorruptGranuleError, lambda: xgpm.open_granule(path), path)


def test_hdf5_that_is_no_pps_granule(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = np.arange(3)
    _expect(errors.GranuleError, lambda: xgpm.open_granule(path), "FileHeader", path.name)


@pytest.mark.parametrize("source", [42, 3.5, None, ["a", "b"]], ids=repr)
def test_source_of_a_wrong_type(source):
    _expect(errors.InvalidArgumentError, lambda: xgpm.open_granule(source), "source")


# -- open_granule: the arguments --------------------------------------------------------------


@pytest.mark.parametrize(
    "chunks",
    [0, -5, True, "big", 2.5, {"along_track": 0}, {"along_track": -3}, {"along_track": "x"}],
    ids=repr,
)
def test_bad_chunks(chunks):
    _expect(errors.InvalidArgumentError, lambda: xgpm.open_granule(GMI, chunks=chunks), "chunks")


@pytest.mark.parametrize("radius", [-1, 0, float("nan"), float("inf"), "10km", None], ids=repr)
def test_bad_merge_radius(radius):
    """A negative or NaN radius silently emptied the S2 channels; now it is refused."""
    _expect(
        errors.InvalidArgumentError,
        lambda: xgpm.open_granule(GMI, merge_radius_km=radius),
        "merge_radius_km",
    )


def test_bad_scan_mode_type():
    _expect(errors.InvalidArgumentError, lambda: xgpm.open_granule(GMI, scan_mode=1), "scan_mode")


def test_unknown_scan_mode():
    message = _expect(
        errors.MissingVariableError, lambda: xgpm.open_granule(GMI, scan_mode="S9"), "S9", GMI.name
    )
    assert "S1" in message and "S2" in message  # lists what is there


def test_unknown_variable():
    message = _expect(
        errors.MissingVariableError,
        lambda: xgpm.open_granule(GMI, scan_mode="S1", variables="rainRate"),
        "rainRate",
    )
    assert "Tc" in message  # lists what is there


def test_unknown_product_name():
    _expect(errors.UnknownProductError, lambda: xgpm.open_granule(GMI, product="1C-XYZ"), "1C-XYZ")


def test_wrong_product():
    message = _expect(
        errors.WrongProductError, lambda: xgpm.open_granule(GMI, product="1C-TMI"), "1C-TMI"
    )
    assert "1C-GMI" in message


def test_renamed_file(tmp_path):
    path = _copy(tmp_path, name=SSMIS.name)
    message = _expect(errors.FileNameMismatchError, lambda: xgpm.open_granule(path), path.name)
    assert "check_filename=False" in message


def test_empty_granule(tmp_path):
    def empty(h5):
        header = (
            h5.attrs["FileHeader"].decode().replace("EmptyGranule=NOT_EMPTY", "EmptyGranule=EMPTY")
        )
        h5.attrs["FileHeader"] = np.bytes_(header)

    path = _edit(_copy(tmp_path), empty)
    _expect(errors.EmptyGranuleError, lambda: xgpm.open_granule(path), path.name)


# -- open_granule: damaged content ------------------------------------------------------------


@pytest.mark.parametrize(
    ("deleted", "named"),
    [
        ("S1/Tc", "Tc"),
        ("S1/Latitude", "Latitude"),
        ("S1/Longitude", "Longitude"),
        ("S1/ScanTime/Year", "Year"),
        ("S1/ScanTime", "ScanTime"),
    ],
)
def test_deleted_dataset_says_what_to_do(tmp_path, deleted, named):
    path = _edit(_copy(tmp_path), lambda h5: h5.__delitem__(deleted))
    message = _expect(
        errors.MissingVariableError, lambda: xgpm.open_granule(path, scan_mode="S1"), named
    )
    assert path.name in message and "download it again" in message


@pytest.mark.parametrize("scan_mode", [None, "merged", "all"])
def test_missing_scan_mode_names_the_missing_channels(tmp_path, scan_mode):
    """A 1C-GMI without S2 used to open as 9 channels with no word."""
    path = _edit(_copy(tmp_path), lambda h5: h5.__delitem__("S2"))
    message = _expect(
        errors.MissingVariableError, lambda: xgpm.open_granule(path, scan_mode=scan_mode), "S2"
    )
    assert "183V3" in message and "scan_mode='S1'" in message


def test_missing_scan_mode_is_fine_when_the_present_one_is_asked_for(tmp_path):
    path = _edit(_copy(tmp_path), lambda h5: h5.__delitem__("S2"))
    ds = xgpm.open_granule(path, scan_mode="S1")
    assert ds.sizes["pmw_frequency"] == 9


def test_all_scan_modes_missing(tmp_path):
    def drop(h5):
        del h5["S1"]
        del h5["S2"]

    path = _edit(_copy(tmp_path), drop)
    _expect(errors.MissingVariableError, lambda: xgpm.open_granule(path), "S1", path.name)


@pytest.mark.parametrize(
    ("dataset", "value"),
    [("Latitude", np.inf), ("Latitude", 91.0), ("Latitude", -np.inf), ("Longitude", 400.0)],
    ids=["lat-inf", "lat-91", "lat-minus-inf", "lon-400"],
)
def test_impossible_geolocation_is_set_aside_with_a_count(tmp_path, dataset, value):
    def damage(h5):
        values = h5[f"S1/{dataset}"][()]
        values[2, :3] = value
        h5[f"S1/{dataset}"][...] = values

    path = _edit(_copy(tmp_path), damage)
    with pytest.warns(errors.DataQualityWarning, match=rf"3 of 100 /S1/{dataset}") as record:
        ds = xgpm.open_granule(path, scan_mode="S1").compute()
    assert path.name in str(record[0].message)
    key = "lat" if dataset == "Latitude" else "lon"
    stored = ds[key].transpose("along_track", "cross_track").values
    assert np.isnan(stored[2, :3]).all()
    assert np.isfinite(stored[3]).all()  # the rest is untouched


def test_geolocation_fill_codes_are_missing_without_a_warning():
    """GPROF of some sensors stores -9999 under a -9999.9 _FillValue: missing, not damaged."""
    path = GRANULES["2A-SSMIS-F17-CLIM"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.DataQualityWarning)
        lat = xgpm.open_granule(path)["lat"].values
    with h5py.File(path) as h5:
        stored = h5["S1/Latitude"][()].T
    assert np.isnan(lat[stored <= -9999]).all()


# -- open_granules ---------------------------------------------------------------------------


def test_one_path_as_a_string_opens_that_granule():
    """A string used to be iterated character by character (IsADirectoryError: '/')."""
    one = xgpm.open_granules(str(GMI), scan_mode="S1")
    xr.testing.assert_identical(one.compute(), xgpm.open_granule(GMI, scan_mode="S1").compute())


def test_a_glob_pattern(tmp_path):
    for src in (GMI, SSMIS):
        shutil.copy(src, tmp_path / src.name)
    ds = xgpm.open_granules(str(tmp_path / "1C.GPM.GMI.*.HDF5"), scan_mode="S1")
    assert ds.attrs["gpm_api_product"] == "1C-GMI"


def test_a_glob_that_matches_nothing(tmp_path):
    pattern = str(tmp_path / "1C.GPM.GMI.*.HDF5")
    _expect(errors.NoSuchFileError, lambda: xgpm.open_granules(pattern), pattern)


def test_open_granules_on_a_folder(tmp_path):
    message = _expect(errors.StorageError, lambda: xgpm.open_granules(tmp_path), tmp_path)
    assert "*.HDF5" in message


def test_an_empty_list():
    message = _expect(errors.InvalidArgumentError, lambda: xgpm.open_granules([]), "open_granules")
    assert "glob" in message


def test_sources_of_a_wrong_type():
    _expect(errors.InvalidArgumentError, lambda: xgpm.open_granules(5), "sources")


def test_duplicate_granules_are_read_once(tmp_path):
    copy = _copy(tmp_path)
    with pytest.warns(errors.DataQualityWarning, match="2 of 3 sources repeat") as record:
        ds = xgpm.open_granules([GMI, GMI, copy], scan_mode="S1")
    assert str(copy) in str(record[0].message)
    xr.testing.assert_identical(ds.compute(), xgpm.open_granule(GMI, scan_mode="S1").compute())


def test_mixed_products_name_the_files():
    message = _expect(
        errors.InvalidArgumentError,
        lambda: xgpm.open_granules([GMI, GRANULES["1C-TMI"]], scan_mode="S1"),
        "1C-GMI",
        "1C-TMI",
        GMI.name,
    )
    assert "separately" in message


def test_open_granules_all_scan_modes():
    _expect(
        errors.InvalidArgumentError,
        lambda: xgpm.open_granules([GMI], scan_mode="all"),
        "scan-mode name",
    )


def test_granule_info_of_a_missing_file(tmp_path):
    from xgpm.io.read import granule_info

    path = tmp_path / GMI.name
    _expect(errors.NoSuchFileError, lambda: granule_info(path), path)


# -- merge_scan_modes ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gmi_modes():
    tree = xgpm.open_granule(GMI, scan_mode="all")
    return {m: tree[m].to_dataset() for m in tree.children}


@pytest.mark.parametrize("radius", [0, -15, float("nan")], ids=repr)
def test_merge_with_a_bad_radius(gmi_modes, radius):
    _expect(
        errors.InvalidArgumentError,
        lambda: xgpm.merge_scan_modes(gmi_modes, radius_km=radius),
        "radius_km",
    )


def test_merge_nothing():
    _expect(errors.InvalidArgumentError, lambda: xgpm.merge_scan_modes({}), "scan_modes")


def test_merge_onto_an_unknown_reference(gmi_modes):
    _expect(
        errors.InvalidArgumentError,
        lambda: xgpm.merge_scan_modes(gmi_modes, reference="S7"),
        "S7",
    )


# -- S3 --------------------------------------------------------------------------------------


def test_unreachable_endpoint_fails_fast_and_names_it():
    """botocore's EndpointConnectionError came after 14 s; now an xgpm error in a few."""
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = {
        "key": "k",
        "secret": "s",
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
    }
    url = f"s3://gpm/1C/{GMI.name}"
    start = time.perf_counter()
    message = _expect(
        errors.StorageError,
        lambda: xgpm.open_granule(url, storage_options=options),
        url,
        f"127.0.0.1:{port}",
    )
    assert time.perf_counter() - start < 10
    assert "endpoint_url" in message


def test_missing_object_on_s3(s3):
    url = "s3://gpm/missing/1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5"
    _expect(errors.NoSuchFileError, lambda: xgpm.open_granule(url, storage_options=s3), url)


def test_glob_on_s3_that_matches_nothing(s3):
    pattern = "s3://gpm/nothing/*.HDF5"
    _expect(
        errors.NoSuchFileError, lambda: xgpm.open_granules(pattern, storage_options=s3), pattern
    )


# -- write_granule ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gmi():
    return xgpm.open_granule(GMI, scan_mode="all")


def test_write_over_an_existing_file(gmi, tmp_path):
    target = xgpm.write_granule(gmi, tmp_path)
    message = _expect(errors.WriteError, lambda: xgpm.write_granule(gmi, tmp_path), target)
    assert "overwrite=True" in message


def test_write_under_a_file(gmi, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    target = blocker / "out.HDF5"
    _expect(errors.StorageError, lambda: xgpm.write_granule(gmi, target), target)


def test_write_into_a_folder_without_permission(gmi, tmp_path, monkeypatch):
    # root ignores file modes: the refusal is injected where the file is created
    from xgpm.io import write

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(write, "_write_file", refuse)
    target = tmp_path / "out.HDF5"
    message = _expect(errors.StorageError, lambda: xgpm.write_granule(gmi, target), target)
    assert "permission denied" in message
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_write_on_a_full_disk_leaves_nothing(gmi, tmp_path, monkeypatch):
    from xgpm.io import write

    real = write._write_file

    def fill_up(path, *args, **kwargs):
        real(path, *args, **kwargs)  # the temporary file is written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(write, "_write_file", fill_up)
    target = tmp_path / "out.HDF5"
    message = _expect(errors.StorageError, lambda: xgpm.write_granule(gmi, target), target)
    assert "no space left" in message
    assert list(tmp_path.iterdir()) == []


def test_write_without_a_product(gmi, tmp_path):
    ds = gmi["S1"].to_dataset()
    ds.attrs = {}
    _expect(errors.WriteError, lambda: xgpm.write_granule(ds, tmp_path), "product")


def test_write_an_unknown_product(gmi, tmp_path):
    _expect(
        errors.UnknownProductError,
        lambda: xgpm.write_granule(gmi, tmp_path, product="1C-NOPE"),
        "1C-NOPE",
    )


def test_write_channels_of_another_sensor(gmi, tmp_path):
    _expect(
        errors.WriteError,
        lambda: xgpm.write_granule(gmi, tmp_path, product="1C-SSMIS-F17"),
        "1C-SSMIS-F17",
    )


def test_write_without_geolocation(gmi, tmp_path):
    ds = gmi["S1"].to_dataset().drop_vars(["lat", "lon"])
    _expect(errors.WriteError, lambda: xgpm.write_granule(ds, tmp_path), "lat")


def test_write_to_an_unreachable_endpoint(gmi):
    options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}}
    _expect(
        errors.StorageError,
        lambda: xgpm.write_granule(gmi, "s3://gpm/out/", storage_options=options),
        "s3://gpm/out/",
    )


# -- the other entry points, one line each (their full sets: test_bad_input_compute.py,
#    test_odim.py, test_process*.py, test_cli_errors.py) --------------------------------------


def test_radar_composite_missing(tmp_path):
    path = tmp_path / "T_PAAH22_C_EUOC_20241126010000.hdf"
    _expect(errors.NoSuchFileError, lambda: xgpm.open_radar_composite(path), path)


def test_radar_composite_folder(tmp_path):
    _expect(errors.StorageError, lambda: xgpm.open_radar_composite(tmp_path), tmp_path)


def test_radar_composite_not_hdf5(tmp_path):
    path = tmp_path / "composite.h5"
    path.write_text("GRIB")
    _expect(errors.NotHDF5Error, lambda: xgpm.open_radar_composite(path), path)


def test_radar_composite_that_is_a_granule():
    _expect(errors.RadarFileError, lambda: xgpm.open_radar_composite(GMI), GMI.name)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"along_track_chunk": 0}, "along_track_chunk"),
        ({"threads_per_worker": 0}, "threads_per_worker"),
        ({"retries": -1}, "retries"),
        ({"stale_after": -5}, "stale_after"),
        ({"sensor": "NOPE-1"}, "NOPE-1"),
    ],
)
def test_process_bad_arguments(tmp_path, kwargs, named):
    from xgpm.process import process

    _expect(
        errors.XGPMError,
        lambda: process(GMI.parent, tmp_path / "out.zarr", progress=False, **kwargs),
        named,
    )


def test_process_source_with_no_granule(tmp_path):
    from xgpm.process import process

    (tmp_path / "empty").mkdir()
    _expect(
        errors.XGPMError,
        lambda: process(tmp_path / "empty", tmp_path / "out.zarr", progress=False),
        "empty",
    )


def test_process_into_a_folder_that_is_no_store(tmp_path):
    from xgpm.process import process

    store = tmp_path / "out.zarr"
    store.mkdir()
    (store / "notes.txt").write_text("mine")
    _expect(
        errors.InvalidArgumentError,
        lambda: process(GMI.parent, store, sensor="GMI", progress=False),
        str(store),
    )
    assert (store / "notes.txt").read_text() == "mine"  # nothing of the user's was touched


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["info", "{tmp}/missing.HDF5"], "missing.HDF5"),
        (["info", "{tmp}"], "folder"),
        (["simulate", "--days", "0", "--out", "{tmp}/sim"], "--days"),
    ],
)
def test_cli_one_line_and_exit_2(tmp_path, capsys, argv, named):
    from xgpm.cli import main

    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert named in err


# -- the model and verification entry points, one line each (their full set:
#    test_bad_input_compute.py) ------------------------------------------------------------


@pytest.fixture(scope="module")
def warm_gmi():
    """The cut GMI granule with plausible brightness temperatures (the cut holds only fill)."""
    ds = xgpm.open_granule(GMI).compute()
    return ds.assign(Tc=ds["Tc"].fillna(250.0))


@pytest.mark.parametrize(
    ("transform", "phrase"),
    [
        (lambda tc: tc - 273.15, "Celsius"),
        (lambda tc: tc * 0.0, "fill"),
        (lambda tc: tc * 100.0, "scale"),
    ],
    ids=["celsius", "all-zero", "scaled"],
)
@pytest.mark.parametrize("entry", ["rainrate", "to_gmi"])
def test_implausible_brightness_temperatures(warm_gmi, transform, phrase, entry):
    """Tc in Celsius or all zero gave 268 mm/h of rain, with no word."""
    pytest.importorskip("torch")
    ds = warm_gmi.assign(Tc=transform(warm_gmi["Tc"]))
    if entry == "to_gmi":
        ssmis = xgpm.open_granule(SSMIS).compute()
        ds = ssmis.assign(Tc=transform(ssmis["Tc"].fillna(250.0)))
        call = lambda: ds.gpm.to_gmi(model="identity").gpm.rainrate()  # noqa: E731
    else:
        call = lambda: ds.gpm.rainrate()  # noqa: E731
    message = _expect(errors.InvalidDataError, call, "Tc")
    assert phrase.lower() in message.lower()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"radius_km": -1}, "radius_km"),
        ({"radius_km": float("nan")}, "radius_km"),
        ({"radius_km": 10, "method": "kriging"}, "method"),
    ],
)
def test_colocate_bad_arguments(warm_gmi, kwargs, named):
    _expect(errors.InvalidArgumentError, lambda: xgpm.colocate(warm_gmi, warm_gmi, **kwargs), named)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [({"thresholds": [-1.0]}, "thresholds"), ({"scales": [0]}, "scales")],
)
def test_score_bad_arguments(kwargs, named):
    time = np.array(["2021-06-13T06:00"], dtype="datetime64[ns]")
    field = xr.DataArray(
        np.ones((1, 4, 5)),
        {"time": time, "lat": np.arange(4.0), "lon": np.arange(5.0)},
        ("time", "lat", "lon"),
    )
    _expect(errors.InvalidArgumentError, lambda: xgpm.score(field, field, **kwargs), named)
