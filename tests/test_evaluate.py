"""Tests of xgpm.evaluate: SatRain's metrics, stratification and the effective resolution."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter

from xgpm.errors import InvalidArgumentError, NoValidPairsError, XGPMError
from xgpm.verify.retrieval import (
    COHERENCE_THRESHOLD,
    coherence_spectrum,
    effective_resolution,
    evaluate_retrieval,
    metrics_table,
    plot_coherence,
    plot_quantile_calibration,
    quantile_calibration,
)

SWATH = ("cross_track", "along_track")

# A tiny case with a NaN, a reference exactly at t = 0.1 and one heavy pair.
PRED = [1.0, 0.0, 3.0, 0.05, 0.3, 12.0, 4.0, np.nan, 0.0]
REF = [2.0, 0.2, 1.0, 0.0, 0.1, 15.0, 11.0, 4.0, 0.0]


def _pairs(pred, ref):
    return [(p, r) for p, r in zip(pred, ref, strict=True) if math.isfinite(p + r)]


def _table(pairs, t, strict=True):
    above = (lambda v: v > t) if strict else (lambda v: v >= t)
    tp = sum(above(p) and above(r) for p, r in pairs)
    fn = sum(not above(p) and above(r) for p, r in pairs)
    fp = sum(above(p) and not above(r) for p, r in pairs)
    tn = sum(not above(p) and not above(r) for p, r in pairs)
    return tp, fn, fp, tn


def _hss(tp, fn, fp, tn):
    return 2 * (tp * tn - fp * fn) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def _da(values):
    return xr.DataArray(np.asarray(values, dtype=float), dims=("pixel",))


# --------------------------------------------------------------------------------------------
# hand-computed metrics
# --------------------------------------------------------------------------------------------
def test_continuous_metrics_match_definitions():
    ds = evaluate_retrieval(_da(PRED), _da(REF))
    pairs = _pairs(PRED, REF)
    p = np.array([a for a, _ in pairs])
    r = np.array([b for _, b in pairs])
    assert ds["n_valid"] == len(pairs) == 8
    assert float(ds["bias"]) == pytest.approx(100 * (p.sum() - r.sum()) / r.sum())
    assert float(ds["mae"]) == pytest.approx(np.mean(np.abs(p - r)))
    assert float(ds["mse"]) == pytest.approx(np.mean((p - r) ** 2))
    # SMAPE_t over r > 0.1 only: the pair with r == 0.1 is left out.
    terms = [abs(a - b) / (0.5 * (abs(a) + abs(b))) for a, b in pairs if b > 0.1]
    assert len(terms) == 5
    assert float(ds["smape"]) == pytest.approx(100 * np.mean(terms))
    assert float(ds["correlation"]) == pytest.approx(np.corrcoef(p, r)[0, 1])
    assert ds["bias"].attrs["units"] == "%"


@pytest.mark.parametrize("event", [">", ">="])
def test_categorical_metrics_match_definitions(event):
    ds = evaluate_retrieval(_da(PRED), _da(REF), event=event)
    pairs = _pairs(PRED, REF)
    for suffix, t in (("", 0.1), ("_heavy", 10.0)):
        tp, fn, fp, tn = _table(pairs, t, strict=event == ">")
        assert float(ds["pod" + suffix]) == pytest.approx(tp / (tp + fn))
        assert float(ds["far" + suffix]) == pytest.approx(fp / (tp + fp))
        assert float(ds["csi" + suffix]) == pytest.approx(tp / (tp + fp + fn))
        assert float(ds["hss" + suffix]) == pytest.approx(_hss(tp, fn, fp, tn))


def test_event_convention_changes_only_the_pair_at_the_threshold():
    pairs = _pairs(PRED, REF)
    strict, loose = _table(pairs, 0.1, strict=True), _table(pairs, 0.1, strict=False)
    assert strict != loose  # the (0.3, 0.1) pair is a false alarm for '>' and a hit for '>='
    gt = evaluate_retrieval(_da(PRED), _da(REF), event=">")
    ge = evaluate_retrieval(_da(PRED), _da(REF), event=">=")
    assert float(gt["far"]) != float(ge["far"])
    assert float(gt["smape"]) == float(ge["smape"])  # SMAPE_t is always r > t


def test_hss_uses_the_correct_false_negatives():
    # TP=3, FN=1, FP=2, TN=4: SatRain's code counts FN as FP (positive & ~true) and differs.
    ref = [1.0] * 4 + [0.0] * 6
    pred = [1.0, 1.0, 1.0, 0.0] + [1.0, 1.0] + [0.0] * 4
    tp, fn, fp, tn = _table(_pairs(pred, ref), 0.1)
    assert (tp, fn, fp, tn) == (3, 1, 2, 4)
    correct = _hss(tp, fn, fp, tn)
    n_tot = tp + fp + tn + fp  # SatRain: n_neg = TN + FN with FN accumulated as FP
    standard = (tp + fp) / n_tot * (tp + fp) / n_tot + (tn + fp) / n_tot * (fp + tn) / n_tot
    satrain_buggy = ((tp + tn) / n_tot - standard) / (1 - standard)
    assert abs(correct - satrain_buggy) > 0.05
    got = float(evaluate_retrieval(_da(pred), _da(ref))["hss"])
    assert got == pytest.approx(correct)
    assert got == pytest.approx(2 * (3 * 4 - 2 * 1) / ((3 + 1) * (1 + 4) + (3 + 2) * (2 + 4)))


def test_dims_keeps_the_other_dimensions():
    rng = np.random.default_rng(1)
    ref = xr.DataArray(rng.gamma(0.4, 2.0, (6, 5)), dims=SWATH)
    pred = ref * rng.uniform(0.5, 1.5, ref.shape)
    ds = evaluate_retrieval(pred, ref, dims="cross_track")
    assert ds["mae"].dims == ("along_track",)
    for j in range(5):
        one = evaluate_retrieval(pred.isel(along_track=j), ref.isel(along_track=j))
        for name in ("bias", "mae", "correlation", "csi"):
            np.testing.assert_allclose(ds[name].isel(along_track=j), one[name])


# --------------------------------------------------------------------------------------------
# NaN handling, stratification, dask
# --------------------------------------------------------------------------------------------
def test_nan_pixels_are_excluded():
    rng = np.random.default_rng(2)
    ref = rng.gamma(0.4, 2.0, 200)
    pred = ref * rng.uniform(0.5, 1.5, 200)
    pred[::7] = np.nan
    ref[::11] = np.nan
    keep = np.isfinite(pred) & np.isfinite(ref)
    full = evaluate_retrieval(_da(pred), _da(ref))
    dropped = evaluate_retrieval(_da(pred[keep]), _da(ref[keep]))
    xr.testing.assert_allclose(full, dropped)
    assert int(full["n_valid"]) == keep.sum()


def _scene(seed=3, shape=(20, 30)):
    rng = np.random.default_rng(seed)
    ref = xr.DataArray(rng.gamma(0.3, 3.0, shape), dims=SWATH)
    pred = ref * rng.uniform(0.3, 1.7, shape) + rng.exponential(0.05, shape)
    return pred, ref


def test_stratification_equals_separate_evaluation():
    pred, ref = _scene()
    rng = np.random.default_rng(4)
    surface = xr.DataArray(
        rng.choice(["ocean", "land", "coast", ""], size=pred.shape), dims=SWATH, name="surface"
    )
    strat = evaluate_retrieval(pred, ref, by=surface)
    assert list(strat["surface"].values) == ["coast", "land", "ocean"]
    for category in ("coast", "land", "ocean"):
        inside = surface == category
        alone = evaluate_retrieval(pred.where(inside), ref.where(inside))
        xr.testing.assert_allclose(strat.sel(surface=category, drop=True), alone)
    # missing ('') labels are left out of every category
    assert int(strat["n_valid"].sum()) == int((surface != "").sum())


def test_stratification_by_scene_labels():
    pred, ref = _scene()
    season = xr.DataArray(["DJF"] * 10 + ["JJA"] * 20, dims=("along_track",), name="season")
    strat = evaluate_retrieval(pred, ref, by=season)
    alone = evaluate_retrieval(pred.isel(along_track=slice(10, None)), ref[:, 10:])
    xr.testing.assert_allclose(strat.sel(season="JJA", drop=True), alone)


@settings(max_examples=8, deadline=None)
@given(
    chunk_x=st.integers(min_value=1, max_value=20), chunk_y=st.integers(min_value=1, max_value=30)
)
def test_same_answer_for_any_dask_chunking(chunk_x, chunk_y):
    pred, ref = _scene()
    eager = evaluate_retrieval(pred, ref)
    chunks = {"cross_track": chunk_x, "along_track": chunk_y}
    lazy = evaluate_retrieval(pred.chunk(chunks), ref.chunk(chunks))
    assert lazy["mae"].chunks is not None  # stayed lazy
    xr.testing.assert_allclose(eager, lazy.compute())


# --------------------------------------------------------------------------------------------
# effective resolution
# --------------------------------------------------------------------------------------------
def test_perfect_retrieval_resolves_every_scale():
    field = xr.DataArray(np.random.default_rng(5).gamma(0.5, 2.0, (96, 70)), dims=SWATH)
    scale, spectrum = effective_resolution(field, field, pixel_km=5.0, window=32)
    np.testing.assert_allclose(spectrum.values, 1.0)
    assert spectrum.attrs["n_windows"] == 3 * 2  # tiles start at pixel 0; remainders dropped
    # the smallest resolvable scale: the last band n = 15, 0.5 * 31 * 5 km / 15
    assert scale == pytest.approx(0.5 * 31 * 5.0 / 15)
    assert scale == pytest.approx(float(spectrum["scale_km"].min()))


def test_smoothed_retrieval_resolution_grows_with_smoothing_width():
    # Reference: white noise (flat spectrum). Retrieval: Gaussian-smoothed (transfer function
    # G(f) = exp(-2 pi^2 s^2 f^2)) plus independent noise of variance eps. Per coefficient the
    # coherence is G / sqrt(G^2 + eps), which crosses sqrt(1/2) where G = sqrt(eps): at
    # f* = sqrt(-ln eps) / (2 pi s), i.e. the half-wavelength scale 1 / (2 f*).
    rng = np.random.default_rng(6)
    ref = rng.standard_normal((256, 256))
    eps = 0.01
    pixel_km = 2.0
    scales = []
    for sigma in (1.0, 2.0, 3.0, 4.0):
        pred = gaussian_filter(ref, sigma, mode="wrap") + np.sqrt(eps) * rng.standard_normal(
            ref.shape
        )
        scale, spectrum = effective_resolution(
            xr.DataArray(pred, dims=SWATH), xr.DataArray(ref, dims=SWATH), pixel_km=pixel_km
        )
        expected = pixel_km * np.pi * sigma / np.sqrt(-np.log(eps))
        bands = spectrum["scale_km"].values
        # the band found is the finest band at or above the expected scale (bands are coarse)
        finer = bands[bands < scale]
        assert scale >= 0.85 * expected
        assert finer.size == 0 or finer.max() <= 1.15 * expected
        assert scale <= 1.4 * expected
        scales.append(scale)
    assert all(a < b for a, b in zip(scales, scales[1:], strict=False))


def test_windows_with_nan_are_skipped():
    rng = np.random.default_rng(7)
    ref = rng.gamma(0.5, 2.0, (64, 64))
    pred = gaussian_filter(ref, 1.5) + 0.2 * rng.standard_normal(ref.shape)
    base = coherence_spectrum(xr.DataArray(pred), xr.DataArray(ref), pixel_km=1.0)
    spoiled_pred, spoiled_ref = pred.copy(), ref.copy()
    # corrupt the top-left window entirely, with one NaN: it must be dropped, nothing else
    spoiled_pred[:32, :32] = rng.normal(50.0, 30.0, (32, 32))
    spoiled_pred[5, 9] = np.nan
    spoiled = coherence_spectrum(
        xr.DataArray(spoiled_pred), xr.DataArray(spoiled_ref), pixel_km=1.0
    )
    assert base.attrs["n_windows"] == 4 and spoiled.attrs["n_windows"] == 3
    # same as the three remaining windows computed without the first one
    pred3 = np.stack([pred[:32, 32:], pred[32:, :32], pred[32:, 32:]])
    ref3 = np.stack([ref[:32, 32:], ref[32:, :32], ref[32:, 32:]])
    dims = ("scene", "y", "x")
    direct = coherence_spectrum(
        xr.DataArray(pred3, dims=dims),
        xr.DataArray(ref3, dims=dims),
        pixel_km=1.0,
        spatial_dims=("y", "x"),
    )
    np.testing.assert_allclose(spoiled.values, direct.values)
    assert np.all(np.isfinite(spoiled.values))


def test_evaluate_with_pixel_km_adds_effective_resolution():
    pred, ref = _scene(shape=(64, 64))
    ds = evaluate_retrieval(pred, ref, pixel_km=5.0)
    scale, _ = effective_resolution(pred, ref, pixel_km=5.0)
    assert float(ds["effective_resolution"]) == scale
    assert ds["effective_resolution"].attrs["units"] == "km"
    labels = xr.DataArray(["a"] * 32 + ["b"] * 32, dims=("along_track",), name="half")
    strat = evaluate_retrieval(pred, ref, by=labels, pixel_km=5.0)
    scale_b, _ = effective_resolution(pred[:, 32:], ref[:, 32:], pixel_km=5.0)
    assert float(strat["effective_resolution"].sel(half="b")) == scale_b


# --------------------------------------------------------------------------------------------
# table, figure, errors
# --------------------------------------------------------------------------------------------
def test_metrics_table_and_plot(tmp_path):
    pred, ref = _scene(shape=(64, 64))
    table = metrics_table(evaluate_retrieval(pred, ref))
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["all"]
    assert table.loc["all", "mae"] == pytest.approx(float(np.abs(pred - ref).mean()))
    surface = xr.DataArray(np.where(np.arange(64) < 20, "land", "ocean"), dims=("along_track",))
    strat = metrics_table(evaluate_retrieval(pred, ref, by=surface.rename("surface")))
    assert list(strat.index) == ["land", "ocean"]
    assert list(strat.columns[:3]) == ["n_valid", "bias", "mae"]

    _, perfect = effective_resolution(ref, ref, pixel_km=5.0)
    _, real = effective_resolution(pred, ref, pixel_km=5.0)
    path = tmp_path / "coherence.png"
    fig = plot_coherence([perfect, real], labels=["perfect", "retrieval"], path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.axes[0].get_lines()[-1].get_ydata()[0] == pytest.approx(COHERENCE_THRESHOLD)


def test_bad_input_raises_xgpm_errors():
    pred, ref = _scene()
    with pytest.raises(InvalidArgumentError, match="differ in size"):
        evaluate_retrieval(pred, ref.isel(along_track=slice(1, None)))
    with pytest.raises(InvalidArgumentError, match="different dimensions"):
        evaluate_retrieval(pred, ref.rename(cross_track="x"))
    with pytest.raises(InvalidArgumentError, match="DataArray"):
        evaluate_retrieval(pred.values, ref)
    with pytest.raises(InvalidArgumentError, match="heavy_threshold"):
        evaluate_retrieval(pred, ref, rain_threshold=1.0, heavy_threshold=0.5)
    with pytest.raises(InvalidArgumentError, match="dims"):
        evaluate_retrieval(pred, ref, dims="time")
    with pytest.raises(InvalidArgumentError, match="by"):
        evaluate_retrieval(pred, ref, by=xr.DataArray(["a"] * 3, dims=("along_track",)))
    with pytest.raises(NoValidPairsError, match="no pair"):
        evaluate_retrieval(pred * np.nan, ref)
    with pytest.raises(NoValidPairsError, match="window"):
        effective_resolution(pred * np.nan, ref, pixel_km=5.0, window=8)
    with pytest.raises(InvalidArgumentError, match="window"):
        effective_resolution(pred, ref, pixel_km=5.0, window=64)
    with pytest.raises(InvalidArgumentError, match="pixel_km"):
        effective_resolution(pred, ref, pixel_km=-1.0, window=8)
    with pytest.raises(XGPMError):
        metrics_table(pred.to_dataset(name="x"))


def test_labels_on_other_coordinates_are_refused():
    pred, ref = _scene()
    pred = pred.assign_coords(along_track=np.arange(30))
    ref = ref.assign_coords(along_track=np.arange(30))
    labels = xr.DataArray(
        ["a"] * 30, dims=("along_track",), coords={"along_track": np.arange(1, 31)}, name="lab"
    )
    with pytest.raises(InvalidArgumentError, match="different 'along_track' coordinates"):
        evaluate_retrieval(pred, ref, by=labels)


# --------------------------------------------------------------------------------------------
# quantile calibration with an atom at zero
# --------------------------------------------------------------------------------------------
def _quantiles(values, levels):
    return xr.DataArray(
        np.asarray(values, dtype=float), dims=("pixel", "quantile"), coords={"quantile": levels}
    )


def test_quantile_calibration_hand_case():
    levels = [0.2, 0.6]
    # pixel 0: dry truth, forecast atom 0.4 -> q_0.2 = 0 (dry tie, share 0.2/0.4), q_0.6 = 1
    # pixel 1: drizzle truth 0.05 vs q = 0.0 and 0.08: dry ties (tie rule), atom 0.8 -> shares
    #          0.25 and 0.75; the plain comparison counts only 0.05 <= 0.08
    # pixel 2: wet truth 2.0, q = 1.0 and 3.0: above, then below
    # pixel 3: wet truth 0.5 vs dry quantiles: above both, no tie
    q = _quantiles([[0.0, 1.0], [0.0, 0.08], [1.0, 3.0], [0.0, 0.0]], levels)
    y = _da([0.0, 0.05, 2.0, 0.5])
    p = _da([0.6, 0.2, 0.9, 0.3])
    out = quantile_calibration(q, y, probability=p, rain_threshold=0.1)
    np.testing.assert_allclose(out["coverage"], [2 / 4, 3 / 4])
    np.testing.assert_allclose(out["coverage_strict"], [0 / 4, 2 / 4])
    np.testing.assert_allclose(out["coverage_plain"], [1 / 4, 3 / 4])
    np.testing.assert_allclose(out["randomized_coverage"], [(0.5 + 0.25) / 4, (2 + 0.75) / 4])
    np.testing.assert_allclose(out["calibration_error"], out["randomized_coverage"] - levels)
    assert out["interval_ok"].values.tolist() == [True, True]
    assert int(out["n_valid"][0]) == 4
    # without the forecast's atom a tie counts 1/2 (E[V])
    half = quantile_calibration(q, y, rain_threshold=0.1)
    np.testing.assert_allclose(half["randomized_coverage"], [(0.5 + 0.5) / 4, (2 + 0.5) / 4])


def test_perfect_zero_inflated_forecast_is_calibrated_only_when_randomized():
    """Truths drawn from the forecast itself: randomized coverage = tau, plain coverage not."""
    rng = np.random.default_rng(0)
    n = 40_000
    p = rng.uniform(0.05, 0.6, n)  # P(rain), varies per pixel
    scale = rng.uniform(0.5, 5.0, n)  # rain | rain ~ 0.1 + exponential(scale)
    wet = rng.random(n) < p
    y = np.where(wet, 0.1 + rng.exponential(scale), 0.0)
    levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    u = 1 - (1 - levels[None, :]) / p[:, None]
    q = np.where(u > 0, 0.1 - scale[:, None] * np.log1p(-np.clip(u, 0, 1)), 0.0)
    out = quantile_calibration(_quantiles(q, levels), _da(y), probability=_da(p), tolerance=0.01)
    np.testing.assert_allclose(out["randomized_coverage"], levels, atol=0.01)
    assert bool(out["interval_ok"].all())
    assert float(abs(out["coverage"] - levels).max()) > 0.3  # the plain rule fails at 0.05
    sampled = quantile_calibration(_quantiles(q, levels), _da(y), probability=_da(p), seed=1)
    np.testing.assert_allclose(sampled["randomized_coverage"], levels, atol=0.015)


def test_quantile_calibration_by_category_and_nan():
    levels = [0.5]
    q = _quantiles([[1.0], [1.0], [np.nan], [3.0]], levels)
    y = _da([0.5, 2.0, 1.0, 2.0])
    kind = xr.DataArray(["land", "ocean", "land", "ocean"], dims="pixel", name="surface")
    out = quantile_calibration(q, y, by=kind)
    assert out["surface"].values.tolist() == ["land", "ocean"]
    assert out["n_valid"].sel(quantile=0.5).values.tolist() == [1, 2]
    np.testing.assert_allclose(out["coverage"].sel(quantile=0.5), [1.0, 0.5])


def test_quantile_calibration_bad_input_and_plot(tmp_path):
    q = _quantiles([[1.0, 2.0]], [0.25, 0.75])
    with pytest.raises(InvalidArgumentError, match="quantile"):
        quantile_calibration(q.rename(quantile="level"), _da([1.0]))
    with pytest.raises(InvalidArgumentError, match="ref"):
        quantile_calibration(q, xr.DataArray([1.0], dims="x"))
    with pytest.raises(InvalidArgumentError, match="levels"):
        quantile_calibration(q, _da([1.0]), levels=[0.5, 1.5])
    with pytest.raises(NoValidPairsError):
        quantile_calibration(q, _da([np.nan]))
    out = quantile_calibration(q, _da([1.5]))
    fig = plot_quantile_calibration([out], labels=["m"], path=tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000
    assert fig.axes[0].get_xlabel() == "nominal level tau"
