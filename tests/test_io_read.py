"""Reading real PPS granules: values against h5py, laziness, sources, GPM-API parity."""

from __future__ import annotations

import io
import re
import shutil

import dask
import fsspec
import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xgpm

from .conftest import GRANULES, L1C, PRODUCTS


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
    product = PRODUCTS[product]
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


#: GPM-API's dimension names (gpm/dataset/dimensions.py DIM_DICT), written out independently
#: of xgpm's registry
GPM_API_DIMS = {
    **{f"nscan{n}": "along_track" for n in ("", 1, 2, 3, 4, 5, 6)},
    **{f"npixel{n}": "cross_track" for n in ("", 1, 2, 3, 4, 5, 6)},
    **{f"npixelev{n}": "cross_track" for n in ("", 1, 2, 3, 4, 5, 6)},
    **{f"nchannel{n}": "pmw_frequency" for n in (1, 2, 3, 4, 5, 6)},
    **dict.fromkeys(["nray", "nrayMS", "nrayHS", "nrayNS", "nrayFS"], "cross_track"),
    **dict.fromkeys(["npix1", "npix2", "npixelht", "npixelcs", "npixelfr"], "cross_track"),
    **dict.fromkeys(["nbin", "nbinMS", "nbinHS", "nbinFS", "nBnPSD", "nBnPSDhi"], "range"),
    **dict.fromkeys(["nlayer"], "range"),
    **dict.fromkeys(["nfreq", "nKuKa"], "radar_frequency"),
    **dict.fromkeys(["nchan1", "nchan2", "nemiss"], "pmw_frequency"),
    "nDSD": "DSD_params",
}


def _order(stored_dims: list[str], var_dims: tuple[str, ...]) -> list[int]:
    """Stored axis of each data-model dim (a dim that could not be renamed keeps its name)."""
    names = [GPM_API_DIMS.get(d, d) for d in stored_dims]
    names = [m if m in var_dims else d for m, d in zip(names, stored_dims, strict=True)]
    return [names.index(d) for d in var_dims]


def decoded(values: np.ndarray, rule: dict) -> np.ndarray:
    """Stored values decoded by hand with a variable's declared rule (encoding["decoding"])."""
    out = values.astype("float64")
    bad = np.isin(values, rule.get("missing", []))
    if rule.get("valid_min") is not None:
        bad |= values < rule["valid_min"]
    if rule.get("above") is not None:
        bad |= values <= rule["above"]
    for code, value in rule.get("replace", {}).items():
        out[values == code] = value
        bad &= values != code
    out[bad] = np.nan
    return out


@pytest.mark.parametrize("product", sorted(GRANULES))
def test_every_variable_of_every_granule_matches_h5py(product):
    """All datasets of every scan mode: same values as h5py, fill -> NaN, data-model order."""
    path = GRANULES[product]
    tree = xgpm.open_granule(path, scan_mode="all", chunks=None)
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
                rule = var.encoding.get("decoding")
                if rule is not None and rel not in ("Latitude", "Longitude"):
                    # the reader's declared rule, applied by hand (fill values are in it)
                    expected = decoded(dset[()], rule)
                order = _order(stored_dims, var.dims)
                np.testing.assert_array_equal(
                    var.values, expected.transpose(order), err_msg=f"{mode}/{rel}"
                )
                checked += 1
    assert checked >= 10


# --------------------------------------------------------------------------------------------
# every product: registry, names, decoding
# --------------------------------------------------------------------------------------------


def _stored(path, dataset: str) -> np.ndarray:
    with h5py.File(path, "r") as h5:
        return h5[dataset][()]


def test_sounder_gprof_minus_9999_is_missing_and_the_code_reachable():
    """GPROF of MHS stores -9999 where _FillValue says -9999.9: NaN, as GPM-API (not mm/h)."""
    path = GRANULES["2A-MHS-METOPA-CLIM"]
    stored = _stored(path, "S1/surfacePrecipitation")
    assert (stored == -9999.0).all() and not (stored == np.float32(-9999.9)).any()
    ds = xgpm.open_granule(path)
    for name in ("surfacePrecipitation", "rainWaterPath", "cloudWaterPath", "iceWaterPath"):
        assert np.isnan(ds[name].values).all(), name
    raw_values = ds["surfacePrecipitation"].encoding["raw_values"].read()
    np.testing.assert_array_equal(raw_values, stored)
    assert ds["surfacePrecipitation"].encoding["decoding"]["missing"] == [
        pytest.approx(-9999.9),
        -9999.0,
    ]
    raw_ds = xgpm.open_granule(path, decode=False)
    assert raw_ds["surfacePrecipitation"].dtype == np.float32
    np.testing.assert_array_equal(raw_ds["surfacePrecipitation"].values, stored.T)


def test_gprof_precipitation_flag_minus_99_is_missing():
    path = GRANULES["2A-GMI"]
    assert (_stored(path, "S1/precipitationYesNoFlag") == -99).all()  # _FillValue: -9999
    ds = xgpm.open_granule(path, variables="precipitationYesNoFlag")
    assert np.isnan(ds["precipitationYesNoFlag"].values).all()
    raw_ds = xgpm.open_granule(path, variables="precipitationYesNoFlag", decode=False)
    assert raw_ds["precipitationYesNoFlag"].dtype == np.int16
    assert (raw_ds["precipitationYesNoFlag"].values == -99).all()
    several = xgpm.open_granules([path], variables="precipitationYesNoFlag", decode=False)
    assert (several["precipitationYesNoFlag"].values == -99).all()


def test_dpr_bin_and_bright_band_codes_are_missing():
    """-1111 (no bright band) and 0 (no bin) of 1-based bin indices are NaN; real bins stay."""
    path = GRANULES["2A-DPR"]
    ds = xgpm.open_granule(path, scan_mode="FS", chunks=None)
    peak = _stored(path, "FS/CSF/binBBPeak").T
    assert set(np.unique(peak)) == {-1111, 0}
    assert np.isnan(ds["binBBPeak"].values).all()
    assert np.isnan(ds["flagBB"].values[peak == -1111]).all()
    assert (ds["flagBB"].values[peak == 0] == 0).all()  # flagBB 0: "not detected", a value
    clutter = _stored(path, "FS/PRE/binClutterFreeBottom").T
    np.testing.assert_array_equal(ds["binClutterFreeBottom"].values, clutter)
    assert ds["binBBPeak"].encoding["decoding"]["above"] == 0
    heavy = xgpm.open_granule(path, scan_mode="FS", variables="binHeavyIcePrecipTop", decode=False)
    assert set(np.unique(heavy["binHeavyIcePrecipTop"].values)) == {-1111, 0}
    # GPM-API's 1-based range coordinate, so that bin numbers select range gates
    assert ds["range"].values[0] == 1 and ds["gpm_range_id"].values[0] == 0


def test_quality_type_precip_no_rain_is_zero():
    path = GRANULES["2A-DPR"]
    stored = _stored(path, "FS/CSF/qualityTypePrecip").T
    ds = xgpm.open_granule(path, scan_mode="FS", variables="qualityTypePrecip")
    values = ds["qualityTypePrecip"].values
    assert (values[stored == -1111] == 0).all()
    assert np.isnan(values[stored == -9999]).all()


@pytest.mark.parametrize(
    ("folder", "modes", "default"),
    [
        ("2A-DPR-V06", ["NS", "MS", "HS"], "NS"),
        ("2A-Ku-V06", ["NS"], "NS"),
        ("2A-DPR", ["FS", "HS"], "FS"),
        ("2A-Ka", ["FS", "HS"], "FS"),
        ("1A-GMI", ["S1", "S2", "S4", "S5"], "S1"),
        ("1B-Ku", ["FS"], "FS"),
        ("2B-TRMM-CORRA", ["KuTMI"], "KuTMI"),
        ("2A-GPM-SLH", ["Swath"], "Swath"),
    ],
)
def test_scan_modes_by_version(folder, modes, default):
    path = GRANULES[folder]
    assert list(xgpm.open_granule(path, scan_mode="all").children) == modes
    assert xgpm.open_granule(path).attrs["ScanMode"] == default


def test_merged_is_for_1c_granules():
    with pytest.raises(xgpm.errors.InvalidArgumentError, match="for 2A-DPR, pass one of FS, HS"):
        xgpm.open_granule(GRANULES["2A-DPR"], scan_mode="merged")


def test_corra_v06_swaths_read_under_v07_names(tmp_path):
    """V06 2B-CORRA names its swaths NS (Ku) and MS (Ku+Ka): KuGMI and KuKaGMI, either name."""
    from .test_gpm_api_parity import _set_header

    src = GRANULES["2B-GPM-CORRA"]
    path = tmp_path / src.name.replace("V07A", "V06A")
    shutil.copy(src, path)
    path.chmod(0o644)
    with h5py.File(path, "r+") as h5:
        h5.move("KuGMI", "NS")
        h5.move("KuKaGMI", "MS")
    _set_header(path, FileName=path.name, ProductVersion="V06A")
    tree = xgpm.open_granule(path, scan_mode="all")
    assert list(tree.children) == ["KuKaGMI", "KuGMI"]
    ns = xgpm.open_granule(path, scan_mode="NS")
    assert ns.attrs["ScanMode"] == "KuGMI" and ns.encoding["file_scan_mode"] == "NS"
    assert list(ns["pmw_frequency"].values) == list(xgpm.sensors.get("GMI").labels)
    xr.testing.assert_equal(ns, xgpm.open_granule(src, scan_mode="KuGMI"))
    written = xgpm.write_granule(tree, tmp_path / "out/")
    with h5py.File(written) as h5:
        assert {"NS", "MS"} <= set(h5)


def test_product_comes_from_the_header_for_trmm_and_latent_heating():
    expected = {
        "2A-PR": "2A-PR",
        "2B-TRMM-CORRA": "2B-TRMM-CORRA",
        "2A-GPM-SLH": "2A-GPM-SLH",
        "2B-GPM-CSH": "2B-GPM-CSH",
        "2A-Ku": "2A-Ku",
        "2A-Ka": "2A-Ka",
        "2A-ENV-DPR": "2A-ENV-DPR",
        "1B-Ku": "1B-Ku",
    }
    for folder, product in expected.items():
        assert xgpm.open_granule(GRANULES[folder]).attrs["gpm_api_product"] == product, folder


def test_product_from_algorithm_id_when_the_header_name_is_not_a_granule_name(tmp_path):
    from .test_gpm_api_parity import _set_header

    path = tmp_path / "granule.h5"
    shutil.copy(GRANULES["2A-PR"], path)
    path.chmod(0o644)
    _set_header(path, FileName="my_copy.h5")
    assert xgpm.open_granule(path).attrs["gpm_api_product"] == "2A-PR"  # AlgorithmID=2APR


def test_1b_calibration_views_keep_their_dimension():
    """1B-TMI cold-sky and hot-load views (8 pixels) are not cross_track (the swath's pixels)."""
    ds = xgpm.open_granule(GRANULES["1B-TMI"], scan_mode="S1")
    assert ds.sizes["cross_track"] == 10
    assert "npixelcs1" in ds.dims and ds.sizes["npixelcs1"] == 8
    assert list(ds["pmw_frequency"].values) == ["10V", "10H"]


def test_imerg_v06_times_count_from_1970():
    """IMERG V06 counts seconds from 1970, V07 from the GPS epoch: the units say which."""
    for folder in ("IMERG-FR", "IMERG-FR-V06"):
        ds = xgpm.open_granule(GRANULES[folder])
        assert ds["time"].values[0] == np.datetime64("2000-06-01T00:00:00"), folder
        assert ds["time_bnds"].values[0, 1] == np.datetime64("2000-06-01T00:30:00"), folder


# ---- file names: PPS custom subsets and JAXA names ------------------------------------------


@pytest.mark.parametrize("rename_header", [False, True], ids=["granule-header", "subset-header"])
@pytest.mark.parametrize("folder", ["2A-Ku", "1C-GMI-R", "2A-SSMIS-F17-CLIM"])
def test_custom_subset_names(tmp_path, folder, rename_header):
    """A PPS custom subset (2A-CS-<box>, 1C-R-CS-<box>) opens as its product, checked."""
    from .test_gpm_api_parity import custom_subset_copy

    copy = custom_subset_copy(
        GRANULES[folder], tmp_path, box="151E24S154E30S", rename_header=rename_header
    )
    assert "-CS-151E24S154E30S." in copy.name
    parsed = xgpm.parse_filename(copy.name)
    assert parsed.subset == "151E24S154E30S" and parsed.product == PRODUCTS[folder]
    ours = xgpm.open_granule(copy, scan_mode="all")
    original = xgpm.open_granule(GRANULES[folder], scan_mode="all")
    assert ours.attrs["gpm_api_product"] == PRODUCTS[folder]
    for mode in original.children:
        xr.testing.assert_equal(ours[mode].to_dataset(), original[mode].to_dataset())


def test_custom_subset_outside_its_granule_is_refused(tmp_path):
    from .test_gpm_api_parity import custom_subset_copy

    copy = custom_subset_copy(GRANULES["2A-Ku"], tmp_path)
    wrong = tmp_path / re.sub(r"-S\d{6}-E\d{6}", "-S215000-E220000", copy.name)
    copy.rename(wrong)
    with pytest.raises(xgpm.errors.FileNameMismatchError, match="before the granule's Start"):
        xgpm.open_granule(wrong)
    other_orbit = tmp_path / wrong.name.replace(".000144.", ".000145.")
    wrong.rename(other_orbit)
    with pytest.raises(xgpm.errors.FileNameMismatchError, match="granule 145 in the name"):
        xgpm.open_granule(other_orbit, scan_mode="FS")


def test_jaxa_names(tmp_path):
    """JAXA names (GPMCOR_KUR_...) are parsed, checked against the header, to the minute."""
    path = GRANULES["1B-Ku"]
    parsed = xgpm.parse_filename(path.name)
    assert (parsed.product, parsed.convention, parsed.version) == ("1B-Ku", "JAXA", "V07A")
    assert parsed.start == pd.Timestamp("2014-03-08T22:09") and parsed.granule == 144
    assert xgpm.open_granule(path).attrs["gpm_api_product"] == "1B-Ku"
    renamed = tmp_path / path.name.replace("_000144_", "_000145_")
    shutil.copy(path, renamed)
    with pytest.raises(xgpm.errors.FileNameMismatchError, match="granule 145 in the name"):
        xgpm.open_granule(renamed)
    # a JAXA level-2 name (no real file at hand: a 2A-Ku copy under one)
    from .test_gpm_api_parity import jaxa_copy

    copy = jaxa_copy(GRANULES["2A-Ku"], tmp_path, "KUR", "L2", "DU2")
    assert xgpm.parse_filename(copy.name).product == "2A-Ku"
    xr.testing.assert_equal(xgpm.open_granule(copy), xgpm.open_granule(GRANULES["2A-Ku"]))


# ---- other platforms and versions of the same layouts: no new code --------------------------

#: (source folder, first fields of the relabelled copy's PPS name, its version, FileHeader
#: items, product, scan modes)
RELABELLED = [
    (
        "2A-GPM-SLH",
        "2A.TRMM.PR.TRMM-SLH",
        "V07A",
        {"AlgorithmID": "2HSLHT", "SatelliteName": "TRMM", "InstrumentName": "PR"},
        "2A-TRMM-SLH",
        ["Swath"],
    ),
    (
        "2B-GPM-CSH",
        "2B.TRMM.PRTMI.2HCSHv7-0",
        "V07A",
        {"AlgorithmID": "2HCSHT", "SatelliteName": "TRMM", "InstrumentName": "PRTMI"},
        "2B-TRMM-CSH",
        ["Swath"],
    ),
    (
        "2A-ENV-DPR",
        "2A-ENV.TRMM.PR.V9-20220125",
        "V07A",
        {"AlgorithmID": "2APRENV", "SatelliteName": "TRMM", "InstrumentName": "PR"},
        "2A-ENV-PR",
        ["FS"],
    ),
    (
        "1B-Ku",
        "1B.TRMM.PR.V9-20220125",
        "V07A",
        {"AlgorithmID": "1BPR", "SatelliteName": "TRMM", "InstrumentName": "PR"},
        "1B-PR",
        ["FS"],
    ),
    ("2A-Ku-V06", "2A.GPM.Ku.V7-20170308", "V05A", {}, "2A-Ku", ["NS"]),
    (
        "2A-MHS-METOPA-CLIM",
        "2A-CLIM.NOAA19.MHS.GPROF2021v1",
        "V07A",
        {"SatelliteName": "NOAA19"},
        "2A-MHS-NOAA19-CLIM",
        ["S1"],
    ),
]


def relabel(source, folder, prefix: str, version: str, header: dict):
    """A copy of ``source`` named and headed as another product (its times and orbit kept)."""
    from .test_gpm_api_parity import renamed_copy

    info = xgpm.io.read.granule_info(source)
    start = pd.Timestamp(info.header["StartGranuleDateTime"].rstrip("Z")).floor("s")
    end = pd.Timestamp(info.header["StopGranuleDateTime"].rstrip("Z")).floor("s")
    name = (
        f"{prefix}.{start:%Y%m%d}-S{start:%H%M%S}-E{end:%H%M%S}.{info.granule_number:06d}."
        f"{version}.HDF5"
    )
    return renamed_copy(source, folder, name, FileName=name, ProductVersion=version, **header)


@pytest.mark.parametrize(
    ("folder", "prefix", "version", "header", "product", "modes"),
    RELABELLED,
    ids=[r[4] + ("-V05" if r[2] == "V05A" else "") for r in RELABELLED],
)
def test_other_platforms_and_versions_of_known_layouts(
    tmp_path, folder, prefix, version, header, product, modes
):
    copy = relabel(GRANULES[folder], tmp_path, prefix, version, header)
    tree = xgpm.open_granule(copy, scan_mode="all")
    assert tree.attrs["gpm_api_product"] == product
    assert list(tree.children) == modes
    original = xgpm.open_granule(GRANULES[folder], scan_mode="all")
    for mode in modes:
        xr.testing.assert_equal(tree[mode].to_dataset(), original[mode].to_dataset())
