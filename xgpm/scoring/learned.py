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
from torch import nn

from xgpm.errors import InvalidArgumentError, InvalidDataError
from xgpm.scoring import clusters as cl

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

#: Channel names, in the order the network reads them (see the module docstring).
INPUT_CHANNELS = (
    "precipitation",
    "precipitationQualityIndex",
    "IRinfluence",
    "MWprecipSource",
    "valid",
)
#: The IMERG variables the scorer reads.
REQUIRED_VARIABLES = INPUT_CHANNELS[:4]
#: Predicted scores, in the order of the score head's outputs.
TARGETS = ("csi_1", "fss_0.5_5")
_GRID_STEP = 0.1


# ------------------------------------------------------------------------------------------
# the network
# ------------------------------------------------------------------------------------------


class ScorerNet(nn.Module):
    """Convolutional autoencoder with a score head and two clusterings of its latent space.

    Parameters
    ----------
    in_channels : int
        Input channels (5, :data:`INPUT_CHANNELS`).
    height, width : int
        Map size in cells (France: 72 x 104); each must be divisible by 8.
    latent_dim : int
        Size of the latent vector.
    base_channels : int
        Channels of the first convolution (doubled twice going down).
    n_targets : int
        Scores predicted (2: :data:`TARGETS`).
    som_shape : (int, int)
        DESOM grid.
    n_dec_clusters : int
        DEC clusters.
    dropout : float
        Dropout on the pooled map statistics during training (2,000 maps overfit easily).

    Notes
    -----
    ``forward(x)`` returns ``(reconstruction, scores, latent)``: the reconstruction of the
    standardised input, the scores in [0, 1] (sigmoid) and the latent vectors. The buffers
    ``som_prototypes``, ``dec_centroids``, ``som_stats``, ``dec_stats`` (per cluster and target:
    :data:`xgpm.scoring.clusters.STAT_NAMES` of the training maps) are filled by
    :func:`fit_clusters` and saved with the weights.
    """

    divisibility = 8
    receptive_margin = 0  # whole maps only: never tiled

    def __init__(
        self,
        in_channels: int = 5,
        height: int = 72,
        width: int = 104,
        latent_dim: int = 16,
        base_channels: int = 8,
        n_targets: int = 2,
        som_shape: Sequence[int] = (3, 4),
        n_dec_clusters: int = 8,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if height % 8 or width % 8:
            raise InvalidArgumentError(
                f"ScorerNet: height and width must be multiples of 8, got {height} x {width}."
            )
        c1, c2, c3 = base_channels, 2 * base_channels, 4 * base_channels
        self.in_channels, self.height, self.width = in_channels, height, width
        self.latent_dim, self.n_targets = latent_dim, n_targets
        self.som_shape = (int(som_shape[0]), int(som_shape[1]))
        self.n_dec_clusters = int(n_dec_clusters)
        self.dropout = float(dropout)
        self._bottom = (c3, height // 8, width // 8)
        flat = c3 * (height // 8) * (width // 8)
        act = nn.LeakyReLU(0.1)
        # stride 2 from the first layer: 10 km detail is not needed to judge a map, and it
        # keeps training on a shared CPU to minutes
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, stride=2, padding=1),
            act,
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            act,
            nn.Conv2d(c2, c3, 3, stride=2, padding=1),
            act,
            nn.Conv2d(c3, c3, 3, padding=1),
            act,
        )
        # A score is an area statistic: the latent reads the conv features pooled over the map
        # (mean and max, few weights, so 2,000 maps do not overfit) plus each input channel's
        # map mean and spread (e.g. the microwave fraction, a strong predictor).
        self.encoder_head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(3 * c3 + 2 * in_channels, latent_dim)
        )
        # Learned where-to-look weights per conv feature (a score depends on where the rain is:
        # e.g. far from a radar the reference underestimates).
        self.spatial_logits = nn.Parameter(torch.zeros(c3, height // 8, width // 8))
        self.decoder_input = nn.Linear(latent_dim, flat)
        self.decoder = nn.Sequential(
            act,
            nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1),
            act,
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
            act,
            nn.ConvTranspose2d(c1, in_channels, 4, stride=2, padding=1),
        )
        self.score_head = nn.Sequential(
            nn.Linear(latent_dim, 32), nn.LeakyReLU(0.1), nn.Linear(32, n_targets)
        )
        n_som = self.som_shape[0] * self.som_shape[1]
        self.register_buffer("som_prototypes", torch.zeros(n_som, latent_dim))
        self.register_buffer("dec_centroids", torch.zeros(self.n_dec_clusters, latent_dim))
        nan = float("nan")
        self.register_buffer("som_stats", torch.full((n_som, n_targets, 4), nan))
        self.register_buffer("dec_stats", torch.full((self.n_dec_clusters, n_targets, 4), nan))
        self.register_buffer("clusters_fitted", torch.zeros((), dtype=torch.bool))
        # Where the score is computed (the reference's verified area, e.g. radar coverage):
        # the map statistics are weighted by it. All ones until set_area().
        self.register_buffer("area", torch.ones(height, width))

    def set_area(self, area: np.ndarray) -> None:
        """Set the verified-area weights ``(height, width)`` (e.g. fraction of maps verified)."""
        area = np.nan_to_num(np.asarray(area, dtype="float32"), nan=0.0).clip(0.0, 1.0)
        if area.shape != tuple(self.area.shape) or not area.sum() > 0:
            raise InvalidArgumentError(
                f"area: expected non-zero weights of shape {tuple(self.area.shape)}, got "
                f"{area.shape}."
            )
        with torch.no_grad():
            self.area.copy_(torch.from_numpy(area))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent vectors ``(batch, latent_dim)`` of standardised inputs."""
        h = self.encoder(x)
        fine = self.area / self.area.sum()
        coarse = nn.functional.avg_pool2d(self.area[None, None], 8)[0, 0]
        inside = (coarse > 0.5).to(h.dtype)
        coarse = coarse / coarse.sum()
        x_mean = (x * fine).sum(dim=(2, 3))
        x_std = ((x - x_mean[:, :, None, None]) ** 2 * fine).sum(dim=(2, 3)).sqrt()
        h_mean = (h * coarse).sum(dim=(2, 3))
        h_max = (h * inside - 1e3 * (1 - inside)).amax(dim=(2, 3))
        logits = self.spatial_logits - 1e3 * (1 - inside)
        attention = torch.softmax(logits.flatten(1), dim=1).view_as(logits)
        h_where = (h * attention).sum(dim=(2, 3))
        return self.encoder_head(torch.cat([h_mean, h_max, h_where, x_mean, x_std], dim=1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstructed standardised inputs from latent vectors."""
        return self.decoder(self.decoder_input(z).view(-1, *self._bottom))

    def scores(self, z: torch.Tensor) -> torch.Tensor:
        """Predicted scores in [0, 1], ``(batch, n_targets)``."""
        return torch.sigmoid(self.score_head(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reconstruction, scores, latent)`` of standardised inputs ``(batch, 5, h, w)``."""
        z = self.encode(x)
        return self.decode(z), self.scores(z), z


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------------------------------------
# inputs and targets
# ------------------------------------------------------------------------------------------


def check_imerg(ds: Any, what: str = "ds") -> None:
    """Raise a clear error unless ``ds`` is an IMERG Dataset the scorer can read.

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Not a Dataset, missing one of :data:`REQUIRED_VARIABLES`, no ``(time, lat, lon)`` dims,
        or not a 0.1 deg grid.
    """
    if not isinstance(ds, xr.Dataset):
        raise InvalidArgumentError(
            f"{what}: expected an IMERG xarray.Dataset (time, lat, lon) with "
            f"{list(REQUIRED_VARIABLES)}, got {type(ds).__name__}."
        )
    missing = [v for v in REQUIRED_VARIABLES if v not in ds.data_vars]
    if missing:
        raise InvalidArgumentError(
            f"{what}: the learned scorer needs the IMERG variables {list(REQUIRED_VARIABLES)}; "
            f"missing {missing}. Open the granules with all variables (xgpm.open_granules(...) "
            "without a variable selection)."
        )
    for name in REQUIRED_VARIABLES:
        if ds[name].dtype.kind not in "fiu":
            raise InvalidArgumentError(
                f"{what}[{name!r}] has dtype {ds[name].dtype}; the scorer needs numbers."
            )
        dims = set(ds[name].dims)
        if not {"lat", "lon"} <= dims or not dims <= {"time", "lat", "lon"}:
            raise InvalidArgumentError(
                f"{what}[{name!r}]: expected dims (time, lat, lon), got {ds[name].dims}."
            )
    for dim in ("lat", "lon"):
        if dim not in ds.coords or ds.sizes[dim] < 2:
            raise InvalidArgumentError(f"{what}: needs a {dim!r} coordinate with >= 2 cells.")
        if ds[dim].dtype.kind not in "fiu":
            raise InvalidArgumentError(
                f"{what}[{dim!r}] has dtype {ds[dim].dtype}; it must be numbers (degrees)."
            )
        step = np.diff(np.asarray(ds[dim].values, dtype="float64"))
        if np.allclose(step, -_GRID_STEP, atol=2e-3):
            raise InvalidArgumentError(
                f"{what}: {dim!r} is descending; sort it first (ds.sortby({dim!r}))."
            )
        if not np.allclose(step, _GRID_STEP, atol=2e-3):
            raise InvalidArgumentError(
                f"{what}: the learned scorer works on IMERG's 0.1 deg grid; {dim!r} steps are "
                f"{np.unique(step.round(4))[:5]}. Do not regrid IMERG before scoring."
            )
    if "time" in ds.dims and ds.sizes["time"] == 0:
        raise InvalidArgumentError(
            f"{what}: no map to score (time has length 0); select some half hours."
        )


def _crop_to_grid(ds: xr.Dataset, grid: dict[str, Any], what: str) -> xr.Dataset:
    lat0, lon0 = float(grid["lat_first"]), float(grid["lon_first"])
    ny, nx = int(grid["height"]), int(grid["width"])
    lat = np.asarray(ds["lat"].values, dtype="float64")
    lon = np.asarray(ds["lon"].values, dtype="float64")
    i = np.flatnonzero(np.abs(lat - lat0) < 0.02)
    j = np.flatnonzero(np.abs(lon - lon0) < 0.02)
    if not i.size or not j.size or i[0] + ny > lat.size or j[0] + nx > lon.size:
        raise InvalidArgumentError(
            f"{what}: the scorer was trained on a {ny} x {nx} grid of 0.1 deg from lat "
            f"{lat0:.2f}, lon {lon0:.2f} (the card's grid); this map spans lat "
            f"{lat.min():.2f}..{lat.max():.2f}, lon {lon.min():.2f}..{lon.max():.2f} and does "
            "not contain it. Train a scorer for this domain (`xgpm train scorer`)."
        )
    return ds.isel(lat=slice(i[0], i[0] + ny), lon=slice(j[0], j[0] + nx))


#: Plausible ranges of the scorer's IMERG inputs; finite values outside them are refused
#: (undecoded fill values such as -9999.9 would otherwise be clipped to 0 silently).
_INPUT_RANGES = {
    "precipitation": (0.0, np.inf, "mm/h"),
    "precipitationQualityIndex": (0.0, 1.0, ""),
    "IRinfluence": (0.0, 100.0, "%"),
}


def _check_input_values(name: str, values: np.ndarray) -> None:
    """Raise :class:`InvalidDataError` on finite ``values`` outside ``name``'s range."""
    low, high, units = _INPUT_RANGES[name]
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(values) & ((values < low) | (values > high))
    n = int(bad.sum())
    if not n:
        return
    found = values[bad]
    fill = bool(np.any(np.abs(found) >= 999))
    hint = (
        "they look like fill values that were not decoded: set them to NaN "
        f"(ds[{name!r}].where(ds[{name!r}] >= 0)) or open the granules with xgpm.open_granules"
        if fill
        else "check the variable's units and decoding"
    )
    what = (
        f"{n} negative value(s)"
        if np.isinf(high)
        else f"{n} value(s) outside [{low:g}, {high:g}]{' ' + units if units else ''}"
    )
    raise InvalidDataError(
        f"ds[{name!r}]: {what} (from {float(found.min()):g} to {float(found.max()):g}); {hint}."
    )


def _features_numpy(
    precip: np.ndarray, quality: np.ndarray, ir: np.ndarray, source: np.ndarray
) -> np.ndarray:
    """Stack the raw input channels: (..., lat, lon) -> (..., 5, lat, lon), float32.

    Raises :class:`~xgpm.errors.InvalidDataError` on implausible inputs (inside the dask
    graph for dask input: the error comes from ``.compute()``).
    """
    for name, values in (
        ("precipitation", precip),
        ("precipitationQualityIndex", quality),
        ("IRinfluence", ir),
    ):
        _check_input_values(name, np.asarray(values))
    valid = np.isfinite(precip)
    channels = [
        np.log1p(np.clip(np.where(valid, precip, 0.0), 0.0, None)),
        np.nan_to_num(quality, nan=0.0),
        np.nan_to_num(ir, nan=0.0) / 100.0,
        (np.nan_to_num(source, nan=0.0) > 0).astype("float64"),
        valid.astype("float64"),
    ]
    return np.stack(channels, axis=-3).astype("float32")


def imerg_features(ds: xr.Dataset) -> xr.DataArray:
    """The raw (unstandardised) input channels of each map, ``(time, channel, lat, lon)``.

    Lazy for dask-backed input.
    """
    check_imerg(ds)
    # one chunk per map: the network sees whole maps (chunk along time only)
    args = [
        ds[v].chunk({"lat": -1, "lon": -1}) if ds[v].chunks is not None else ds[v]
        for v in REQUIRED_VARIABLES
    ]
    out = xr.apply_ufunc(
        _features_numpy,
        *args,
        input_core_dims=[["lat", "lon"]] * 4,
        output_core_dims=[["channel", "lat", "lon"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"channel": len(INPUT_CHANNELS)}},
    )
    return out.assign_coords(channel=list(INPUT_CHANNELS))


def target_table(
    forecast: xr.DataArray,
    reference: xr.DataArray,
    *,
    csi_threshold: float = 1.0,
    fss_threshold: float = 0.5,
    fss_scale: int = 5,
    min_events: int = 20,
) -> xr.Dataset:
    """True per-map scores (``csi_1``, ``fss_0.5_5``) with undefined ones set to NaN.

    Scores come from :func:`xgpm.verify.score`. A score is kept only where at least
    ``min_events`` verified cells (both fields finite) are events (``>=`` the threshold) in the
    forecast or in the reference; ``n_events_<target>`` counts them.
    """
    import xgpm.verify as xv
    from xgpm.scoring.baseline import target_scores

    if int(min_events) < 1:
        raise InvalidArgumentError(f"min_events: must be >= 1, got {min_events!r}.")
    scores = xv.score(
        forecast,
        reference,
        thresholds=sorted({csi_threshold, fss_threshold}),
        scales=[fss_scale],
        metrics=["csi", "fss"],
    )
    targets = target_scores(
        scores, csi_threshold=csi_threshold, fss_threshold=fss_threshold, fss_scale=fss_scale
    ).compute()
    verified = forecast.notnull() & reference.notnull()
    spatial = [d for d in forecast.dims if d != "time"]
    for name, threshold in zip(targets.data_vars, (csi_threshold, fss_threshold), strict=True):
        events = (((forecast >= threshold) | (reference >= threshold)) & verified).sum(spatial)
        events = events.compute()
        targets[f"n_events_{name}"] = events.drop_vars(
            [c for c in events.coords if c not in events.dims]
        )
        targets[name] = targets[name].where(events.values >= min_events)
    targets.attrs["min_events"] = int(min_events)
    return targets


# ------------------------------------------------------------------------------------------
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
                "name": "xgpm.scoring.learned:ScorerNet",
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
