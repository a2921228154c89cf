"""Physics of the constellation simulator: truth scenes and the microwave forward model."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from xgpm import sensors
from xgpm.errors import InvalidArgumentError, MissingVariableError, XGPMError
from xgpm.simulate import brightness_temperature, brightness_temperatures, truth_scene
from xgpm.simulate.scenes import REGIMES

RES_KM = 4.0  # coarser random engine than the default 2 km keeps the tests fast


def column(n: int, **fields) -> xr.Dataset:
    """A scene of ``n`` independent columns (dim ``x``); defaults are a clear mid-latitude sky."""
    base = {
        "surface_precip": 0.0,
        "precip_type": 0,
        "rain_water_path": 0.0,
        "cloud_liquid_path": 0.0,
        "ice_water_path": 0.0,
        "total_column_water_vapor": 20.0,
        "skin_temperature": 290.0,
        "t2m": 289.0,
        "wind_speed": 7.0,
        "surface_type": 0,
        "land_fraction": 0.0,
    }
    base.update(fields)
    return xr.Dataset(
        {k: ("x", np.broadcast_to(np.asarray(v, float), (n,))) for k, v in base.items()}
    )


def rain_columns(rates, *, land: bool) -> xr.Dataset:
    """Columns whose hydrometeors follow the rain rate as in truth scenes (H0 = 3.5 km)."""
    rates = np.asarray(rates, float)
    convective = rates >= 8
    return column(
        rates.size,
        surface_precip=rates,
        precip_type=np.where(convective, 2, np.where(rates > 0, 1, 0)),
        rain_water_path=0.072 * rates**0.88 * 3.5,
        cloud_liquid_path=np.where(rates > 0, 0.12 + 0.08 * np.sqrt(rates), 0.0),
        ice_water_path=np.where(
            convective, 0.12 * rates**1.1, np.where(rates > 0, 0.06 * rates**0.9, 0)
        ),
        total_column_water_vapor=40.0,
        skin_temperature=300.0,
        t2m=299.0,
        surface_type=1 if land else 0,
        land_fraction=1.0 if land else 0.0,
    )


@pytest.fixture(scope="module")
def gulf_scene() -> xr.Dataset:
    # Gulf of Mexico and its coast in summer: ocean, coast and land, rain likely.
    lat = np.arange(27.0, 31.0, 0.04)
    lon = np.arange(-92.0, -86.0, 0.04)
    times = np.array(["2019-07-10T18:00", "2019-07-10T18:30", "2019-07-11T18:00"], "datetime64[ns]")
    return truth_scene(lat, lon, times, seed=7, resolution_km=RES_KM)


# ------------------------------------------------------------------------------- forward model
def test_ocean_19h_warms_with_rain_then_saturates():
    rates = np.array([0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0])
    tb = brightness_temperature(rain_columns(rates, land=False), 18.7, "H", 52.8).values
    assert np.all(np.diff(tb[:6]) > 0), tb  # monotone over the light-to-moderate range
    light_slope = (tb[2] - tb[0]) / 1.0
    heavy_slope = (tb[7] - tb[5]) / 10.0
    assert 8.0 <= light_slope <= 40.0
    assert heavy_slope < 0.5 * light_slope  # flattening
    assert 235.0 <= tb[6] <= 280.0  # saturation level
    # 37 GHz saturates at a few mm/h: its maximum comes at a lower rate than 19 GHz's.
    tb37 = brightness_temperature(rain_columns(rates, land=False), 36.64, "H", 52.8).values
    assert rates[np.argmax(tb37)] < rates[np.argmax(tb)]


def test_clear_ocean_signatures_match_published_ranges():
    scene = column(1)
    expected = {
        ("10.65", "H"): (85, 95),
        ("10.65", "V"): (155, 167),
        ("18.7", "H"): (108, 130),
        ("18.7", "V"): (178, 190),
        ("23.8", "V"): (195, 220),
        ("36.64", "H"): (138, 160),
        ("36.64", "V"): (200, 215),
        ("89.0", "H"): (200, 240),
        ("89.0", "V"): (240, 265),
    }
    for (freq, pol), (lo, hi) in expected.items():
        tb = float(brightness_temperature(scene, float(freq), pol, 52.8)[0])
        assert lo <= tb <= hi, (freq, pol, tb)


def test_deep_convection_over_land_depresses_pct89():
    iwp = np.array([0.0, 0.5, 1.5, 4.0, 8.0])
    scene = column(
        iwp.size,
        ice_water_path=iwp,
        precip_type=np.where(iwp > 1, 2, 1),
        surface_type=1,
        land_fraction=1.0,
        surface_precip=5 * iwp,
        t2m=300,
        skin_temperature=302,
    )
    v = brightness_temperature(scene, 89.0, "V", 52.8).values
    h = brightness_temperature(scene, 89.0, "H", 52.8).values
    pct = 1.7 * v - 0.7 * h
    assert pct[0] > 265  # warm, weakly polarised land
    assert v[0] - h[0] < 10
    assert np.all(np.diff(pct) < 0)
    assert pct[2] < 250
    assert v[-1] < 150
    tb166 = brightness_temperature(scene, 166.5, "V", 49.19).values
    assert tb166[-1] < 150
    # Scattering is weak at 19 GHz and strong at 89 GHz.
    tb19 = brightness_temperature(scene, 18.7, "V", 52.8).values
    assert (tb19[0] - tb19[2]) < 0.3 * (v[0] - v[2])


def test_183_ghz_sounding_channels_peak_at_different_heights():
    moist = column(1, total_column_water_vapor=45.0, skin_temperature=300, t2m=299)
    tb = {
        off: float(brightness_temperature(moist, 183.31, "V", 49.19, offset_ghz=off)[0])
        for off in (1.0, 3.0, 7.0)
    }
    assert tb[1.0] < tb[3.0] < tb[7.0]
    # In very dry air 183 +/- 7 sees down to the surface (close to the skin temperature).
    dry = column(
        1,
        total_column_water_vapor=1.5,
        skin_temperature=260,
        t2m=259,
        surface_type=1,
        land_fraction=1.0,
    )
    tb7_dry = float(brightness_temperature(dry, 183.31, "V", 49.19, offset_ghz=7.0)[0])
    assert tb7_dry > 235


def test_water_vapour_line_is_physical_22_vs_23_ghz():
    tcwv = np.linspace(5, 60, 12)
    scene = column(tcwv.size, total_column_water_vapor=tcwv)
    tb22 = brightness_temperature(scene, 22.235, "V", 53.1).values
    tb23 = brightness_temperature(scene, 23.8, "V", 53.1).values
    diff = tb22 - tb23
    # Closer to the line centre: more emission over the cold ocean once there is some vapour
    # (in very dry air the lower frequency's lower sea emissivity wins), growing with the vapour.
    assert np.all(diff[tcwv >= 15] > 0)
    assert diff[tcwv >= 40].min() > diff[0] + 3.0
    assert np.all(np.diff(tb22) > 0)


def test_ssmis_and_gmi_differ_physically_not_by_a_constant(gulf_scene):
    scene = gulf_scene.isel(time=0)
    gmi = brightness_temperatures(scene, sensors.get("GMI").channels)
    ssmis = brightness_temperatures(scene, sensors.get("SSMIS-F17").channels)
    ocean = (scene.surface_type == 0).values
    assert ocean.sum() > 100
    diff = (ssmis.sel(pmw_frequency="22V") - gmi.sel(pmw_frequency="23V")).values[ocean]
    assert np.all(diff > 0)
    assert diff.std() > 0.5
    # Over clear ocean the gap follows the water vapour (cloud and rain blur it elsewhere).
    clear = ((scene.surface_precip == 0) & (scene.cloud_liquid_path < 0.05)).values[ocean]
    assert clear.sum() > 50
    tcwv = scene.total_column_water_vapor.values[ocean]
    assert np.corrcoef(diff[clear], tcwv[clear])[0, 1] > 0.7
    # 150 GHz is further from the 183 GHz line than 166 GHz: warmer in moist air over ocean,
    # scattering differs in rain: again a scene-dependent gap.
    gap = (ssmis.sel(pmw_frequency="150H") - gmi.sel(pmw_frequency="165H")).values
    assert gap.std() > 0.5
    # 91.655 vs 89 GHz: close frequencies, a small mean difference.
    near = (ssmis.sel(pmw_frequency="91V") - gmi.sel(pmw_frequency="89V")).values
    assert abs(float(np.mean(near))) < 5


def test_quasi_polarisation_mixes_v_and_h():
    scene = column(1)
    v = float(brightness_temperature(scene, 23.8, "V", 40.0)[0])
    h = float(brightness_temperature(scene, 23.8, "H", 40.0)[0])
    qv = float(brightness_temperature(scene, 23.8, "QV", 40.0, scan_angle_deg=35.0)[0])
    qh = float(brightness_temperature(scene, 23.8, "QH", 40.0, scan_angle_deg=35.0)[0])
    c2 = np.cos(np.deg2rad(35.0)) ** 2
    assert qv == pytest.approx(v * c2 + h * (1 - c2), abs=0.01)
    assert qh == pytest.approx(v * (1 - c2) + h * c2, abs=0.01)
    # At nadir V and H coincide.
    assert float(brightness_temperature(scene, 23.8, "QV", 0.0)[0]) == pytest.approx(
        float(brightness_temperature(scene, 23.8, "QH", 0.0)[0]), abs=0.01
    )


def test_incidence_array_broadcasts(gulf_scene):
    scene = gulf_scene.isel(time=0)
    angles = xr.DataArray(np.linspace(30, 60, scene.sizes["lon"]), dims="lon")
    tb = brightness_temperature(scene, 18.7, "H", angles)
    assert tb.dims == scene.surface_precip.dims
    ocean = scene.surface_type.values == 0
    clear_ocean = ocean & (scene.surface_precip.values == 0)
    # H-pol sea emissivity falls as the incidence angle grows: clear-ocean 19H cools.
    row, cols = np.nonzero(clear_ocean)
    assert np.corrcoef(angles.values[cols], tb.values[row, cols])[0, 1] < -0.5


def test_dask_scene_gives_the_same_tbs_lazily(gulf_scene):
    scene = gulf_scene.isel(time=0)
    expected = brightness_temperature(scene, 89.0, "H", 52.8)
    for chunks in ({"lat": 17, "lon": 40}, {"lat": 101, "lon": 7}):
        lazy = brightness_temperature(scene.chunk(chunks), 89.0, "H", 52.8)
        assert lazy.chunks is not None  # nothing computed yet
        np.testing.assert_allclose(lazy.compute().values, expected.values, rtol=1e-6)
    angles = xr.DataArray(np.linspace(45, 55, scene.sizes["lat"]), dims="lat")
    lazy = brightness_temperature(scene.chunk({"lat": 25}), 36.64, "V", angles)
    np.testing.assert_allclose(
        lazy.values, brightness_temperature(scene, 36.64, "V", angles).values, rtol=1e-6
    )


def test_tbs_in_physical_range_everywhere(gulf_scene):
    scene = gulf_scene.isel(time=0)
    for name in ("GMI", "SSMIS-F17", "AMSR2-GCOMW1"):
        tb = brightness_temperatures(scene, sensors.get(name).channels)
        assert float(tb.min()) >= 50 and float(tb.max()) <= 320, name
        assert not np.isnan(tb.values).any()
    tb = brightness_temperatures(scene, sensors.get("ATMS-NPP").channels, incidence=30.0)
    assert float(tb.min()) >= 50 and float(tb.max()) <= 320
    assert list(tb.pmw_frequency.values) == list(sensors.get("ATMS-NPP").labels)


# ------------------------------------------------------------------------------- truth scenes
def test_truth_scene_layout_and_ranges(gulf_scene):
    s = gulf_scene
    assert s.surface_precip.dims == ("time", "lat", "lon")
    assert list(s.season.values) == ["JJA"] * 3
    for name in ("surface_precip", "rain_water_path", "cloud_liquid_path", "ice_water_path"):
        assert float(s[name].min()) >= 0
    assert 5 < float(s.total_column_water_vapor.mean()) < 70
    assert set(np.unique(s.surface_type.values)) <= {0, 1, 2, 3}
    assert {0, 1, 2} <= set(np.unique(s.surface_type.values))  # Gulf: ocean, land and coast
    assert set(np.unique(s.precip_type.values)) <= {0, 1, 2}
    assert np.all((s.precip_type > 0) == (s.surface_precip > 0))
    assert int(s.regime.max()) < len(REGIMES)
    # Convective rain carries more ice than stratiform rain of any rate.
    conv = s.precip_type.values == 2
    if conv.any():
        assert (
            s.ice_water_path.values[conv].mean()
            > s.ice_water_path.values[s.precip_type.values == 1].mean()
        )


def test_surface_and_climate_from_real_maps():
    # Paris, Sahara, Lake Michigan / mid-Atlantic, Great Plains, Chicago
    lat = np.array([[48.85, 23.0, 43.8], [0.0, 45.0, 41.85]])
    lon = np.array([[2.35, 10.0, -87.0], [-30.0, -100.0, -87.75]])
    s = truth_scene(
        lat, lon, np.array(["2020-01-15T12:00"], "datetime64[ns]"), seed=1, resolution_km=RES_KM
    )
    assert s.surface_precip.dims == ("time", "y", "x")
    assert s.land_fraction.values[0, 0, 0] == 1.0
    assert s.surface_type.values[0, 1, 0] == 0
    assert s.koppen.values[0, 0, 1] == 2  # B (arid)
    assert s.koppen.values[0, 1, 0] == 0  # ocean
    assert s.koppen.values[0, 0, 0] == 3  # Paris: Cfb
    # The land mask counts lakes as land; large lakes are carved out as water.
    assert s.land_fraction.values[0, 0, 2] == 0.0
    assert s.surface_type.values[0, 0, 2] in (0, 3)  # open water or ice in January
    assert s.land_fraction.values[0, 1, 2] > 0.5
    assert str(s.season.values[0]) == "DJF"
    # January: the Sahara is warmer than the Great Plains.
    assert s.t2m.values[0, 0, 1] > s.t2m.values[0, 1, 1] + 10


def test_deterministic_for_a_seed_and_independent_of_the_grid():
    lat = np.arange(40.0, 41.0, 0.05)
    lon = np.arange(-80.0, -79.0, 0.05)
    t = np.array(["2018-05-03T06:10"], "datetime64[ns]")
    a = truth_scene(lat, lon, t, seed=3, resolution_km=RES_KM)
    b = truth_scene(lat, lon, t, seed=3, resolution_km=RES_KM)
    c = truth_scene(lat, lon, t, seed=4, resolution_km=RES_KM)
    xr.testing.assert_identical(a, b)
    assert not np.array_equal(a.total_column_water_vapor.values, c.total_column_water_vapor.values)
    # The same points asked as a 2-D (e.g. swath) grid, in another order, give the same world.
    lat2, lon2 = np.meshgrid(lat[::-1], lon, indexing="ij")
    d = truth_scene(lat2, lon2, t, seed=3, resolution_km=RES_KM)
    np.testing.assert_allclose(
        d.total_column_water_vapor.values[0], a.total_column_water_vapor.values[0][::-1], rtol=1e-5
    )
    np.testing.assert_allclose(
        d.surface_precip.values[0], a.surface_precip.values[0][::-1], rtol=1e-4, atol=1e-5
    )


def test_times_are_consistent_whatever_the_request(gulf_scene):
    lat = gulf_scene.lat.values
    lon = gulf_scene.lon.values
    alone = truth_scene(lat, lon, gulf_scene.time.values[1:2], seed=7, resolution_km=RES_KM)
    np.testing.assert_allclose(
        alone.surface_precip.values[0], gulf_scene.surface_precip.values[1], rtol=1e-4, atol=1e-4
    )


def _lagrangian_correlation(a: np.ndarray, b: np.ndarray, max_shift: int = 15) -> float:
    best = -1.0
    for dy in range(-max_shift, max_shift + 1, 1):
        for dx in range(-max_shift, max_shift + 1, 1):
            sa = a[max(dy, 0) : a.shape[0] + min(dy, 0), max(dx, 0) : a.shape[1] + min(dx, 0)]
            sb = b[max(-dy, 0) : b.shape[0] + min(-dy, 0), max(-dx, 0) : b.shape[1] + min(-dx, 0)]
            if sa.std() > 0 and sb.std() > 0:
                best = max(best, float(np.corrcoef(sa.ravel(), sb.ravel())[0, 1]))
    return best


def test_temporal_consistency():
    lat = np.arange(35.0, 39.0, 0.04)
    lon = np.arange(-97.0, -92.0, 0.04)
    times = np.array(["2019-06-05T03:00", "2019-06-05T03:30", "2019-06-06T03:00"], "datetime64[ns]")
    s = truth_scene(lat, lon, times, seed=11, resolution_km=RES_KM)
    # The latent Gaussian rain field is what the AR(1) evolves; use log-rain where it rains and
    # the cloud-liquid field (always defined) as two views.
    clwp = s.cloud_liquid_path.values
    rain = np.log1p(s.surface_precip.values)
    assert rain[0].max() > 0
    consecutive = _lagrangian_correlation(clwp[0], clwp[1])
    next_day = _lagrangian_correlation(clwp[0], clwp[2])
    assert consecutive > 0.6
    assert next_day < 0.4
    assert consecutive > next_day + 0.3
    rain_consecutive = _lagrangian_correlation(rain[0], rain[1])
    rain_next_day = _lagrangian_correlation(rain[0], rain[2])
    assert rain_consecutive > rain_next_day


def test_rain_field_power_spectrum_is_a_power_law():
    lat = np.arange(30.0, 35.12, 0.02)[:256]
    lon = np.arange(-90.0, -84.0, 0.02)[:256]
    time = np.array(["2019-04-20T12:00"], "datetime64[ns]")
    slopes = []
    for seed in (5, 6, 7):  # a few worlds: one may hold only a few cells in this 512 km box
        s = truth_scene(lat, lon, time, seed=seed)
        # Spectrum of the (transformed) rain field over the domain, radially averaged.
        field = np.log1p(s.surface_precip.values[0])
        if (field > 0).mean() < 0.03:
            continue
        power = np.abs(np.fft.fft2(field - field.mean())) ** 2
        ky = np.fft.fftfreq(field.shape[0])[:, None]
        kx = np.fft.fftfreq(field.shape[1])[None, :]
        k = np.sqrt(kx**2 + ky**2)
        edges = np.geomspace(1 / 64, 1 / 6, 12)  # scales from ~6 to ~64 pixels (~12-128 km)
        centres, means = [], []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            sel = (k >= lo) & (k < hi)
            centres.append(np.sqrt(lo * hi))
            means.append(power[sel].mean())
        slopes.append(np.polyfit(np.log(centres), np.log(means), 1)[0])
    assert len(slopes) >= 2
    assert all(-4.5 < slope < -1.5 for slope in slopes), slopes


def test_regime_frequencies_depend_on_climate_and_season():
    from xgpm.simulate import scenes

    # Over a whole simulated year, the arid Sahara is mostly clear and Amazonia convective.
    counts = {}
    for name, key in (("sahara", (13, 0)), ("tropics", (11, 0))):
        tile = scenes._noise.make_tile(*key, 10.0)
        climate = "B" if name == "sahara" else "A"
        regimes = [scenes._regime_for_block(1, tile, climate, b) for b in range(70000, 71460)]
        counts[name] = {r: regimes.count(r) / len(regimes) for r in REGIMES}
    assert counts["sahara"]["clear"] > 0.5
    assert counts["tropics"]["scattered_convection"] > counts["sahara"]["scattered_convection"]
    summer = [scenes._regime_for_block(2, tile, "D", b) for b in range(71500, 71860)]  # ~JJA 2018
    winter = [scenes._regime_for_block(2, tile, "D", b) for b in range(70780, 71140)]  # ~DJF
    assert summer.count("scattered_convection") > winter.count("scattered_convection")


# ------------------------------------------------------------------------------- errors
def test_bad_inputs_raise_clear_errors(gulf_scene):
    t = np.array(["2019-01-01"], "datetime64[ns]")
    with pytest.raises(InvalidArgumentError, match="lat and lon"):
        truth_scene(np.zeros((2, 3)), np.zeros(3), t, seed=1)
    with pytest.raises(InvalidArgumentError, match="seed"):
        truth_scene(np.zeros(2), np.zeros(2), t, seed=1.5)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        truth_scene(np.array([np.nan, 1.0]), np.zeros(2), t, seed=1)
    with pytest.raises(InvalidArgumentError, match="times"):
        truth_scene(np.zeros(2), np.zeros(2), np.array([], "datetime64[ns]"), seed=1)
    with pytest.raises(InvalidArgumentError, match="resolution_km"):
        truth_scene(np.zeros(2), np.zeros(2), t, seed=1, resolution_km=-1)
    scene = gulf_scene.isel(time=0)
    with pytest.raises(InvalidArgumentError, match="polarization"):
        brightness_temperature(scene, 89.0, "X", 52.8)
    with pytest.raises(InvalidArgumentError, match="frequency"):
        brightness_temperature(scene, 900.0, "V", 52.8)
    with pytest.raises(InvalidArgumentError, match="incidence"):
        brightness_temperature(scene, 89.0, "V", np.ones(3))
    with pytest.raises(MissingVariableError, match="wind_speed"):
        brightness_temperature(scene.drop_vars("wind_speed"), 89.0, "V", 52.8)
    with pytest.raises(XGPMError):
        brightness_temperatures(scene, [])


# ------------------------------------------------------------------------- fast paths (speed)
def _reference_tbs(scene: xr.Dataset, channels, incidence=None) -> np.ndarray:
    """TBs from the plain-numpy reference of the forward model, one channel at a time."""
    from xgpm.simulate import rtm

    arrays = rtm._scene_arrays(scene)
    flat = {k: np.asarray(v.values, np.float64).ravel() for k, v in arrays.items()}
    out = []
    for ch in channels:
        offset = float(ch.offset or 0.0)
        angle = ch.incidence_angle if incidence is None else incidence
        inc = np.broadcast_to(np.asarray(angle, float), flat["t2m"].shape)
        v, h = rtm._tb_block(
            float(ch.frequency),
            (-offset, offset) if offset else (0.0,),
            flat,
            np.clip(inc, 0, 88.9),
        )
        out.append({"V": v, "H": h}[ch.polarization])
    return np.array(out)


def test_numba_kernel_matches_the_numpy_reference(gulf_scene, monkeypatch):
    # Rain, ice, clouds, land, coast and ocean at once; every GMI channel (two incidences, two
    # double-sideband channels) in one call of the kernel.
    from xgpm.simulate import rtm

    scene = gulf_scene.isel(time=0)
    assert (scene.surface_precip > 5).any() and (scene.surface_type == 0).any()
    channels = sensors.get("GMI").channels
    reference = _reference_tbs(scene, channels)
    with monkeypatch.context() as m:  # each sideband on its own, like the reference
        m.setattr(rtm, "_MERGE_SIDEBANDS", False)
        exact = brightness_temperatures(scene, channels).values.reshape(len(channels), -1)
    np.testing.assert_allclose(exact, reference, atol=0.02)
    # Default: a double-sideband channel is one transfer with the sidebands' mean absorption;
    # the 183.31 GHz line is nearly symmetric, so it stays within a tenth of a kelvin.
    fast = brightness_temperatures(scene, channels).values.reshape(len(channels), -1)
    double = np.array([bool(ch.offset) for ch in channels])
    np.testing.assert_array_equal(fast[~double], exact[~double])
    np.testing.assert_allclose(fast[double], reference[double], atol=0.1)
    assert not np.array_equal(fast[double], exact[double])
    # A per-pixel incidence (cross-track geometry) goes through the same kernel.
    angles = np.linspace(0.0, 60.0, scene.sizes["lon"])
    one = brightness_temperature(scene, 89.0, "H", xr.DataArray(angles, dims="lon"))
    ref = _reference_tbs(
        scene, [sensors.get("GMI").channels[8]], np.broadcast_to(angles, one.shape).ravel()
    )
    np.testing.assert_allclose(one.values.ravel(), ref[0], atol=0.02)


def test_all_channels_at_once_equal_one_channel_at_a_time(gulf_scene):
    scene = gulf_scene.isel(time=0)
    channels = sensors.get("ATMS-NPP").channels[:6]
    scan = xr.DataArray(np.linspace(-50, 50, scene.sizes["lon"]), dims="lon")
    incidence = np.abs(scan) * 1.1
    together = brightness_temperatures(scene, channels, incidence, scan_angle_deg=scan)
    for i, ch in enumerate(channels):
        alone = brightness_temperature(
            scene,
            ch.frequency,
            ch.polarization,
            incidence,
            offset_ghz=float(ch.offset or 0.0),
            scan_angle_deg=scan,
        )
        np.testing.assert_allclose(together.values[i], alone.values, rtol=1e-6)


def test_land_fraction_kernel_matches_the_reference_near_lakes_and_coasts():
    from xgpm.simulate import geography as scenes

    rng = np.random.default_rng(3)
    # Great Lakes (carved out of the mask), the Gulf coast, and anywhere.
    lat = np.concatenate(
        [rng.uniform(41, 47, 400), rng.uniform(28, 31, 400), rng.uniform(-80, 80, 400)]
    )
    lon = np.concatenate(
        [rng.uniform(-90, -78, 400), rng.uniform(-92, -86, 400), rng.uniform(-180, 180, 400)]
    )
    fast = scenes.land_fraction(lat, lon)
    np.testing.assert_array_equal(fast, scenes._land_fraction_numpy(lat, lon))
    assert 0.0 < fast.mean() < 1.0


def test_land_fraction_shortcut_over_pure_blocks_is_exact():
    """Boxes inside all-water or all-land mask blocks skip the 25 samples: the same values."""
    from xgpm.simulate import geography as scenes

    rng = np.random.default_rng(5)
    # Dense along a coastline (Brittany), the open Atlantic, inland Siberia, across the date
    # line and near the poles: pure and mixed blocks and their edges.
    lat = np.concatenate(
        [
            rng.uniform(47.0, 49.0, 3000),
            rng.uniform(30.0, 40.0, 500),
            rng.uniform(55.0, 65.0, 500),
            rng.uniform(-89.99, 89.99, 1000),
            rng.uniform(-89.99, 89.99, 500),
        ]
    )
    lon = np.concatenate(
        [
            rng.uniform(-5.5, -1.0, 3000),
            rng.uniform(-40.0, -30.0, 500),
            rng.uniform(90.0, 110.0, 500),
            rng.choice([-180.0, -179.99, 179.99, 180.0], 1000),
            rng.uniform(-180.0, 180.0, 500),
        ]
    )
    fast = scenes.land_fraction(lat, lon)
    np.testing.assert_array_equal(fast, scenes._land_fraction_numpy(lat, lon))
    pure = (fast == 0) | (fast == 1)
    assert pure.mean() > 0.5 and (~pure).sum() > 100  # both paths taken


def test_normal_cdf_and_its_inverse_in_the_kernels_match_scipy():
    from scipy.special import ndtr, ndtri

    from xgpm.simulate import _scene_kernels

    p = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 2001), [1e-12, 0.02425, 0.97575, 0.5]])
    inverse = np.array([_scene_kernels.ndtri(v) for v in p])
    np.testing.assert_allclose(inverse, ndtri(p), rtol=2e-9, atol=1e-12)
    x = np.linspace(-8, 8, 1001)
    np.testing.assert_allclose([_scene_kernels.ndtr(v) for v in x], ndtr(x), rtol=1e-12)
    assert _scene_kernels.ndtri(0.0) == -np.inf and _scene_kernels.ndtri(1.0) == np.inf


def test_geophysics_kernel_matches_the_numpy_reference(monkeypatch):
    """The point-by-point fields from the numba kernel equal the numpy formulas."""
    from xgpm.simulate import _parallel, scenes

    rng = np.random.default_rng(4)
    for lat_range, lon_range, time in (
        ((25, 40), (-100, -80), "2019-07-10T18:10"),  # land, ocean, summer convection
        ((-20, 10), (100, 160), "2020-01-03T03:40"),  # tropical islands
        ((55, 75), (10, 60), "2021-02-01T12:00"),  # snow, sea ice
    ):
        lat = rng.uniform(*lat_range, 20000)[None]
        lon = rng.uniform(*lon_range, 20000)[None]
        ctx = scenes._SceneContext(lat, lon, 3, 4.0)
        when = np.datetime64(time, "ns")
        with _parallel.threads(1):
            fast = scenes._scene_at(ctx, when)
            monkeypatch.setattr(scenes, "_geophysics", scenes._geophysics_numpy)
            reference = scenes._scene_at(ctx, when)
            monkeypatch.undo()
        assert (reference["surface_precip"] > 0).mean() > 0.01
        assert list(fast) == list(reference)
        for name, expected in reference.items():
            assert fast[name].dtype == expected.dtype, name
            if expected.dtype.kind == "f":
                # (float32 in the reference: its inverse normal CDF is coarse in the far tail)
                np.testing.assert_allclose(fast[name], expected, rtol=1e-3, atol=1e-3, err_msg=name)
            else:  # categories: thresholds may flip on a float rounding, rarely
                assert np.mean(fast[name] != expected) < 1e-3, name


def test_tile_layout_is_a_partition_of_unity():
    from xgpm.simulate import _noise

    rng = np.random.default_rng(2)
    lat = np.concatenate([rng.uniform(-90, 90, 20000), [-90.0, 90.0, 0.0, 47.999, 48.0]])
    lon = np.concatenate([rng.uniform(-180, 180, 20000), [-180.0, 180.0, 0.0, 179.99, -0.001]])
    total = np.zeros(lat.size)
    count = np.zeros(lat.size, dtype=int)
    keys = set()
    for band, t, idx, w in _noise.tile_parts(lat, lon):
        assert (band, t) not in keys and np.all(np.diff(idx) > 0) and np.all(w > 1e-6)
        keys.add((band, t))
        total[idx] += w
        count[idx] += 1
        # Every point lies inside the grid of each of its tiles.
        tile = _noise.make_tile(band, t, 10.0)
        rows, cols = tile.pixel_coords(lat[idx], lon[idx])
        assert rows.min() >= 0 and cols.min() >= 0
        assert rows.max() <= tile.n_pix - 1 and cols.max() <= tile.n_pix - 1
    np.testing.assert_allclose(total, 1.0, atol=4e-6)
    assert count.min() >= 1 and count.max() <= 4


def test_uniform_innovations_give_gaussian_fields():
    from scipy.special import ndtri

    from xgpm.simulate import _noise

    tile = _noise.make_tile(12, 3, 8.0)
    amp = _noise.power_law_filter(tile.n_pix, tile.resolution_km, 3.0, outer_scale_km=300.0)
    # Quantiles of the standardised fields match the normal ones (tails included). Pooled over
    # a few worlds: one red-noise field has few independent large scales (its 1 % quantile
    # alone varies by +/- 0.15 from world to world).
    fields = [
        _noise.to_field(_noise.spectral_state(s, "test", tile, 1000, (5.0, 1.0)), amp, tile.n_pix)
        for s in range(1, 7)
    ]
    probs = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    np.testing.assert_allclose(np.quantile(np.stack(fields), probs), ndtri(probs), atol=0.08)
    state = _noise.spectral_state(1, "test", tile, 1000, (5.0, 1.0))
    # The cold start (13 innovations) and stepping forward from an earlier state agree.
    again = _noise._ARState(1, "test", tile, (5.0, 1.0))
    again.at(998)
    np.testing.assert_allclose(again.at(1000), state, atol=1e-3 * np.abs(state).std())


def test_all_channels_lazy_for_any_chunking(gulf_scene):
    scene = gulf_scene.isel(time=0)
    channels = sensors.get("GMI").channels
    expected = brightness_temperatures(scene, channels)
    for chunks in ({"lat": 17, "lon": 40}, {"lat": 100, "lon": 9}):
        lazy = brightness_temperatures(scene.chunk(chunks), channels)
        assert lazy.chunks is not None
        assert lazy.dims == expected.dims
        np.testing.assert_allclose(lazy.compute().values, expected.values, rtol=1e-6)


def test_truth_scene_same_for_any_number_of_threads(monkeypatch):
    """Tiles and chunks of points run in threads and are combined in order: identical bits."""
    from xgpm.simulate import _noise, _parallel

    monkeypatch.setattr(_parallel, "MIN_CHUNK", 1000)  # several point chunks on a small grid
    lat = np.arange(40.0, 52.0, 0.1)  # across a band edge (48 N) and several tiles
    lon = np.arange(-12.0, 16.0, 0.15)
    times = np.array(["2021-01-01T06:10", "2021-01-01T06:50"], dtype="datetime64[ns]")
    runs = []
    for n in (1, 2, 3):
        _noise._STATES.clear()  # the same engine cache at the start of every run
        with _parallel.threads(n):
            assert _parallel.n_threads() == n
            assert len(_parallel.chunks(lat.size * lon.size)) == n
            runs.append(truth_scene(lat, lon, times, seed=11, resolution_km=10.0))
    assert float(runs[0].surface_precip.max()) > 0
    for other in runs[1:]:
        xr.testing.assert_identical(runs[0], other)


def test_truth_threads_are_not_nested():
    """The pool's threads compute serially; the setting is per thread and restored."""
    import threading

    from xgpm.simulate import _parallel

    with _parallel.threads(3):
        inner = _parallel.map_ordered(lambda i: (i, _parallel.n_threads()), range(5))
        assert _parallel.n_threads() == 3
    assert inner == [(i, 1) for i in range(5)]
    assert _parallel.n_threads() == _parallel.available_cores()  # the main thread's default
    seen = []
    worker = threading.Thread(target=lambda: seen.append(_parallel.n_threads()))
    worker.start()
    worker.join()
    assert seen == [1]


def _map_in_child(conn) -> None:
    from xgpm.simulate import _parallel

    with _parallel.threads(2):
        conn.send(_parallel.map_ordered(lambda i: i * i, range(4)))


def test_truth_threads_work_in_a_forked_child():
    """The kept thread pool is not inherited by a forked process (it would never run a task)."""
    import multiprocessing

    from xgpm.simulate import _parallel

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    with _parallel.threads(2):
        assert _parallel.map_ordered(lambda i: i + 1, range(4)) == [1, 2, 3, 4]  # pool made
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_map_in_child, args=(child,))
    proc.start()
    assert parent.poll(30), "the forked child did not answer"
    assert parent.recv() == [0, 1, 4, 9]
    proc.join(10)
