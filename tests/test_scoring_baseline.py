"""Tests of xgpm.scoring.baseline: the quality-index baseline of the learned scorer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xgpm
import xgpm.verify as xv
from xgpm.errors import InvalidArgumentError
from xgpm.verify.learned import DEFAULT_FEATURES, QualityIndexBaseline, target_scores

COEF = np.array([0.6, -0.2, 0.3, 0.1, -0.25])
INTERCEPT = 0.05


def _synthetic(n: int = 200, seed: int = 0, noise: float = 0.0):
    rng = np.random.default_rng(seed)
    time = pd.date_range("2021-01-01", periods=n, freq="30min")
    x = rng.uniform(0.0, 1.0, (n, len(DEFAULT_FEATURES)))
    context = xr.Dataset(
        {name: ("time", x[:, i]) for i, name in enumerate(DEFAULT_FEATURES)},
        coords={"time": time},
    )
    y = x @ COEF + INTERCEPT + noise * rng.normal(size=n)
    targets = xr.Dataset({"csi_1": ("time", y), "fss_0.5_5": ("time", 0.5 * y)})
    targets = targets.assign_coords(time=time)
    return context, targets


def test_fit_recovers_known_linear_relation():
    context, targets = _synthetic()
    model = QualityIndexBaseline(ridge=0.0).fit(context, targets)
    np.testing.assert_allclose(model.coefficients["csi_1"], COEF, atol=1e-10)
    np.testing.assert_allclose(model.coefficients["fss_0.5_5"], 0.5 * COEF, atol=1e-10)
    assert model.intercepts["csi_1"] == pytest.approx(INTERCEPT, abs=1e-10)
    # the default small ridge barely shrinks a well-conditioned problem
    ridge = QualityIndexBaseline().fit(context, targets)
    np.testing.assert_allclose(ridge.coefficients["csi_1"], COEF, atol=1e-2)


def test_held_out_evaluation_and_nan_rows():
    context, targets = _synthetic(noise=0.05)
    train, test = slice(0, 150), slice(150, None)
    model = QualityIndexBaseline().fit(context.isel(time=train), targets.isel(time=train))
    table = model.evaluate(context.isel(time=test), targets.isel(time=test))
    assert list(table.index) == ["csi_1", "fss_0.5_5"]
    assert (table["n"] == 50).all()
    assert (table["pearson_r"] > 0.9).all()
    # a map with a NaN feature predicts NaN and is left out of the evaluation (and of the fit)
    holed = context.copy(deep=True)
    holed["quality_q10"][3] = np.nan
    assert np.isnan(model.predict(holed)["csi_1"][3])
    assert not np.isnan(model.predict(holed)["csi_1"][4])
    refit = QualityIndexBaseline().fit(holed, targets)
    assert refit.n_train["csi_1"] == 199
    assert int(model.evaluate(holed, targets)["n"]["csi_1"]) == 199


def test_save_load_round_trip(tmp_path):
    context, targets = _synthetic(noise=0.05)
    model = QualityIndexBaseline().fit(context, targets)
    path = tmp_path / "baseline.json"
    model.save(path)
    loaded = QualityIndexBaseline.load(path)
    assert loaded.features == model.features
    xr.testing.assert_identical(loaded.predict(context), model.predict(context))
    json.loads(path.read_text())  # plain JSON
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(InvalidArgumentError, match="not a QualityIndexBaseline"):
        QualityIndexBaseline.load(tmp_path / "bad.json")
    with pytest.raises(InvalidArgumentError):
        QualityIndexBaseline.load(tmp_path / "missing.json")


def test_refuses_bad_input():
    context, targets = _synthetic()
    nan_context = context.copy(deep=True)
    for name in nan_context.data_vars:
        nan_context[name][:] = np.nan
    with pytest.raises(InvalidArgumentError, match="finite features"):
        QualityIndexBaseline().fit(nan_context, targets)
    shifted = targets.assign_coords(time=targets["time"].values + np.timedelta64(1, "h"))
    with pytest.raises(InvalidArgumentError, match="labels differ"):
        QualityIndexBaseline().fit(context, shifted)
    with pytest.raises(InvalidArgumentError, match="maps"):
        QualityIndexBaseline().fit(context, targets.isel(time=slice(0, 10)))
    with pytest.raises(InvalidArgumentError, match="quality_q90"):
        QualityIndexBaseline().fit(context.drop_vars("quality_q90"), targets)
    with pytest.raises(InvalidArgumentError, match="1-D"):
        QualityIndexBaseline().fit(context, targets.expand_dims(threshold=[1.0]))
    with pytest.raises(InvalidArgumentError, match="not fitted"):
        QualityIndexBaseline().predict(context)
    with pytest.raises(InvalidArgumentError):
        QualityIndexBaseline(features=[])
    with pytest.raises(xgpm.XGPMError):
        QualityIndexBaseline().fit(context["quality_mean"], targets)


def test_target_scores_from_verify_score():
    rng = np.random.default_rng(1)
    ref = xr.DataArray(
        rng.gamma(0.4, 2.0, (4, 12, 12)),
        dims=("time", "lat", "lon"),
        coords={"time": pd.date_range("2021-01-01", periods=4, freq="30min")},
    )
    fc = ref * rng.lognormal(0.0, 0.5, ref.shape)
    scores = xv.score(fc, ref, thresholds=[0.5, 1.0], scales=[1, 5], metrics=["csi", "fss"])
    targets = target_scores(scores)
    assert set(targets.data_vars) == {"csi_1", "fss_0.5_5"}
    np.testing.assert_array_equal(targets["csi_1"], scores["csi"].sel(threshold=1.0))
    np.testing.assert_array_equal(targets["fss_0.5_5"], scores["fss"].sel(threshold=0.5, scale=5))
    with pytest.raises(InvalidArgumentError, match="not scored"):
        target_scores(scores, fss_scale=11)
    with pytest.raises(InvalidArgumentError):
        target_scores(scores[["csi"]])
