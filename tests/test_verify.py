"""Tests of xgpm.verify: hand-computed values, agreement with peers, accumulators, errors."""

from __future__ import annotations

import math
import warnings

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xgpm.verify as xv
from xgpm.errors import InvalidArgumentError, NoValidPairsError, XGPMError
from xgpm.verify import _kernels

THRESHOLDS = (0.1, 1.0, 5.0)
SCALES = (1, 3, 4, 7)


# ----------------------------------------------------------------------------------------------
# fixtures and helpers
# ----------------------------------------------------------------------------------------------
def make_fields(n_time=6, ny=9, nx=11, seed=0, nan_fraction=0.05):
    """Rain-like (forecast, reference) on a (time, lat, lon) grid, with a few NaN in each."""
    rng = np.random.default_rng(seed)
    reference = rng.gamma(0.4, 3.0, (n_time, ny, nx)) * (rng.random((n_time, ny, nx)) < 0.5)
    forecast = 0.6 * reference + rng.gamma(0.3, 2.0, reference.shape) * (
        rng.random(reference.shape) < 0.4
    )
    reference[rng.random(reference.shape) < nan_fraction] = np.nan
    forecast[rng.random(reference.shape) < nan_fraction] = np.nan
    coords = {
        "time": pd.date_range("2020-06-01", periods=n_time, freq="30min"),
        "lat": 45.0 + 0.1 * np.arange(ny),
        "lon": 2.0 + 0.1 * np.arange(nx),
    }
    dims = ("time", "lat", "lon")
    return (
        xr.DataArray(forecast, dims=dims, coords=coords, attrs={"units": "mm/h"}),
        xr.DataArray(reference, dims=dims, coords=coords, attrs={"units": "mm/h"}),
    )


@pytest.fixture
def fields():
    return make_fields()


def raise_if_dask_computes():
    """Scheduler that fails on any compute (xarray's ``raise_if_dask_computes`` pattern)."""

    def scheduler(dsk, keys, **kwargs):
        raise RuntimeError("a dask computation was triggered")

    return dask.config.set(scheduler=scheduler)


def assert_datasets_close(actual: xr.Dataset, expected: xr.Dataset, rtol=1e-9, atol=1e-12):
    assert set(actual.data_vars) == set(expected.data_vars)
    for name in expected.data_vars:
        xr.testing.assert_allclose(actual[name], expected[name], rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------
# (a) hand-computed values
# ----------------------------------------------------------------------------------------------
def test_continuous_scores_by_hand():
    forecast = xr.DataArray([1.0, 2.0, 4.0, np.nan, 5.0])
    reference = xr.DataArray([1.0, 0.0, 3.0, 2.0, np.nan])
    # Valid pairs: (1, 1), (2, 0), (4, 3); the pairs with a NaN are dropped.
    f, r = np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 3.0])
    assert float(xv.bias(forecast, reference)) == pytest.approx((0 + 2 + 1) / 3)
    assert float(xv.relative_bias(forecast, reference)) == pytest.approx(100 * (7 - 4) / 4)
    assert float(xv.mae(forecast, reference)) == pytest.approx(1.0)
    assert float(xv.mse(forecast, reference)) == pytest.approx(5 / 3)
    assert float(xv.rmse(forecast, reference)) == pytest.approx(math.sqrt(5 / 3))
    # SMAPE_0.1 uses r > 0.1: pairs (1, 1) -> 0 and (4, 3) -> 1 / 3.5.
    assert float(xv.smape(forecast, reference)) == pytest.approx((0 + 1 / 3.5) / 2)
    # SMAPE_1.0 keeps only r > 1 (strictly): the pair (4, 3).
    assert float(xv.smape(forecast, reference, threshold=1.0)) == pytest.approx(1 / 3.5)
    mf, mr = 7 / 3, 4 / 3
    cov = sum((a - mf) * (b - mr) for a, b in zip(f, r, strict=True)) / 3
    sf = math.sqrt(sum((a - mf) ** 2 for a in f) / 3)
    sr = math.sqrt(sum((b - mr) ** 2 for b in r) / 3)
    rho = cov / (sf * sr)
    assert float(xv.pearson_r(forecast, reference)) == pytest.approx(rho)
    kge = 1 - math.sqrt((rho - 1) ** 2 + (sf / sr - 1) ** 2 + (mf / mr - 1) ** 2)
    assert float(xv.kge(forecast, reference)) == pytest.approx(kge)
    # Ranks: f -> (1, 2, 3), r -> (2, 1, 3); rho_s = 1 - 6 * sum d^2 / (n (n^2 - 1)) = 0.5.
    assert float(xv.spearman_r(forecast, reference)) == pytest.approx(0.5)


def test_continuous_reduces_only_dim():
    forecast = xr.DataArray([[1.0, 2.0], [3.0, 5.0]], dims=("time", "x"))
    reference = xr.DataArray([[0.0, 2.0], [3.0, 3.0]], dims=("time", "x"))
    out = xv.mae(forecast, reference, dim="x")
    assert out.dims == ("time",)
    np.testing.assert_allclose(out.values, [0.5, 1.0])


def test_contingency_scores_by_hand():
    # 2 x 3 maps; at threshold 1 a value of exactly 1 is an event (>=).
    forecast = xr.DataArray([[0.0, 1.0, 2.0], [3.0, 0.0, 5.0]], dims=("lat", "lon"))
    reference = xr.DataArray([[1.0, 1.0, 0.0], [3.0, 0.0, 0.0]], dims=("lat", "lon"))
    table = xv.contingency_table(forecast, reference, [1.0, 3.0])
    # t = 1: f events (0,1) (0,2) (1,0) (1,2); r events (0,0) (0,1) (1,0).
    #   hits (0,1) (1,0) = 2; misses (0,0) = 1; false alarms (0,2) (1,2) = 2; negatives (1,1) = 1
    # t = 3: f events (1,0) (1,2); r events (1,0): hits 1, misses 0, false alarms 1, negatives 4
    np.testing.assert_array_equal(table["hits"], [2, 1])
    np.testing.assert_array_equal(table["misses"], [1, 0])
    np.testing.assert_array_equal(table["false_alarms"], [2, 1])
    np.testing.assert_array_equal(table["correct_negatives"], [1, 4])
    expected = {
        "pod": [2 / 3, 1.0],
        "far": [2 / 4, 1 / 2],
        "csi": [2 / 5, 1 / 2],
        # hits by chance (TP+FN)(TP+FP)/N: 3 * 4 / 6 = 2 and 1 * 2 / 6 = 1/3
        "ets": [(2 - 2) / (5 - 2), (1 - 1 / 3) / (2 - 1 / 3)],
        "hss": [
            2 * (2 * 1 - 2 * 1) / ((2 + 1) * (1 + 1) + (2 + 2) * (2 + 1)),
            2 * (1 * 4 - 1 * 0) / ((1 + 0) * (0 + 4) + (1 + 1) * (1 + 4)),
        ],
        "frequency_bias": [4 / 3, 2.0],
        "pofd": [2 / 3, 1 / 5],
    }
    for name, values in expected.items():
        func = getattr(xv, name)
        np.testing.assert_allclose(func(forecast, reference, [1.0, 3.0]).values, values)


def test_categorical_undefined_is_nan_not_inf():
    zeros = xr.DataArray(np.zeros((2, 3)), dims=("lat", "lon"))
    # No event anywhere: POD, FAR, CSI undefined; POFD = 0 / 6 = 0.
    assert np.isnan(float(xv.pod(zeros, zeros, 1.0)))
    assert np.isnan(float(xv.far(zeros, zeros, 1.0)))
    assert np.isnan(float(xv.csi(zeros, zeros, 1.0)))
    assert float(xv.pofd(zeros, zeros, 1.0)) == 0.0


def brute_force_fss_sums(forecast, reference, threshold, size):
    """FSS sums by explicit loops: centred windows, zero padding, valid cells only."""
    ny, nx = forecast.shape
    valid = np.isfinite(forecast) & np.isfinite(reference)
    fe = np.where(valid, forecast >= threshold, False)
    re = np.where(valid, reference >= threshold, False)
    before, after = size // 2, size - size // 2 - 1
    sums = np.zeros(3)
    for i in range(ny):
        for j in range(nx):
            if not valid[i, j]:
                continue
            pf = po = 0.0
            for a in range(i - before, i + after + 1):
                for b in range(j - before, j + after + 1):
                    if 0 <= a < ny and 0 <= b < nx:  # outside the domain: non-event
                        pf += fe[a, b]
                        po += re[a, b]
            pf, po = pf / size**2, po / size**2
            sums += [(pf - po) ** 2, pf**2, po**2]
    return sums


def test_fss_by_hand():
    ref = xr.DataArray([[0.0, 0, 0], [0, 5, 0], [0, 0, 0]], dims=("lat", "lon"))
    moved = xr.DataArray([[0.0, 0, 0], [0, 0, 5], [0, 0, 0]], dims=("lat", "lon"))
    # n = 1: no overlap -> 0. n = 3: Po = 1/9 on all 9 cells; Pf = 1/9 on columns 1-2 (6 cells),
    # 0 on column 0: sum (Pf-Po)^2 = 3/81, sum Pf^2 = 6/81, sum Po^2 = 9/81 -> 1 - 3/15 = 0.8
    out = xv.fss(moved, ref, thresholds=1.0, scales=[1, 3])
    np.testing.assert_allclose(out.values, [0.0, 0.8])
    # Identical fields score 1; fields without any event score NaN (undefined, not 0).
    assert float(xv.fss(ref, ref, 1.0, 3).squeeze()) == 1.0
    assert np.isnan(float(xv.fss(ref * 0, ref * 0, 1.0, 3).squeeze()))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 9])
def test_fss_sums_match_brute_force_with_nans(size):
    forecast, reference = make_fields(n_time=1, ny=7, nx=8, seed=size, nan_fraction=0.15)
    f, r = forecast.values[0], reference.values[0]
    got = _kernels.fss_statistics(f, r, thresholds=[1.0], scales=[size])[0, 0]
    np.testing.assert_allclose(got, brute_force_fss_sums(f, r, 1.0, size), rtol=1e-12)


def test_window_counts_equal_scipy_uniform_filter_constant():
    from scipy.ndimage import uniform_filter

    rng = np.random.default_rng(3)
    events = (rng.random((2, 13, 10)) < 0.3).astype(np.float64)
    for size in (1, 2, 3, 6, 7, 20):
        expected = uniform_filter(events, size=(1, size, size), mode="constant", cval=0.0)
        np.testing.assert_allclose(
            _kernels.window_counts(events.astype(bool), size) / size**2, expected, atol=1e-12
        )


def test_useful_scale_rule():
    fss = np.array([[0.4, 0.6, 0.8], [0.4, 0.55, 0.61], [0.1, 0.2, 0.3]])
    base_rate = np.array([0.2, 0.2, 0.2])  # target 0.5 + 0.2 / 2 = 0.6, strictly above
    got = _kernels.useful_scale(fss, base_rate, scales=[1, 3, 5])
    np.testing.assert_array_equal(got, [5.0, 5.0, np.nan])
    # the scale axis need not be sorted
    got = _kernels.useful_scale(fss[:, ::-1], base_rate, scales=[5, 3, 1])
    np.testing.assert_array_equal(got, [5.0, 5.0, np.nan])


def test_score_useful_scale_uses_observed_base_rate(fields):
    forecast, reference = fields
    out = xv.score(forecast, reference, thresholds=[1.0], scales=SCALES, metrics=["fss"])
    out_useful = xv.score(
        forecast, reference, thresholds=[1.0], scales=SCALES, metrics=["fss_useful_scale"]
    )
    valid = np.isfinite(forecast) & np.isfinite(reference)
    f0 = float(((reference >= 1.0) & valid).sum() / valid.sum())
    pooled = out["pooled_fss"].sel(threshold=1.0).values
    useful = [s for s, v in zip(SCALES, pooled, strict=True) if v > 0.5 + f0 / 2]
    expected = min(useful) if useful else np.nan
    np.testing.assert_equal(
        float(out_useful["pooled_fss_useful_scale"].sel(threshold=1.0)), expected
    )


# ----------------------------------------------------------------------------------------------
# (b) agreement with the peers (conventions set to match)
# ----------------------------------------------------------------------------------------------
def test_continuous_match_scores_and_xskillscore(fields):
    import scores.continuous as sc
    import xskillscore as xs

    forecast, reference = fields
    spatial = ["lat", "lon"]
    # xgpm uses pairs where both are finite: give the peers the same pairs.
    both = np.isfinite(forecast) & np.isfinite(reference)
    f, r = forecast.where(both), reference.where(both)
    pairs = [
        (xv.bias(forecast, reference, spatial), sc.additive_bias(f, r, reduce_dims=spatial)),
        (xv.relative_bias(forecast, reference, spatial), sc.pbias(f, r, reduce_dims=spatial)),
        (xv.mae(forecast, reference, spatial), sc.mae(f, r, reduce_dims=spatial)),
        (xv.mse(forecast, reference, spatial), sc.mse(f, r, reduce_dims=spatial)),
        (xv.rmse(forecast, reference, spatial), sc.rmse(f, r, reduce_dims=spatial)),
        (xv.kge(forecast, reference, spatial), sc.kge(f, r, reduce_dims=spatial, method="2009")),
        (
            xv.pearson_r(forecast, reference, spatial),
            sc.correlation.pearsonr(f, r, reduce_dims=spatial),
        ),
        (
            xv.spearman_r(forecast, reference, spatial),
            sc.correlation.spearmanr(f, r, reduce_dims=spatial),
        ),
        (xv.mae(forecast, reference, spatial), xs.mae(f, r, spatial, skipna=True)),
        (xv.rmse(forecast, reference, spatial), xs.rmse(f, r, spatial, skipna=True)),
        (xv.pearson_r(forecast, reference, spatial), xs.pearson_r(f, r, spatial, skipna=True)),
        (xv.spearman_r(forecast, reference, spatial), xs.spearman_r(f, r, spatial, skipna=True)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-9, err_msg=ours.name)


def test_contingency_matches_xskillscore_and_scores(fields):
    import xskillscore as xs
    from scores.categorical import ThresholdEventOperator

    forecast, reference = (a.fillna(0.0) for a in fields)  # peers disagree on NaN handling
    spatial = ["lat", "lon"]
    ours = xv.score(forecast, reference, thresholds=THRESHOLDS, metrics=xv.CATEGORICAL_METRICS)
    for threshold in THRESHOLDS:
        # xskillscore bins include their left edge: [-inf, t), [t, inf] -> event is >= t
        edges = np.array([-np.inf, threshold, np.inf])
        table = xs.Contingency(reference, forecast, edges, edges, dim=spatial)
        manager = ThresholdEventOperator(default_op_fn=np.greater_equal).make_contingency_manager(
            forecast, reference, event_threshold=threshold
        )
        manager = manager.transform(preserve_dims=["time"])
        at = ours.sel(threshold=threshold)
        peers = {
            "pod": [table.hit_rate(), manager.probability_of_detection()],
            "far": [table.false_alarm_ratio(), manager.false_alarm_ratio()],
            "csi": [table.threat_score(), manager.critical_success_index()],
            "ets": [table.equit_threat_score(), manager.equitable_threat_score()],
            "hss": [table.heidke_score(), manager.heidke_skill_score()],
            "frequency_bias": [table.bias_score(), manager.frequency_bias()],
            "pofd": [table.false_alarm_rate(), manager.probability_of_false_detection()],
        }
        for name, values in peers.items():
            for peer in values:
                # x / 0 is inf for xskillscore, NaN (undefined) for xgpm
                expected = np.where(np.isinf(peer.values), np.nan, peer.values)
                np.testing.assert_allclose(
                    at[name].values, expected, rtol=1e-9, atol=1e-12, err_msg=name
                )
        np.testing.assert_array_equal(at["n_valid"], forecast.sizes["lat"] * forecast.sizes["lon"])


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_fss_matches_scores_fss_2d(size):
    """scores' zero_padding=True evaluates one extra row and column of window centres past the
    bottom/right edge; appending one all-zero row and column to both fields makes the two
    conventions coincide exactly (per map and pooled)."""
    from scores.spatial import fss_2d

    forecast, reference = (a.fillna(0.0) for a in make_fields(n_time=4, ny=12, nx=15, seed=2))

    def pad(a):
        return a.pad(lat=(0, 1), lon=(0, 1), constant_values=0.0)

    kwargs = dict(
        event_threshold=1.0,
        window_size=(size, size),
        spatial_dims=("lat", "lon"),
        zero_padding=True,
        threshold_operator=np.greater_equal,
    )
    theirs_per_map = fss_2d(forecast, reference, preserve_dims=["time"], **kwargs)
    ours_per_map = xv.fss(pad(forecast), pad(reference), 1.0, size).squeeze(drop=True)
    np.testing.assert_allclose(ours_per_map.values, theirs_per_map.values, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scores warns that spatial dims are reduced too
        theirs_pooled = fss_2d(forecast, reference, **kwargs)
    ours_pooled = xv.fss(pad(forecast), pad(reference), 1.0, size, dim="time")
    np.testing.assert_allclose(float(ours_pooled.squeeze()), float(theirs_pooled), rtol=1e-12)


def test_fss_matches_pysteps(fields):
    verification = pytest.importorskip("pysteps.verification.spatialscores")
    forecast, reference = (a.fillna(0.0) for a in fields)
    for size in (1, 3, 5):
        expected = [
            verification.fss(forecast.values[t], reference.values[t], 1.0, size)
            for t in range(forecast.sizes["time"])
        ]
        ours = xv.fss(forecast, reference, 1.0, size).squeeze(drop=True)
        np.testing.assert_allclose(ours.values, expected, rtol=1e-9)


# ----------------------------------------------------------------------------------------------
# score(): structure, NaN handling, mask
# ----------------------------------------------------------------------------------------------
def test_score_structure_and_pooled_from_sums(fields):
    forecast, reference = fields
    out = xv.score(forecast, reference, thresholds=THRESHOLDS, scales=SCALES)
    assert out["csi"].dims == ("time", "threshold")
    assert out["fss"].dims == ("time", "threshold", "scale")
    assert out["pooled_fss"].dims == ("threshold", "scale")
    assert out["pooled_csi"].dims == ("threshold",)
    assert "spearman_r" in out and "pooled_spearman_r" not in out
    np.testing.assert_array_equal(out["threshold"], THRESHOLDS)
    np.testing.assert_array_equal(out["scale"], SCALES)
    # Pooled scores equal the scores of all the maps' pairs taken together.
    valid = np.isfinite(forecast) & np.isfinite(reference)
    assert int(out["pooled_n_valid"]) == int(valid.sum())
    np.testing.assert_array_equal(out["n_valid"], valid.sum(["lat", "lon"]))
    assert float(out["pooled_mae"]) == pytest.approx(float(xv.mae(forecast, reference)))
    np.testing.assert_allclose(
        out["pooled_csi"], xv.csi(forecast, reference, THRESHOLDS), rtol=1e-12
    )
    pooled_fss = xv.fss(forecast, reference, THRESHOLDS, SCALES, dim="time")
    np.testing.assert_allclose(out["pooled_fss"], pooled_fss, rtol=1e-12)
    # Per-map FSS equals FSS computed on that map alone.
    np.testing.assert_allclose(
        out["fss"].isel(time=2), xv.fss(forecast[2], reference[2], THRESHOLDS, SCALES)
    )


def test_map_without_valid_pairs_is_nan_with_count_zero(fields):
    forecast, reference = fields
    reference = reference.copy()
    reference[1] = np.nan
    out = xv.score(forecast, reference, thresholds=[1.0], scales=[3])
    assert int(out["n_valid"][1]) == 0
    for name in ("mae", "pearson_r", "kge", "spearman_r", "relative_bias"):
        assert np.isnan(float(out[name][1])), name
    for name in ("csi", "pod", "hss"):
        assert np.isnan(float(out[name][1].squeeze())), name
    assert np.isnan(out["fss"][1]).all()
    assert np.isfinite(float(out["mae"][0]))
    assert int(out["pooled_n_valid"]) == int(out["n_valid"].sum())


def test_all_nan_reference_raises(fields):
    forecast, reference = fields
    with pytest.raises(NoValidPairsError, match="no valid forecast/reference pair"):
        xv.score(forecast, reference * np.nan)
    accumulator = xv.ScoreAccumulator().accumulate(forecast, reference * np.nan)
    with pytest.raises(NoValidPairsError, match="no valid forecast/reference pair"):
        accumulator.finalize()
    # dask input: nothing is computed to check, the pooled score is NaN with its count 0
    out = xv.score(forecast.chunk(time=2), (reference * np.nan).chunk(time=2)).compute()
    assert int(out["pooled_n_valid"]) == 0
    assert np.isnan(float(out["pooled_mae"]))


def test_mask_excludes_pairs(fields):
    forecast, reference = fields
    land = xr.DataArray(
        np.random.default_rng(5).random((forecast.sizes["lat"], forecast.sizes["lon"])) < 0.6,
        dims=("lat", "lon"),
        coords={"lat": forecast.lat, "lon": forecast.lon},
    )
    out = xv.score(forecast, reference, mask=land, thresholds=[1.0], scales=[1, 3])
    # masked pairs behave exactly like NaN pairs
    expected = xv.score(forecast.where(land), reference, thresholds=[1.0], scales=[1, 3])
    assert_datasets_close(out, expected)
    assert int(out["pooled_n_valid"]) < int(xv.score(forecast, reference)["pooled_n_valid"])


def test_extra_dims_are_kept(fields):
    forecast, reference = fields
    products = xr.concat([forecast, forecast * 2], dim=pd.Index(["late", "final"], name="run"))
    out = xv.score(products, reference, thresholds=[1.0], scales=[3], metrics=["csi", "mae"])
    assert set(out["pooled_csi"].dims) == {"run", "threshold"}
    single = xv.score(forecast * 2, reference, thresholds=[1.0], scales=[3], metrics=["csi"])
    np.testing.assert_allclose(out["pooled_csi"].sel(run="final"), single["pooled_csi"])


# ----------------------------------------------------------------------------------------------
# (c) accumulators, dask chunking, laziness
# ----------------------------------------------------------------------------------------------
@st.composite
def splits(draw, n):
    """Sorted cut points splitting range(n) into 1..4 non-empty pieces."""
    cuts = draw(st.lists(st.integers(1, n - 1), max_size=3, unique=True))
    return [0, *sorted(cuts), n]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_accumulator_merge_equals_whole(data):
    forecast, reference = make_fields(n_time=7, ny=6, nx=7, seed=1)
    cuts = data.draw(splits(7))
    config = dict(thresholds=THRESHOLDS, scales=(1, 3))
    whole = xv.ScoreAccumulator(**config).accumulate(forecast, reference).finalize()
    parts = [
        xv.ScoreAccumulator(**config).accumulate(
            forecast.isel(time=slice(a, b)), reference.isel(time=slice(a, b))
        )
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    order = data.draw(st.permutations(range(len(parts))))
    merged = parts[order[0]]
    for i in order[1:]:
        merged = merged.merge(parts[i])
    assert_datasets_close(merged.finalize(), whole)
    # accumulate() in sequence gives the same as merging
    sequential = xv.ScoreAccumulator(**config)
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        sequential.accumulate(forecast.isel(time=slice(a, b)), reference.isel(time=slice(a, b)))
    assert_datasets_close(sequential.finalize(), whole)
    # and the pooled variables of score()
    pooled = xv.score(forecast, reference, **config)
    for name in whole.data_vars:
        xr.testing.assert_allclose(whole[name], pooled[f"pooled_{name}"], rtol=1e-9)


@st.composite
def chunkings(draw, n):
    cuts = draw(splits(n))
    return tuple(b - a for a, b in zip(cuts[:-1], cuts[1:], strict=True))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_score_same_for_any_dask_chunking(data):
    forecast, reference = make_fields(n_time=8, ny=6, nx=7, seed=4)
    chunks = {
        "time": data.draw(chunkings(8)),
        "lat": data.draw(chunkings(6)),
        "lon": data.draw(chunkings(7)),
    }
    config = dict(thresholds=THRESHOLDS, scales=(1, 2, 5))
    expected = xv.score(forecast, reference, **config)
    lazy = xv.score(forecast.chunk(chunks), reference.chunk(chunks), **config)
    assert isinstance(lazy["pooled_csi"].data, da.Array)
    assert_datasets_close(lazy.compute(), expected)


@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_continuous_functions_same_for_any_chunking(data):
    forecast, reference = make_fields(n_time=8, ny=6, nx=7, seed=6)
    chunks = {"time": data.draw(chunkings(8)), "lat": data.draw(chunkings(6))}
    lazy_f, lazy_r = forecast.chunk(chunks), reference.chunk(chunks)
    funcs = (xv.mae, xv.rmse, xv.pearson_r, xv.kge, xv.relative_bias, xv.smape)
    expected = [func(forecast, reference) for func in funcs]
    expected.append(xv.csi(forecast, reference, THRESHOLDS, dim=["time", "lon"]))
    lazy = [func(lazy_f, lazy_r) for func in funcs]
    lazy.append(xv.csi(lazy_f, lazy_r, THRESHOLDS, dim=["time", "lon"]))
    for got, want in zip(dask.compute(*lazy), expected, strict=True):
        xr.testing.assert_allclose(got, want, rtol=1e-9)


def test_building_pooled_scores_does_not_compute(fields):
    forecast, reference = (a.chunk(time=2) for a in fields)
    mask = xr.ones_like(reference.isel(time=0), dtype=bool).chunk()
    with raise_if_dask_computes():
        out = xv.score(forecast, reference, thresholds=THRESHOLDS, scales=SCALES, mask=mask)
        accumulator = xv.ScoreAccumulator(thresholds=THRESHOLDS, scales=SCALES)
        accumulator.accumulate(forecast[:3], reference[:3])
        other = xv.ScoreAccumulator(thresholds=THRESHOLDS, scales=SCALES)
        merged = accumulator.merge(other.accumulate(forecast[3:], reference[3:]))
        pooled = merged.finalize()
        xv.mae(forecast, reference)
        xv.fss(forecast, reference, 1.0, 3, dim="time")
    assert isinstance(out["pooled_fss"].data, da.Array)
    assert isinstance(pooled["csi"].data, da.Array)
    assert_datasets_close(
        pooled.compute(),
        xv.ScoreAccumulator(thresholds=THRESHOLDS, scales=SCALES).accumulate(*fields).finalize(),
    )


def test_pooled_reduction_is_a_tree_over_chunks(fields):
    forecast, reference = (a.chunk(time=1) for a in fields)  # 6 chunks along time
    out = xv.score(forecast, reference, thresholds=[1.0], scales=[3], metrics=["csi"])
    graph = dict(out["pooled_csi"].data.__dask_graph__())
    names = [key[0] for key in graph if isinstance(key, tuple)]
    # one statistics task per time chunk: time is never rechunked into one block ...
    kernel_tasks = [n for n in names if n.startswith("stats_kernel-")]
    assert len(kernel_tasks) == forecast.sizes["time"]
    # ... and the per-chunk sums are combined by dask's tree reduction
    assert any(n.startswith("sum-partial-") for n in names)
    assert any(n.startswith("sum-aggregate-") for n in names)


def test_sufficient_statistics_and_finalize_round_trip(fields):
    forecast, reference = fields
    stats = xv.sufficient_statistics(forecast, reference, thresholds=[1.0], scales=[3])
    assert {"n_valid", "hits", "fss_sum_diff2", "sum_fr"} <= set(stats.data_vars)
    pooled = xv.finalize(stats.drop_vars("spearman_r").sum("time"))
    expected = xv.score(forecast, reference, thresholds=[1.0], scales=[3])
    np.testing.assert_allclose(pooled["fss"], expected["pooled_fss"])
    np.testing.assert_allclose(pooled["kge"], expected["pooled_kge"])


# ----------------------------------------------------------------------------------------------
# (d) bad input
# ----------------------------------------------------------------------------------------------
def test_mismatched_grid_raises_naming_the_coordinate(fields):
    forecast, reference = fields
    shifted = reference.assign_coords(lon=reference.lon + 0.05)
    with pytest.raises(InvalidArgumentError, match="'lon' coordinates"):
        xv.score(forecast, shifted)
    with pytest.raises(InvalidArgumentError, match="size along 'lat'"):
        xv.score(forecast, reference.isel(lat=slice(1, None)))


def test_different_periods_raise_instead_of_aligning(fields):
    forecast, reference = fields
    later = reference.assign_coords(time=reference.time + np.timedelta64(30, "m"))
    with pytest.raises(InvalidArgumentError, match="'time' coordinates"):
        xv.score(forecast, later)
    with pytest.raises(InvalidArgumentError, match="size along 'time'"):
        xv.score(forecast, reference.isel(time=slice(0, 3)))
    with pytest.raises(InvalidArgumentError, match="dim='time'"):
        xv.score(forecast, reference.isel(time=0))


def test_units_must_agree(fields):
    forecast, reference = fields
    with pytest.raises(InvalidArgumentError, match="units differ.*'mm'"):
        xv.score(forecast, reference.assign_attrs(units="mm"))
    # spelling variants of the same unit are accepted
    xv.score(forecast.assign_attrs(units="mm h-1"), reference, metrics=["mae"])
    xv.score(forecast.assign_attrs(units="mm/hr"), reference, metrics=["mae"])
    xv.score(forecast.assign_attrs(units="mm h**-1"), reference, metrics=["mae"])


def test_bad_arguments_raise_xgpm_errors(fields):
    forecast, reference = fields
    cases = [
        (dict(metrics=["csi", "brier"]), "unknown metric"),
        (dict(thresholds=[]), "thresholds"),
        (dict(thresholds=[1.0, np.nan]), "thresholds"),
        (dict(thresholds=[1.0, 1.0]), "unique"),
        (dict(scales=[0, 3]), "scales"),
        (dict(scales=[1.5]), "scales"),
        (dict(spatial_dims=("y", "x")), "spatial dimension"),
        (dict(smape_threshold=-1), "smape_threshold"),
        (dict(mask=xr.DataArray(np.ones(3), dims="z")), "mask"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            xv.score(forecast, reference, **kwargs)
    with pytest.raises(InvalidArgumentError, match="xarray.DataArray"):
        xv.score(forecast.values, reference)
    shifted_mask = (reference.isel(time=0) > 0).assign_coords(lat=reference.lat + 1.0)
    with pytest.raises(InvalidArgumentError, match="mask and data have different 'lat'"):
        xv.score(forecast, reference, mask=shifted_mask)
    with pytest.raises(InvalidArgumentError, match="booleans"):
        xv.score(forecast, reference, mask=reference.fillna(0))
    # every error is also catchable as the package root error and as ValueError
    with pytest.raises(XGPMError):
        xv.score(forecast, reference, metrics="nope")
    with pytest.raises(ValueError):
        xv.score(forecast, reference, metrics="nope")


def test_accumulator_misuse_raises(fields):
    forecast, reference = fields
    with pytest.raises(InvalidArgumentError, match="nothing accumulated"):
        xv.ScoreAccumulator().finalize()
    with pytest.raises(InvalidArgumentError, match="cannot be pooled"):
        xv.ScoreAccumulator(metrics=["spearman_r"])
    a = xv.ScoreAccumulator(thresholds=[1.0]).accumulate(forecast, reference)
    b = xv.ScoreAccumulator(thresholds=[2.0]).accumulate(forecast, reference)
    with pytest.raises(InvalidArgumentError, match="different metrics, thresholds"):
        a.merge(b)
    with pytest.raises(InvalidArgumentError, match="ScoreAccumulator"):
        a.merge("not an accumulator")


def test_grouped_pooling_from_sufficient_statistics(fields):
    forecast, reference = fields
    regime = xr.DataArray(
        ["a", "b", "a", "b", "b", "a"], dims="time", coords={"time": forecast.time}
    )
    stats = xv.sufficient_statistics(forecast, reference, thresholds=[1.0], scales=[3])
    per_regime = xv.finalize(stats.drop_vars("spearman_r").groupby(regime).sum())
    only_b = regime.values == "b"
    expected = xv.score(forecast[only_b], reference[only_b], thresholds=[1.0], scales=[3])
    for name in ("csi", "fss", "kge", "smape", "n_valid"):
        np.testing.assert_allclose(per_regime[name].sel(group="b"), expected[f"pooled_{name}"])
