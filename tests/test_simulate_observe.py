"""The observing half of the simulator: orbits, instruments, products, writing, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xgpm
from xgpm import sensors
from xgpm.errors import InvalidArgumentError, UnknownSensorError
from xgpm.io.odim import france_1km, open_radar_composite, write_radar_composite
from xgpm.simulate import imerg as imerg_sim
from xgpm.simulate import instruments, orbits
from xgpm.simulate import products as P

# A small box over central France crossed by GMI (+DPR) and SSMIS-F17 on 2021-01-01 05-07 UTC.
SMALL = P.Region.square("small", 46.5, 2.5, 300.0)
T0, T1 = "2021-01-01T05:00", "2021-01-01T07:00"


# --------------------------------------------------------------------------------------------
# A cheap synthetic world (the observing system is tested apart from the physics)
# --------------------------------------------------------------------------------------------


def _grid(lat, lon):
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if lat.ndim == 1:
        lat, lon = np.meshgrid(lat, lon, indexing="ij")
    return lat, lon


def make_truth(rain_fn):
    """A static truth_scene stand-in whose rain is ``rain_fn(lat, lon)``."""

    def truth(lat, lon, times, *, seed, resolution_km=None):
        lat, lon = _grid(lat, lon)
        times = np.asarray(times, dtype="datetime64[ns]")
        rain = np.broadcast_to(rain_fn(lat, lon), lat.shape).astype("float32")
        ptype = np.where(rain > 5, 2, np.where(rain > 0, 1, 0)).astype("int8")
        nt = len(times)
        data = {
            "surface_precip": np.repeat(rain[None], nt, 0),
            "precip_type": np.repeat(ptype[None], nt, 0),
            "t2m": np.full((nt, *lat.shape), 285.0, "float32"),
            "surface_type": np.zeros((nt, *lat.shape), "int8"),
        }
        return xr.Dataset(
            {k: (("time", "y", "x"), v) for k, v in data.items()},
            coords={"time": times, "lat": (("y", "x"), lat), "lon": (("y", "x"), lon)},
        )

    return truth


def cells(lat, lon):
    """Rain cells ~15 km across on a fixed lattice: strong small-scale structure."""
    wave = np.cos(np.deg2rad(lat) * 2 * np.pi / np.deg2rad(0.25)) * np.cos(
        np.deg2rad(lon) * 2 * np.pi / np.deg2rad(0.35)
    )
    return 12.0 * np.clip(wave, 0, None) ** 3


def linear_rtm(scene, channels, incidence=None):
    """TB falls 4 K per mm/h from 280 K: enough to see footprints, no physics."""
    rain = scene["surface_precip"]
    tbs = [280.0 - 4.0 * rain * (1 + 0.001 * ch.frequency) for ch in channels]
    return xr.concat(tbs, dim="pmw_frequency").assign_coords(
        pmw_frequency=[c.label for c in channels]
    )


SYNTH = {"truth_fn": make_truth(cells), "rtm_fn": linear_rtm}


def _products(sensor_list, region=SMALL, seed=0, **kw):
    args = {**SYNTH, **kw}
    return list(P.simulate(region, T0, end=T1, sensors=sensor_list, seed=seed, **args))


# --------------------------------------------------------------------------------------------
# Orbits
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["GMI", "TMI", "SSMIS-F17", "MHS-METOPB", "AMSR2-GCOMW1"])
def test_orbit_reaches_its_inclination_and_keeps_its_period(name):
    sensor = sensors.get(name)
    model = orbits.orbit_model(sensor)
    track = orbits.ground_track(sensor, "2021-03-01", "2021-03-02", step="10s")
    incl = sensor.orbit.inclination_deg
    expected = incl if incl <= 90 else 180.0 - incl
    # Sun-synchronous orbits use the exact SSO inclination for their altitude (within 0.3 deg).
    assert abs(float(np.abs(track.lat).max()) - expected) < 0.35
    assert abs(model.period_s / 60.0 - sensor.orbit.period_min) / sensor.orbit.period_min < 0.01


def test_sun_synchronous_node_local_time_does_not_drift():
    model = orbits.orbit_model("SSMIS-F17")
    times = np.array(["2021-01-01", "2021-01-16", "2021-02-01"], dtype="datetime64[ns]")
    ltan = model.ascending_node_local_time(times)
    assert np.allclose(ltan, sensors.get("SSMIS-F17").orbit.ascending_node_local_time, atol=1e-6)
    assert abs(model.raan_rate_deg_s * 86400.0 - 0.98565) < 1e-4


def test_low_inclination_orbits_precess_through_local_times():
    """J2 regression: TRMM's 35 deg orbit cycles the diurnal cycle in ~46 days, GPM's in ~83."""
    cycles = {}
    for name in ("TMI", "GMI"):
        model = orbits.orbit_model(name)
        t = np.array(["2021-01-01", "2021-01-11"], dtype="datetime64[ns]")
        lt = model.ascending_node_local_time(t)
        drift_h_per_day = ((lt[1] - lt[0] + 12) % 24 - 12) / 10.0
        cycles[name] = 24.0 / abs(drift_h_per_day)
    assert 44 < cycles["TMI"] < 48
    assert 78 < cycles["GMI"] < 88


def test_granules_start_at_the_southernmost_latitude():
    grs = orbits.granules("GMI", "2021-01-01", "2021-01-02")
    assert [g.number for g in grs] == list(range(grs[0].number, grs[0].number + len(grs)))
    model = orbits.orbit_model("GMI")
    for g in grs[:3]:
        around = g.start + np.array([-60, 0, 60], dtype="timedelta64[s]")
        lat, _ = model.subsatellite(around)
        assert lat[1] == pytest.approx(-65.0, abs=1e-3)
        assert lat[1] < lat[0] and lat[1] < lat[2]
        assert model.orbit_number(np.array([g.start, g.end - np.timedelta64(1, "s")])).tolist() == [
            g.number,
            g.number,
        ]
    # Consecutive granules tile time.
    assert all(a.end == b.start for a, b in zip(grs, grs[1:], strict=False))


def test_conical_swath_geometry_follows_the_registry():
    gmi = sensors.get("GMI")
    g = orbits.granules(gmi, "2021-01-01", "2021-01-02")[0]
    geom = orbits.swath_geometry(gmi, g, scans=slice(1000, 1010))
    s1, s2 = geom.modes["S1"], geom.modes["S2"]
    assert s1.lat.shape == (221, 10)
    width = abs(s1.c_km[-1, 0] - s1.c_km[0, 0])
    assert width == pytest.approx(gmi.swath_width_km, rel=0.02)
    assert np.allclose(s1.incidence, 52.8) and np.allclose(s2.incidence, 49.19)
    spacing = float(np.median(np.diff(geom.s_scan_km)))
    assert spacing == pytest.approx(gmi.scan_spacing_km, rel=0.05)
    # The same scans computed from the full granule are identical.
    full = orbits.swath_geometry(gmi, g)
    assert np.array_equal(full.modes["S1"].lat[:, 1000:1010], s1.lat)


@pytest.mark.parametrize("name,n_pix", [("MHS-METOPB", 90), ("ATMS-NOAA20", 96)])
def test_cross_track_geometry_incidence_grows_to_the_edges(name, n_pix):
    sensor = sensors.get(name)
    g = orbits.granules(sensor, "2021-01-01", "2021-01-02")[0]
    geom = orbits.swath_geometry(sensor, g, scans=slice(0, 5))
    mode = next(iter(geom.modes.values()))
    inc = mode.incidence[:, 0]
    assert inc.shape == (n_pix,)
    assert np.allclose(inc, inc[::-1], atol=1e-3)  # symmetric scan
    assert inc.min() < 1.0 and 55.0 < inc.max() < 66.0
    assert np.all(mode.footprint_scale[[0, -1], 0] > 1.8 * mode.footprint_scale[n_pix // 2, 0])
    assert abs(mode.c_km[-1, 0] - mode.c_km[0, 0]) == pytest.approx(sensor.swath_width_km, rel=0.01)


def test_find_coincidences_pairs_overpasses_within_the_window():
    pairs = orbits.find_coincidences("GMI", "SSMIS-F17", "2021-01-01", "2021-01-04", "france", "3h")
    assert len(pairs) > 0
    assert (pairs["dt"].abs() <= pd.Timedelta("3h")).all()
    passes_a = dict(orbits.overpasses("GMI", "2021-01-01", "2021-01-04", "france"))
    for row in pairs.itertuples():
        assert passes_a[row.granule_a] == row.time_a
    tight = orbits.find_coincidences("GMI", "SSMIS-F17", "2021-01-01", "2021-01-04", "france", "1s")
    assert len(tight) < len(pairs)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(InvalidArgumentError, match="known regions"):
        P.get_region("atlantis")
    with pytest.raises(UnknownSensorError):
        list(P.simulate("france", "2021-01-01", days=0.1, sensors="gmx"))
    with pytest.raises(InvalidArgumentError, match="scan mode"):
        orbits.swath_geometry("GMI", 1, scan_modes=["S9"])
    with pytest.raises(InvalidArgumentError, match="after start"):
        orbits.granules("GMI", "2021-01-02", "2021-01-01")


# --------------------------------------------------------------------------------------------
# Instruments
# --------------------------------------------------------------------------------------------


def test_ssmis_low_frequency_field_is_smoother_than_gmi_over_the_same_rain():
    prods = {p.product: p.data for p in _products("gmi,ssmis-f17")}
    gmi = prods["1C-GMI"]["S1"]["Tc"].sel(pmw_frequency="19V").values
    ssmis = prods["1C-SSMIS-F17"]["S1"]["Tc"].sel(pmw_frequency="19V").values
    gmi, ssmis = gmi[np.isfinite(gmi)], ssmis[np.isfinite(ssmis)]
    assert gmi.size > 500 and ssmis.size > 100
    # Same static world, same mean; the 73 x 47 km footprint removes most of the 15 km cells.
    assert abs(gmi.mean() - ssmis.mean()) < 3.0
    assert ssmis.var() < 0.5 * gmi.var()


@pytest.mark.parametrize("crop", [True, False])
def test_pixels_outside_the_region_are_nan_with_full_geometry(crop):
    data = _products("gmi", crop=crop)[0].data["S1"]
    if not crop:  # the whole orbit, as PPS splits it
        assert data.sizes["along_track"] > 2900
    inside = orbits.in_region(data.lon.values, data.lat.values, SMALL)
    tc = data["Tc"].isel(pmw_frequency=0).values
    assert np.isfinite(tc[inside]).all() and np.isnan(tc[~inside]).all()
    assert np.isfinite(data.lon.values).all() and data.sizes["cross_track"] == 221


@pytest.mark.parametrize("rate,detected", [(0.1, False), (2.0, True)])
def test_dpr_misses_rain_below_its_floor(rate, detected):
    truth = make_truth(lambda lat, lon: np.full(lat.shape, rate))
    (dpr,) = _products("dpr", truth_fn=truth)
    fs = dpr.data["FS"]
    rr = fs["precipRateNearSurface"].values
    codes = fs["typePrecip"].values
    valid = np.isfinite(rr)
    assert valid.sum() > 100
    if detected:
        assert (rr[valid] > 0.2).mean() > 0.95
        assert set(np.unique(codes[valid & (rr > 0)] // 10_000_000)) == {1}
    else:
        assert (rr[valid] == 0).all()
        assert (codes[valid] == instruments.TYPE_PRECIP_NO_RAIN).all()


@pytest.mark.parametrize("sigmas", [(3.0, 2.5), (9.0, 6.0), (24.0, 15.0)])
def test_wide_footprints_filtered_on_a_coarser_copy_match_the_direct_filter(sigmas):
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    field = gaussian_filter(rng.normal(size=(400, 300)), 2.0) * 10.0
    idx = np.stack([rng.uniform(100, 300, 2000), rng.uniform(100, 200, 2000)])
    fast = instruments._filtered_sample(field, *sigmas, idx)
    direct = instruments._sample(instruments._filter(field, *sigmas), idx)
    assert np.abs(fast - direct).max() < 0.05 * direct.std()


def test_calibration_residual_is_small_fixed_and_seeded():
    sensor = sensors.get("SSMIS-F17")
    a = instruments.calibration_residual(sensor, 0)
    assert a == instruments.calibration_residual(sensor, 0)
    assert a != instruments.calibration_residual(sensor, 1)
    for off, slope in a.values():
        for tb in (100.0, 250.0, 300.0):
            effect = np.clip(off + slope * (tb - 250), -1, 1)
            assert abs(effect) <= instruments.CALIBRATION_LIMIT_K


def test_noise_matches_the_registry_nedt():
    flat = make_truth(lambda lat, lon: np.zeros(lat.shape))
    (gmi,) = _products("gmi", truth_fn=flat)
    tc = gmi.data["S1"]["Tc"]
    for label in ("10V", "89V"):
        values = tc.sel(pmw_frequency=label).values
        values = values[np.isfinite(values)]
        nedt = sensors.get("GMI").channel(label).nedt
        assert values.std() == pytest.approx(nedt, rel=0.15)


def test_simulation_is_deterministic_for_a_seed():
    a = _products("gmi,dpr", seed=3)
    b = _products("gmi,dpr", seed=3)
    c = _products("gmi,dpr", seed=4)
    for pa, pb in zip(a, b, strict=True):
        for mode in pa.data:
            xr.testing.assert_identical(pa.data[mode], pb.data[mode])
    tc_a = a[0].data["S1"]["Tc"].values
    assert not np.array_equal(tc_a, c[0].data["S1"]["Tc"].values, equal_nan=True)
    # GMI alone gives the same GMI as GMI simulated with the DPR.
    alone = _products("gmi", seed=3)[0].data["S1"]
    xr.testing.assert_identical(alone, a[0].data["S1"])


def test_every_radiometer_of_the_registry_is_simulated_without_branches():
    names = ["GMI", "SSMIS-F16", "SSMIS-F18", "AMSR2-GCOMW1", "MHS-METOPB", "ATMS-NOAA20"]
    found = {
        p.product: p.data
        for p in P.simulate(SMALL, "2021-01-01", days=0.5, sensors=names, seed=0, **SYNTH)
    }
    for name in names:
        sensor = sensors.get(name)
        data = found[sensor.product]
        assert list(data) == list(sensor.scan_modes)
        for mode, ds in data.items():
            assert list(ds.pmw_frequency.values) == list(sensor.scan_modes[mode].labels)
            assert ds.sizes["cross_track"] == sensor.scan_modes[mode].n_pixels


def test_tmi_never_sees_france_but_does_see_the_tropics():
    assert not [p for p in _products("tmi", region=P.get_region("france"))]
    tropics = list(
        P.simulate("tropical-pacific", "2021-01-01", days=1, sensors="tmi", seed=0, **SYNTH)
    )
    assert tropics and tropics[0].product == "1C-TMI"


def test_real_physics_smoke():
    """The real truth and radiative transfer through the swath machinery (small region)."""
    tiny = P.Region.square("tiny", 46.5, 2.5, 120.0)
    prods = list(P.simulate(tiny, T0, end=T1, sensors="gmi", seed=0))
    tc = prods[0].data["S1"]["Tc"].values
    finite = tc[np.isfinite(tc)]
    assert finite.size > 0 and 50.0 < finite.min() and finite.max() < 320.0


def _gmi_small_targets():
    gmi = sensors.get("GMI")
    for granule in orbits.granules("GMI", T0, T1):
        targets = [(gmi, orbits.swath_geometry(gmi, granule.number))]
        if instruments._pixel_mask(targets[0][1].modes["S1"], SMALL).any():
            return targets
    raise AssertionError("no GMI overpass of the test region")


def _observe_small(targets):
    from xgpm.simulate import _noise

    _noise._STATES.clear()
    out = instruments.observe_platform(targets, seed=3, region=SMALL)
    return out[0]["S1"]["Tc"].values, out[0]["S2"]["Tc"].values


def test_wide_footprints_on_the_sub_grid_match_the_full_grid(monkeypatch):
    """10-37 GHz: radiative transfer and footprints on every other node, as on every node."""
    targets = _gmi_small_targets()
    s1, s2 = _observe_small(targets)
    monkeypatch.setattr(instruments, "_RTM_COARSE_STEP", 1)
    full_s1, full_s2 = _observe_small(targets)
    np.testing.assert_array_equal(s2, full_s2)  # 166-183 GHz: narrow footprints, untouched
    labels = [ch.label for ch in sensors.get("GMI").scan_modes["S1"].channels]
    ok = np.isfinite(s1[..., 0])
    assert ok.sum() > 1000
    for i, label in enumerate(labels):
        diff = s1[..., i][ok] - full_s1[..., i][ok]
        if label.startswith("89"):
            np.testing.assert_array_equal(diff, 0.0)
            continue
        # Unbiased, and well within the NEDT (0.65-1.05 K) pixel by pixel on average.
        assert abs(diff.mean()) < 0.1, label
        assert np.sqrt(np.mean(diff**2)) < 0.6, label
        assert np.std(s1[..., i][ok]) == pytest.approx(np.std(full_s1[..., i][ok]), rel=0.02)


def test_narrow_footprints_need_only_their_own_reach(monkeypatch):
    """89-183 GHz skip the nodes only the 10 GHz footprints reach: identical TBs."""
    targets = _gmi_small_targets()
    narrow = _observe_small(targets)
    monkeypatch.setattr(instruments, "_group_needed", lambda grid, channels: grid.needed)
    everywhere = _observe_small(targets)
    for a, b in zip(narrow, everywhere, strict=True):
        np.testing.assert_array_equal(a, b)


class _SerialExecutor:
    """Stand-in for ThreadPoolExecutor that runs every task at once in the calling thread."""

    def __init__(self, max_workers=None, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items):
        return [fn(item) for item in items]

    def submit(self, fn, *args):
        import concurrent.futures

        future = concurrent.futures.Future()
        future.set_result(fn(*args))
        return future


def test_pipelined_blocks_equal_a_serial_run(monkeypatch):
    """The truth of the next block is built in a thread: same output as one block at a time."""
    import concurrent.futures

    from xgpm.simulate import _noise

    gmi, dpr = sensors.get("GMI"), sensors.get("DPR")
    for granule in orbits.granules("GMI", T0, T1):
        targets = [
            (gmi, orbits.swath_geometry(gmi, granule.number)),
            (dpr, orbits.swath_geometry(dpr, granule.number, scan_modes=["FS"])),
        ]
        if instruments._pixel_mask(targets[0][1].modes["S1"], SMALL).any():
            break

    def run():
        _noise._STATES.clear()  # the same engine cache at the start of both runs
        out = instruments.observe_platform(targets, seed=3, region=SMALL, block_km=150.0)
        return out[0]["S1"]["Tc"].values, out[1]["FS"]["precipRateNearSurface"].values

    pipelined = run()
    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", _SerialExecutor)
    serial = run()
    assert np.isfinite(pipelined[0]).sum() > 1000
    for a, b in zip(pipelined, serial, strict=True):
        np.testing.assert_array_equal(a, b)


def test_scan_modes_in_one_forward_model_call_equal_mode_by_mode(monkeypatch):
    """GMI S1 and S2 share one forward-model call per block: the same TBs as one mode at a time."""
    from xgpm.simulate import _noise

    gmi = sensors.get("GMI")
    for granule in orbits.granules("GMI", T0, T1):
        targets = [(gmi, orbits.swath_geometry(gmi, granule.number))]
        if instruments._pixel_mask(targets[0][1].modes["S1"], SMALL).any():
            break
    calls = []
    original = instruments._brightness_of

    def counting(grid, channels, incidence_of_c, rtm_fn):
        calls.append(len(channels))
        return original(grid, channels, incidence_of_c, rtm_fn)

    def run():
        _noise._STATES.clear()
        out = instruments.observe_platform(targets, seed=3, region=SMALL, block_km=150.0)
        return out[0]["S1"]["Tc"].values, out[0]["S2"]["Tc"].values

    monkeypatch.setattr(instruments, "_brightness_of", counting)
    fused = run()
    assert calls and set(calls) == {13}  # 9 S1 + 4 S2 channels in each call
    original_brightness = instruments._brightness

    def one_mode_at_a_time(grid, sensor, mode_name, incidence_of_c=None, rtm_fn=None):
        grid.memo.pop(("modes", sensor.name), None)
        return original_brightness(grid, sensor, mode_name, incidence_of_c, rtm_fn)

    calls.clear()
    monkeypatch.setattr(instruments, "_brightness", one_mode_at_a_time)
    separate = run()
    assert set(calls) == {9, 4}
    assert np.isfinite(fused[0]).sum() > 1000
    for a, b in zip(fused, separate, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("ny", "nx", "k"), [(33, 45, 4), (1, 9, 4), (5, 1, 4), (9, 13, 2)])
def test_lattice_interpolation_kernel_equals_numpy_upsample(ny, nx, k):
    """The in-place numba interpolation of the RTM lattice gives the numpy values exactly."""
    from xgpm.simulate import _scene_kernels

    rng = np.random.default_rng(ny * nx)
    full = rng.normal(250.0, 20.0, (3, ny, nx)).astype("float32")
    keep = rng.random((ny, nx)) < 0.3
    expected = instruments._upsample(full[:, ::k, ::k], k, (ny, nx))
    expected[:, keep] = full[:, keep]
    _scene_kernels.upsample_into(full, np.ascontiguousarray(full[:, ::k, ::k]), k, keep)
    np.testing.assert_array_equal(full, expected)


# --------------------------------------------------------------------------------------------
# Files: 1C/2A through xgpm.write_granule, GPM-API, ODIM, resuming, CLI
# --------------------------------------------------------------------------------------------


def test_simulated_granules_open_with_xgpm_and_gpm_api(tmp_path):
    prods = _products("gmi,ssmis-f17,dpr")
    region = SMALL
    for prod in prods:
        path = P._write(prod, tmp_path / prod.product, region, "V07A")
        assert xgpm.parse_filename(path).granule == prod.granule
        for mode, ds in prod.data.items():
            var = "Tc" if "Tc" in ds else "precipRateNearSurface"
            back = xgpm.open_granule(path, scan_mode=mode).compute()
            np.testing.assert_array_equal(back[var].transpose(*ds[var].dims).values, ds[var].values)
            np.testing.assert_array_equal(back["lat"].values, ds["lat"].values)
    gpm = pytest.importorskip("gpm")
    gmi = next(p for p in prods if p.product == "1C-GMI")
    path = next((tmp_path / "1C-GMI").glob("*.HDF5"))
    for mode, ds in gmi.data.items():
        theirs = gpm.open_granule_dataset(str(path), scan_mode=mode).compute()
        np.testing.assert_array_equal(
            theirs["Tc"].transpose(*ds["Tc"].dims).values, ds["Tc"].values
        )


def test_radar_composite_odim_round_trip(tmp_path):
    (prod,) = list(
        P.simulate_radar(SMALL, "2021-01-01T06:00", "2021-01-01T06:05", truth_fn=make_truth(cells))
    )
    ds = prod.data
    assert ds.ACRR.shape == (1, 300, 300)
    path = P._write(prod, tmp_path, SMALL, "V07A")
    back = open_radar_composite(path)
    acrr, orig = back["ACRR"].values, ds["ACRR"].values
    assert np.array_equal(np.isnan(acrr), np.isnan(orig))
    assert np.nanmax(np.abs(acrr - orig)) <= 0.005 + 1e-6  # gain 0.01 mm
    assert np.array_equal(acrr == 0, (orig < 0.005))  # undetect and rounded-to-zero
    np.testing.assert_allclose(back.lat.values, ds.lat.values, atol=1e-4)
    assert back.attrs["projdef"] == ds.attrs["projdef"]
    assert pd.Timestamp(back.time.values[0]) == pd.Timestamp("2021-01-01T06:00")


def test_radar_composite_degrades_with_range_and_blockage():
    region = P.get_region("france")
    grid = france_1km().cut(*region.center, 800.0)
    assert (grid.xsize, grid.ysize) == (800, 800)
    lon, lat = grid.lonlat()
    assert lat.min() > 41.5 and lat.max() < 51.5
    (prod,) = list(
        P.simulate_radar(
            region,
            "2021-01-01T06:00",
            "2021-01-01T06:05",
            truth_fn=make_truth(lambda la, lo: np.full(la.shape, 3.0)),
        )
    )
    acrr = prod.data["ACRR"].values[0]
    quality = prod.data["quality"].values[0]
    assert np.isnan(acrr).any() and np.isfinite(acrr).mean() > 0.8  # corners out of range
    truth_mm = 3.0 * 5 / 60
    assert np.nanpercentile(acrr, 99) < 1.6 * truth_mm  # 20 % log-normal noise, underestimation
    good, poor = quality > 0.8, (quality > 0) & (quality < 0.2)
    assert np.nanmean(acrr[good]) > np.nanmean(acrr[poor])


def test_write_radar_composite_rejects_bad_input(tmp_path):
    grid = france_1km().cut(46.5, 2.5, 10.0)
    with pytest.raises(xgpm.errors.WriteError, match="shape"):
        write_radar_composite(tmp_path / "x.h5", np.zeros((3, 3)), grid, "2021", "2021")
    with pytest.raises(InvalidArgumentError, match="quantity"):
        write_radar_composite(
            tmp_path / "x.h5", np.zeros((10, 10)), grid, "2021", "2021", quantity="DBZ"
        )
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(xgpm.errors.NotHDF5Error):
        open_radar_composite(tmp_path / "bad.h5")


def test_imerg_fields_are_consistent_with_each_other():
    prods = list(
        P.simulate_imerg(
            SMALL, "2021-01-01T04:00", "2021-01-01T09:00", seed=0, truth_fn=make_truth(cells)
        )
    )
    assert len(prods) == 10
    ds = xr.concat([p.data for p in prods], dim="time")
    assert ds.attrs["gpm_api_product"] == "IMERG-FR"
    assert np.allclose(np.diff(ds.lat.values), 0.1, atol=1e-4)
    src = ds["MWprecipSource"].values
    has_mw = src > 0
    assert has_mw.any() and (~has_mw).any()
    codes = {s.imerg_source_code for s in map(sensors.get, P.IMERG_CONSTELLATION)}
    assert set(np.unique(src[has_mw])) <= codes
    obs = ds["MWobservationTime"].values
    assert ((obs[has_mw] >= 0) & (obs[has_mw] <= 29)).all() and np.isnan(obs[~has_mw]).all()
    assert np.isnan(ds["MWprecipitation"].values[~has_mw]).all()
    ir = ds["IRinfluence"].values
    q = ds["precipitationQualityIndex"].values
    assert ir[has_mw].mean() < 10 and q[has_mw].mean() > 0.75
    assert np.corrcoef(ir.ravel(), q.ravel())[0, 1] < -0.5
    assert q[ir >= 20].mean() < q[ir == 0].mean()
    # IR-dominated estimates are further from the (static) truth than those at an overpass.
    truth = imerg_sim._truth_grid_mean(
        ds.lat.values,
        ds.lon.values,
        ds.time.values[:1],
        0,
        3,
        ["surface_precip"],
        make_truth(cells),
    )["surface_precip"]
    error = np.abs(ds["precipitation"].values - truth)
    assert error[ir >= 20].mean() > 1.5 * error[has_mw].mean()
    assert (ds["precipitation"].values >= 0).all()
    near = has_mw & (ds["MWprecipitation"].values > 0)
    assert (
        np.corrcoef(ds["precipitation"].values[near], ds["MWprecipitation"].values[near])[0, 1]
        > 0.8
    )


def test_imerg_writes_through_the_writer(tmp_path):
    (prod,) = list(
        P.simulate_imerg(
            SMALL, "2021-01-01T06:00", "2021-01-01T06:30", seed=0, truth_fn=make_truth(cells)
        )
    )
    path = P._write(prod, tmp_path, SMALL, "V07A")
    assert path.name.startswith("3B-HHR.MS.MRG.3IMERG.20210101-S060000-E062959.0360.V07A")
    back = xgpm.open_granule(path).compute()
    sub = back["precipitation"].sel(lat=prod.data.lat, lon=prod.data.lon, method="nearest")
    np.testing.assert_allclose(
        sub.transpose(*prod.data["precipitation"].dims).values,
        prod.data["precipitation"].values,
    )


def _mtimes(root):
    return {p.relative_to(root): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_simulate_to_disk_is_resumable_and_catalogued(tmp_path):
    kw = dict(
        region=SMALL,
        start="2021-01-01T05:30",
        end="2021-01-01T06:30",
        sensors="gmi,dpr,imerg,radar",
        seed=1,
        radar_step="30min",
        progress=False,
        **SYNTH,
    )
    cat = P.simulate_to_disk(tmp_path, **kw)
    assert set(cat["product"]) == {"1C-GMI", "2A-DPR", "IMERG-FR", "RADAR-COMPOSITE"}
    assert len(cat[cat["product"] == "IMERG-FR"]) == 2
    assert all((tmp_path / p).exists() for p in cat["path"])
    on_disk = pd.read_csv(tmp_path / "catalog.csv")
    assert list(on_disk.columns) == list(P.CATALOG_COLUMNS) and len(on_disk) == len(cat)
    before = _mtimes(tmp_path)
    # A second run writes nothing new; a leftover temporary file is ignored.
    (tmp_path / "1C-GMI" / ".partial.HDF5.tmp123").write_bytes(b"junk")
    cat2 = P.simulate_to_disk(tmp_path, **kw)
    after = _mtimes(tmp_path)
    for path, mtime in before.items():
        if path.name != "catalog.csv":
            assert after[path] == mtime, path
    pd.testing.assert_frame_equal(
        cat2.sort_values("path").reset_index(drop=True),
        cat.sort_values("path").reset_index(drop=True),
    )
    # Delete one granule and one radar file: only they are rewritten, identically.
    gmi_rel = cat.loc[cat["product"] == "1C-GMI", "path"].iloc[0]
    radar_rel = cat.loc[cat["product"] == "RADAR-COMPOSITE", "path"].iloc[0]
    old = xgpm.open_granule(tmp_path / gmi_rel, scan_mode="S1").compute()
    (tmp_path / gmi_rel).unlink()
    (tmp_path / radar_rel).unlink()
    P.simulate_to_disk(tmp_path, **kw)
    final = _mtimes(tmp_path)
    changed = {
        p
        for p in final
        if p.name != "catalog.csv" and not p.name.startswith(".") and final[p] != before.get(p)
    }
    assert {str(p) for p in changed} == {gmi_rel, radar_rel}
    new = xgpm.open_granule(tmp_path / gmi_rel, scan_mode="S1").compute()
    np.testing.assert_array_equal(new["Tc"].values, old["Tc"].values)


def test_damaged_file_is_rewritten(tmp_path):
    kw = dict(region=SMALL, start=T0, end=T1, sensors="dpr", seed=0, progress=False, **SYNTH)
    cat = P.simulate_to_disk(tmp_path, **kw)
    path = tmp_path / cat["path"].iloc[0]
    raw = path.read_bytes()
    # Read the good file from a copy: the reader may cache the handle of ``path`` itself.
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / path.name).write_bytes(raw)
    good = xgpm.open_granule(tmp_path / "copy" / path.name, scan_mode="FS").compute()
    path.write_bytes(raw[: len(raw) // 3])  # truncated by a crash
    P.simulate_to_disk(tmp_path, **kw)
    again = xgpm.open_granule(path, scan_mode="FS").compute()
    for var in ("precipRateNearSurface", "typePrecip", "lat", "lon"):
        np.testing.assert_array_equal(again[var].values, good[var].values)


def test_cli_simulates_and_resumes(tmp_path, capsys):
    from xgpm.simulate import cli

    argv = [
        "simulate",
        "--region",
        "2.0,3.0,46.0,47.0",
        "--start",
        "2021-01-01T06:00",
        "--days",
        "0.03",
        "--sensors",
        "gmi",
        "--out",
        str(tmp_path),
        "--seed",
        "5",
        "--no-progress",
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "1C-GMI" in out
    cat = pd.read_csv(tmp_path / "catalog.csv")
    assert list(cat["product"]) == ["1C-GMI"]
    before = _mtimes(tmp_path / "1C-GMI")
    assert cli.main(argv) == 0
    assert _mtimes(tmp_path / "1C-GMI") == before
