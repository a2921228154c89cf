"""The learned scorer: per-map scores of an IMERG half hour predicted from the map alone.

A small convolutional autoencoder reads one IMERG map (precipitation and its quality fields)
as a 5-channel image, compresses it into a latent vector (16 numbers by default) and decodes it
back (reconstruction loss); a score head predicts from the latent vector the map's scores
against a radar reference: CSI at 1 mm/h (``csi_1``) and FSS at 0.5 mm/h over 5 cells ~ 50 km
(``fss_0.5_5``). The same latent space is clustered (:mod:`xgpm.scoring.clusters`: DESOM's
self-organising map and DEC), each cluster labelled by the scores of its training maps. The
network and the clusters are one ``torch.nn.Module`` (:class:`ScorerNet`), so the model
registry (``xgpm.models``) saves and loads them together: the registered model ``scorer``.

Input channels (:data:`INPUT_CHANNELS`), per cell:

==========================  ===========================================================
``precipitation``           ``log1p(precipitation)`` (mm/h), 0 where NaN
``precipitationQualityIndex``  the index, 0 where NaN
``IRinfluence``             ``IRinfluence / 100``, 0 where NaN
``MWprecipSource``          1 where a microwave estimate falls in the half hour, else 0
``valid``                   1 where ``precipitation`` is finite
==========================  ===========================================================

then standardised with the card's ``inputs.normalisation``. The network needs the grid it was
trained on (0.1 deg, the card's ``grid``); a larger 0.1 deg grid containing it is cropped.

Targets (:func:`target_table`): a score is *defined* for a map only when at least
``min_events`` verified cells (default 20) are events in IMERG or in the reference at the
score's threshold; otherwise it is NaN, is not trained on and is not evaluated (a CSI from a
handful of cells is noise).

This module imports torch: it is loaded on demand, never by ``import xgpm``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import xarray as xr

from xgpm.errors import InvalidArgumentError
from xgpm.verify.learned import clusters as cl
from xgpm.verify.learned.features import (  # noqa: F401  (REQUIRED_VARIABLES: for the cli)
    INPUT_CHANNELS,
    REQUIRED_VARIABLES,
    TARGETS,
    _crop_to_grid,
    check_imerg,
    imerg_features,
    target_table,
)
from xgpm.verify.learned.network import (
    ScorerNet,
    count_parameters,
)

__all__ = [
    "INPUT_CHANNELS",
    "TARGETS",
    "ScorerNet",
    "ScorerTrainResult",
    "check_imerg",
    "clusterings",
    "count_parameters",
    "fit_clusters",
    "imerg_features",
    "latent",
    "predict_scores",
    "score_without_reference",
    "target_table",
    "train_scorer",
]


# training
# ------------------------------------------------------------------------------------------


@dataclass
class ScorerTrainResult:
    """A trained scorer, its normalisation and its loss history."""

    model: ScorerNet
    mean: np.ndarray
    std: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    grid: dict[str, Any] = field(default_factory=dict)

    def card_updates(self) -> dict[str, Any]:
        """Card fields: architecture kwargs, normalisation, grid, history."""
        m = self.model
        return {
            "architecture": {
                "name": "xgpm.verify.learned.network:ScorerNet",
                "kwargs": {
                    "in_channels": m.in_channels,
                    "height": m.height,
                    "width": m.width,
                    "latent_dim": m.latent_dim,
                    "base_channels": int(m.encoder[0].out_channels),
                    "n_targets": m.n_targets,
                    "som_shape": list(m.som_shape),
                    "n_dec_clusters": m.n_dec_clusters,
                    "dropout": m.dropout,
                },
            },
            "inputs": {
                "normalisation": {
                    "mean": [float(v) for v in self.mean],
                    "std": [float(v) for v in self.std],
                }
            },
            "grid": dict(self.grid),
        }


def _standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((x - mean[:, None, None]) / std[:, None, None]).astype("float32")


def train_scorer(
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    latent_dim: int = 16,
    base_channels: int = 8,
    som_shape: Sequence[int] = (3, 4),
    n_dec_clusters: int = 8,
    epochs: int = 30,
    minutes: float | None = None,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    reconstruction_weight: float = 0.05,
    seed: int = 0,
    threads: int | None = 1,
    progress: bool = True,
    grid: dict[str, Any] | None = None,
    area: np.ndarray | None = None,
    log: Callable[[str], None] | None = None,
) -> ScorerTrainResult:
    """Train the autoencoder and score head on maps and their true scores.

    Parameters
    ----------
    inputs : numpy.ndarray
        Raw input channels ``(maps, 5, height, width)`` (:func:`imerg_features` values).
    targets : numpy.ndarray
        True scores ``(maps, n_targets)``, NaN where undefined (left out of the score loss).
    validation : (inputs, targets), optional
        Held-out maps: their losses are logged every epoch (not used to select anything).
    latent_dim, base_channels, som_shape, n_dec_clusters : see :class:`ScorerNet`
    epochs : int
    minutes : float, optional
        Stop after the epoch that crosses this wall-clock budget.
    batch_size, learning_rate : int, float
        AdamW (weight decay 1e-3), with the rate halved at 60 % and 85 % of the epochs.
    reconstruction_weight : float
        Weight of the reconstruction MSE next to the score MSE.
    seed : int
    threads : int, optional
        ``torch.set_num_threads`` (None leaves it).
    progress : bool
        A tqdm bar over epochs.
    grid : dict, optional
        ``lat_first``, ``lon_first``, ``height``, ``width`` of the training grid (stored in
        the card).
    area : numpy.ndarray, optional
        ``(height, width)`` weights of the verified area (fraction of the training maps where
        the reference is valid); the map statistics the latent reads are weighted by it.
    log : callable, optional
        Receives one line per epoch.

    Returns
    -------
    ScorerTrainResult
    """
    inputs = np.asarray(inputs, dtype="float32")
    targets = np.asarray(targets, dtype="float32")
    if inputs.ndim != 4 or targets.ndim != 2 or inputs.shape[0] != targets.shape[0]:
        raise InvalidArgumentError(
            f"inputs/targets: expected (maps, channels, height, width) and (maps, targets) with "
            f"the same number of maps, got {inputs.shape} and {targets.shape}."
        )
    if inputs.shape[0] < 2:
        raise InvalidArgumentError("train_scorer: need at least 2 maps.")
    if not np.any(np.isfinite(targets)):
        raise InvalidArgumentError("train_scorer: every target is NaN; nothing to learn.")
    if threads is not None:
        torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    _, n_channels, height, width = inputs.shape
    mean = inputs.mean(axis=(0, 2, 3)).astype("float64")
    std = inputs.std(axis=(0, 2, 3)).astype("float64")
    std = np.where(std > 1e-6, std, 1.0)
    model = ScorerNet(
        n_channels,
        height,
        width,
        latent_dim=latent_dim,
        base_channels=base_channels,
        n_targets=targets.shape[1],
        som_shape=som_shape,
        n_dec_clusters=n_dec_clusters,
    )
    if area is not None:
        model.set_area(area)
    x_all = torch.from_numpy(_standardise(inputs, mean, std))
    y_all = torch.from_numpy(targets)
    val = None
    if validation is not None:
        val = (
            torch.from_numpy(_standardise(np.asarray(validation[0], "float32"), mean, std)),
            torch.from_numpy(np.asarray(validation[1], "float32")),
        )
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-3)
    milestones = [max(1, int(0.6 * epochs)), max(2, int(0.85 * epochs))]
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimiser, milestones, gamma=0.5)
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    bar = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc="train scorer", unit="epoch")
    for epoch in bar:
        model.train()
        order = rng.permutation(x_all.shape[0])
        sums = np.zeros(3)
        for start in range(0, order.size, batch_size):
            idx = torch.from_numpy(order[start : start + batch_size])
            loss, parts = _loss(model, x_all[idx], y_all[idx], reconstruction_weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            sums += np.array(parts) * idx.numel()
        scheduler.step()
        entry = {"epoch": epoch + 1, "loss": sums[0] / order.size}
        entry["score_mse"], entry["reconstruction_mse"] = sums[1:] / order.size
        if val is not None:
            model.eval()
            with torch.no_grad():
                _, vparts = _loss(model, val[0], val[1], reconstruction_weight)
            entry["val_loss"], entry["val_score_mse"], entry["val_reconstruction_mse"] = vparts
        entry["seconds"] = time.perf_counter() - started
        history.append(entry)
        if progress:
            bar.set_postfix(
                loss=f"{entry['loss']:.4f}", val=f"{entry.get('val_score_mse', np.nan):.4f}"
            )
        if log is not None:
            log(" ".join(f"{k}={v:.4g}" for k, v in entry.items()))
        if minutes is not None and entry["seconds"] > 60.0 * minutes:
            break
    model.eval()
    grid = dict(grid or {"height": height, "width": width})
    return ScorerTrainResult(model, mean, std, history, grid)


def _loss(
    model: ScorerNet, x: torch.Tensor, y: torch.Tensor, reconstruction_weight: float
) -> tuple[torch.Tensor, tuple[float, float, float]]:
    reconstruction, predicted, _ = model(x)
    defined = torch.isfinite(y)
    if defined.any():
        score_mse = ((predicted - torch.nan_to_num(y)) ** 2)[defined].mean()
    else:
        score_mse = predicted.sum() * 0.0
    reconstruction_mse = ((reconstruction - x) ** 2).mean()
    loss = score_mse + reconstruction_weight * reconstruction_mse
    return loss, (loss.item(), score_mse.item(), reconstruction_mse.item())


def _batched(model: ScorerNet, x: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    scores, latents = [], []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            z = model.encode(torch.from_numpy(x[start : start + batch]))
            latents.append(z.numpy())
            scores.append(model.scores(z).numpy())
    if not latents:
        return np.zeros((0, model.n_targets), "float32"), np.zeros((0, model.latent_dim), "f4")
    return np.concatenate(scores), np.concatenate(latents)


def latent(model: ScorerNet, inputs: np.ndarray, mean: Any, std: Any) -> np.ndarray:
    """Latent vectors of raw input channels ``(maps, 5, h, w)`` -> ``(maps, latent_dim)``."""
    x = _standardise(np.asarray(inputs, "float32"), np.asarray(mean), np.asarray(std))
    return _batched(model, x)[1]


def fit_clusters(
    model: ScorerNet,
    inputs: np.ndarray,
    targets: np.ndarray,
    mean: Any,
    std: Any,
    *,
    seed: int = 0,
) -> tuple[cl.SelfOrganizingMap, cl.DeepEmbeddedClustering]:
    """Fit DESOM's SOM and DEC on the training maps' latent vectors; label them by score.

    Stores prototypes, centroids and per-cluster score statistics in the model's buffers (so
    they are saved with the weights) and returns the two fitted clusterings.
    """
    z = latent(model, inputs, mean, std)
    som = cl.SelfOrganizingMap(model.som_shape, seed=seed).fit(z)
    dec = cl.DeepEmbeddedClustering(model.n_dec_clusters, seed=seed).fit(z)
    targets = np.asarray(targets, dtype="float64")
    som_labels, dec_labels = som.predict(z), dec.predict(z)
    n_targets = targets.shape[1]
    som_stats = np.stack(
        [cl.cluster_stats(som_labels, targets[:, t], som.n_nodes) for t in range(n_targets)], 1
    )
    dec_stats = np.stack(
        [cl.cluster_stats(dec_labels, targets[:, t], dec.n_clusters) for t in range(n_targets)], 1
    )
    with torch.no_grad():
        model.som_prototypes.copy_(torch.from_numpy(som.prototypes.astype("float32")))
        model.dec_centroids.copy_(torch.from_numpy(dec.centroids.astype("float32")))
        model.som_stats.copy_(torch.from_numpy(som_stats.astype("float32")))
        model.dec_stats.copy_(torch.from_numpy(dec_stats.astype("float32")))
        model.clusters_fitted.fill_(True)
    return som, dec


def clusterings(model: ScorerNet) -> tuple[cl.SelfOrganizingMap, cl.DeepEmbeddedClustering]:
    """The SOM and DEC stored in ``model``'s buffers."""
    if not bool(model.clusters_fitted):
        raise InvalidArgumentError(
            "the scorer's clusters are not fitted; call fit_clusters(model, ...) after training."
        )
    som = cl.SelfOrganizingMap(model.som_shape)
    som.prototypes = model.som_prototypes.numpy().astype("float64")
    dec = cl.DeepEmbeddedClustering(model.n_dec_clusters)
    dec.centroids = model.dec_centroids.numpy().astype("float64")
    return som, dec


# ------------------------------------------------------------------------------------------
# prediction on xarray
# ------------------------------------------------------------------------------------------


def _predict_block(
    features: np.ndarray, name: str, mean: np.ndarray, std: np.ndarray, model: Any = None
) -> np.ndarray:
    """(..., 5, h, w) raw channels -> (..., n_targets + 2): scores, SOM node, DEC cluster."""
    if model is None:
        from xgpm import models

        model = models.load(name, device="cpu")
    shape = features.shape[:-3]
    x = _standardise(features.reshape(-1, *features.shape[-3:]), mean, std)
    scores, z = _batched(model, x)
    som, dec = clusterings(model)
    out = (
        np.concatenate(
            [scores.astype("float64"), som.predict(z)[:, None], dec.predict(z)[:, None]], axis=1
        )
        if z.shape[0]
        else np.zeros((0, model.n_targets + 2))
    )
    return out.reshape(*shape, out.shape[-1])


def _resolve(model: Any) -> tuple[str, Any, Any]:
    """(name, spec, module) of a registry name (module None: loaded per task) or a result."""
    from xgpm import models

    if isinstance(model, ScorerTrainResult):
        spec = {
            "normalisation_mean": tuple(model.mean),
            "normalisation_std": tuple(model.std),
            "grid": model.grid,
        }
        return "<memory>", spec, model.model
    if not isinstance(model, (str, models.ModelSpec)):
        raise InvalidArgumentError(
            f"model must be a registered scorer name (str, e.g. 'scorer') or a "
            f"ScorerTrainResult, got {type(model).__name__} {model!r}"
        )
    spec = models.card(model)
    if spec.raw.get("task") != "scoring":
        scorers = []
        for name in models.list():
            try:
                if models.card(name).raw.get("task") == "scoring":
                    scorers.append(name)
            except Exception:  # noqa: BLE001 - a broken card must not hide the message
                continue
        raise InvalidArgumentError(
            f"model {spec.name!r} is not a scorer (its card's task is "
            f"{spec.raw.get('task')!r}, not 'scoring'); scorers: {scorers}"
        )
    out = {
        "normalisation_mean": spec.normalisation_mean,
        "normalisation_std": spec.normalisation_std,
        "grid": spec.raw.get("grid") or {},
    }
    return spec.name, out, None


def predict_scores(ds: xr.Dataset, model: Any = "scorer") -> xr.Dataset:
    """Predicted scores, SOM node and DEC cluster of every map along ``time``.

    Parameters
    ----------
    ds : xarray.Dataset
        IMERG half hours ``(time, lat, lon)`` (or one map ``(lat, lon)``) with
        :data:`REQUIRED_VARIABLES`, on the scorer's grid (or a 0.1 deg grid containing it).
        Dask-backed input gives a lazy result (chunk along ``time``; ``lat``/``lon`` are
        rechunked to one chunk).
    model : str or ScorerTrainResult
        A registered model name (default ``"scorer"``) or a training result.

    Returns
    -------
    xarray.Dataset
        ``csi_1``, ``fss_0.5_5`` (predicted, 0-1), ``som_node``, ``dec_cluster`` (int).
    """
    name, spec, module = _resolve(model)
    check_imerg(ds)
    grid = spec["grid"]
    if grid.get("lat_first") is not None:
        ds = _crop_to_grid(ds, grid, "ds")
    elif "height" in grid and (ds.sizes["lat"], ds.sizes["lon"]) != (
        grid["height"],
        grid["width"],
    ):
        raise InvalidArgumentError(
            f"ds: the scorer needs {grid['height']} x {grid['width']} maps, got "
            f"{ds.sizes['lat']} x {ds.sizes['lon']}."
        )
    features = imerg_features(ds)
    if features.chunks is not None:
        features = features.chunk({"channel": -1, "lat": -1, "lon": -1})
    mean = np.asarray(spec["normalisation_mean"], dtype="float64")
    std = np.asarray(spec["normalisation_std"], dtype="float64")
    n_out = len(TARGETS) + 2
    raw = xr.apply_ufunc(
        _predict_block,
        features,
        kwargs={"name": name, "mean": mean, "std": std, "model": module},
        input_core_dims=[["channel", "lat", "lon"]],
        output_core_dims=[["output"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"output": n_out}},
    )
    out = xr.Dataset(
        {
            TARGETS[0]: raw.isel(output=0),
            TARGETS[1]: raw.isel(output=1),
            "som_node": raw.isel(output=2).astype("int64"),
            "dec_cluster": raw.isel(output=3).astype("int64"),
        }
    )
    out[TARGETS[0]].attrs = {"long_name": "predicted CSI at 1 mm/h", "units": "1"}
    out[TARGETS[1]].attrs = {"long_name": "predicted FSS at 0.5 mm/h over 5 cells", "units": "1"}
    return out


def _label_lookup(ids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return labels[np.asarray(ids, dtype="int64")]


def score_without_reference(
    ds: xr.Dataset, model: Any = "scorer", *, clustering: str = "som", **unexpected: Any
) -> xr.Dataset:
    """What ``ds.gpm.score()`` returns without a reference: predicted scores and clusters.

    Parameters
    ----------
    ds : xarray.Dataset
        IMERG half hours (see :func:`predict_scores`).
    model : str or ScorerTrainResult
        Registered scorer (default ``"scorer"``, shipped, trained on simulated data only).
    clustering : {"som", "dec"}
        Which clustering gives ``cluster`` and its label (both ids are returned).
    **unexpected
        Refused with a clear message: options of :func:`xgpm.verify.score` (``thresholds``,
        ``scales`` ...) reach here when ``ds.gpm.score(...)`` is called without a reference.

    Returns
    -------
    xarray.Dataset
        Along ``time``: ``csi_1`` and ``fss_0.5_5`` (predicted), ``som_node``,
        ``dec_cluster``, ``cluster`` (the chosen one), ``cluster_label`` (e.g.
        ``"high CSI (median 0.62, IQR 0.50-0.70)"``), ``cluster_csi_median``,
        ``cluster_csi_q25``, ``cluster_csi_q75`` (true CSI at 1 mm/h of the cluster's training
        maps: its spread), ``cluster_fss_median``. Attributes say it is a prediction.
    """
    if unexpected:
        raise InvalidArgumentError(
            f"score without a reference (the learned scorer) takes model= and clustering= "
            f"only, not {sorted(unexpected)}: those options score against a reference; pass "
            "it, e.g. ds.gpm.score(reference, thresholds=[0.5, 1.0])."
        )
    if not isinstance(clustering, str) or clustering not in ("som", "dec"):
        raise InvalidArgumentError(f"clustering: 'som' or 'dec', got {clustering!r}.")
    from xgpm import models

    out = predict_scores(ds, model)
    net = model.model if isinstance(model, ScorerTrainResult) else models.load(model, "cpu")
    if not bool(net.clusters_fitted):
        raise InvalidArgumentError(
            "the scorer's clusters are not fitted; call fit_clusters(...) before saving it."
        )
    stats = (net.som_stats if clustering == "som" else net.dec_stats).numpy().astype("float64")
    ids = out["som_node" if clustering == "som" else "dec_cluster"]
    labels = np.array(
        [cl.cluster_label(s[0, 1], s[0, 2], s[0, 3], score="CSI") for s in stats], dtype=object
    )
    table = {
        "cluster_label": labels.astype(str),
        "cluster_csi_median": stats[:, 0, 1],
        "cluster_csi_q25": stats[:, 0, 2],
        "cluster_csi_q75": stats[:, 0, 3],
        "cluster_fss_median": stats[:, 1, 1],
    }
    out["cluster"] = ids
    for key, values in table.items():
        out[key] = xr.apply_ufunc(
            _label_lookup,
            ids,
            kwargs={"labels": values},
            dask="parallelized",
            output_dtypes=[values.dtype],
        )
    out.attrs.update(
        {
            "description": "scores predicted from the IMERG map alone (no reference) by the "
            "learned scorer; cluster statistics are true scores of the cluster's training maps",
            "model": model if isinstance(model, str) else "<in-memory scorer>",
            "clustering": "DESOM self-organising map" if clustering == "som" else "DEC",
        }
    )
    if isinstance(model, str):
        out.attrs["training_data"] = models.card(model).training_data
    return out
