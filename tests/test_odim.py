"""ODIM_H5 composites: the ODIM 2.x spec (synthetic variants) and real OPERA files.

The synthetic files are built here with h5py from the ODIM_H5 2.x specification: attributes at
the root, dataset or data level, several datasets and quantities, quality groups, gain/offset,
nodata/undetect. The real files (EUMETNET OPERA, no stated licence: never copied into the repo)
are read from ``$XGPM_REAL_DATA`` (``.ci/run`` sets it when ``../shared/data/real`` exists) and
compared with their spec decoding by h5py and with pysteps's importer.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from xgpm import errors, reference
from xgpm.io import odim

OPERA_PROJDEF = (
    "+proj=laea +lat_0=55.0 +lon_0=10.0 +x_0=1950000.0 +y_0=-2100000.0 +units=m +ellps=WGS84"
)
NY, NX, SCALE = 4, 5, 2000.0
X_UL, Y_UL = 1_374_000.0, -3_014_000.0  # centre of France on OPERA's grid


# --------------------------------------------------------------------------------------------
# building ODIM_H5 files from the specification
# --------------------------------------------------------------------------------------------


def _attr(value: Any) -> Any:
    return np.bytes_(value) if isinstance(value, str) else value


def _write_tree(group: h5py.Group, tree: dict[str, Any]) -> None:
    """``what``/``where``/``how`` map to attributes, arrays to datasets, dicts to groups."""
    for key, value in tree.items():
        if key == "attrs":
            for name, attr in value.items():
                group.attrs[name] = _attr(attr)
        elif key in ("what", "where", "how"):
            sub = group.create_group(key)
            for name, attr in value.items():
                sub.attrs[name] = _attr(attr)
        elif isinstance(value, np.ndarray):
            group.create_dataset(key, data=value)
        else:
            _write_tree(group.create_group(key), value)


def _odim(path: Path, tree: dict[str, Any]) -> Path:
    with h5py.File(path, "w") as f:
        _write_tree(f, tree)
    return path


def _corners(x_ul: float = X_UL, y_ul: float = Y_UL, projdef: str = OPERA_PROJDEF) -> dict:
    from pyproj import Transformer

    tr = Transformer.from_crs(projdef, "EPSG:4326", always_xy=True)
    x1, y1 = x_ul + NX * SCALE, y_ul - NY * SCALE
    out = {}
    for key, (x, y) in {
        "UL": (x_ul, y_ul),
        "UR": (x1, y_ul),
        "LL": (x_ul, y1),
        "LR": (x1, y1),
    }.items():
        out[f"{key}_lon"], out[f"{key}_lat"] = (float(v) for v in tr.transform(x, y))
    return out


def _where(**changes: Any) -> dict[str, Any]:
    return {
        "projdef": OPERA_PROJDEF,
        "xsize": np.int64(NX),
        "ysize": np.int64(NY),
        "xscale": SCALE,
        "yscale": SCALE,
        **_corners(),
        **changes,
    }


def _times(start: str, end: str) -> dict[str, str]:
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    return {
        "startdate": f"{t0:%Y%m%d}",
        "starttime": f"{t0:%H%M%S}",
        "enddate": f"{t1:%Y%m%d}",
        "endtime": f"{t1:%H%M%S}",
    }


# RATE in uint16, gain 0.01 mm/h: row 0 not scanned, (1, 0) no echo, the rest rain
RATE_RAW = np.arange(NY * NX, dtype="uint16").reshape(NY, NX) * 37 + 1
RATE_RAW[0] = 65535
RATE_RAW[1, 0] = 0
RATE_SCALING = {"gain": 0.01, "offset": 0.0, "nodata": 65535.0, "undetect": 0.0}
# DBZH in uint8, gain 0.5 offset -32 dBZ: (0, 0) not scanned, row 3 below detection
DBZH_RAW = np.full((NY, NX), 100, dtype="uint8")
DBZH_RAW[1] = [60, 80, 110, 140, 170]
DBZH_RAW[0, 0] = 255
DBZH_RAW[3] = 0
DBZH_SCALING = {"gain": 0.5, "offset": -32.0, "nodata": 255.0, "undetect": 0.0}


def _spec_decode(raw: np.ndarray, scaling: dict[str, float], rain: bool) -> np.ndarray:
    """The ODIM decoding, written out: offset + gain * raw, nodata NaN, undetect 0 or NaN."""
    out = scaling["offset"] + scaling["gain"] * raw.astype("float64")
    out[raw == scaling["undetect"]] = 0.0 if rain else np.nan
    out[raw == scaling["nodata"]] = np.nan
    return out.astype("float32")


RATE_VALUES = _spec_decode(RATE_RAW, RATE_SCALING, rain=True)
DBZH_VALUES = _spec_decode(DBZH_RAW, DBZH_SCALING, rain=False)
ROOT_WHAT = {"object": "COMP", "version": "H5rad 2.3", "date": "20210601", "time": "000500"}
CONVENTIONS = {"Conventions": "ODIM_H5/V2_3"}


def _layout(kind: str) -> dict[str, Any]:
    """One RATE field 00:00-00:05 with its attributes placed at different ODIM levels."""
    times = _times("2021-06-01T00:00", "2021-06-01T00:05")
    quantity = {"quantity": "RATE", **RATE_SCALING}
    if kind == "data":  # OPERA: grid at the root, scaling at the data level
        return {
            "attrs": CONVENTIONS,
            "what": ROOT_WHAT,
            "where": _where(),
            "dataset1": {
                "what": {"product": "COMP", **times},
                "data1": {"data": RATE_RAW, "what": quantity},
            },
        }
    if kind == "dataset":  # grid and scaling at the dataset level only
        return {
            "attrs": CONVENTIONS,
            "what": ROOT_WHAT,
            "dataset1": {
                "what": {"product": "COMP", **times, **quantity},
                "where": _where(),
                "data1": {"data": RATE_RAW},
            },
        }
    if kind == "root":  # everything at the root, even the period
        return {
            "attrs": CONVENTIONS,
            "what": {**ROOT_WHAT, **times, **quantity},
            "where": _where(),
            "dataset1": {"data1": {"data": RATE_RAW}},
        }
    if kind == "override":  # wrong values higher up, the lowest level wins
        wrong = {"quantity": "DBZH", "gain": 2.0, "offset": 5.0, "nodata": 1.0, "undetect": 2.0}
        return {
            "attrs": CONVENTIONS,
            "what": {**ROOT_WHAT, **_times("2020-01-01T00:00", "2020-01-01T01:00"), **wrong},
            "where": _where(xscale=999.0, projdef="+proj=nonsense"),
            "dataset1": {
                "what": {**times, "gain": 3.0},
                "where": _where(),
                "data1": {"data": RATE_RAW, "what": quantity},
            },
        }
    raise AssertionError(kind)


# --------------------------------------------------------------------------------------------
# the ODIM 2.x specification
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["data", "dataset", "root", "override"])
def test_attributes_at_every_level(tmp_path, kind):
    ds = odim.open_radar_composite(_odim(tmp_path / f"{kind}.h5", _layout(kind)))
    np.testing.assert_array_equal(ds["RATE"].values[0], RATE_VALUES)
    assert ds["RATE"].dtype == np.float32 and ds["RATE"].attrs["units"] == "mm/h"
    assert ds["undetect"].values[0, 1, 0] and ds["undetect"].values.sum() == 1
    assert pd.Timestamp(ds.time.values[0]) == pd.Timestamp("2021-06-01T00:00")
    assert pd.Timestamp(ds.time_end.values[0]) == pd.Timestamp("2021-06-01T00:05")
    np.testing.assert_allclose(ds.x.values, X_UL + SCALE * (np.arange(NX) + 0.5), atol=1e-3)
    np.testing.assert_allclose(ds.y.values, Y_UL - SCALE * (np.arange(NY) + 0.5), atol=1e-3)
    assert ds.attrs["projdef"] == OPERA_PROJDEF and ds.attrs["quantity"] == "RATE"
    assert ds.lat.shape == (NY, NX) and 40 < float(ds.lat.mean()) < 50


def test_several_datasets_become_time_steps_in_time_order(tmp_path):
    tree: dict[str, Any] = {"attrs": CONVENTIONS, "what": ROOT_WHAT, "where": _where()}
    starts = ["00:10", "00:00", "00:05"]  # out of order on purpose
    for i, start in enumerate(starts, 1):
        t0 = pd.Timestamp(f"2021-06-01T{start}")
        tree[f"dataset{i}"] = {
            "what": _times(str(t0), str(t0 + pd.Timedelta("5min"))),
            "data1": {"data": RATE_RAW + i, "what": {"quantity": "RATE", **RATE_SCALING}},
            "data2": {"data": DBZH_RAW, "what": {"quantity": "DBZH", **DBZH_SCALING}},
        }
    path = _odim(tmp_path / "three.h5", tree)
    ds = odim.open_radar_composite(path, quantity="RATE")
    assert list(pd.DatetimeIndex(ds.time.values).strftime("%H:%M")) == ["00:00", "00:05", "00:10"]
    np.testing.assert_allclose(ds["RATE"].values[0, 2], (RATE_RAW[2] + 2) * 0.01, rtol=1e-6)
    assert (ds.time_end - ds.time == pd.Timedelta("5min")).all()
    rate = reference.radar_rate(ds)  # what the reference path needs
    assert rate.attrs["units"] == "mm/h" and rate.sizes["time"] == 3


def test_quantity_is_chosen_and_listed(tmp_path):
    tree = _layout("data")
    tree["dataset1"]["data2"] = {"data": DBZH_RAW, "what": {"quantity": "DBZH", **DBZH_SCALING}}
    tree["dataset1"]["data3"] = {
        "data": RATE_RAW,
        "what": {"quantity": "ACRR", **RATE_SCALING},
    }
    path = _odim(tmp_path / "multi.h5", tree)
    with pytest.raises(
        errors.RadarFileError, match=r"several quantities \['ACRR', 'DBZH', 'RATE'\]"
    ):
        odim.open_radar_composite(path)
    assert odim.open_radar_composite(path, quantity="acrr")["ACRR"].attrs["units"] == "mm"
    with pytest.raises(errors.RadarFileError, match="holds no TH") as info:
        odim.open_radar_composite(path, quantity="TH")
    assert str(path) in str(info.value) and "/dataset1/data2=DBZH" in str(info.value)


def test_dbzh_undetect_is_nan_and_flagged_not_zero_dbz(tmp_path):
    tree = _layout("data")
    tree["dataset1"]["data1"] = {"data": DBZH_RAW, "what": {"quantity": "DBZH", **DBZH_SCALING}}
    ds = odim.open_radar_composite(_odim(tmp_path / "dbzh.h5", tree))
    dbzh = ds["DBZH"].values[0]
    np.testing.assert_array_equal(dbzh, DBZH_VALUES)
    assert dbzh[1, 2] == 23.0 and ds["DBZH"].attrs["units"] == "dBZ"
    assert np.isnan(dbzh[3]).all() and ds["undetect"].values[0, 3].all()  # below detection
    assert np.isnan(dbzh[0, 0]) and not ds["undetect"].values[0, 0, 0]  # not scanned
    with pytest.raises(errors.InvalidArgumentError, match="neither RATE nor ACRR|reflectivity"):
        reference.radar_rate(ds)  # reflectivity is never scored as rain


def test_dbz_to_rainrate_with_a_stated_zr_relation(tmp_path):
    tree = _layout("data")
    tree["dataset1"]["data1"] = {
        "data": DBZH_RAW,
        "what": {"quantity": "DBZH", **DBZH_SCALING},
        "how": {"zr_a": 300.0, "zr_b": 1.4},
    }
    path = _odim(tmp_path / "dbzh.h5", tree)
    dbzh = odim.open_radar_composite(path)
    rain = odim.dbz_to_rainrate(dbzh, a=200, b=1.6)
    expected = (10 ** (DBZH_VALUES.astype("float64") / 10) / 200) ** (1 / 1.6)
    expected[3] = 0.0  # undetect: no rain
    np.testing.assert_allclose(rain["RATE"].values[0], expected, rtol=1e-6)
    assert np.isnan(rain["RATE"].values[0, 0, 0])  # not scanned stays NaN
    assert rain["RATE"].attrs["zr_relation"] == "Z = 200 R^1.6" and "DBZH" not in rain
    opened = odim.open_radar_composite(path, to_rain="marshall-palmer")
    np.testing.assert_array_equal(opened["RATE"].values, rain["RATE"].values)
    own = odim.open_radar_composite(path, to_rain="file")
    assert own["RATE"].attrs["zr_a"] == 300.0 and own["RATE"].attrs["zr_b"] == 1.4
    assert reference.radar_rate(opened).attrs["units"] == "mm/h"
    with pytest.raises(errors.InvalidArgumentError, match="unknown Z-R relation"):
        odim.open_radar_composite(path, to_rain="laws-parsons")
    rate_path = _odim(tmp_path / "rate.h5", _layout("data"))
    with pytest.raises(errors.InvalidArgumentError, match="holds RATE"):
        odim.open_radar_composite(rate_path, to_rain="marshall-palmer")
    with pytest.raises(errors.InvalidArgumentError, match="not dBZ"):
        odim.dbz_to_rainrate(odim.open_radar_composite(rate_path), variable="RATE")


def test_quality_groups_at_data_and_dataset_level(tmp_path):
    tree = _layout("data")
    qind = np.arange(NY * NX, dtype="uint8").reshape(NY, NX) * 10
    tree["dataset1"]["data1"]["quality1"] = {
        "data": qind,
        "what": {"quantity": "QIND", "gain": 0.004, "offset": 0.0},
    }
    tree["dataset1"]["data1"]["quality2"] = {
        "data": qind,
        "what": {"quantity": "DIST", "gain": 1000.0, "offset": 0.0, "nodata": 0.0},
    }
    tree["dataset1"]["quality1"] = {  # for every data of the dataset; no quantity stated
        "data": qind,
        "what": {"gain": 0.01, "offset": 0.0},
        "how": {"task": "se.smhi.detector.beamblockage"},
    }
    ds = odim.open_radar_composite(_odim(tmp_path / "q.h5", tree))
    np.testing.assert_allclose(ds["quality"].values[0], qind * 0.004, rtol=1e-6)
    assert ds["quality"].attrs["odim_quantity"] == "QIND"
    dist = ds["quality_DIST"].values[0]
    assert np.isnan(dist[0, 0]) and dist[0, 1] == 10_000.0  # its own nodata
    block = ds["quality_quality1"]
    np.testing.assert_allclose(block.values[0], qind * 0.01, rtol=1e-6)
    assert block.attrs["odim_task"] == "se.smhi.detector.beamblockage"


def test_float_data_special_values_in_stored_precision(tmp_path):
    raw = RATE_VALUES.astype("float32")
    raw[np.isnan(raw)] = np.float32(-9999.9)
    raw[1, 0] = np.float32(-8888.8)
    tree = _layout("data")
    tree["dataset1"]["data1"] = {
        "data": raw,  # float32 data, special values stated as float64 attributes
        "what": {
            "quantity": "RATE",
            "gain": 1.0,
            "offset": 0.0,
            "nodata": -9999.9,
            "undetect": -8888.8,
        },
    }
    ds = odim.open_radar_composite(_odim(tmp_path / "f.h5", tree))
    np.testing.assert_array_equal(ds["RATE"].values[0], RATE_VALUES)


def test_numbers_as_strings_and_nominal_time_only(tmp_path):
    tree = {
        "attrs": CONVENTIONS,
        "what": ROOT_WHAT,  # date/time only: an instant
        "where": {k: str(v) if k != "projdef" else v for k, v in _where().items()},
        "dataset1": {
            "data1": {
                "data": RATE_RAW,
                "what": {"quantity": "RATE", **{k: str(v) for k, v in RATE_SCALING.items()}},
            }
        },
    }
    ds = odim.open_radar_composite(_odim(tmp_path / "s.h5", tree))
    np.testing.assert_array_equal(ds["RATE"].values[0], RATE_VALUES)
    assert ds.time.values[0] == ds.time_end.values[0] == np.datetime64("2021-06-01T00:05")


def test_xgpm_writer_round_trip_with_quality(tmp_path):
    grid = odim.RadarGrid(OPERA_PROJDEF, X_UL, Y_UL, SCALE, SCALE, NX, NY)
    field = np.where(np.isnan(RATE_VALUES), np.nan, RATE_VALUES)
    quality = np.linspace(0, 1, NY * NX).reshape(NY, NX)
    path = odim.write_radar_composite(
        tmp_path / "w.h5",
        field,
        grid,
        "2021-06-01",
        "2021-06-01T00:05",
        quantity="RATE",
        quality=quality,
    )
    ds = odim.open_radar_composite(path)
    np.testing.assert_allclose(ds["RATE"].values[0], field, rtol=1e-6)
    np.testing.assert_allclose(ds["quality"].values[0], np.round(quality * 100) / 100, atol=1e-6)


# --------------------------------------------------------------------------------------------
# bad input: one xgpm error naming the file and what to do
# --------------------------------------------------------------------------------------------


def test_missing_file_folder_and_not_hdf5(tmp_path):
    with pytest.raises(errors.StorageError, match="no such file") as info:
        odim.open_radar_composite(tmp_path / "nope.h5")
    assert "nope.h5" in str(info.value)
    with pytest.raises(errors.StorageError, match="is a folder"):
        odim.open_radar_composite(tmp_path)
    (tmp_path / "page.h5").write_text("<html>404</html>")
    with pytest.raises(errors.NotHDF5Error, match="page.h5 is not an HDF5 file"):
        odim.open_radar_composite(tmp_path / "page.h5")
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(errors.NotHDF5Error, match="empty"):
        odim.open_radar_composite(tmp_path / "empty.h5")
    with pytest.raises(errors.InvalidArgumentError, match="at least one path"):
        odim.open_radar_composite([])


def test_hdf5_that_is_not_an_odim_composite(tmp_path):
    path = _odim(tmp_path / "other.h5", {"Grid": {"precipitation": np.zeros((2, 2))}})
    with pytest.raises(errors.RadarFileError, match=r"not an ODIM_H5 composite.*/Grid/") as info:
        odim.open_radar_composite(path)
    assert isinstance(info.value, errors.GranuleError) and str(path) in str(info.value)
    pvol = _layout("data")
    pvol["what"] = {**ROOT_WHAT, "object": "PVOL"}
    with pytest.raises(errors.RadarFileError, match="PVOL.*xradar"):
        odim.open_radar_composite(_odim(tmp_path / "pvol.h5", pvol))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"where": {"xsize": 5}}, r"no where/projdef, where/xscale, where/yscale"),
        ({"quantity": None}, "states no what/quantity"),
        ({"times": None}, "no time"),
        ({"where": _where(xsize=np.int64(7))}, "shape"),
        ({"where": {k: v for k, v in _where().items() if "_l" not in k}}, "no corner"),
    ],
)
def test_missing_or_inconsistent_what_where(tmp_path, change, match):
    tree = _layout("data")
    if "where" in change:
        tree["where"] = change["where"]
    if "quantity" in change:
        tree["dataset1"]["data1"]["what"] = RATE_SCALING
    if "times" in change:
        tree["what"] = {"object": "COMP"}
        tree["dataset1"]["what"] = {"product": "COMP"}
    path = _odim(tmp_path / "bad.h5", tree)
    with pytest.raises(errors.RadarFileError, match=match) as info:
        odim.open_radar_composite(path)
    assert str(path) in str(info.value)


def test_bad_projection_names_the_file(tmp_path):
    tree = _layout("data")
    tree["where"] = _where(projdef="+proj=laea +lat_0=abc +nonsense")
    path = _odim(tmp_path / "proj.h5", tree)
    with pytest.raises(errors.ProjectionError, match="not a projection PROJ understands") as info:
        odim.open_radar_composite(path)
    assert str(path) in str(info.value) and isinstance(info.value, ValueError)


def test_mixed_grids_and_repeated_times_in_a_file_list(tmp_path):
    a = _odim(tmp_path / "a.h5", _layout("data"))
    b_tree = _layout("data")
    b_tree["where"] = _where(**_corners(x_ul=X_UL + 10 * SCALE))
    b_tree["dataset1"]["what"] = {
        "product": "COMP",
        **_times("2021-06-01T00:05", "2021-06-01T00:10"),
    }
    b = _odim(tmp_path / "b.h5", b_tree)
    with pytest.raises(errors.InvalidArgumentError, match="another grid") as info:
        odim.open_radar_composite([a, b])
    assert "a.h5" in str(info.value) and "b.h5" in str(info.value)
    with pytest.raises(errors.InvalidArgumentError, match="pass each time once"):
        odim.open_radar_composite([a, a])


# --------------------------------------------------------------------------------------------
# real files (OPERA, read from $XGPM_REAL_DATA, never copied into the repository)
# --------------------------------------------------------------------------------------------

REAL = Path(os.environ["XGPM_REAL_DATA"]) if os.environ.get("XGPM_REAL_DATA") else None
needs_real = pytest.mark.skipif(
    REAL is None or not (REAL / "opera_composites").is_dir(),
    reason="XGPM_REAL_DATA is unset (or has no opera_composites/): .ci/run sets it when "
    "../shared/data/real exists",
)
OPERA = {
    "T_PAAH22_C_EUOC_20241126010000.hdf": ("RATE", "2024-11-26T01:00", "2024-11-26T01:00"),
    "T_PAAH22_C_EUOC_20241126011500.hdf": ("RATE", "2024-11-26T01:15", "2024-11-26T01:15"),
    "T_PASH22_C_EUOC_20241126010000.hdf": ("ACRR", "2024-11-26T00:00", "2024-11-26T01:00"),
}


@needs_real
@pytest.mark.parametrize("name", sorted(OPERA))
def test_real_opera_equals_spec_decoding_and_pysteps(name):
    path = REAL / "opera_composites" / name
    quantity, start, end = OPERA[name]
    ds = odim.open_radar_composite(path)
    assert ds.attrs["quantity"] == quantity and ds[quantity].shape == (1, 2200, 1900)
    assert ds.time.values[0] == np.datetime64(start)
    assert ds.time_end.values[0] == np.datetime64(end)
    ours = ds[quantity].values[0]
    with h5py.File(path, "r") as f:  # the spec decoding, by hand
        raw = f["dataset1/data1/data"][...]
        what = dict(f["dataset1/data1/what"].attrs)
        spec = what["offset"] + what["gain"] * raw
        spec[raw == what["undetect"]] = 0.0
        spec[raw == what["nodata"]] = np.nan
        quality = f["dataset1/data1/quality1/data"][...]
    np.testing.assert_array_equal(ours, spec.astype("float32"))
    np.testing.assert_array_equal(ds["undetect"].values[0], raw == what["undetect"])
    np.testing.assert_array_equal(ds["quality"].values[0], quality.astype("float32"))
    assert 0 < np.nanmax(ours) < 300 and np.isnan(ours).any() and (ours == 0).any()
    if importlib.util.find_spec("pysteps") is None:
        pytest.skip("pysteps is not installed (pip install -e '.[test]')")
    from pysteps.io.importers import import_opera_hdf5

    theirs, theirs_quality, meta = import_opera_hdf5(str(path), qty=quantity)
    np.testing.assert_array_equal(ours, theirs.astype("float32"))  # same values, same NaN
    given = np.isfinite(theirs_quality)  # pysteps: NaN where quality is 0 (its undetect=0)
    np.testing.assert_array_equal(
        ds["quality"].values[0][given], theirs_quality[given].astype("float32")
    )
    assert (ds["quality"].values[0][~given] == 0).all()
    x_left, y_top = ds.x.values[0] - 1000.0, ds.y.values[0] + 1000.0
    assert (x_left, y_top) == (meta["x1"], meta["y2"])
    np.testing.assert_allclose(
        [ds.x.values[-1] + 1000, ds.y.values[-1] - 1000], [meta["x2"], meta["y1"]], atol=0.01
    )
    assert ds.attrs["projdef"] == meta["projection"] and meta["unit"] == ds[quantity].attrs["units"]


@needs_real
def test_real_opera_rates_stack_and_accumulation_is_refused_as_a_half_hour_step():
    folder = REAL / "opera_composites"
    rate = odim.open_radar_composite(sorted(folder.glob("T_PAAH22_*.hdf")))
    assert rate.sizes["time"] == 2 and rate["RATE"].dtype == np.float32
    assert 40 < float(rate.lat.sel(x=2.0e6, y=-2.1e6, method="nearest")) < 70
    with pytest.raises(errors.RadarFileError, match=r"holds no RATE: it has \['ACRR'\]"):
        odim.open_radar_composite(sorted(folder.glob("*.hdf")))  # RATE and ACRR files mixed


@needs_real
def test_real_polar_volume_is_refused_with_a_pointer_to_xradar():
    path = REAL / "dpr_ground_radar_brisbane" / "IDR66_20141206_094829.vol.h5"
    if not path.exists():
        pytest.skip(f"{path} is not there")
    with pytest.raises(errors.RadarFileError, match="PVOL.*xradar"):
        odim.open_radar_composite(path)


def test_check_radar_files_command(tmp_path):
    """benchmarks/check_radar_files.py, the command that writes docs/io.md's table."""
    spec = importlib.util.spec_from_file_location(
        "check_radar_files",
        Path(__file__).resolve().parents[1] / "benchmarks" / "check_radar_files.py",
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _odim(tmp_path / "rate.h5", _layout("data"))
    (tmp_path / "junk.hdf").write_text("not hdf5")
    rows = module.check([tmp_path], pysteps=False)
    assert len(rows) == 4
    assert "`junk.hdf` | not an HDF5 file | no: `NotHDF5Error`" in rows[2]
    assert "yes: `RATE` (mm/h), 2021-06-01T00:00 to 2021-06-01T00:05" in rows[3]
