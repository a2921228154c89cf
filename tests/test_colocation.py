"""Tests of the colocation engine (xgpm.colocation)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xgpm.colocation import EARTH_RADIUS_KM, colocate, great_circle_km
from xgpm.colocation._testing import (
    conical_swath,
    dpr_orbit,
    gmi_orbit,
    ssmis_orbit,
    synthetic_field,
)
from xgpm.errors import InvalidArgumentError, NoOverlapError

FWHM_TO_SIGMA = 1 / 2.3548200450309493


# ------------------------------------------------------------------------------------------
# Small swaths and a brute-force reference
# ------------------------------------------------------------------------------------------
def small_gmi(n_scans=60, n_pixels=45, **kw):
    return gmi_orbit(n_scans, n_pixels, **kw)


def small_ssmis(n_scans=40, n_pixels=30, **kw):
    return ssmis_orbit(n_scans, n_pixels, **kw)


def crossing_pair():
    """A GMI-like source and an SSMIS-like target that cross near (lon 10, lat 20)."""
    src = gmi_orbit(120, 45, start_arg_lat_deg=10.0, ascending_node_lon_deg=0.0)
    tgt = ssmis_orbit(
        60,
        30,
        ascending_node_lon_deg=19.0,
        start_arg_lat_deg=10.0,
        start_time="2020-01-01T00:01:00",
    )
    return src, tgt


def brute_force(source, target, radius_km, max_dt=None, weights=None):
    """Reference: all pairwise haversine distances, the lowest flat index wins ties."""
    slon = source.lon.values.astype(np.float64).ravel()
    slat = source.lat.values.astype(np.float64).ravel()
    tlon = target.lon.values.astype(np.float64).ravel()
    tlat = target.lat.values.astype(np.float64).ravel()
    dist = great_circle_km(tlon[:, None], tlat[:, None], slon[None, :], slat[None, :])
    dist = np.where(np.isnan(dist), np.inf, dist)
    if max_dt is not None:
        stime = np.broadcast_to(source.time.values[None, :], source.lon.shape).ravel()
        ttime = np.broadcast_to(target.time.values[None, :], target.lon.shape).ravel()
        dt = np.abs((stime[None, :] - ttime[:, None]).astype("timedelta64[ns]"))
        dist = np.where(dt <= np.timedelta64(max_dt), dist, np.inf)
    dist = np.where(dist <= radius_km, dist, np.inf)
    rows = np.arange(dist.shape[0])
    nearest = np.argmin(dist, axis=1)  # first minimum: the lowest flat index
    d1 = dist[rows, nearest]
    masked = dist.copy()
    masked[rows, nearest] = np.inf
    d2 = masked.min(axis=1)
    index = np.where(np.isfinite(d1), nearest, -1)
    with np.errstate(invalid="ignore"):
        unique = ~np.isfinite(d1) | (d2 - d1 > 1e-3)  # nearest is unique to 1 m
    return dist, index, d1, unique


def as_2d(arr, like):
    return np.asarray(arr).reshape(like.lon.shape)


# ------------------------------------------------------------------------------------------
# Nearest neighbour: reference, pyresample
# ------------------------------------------------------------------------------------------
def test_nearest_matches_brute_force_and_values():
    src, tgt = crossing_pair()
    res = colocate(src, tgt, radius_km=15)
    _, index, d1, unique = brute_force(src, tgt, 15)
    got = res.source_index.values.ravel()
    assert (index >= 0).sum() > 200  # the swaths really overlap
    np.testing.assert_array_equal(got[unique], index[unique])
    found = index >= 0
    np.testing.assert_allclose(res.distance.values.ravel()[found], d1[found], rtol=1e-6, atol=1e-6)
    assert np.isnan(res.distance.values.ravel()[~found]).all()
    np.testing.assert_array_equal(res.Tc.values.ravel()[found], src.Tc.values.ravel()[got[found]])
    # time offset: source scan time minus target scan time
    s_scan = got[found] % src.sizes["along_track"]
    t_scan = np.nonzero(found.reshape(tgt.lon.shape))[1]
    expected = src.time.values[s_scan] - tgt.time.values[t_scan]
    np.testing.assert_array_equal(res.time_offset.values.ravel()[found], expected)


def _pyresample_index(source, target, radius_km, neighbours=1):
    kd_tree = pytest.importorskip("pyresample.kd_tree")
    geometry = pytest.importorskip("pyresample.geometry")
    sdef = geometry.SwathDefinition(source.lon.values, source.lat.values)
    tdef = geometry.SwathDefinition(target.lon.values, target.lat.values)
    valid_in, valid_out, idx, _ = kd_tree.get_neighbour_info(
        sdef, tdef, radius_km * 1000.0, neighbours=neighbours
    )
    flat_in = np.flatnonzero(valid_in)
    idx = idx if idx.ndim == 1 else idx[:, 0]
    ok = idx < flat_in.size
    out = np.full(target.lon.size, -1, dtype=np.int64)
    sub = np.full(idx.shape, -1, dtype=np.int64)
    sub[ok] = flat_in[idx[ok]]
    out[np.flatnonzero(valid_out)] = sub
    return out


@pytest.mark.parametrize("case", ["gmi_on_ssmis", "dpr_on_gmi"])
def test_nearest_index_equals_pyresample(case):
    if case == "gmi_on_ssmis":
        src, tgt = crossing_pair()
        radius = 15.0
    else:
        src = dpr_orbit(200, 49)
        tgt = gmi_orbit(40, 30, start_arg_lat_deg=-1.0)
        radius = 5.0
    # float64 geolocation: pyresample then computes exact (not float32) cartesian coordinates
    src = src.assign_coords(lon=src.lon.astype("f8"), lat=src.lat.astype("f8"))
    tgt = tgt.assign_coords(lon=tgt.lon.astype("f8"), lat=tgt.lat.astype("f8"))
    res = colocate(src, tgt, radius_km=radius)
    ref = _pyresample_index(src, tgt, radius)
    _, _, _, unique = brute_force(src, tgt, radius)
    got = res.source_index.values.ravel()
    assert (ref >= 0).sum() > 100
    np.testing.assert_array_equal(got[unique], ref[unique])


# ------------------------------------------------------------------------------------------
# mean / gaussian against the reference
# ------------------------------------------------------------------------------------------
def test_mean_and_gaussian_match_reference():
    src = dpr_orbit(200, 49)
    tgt = gmi_orbit(40, 30, start_arg_lat_deg=-1.0)
    radius = 12.0
    dist, index, _, _ = brute_force(src, tgt, radius)
    values = src.Tc.values.astype(np.float64).ravel()
    inside = np.isfinite(dist)

    res_mean = colocate(src, tgt, radius_km=radius, method="mean")
    n = inside.sum(axis=1)
    with np.errstate(invalid="ignore"):
        expected = (inside * values[None, :]).sum(axis=1) / n
    assert (n > 0).sum() > 100
    np.testing.assert_array_equal(res_mean.n_matches.values.ravel(), n)
    np.testing.assert_allclose(res_mean.Tc.values.ravel(), expected, rtol=1e-6)

    # circular gaussian: weights depend on distance only
    res_g = colocate(src, tgt, radius_km=radius, method="gaussian", footprint_km=7.0)
    sigma = 7.0 * FWHM_TO_SIGMA
    w = np.where(inside, np.exp(-0.5 * (dist / sigma) ** 2), 0.0)
    with np.errstate(invalid="ignore"):
        expected_g = (w * values[None, :]).sum(axis=1) / w.sum(axis=1)
    np.testing.assert_allclose(res_g.Tc.values.ravel(), expected_g, rtol=1e-5)


def test_gaussian_elliptical_axes_follow_scan_line():
    """A field varying only along the target scan line is smoothed more by a wide cross axis."""
    src = dpr_orbit(200, 49)
    tgt = gmi_orbit(40, 30, start_arg_lat_deg=-1.0)
    narrow_cross = colocate(src, tgt, radius_km=20, method="gaussian", footprint_km=(15.0, 3.0))
    wide_cross = colocate(src, tgt, radius_km=20, method="gaussian", footprint_km=(3.0, 15.0))
    ok = np.isfinite(narrow_cross.Tc) & np.isfinite(wide_cross.Tc)
    assert ok.sum() > 100
    # Different axes give different averages (the kernel is not silently circular).
    assert float(np.abs(narrow_cross.Tc - wide_cross.Tc).where(ok).max()) > 1e-3


def test_nan_values_are_skipped_in_mean():
    src = dpr_orbit(200, 49)
    tgt = gmi_orbit(40, 30, start_arg_lat_deg=-1.0)
    tc = src.Tc.values.copy()
    tc[::3, :] = np.nan
    src["Tc"] = (src.Tc.dims, tc)
    res = colocate(src, tgt, radius_km=12, method="mean")
    dist, _, _, _ = brute_force(src, tgt, 12)
    vals = tc.astype(np.float64).ravel()
    use = np.isfinite(dist) & np.isfinite(vals)[None, :]
    with np.errstate(invalid="ignore"):
        expected = np.where(use, vals[None, :], 0).sum(axis=1) / use.sum(axis=1)
    np.testing.assert_allclose(res.Tc.values.ravel(), expected, rtol=1e-6)
    # n_matches counts geolocated pixels, not valid values
    np.testing.assert_array_equal(res.n_matches.values.ravel(), np.isfinite(dist).sum(axis=1))


# ------------------------------------------------------------------------------------------
# Time window, NaN geolocation, antimeridian, poles, self-crossing
# ------------------------------------------------------------------------------------------
def test_time_window_per_pixel():
    src = gmi_orbit(120, 30)
    tgt = src.copy()
    max_dt = np.timedelta64(4, "s")  # +-2 scans, less than the radius spans
    res = colocate(src, tgt, radius_km=50, method="mean", max_dt=max_dt)
    dist, index, _, unique = brute_force(src, tgt, 50, max_dt=max_dt)
    np.testing.assert_array_equal(res.n_matches.values.ravel(), np.isfinite(dist).sum(axis=1))
    assert np.abs(res.time_offset).max() <= max_dt
    res_all = colocate(src, tgt, radius_km=50, method="mean")
    assert (res_all.n_matches > res.n_matches).any()


def test_nan_geolocation_and_missing_scans():
    src, tgt = crossing_pair()
    lon = src.lon.values.copy()
    lat = src.lat.values.copy()
    rng = np.random.default_rng(0)
    lon[rng.random(lon.shape) < 0.1] = np.nan
    lat[:, 40:47] = np.nan  # missing scans
    time = src.time.values.copy()
    time[50] = np.datetime64("NaT")
    src = src.assign_coords(
        lon=(src.lon.dims, lon), lat=(src.lat.dims, lat), time=("along_track", time)
    )
    res = colocate(src, tgt, radius_km=15)
    _, index, _, unique = brute_force(src, tgt, 15)
    np.testing.assert_array_equal(res.source_index.values.ravel()[unique], index[unique])
    # with a time window, the NaT scan is skipped
    res_t = colocate(src, tgt, radius_km=15, max_dt="1h")
    assert not np.isin(res_t.source_index.values % src.sizes["along_track"], [50]).any()


@pytest.mark.parametrize(
    ("node", "arg_lat", "incl", "label"),
    [(175.0, -5.0, 65.0, "antimeridian"), (0.0, 84.0, 89.0, "north pole")],
)
def test_antimeridian_and_pole(node, arg_lat, incl, label):
    src = conical_swath(
        120,
        36,
        altitude_km=407,
        inclination_deg=incl,
        swath_width_km=900,
        look_distance_km=480,
        scan_period_s=1.9,
        ascending_node_lon_deg=node,
        start_arg_lat_deg=arg_lat,
    )
    tgt = conical_swath(
        50,
        30,
        altitude_km=850,
        inclination_deg=incl + 10,
        swath_width_km=1500,
        look_distance_km=900,
        scan_period_s=1.9,
        ascending_node_lon_deg=node + 3,
        start_arg_lat_deg=arg_lat,
    )
    lon = src.lon.values
    if label == "antimeridian":
        assert (lon > 179).any() and (lon < -179).any()
    else:
        assert src.lat.max() > 89.0
    res = colocate(src, tgt, radius_km=20)
    _, index, _, unique = brute_force(src, tgt, 20)
    assert (index >= 0).sum() > 100
    np.testing.assert_array_equal(res.source_index.values.ravel()[unique], index[unique])


def test_source_crossing_itself():
    """Two passes over the same region (more than one candidate window per target scan)."""
    src = gmi_orbit(3400, 30)  # a little more than one orbit
    tgt = gmi_orbit(30, 30, start_arg_lat_deg=20.0, ascending_node_lon_deg=-20.0)
    res = colocate(src, tgt, radius_km=40, method="mean")
    lon, lat = src.lon.values, src.lat.values
    # only the passes near the target matter for the reference
    keep = np.flatnonzero(
        (
            np.abs(great_circle_km(lon, lat, float(tgt.lon.mean()), float(tgt.lat.mean()))) < 2500
        ).any(axis=0)
    )
    sub = src.isel(along_track=keep)
    dist, _, _, _ = brute_force(sub, tgt, 40)
    np.testing.assert_array_equal(res.n_matches.values.ravel(), np.isfinite(dist).sum(axis=1))
    matched_scans = np.unique(res.source_index.values[res.source_index.values >= 0] % 3400)
    assert matched_scans.size > 0


# ------------------------------------------------------------------------------------------
# Dask: lazy and identical for any chunking
# ------------------------------------------------------------------------------------------
def _split(draw, n):
    cuts = draw(st.lists(st.integers(1, n - 1), max_size=5, unique=True))
    edges = [0, *sorted(cuts), n]
    return tuple(b - a for a, b in zip(edges[:-1], edges[1:], strict=False))


@st.composite
def chunkings(draw):
    return (
        _split(draw, 60),
        _split(draw, 120),
        draw(st.sampled_from(["nearest", "mean", "gaussian"])),
    )


_CROSSING = crossing_pair()
_EAGER = {
    m: colocate(*_CROSSING, radius_km=20, method=m, footprint_km=(9.0, 5.0))
    for m in ("nearest", "mean", "gaussian")
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunkings())
def test_any_chunking_gives_identical_result(case):
    tgt_chunks, src_chunks, method = case
    src, tgt = _CROSSING
    lazy = colocate(
        src.chunk(along_track=src_chunks),
        tgt.chunk(along_track=tgt_chunks),
        radius_km=20,
        method=method,
        footprint_km=(9.0, 5.0),
    )
    assert lazy.Tc.chunks is not None
    assert lazy.Tc.chunks[1] == tgt_chunks
    computed = lazy.compute()
    eager = _EAGER[method]
    assert set(computed.data_vars) == set(eager.data_vars)
    assert ("n_matches" in eager) == (method != "nearest")
    for name in eager.data_vars:
        np.testing.assert_array_equal(computed[name].values, eager[name].values, err_msg=name)


@pytest.mark.parametrize("method", ["nearest", "mean", "gaussian"])
@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_identical_result(method, threads):
    # Eager with several threads: chunks of equal work instead of equal length.
    res = colocate(
        *_CROSSING, radius_km=20, method=method, footprint_km=(9.0, 5.0), num_threads=threads
    )
    eager = _EAGER[method]
    assert set(res.data_vars) == set(eager.data_vars)
    for name in eager.data_vars:
        np.testing.assert_array_equal(res[name].values, eager[name].values, err_msg=name)


def test_balanced_chunks_split_the_overlap_and_select_the_same_source_scans():
    from xgpm.colocation import core

    # A long target whose overlap with the source is a short stretch of it.
    src = gmi_orbit(240, 45, start_arg_lat_deg=10.0, ascending_node_lon_deg=0.0)
    tgt = ssmis_orbit(600, 30, ascending_node_lon_deg=19.0, start_arg_lat_deg=-20.0)
    src_geom = core._source_geometry(src)
    tgt_geom, _ = core._target_geometries(tgt, None)
    params = {"r_chord": 20 / EARTH_RADIUS_KM, "max_dt": -1, "sigma_along": 1, "sigma_cross": 1}
    chunks, pre = core._balanced_chunks(src_geom, tgt_geom, params["r_chord"], -1, 2)
    assert sum(chunks) == tgt.sizes["along_track"]
    assert all(c % pre["target_tile"][1] == 0 for c in chunks[:-1])  # on block boundaries
    fast, _ = core._plan_swath(src, src_geom, tgt_geom, ["Tc"], chunks, params, "mean", -1, 2, pre)
    slow, _ = core._plan_swath(src, src_geom, tgt_geom, ["Tc"], chunks, params, "mean", -1)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a[9], b[9])  # the same source scans
        for ca, cb in zip(a[12], b[12], strict=True):  # the same target caps
            np.testing.assert_array_equal(ca, cb)
    # Work per target block: its pixels x the source blocks within reach.
    block_scans = pre["target_tile"][1]
    work = pre["t_caps"][2] * np.diff(pre["pairs"][0])

    def chunk_work(sizes):
        starts = np.concatenate([[0], np.cumsum(sizes)]) // block_scans
        return np.array([work[a:b].sum() for a, b in zip(starts[:-1], starts[1:], strict=True)])

    balanced = chunk_work(chunks)
    step = -(-tgt.sizes["along_track"] // len(chunks) // block_scans) * block_scans
    equal = chunk_work([step] * (tgt.sizes["along_track"] // step) + [600 % step])
    assert balanced.max() <= 1.5 * balanced.mean()
    assert balanced.max() < 0.75 * equal.max()  # equal lengths leave one chunk most of it
    res = colocate(src, tgt, radius_km=20, num_threads=2, on_empty="nan")
    ref = colocate(src, tgt, radius_km=20, on_empty="nan")
    np.testing.assert_array_equal(res.source_index.values, ref.source_index.values)
    assert (ref.source_index.values >= 0).sum() > 100


def test_lazy_tasks_get_only_needed_source_scans():
    from xgpm.colocation import core

    _, tgt = _CROSSING
    src = gmi_orbit(900, 20, start_arg_lat_deg=-20.0)
    tgt_geom, _ = core._target_geometries(tgt, None)
    src_geom = core._source_geometry(src)
    params = {"r_chord": 20 / EARTH_RADIUS_KM, "max_dt": -1, "sigma_along": 1, "sigma_cross": 1}
    pieces, overlap = core._plan_swath(
        src, src_geom, tgt_geom, ["Tc"], [10] * 6, params, "mean", -1
    )
    assert overlap
    n_source_scans = [p[5].shape[1] for p in pieces]  # each task's copy of the source lon
    assert n_source_scans == [p[9].size for p in pieces]
    assert max(n_source_scans) < src.sizes["along_track"]
    assert min(n_source_scans) < max(n_source_scans)


def test_result_is_lazy_for_dask_source():
    src, tgt = _CROSSING
    res = colocate(src.chunk(along_track=30), tgt, radius_km=20)
    import dask.array as da

    assert isinstance(res.Tc.data, da.Array)


# ------------------------------------------------------------------------------------------
# Grids
# ------------------------------------------------------------------------------------------
def test_swath_to_latlon_grid_mean():
    src = small_gmi(60, 45)
    grid = xr.Dataset(coords={"lat": np.arange(-2.0, 12.0, 0.5), "lon": np.arange(-5.0, 20.0, 0.5)})
    res = colocate(src, grid, radius_km=25, method="mean")
    assert res.Tc.dims == ("lat", "lon")
    glon, glat = np.meshgrid(grid.lon.values, grid.lat.values)
    tgt_like = xr.Dataset(coords={"lon": (("a", "b"), glon), "lat": (("a", "b"), glat)})
    dist, _, _, _ = brute_force(src, tgt_like, 25)
    inside = np.isfinite(dist)
    vals = src.Tc.values.astype(np.float64).ravel()
    with np.errstate(invalid="ignore"):
        expected = (inside * vals[None, :]).sum(axis=1) / inside.sum(axis=1)
    assert inside.any(axis=1).sum() > 20
    np.testing.assert_allclose(res.Tc.values.ravel(), expected, rtol=1e-6)


def test_swath_to_projected_grid():
    pytest.importorskip("pyproj")
    from pyproj import Transformer

    src = small_gmi(60, 45)
    crs = "+proj=laea +lat_0=5 +lon_0=8 +ellps=WGS84"
    grid = xr.Dataset(
        coords={"x": np.arange(-300e3, 300e3, 25e3), "y": np.arange(-300e3, 300e3, 25e3)},
        attrs={"crs": crs},
    )
    res = colocate(src, grid, radius_km=20)
    assert res.Tc.dims == ("y", "x")
    gx, gy = np.meshgrid(grid.x.values, grid.y.values)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(gx, gy)
    tgt_like = xr.Dataset(coords={"lon": (("a", "b"), lon), "lat": (("a", "b"), lat)})
    _, index, _, unique = brute_force(src, tgt_like, 20)
    got = res.source_index.values.ravel()
    assert (index >= 0).sum() > 50
    np.testing.assert_array_equal(got[unique], index[unique])


def _global_grid(step=1.0):
    lat = np.arange(-89.5, 90.0, step)
    lon = np.arange(-180.0, 180.0, step)
    return xr.Dataset(coords={"lat": lat, "lon": lon})


def test_grid_to_swath_bilinear_and_nearest():
    grid = _global_grid(0.5)
    # bilinear reproduces a field linear in lat and lon exactly (away from the antimeridian)
    field = 2.0 * grid.lat + 0.5 * grid.lon
    grid["rain"] = field.transpose("lat", "lon")
    swath = small_gmi(40, 30, ascending_node_lon_deg=20.0)
    res = colocate(grid, swath, radius_km=50, method="bilinear")
    expected = 2.0 * swath.lat.astype("f8") + 0.5 * swath.lon.astype("f8")
    np.testing.assert_allclose(res.rain.values, expected.values, atol=1e-3)
    # nearest: the exact nearest grid node (brute force over the nodes)
    res_n = colocate(grid, swath, radius_km=50, method="nearest")
    sub = grid.sel(lat=slice(-15, 25), lon=slice(0, 50))
    glon, glat = np.meshgrid(sub.lon.values, sub.lat.values)
    d = great_circle_km(
        swath.lon.values.ravel()[:, None],
        swath.lat.values.ravel()[:, None],
        glon.ravel(),
        glat.ravel(),
    )
    near = np.argmin(d, axis=1)
    np.testing.assert_allclose(res_n.distance.values.ravel(), d.min(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(res_n.rain.values.ravel(), sub.rain.values.ravel()[near])


def test_grid_to_swath_antimeridian_periodic():
    grid = _global_grid(1.0)
    grid["v"] = (("lat", "lon"), synthetic_field(*np.meshgrid(grid.lon, grid.lat)))
    swath = small_gmi(40, 30, ascending_node_lon_deg=178.0)
    res = colocate(grid, swath, radius_km=100, method="bilinear")
    assert np.isfinite(res.v).all()
    assert (swath.lon > 179.5).any() or (swath.lon < -179.5).any()


def test_grid_source_picks_nearest_time_step():
    grid = _global_grid(1.0)
    times = np.array(["2020-01-01T00:00", "2020-01-01T00:30"], dtype="datetime64[ns]")
    grid = grid.assign_coords(time=times)
    grid["rain"] = (("time", "lat", "lon"), np.stack([np.zeros((180, 360)), np.ones((180, 360))]))
    swath = small_gmi(40, 30, start_time="2020-01-01T00:20")
    res = colocate(grid, swath, radius_km=100, method="nearest", max_dt="15min")
    np.testing.assert_array_equal(res.rain.values, 1.0)
    assert (np.abs(res.time_offset) <= np.timedelta64(15, "m")).all()


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------
def test_missing_lat_names_the_variable():
    src, tgt = crossing_pair()
    with pytest.raises(InvalidArgumentError, match="'lat'"):
        colocate(src.drop_vars("lat"), tgt, radius_km=10)
    with pytest.raises(InvalidArgumentError, match="target has no 'lat'"):
        colocate(src, tgt.drop_vars("lat"), radius_km=10)


def test_mismatched_lon_lat_shapes():
    src, tgt = crossing_pair()
    bad = src.assign_coords(lat=(("cross_track", "other"), np.zeros((45, 3), "f4")))
    with pytest.raises(InvalidArgumentError, match=r"source\['lon'\].*source\['lat'\]"):
        colocate(bad, tgt, radius_km=10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"radius_km": -1}, "radius_km"),
        ({"radius_km": 10, "method": "kriging"}, "method"),
        ({"radius_km": 10, "method": "gaussian"}, "footprint"),
        ({"radius_km": 10, "method": "gaussian", "footprint_km": (1, 2, 3)}, "footprint_km"),
        ({"radius_km": 10, "max_dt": "soon"}, "max_dt"),
        ({"radius_km": 10, "variables": ["nope"]}, "nope"),
        ({"radius_km": 10, "on_empty": "ignore"}, "on_empty"),
        ({"radius_km": 10, "method": "bilinear"}, "bilinear"),
    ],
)
def test_bad_arguments(kwargs, match):
    src, tgt = crossing_pair()
    with pytest.raises(InvalidArgumentError, match=match):
        colocate(src, tgt, **kwargs)


def test_no_overlap_raises_or_returns_nan():
    src = small_gmi(30, 20)
    far = small_ssmis(20, 20, ascending_node_lon_deg=150.0)
    with pytest.raises(NoOverlapError, match=r"lat \[.*lon \["):
        colocate(src, far, radius_km=10)
    res = colocate(src, far, radius_km=10, on_empty="nan")
    assert np.isnan(res.Tc).all() and (res.source_index == -1).all()
    later = src.assign_coords(time=src.time + np.timedelta64(1, "D"))
    with pytest.raises(NoOverlapError, match="time"):
        colocate(later, src, radius_km=10, max_dt="10min")


def test_max_dt_without_time_is_an_error():
    src, tgt = crossing_pair()
    with pytest.raises(InvalidArgumentError, match="time"):
        colocate(src.drop_vars("time"), tgt, radius_km=10, max_dt="5min")


def test_extra_dims_are_kept():
    src, tgt = crossing_pair()
    freq = ["89V", "89H"]
    src["Tc"] = (
        ("cross_track", "along_track", "pmw_frequency"),
        np.stack([src.Tc, src.Tc + 1], -1),
    )
    src = src.assign_coords(pmw_frequency=freq)
    res = colocate(src, tgt, radius_km=15, method="mean")
    assert res.Tc.dims == ("cross_track", "along_track", "pmw_frequency")
    assert list(res.pmw_frequency.values) == freq
    diff = (res.Tc.sel(pmw_frequency="89H") - res.Tc.sel(pmw_frequency="89V")).values
    np.testing.assert_allclose(diff[np.isfinite(diff)], 1.0, rtol=1e-5)


def test_gaussian_footprint_from_sensor_registry():
    sensors = pytest.importorskip("xgpm.sensors")
    fp = sensors.get("GMI").channel("89V").footprint_km
    src = dpr_orbit(200, 49)
    tgt = gmi_orbit(40, 30, start_arg_lat_deg=-1.0)  # attrs["sensor"] == "GMI"
    from_registry = colocate(src, tgt, radius_km=12, method="gaussian", channel="89V")
    explicit = colocate(src, tgt, radius_km=12, method="gaussian", footprint_km=fp)
    np.testing.assert_array_equal(from_registry.Tc.values, explicit.Tc.values)
    with pytest.raises(InvalidArgumentError, match="channel"):
        colocate(src, tgt, radius_km=12, method="gaussian")


def test_target_dim_order_is_kept():
    src, tgt = crossing_pair()
    res = colocate(src, tgt, radius_km=15, method="mean")
    flipped = tgt.transpose("along_track", "cross_track")
    res_t = colocate(src, flipped, radius_km=15, method="mean")
    assert res_t.Tc.dims == ("along_track", "cross_track")
    np.testing.assert_array_equal(res_t.Tc.values, res.Tc.values.T)


def test_all_nan_geolocation_is_no_overlap():
    src, tgt = crossing_pair()
    nan_src = src.assign_coords(lon=src.lon * np.nan)
    with pytest.raises(NoOverlapError, match="no valid lat/lon"):
        colocate(nan_src, tgt, radius_km=15)


def test_grid_target_with_time_steps():
    src = small_gmi(60, 45)  # scans from 00:00 to ~00:02
    times = np.array(["2020-01-01T00:01", "2020-01-01T03:00"], dtype="datetime64[ns]")
    grid = xr.Dataset(
        coords={"time": times, "lat": np.arange(0.0, 10.0, 0.5), "lon": np.arange(0.0, 20.0, 0.5)}
    )
    res = colocate(src, grid, radius_km=20, max_dt="10min", on_empty="nan")
    assert res.Tc.dims == ("time", "lat", "lon")
    assert np.isfinite(res.Tc.isel(time=0)).any()
    assert np.isnan(res.Tc.isel(time=1)).all()
    single = colocate(src, grid.isel(time=0), radius_km=20, max_dt="10min")
    np.testing.assert_array_equal(res.Tc.isel(time=0).values, single.Tc.values)


# ------------------------------------------------------------------------------------------
# Kernel building blocks: trigonometry, bounding caps and slabs, index arithmetic
# ------------------------------------------------------------------------------------------
def test_vectorised_unit_vectors_match_numpy():
    from xgpm.colocation import _kernels as k

    rng = np.random.default_rng(3)
    lon = np.concatenate([rng.uniform(-360, 360, 5000), [-180, 180, 0, 45, 90, -90, 135, 360]])
    lat = np.concatenate([rng.uniform(-90, 90, 5000), [90, -90, 0, 45, -45, 89.99, 0, 1]])
    out = np.empty((3, lon.size))
    k._xyz_run(lon, lat, out, lon.size)
    lo, la = np.deg2rad(lon), np.deg2rad(lat)
    ref = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    # numpy's reference rounds the angle in radians (cos(pi/2) = 6e-17): a few ulp apart.
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-15)
    # Invalid geolocation gives NaN unit vectors (the search never matches them).
    bad = np.empty((3, 4))
    k._xyz_run(np.array([np.nan, 0, 0, 10]), np.array([0, np.nan, 91, -90.5]), bad, 4)
    assert np.isnan(bad).all()


@pytest.mark.parametrize("n", [1, 7, 49, 7934, 2**31 + 5])
def test_float_divmod_equals_integer_divmod(n):
    from xgpm.colocation import _kernels as k

    rng = np.random.default_rng(n)
    multiples = np.arange(1, 300, 7, dtype=np.int64) * n  # and their neighbours
    values = np.concatenate([rng.integers(0, n * 300, 2000), multiples, multiples - 1, [0, 1]])
    for i in values:
        assert k._divmod(np.int64(i), n, 1.0 / n) == divmod(int(i), n)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    node=st.floats(-180, 180),
    arg_lat=st.floats(0, 360),
    incl=st.floats(20, 100),
    tile=st.sampled_from([(7, 8), (13, 5), (6, 5), (1, 3), (40, 2)]),
    wrap=st.booleans(),
)
def test_caps_and_slabs_bound_every_pixel(node, arg_lat, incl, tile, wrap):
    """Pruning is exact only if every pixel lies in its tile's and block's caps and in its scan
    segment's slab: check on swaths over the poles and the antimeridian, with NaN pixels."""
    from xgpm.colocation import _kernels as k

    ds = conical_swath(
        40,
        25,
        altitude_km=407,
        inclination_deg=incl,
        swath_width_km=900,
        look_distance_km=480,
        scan_period_s=1.9,
        ascending_node_lon_deg=node,
        start_arg_lat_deg=arg_lat,
    )
    lon = ds.lon.values.copy()
    lat = ds.lat.values.copy()
    if wrap:  # longitudes in [0, 360): boxes are found the slow way
        lon = np.where(lon < 0, lon + 360, lon)
    lon[3, 5] = np.nan
    lat[:, 11] = np.nan  # a missing scan
    time = np.zeros(lon.shape[1], dtype=np.int64)
    xyz = np.empty((3, lon.size))
    k._xyz_run(lon.ravel(), lat.ravel(), xyz, lon.size)
    xyz = xyz.reshape(3, *lon.shape)
    block_c, block_r, block_n, _, tile_c, tile_r, tile_n = k.tile_caps(lon, lat, time, False, *tile)
    tp, ts = tile
    nbs, nbx = tile_r.shape
    pts = np.empty((3, tp * ts))
    buf = np.empty((2, tp * ts))
    fine_c = np.empty(3)
    seg = np.empty((ts, 4))
    for b in range(nbs):
        for kk in range(nbx):
            q = xyz[:, kk * tp : (kk + 1) * tp, b * ts : (b + 1) * ts]
            valid = np.isfinite(q[0])
            assert tile_n[b, kk] == valid.sum()
            q = q[:, valid]
            if q.size == 0:
                continue
            chord_tile = np.linalg.norm(q - tile_c[b, kk][:, None], axis=0)
            assert (chord_tile <= tile_r[b, kk]).all()
            chord_block = np.linalg.norm(q - block_c[b][:, None], axis=0)
            assert (chord_block <= block_r[b]).all()
            fine_r = k._fill_tile(
                lon, lat, np.arange(lon.shape[1]), time, False, b, kk, tp, ts, pts, buf, fine_c, seg
            )
            filled = pts[:, np.isfinite(pts[0])]
            assert filled.shape[1] == q.shape[1]
            assert (np.linalg.norm(filled - fine_c[:, None], axis=0) <= fine_r).all()
            for ls in range(min(ts, lon.shape[1] - b * ts)):
                seg_pts = pts[:, ls * tp : (ls + 1) * tp]
                seg_pts = seg_pts[:, np.isfinite(seg_pts[0])]
                if seg_pts.size == 0:
                    continue
                # No pixel is nearer to a point than the slab says: |p . n| - width.
                probes = q[:, :: max(1, q.shape[1] // 7)] + 0.01 * np.random.default_rng(b).normal(
                    size=(3, 1)
                )
                for p in probes.T:
                    p = p / np.linalg.norm(p)
                    lower = abs(p @ seg[ls, :3]) - seg[ls, 3]
                    assert lower <= np.linalg.norm(seg_pts - p[:, None], axis=0).min()


def test_nearest_of_integer_variable_with_extra_dims():
    src, tgt = crossing_pair()
    counts = np.arange(src.lon.size * 2, dtype=np.int16).reshape(*src.lon.shape, 2)
    src["counts"] = (("cross_track", "along_track", "channel"), counts)
    res = colocate(src, tgt, radius_km=15, variables=["counts"], num_threads=2)
    assert res.counts.dtype == np.float32
    index = res.source_index.values
    ok = index >= 0
    assert ok.sum() > 100
    flat = counts.reshape(-1, 2)
    np.testing.assert_array_equal(res.counts.values[ok], flat[index[ok]])
    assert np.isnan(res.counts.values[~ok]).all()
