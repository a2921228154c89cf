"""The quality-index baseline: per-map scores predicted from ``precipitationQualityIndex`` alone.

IMERG ships its own skill estimate, ``precipitationQualityIndex`` (high near microwave
overpasses, low in long IR-only gaps). :class:`QualityIndexBaseline` regresses a per-map score
(CSI at 1 mm/h, FSS at 0.5 mm/h over 5 cells ~ 50 km...) on statistics of that index over the
verified area (mean, 10/50/90 % quantiles) and the IR-only area fraction, all from
:func:`xgpm.verify.analysis.map_context`. It is a ridge-regularised linear least squares on
standardised features (NumPy only), fitted separately for each target score.

The learned scorer (autoencoder) must beat its held-out correlation by at least 0.1.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> from xgpm.scoring import QualityIndexBaseline
>>> time = pd.date_range("2021-01-01", periods=50, freq="30min")
>>> rng = np.random.default_rng(0)
>>> context = xr.Dataset({"quality_mean": ("time", rng.uniform(0, 1, 50))}, coords={"time": time})
>>> targets = xr.Dataset({"csi_1": 0.2 + 0.5 * context["quality_mean"]})
>>> model = QualityIndexBaseline(features=["quality_mean"]).fit(context, targets)
>>> bool(abs(model.predict(context)["csi_1"] - targets["csi_1"]).max() < 1e-3)
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = ["DEFAULT_FEATURES", "QualityIndexBaseline", "evaluate_predictions", "target_scores"]

#: Context variables the baseline uses by default (all from ``map_context``).
DEFAULT_FEATURES = (
    "quality_mean",
    "quality_q10",
    "quality_q50",
    "quality_q90",
    "ir_only_fraction",
)
_FORMAT = "xgpm.scoring.QualityIndexBaseline/1"


def target_scores(
    scores: xr.Dataset,
    *,
    csi_threshold: float = 1.0,
    fss_threshold: float = 0.5,
    fss_scale: int = 5,
) -> xr.Dataset:
    """Per-map target scores from :func:`xgpm.verify.score`: ``csi_<t>`` and ``fss_<t>_<n>``.

    Parameters
    ----------
    scores : xarray.Dataset
        Output of :func:`xgpm.verify.score` with ``csi`` and ``fss`` (per map, along ``time``).
    csi_threshold : float
        Threshold (mm/h) of the CSI target.
    fss_threshold, fss_scale : float, int
        Threshold (mm/h) and window width (cells; 5 cells of 0.1 deg ~ 50 km) of the FSS target.
    """
    if not isinstance(scores, xr.Dataset) or "csi" not in scores or "fss" not in scores:
        raise InvalidArgumentError(
            "scores: expected the Dataset of xgpm.verify.score(...) with 'csi' and 'fss' "
            "(pass metrics including 'csi' and 'fss')."
        )
    try:
        csi = scores["csi"].sel(threshold=csi_threshold)
        fss = scores["fss"].sel(threshold=fss_threshold, scale=fss_scale)
    except KeyError:
        raise InvalidArgumentError(
            f"scores: threshold {csi_threshold}/{fss_threshold} or scale {fss_scale} not scored "
            f"(thresholds {list(scores['threshold'].values)}, scales "
            f"{list(scores['scale'].values)})."
        ) from None
    out = xr.Dataset(
        {
            f"csi_{csi_threshold:g}": _time_only(csi),
            f"fss_{fss_threshold:g}_{fss_scale}": _time_only(fss),
        }
    )
    return out


def _time_only(da: xr.DataArray) -> xr.DataArray:
    # keep the map coordinate, drop the selected threshold/scale and scalar coordinates
    return da.drop_vars([c for c in da.coords if c not in da.dims])


def _features_matrix(
    context: xr.Dataset, features: Sequence[str], dim: str
) -> tuple[np.ndarray, xr.DataArray]:
    if not isinstance(context, xr.Dataset):
        raise InvalidArgumentError(
            f"context: expected the xarray.Dataset of map_context(...), got "
            f"{type(context).__name__}."
        )
    missing = [f for f in features if f not in context]
    if missing:
        raise InvalidArgumentError(
            f"context: feature(s) {missing} not found (it has {list(context.data_vars)}); build "
            f"it with xgpm.verify.analysis.map_context."
        )
    columns = []
    for name in features:
        da = context[name]
        if da.dims != (dim,):
            raise InvalidArgumentError(
                f"context[{name!r}]: expected 1-D along {dim!r}, got dims {da.dims}."
            )
        columns.append(np.asarray(da.values, dtype="float64"))
    times = context[dim] if dim in context.coords else xr.DataArray(np.arange(context.sizes[dim]))
    return np.stack(columns, axis=1), times


class QualityIndexBaseline:
    """Linear (ridge) regression of per-map scores on quality-index statistics.

    Parameters
    ----------
    features : sequence of str
        Context variables used as predictors (default :data:`DEFAULT_FEATURES`).
    ridge : float
        L2 penalty on the standardised coefficients (small: keeps collinear quantiles stable).
    dim : str
        The map dimension.

    Attributes
    ----------
    coefficients : dict of str to numpy.ndarray
        Per target, the coefficient of each feature in physical units.
    intercepts : dict of str to float
    """

    def __init__(
        self,
        features: Sequence[str] = DEFAULT_FEATURES,
        *,
        ridge: float = 1e-4,
        dim: str = "time",
    ) -> None:
        if isinstance(features, str) or not len(features):
            raise InvalidArgumentError(
                f"features: need a non-empty list of names, got {features!r}."
            )
        if not ridge >= 0:
            raise InvalidArgumentError(f"ridge: must be >= 0, got {ridge!r}.")
        self.features = tuple(str(f) for f in features)
        self.ridge = float(ridge)
        self.dim = dim
        self.coefficients: dict[str, np.ndarray] = {}
        self.intercepts: dict[str, float] = {}
        self.n_train: dict[str, int] = {}

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, context: xr.Dataset, scores: xr.Dataset | xr.DataArray) -> QualityIndexBaseline:
        """Fit one regression per target score, on maps where features and target are finite.

        Parameters
        ----------
        context : xarray.Dataset
            From :func:`xgpm.verify.analysis.map_context` (along ``dim``).
        scores : xarray.Dataset or DataArray
            Per-map targets along ``dim`` with the same labels (e.g. :func:`target_scores`).

        Raises
        ------
        xgpm.errors.InvalidArgumentError
            Missing features, different maps in context and scores, or fewer usable maps than
            features + 1 (e.g. an all-NaN context).
        """
        targets = self._targets(scores)
        x, times = _features_matrix(context, self.features, self.dim)
        self._check_same_maps(times, targets)
        coefficients, intercepts, n_train = {}, {}, {}
        for name, da in targets.data_vars.items():
            y = np.asarray(da.values, dtype="float64")
            ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
            if ok.sum() < len(self.features) + 1:
                raise InvalidArgumentError(
                    f"fit: only {int(ok.sum())} map(s) have finite features {list(self.features)} "
                    f"and target {name!r}; need at least {len(self.features) + 1}. Check the "
                    f"context (all NaN where nothing is verified) and the scores."
                )
            coef, intercept = self._solve(x[ok], y[ok])
            coefficients[str(name)], intercepts[str(name)] = coef, intercept
            n_train[str(name)] = int(ok.sum())
        self.coefficients, self.intercepts, self.n_train = coefficients, intercepts, n_train
        return self

    def _solve(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant feature gets a zero coefficient
        z = (x - mean) / std
        yc = y - y.mean()
        gram = z.T @ z + self.ridge * len(y) * np.eye(z.shape[1])
        beta = np.linalg.solve(gram, z.T @ yc)
        beta = np.where(x.std(axis=0) > 0, beta, 0.0)
        coef = beta / std
        return coef, float(y.mean() - mean @ coef)

    def _targets(self, scores: Any) -> xr.Dataset:
        if isinstance(scores, xr.DataArray):
            scores = scores.to_dataset(name=str(scores.name or "score"))
        if not isinstance(scores, xr.Dataset) or not scores.data_vars:
            raise InvalidArgumentError(
                "scores: expected a Dataset (or DataArray) of per-map scores along "
                f"{self.dim!r}, e.g. xgpm.scoring.target_scores(xgpm.verify.score(...))."
            )
        for name, da in scores.data_vars.items():
            if da.dims != (self.dim,):
                raise InvalidArgumentError(
                    f"scores[{name!r}]: expected 1-D along {self.dim!r}, got dims {da.dims}; "
                    f"select one threshold/scale (see target_scores)."
                )
        return scores

    def _check_same_maps(self, times: xr.DataArray, targets: xr.Dataset) -> None:
        n = targets.sizes[self.dim]
        if times.size != n:
            raise InvalidArgumentError(
                f"context and scores: {times.size} vs {n} maps along {self.dim!r}; select the "
                f"same maps in both."
            )
        if self.dim in targets.coords and not np.array_equal(
            targets[self.dim].values, times.values
        ):
            raise InvalidArgumentError(
                f"context and scores: their {self.dim!r} labels differ; select the same maps "
                f"(e.g. xr.align(context, scores, join='inner'))."
            )

    # -- prediction --------------------------------------------------------------------------

    def _require_fitted(self) -> None:
        if not self.coefficients:
            raise InvalidArgumentError(
                "QualityIndexBaseline: not fitted; call fit(context, scores) or load(path)."
            )

    def predict(self, context: xr.Dataset) -> xr.Dataset:
        """Predicted scores along ``dim`` (NaN where a feature is NaN), one variable per target."""
        self._require_fitted()
        x, times = _features_matrix(context, self.features, self.dim)
        out = {}
        for name, coef in self.coefficients.items():
            out[name] = ((self.dim,), x @ coef + self.intercepts[name])
        coords = {self.dim: times.values} if self.dim in context.coords else {}
        ds = xr.Dataset(out, coords=coords)
        ds.attrs["model"] = f"QualityIndexBaseline(features={list(self.features)})"
        return ds

    def evaluate(self, context: xr.Dataset, scores: xr.Dataset | xr.DataArray) -> pd.DataFrame:
        """Held-out skill of the predictions: see :func:`evaluate_predictions`."""
        targets = self._targets(scores)
        _, times = _features_matrix(context, self.features, self.dim)
        self._check_same_maps(times, targets)
        return evaluate_predictions(self.predict(context), targets)

    # -- persistence -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description of the fitted model."""
        self._require_fitted()
        return {
            "format": _FORMAT,
            "features": list(self.features),
            "ridge": self.ridge,
            "dim": self.dim,
            "targets": {
                name: {
                    "coefficients": [float(c) for c in coef],
                    "intercept": self.intercepts[name],
                    "n_train": self.n_train.get(name, 0),
                }
                for name, coef in self.coefficients.items()
            },
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model as JSON."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2)

    @classmethod
    def load(cls, path: str | os.PathLike) -> QualityIndexBaseline:
        """Read a model written by :meth:`save`.

        Raises
        ------
        xgpm.errors.InvalidArgumentError
            The file is not a saved :class:`QualityIndexBaseline`.
        """
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as err:
            raise InvalidArgumentError(f"{path}: cannot read a saved baseline ({err}).") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise InvalidArgumentError(
                f"{path}: not a QualityIndexBaseline file (expected format {_FORMAT!r})."
            )
        model = cls(data["features"], ridge=data["ridge"], dim=data["dim"])
        for name, entry in data["targets"].items():
            coef = np.asarray(entry["coefficients"], dtype="float64")
            if coef.shape != (len(model.features),):
                raise InvalidArgumentError(
                    f"{path}: target {name!r} has {coef.size} coefficients for "
                    f"{len(model.features)} features."
                )
            model.coefficients[name] = coef
            model.intercepts[name] = float(entry["intercept"])
            model.n_train[name] = int(entry.get("n_train", 0))
        return model

    def __repr__(self) -> str:
        state = f"targets={list(self.coefficients)}" if self.coefficients else "not fitted"
        return f"QualityIndexBaseline(features={list(self.features)}, {state})"


def evaluate_predictions(predicted: xr.Dataset, truth: xr.Dataset) -> pd.DataFrame:
    """Pearson and Spearman correlation, RMSE and bias of predicted vs true per-map scores.

    Parameters
    ----------
    predicted, truth : xarray.Dataset
        Same variables along the same maps; maps with a NaN in either are left out.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``n``, ``pearson_r``, ``spearman_r``, ``rmse``, ``bias``.
    """
    from scipy.stats import spearmanr

    rows = {}
    for name in predicted.data_vars:
        if name not in truth:
            raise InvalidArgumentError(f"truth: no variable {name!r} to compare with.")
        p = np.asarray(predicted[name].values, dtype="float64")
        t = np.asarray(truth[name].values, dtype="float64")
        if p.shape != t.shape:
            raise InvalidArgumentError(f"{name}: {p.size} predictions for {t.size} true values.")
        ok = np.isfinite(p) & np.isfinite(t)
        n = int(ok.sum())
        varying = n > 2 and p[ok].std() > 0 and t[ok].std() > 0
        rows[str(name)] = {
            "n": n,
            "pearson_r": float(np.corrcoef(p[ok], t[ok])[0, 1]) if varying else np.nan,
            "spearman_r": float(spearmanr(p[ok], t[ok]).statistic) if varying else np.nan,
            "rmse": float(np.sqrt(np.mean((p[ok] - t[ok]) ** 2))) if n else np.nan,
            "bias": float(np.mean(p[ok] - t[ok])) if n else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")
