"""Bad input gives one clear xgpm error naming the file and the problem."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

import xgpm
from xgpm import errors

from .conftest import GRANULES


def _copy(src, tmp_path, name=None):
    path = tmp_path / (name or src.name)
    shutil.copy(src, path)
    return path


def _set_header(path, **changes):
    with h5py.File(path, "r+") as h5:
        header = h5.attrs["FileHeader"].decode()
        for key, value in changes.items():
            lines = [
                f"{key}={value};" if line.startswith(f"{key}=") else line
                for line in header.split("\n")
            ]
            header = "\n".join(lines)
        h5.attrs["FileHeader"] = np.bytes_(header)


def test_not_hdf5(tmp_path):
    path = tmp_path / "1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5"
    path.write_text("<html>503 Service Unavailable</html>")
    with pytest.raises(errors.NotHDF5Error, match="not an HDF5 file") as info:
        xgpm.open_granule(path)
    assert path.name in str(info.value)
    assert isinstance(info.value, xgpm.XGPMError) and isinstance(info.value, OSError)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.HDF5"
    path.write_bytes(b"")
    with pytest.raises(errors.NotHDF5Error, match="empty or truncated"):
        xgpm.open_granule(path)


def test_truncated_file(tmp_path, gmi_path):
    path = tmp_path / gmi_path.name
    path.write_bytes(gmi_path.read_bytes()[: gmi_path.stat().st_size // 3])
    with pytest.raises(errors.CorruptGranuleError, match="truncated") as info:
        xgpm.open_granule(path)
    assert str(path) in str(info.value)


def test_hdf5_that_is_not_a_granule(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = np.arange(3)
    with pytest.raises(errors.GranuleError, match="not a NASA PPS granule"):
        xgpm.open_granule(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no such granule"):
        xgpm.open_granule(
            "/nonexistent/1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5"
        )


def test_wrong_product(gmi_path):
    with pytest.raises(errors.WrongProductError, match="holds 1C-GMI, not the requested 2A-DPR"):
        xgpm.open_granule(gmi_path, product="2A-DPR")
    with pytest.raises(errors.UnknownProductError, match="unknown product"):
        xgpm.open_granule(gmi_path, product="1C-FOO")


def test_missing_scan_mode_and_variable(gmi_path):
    with pytest.raises(errors.MissingVariableError, match="no scan mode 'S3'.*S1, S2"):
        xgpm.open_granule(gmi_path, scan_mode="S3")
    with pytest.raises(errors.MissingVariableError, match="no variable.*'nope'.*available: .*Tc"):
        xgpm.open_granule(gmi_path, scan_mode="S1", variables=["Tc", "nope"])
    # still a KeyError for code that catches those
    with pytest.raises(KeyError):
        xgpm.open_granule(gmi_path, scan_mode="S1", variables="nope")


def test_missing_dataset(tmp_path, gmi_path):
    path = _copy(gmi_path, tmp_path)
    with h5py.File(path, "r+") as h5:
        del h5["S2/Tc"]
    with pytest.raises(errors.MissingVariableError, match="S2 lacks \\['Tc'\\]") as info:
        xgpm.open_granule(path, scan_mode="S2")
    assert path.name in str(info.value)


def test_missing_scan_time(tmp_path, gmi_path):
    path = _copy(gmi_path, tmp_path)
    with h5py.File(path, "r+") as h5:
        del h5["S1/ScanTime"]
    with pytest.raises(errors.MissingVariableError, match="no ScanTime"):
        xgpm.open_granule(path, scan_mode="S1")


def test_empty_granule(tmp_path, gmi_path):
    path = _copy(gmi_path, tmp_path)
    _set_header(path, EmptyGranule="EMPTY")
    with pytest.raises(errors.EmptyGranuleError, match="EmptyGranule=EMPTY") as info:
        xgpm.open_granule(path)
    assert path.name in str(info.value)


def test_file_name_disagrees_with_header(tmp_path, gmi_path):
    renamed = gmi_path.name.replace("000079", "000080")
    path = _copy(gmi_path, tmp_path, renamed)
    with pytest.raises(errors.FileNameMismatchError, match="granule 80 in the name"):
        xgpm.open_granule(path)
    # the caller can choose to trust the header
    ds = xgpm.open_granule(path, check_filename=False)
    assert int(ds["gpm_granule_id"].values[0]) == 79
    # a non-PPS name is not checked: the header decides
    plain = _copy(gmi_path, tmp_path, "my_granule.h5")
    assert xgpm.open_granule(plain).attrs["gpm_api_product"] == "1C-GMI"


def test_header_start_time_disagrees(tmp_path, gmi_path):
    path = _copy(gmi_path, tmp_path)
    _set_header(path, StartGranuleDateTime="2015-01-01T00:00:00.000Z")
    with pytest.raises(errors.FileNameMismatchError, match="StartGranuleDateTime"):
        xgpm.open_granule(path)


def test_not_a_pps_file_name():
    with pytest.raises(errors.UnknownProductError, match="not a PPS file name"):
        xgpm.parse_filename("granule.h5")


def test_bad_source_type():
    with pytest.raises(errors.InvalidArgumentError, match="path, a URL or a binary file"):
        xgpm.open_granule(42)


def test_open_granules_refuses_mixed_products():
    with pytest.raises(errors.InvalidArgumentError, match="several products"):
        xgpm.open_granules([GRANULES["1C-GMI"], GRANULES["1C-TMI"]], scan_mode="S1")
    with pytest.raises(errors.InvalidArgumentError, match="at least one"):
        xgpm.open_granules([])


def test_every_error_is_an_xgpm_error():
    for name in errors.__all__:
        cls = getattr(errors, name)
        if name == "XGPMWarning":
            assert issubclass(cls, UserWarning)
        elif name.endswith("Warning"):
            assert issubclass(cls, errors.XGPMWarning), name
        else:
            assert issubclass(cls, errors.XGPMError), name
