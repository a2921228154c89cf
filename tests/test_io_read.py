"""Reading real PPS granules: values against h5py, laziness, sources, GPM-API parity."""

from __future__ import annotations

import io
import shutil

import dask
import fsspec
import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xgpm

from .conftest import GRANULES, L1C


def raw(path, dataset: str) -> np.ndarray:
    """A dataset as h5py reads it, fill values replaced by NaN by hand."""
    with h5py.File(path, "r") as h5:
        dset = h5[dataset]
        values = dset[()].astype("float64")
        fill = dset.attrs.get("_FillValue")
        if fill is not None:
            values[dset[()] == np.asarray(fill).reshape(-1)[0]] = np.nan
        if dataset.rsplit("/", 1)[-1] in ("Latitude", "Longitude"):
            # PPS geolocation fill codes (-9999, -9999.9) whatever _FillValue says (GPROF of
            # some sensors stores -9999 under a -9999.9 _FillValue): missing, as in GPM-API
            values[values <= -9999] = np.nan
    return values


def raw_times(path, group: str) -> np.ndarray:
    with h5py.File(path, "r") as h5:
        st = h5[group]["ScanTime"]
        fields = {k: st[k][()].astype("int64") for k in st}
    out = []
    for i in range(len(fields["Year"])):
        if fields["Year"][i] < 0:
            out.append(np.datetime64("NaT", "ns"))
            continue
        sod = fields["SecondOfDay"][i]
        whole = fields["Hour"][i] * 3600 + fields["Minute"][i] * 60 + fields["Second"][i]
        # level-2 products keep the milliseconds in SecondOfDay only
        ms = fields["MilliSecond"][i] or int(round((sod - whole) * 1000))
        stamp = pd.Timestamp(
            year=fields["Year"][i],
            month=fields["Month"][i],
            day=fields["DayOfMonth"][i],
            hour=fields["Hour"][i],
            minute=fields["Minute"][i],
            second=fields["Second"][i],
        ) + pd.Timedelta(milliseconds=ms)
        out.append(np.datetime64(stamp.to_datetime64(), "ns"))
    return np.array(out)


@pytest.mark.parametrize("product", L1C)
def test_1c_every_scan_mode_matches_h5py(product):
    path = GRANULES[product]
    tree = xgpm.open_granule(path, scan_mode="all")
    sensor = xgpm.sensors.from_product(product.removesuffix("-R"))
    assert list(tree.children) == list(sensor.scan_modes)
    for mode, node in tree.children.items():
        ds = node.to_dataset()
        assert ds["Tc"].dims == ("cross_track", "along_track", "pmw_frequency")
        assert list(ds["pmw_frequency"].values) == list(sensor.scan_modes[mode].labels)
        # PPS stores (nscan, npixel, nchannel); the data model is (cross_track, along_track, ...)
        np.testing.assert_array_equal(ds["Tc"].values, raw(path, f"{mode}/Tc").transpose(1, 0, 2))
        np.testing.assert_array_equal(ds["lat"].values, raw(path, f"{mode}/Latitude").T)
        np.testing.assert_array_equal(ds["lon"].values, raw(path, f"{mode}/Longitude").T)
        np.testing.assert_array_equal(ds["Quality"].values, raw(path, f"{mode}/Quality").T)
        np.testing.assert_array_equal(ds["time"].values, raw_times(path, mode))
        assert ds["time"].dtype == np.dtype("datetime64[ns]")
        assert ds.attrs["gpm_api_product"] == product
        assert ds.attrs["ScanMode"] == mode
        # incidence angles are mapped onto channels through incidenceAngleIndex
        with h5py.File(path) as h5:
            index = h5[f"{mode}/incidenceAngleIndex"][()]
        columns = index[(index > 0).all(axis=1)][0] - 1 if (index > 0).all(axis=1).any() else 0
        expected = raw(path, f"{mode}/incidenceAngle")[..., np.atleast_1d(columns)]
        np.testing.assert_array_equal(
            ds["incidenceAngle"].values,
            np.broadcast_to(
                expected, ds["Tc"].shape[1::-1] + (ds.sizes["pmw_frequency"],)
            ).transpose(1, 0, 2),
        )


def test_fill_values_become_nan_and_times_to_the_millisecond(gmi_path):
    ds = xgpm.open_granule(gmi_path, scan_mode="S1")
    with h5py.File(gmi_path) as h5:
        stored = h5["S1/Tc"][()]
        ms = h5["S1/ScanTime/MilliSecond"][()]
    assert (stored == np.float32(-9999.9)).any(), "the cut granule starts with fill values"
    assert np.isnan(ds["Tc"].values).sum() == (stored == np.float32(-9999.9)).sum()
    assert not (ds["Tc"].values == np.float32(-9999.9)).any()
    millis = (ds["time"].values.astype("datetime64[ms]").astype("int64")) % 1000
    np.testing.assert_array_equal(millis, ms)


def test_level2_milliseconds_come_from_second_of_day():
    path = GRANULES["2A-GMI"]
    ds = xgpm.open_granule(path)
    with h5py.File(path) as h5:
        assert (h5["S1/ScanTime/MilliSecond"][()] == 0).all()
        sod = h5["S1/ScanTime/SecondOfDay"][()]
    millis = ds["time"].values.astype("datetime64[ms]").astype("int64") % 1000
    np.testing.assert_array_equal(millis, np.rint((sod % 1) * 1000).astype(int))


def test_dpr_values_dims_and_radar_frequency():
    path = GRANULES["2A-DPR"]
    ds = xgpm.open_granule(path, variables=["precipRateNearSurface", "zFactorFinal", "typePrecip"])
    assert ds.attrs["ScanMode"] == "FS"
    np.testing.assert_array_equal(
        ds["precipRateNearSurface"].values, raw(path, "FS/SLV/precipRateNearSurface").T
    )
    assert ds["zFactorFinal"].dims == ("cross_track", "along_track", "range", "radar_frequency")
    assert list(ds["radar_frequency"].values) == ["Ku", "Ka"]
    np.testing.assert_array_equal(
        ds["zFactorFinal"].values, raw(path, "FS/SLV/zFactorFinal").transpose(1, 0, 2, 3)
    )
    np.testing.assert_array_equal(ds["typePrecip"].values, raw(path, "FS/CSF/typePrecip").T)
    hs = xgpm.open_granule(path, scan_mode="HS", variables="precipRateNearSurface")
    assert hs.sizes["cross_track"] == 10  # the cut keeps 10 of the 24 HS rays


def test_corra_and_gprof():
    corra = xgpm.open_granule(GRANULES["2B-GPM-CORRA"], variables="nearSurfPrecipTotRate")
    assert corra.attrs["ScanMode"] == "KuKaGMI"
    np.testing.assert_array_equal(
        corra["nearSurfPrecipTotRate"].values,
        raw(GRANULES["2B-GPM-CORRA"], "KuKaGMI/nearSurfPrecipTotRate").T,
    )
    gprof = xgpm.open_granule(GRANULES["2A-GMI"], variables="surfacePrecipitation")
    assert gprof.attrs["gpm_api_product"] == "2A-GMI"
    np.testing.assert_array_equal(
        gprof["surfacePrecipitation"].values, raw(GRANULES["2A-GMI"], "S1/surfacePrecipitation").T
    )
    clim = xgpm.open_granule(GRANULES["2A-SSMIS-F17-CLIM"])
    assert clim.attrs["gpm_api_product"] == "2A-SSMIS-F17-CLIM"


def test_imerg_grid_is_time_lat_lon():
    path = GRANULES["IMERG-FR"]
    ds = xgpm.open_granule(path)
    assert ds["precipitation"].dims == ("time", "lat", "lon")
    # stored (time, lon, lat)
    np.testing.assert_array_equal(
        ds["precipitation"].values, raw(path, "Grid/precipitation").transpose(0, 2, 1)
    )
    np.testing.assert_array_equal(
        ds["MWprecipSource"].values,
        raw(path, "Grid/Intermediate/MWprecipSource").transpose(0, 2, 1),
    )
    assert ds["time"].values[0] == np.datetime64("2000-06-01T00:00:00")
    np.testing.assert_allclose(ds["lat"].values[:2], [-89.95, -89.85], atol=1e-5)
    assert ds.attrs["gpm_api_product"] == "IMERG-FR"


def test_imerg_v06_names_are_renamed(tmp_path):
    """A V06 file keeps everything under /Grid with older names; xgpm gives V07 names."""
    src = GRANULES["IMERG-FR"]
    path = tmp_path / src.name.replace("V07A", "V06B")
    shutil.copy(src, path)
    with h5py.File(path, "r+") as h5:
        header = h5.attrs["FileHeader"].decode().replace("V07A", "V06B")
        h5.attrs["FileHeader"] = np.bytes_(header)
        h5.move("Grid/precipitation", "Grid/precipitationCal")
        h5.move("Grid/Intermediate/MWprecipitation", "Grid/HQprecipitation")
        h5.move("Grid/Intermediate/IRinfluence", "Grid/IRkalmanFilterWeight")
    ds = xgpm.open_granule(path)
    assert {"precipitation", "MWprecipitation", "IRinfluence"} <= set(ds.data_vars)
    np.testing.assert_array_equal(
        ds["precipitation"].values, raw(src, "Grid/precipitation").transpose(0, 2, 1)
    )


def test_opening_reads_no_data_until_compute(gmi_path, h5_reads):
    reads = h5_reads
    ds = xgpm.open_granule(gmi_path, scan_mode="S1")
    assert isinstance(ds["Tc"].data, dask.array.Array)
    assert reads == []
    ds["Tc"].data.compute()
    assert reads and set(reads) == {"/S1/Tc"}


def test_same_values_from_path_url_memory_and_file_object(gmi_path):
    expected = xgpm.open_granule(gmi_path, scan_mode="S2").compute()
    fs = fsspec.filesystem("memory")
    url = f"memory://granules/{gmi_path.name}"
    fs.pipe(url, gmi_path.read_bytes())
    try:
        sources = [
            str(gmi_path),
            f"file://{gmi_path}",
            url,
            io.BytesIO(gmi_path.read_bytes()),
            open(gmi_path, "rb"),  # noqa: SIM115 - closed below
            fsspec.open(url, "rb").open(),
        ]
        for source in sources:
            got = xgpm.open_granule(source, scan_mode="S2").compute()
            xr.testing.assert_identical(got, expected)
    finally:
        fs.rm("memory://granules", recursive=True)
        sources[4].close()


def test_dask_chunks_do_not_change_values(gmi_path):
    whole = xgpm.open_granule(gmi_path, scan_mode="S1").compute()
    for chunks in [3, {"along_track": 1, "cross_track": 5, "pmw_frequency": 2}, "auto", None]:
        ds = xgpm.open_granule(gmi_path, scan_mode="S1", chunks=chunks)
        xr.testing.assert_identical(ds.compute(), whole)


def test_chunks_none_is_lazy_without_dask(gmi_path, h5_reads):
    reads = h5_reads
    one = xgpm.open_granule(gmi_path, scan_mode="S1", chunks=None)
    assert reads == []
    assert not isinstance(one["Tc"].variable._data, np.ndarray | dask.array.Array)
    expected = xgpm.open_granule(gmi_path, scan_mode="S1")["Tc"].values
    np.testing.assert_array_equal(one["Tc"].isel(along_track=slice(2, 5)).values, expected[:, 2:5])
    assert set(reads) == {"/S1/Tc"}
    # merging scan modes without dask reads the merged variables at open
    merged = xgpm.open_granule(gmi_path, chunks=None)
    np.testing.assert_array_equal(merged["Tc"].values, xgpm.open_granule(gmi_path)["Tc"].values)


def test_bad_chunks_are_refused(gmi_path):
    with pytest.raises(xgpm.XGPMError, match="chunks must be"):
        xgpm.open_granule(gmi_path, chunks=(3, -1, -1))


def test_merged_scan_modes_nearest_neighbour(gmi_path):
    merged = xgpm.open_granule(gmi_path)  # default for multi-swath 1C
    assert merged.attrs["ScanMode"] == "merged"
    assert list(merged["pmw_frequency"].values) == list(xgpm.sensors.get("GMI").labels)
    s1 = xgpm.open_granule(gmi_path, scan_mode="S1").compute()
    s2 = xgpm.open_granule(gmi_path, scan_mode="S2").compute()
    xr.testing.assert_equal(merged["Tc"].sel(pmw_frequency=list(s1.pmw_frequency.values)), s1["Tc"])
    # every S1 pixel takes S2's nearest pixel within the radius (brute force on the sphere)
    lon1, lat1 = np.deg2rad(s1.lon.values.ravel()), np.deg2rad(s1.lat.values.ravel())
    lon2, lat2 = np.deg2rad(s2.lon.values.ravel()), np.deg2rad(s2.lat.values.ravel())
    hav = (
        np.sin((lat2[None] - lat1[:, None]) / 2) ** 2
        + np.cos(lat1[:, None]) * np.cos(lat2[None]) * np.sin((lon2[None] - lon1[:, None]) / 2) ** 2
    )
    dist_km = 2 * 6371.0 * np.arcsin(np.sqrt(np.nan_to_num(hav, nan=4.0).clip(0, 1)))
    nearest = np.argmin(dist_km, axis=1)
    found = dist_km[np.arange(nearest.size), nearest] <= merged.attrs["xgpm_merge_radius_km"]
    tc2 = s2["Tc"].values.reshape(-1, 4)
    got = merged["Tc"].sel(pmw_frequency=list(s2.pmw_frequency.values)).values.reshape(-1, 4)
    np.testing.assert_array_equal(got[found], tc2[nearest[found]])
    assert np.isnan(got[~found]).all()


def test_open_granules_concatenates_in_time_order(gmi_path, tmp_path):
    ds = xgpm.open_granule(gmi_path, scan_mode="all")
    later = ds.copy()
    for mode in later.children:
        node = later[mode].to_dataset()
        node = node.assign_coords(time=node["time"] + np.timedelta64(95, "m"))
        later[mode] = xr.DataTree(node)
    first = xgpm.write_granule(ds, tmp_path / "a.HDF5", granule_number=79)
    second = xgpm.write_granule(later, tmp_path / "b.HDF5", granule_number=80)
    both = xgpm.open_granules([second, first], scan_mode="S1")
    assert both.sizes["along_track"] == 20
    assert (np.diff(both["time"].values[~np.isnat(both["time"].values)]) > np.timedelta64(0)).all()
    assert set(both["gpm_granule_id"].values) == {79, 80}


def test_open_granules_concatenates_grids_along_time(tmp_path):
    ds = xgpm.open_granule(GRANULES["IMERG-FR"])
    nxt = ds.assign_coords(
        time=ds["time"] + np.timedelta64(30, "m"),
        time_bnds=ds["time_bnds"] + np.timedelta64(30, "m"),
    )
    a = xgpm.write_granule(ds, tmp_path)
    b = xgpm.write_granule(nxt, tmp_path)
    both = xgpm.open_granules([b, a])
    assert both.sizes["time"] == 2
    assert both["precipitation"].dims == ("time", "lat", "lon")


@pytest.mark.parametrize("product", L1C)
def test_gpm_api_parity(product):
    gpm = pytest.importorskip("gpm")
    path = GRANULES[product]
    mode = "S1"
    ours = xgpm.open_granule(path, scan_mode=mode).compute()
    theirs = gpm.open_granule_dataset(str(path), scan_mode=mode).compute()
    assert ours["Tc"].dims == theirs["Tc"].dims
    assert list(ours["pmw_frequency"].values) == list(theirs["pmw_frequency"].values)
    np.testing.assert_array_equal(ours["Tc"].values, theirs["Tc"].values)
    np.testing.assert_array_equal(ours["lon"].values, theirs["lon"].values)
    np.testing.assert_array_equal(ours["lat"].values, theirs["lat"].values)
    # Some 1C files (AMSR2) leave ScanTime.MilliSecond at 0 and keep the fraction in
    # SecondOfDay: xgpm reads it, GPM-API does not, so compare to the second.
    np.testing.assert_array_equal(
        ours["time"].values.astype("datetime64[s]"), theirs["time"].values.astype("datetime64[s]")
    )
    assert ours.attrs["gpm_api_product"] == theirs.attrs["gpm_api_product"]
    for coord in ("gpm_id", "gpm_granule_id", "gpm_cross_track_id", "gpm_along_track_id"):
        np.testing.assert_array_equal(ours[coord].values, theirs[coord].values, err_msg=coord)


DIM_RULES = [
    ("nscan", "along_track"),
    ("npixel", "cross_track"),
    ("nray", "cross_track"),
    ("nchannel", "pmw_frequency"),
    ("nfreq", "radar_frequency"),
]


def _expected_dim(hdf5_dim: str) -> str:
    if hdf5_dim in ("nbin", "nbinHS"):
        return "range"
    if hdf5_dim == "nfreq":
        return "radar_frequency"
    for prefix, name in DIM_RULES:
        if hdf5_dim.startswith(prefix) and prefix != "nfreq":
            return name
    return hdf5_dim


@pytest.mark.parametrize("product", sorted(GRANULES))
def test_every_variable_of_every_granule_matches_h5py(product):
    """All datasets of every scan mode: same values as h5py, fill -> NaN, data-model order."""
    path = GRANULES[product]
    tree = xgpm.open_granule(path, scan_mode="all")
    checked = 0
    with h5py.File(path) as h5:
        for mode, node in tree.children.items():
            ds = node.to_dataset()
            group = ds.encoding["file_scan_mode"]
            for var in {**ds.data_vars, **ds.coords}.values():
                rel = var.encoding.get("hdf5_path")
                if rel is None or "incidence_angle_index" in var.encoding:
                    continue  # derived coords; nchUIA variables are tested on their own
                dset = h5[f"{group}/{rel}"]
                stored_dims = dset.attrs["DimensionNames"].decode().split(",")
                expected = raw(path, f"{group}/{rel}")
                model_dims = [_expected_dim(d) for d in stored_dims]
                order = [model_dims.index(d) for d in var.dims]
                np.testing.assert_array_equal(
                    var.values, expected.transpose(order), err_msg=f"{mode}/{rel}"
                )
                checked += 1
    assert checked >= 10
