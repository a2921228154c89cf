"""The ``xgpm`` xarray engine gives what ``xgpm.open_granule(s)`` gives."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import xgpm
from xgpm.backend import XGPMBackendEntrypoint
from xgpm.errors import InvalidArgumentError, MissingVariableError

from .conftest import GRANULES


def _same(engine: xr.Dataset, reader: xr.Dataset) -> None:
    xr.testing.assert_identical(engine.load(), reader.load())


def test_the_engine_is_registered():
    engines = xr.backends.list_engines()
    assert "xgpm" in engines
    assert isinstance(engines["xgpm"], XGPMBackendEntrypoint)
    assert "GPM" in engines["xgpm"].description and engines["xgpm"].url.startswith("https://")


@pytest.mark.parametrize(
    ("folder", "group"),
    [
        ("1C-GMI", "S1"),
        ("1C-GMI", "S2"),
        ("1C-GMI", None),  # merged: all 13 channels on S1
        ("1C-SSMIS-F17", "S3"),
        ("2A-DPR", None),  # FS
        ("2A-DPR", "HS"),
        ("IMERG-FR", None),
        ("2A-DPR-V06", None),  # NS
    ],
)
def test_open_dataset_is_open_granule(folder, group):
    path = GRANULES[folder]
    engine = xr.open_dataset(path, engine="xgpm", group=group)
    _same(engine, xgpm.open_granule(path, scan_mode=group))
    # the default is lazy without dask (xarray's chunks= decides); chunks={} gives dask
    assert all(v.chunks is None for v in engine.data_vars.values())
    chunked = xr.open_dataset(path, engine="xgpm", group=group, chunks={})
    assert all(v.chunks is not None for v in chunked.data_vars.values() if v.ndim)


def test_open_dataset_variables_and_drop_variables():
    path = GRANULES["2A-DPR"]
    picked = xr.open_dataset(path, engine="xgpm", variables=["precipRateNearSurface", "typePrecip"])
    assert set(picked.data_vars) == {"precipRateNearSurface", "typePrecip"}
    dropped = xr.open_dataset(path, engine="xgpm", drop_variables=["typePrecip", "not-in-the-file"])
    reader = xgpm.open_granule(path)
    assert "typePrecip" not in dropped and "typePrecip" in reader
    _same(dropped, reader.drop_vars("typePrecip"))
    one = xr.open_dataset(GRANULES["1C-GMI"], engine="xgpm", group="S1", drop_variables="Tc")
    assert "Tc" not in one and "incidenceAngle" in one


def test_decode_cf_false_reads_stored_values():
    path = GRANULES["1C-GMI"]
    raw = xr.open_dataset(path, engine="xgpm", group="S1", decode_cf=False)
    _same(raw, xgpm.open_granule(path, scan_mode="S1", decode=False))
    assert float(raw["Tc"].min()) == pytest.approx(-9999.9)


def test_a_bad_group_raises_xgpms_error():
    with pytest.raises(MissingVariableError, match="no scan mode 'FS'.*available: S1, S2"):
        xr.open_dataset(GRANULES["1C-GMI"], engine="xgpm", group="FS")
    with pytest.raises(InvalidArgumentError, match="open_datatree"):
        xr.open_dataset(GRANULES["1C-GMI"], engine="xgpm", group="all")


def test_open_datatree_is_open_granule_all():
    path = GRANULES["1C-GMI"]
    tree = xr.open_datatree(path, engine="xgpm", drop_variables="sunGlintAngle")
    reader = xgpm.open_granule(path, scan_mode="all")
    assert set(tree.children) == {"S1", "S2"}
    for mode in ("S1", "S2"):
        assert "sunGlintAngle" not in tree[mode].ds
        _same(tree[mode].to_dataset(), reader[mode].to_dataset().drop_vars("sunGlintAngle"))


def _copy_as_granule(path: Path, folder: Path, granule: int) -> Path:
    """A copy of an orbit granule under another granule number (name and FileHeader)."""
    old = re.search(r"\.(\d{6})\.V\d\d[A-Z]\.HDF5$", path.name)
    assert old is not None
    name = path.name.replace(f".{old.group(1)}.", f".{granule:06d}.")
    copy = folder / name
    shutil.copy(path, copy)
    with h5py.File(copy, "r+") as h5:
        header = h5.attrs["FileHeader"]
        text = header.decode() if isinstance(header, bytes) else str(header)
        text = re.sub(r"GranuleNumber=\d+;", f"GranuleNumber={granule:06d};", text)
        text = text.replace(path.name, name)
        h5.attrs["FileHeader"] = np.bytes_(text)
    return copy


def _imerg_half_hour_later(path: Path, folder: Path) -> Path:
    """A copy of an IMERG half hour moved 30 minutes on (name, FileHeader, time, bounds)."""
    name = path.name.replace("S000000-E002959.0000", "S003000-E005959.0030")
    assert name != path.name
    copy = folder / name
    shutil.copy(path, copy)
    with h5py.File(copy, "r+") as h5:
        header = h5.attrs["FileHeader"]
        text = header.decode() if isinstance(header, bytes) else str(header)
        text = text.replace(path.name, name)
        for key, old, new in (("Start", "00:00:00", "00:30:00"), ("Stop", "00:29:59", "00:59:59")):
            text = text.replace(
                f"{key}GranuleDateTime=2000-06-01T{old}", f"{key}GranuleDateTime=2000-06-01T{new}"
            )
        h5.attrs["FileHeader"] = np.bytes_(text)
        h5["Grid/time"][...] = h5["Grid/time"][...] + 1800
        h5["Grid/time_bnds"][...] = h5["Grid/time_bnds"][...] + 1800
    return copy


#: open_mfdataset's arguments that concatenate swaths as open_granules does
ALONG_TRACK = {
    "combine": "nested",
    "concat_dim": "along_track",
    "data_vars": "minimal",
    "coords": "minimal",
    "compat": "override",
    "combine_attrs": "drop_conflicts",
}


def test_open_mfdataset_is_open_granules_for_orbits(tmp_path):
    first = _copy_as_granule(GRANULES["1C-GMI"], tmp_path, 80)
    second = _copy_as_granule(GRANULES["1C-GMI"], tmp_path, 81)
    paths = [first, second]
    engine = xr.open_mfdataset(paths, engine="xgpm", group="S1", **ALONG_TRACK)
    reader = xgpm.open_granules(paths, scan_mode="S1")
    assert (
        engine.sizes["along_track"]
        == 2 * xgpm.open_granule(first, scan_mode="S1").sizes["along_track"]
    )
    assert engine["Tc"].chunks is not None  # open_mfdataset: dask
    _same(engine, reader)


def test_open_mfdataset_is_open_granules_for_imerg(tmp_path):
    first = tmp_path / GRANULES["IMERG-FR"].name
    shutil.copy(GRANULES["IMERG-FR"], first)
    second = _imerg_half_hour_later(GRANULES["IMERG-FR"], tmp_path)
    paths = [second, first]  # by_coords sorts them by time, as open_granules does
    engine = xr.open_mfdataset(
        paths, engine="xgpm", combine="by_coords", combine_attrs="drop_conflicts"
    )
    reader = xgpm.open_granules(paths)
    assert engine.sizes["time"] == 2
    assert (np.diff(engine["time"].values) == np.timedelta64(30, "m")).all()
    _same(engine, reader)


def test_guess_can_open():
    backend = XGPMBackendEntrypoint()
    assert backend.guess_can_open(GRANULES["1C-GMI"])
    assert backend.guess_can_open(str(GRANULES["1B-Ku"]))  # a JAXA name
    assert backend.guess_can_open(
        "s3://bucket/1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5"
    )
    assert not backend.guess_can_open("weather.nc")
    assert not backend.guess_can_open(Path(__file__))


def test_guess_can_open_reads_the_header_of_a_renamed_granule(tmp_path):
    backend = XGPMBackendEntrypoint()
    renamed = tmp_path / "gmi.h5"
    shutil.copy(GRANULES["1C-GMI"], renamed)
    assert backend.guess_can_open(renamed)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as h5:
        h5["x"] = np.arange(3)
    assert not backend.guess_can_open(plain)
