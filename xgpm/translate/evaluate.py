"""Evaluation of translations to pseudo-GMI on paired simulated scenes (``xgpm evaluate to-gmi``).

For every paired scene (:mod:`xgpm.translate.scenes`: one truth seen by the source radiometer,
a virtual GMI and a virtual DPR on the same orbit, at the same time) and every translation
model registered for the source sensor:

1. **distribution fidelity**: the pseudo-GMI brightness temperatures are put on the virtual-GMI
   pixels (:func:`xgpm.colocate`, nearest pixel within ``radius_km``) and compared channel by
   channel with the true GMI ones over the same pixels: Wasserstein-1 distance (K) and
   histogram overlap (sum of the minimum of the two normalised histograms, 0.5 K bins);
2. **rain preservation**: DRAIN on the pseudo-GMI (on its own, densified swath, then put on the
   virtual-GMI pixels the same way) and DRAIN on the true GMI are scored against the reference
   (the virtual DPR's near-surface rain convolved to GMI's 89 GHz footprint,
   :func:`xgpm.matchups.gmi_dpr_matchups`), over the pixels the DPR saw: MSE, CSI at 1 mm/h
   and Pearson correlation (:func:`xgpm.evaluate.evaluate_retrieval`), and the **fraction of
   the skill gap closed** ``(skill_method - skill_identity) / (skill_GMI - skill_identity)``;
3. all of it **stratified** by Koppen-Geiger main class, season, surface and rain regime /
   precipitation type of the reference (:func:`xgpm.matchups.add_labels`).

To keep the cost down the source swath is cropped, before translation, to the scans and
pixels within ``crop_km`` of the virtual-GMI swath (the translation and DRAIN near the edge of
the crop see less context than on the whole swath; ``crop_km`` is larger than their effective
receptive fields).

Everything here is simulated: the scores say how well a method undoes the simulator's
differences between instruments, not how it does on real SSMIS data.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = [
    "STRATA",
    "SceneResult",
    "crop_source",
    "evaluate_scene",
    "false_alarm_rates",
    "gap_closed",
    "histogram_overlap",
    "on_gmi_pixels",
    "reference_on_gmi",
    "result_path",
    "summarise",
    "wasserstein1",
]

#: Stratification variables of the tables: name -> (label variable, category names by code).
STRATA: dict[str, tuple[str, tuple[str, ...]]] = {
    "koppen_class": ("koppen_class", ("ocean", "A", "B", "C", "D", "E")),
    "season": ("season", ("DJF", "MAM", "JJA", "SON")),
    "surface": ("surface_type", ("ocean", "land", "coast")),
    "regime": ("rain_regime", ("no_rain", "light", "moderate", "heavy")),
    "precip_type": ("precip_type", ("no_rain", "stratiform", "convective")),
}
#: Histogram bins of the distribution metrics (K).
TB_BINS = np.arange(50.0, 330.5, 0.5)
GMI = "GMI"
#: Version of the per-scene sampling (cache key of the per-model results).
EVALUATION_VERSION = 2
#: Distance (km) from a swath edge within which pixels are not scored (DRAIN edge effects).
EDGE_KM = 80.0
_DRAIN_CHANNELS = ("37V", "37H", "89V", "89H")


# ------------------------------------------------------------------------------------------
# metrics
# ------------------------------------------------------------------------------------------


def wasserstein1(hist_a: np.ndarray, hist_b: np.ndarray, width: float = 0.5) -> float:
    """Wasserstein-1 distance (K) between two histograms on the same bins (``width`` K)."""
    a, b = np.asarray(hist_a, float), np.asarray(hist_b, float)
    if a.sum() == 0 or b.sum() == 0:
        return float("nan")
    return float(np.abs(np.cumsum(a / a.sum()) - np.cumsum(b / b.sum())).sum() * width)


def histogram_overlap(hist_a: np.ndarray, hist_b: np.ndarray) -> float:
    """Overlap (0-1) of two histograms: the sum of the minimum of their normalised counts."""
    a, b = np.asarray(hist_a, float), np.asarray(hist_b, float)
    if a.sum() == 0 or b.sum() == 0:
        return float("nan")
    return float(np.minimum(a / a.sum(), b / b.sum()).sum())


def gap_closed(method: float, unadapted: float, gmi: float) -> float:
    """``(method - unadapted) / (gmi - unadapted)``: 1 matches GMI, 0 no better than none.

    Works for any score, higher- or lower-is-better (MSE): the sign of the gap cancels. NaN
    when GMI is no better than no adaptation (nothing to close).
    """
    gap = gmi - unadapted
    if not np.isfinite(gap) or abs(gap) < 1e-12 or not np.isfinite(method):
        return float("nan")
    return float((method - unadapted) / gap) + 0.0  # no "-0.0"


# ------------------------------------------------------------------------------------------
# per scene
# ------------------------------------------------------------------------------------------


def reference_on_gmi(scene: Any) -> xr.Dataset:
    """The virtual DPR's rain on the virtual-GMI pixels, with the stratification labels."""
    from xgpm.matchups import add_labels, gmi_dpr_matchups

    if scene.dpr is None:
        out = add_labels(scene.gmi[["Tc"]])
        out["surface_precip"] = xr.full_like(out["land_fraction"], np.nan)
        out["dpr_mask"] = xr.zeros_like(out["land_fraction"], dtype=bool)
        return out
    return gmi_dpr_matchups(scene.gmi, scene.dpr, on_empty="nan")


def crop_source(source: xr.Dataset, gmi: xr.Dataset, crop_km: float = 150.0) -> xr.Dataset:
    """The part of the source swath within ``crop_km`` of a valid virtual-GMI pixel."""
    from scipy.spatial import cKDTree

    def xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        lo, la = np.deg2rad(lon.astype(float)), np.deg2rad(lat.astype(float))
        return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)

    valid = np.isfinite(gmi["Tc"].sel(pmw_frequency="89V").values)
    glon, glat = gmi["lon"].values[valid], gmi["lat"].values[valid]
    if glon.size == 0:
        raise InvalidArgumentError("crop_source: the GMI swath has no valid pixel")
    tree = cKDTree(xyz(glon, glat)[:: max(1, glon.size // 20000)])
    slon = source["lon"].transpose("cross_track", "along_track").values
    slat = source["lat"].transpose("cross_track", "along_track").values
    ok = np.isfinite(slon) & np.isfinite(slat)
    dist = np.full(slon.shape, np.inf)
    dist[ok] = tree.query(xyz(slon[ok], slat[ok]))[0] * 6371.0
    near = dist < crop_km
    rows, cols = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
    if rows.size == 0:
        raise InvalidArgumentError("crop_source: no source pixel near the GMI swath")
    return source.isel(
        cross_track=slice(rows[0], rows[-1] + 1), along_track=slice(cols[0], cols[-1] + 1)
    )


def interior(ds: xr.Dataset, edge_km: float = EDGE_KM) -> np.ndarray:
    """Valid pixels of a swath at least ``edge_km`` (in scan/pixel steps) from any invalid one.

    DRAIN fills a missing input with its channel mean, and the jump between real and filled
    values makes it see rain within a few tens of km of every edge (the swath's, or the region
    boundary of a cropped simulation). The evaluation scores only pixels away from edges, in
    the true GMI swath and in the source swath alike.
    """
    from scipy.ndimage import binary_erosion

    from xgpm.translate.grid import pixel_spacing_km

    tb = ds["Tc"].transpose("cross_track", "along_track", "pmw_frequency").values
    valid = np.isfinite(tb).all(axis=-1)
    spacing = pixel_spacing_km(ds)
    steps = [max(1, int(np.ceil(edge_km / s))) if np.isfinite(s) else 1 for s in spacing]
    structure = np.ones((2 * steps[0] + 1, 2 * steps[1] + 1), dtype=bool)
    return binary_erosion(valid, structure, border_value=0)


def scoring_mask(scene: Any, source: xr.Dataset, reference: xr.Dataset) -> np.ndarray:
    """GMI pixels scored: seen by the DPR, and away from the edges of both swaths."""
    from xgpm.translate.grid import to_gmi_sampling

    dense = to_gmi_sampling(source[["Tc"]])
    source_interior = dense.assign(
        interior=(("cross_track", "along_track"), interior(dense).astype(np.float32))
    )
    on_gmi = on_gmi_pixels(source_interior, scene.gmi, ["interior"])["interior"].values
    seen = np.asarray(reference["dpr_mask"].values, dtype=bool)
    return seen & interior(scene.gmi) & (np.nan_to_num(on_gmi) > 0.5)


def on_gmi_pixels(
    ds: xr.Dataset, gmi: xr.Dataset, variables: Sequence[str], radius_km: float = 10.0
) -> xr.Dataset:
    """``variables`` of a swath put on the virtual-GMI pixels (nearest within ``radius_km``)."""
    from xgpm.colocation import colocate

    geometry = xr.Dataset(coords={n: gmi[n] for n in ("lon", "lat", "time")})
    source = xr.Dataset(
        {v: ds[v] for v in variables},
        coords={n: ds[n] for n in ("lon", "lat", "time")},
    ).transpose("cross_track", "along_track", ...)
    out = colocate(
        source,
        geometry,
        radius_km=radius_km,
        max_dt="15min",
        method="nearest",
        variables=list(variables),
        on_empty="nan",
    )
    return out.transpose("cross_track", "along_track", ...)


def false_alarm_rates(
    scene: Any,
    pseudo: xr.Dataset,
    *,
    source: xr.Dataset | None = None,
    retrieval: str = "drain",
    threshold: float = 0.1,
) -> dict[str, float]:
    """Rain (> ``threshold`` mm/h) retrieved where the reference saw none, on GMI vs pseudo-GMI.

    Parameters
    ----------
    scene : PairedScene
        With a virtual DPR.
    pseudo : Dataset
        ``to_gmi(source, ...)`` (any sampling).
    source : Dataset, optional
        The source swath ``pseudo`` was made from (default ``scene.source``; pass the cropped
        one if cropped: its edges are left out, see :func:`interior`).
    retrieval : str
        Rain model run on both.

    Returns
    -------
    dict
        ``gmi`` and ``pseudo``: the fractions of clear reference pixels (DPR-seen, away from
        the swaths' edges, reference rain < ``threshold``) where the retrieval gives rain;
        ``clear_pixels``: their number.
    """
    from xgpm.retrieve import rainrate

    reference = reference_on_gmi(scene)
    rain_gmi = rainrate(scene.gmi, retrieval, quantiles=())["surface_precip"].values
    rain_pseudo = rainrate(pseudo, retrieval, quantiles=())
    pseudo_rain = on_gmi_pixels(
        rain_pseudo.assign_coords(time=pseudo["time"]), scene.gmi, ["surface_precip"]
    )["surface_precip"].values
    ref = reference["surface_precip"].values
    clear = (
        scoring_mask(scene, scene.source if source is None else source, reference)
        & (ref < threshold)
        & np.isfinite(rain_gmi)
        & np.isfinite(pseudo_rain)
    )
    n = int(clear.sum())
    if n == 0:
        return {"gmi": float("nan"), "pseudo": float("nan"), "clear_pixels": 0}
    return {
        "gmi": float((rain_gmi[clear] > threshold).mean()),
        "pseudo": float((pseudo_rain[clear] > threshold).mean()),
        "clear_pixels": n,
    }


@dataclass
class SceneResult:
    """What one scene contributes to the evaluation (small: pixel samples, not images)."""

    key: str
    labels: pd.DataFrame  # DPR-seen GMI pixels: reference rain + labels
    rain: dict[str, np.ndarray]  # method/"GMI" -> rain on those pixels
    tb_labels: pd.DataFrame  # sampled valid GMI pixels: labels
    tb: dict[str, np.ndarray]  # method/"GMI" -> (n, 13) TBs on those pixels
    maps: dict[str, Any] = field(default_factory=dict)


def _labels(reference: xr.Dataset, mask: np.ndarray) -> pd.DataFrame:
    table = {}
    for name, (variable, _) in STRATA.items():
        if variable in reference:
            label = reference[variable].broadcast_like(reference["lon"])
            values = label.transpose(*reference["lon"].dims).values
            table[name] = values[mask].astype(np.int16)
        else:
            table[name] = np.full(int(mask.sum()), -1, dtype=np.int16)
    table["reference"] = reference["surface_precip"].values[mask].astype(np.float32)
    return pd.DataFrame(table)


def _model_token(name: str) -> str:
    """Cache key of a model: name, version, weights file size/mtime, inference engine version."""
    from xgpm import models
    from xgpm.models.inference import ENGINE_VERSION

    spec = models.card(name)
    token = f"{spec.name}|{spec.version}|{spec.source}|engine{ENGINE_VERSION}"
    entry = models._entry(spec.name)
    if entry.weights_path is not None and Path(entry.weights_path).is_file():
        stat = Path(entry.weights_path).stat()
        token += f"|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(token.encode()).hexdigest()[:12]


def result_path(cache: str | os.PathLike, scene_key: str, method: str, retrieval: str) -> Path:
    """Cache file of one method's results on one scene.

    Keyed by the simulator version (a ``sim<SIMULATOR_VERSION>`` sub-folder: the scene itself
    depends on it), the translation's and the retrieval's version and weights file, the
    inference engine's version (:func:`_model_token`) and :data:`EVALUATION_VERSION`.

    Parameters
    ----------
    cache : path
        The results folder.
    scene_key : str
        :attr:`xgpm.translate.scenes.PairedScene.key`.
    method, retrieval : str
        Translation card and rain model names.

    Returns
    -------
    Path
    """
    from xgpm.translate.scenes import simulator_version

    token = f"{_model_token(method)}__{_model_token(retrieval)}__e{EVALUATION_VERSION}"
    folder = Path(cache) / f"sim{simulator_version()}".replace(":", "")
    return folder / f"{scene_key}__{method}__{token}.npz"


def evaluate_scene(
    scene: Any,
    methods: Sequence[str],
    *,
    retrieval: str = "drain",
    crop_km: float = 150.0,
    max_tb_pixels: int = 20_000,
    cache: str | os.PathLike | None = None,
    keep_maps: bool = False,
    seed: int = 0,
) -> SceneResult:
    """Translate one scene with every method, retrieve rain, and sample what the scores need.

    Parameters
    ----------
    scene : PairedScene
    methods : sequence of str
        Translation card names (``identity-ssmis`` ...).
    retrieval : str
        Rain model (DRAIN by default).
    crop_km : float
        Crop of the source swath around the GMI swath (see the module notes).
    max_tb_pixels : int
        Valid GMI pixels sampled for the distribution metrics.
    cache : path, optional
        Directory of per-scene, per-model results (keyed by the simulator version, a
        ``sim<SIMULATOR_VERSION>`` sub-folder, and by the version and weights file of the
        translation and of the retrieval and the inference engine's version), so that a re-run
        only computes what changed.
    keep_maps : bool
        Keep the images (for figures).
    """
    from xgpm.retrieve import rainrate
    from xgpm.translate.core import to_gmi

    reference = reference_on_gmi(scene)
    gmi_tb = scene.gmi["Tc"].transpose("cross_track", "along_track", "pmw_frequency").values
    valid = np.isfinite(gmi_tb).all(axis=-1)
    rng = np.random.default_rng(seed)
    flat = np.flatnonzero(valid.ravel())
    sample = np.sort(rng.choice(flat, min(max_tb_pixels, flat.size), replace=False))
    sample_mask = np.zeros(valid.size, dtype=bool)
    sample_mask[sample] = True
    sample_mask = sample_mask.reshape(valid.shape)
    source = crop_source(scene.source, scene.gmi, crop_km)
    seen = scoring_mask(scene, source, reference) & valid
    gmi_rain = rainrate(scene.gmi, retrieval, quantiles=())["surface_precip"].values
    result = SceneResult(
        key=scene.key,
        labels=_labels(reference, seen),
        rain={GMI: gmi_rain[seen].astype(np.float32)},
        tb_labels=_labels(reference, sample_mask).drop(columns=["reference"]),
        tb={GMI: gmi_tb[sample_mask].astype(np.float32)},
    )
    if keep_maps:
        result.maps = {"reference": reference, "gmi_rain": gmi_rain, "pseudo": {}, "rain": {}}
    for name in methods:
        path = None
        if cache is not None:
            path = result_path(cache, scene.key, name, retrieval)
            if path.is_file() and not keep_maps:
                cached = _read_cached(path, int(seen.sum()), int(sample_mask.sum()))
                if cached is not None:
                    result.rain[name], result.tb[name] = cached
                    continue
        pseudo = to_gmi(source, name)
        rain = rainrate(pseudo, retrieval, quantiles=())
        both = pseudo.assign(surface_precip=rain["surface_precip"])
        moved = on_gmi_pixels(both, scene.gmi, ["Tc", "surface_precip"])
        tb = moved["Tc"].transpose("cross_track", "along_track", "pmw_frequency").values
        result.rain[name] = moved["surface_precip"].values[seen].astype(np.float32)
        result.tb[name] = tb[sample_mask].astype(np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(path, rain=result.rain[name], tb=result.tb[name])
        if keep_maps:
            result.maps["pseudo"][name] = pseudo
            result.maps["rain"][name] = rain["surface_precip"]
    return result


def _read_cached(path: Path, n_rain: int, n_tb: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached ``(rain, tb)`` of one method on one scene, or None to compute them again.

    The file is read with ``allow_pickle=False``; one that cannot be read safely (pickled
    objects, damaged, foreign arrays) or does not fit the scene is ignored with a warning, and
    the caller overwrites it.
    """
    import warnings

    from xgpm.errors import CheckpointError, DataQualityWarning, StorageError
    from xgpm.models import _read_npz

    try:
        data = _read_npz(
            path,
            ("rain", "tb"),
            what="evaluation cache",
            remedy="It is computed again and overwritten",
        )
    except (CheckpointError, StorageError) as error:
        warnings.warn(str(error), DataQualityWarning, stacklevel=3)
        return None
    rain, tb = data["rain"], data["tb"]
    if rain.dtype.kind != "f" or tb.dtype.kind != "f":
        warnings.warn(
            f"evaluation cache {path} holds non-float arrays; it is computed again and overwritten",
            DataQualityWarning,
            stacklevel=3,
        )
        return None
    if rain.shape != (n_rain,) or tb.ndim != 2 or tb.shape[0] != n_tb:
        return None  # another scene cut (e.g. changed masks): recompute silently
    return rain, tb


# ------------------------------------------------------------------------------------------
# pooled scores
# ------------------------------------------------------------------------------------------


def _rain_scores(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    from xgpm.verify.retrieval import evaluate_retrieval

    ok = np.isfinite(pred) & np.isfinite(ref)
    if ok.sum() < 10:
        return {
            "mse": np.nan,
            "csi": np.nan,
            "correlation": np.nan,
            "clear_false_alarms": np.nan,
            "n": int(ok.sum()),
        }
    scores = evaluate_retrieval(
        xr.DataArray(pred[ok], dims="pixel"),
        xr.DataArray(ref[ok], dims="pixel"),
        rain_threshold=1.0,
        heavy_threshold=10.0,
    )
    clear = ref[ok] < 0.1
    return {
        "mse": float(scores["mse"]),
        "csi": float(scores["csi"]),
        "correlation": float(scores["correlation"]),
        # rain (> 0.1 mm/h) retrieved where the reference has none
        "clear_false_alarms": float((pred[ok][clear] > 0.1).mean()) if clear.any() else np.nan,
        "n": int(ok.sum()),
    }


def _distribution_scores(
    tb: np.ndarray, gmi: np.ndarray, channels: Sequence[str]
) -> dict[str, float]:
    out = {}
    w1, overlap = [], []
    for j, label in enumerate(channels):
        a = np.histogram(tb[:, j][np.isfinite(tb[:, j])], TB_BINS)[0]
        b = np.histogram(gmi[:, j][np.isfinite(gmi[:, j])], TB_BINS)[0]
        w1.append(wasserstein1(a, b, TB_BINS[1] - TB_BINS[0]))
        overlap.append(histogram_overlap(a, b))
        out[f"w1_{label}"] = w1[-1]
        out[f"overlap_{label}"] = overlap[-1]
    drain = [channels.index(c) for c in _DRAIN_CHANNELS if c in channels]
    with np.errstate(invalid="ignore"):
        out["w1_mean"] = float(np.nanmean(w1)) if np.isfinite(w1).any() else np.nan
        out["overlap_mean"] = float(np.nanmean(overlap)) if np.isfinite(overlap).any() else np.nan
        w1_drain = [w1[j] for j in drain]
        out["w1_drain"] = float(np.nanmean(w1_drain)) if np.isfinite(w1_drain).any() else np.nan
    return out


def summarise(
    results: Iterable[SceneResult],
    methods: Sequence[str],
    unadapted: str,
    *,
    channels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Pool scenes and score every method in every stratum.

    Returns
    -------
    DataFrame
        One row per (stratification, stratum, method) (``GMI`` = DRAIN on the true GMI), with
        ``n_rain``/``n_tb`` pixel counts, ``mse``, ``csi`` (1 mm/h), ``correlation``,
        ``gap_mse``, ``gap_csi``, ``gap_correlation`` (fraction of the gap closed relative to
        ``unadapted``), ``clear_false_alarms`` (share of reference pixels < 0.1 mm/h where
        rain > 0.1 mm/h is retrieved), ``w1_mean``, ``w1_drain`` (mean over DRAIN's channels),
        ``overlap_mean`` and per-channel ``w1_<label>``/``overlap_<label>``.
    """
    from xgpm.translate.baselines import GMI_CHANNELS

    channels = list(channels or GMI_CHANNELS)
    results = list(results)
    if not results:
        raise InvalidArgumentError("summarise: no scene results")
    labels = pd.concat([r.labels for r in results], ignore_index=True)
    tb_labels = pd.concat([r.tb_labels for r in results], ignore_index=True)
    everyone = [GMI, *methods]
    rain = {m: np.concatenate([r.rain[m] for r in results]) for m in everyone}
    tb = {m: np.concatenate([r.tb[m] for r in results]) for m in everyone}
    rows = []
    groups: list[tuple[str, str, np.ndarray, np.ndarray]] = [
        ("all", "all", np.ones(len(labels), bool), np.ones(len(tb_labels), bool))
    ]
    for name, (_, categories) in STRATA.items():
        for code, category in enumerate(categories):
            groups.append(
                (name, category, labels[name].values == code, tb_labels[name].values == code)
            )
    for stratification, stratum, in_rain, in_tb in groups:
        scores = {}
        for method in everyone:
            row = {"stratification": stratification, "stratum": stratum, "method": method}
            row.update(_rain_scores(rain[method][in_rain], labels["reference"].values[in_rain]))
            row["n_rain"] = row.pop("n")
            row["n_tb"] = int(in_tb.sum())
            if method != GMI and in_tb.sum() > 0:
                row.update(_distribution_scores(tb[method][in_tb], tb[GMI][in_tb], channels))
            scores[method] = row
        for method in everyone:
            row = scores[method]
            for metric in ("mse", "csi", "correlation"):
                row[f"gap_{metric}"] = (
                    gap_closed(row[metric], scores[unadapted][metric], scores[GMI][metric])
                    if method not in (GMI,) and unadapted in scores
                    else np.nan
                )
            rows.append(row)
    return pd.DataFrame(rows)


def results_json(table: pd.DataFrame) -> str:
    """The overall rows of :func:`summarise` as JSON (for logs)."""
    overall = table[table["stratification"] == "all"].set_index("method")
    columns = ["mse", "csi", "correlation", "gap_mse", "gap_csi", "gap_correlation", "w1_mean"]
    return json.dumps(overall[columns].round(4).to_dict(orient="index"), indent=1)
