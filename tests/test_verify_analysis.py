"""Tests of xgpm.verify.analysis: per-map context and scores pooled by category."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xgpm
import xgpm.verify as xv
from xgpm.errors import InvalidArgumentError
from xgpm.verify import analysis as an

THRESHOLDS = (0.5, 1.0)
SCALES = (1, 3)
METRICS = ["csi", "pod", "far", "ets", "fss", "bias", "rmse", "pearson_r", "kge"]


def _fields(n_time: int = 12, ny: int = 10, nx: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    time = pd.date_range("2021-01-01", periods=n_time, freq="30min")
    coords = {"time": time, "lat": 45 + 0.1 * np.arange(ny), "lon": 0.1 * np.arange(nx)}
    dims = ("time", "lat", "lon")
    ref = rng.gamma(0.4, 2.0, (n_time, ny, nx))
    ref[rng.random(ref.shape) < 0.05] = np.nan  # radar gaps
    fc = ref * rng.lognormal(0.0, 0.5, ref.shape) + rng.gamma(0.2, 0.5, ref.shape)
    attrs = {"units": "mm/h"}
    return (
        xr.DataArray(fc, dims=dims, coords=coords, attrs=attrs),
        xr.DataArray(ref, dims=dims, coords=coords, attrs=attrs),
    )


def _assert_scores_equal(pooled_group: xr.Dataset, direct: xr.Dataset) -> None:
    for metric in METRICS:
        np.testing.assert_allclose(
            pooled_group[metric].values,
            direct[f"pooled_{metric}"].values,
            rtol=1e-9,
            atol=1e-12,
            err_msg=metric,
        )
    assert int(pooled_group["n_valid"]) == int(direct["pooled_n_valid"])


# -- stratified scores --------------------------------------------------------------------------


def test_stratified_equals_scoring_each_category_alone():
    fc, ref = _fields()
    labels = xr.DataArray(
        np.array(["b", "a", "c", "a", "b", "b", "c", "a", "a", "b", "c", "c"]),
        dims="time",
        coords={"time": fc["time"]},
        name="group",
    )
    strat = an.stratified_scores(
        fc, ref, labels, thresholds=THRESHOLDS, scales=SCALES, metrics=METRICS
    )
    assert list(strat["group"].values) == ["a", "b", "c"]
    for cat in ("a", "b", "c"):
        sel = (labels == cat).values
        direct = xv.score(fc[sel], ref[sel], thresholds=THRESHOLDS, scales=SCALES, metrics=METRICS)
        _assert_scores_equal(strat.sel(group=cat), direct)
        assert int(strat["n_maps"].sel(group=cat)) == sel.sum()


def test_stratified_dict_is_joint_grouping_and_keeps_known_order():
    fc, ref = _fields()
    season = xr.DataArray(np.array(["SON", "DJF"] * 6), dims="time", coords={"time": fc["time"]})
    regime = xr.DataArray(
        np.array(["convective", "dry", "stratiform"] * 4), dims="time", coords={"time": fc["time"]}
    )
    strat = an.stratified_scores(
        fc,
        ref,
        {"season": season, "regime": regime},
        thresholds=THRESHOLDS,
        scales=SCALES,
        metrics=METRICS,
    )
    assert list(strat["season"].values) == ["DJF", "SON"]
    assert list(strat["regime"].values) == ["dry", "stratiform", "convective"]
    assert strat["csi"].dims == ("season", "regime", "threshold")
    for s in ("DJF", "SON"):
        for r in ("dry", "stratiform", "convective"):
            sel = ((season == s) & (regime == r)).values
            direct = xv.score(
                fc[sel], ref[sel], thresholds=THRESHOLDS, scales=SCALES, metrics=METRICS
            )
            _assert_scores_equal(strat.sel(season=s, regime=r), direct)


def test_stratified_missing_labels_are_left_out_and_empty_combination_is_nan():
    fc, ref = _fields(n_time=6)
    a = xr.DataArray(np.array(["x", "x", "", "y", "y", "x"]), dims="time", name="a")
    b = xr.DataArray(np.array(["p", "p", "q", "p", "p", "p"]), dims="time", name="b")
    strat = an.stratified_scores(
        fc, ref, {"a": a, "b": b}, thresholds=THRESHOLDS, scales=SCALES, metrics=METRICS
    )
    assert int(strat["n_maps"].sum()) == 5  # the unlabelled map is out
    assert int(strat["n_maps"].sel(a="x", b="q")) == 0
    assert np.isnan(strat["csi"].sel(a="x", b="q")).all()
    assert int(strat["n_valid"].sel(a="x", b="q")) == 0


@settings(max_examples=8, deadline=None)
@given(chunk=st.integers(1, 12))
def test_stratified_same_for_any_dask_chunking(chunk):
    fc, ref = _fields()
    labels = xr.DataArray(np.arange(12) % 3, dims="time", name="k")
    expected = an.stratified_scores(
        fc, ref, labels, thresholds=THRESHOLDS, scales=SCALES, metrics=METRICS
    )
    lazy = an.stratified_scores(
        fc.chunk(time=chunk),
        ref.chunk(time=chunk),
        labels,
        thresholds=THRESHOLDS,
        scales=SCALES,
        metrics=METRICS,
    )
    xr.testing.assert_allclose(lazy.compute(), expected)


def test_stratified_bad_labels_raise():
    fc, ref = _fields(n_time=4)
    with pytest.raises(InvalidArgumentError, match="4 maps"):
        an.stratified_scores(fc, ref, xr.DataArray(np.array(["a", "b"]), dims="time"))
    with pytest.raises(InvalidArgumentError, match="1-D"):
        an.stratified_scores(fc, ref, xr.DataArray(np.zeros((4, 2)), dims=("time", "x")))
    with pytest.raises(InvalidArgumentError, match="differ"):
        shifted = xr.DataArray(
            np.zeros(4), dims="time", coords={"time": fc["time"].values + np.timedelta64(1, "h")}
        )
        an.stratified_scores(fc, ref, shifted)
    with pytest.raises(InvalidArgumentError, match="spearman"):
        an.stratified_scores(
            fc, ref, xr.DataArray(np.zeros(4), dims="time"), metrics=["spearman_r"]
        )
    with pytest.raises(InvalidArgumentError, match="missing label"):
        an.stratified_scores(fc, ref, xr.DataArray(np.array([""] * 4), dims="time"))
    with pytest.raises(xgpm.XGPMError):
        an.stratified_scores(fc, ref, {"a": np.zeros(4)})


# -- context -------------------------------------------------------------------------------------


def _hand_made():
    """Two half hours on 4 x 5 cells with known MW sources, times and quality."""
    time = pd.to_datetime(["2021-07-01T12:00", "2021-12-05T00:30"])
    coords = {"time": time, "lat": 45 + 0.1 * np.arange(4), "lon": 0.1 * np.arange(5)}
    dims = ("time", "lat", "lon")
    shape = (2, 4, 5)
    source = np.zeros(shape)
    source[0, :, :2] = 9  # GMI over columns 0-1 (8 cells)
    source[0, :2, 2] = 7  # MHS over 2 cells
    minute = np.full(shape, np.nan)
    minute[0, :, :2] = 10.0
    minute[0, :2, 2] = 25.0
    irinf = np.zeros(shape)
    irinf[0, :, 2:] = 100.0
    irinf[1] = 40.0
    quality = np.tile(np.linspace(0.05, 0.95, 20).reshape(4, 5), (2, 1, 1))
    precip = np.zeros(shape)
    precip[0, 0, 0] = 3.0
    imerg = xr.Dataset(
        {
            "precipitation": (dims, precip, {"units": "mm/h"}),
            "MWprecipSource": (dims, source),
            "MWobservationTime": (dims, minute),
            "IRinfluence": (dims, irinf),
            "precipitationQualityIndex": (dims, quality),
        },
        coords=coords,
    )
    ref = np.zeros(shape)
    ref[0, 3, :] = np.nan  # the radar misses the last row of the first map: 15 cells verified
    ref[0, 0, 0] = 12.0  # one convective cell (1/15 of the area)
    ref[0, 1, 1] = 0.5
    reference = xr.Dataset({"precipitation": (dims, ref, {"units": "mm/h"})}, coords=coords)
    return imerg, reference


def test_context_fields_on_hand_made_map():
    imerg, reference = _hand_made()
    ctx = an.map_context(imerg, reference)
    first = ctx.isel(time=0)
    # verified: rows 0-2 (15 cells); GMI on rows 0-2 of cols 0-1 (6), MHS on rows 0-1 of col 2
    assert int(first["n_verified"]) == 15
    assert float(first["mw_fraction"]) == pytest.approx(8 / 15)
    assert float(first["ir_only_fraction"]) == pytest.approx(7 / 15)
    assert float(first["source_fraction"].sel(instrument="GMI")) == pytest.approx(6 / 15)
    assert float(first["source_fraction"].sel(instrument="MHS")) == pytest.approx(2 / 15)
    assert float(first["source_fraction"].sum()) == pytest.approx(8 / 15)
    assert str(first["dominant_source"].values) == "GMI"
    assert str(first["source_class"].values) == "MW"
    minutes = np.array([10.0] * 6 + [25.0] * 2)
    assert float(first["mw_minute_mean"]) == pytest.approx(minutes.mean())
    assert float(first["mw_minute_min"]) == 10.0
    assert float(first["minutes_since_mw_mean"]) == pytest.approx((30 - minutes).mean())
    assert float(first["minutes_since_mw_min"]) == 5.0
    assert float(first["ir_influence_mean"]) == pytest.approx(100 * 9 / 15)
    q = np.linspace(0.05, 0.95, 20).reshape(4, 5)[:3].ravel()
    assert float(first["quality_mean"]) == pytest.approx(q.mean())
    for p in (10, 50, 90):
        assert float(first[f"quality_q{p}"]) == pytest.approx(np.quantile(q, p / 100))
    assert float(first["ref_max"]) == 12.0
    assert float(first["ref_wet_fraction"]) == pytest.approx(2 / 15)
    assert str(first["season"].values) == "JJA"
    assert str(first["regime"].values) == "convective"
    second = ctx.isel(time=1)
    assert int(second["n_verified"]) == 20
    assert float(second["mw_fraction"]) == 0.0
    assert str(second["dominant_source"].values) == "IR-only"
    assert str(second["source_class"].values) == "IR-only"
    assert np.isnan(second["mw_minute_mean"]) and np.isnan(second["minutes_since_mw_min"])
    assert float(second["ir_influence_mean"]) == 40.0
    assert str(second["season"].values) == "DJF"
    assert str(second["regime"].values) == "dry"


def test_context_partial_mw_and_no_data():
    imerg, reference = _hand_made()
    imerg["MWprecipSource"][1, 0, 0] = 3  # one AMSR2 cell out of 20
    reference["precipitation"][1] = np.nan  # nothing verified in the second map ...
    ctx = an.map_context(imerg, reference)
    assert str(ctx["regime"].values[1]) == "no data"
    assert str(ctx["source_class"].values[1]) == "no data"
    assert np.isnan(ctx["quality_mean"].values[1])
    reference["precipitation"][1] = 0.0  # ... and now all of it
    ctx = an.map_context(imerg, reference)
    assert str(ctx["source_class"].values[1]) == "partial MW"
    assert str(ctx["dominant_source"].values[1]) == "AMSR2"
    assert float(ctx["source_fraction"].sel(instrument="AMSR2")[1]) == pytest.approx(1 / 20)


def test_context_errors():
    imerg, reference = _hand_made()
    with pytest.raises(InvalidArgumentError, match="IRinfluence"):
        an.map_context(imerg.drop_vars("IRinfluence"), reference)
    with pytest.raises(InvalidArgumentError):
        an.map_context(imerg, reference.isel(time=[0]))
    with pytest.raises(InvalidArgumentError):
        an.map_context(imerg["precipitation"], reference)


def test_season_mapping():
    times = pd.date_range("2021-01-15", periods=12, freq="MS") + pd.Timedelta("14D")
    expected = ["DJF", "DJF", "MAM", "MAM", "MAM", "JJA", "JJA", "JJA", "SON", "SON", "SON", "DJF"]
    months = pd.DatetimeIndex(times).month
    assert list(months) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1]
    by_month = dict(zip(months, an.season_of(times.values), strict=True))
    assert [by_month[m] for m in range(1, 13)] == expected
    da = an.season_of(xr.DataArray(times.values, dims="time"))
    assert da.name == "season" and da.dims == ("time",)
    with pytest.raises(InvalidArgumentError):
        an.season_of(["not a time"])


def test_regime_rule():
    wet = np.array([0.0, 0.009, 0.01, 0.5, 0.5, 0.5, np.nan])
    heavy = np.array([0.0, 0.0, 0.0, 0.0, 0.002, 0.0005, np.nan])
    peak = np.array([0.0, 50.0, 2.0, 9.9, 10.0, 30.0, np.nan])
    got = an.rain_regime(wet, heavy, peak)
    assert list(got) == [
        "dry",  # nothing wet
        "dry",  # a single strong cell but < 1 % wet area
        "stratiform",
        "stratiform",  # below 10 mm/h
        "convective",
        "stratiform",  # 10 mm/h reached on too small an area
        "no data",
    ]
    heavy_above_5 = np.array([0.01, 0.002])  # area fractions >= 5 mm/h
    assert list(an.rain_regime(wet[3:5], heavy_above_5, peak[3:5], convective_rate=5.0)) == [
        "convective",
        "convective",
    ]


def test_bin_labels():
    values = xr.DataArray([0.0, 0.25, 0.5, 1.0, np.nan, 1.5], dims="time", name="q")
    labels = an.bin_labels(values, [0.0, 0.5, 1.0])
    assert list(labels.values) == ["[0, 0.5)", "[0, 0.5)", "[0.5, 1]", "[0.5, 1]", "", ""]
    assert labels.name == "q_bin"
    with pytest.raises(InvalidArgumentError):
        an.bin_labels(values, [1.0, 0.5])


# -- tables and plots ----------------------------------------------------------------------------


def test_table_and_plots(tmp_path):
    fc, ref = _fields()
    labels = xr.DataArray(np.arange(12) % 2, dims="time", name="parity")
    strat = an.stratified_scores(
        fc, ref, labels, thresholds=THRESHOLDS, scales=SCALES, metrics=METRICS
    )
    table = an.scores_table(strat, threshold=1.0, fss_threshold=0.5, scale=3)
    assert list(table.columns) == ["n_maps", "n_valid", "csi@1", "pod@1", "far@1", "fss@0.5,3"]
    assert table.loc[1, "csi@1"] == pytest.approx(float(strat["csi"].sel(parity=1, threshold=1.0)))
    with pytest.raises(InvalidArgumentError):
        an.scores_table(strat, threshold=7.0)
    an.plot_scores_by(strat, threshold=1.0, fss_threshold=0.5, scale=3, path=tmp_path / "bars.png")
    per_map = xv.score(fc, ref, thresholds=THRESHOLDS, scales=SCALES, metrics=["csi"])
    an.plot_score_vs(
        fc.mean(("lat", "lon")), per_map["csi"].sel(threshold=1.0), path=tmp_path / "scatter.png"
    )
    for name in ("bars.png", "scatter.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.pyplot as plt

    plt.close("all")
