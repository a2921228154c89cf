"""Paired simulated scenes (xgpm.translate.scenes): one truth seen by SSMIS, GMI and DPR."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from xgpm.errors import InvalidArgumentError, UnknownSensorError
from xgpm.simulate.products import Region
from xgpm.translate import scenes

REGION = Region.square("small", 46.5, 2.5, 400.0)
# An F17 pass over REGION with the DPR (nadir) crossing it: granule 175881.
START, DAYS = "2021-01-01T16:15", 0.05


def _grid(lat, lon):
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if lat.ndim == 1:
        lat, lon = np.meshgrid(lat, lon, indexing="ij")
    return lat, lon


def cells(lat, lon):
    """Rain cells ~50 km across on a fixed lattice: large enough for SSMIS to see."""
    wave = np.cos(np.deg2rad(lat) * 2 * np.pi / np.deg2rad(1.0)) * np.cos(
        np.deg2rad(lon) * 2 * np.pi / np.deg2rad(1.4)
    )
    return 10.0 * np.clip(wave, 0, None) ** 2


def cheap_truth(lat, lon, times, *, seed, resolution_km=None):
    lat, lon = _grid(lat, lon)
    times = np.asarray(times, dtype="datetime64[ns]")
    rain = cells(lat, lon).astype("float32")
    nt = len(times)
    data = {
        "surface_precip": rain,
        "precip_type": np.where(rain > 5, 2, np.where(rain > 0, 1, 0)).astype("int8"),
        "t2m": np.full(lat.shape, 285.0, "float32"),
        "surface_type": np.zeros(lat.shape, "int8"),
    }
    return xr.Dataset(
        {k: (("time", "y", "x"), np.repeat(v[None], nt, 0)) for k, v in data.items()},
        coords={"time": times, "lat": (("y", "x"), lat), "lon": (("y", "x"), lon)},
    )


def cheap_rtm(scene, channels, incidence=None):
    rain = scene["surface_precip"]
    return xr.concat([280.0 - 4.0 * rain for _ in channels], dim="pmw_frequency").assign_coords(
        pmw_frequency=[c.label for c in channels]
    )


@pytest.fixture(scope="module")
def pair() -> scenes.PairedScene:
    found = list(
        scenes.paired_scenes(
            REGION,
            START,
            DAYS,
            source="ssmis-f17",
            progress=False,
            min_pixels=100,
            truth_res_km=5.0,
            truth_fn=cheap_truth,
            rtm_fn=cheap_rtm,
        )
    )
    assert len(found) == 1
    return found[0]


def test_virtual_sensor_flies_on_the_source_orbit() -> None:
    from xgpm import sensors
    from xgpm.simulate import orbits

    gmi = scenes.virtual_sensor("GMI", "SSMIS-F17")
    f17 = sensors.get("SSMIS-F17")
    assert gmi.orbit == f17.orbit and gmi.pps_satellite == "F17"
    assert gmi.labels == sensors.get("GMI").labels  # GMI's channels
    times = np.array(["2021-01-01T05:00", "2021-01-01T05:30"], dtype="datetime64[ns]")
    np.testing.assert_allclose(
        orbits.orbit_model(gmi).subsatellite(times), orbits.orbit_model(f17).subsatellite(times)
    )


def test_pair_data_model(pair: scenes.PairedScene) -> None:
    from xgpm import sensors

    assert pair.source_sensor == "SSMIS-F17" and pair.region == "small"
    assert set(pair.source["Tc"].dims) == {"cross_track", "along_track", "pmw_frequency"}
    assert sorted(pair.source["pmw_frequency"].values) == sorted(sensors.get("SSMIS-F17").labels)
    assert list(pair.gmi["pmw_frequency"].values) == list(sensors.get("GMI").labels)
    assert pair.source.attrs["gpm_api_product"] == "1C-SSMIS-F17"
    assert pair.gmi.attrs["gpm_api_product"] == "1C-GMI"
    assert pair.gmi.sizes["cross_track"] == 221
    assert pair.dpr is not None and "precipRateNearSurface" in pair.dpr
    for ds in (pair.source, pair.gmi, pair.dpr):
        assert ds["time"].dtype == np.dtype("datetime64[ns]")
        assert ds["lon"].dims == ("cross_track", "along_track")


def _nearest(src: xr.Dataset, dst: xr.Dataset, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """``values`` of ``src`` at the nearest pixel of each ``dst`` pixel, with the distance."""
    from scipy.spatial import cKDTree

    def xyz(ds):
        lo, la = np.deg2rad(ds["lon"].values.ravel()), np.deg2rad(ds["lat"].values.ravel())
        return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)

    dist, idx = cKDTree(xyz(src)).query(xyz(dst))
    return values.ravel()[idx], dist * 6371.0, idx


def test_same_truth_rain_colocated(pair: scenes.PairedScene) -> None:
    """Rain cells are cold in the source and in GMI at the same places and times."""
    gmi89 = pair.gmi["Tc"].sel(pmw_frequency="89V").values
    src91, dist, idx = _nearest(
        pair.source, pair.gmi, pair.source["Tc"].sel(pmw_frequency="91V").values
    )
    ok = np.isfinite(gmi89.ravel()) & np.isfinite(src91) & (dist < 15)
    assert ok.sum() > 1000
    r = np.corrcoef(gmi89.ravel()[ok], src91[ok])[0, 1]
    assert r > 0.8
    # Same time: the source pixel nearest to a GMI pixel was seen within a few minutes.
    t_gmi = np.broadcast_to(pair.gmi["time"].values[None, :], gmi89.shape).ravel()
    src_times = np.broadcast_to(
        pair.source["time"].values[None, :], pair.source["lon"].shape
    ).ravel()
    dt = np.abs(t_gmi[ok] - src_times[idx[ok]]).astype("timedelta64[s]").astype(int)
    assert np.median(dt) < 300
    # The DPR sees rain where GMI is cold.
    rain, dist_dpr, _ = _nearest(pair.dpr, pair.gmi, pair.dpr["precipRateNearSurface"].values)
    seen = np.isfinite(rain) & (dist_dpr < 5) & np.isfinite(gmi89.ravel())
    assert seen.sum() > 200
    assert np.corrcoef(rain[seen], gmi89.ravel()[seen])[0, 1] < -0.8


def test_source_round_trips_through_a_granule_file(pair: scenes.PairedScene, tmp_path) -> None:
    import xgpm

    path = xgpm.write_granule(pair.source, tmp_path, granule_number=pair.granule)
    back = xgpm.open_granule(path)
    assert back.attrs["gpm_api_product"] == "1C-SSMIS-F17"
    common = [c for c in back["pmw_frequency"].values]
    assert sorted(common) == sorted(pair.source["pmw_frequency"].values)
    # The reference scan mode's channels come back as written (fill <-> NaN, float32).
    for label in ("91V", "150H"):
        np.testing.assert_allclose(
            back["Tc"].sel(pmw_frequency=label).values,
            pair.source["Tc"].sel(pmw_frequency=label).values,
            atol=0.01,
        )


def test_windows_are_disjoint() -> None:
    train = {(w.region, w.start) for w in scenes.TRAINING_WINDOWS}
    held = {(w.region, w.start) for w in scenes.EVALUATION_WINDOWS}
    assert not train & held
    assert all(w.start.startswith("2021") for w in scenes.TRAINING_WINDOWS)
    assert all(w.start.startswith("2022") for w in scenes.EVALUATION_WINDOWS)


def test_bad_source() -> None:
    with pytest.raises(InvalidArgumentError, match="radiometer"):
        next(scenes.paired_scenes(REGION, START, DAYS, source="dpr", progress=False))
    with pytest.raises(UnknownSensorError):
        next(scenes.paired_scenes(REGION, START, DAYS, source="nope", progress=False))


def test_scene_cache_round_trips(pair: scenes.PairedScene, tmp_path) -> None:
    path = scenes.save_scene(pair, tmp_path)
    back = scenes.load_scene(path)
    assert back.key == pair.key and back.truth_time == pair.truth_time
    for part in ("source", "gmi", "dpr"):
        xr.testing.assert_allclose(getattr(back, part), getattr(pair, part))
    assert list(back.gmi["pmw_frequency"].values) == list(pair.gmi["pmw_frequency"].values)


def test_cached_paired_scenes_simulate_once(tmp_path, monkeypatch) -> None:
    window = scenes.Window("small", START, DAYS)
    kwargs = {"progress": False, "min_pixels": 100, "truth_res_km": 5.0}
    kwargs.update(truth_fn=cheap_truth, rtm_fn=cheap_rtm)
    monkeypatch.setitem(scenes_regions(), "small", REGION)
    first = list(scenes.cached_paired_scenes([window], tmp_path, **kwargs))
    calls = []
    monkeypatch.setattr(scenes, "paired_scenes", lambda *a, **k: calls.append(a) or iter(()))
    second = list(scenes.cached_paired_scenes([window], tmp_path, **kwargs))
    assert not calls  # read from the cache
    assert [s.key for s in second] == [s.key for s in first] and len(first) == 1
    xr.testing.assert_allclose(second[0].gmi, first[0].gmi)


def scenes_regions() -> dict:
    from xgpm.simulate.products import REGIONS

    return REGIONS
