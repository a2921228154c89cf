"""Stages of the DRAIN/BRAIN training benchmark on simulated data (``train_retrieval.py``).

Simulating the training and held-out windows (:func:`simulate_windows`: GMI + DPR overpasses,
cached), building and reading GMI-DPR matchup stores (:func:`build_store`, :func:`load_store`),
training DRAIN for a bounded time (:func:`train_drain_bounded`, with :func:`warm_start`) and
fitting BRAIN (:func:`fit_brain`), predicting (:func:`predict_drain`) and scoring the held-out
pixels (:func:`scores`, :func:`calibration`, :func:`decision_rules`, :func:`evaluate`). The
script keeps the orchestration, the model cards and the docs pages for now.

Everything here is simulated data.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

# (region, start, days, seed): training and held-out windows never share a day (held-out is
# 2022). Every window has its own simulator seed, written out so that a run from an empty cache
# simulates exactly the data of the documented run.
_REGIONS = ("tropical-pacific", "tropical-atlantic", "conus", "france")
TRAIN_WINDOWS = [
    (region, start, 4, i * 4 + k)
    for i, region in enumerate(_REGIONS)
    for k, start in enumerate(("2021-01-10", "2021-04-10", "2021-07-10", "2021-10-10"))
] + [
    (region, start, 4, 515 - (i * 4 + k))
    for i, region in enumerate(_REGIONS)
    for k, start in enumerate(("2021-02-20", "2021-05-20", "2021-08-20", "2021-11-20"))
]
# Second batch of training windows (added for the 0.3.0 run): 4 more 4-day windows per region,
# in months the first batch skips, again all in 2021.
EXTRA_TRAIN_WINDOWS = [
    (region, start, 4, 2000 + i * 4 + k)
    for i, region in enumerate(_REGIONS)
    for k, start in enumerate(("2021-03-15", "2021-06-15", "2021-09-15", "2021-12-15"))
]
TEST_WINDOWS = [
    (region, start, 2, 1000 + i * 2 + k)
    for i, region in enumerate(_REGIONS)
    for k, start in enumerate(("2022-02-15", "2022-08-15"))
]


def simulate_windows(cache: Path, windows, tag: str, skip: bool = False) -> list[Path]:
    """Simulate GMI + DPR for each window under ``cache/tag/<region>_<start>`` (resumable).

    ``skip``: only return the directories (their matchup store is already complete).
    """
    from tqdm import tqdm

    from xgpm.simulate.products import simulate_to_disk

    dirs = []
    for region, start, days, seed in tqdm(windows, desc=f"simulate {tag}", disable=skip):
        out = cache / tag / f"{region}_{start}_{days}d"
        if skip:
            dirs.append(out)
            continue
        simulate_to_disk(
            out,
            region,
            start,
            days=days,
            sensors="gmi,dpr",
            seed=seed,
            truth_res_km=2.5,
            progress=False,
        )
        dirs.append(out)
    return dirs


DRAIN_CHANNELS = ["37V", "37H", "89V", "89H"]
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
CSI_THRESHOLD = 1.0  # mm/h


def build_store(dirs: list[Path], store: Path) -> Path:
    """One gmi-dpr Zarr matchup store from every window directory (skipped when complete)."""
    from xgpm.matchups.store import build_matchups

    done = store.with_suffix(".done")
    if done.exists() and store.exists():
        return store
    for i, directory in enumerate(dirs):
        try:
            build_matchups(
                directory,
                store,
                kind="gmi-dpr",
                tile=(128, 128),
                overwrite=(i == 0),
                progress=False,
            )
        except Exception as error:  # a window without a usable overpass: say so, go on
            print(f"  matchups: {directory.name} skipped ({type(error).__name__}: {error})")
    done.write_text("ok\n")
    return store


def load_store(stores: list[Path]) -> dict[str, np.ndarray]:
    """Arrays of matchup stores, concatenated: tb4 (N, 4, H, W), tb13 (N, H, W, 13), labels..."""
    import xarray as xr

    parts = []
    for store in stores:
        ds = xr.open_zarr(store)
        dims = ("scene", "cross_track", "along_track")
        tc = ds["Tc"].transpose(*dims, "pmw_frequency")
        tb13 = np.asarray(tc.values, dtype=np.float32)
        labels = [str(v) for v in ds["pmw_frequency"].values]
        index = [labels.index(c) for c in DRAIN_CHANNELS]
        part = {
            "tb4": np.ascontiguousarray(np.moveaxis(tb13[..., index], -1, 1)),
            "tb13": tb13,
            "rain": np.asarray(ds["surface_precip"].transpose(*dims).values, dtype=np.float32),
            "granule": np.asarray(ds["granule"].values),
        }
        for name in ("surface_type", "koppen_class", "precip_type", "rain_regime"):
            part[name] = np.asarray(ds[name].transpose(*dims).values)
        season = ds["season"].transpose("scene", "along_track").values
        part["season"] = np.broadcast_to(season[:, None, :], part["rain"].shape).copy()
        part["labels"] = labels
        parts.append(part)
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "labels"}
    out["labels"] = parts[0]["labels"]
    return out


def warm_start(net, path: Path, channels=None, source_channels=None, seed: int = 0) -> None:
    """Copy a previous ``drain`` state dict into ``net``, every layer whose shape fits.

    - Output head: copied whole when its shape matches (same quantile head); otherwise only
      the mean and probability rows (the 0.2.0 cumulative head predicts other quantities).
    - First convolution with other input channels (``drain`` 4 -> ``drain-13ch`` 13): each
      kernel of a ``source_channels`` channel goes to that channel's position in
      ``channels``; the kernels of the new channels start small (1 % of the default
      initialisation's scale), so the warm-started network first computes what the source
      did and learns what the new channels add.
    """
    import torch

    old = torch.load(path, map_location="cpu", weights_only=True)
    state = net.state_dict()
    first = "encoders.0.0.weight"
    for key, value in old.items():
        if key not in state:
            raise ValueError(f"--init-from {path}: {key} does not fit the architecture")
        if state[key].shape == value.shape:
            state[key] = value
        elif key.startswith("head."):
            state[key][:2] = value[:2]
        elif key == first and channels is not None and source_channels is not None:
            generator = torch.Generator().manual_seed(seed)
            fresh = 0.01 * state[key].std() * torch.randn(state[key].shape, generator=generator)
            for c, name in enumerate(source_channels):
                fresh[:, list(channels).index(name)] = value[:, c]
            state[key] = fresh
        else:
            raise ValueError(f"--init-from {path}: {key} does not fit the architecture")
    net.load_state_dict(state)


def model_inputs(data: dict, model: str) -> np.ndarray:
    """Input tiles (N, C, H, W) of ``model`` (its card's channels, in order) from a store."""
    import xgpm.models

    if model == "drain":
        return data["tb4"]
    index = [data["labels"].index(c) for c in xgpm.models.card(model).input_channels]
    return np.ascontiguousarray(np.moveaxis(data["tb13"][..., index], -1, 1))


def train_drain_bounded(
    train,
    epochs: int,
    minutes: float,
    batch_size: int,
    seed: int,
    init_from=None,
    learning_rate: float = 2e-3,
    model: str = "drain",
):
    """Train the ``model`` architecture (``drain`` or ``drain-13ch``) within ``minutes``.

    Adam, cosine learning-rate decay over the time budget, random flips; one thread. With
    ``init_from`` (a previous ``drain.pt``), warm-start from it (:func:`warm_start`); the
    standardisation of the channels the ``drain`` card knows is then that card's (what the
    copied kernels were trained with), the other channels' comes from the training data.
    """
    import torch

    import xgpm.models
    from xgpm.models.unet import DrainUNet, train_drain

    spec = xgpm.models.card(model)
    kwargs = {**spec.architecture_kwargs, **ARCHITECTURE_UPDATES}
    torch.manual_seed(seed)
    net = DrainUNet(**kwargs)
    tb = model_inputs(train, model)
    channels = list(spec.input_channels)
    normalisation = {
        "mean": [float(np.nanmean(tb[:, c])) for c in range(tb.shape[1])],
        "std": [float(np.nanstd(tb[:, c])) for c in range(tb.shape[1])],
    }
    if init_from is not None:
        source = xgpm.models.card("drain")
        warm_start(net, Path(init_from), channels, list(source.input_channels), seed)
        # keep the standardisation the warm-start weights were trained with
        for c, name in enumerate(source.input_channels):
            normalisation["mean"][channels.index(name)] = float(source.normalisation_mean[c])
            normalisation["std"][channels.index(name)] = float(source.normalisation_std[c])
    history: list[dict] = []

    def report(entry):
        history.append(entry)
        print(
            f"  epoch {entry['epoch']}: loss {entry['loss']:.4f} (mean {entry['mean']:.4f}, "
            f"pop {entry['pop']:.4f}, quantile {entry['quantile']:.4f}; {entry['steps']} steps)",
            flush=True,
        )

    train_drain(
        (tb, train["rain"]),
        model=net,
        normalisation=normalisation,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        device="cpu",
        seed=seed,
        callback=report,
        schedule="cosine",
        max_minutes=minutes,
        augment=True,
    )
    net = net.to("cpu").eval()
    return net, normalisation, history


def predict_drain(net, normalisation, tb: np.ndarray, batch: int = 8, exceed: float | None = None):
    """DRAIN outputs (N, H, W, 2 + Q) for tiles (N, C, H, W), NaN where an input is NaN.

    With ``exceed`` (mm/h), also return P(rain > exceed) (N, H, W) of the zero-inflated
    distribution: ``p (1 - F_rain(exceed))``, ``F_rain`` the conditional CDF, linear between
    the conditional quantiles (the inverse of the head's ``Q_rain``).
    """
    import torch
    import torch.nn.functional as F

    mean = torch.tensor(normalisation["mean"])[:, None, None]
    std = torch.tensor(normalisation["std"])[:, None, None]
    outs, exceedances = [], []
    with torch.no_grad():
        for i in range(0, len(tb), batch):
            x = torch.from_numpy(tb[i : i + batch])
            bad = ~torch.isfinite(x).all(dim=1)
            x = torch.nan_to_num((x - mean) / std, nan=0.0)
            h, w = x.shape[-2:]
            d = net.divisibility
            x = F.pad(x, (0, (-w) % d, 0, (-h) % d), mode="replicate")
            heads = {k: v[..., :h, :w] for k, v in net.heads(x).items()}
            y = torch.cat(
                [
                    heads["mean"][:, None],
                    torch.sigmoid(heads["pop_logit"])[:, None],
                    heads["quantiles"],
                ],
                dim=1,
            )
            y = y.permute(0, 2, 3, 1).clone()
            y[bad] = float("nan")
            outs.append(y.numpy())
            if exceed is not None:
                e = _exceedance(net, heads, exceed)
                e[bad] = float("nan")
                exceedances.append(e.numpy())
    if exceed is None:
        return np.concatenate(outs)
    return np.concatenate(outs), np.concatenate(exceedances)


def _exceedance(net, heads: dict, threshold: float):
    """P(rain > threshold) from the zero-inflated heads (B, H, W)."""
    import torch

    if threshold < net.rain_threshold:
        raise ValueError(f"exceedance of {threshold} mm/h: must be >= {net.rain_threshold}")

    levels = torch.tensor((0.0, *net.conditional_levels))
    values = heads["conditional_quantiles"].permute(0, 2, 3, 1)  # (B, H, W, K)
    floor = torch.full_like(values[..., :1], net.rain_threshold)
    values = torch.cat([floor, values], dim=-1).contiguous()  # Q_rain at `levels`
    t = torch.full_like(values[..., :1], float(threshold))
    upper = torch.searchsorted(values, t, right=True)  # number of values <= t
    above = upper >= len(levels)  # t at or above the last quantile: F = 1
    upper = upper.clamp(1, len(levels) - 1)
    lower = upper - 1
    v_low, v_high = values.gather(-1, lower), values.gather(-1, upper)
    weight = ((t - v_low) / (v_high - v_low).clamp(min=1e-12)).clamp(0.0, 1.0)
    cdf = levels[lower] + weight * (levels[upper] - levels[lower])
    cdf = torch.where(above, torch.ones_like(cdf), cdf)[..., 0]
    return torch.sigmoid(heads["pop_logit"]) * (1.0 - cdf)


def fit_brain(train, n_database: int, seed: int):
    """BRAIN database from a random subsample of the training pixels the DPR saw."""
    from xgpm.models import card
    from xgpm.models.brain import BrainRetrieval

    spec = card("brain")
    kwargs = dict(spec.architecture_kwargs)
    labels = train["labels"]
    index = [labels.index(c) for c in spec.input_channels]
    tb = train["tb13"][..., index].reshape(-1, len(index))
    rain = train["rain"].reshape(-1)
    stype = train["surface_type"].reshape(-1)
    ok = np.isfinite(rain) & np.isfinite(tb).all(axis=1) & (stype >= 0)
    pick = np.flatnonzero(ok)
    rng = np.random.default_rng(seed)
    pick = rng.choice(pick, size=min(n_database, pick.size), replace=False)
    sigma = kwargs.pop("sigma")
    brain = BrainRetrieval(sigma, **kwargs)
    brain.fit(tb[pick], rain[pick], surface_type=stype[pick])
    return brain, int(pick.size)


LEARNING_RATE = 2e-3
ARCHITECTURE_UPDATES = {"quantile_head": "zero_inflated"}
# Stratification labels of the matchup stores: name -> (store variable, flag meanings).
STRATA = {
    "surface type": ("surface_type", {0: "ocean", 1: "land", 2: "coast"}),
    "climate zone (Koppen)": (
        "koppen_class",
        {0: "ocean", 1: "A tropical", 2: "B arid", 3: "C temperate", 4: "D cold", 5: "E polar"},
    ),
    "season": ("season", {0: "DJF", 1: "MAM", 2: "JJA", 3: "SON"}),
    "DPR precipitation type": (
        "precip_type",
        {0: "no rain", 1: "stratiform", 2: "convective"},
    ),
    "DPR rain regime": (
        "rain_regime",
        {0: "no rain", 1: "light 0.1-1", 2: "moderate 1-10", 3: "heavy > 10"},
    ),
}


def scores(pred: np.ndarray, ref: np.ndarray, by: np.ndarray | None = None):
    """SatRain metrics of 1-D pairs with xgpm.verify.retrieval (rain/no-rain decided at 1 mm/h)."""
    import xarray as xr

    from xgpm.verify.retrieval import evaluate_retrieval

    label = None
    if by is not None:
        label = xr.DataArray(by, dims="pixel", name="category")
    ds = evaluate_retrieval(
        xr.DataArray(pred, dims="pixel"),
        xr.DataArray(ref, dims="pixel"),
        rain_threshold=CSI_THRESHOLD,
        by=label,
    )
    keys = ("mse", "mae", "bias", "correlation", "csi", "pod", "far")
    if by is None:
        out = {k: float(ds[k]) for k in keys}
        out["n"] = int(ds["n_valid"])
        return out
    return {
        str(c): {
            **{k: float(ds[k].sel(category=c)) for k in keys},
            "n": int(ds["n_valid"].sel(category=c)),
        }
        for c in ds["category"].values
    }


def calibration(outputs: np.ndarray, ref: np.ndarray, by: np.ndarray | None = None):
    """Quantile calibration of (N, 2 + Q) outputs: plain, tie-rule and randomized coverage."""
    import xarray as xr

    from xgpm.verify.calibration import quantile_calibration

    ds = quantile_calibration(
        xr.DataArray(
            outputs[:, 2:], dims=("pixel", "quantile"), coords={"quantile": list(QUANTILES)}
        ),
        xr.DataArray(ref, dims="pixel"),
        probability=xr.DataArray(outputs[:, 1], dims="pixel"),
        rain_threshold=0.1,
        by=None if by is None else xr.DataArray(by, dims="pixel", name="category"),
    )
    keys = ("coverage_plain", "coverage", "coverage_strict", "randomized_coverage")

    def one(d):
        out = {k: [round(float(v), 4) for v in d[k].values] for k in keys}
        out["max_error_randomized"] = float(abs(d["calibration_error"]).max())
        out["max_error_plain"] = float(abs(d["coverage_plain"] - d["quantile"]).max())
        out["interval_ok"] = [bool(v) for v in d["interval_ok"].values]
        return out

    if by is None:
        return one(ds), ds
    return {str(c): one(ds.sel(category=c)) for c in ds["category"].values}, ds


def _goals(d: dict, b: dict, cal: dict) -> dict:
    return {
        "mse_gain": 1 - d["mse"] / b["mse"],
        "csi_gain": d["csi"] / b["csi"] - 1,
        "max_calibration_error": cal["max_error_randomized"],
        "max_calibration_error_plain": cal["max_error_plain"],
    }


def _csi(rain_flag: np.ndarray, ref: np.ndarray) -> tuple[int, int, int]:
    """Hits, false alarms and misses of a rain/no-rain decision against ref > 1 mm/h."""
    wet = ref > CSI_THRESHOLD
    return (
        int((rain_flag & wet).sum()),
        int((rain_flag & ~wet).sum()),
        int((~rain_flag & wet).sum()),
    )


def decision_rules(
    variables: dict[str, tuple[np.ndarray, float, np.ndarray]], ref: np.ndarray, fold: np.ndarray
) -> dict:
    """CSI at 1 mm/h of alternative rain/no-rain decisions (a diagnosis, not the product).

    ``variables``: name -> (values, default threshold, threshold grid); a pixel is rainy
    where the value exceeds the threshold. Gives the CSI at the default threshold and with a
    threshold tuned by 2-fold cross-validation over overpasses (``fold`` 0/1 per pixel: the
    threshold maximising the CSI on one fold scores the other; hits, false alarms and misses
    of both scored folds are pooled), so that no pixel is scored with a threshold tuned on it.
    """
    out = {}
    for name, (values, default, grid) in variables.items():
        h, f, m = _csi(values > default, ref)
        pooled = np.zeros(3)
        chosen = []
        for k in (0, 1):
            tune, score = fold == k, fold != k
            best = max(
                grid,
                key=lambda t, tune=tune: (lambda c: c[0] / max(sum(c), 1))(
                    _csi(values[tune] > t, ref[tune])
                ),
            )
            chosen.append(float(best))
            pooled += _csi(values[score] > best, ref[score])
        out[name] = {
            "default_threshold": float(default),
            "csi": h / max(h + f + m, 1),
            "pod": h / max(h + m, 1),
            "far": f / max(h + f, 1),
            "cv_thresholds": chosen,
            "cv_csi": float(pooled[0] / max(pooled.sum(), 1)),
        }
    return out


def _score_predictor(r: dict, name: str, out: np.ndarray, ref_px, test, pixels) -> None:
    """Scores, median scores, calibration, bias decomposition and strata of one predictor."""
    r[name] = scores(out[:, 0], ref_px)
    median = out[:, 2 + QUANTILES.index(0.5)]
    r[name + "_median"] = scores(median, ref_px)
    r[name + "_calibration"], _ = calibration(out, ref_px)
    # bias decomposition: the mean where the reference is dry / wet
    dry = ref_px < 0.1
    r[name + "_rain_dry"] = float(out[dry, 0].sum() / max(ref_px.sum(), 1e-12))
    r[name + "_rain_wet"] = float(out[~dry, 0].sum() / max(ref_px[~dry].sum(), 1e-12))
    r[name + "_pop_mean"] = float(out[:, 1].mean())
    strata = {}
    for title, (variable, meanings) in STRATA.items():
        codes = test[variable].reshape(-1)[pixels]
        labels = np.array([meanings.get(int(c), "") for c in codes], dtype=object)
        table = scores(out[:, 0], ref_px, labels)
        cal, _ = calibration(out, ref_px, labels)
        strata[title] = {c: {**table[c], **cal[c]} for c in table}
    r[name + "_strata"] = strata


def evaluate(
    net, normalisation, brain, test, max_pixels: int, seed: int, extra: dict | None = None
) -> dict:
    """Score DRAIN and BRAIN on the same held-out pixels the DPR saw.

    ``extra``: more DRAIN-like predictors scored on the same pixels, ``key -> (net,
    normalisation, model name)`` (e.g. ``{"drain13": (net, norm, "drain-13ch")}``); their
    results are under ``key``, ``key + "_median"``, ... and ``"goals_" + key``.
    """
    from xgpm.models import card

    extra = dict(extra or {})
    brain_index = [test["labels"].index(c) for c in card("brain").input_channels]
    drain_out, drain_exceed = predict_drain(net, normalisation, test["tb4"], exceed=CSI_THRESHOLD)
    extra_out = {
        key: predict_drain(n, norm, model_inputs(test, model), exceed=CSI_THRESHOLD)
        for key, (n, norm, model) in extra.items()
    }
    ref = test["rain"]
    seen = np.isfinite(ref) & np.isfinite(test["tb13"][..., brain_index]).all(axis=-1)
    pixels = np.flatnonzero(seen.reshape(-1))
    n_seen = int(pixels.size)
    rng = np.random.default_rng(seed)
    if pixels.size > max_pixels:
        pixels = np.sort(rng.choice(pixels, max_pixels, replace=False))
    ref_px = ref.reshape(-1)[pixels]

    def at_pixels(outputs, exceed):
        return outputs.reshape(-1, outputs.shape[-1])[pixels], exceed.reshape(-1)[pixels]

    drain_px, drain_exceed_px = at_pixels(drain_out, drain_exceed)
    extra_px = {key: at_pixels(*value) for key, value in extra_out.items()}
    tb13_px = test["tb13"][..., brain_index].reshape(-1, len(brain_index))[pixels]
    t_brain = time.perf_counter()
    brain_px = brain.predict(tb13_px, surface_type=test["surface_type"].reshape(-1)[pixels])
    print(f"BRAIN predicted {pixels.size} pixels in {time.perf_counter() - t_brain:.0f} s")
    both = np.isfinite(drain_px).all(axis=1) & np.isfinite(brain_px).all(axis=1)
    for out, _ in extra_px.values():
        both &= np.isfinite(out).all(axis=1)
    ref_px, drain_px, brain_px, pixels = ref_px[both], drain_px[both], brain_px[both], pixels[both]
    drain_exceed_px = drain_exceed_px[both]
    extra_px = {key: (out[both], exceed[both]) for key, (out, exceed) in extra_px.items()}
    r = {
        "test_scenes": len(test["rain"]),
        "test_granules": int(np.unique(test["granule"]).size),
        "eval_pixels": int(pixels.size),
        "seen_pixels": n_seen,
        "subsampled": n_seen > max_pixels,
        "test_rain_mean": float(ref_px.mean()),
        "test_frac_gt_1": float((ref_px > CSI_THRESHOLD).mean()),
        "test_frac_dry": float((ref_px < 0.1).mean()),
        "test_frac_zero": float((ref_px == 0).mean()),
    }
    _score_predictor(r, "drain", drain_px, ref_px, test, pixels)
    _score_predictor(r, "brain", brain_px, ref_px, test, pixels)
    for key, (out, _) in extra_px.items():
        _score_predictor(r, key, out, ref_px, test, pixels)
    r["observed_frac_wet"] = float((ref_px >= 0.1).mean())
    r["zero"] = scores(np.zeros_like(ref_px), ref_px)
    r["goals"] = _goals(r["drain"], r["brain"], r["drain_calibration"])
    for key in extra_px:
        r["goals_" + key] = _goals(r[key], r["brain"], r[key + "_calibration"])

    # CSI of alternative rain/no-rain decisions (surface_precip stays the mean head)
    granules = test["granule"][pixels // (ref.shape[1] * ref.shape[2])]
    order = {g: i for i, g in enumerate(np.unique(granules))}
    fold = np.array([order[g] % 2 for g in granules])
    amounts = np.geomspace(0.3, 3.0, 41)
    probabilities = np.linspace(0.05, 0.95, 91)
    median = 2 + QUANTILES.index(0.5)
    r["decision_rules"] = {}
    for key, out, exceed in (
        ("drain", drain_px, drain_exceed_px),
        ("brain", brain_px, None),
        *((k, o, e) for k, (o, e) in extra_px.items()),
    ):
        variables = {
            "mean": (out[:, 0], CSI_THRESHOLD, amounts),
            "median": (out[:, median], CSI_THRESHOLD, amounts),
        }
        if exceed is not None:
            variables["P(rain > 1)"] = (exceed, 0.5, probabilities)
        r["decision_rules"][key] = decision_rules(variables, ref_px, fold)
    r["_arrays"] = (ref_px, drain_px, brain_px, *(out for out, _ in extra_px.values()))
    return r


_TRAIN_KEYS = (
    "train_scenes",
    "train_dpr_pixels",
    "train_granules",
    "train_windows",
    "epochs",
    "history",
    "train_minutes",
    "train_command",
    "init_from",
    "learning_rate",
    "brain_database",
)
