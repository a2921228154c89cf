"""The DRAIN U-Net: rain rate, probability of precipitation and quantiles from GMI images.

DRAIN (Viltard et al. 2023, arXiv:2303.01220) treats the GMI 37 V/H and 89 V/H brightness
temperatures like the colour channels of an image and trains a U-Net on DPR near-surface rain
where the DPR swath lies inside the GMI swath. :class:`DrainUNet` follows that design (a U-Net
on the 4 channels, or on all 13 GMI channels for the ``drain-13ch`` variant) and goes beyond it
with three heads on the last decoder level:

- ``surface_precip``: the conditional mean rain rate in mm/h, made non-negative by a softplus;
- ``probability_of_precip``: the probability that rain >= 0.1 mm/h (a logit, squashed by a
  sigmoid at inference);
- ``surface_precip_quantile``: quantiles of rain (default 0.05, 0.25, 0.5, 0.75, 0.95).

Rain has an atom at zero (over 80 % of the pixels the radar sees are dry), so the quantile head
is *zero-inflated* by default (``quantile_head="zero_inflated"``): the network predicts the
quantiles of rain *given rain* (``>= rain_threshold``) at fixed levels ``conditional_levels``
(``rain_threshold`` plus cumulative sums of softplus increments: never below the threshold,
never crossing), and the quantile of the mixture at level ``tau`` follows from the probability
of precipitation ``p``::

    q_tau = 0                                            if tau <= 1 - p
    q_tau = Q_rain((tau - (1 - p)) / p)                  otherwise

with ``Q_rain`` the conditional quantile function, linear between the levels (and
``Q_rain(0) = rain_threshold``, flat above the last level). The head can therefore output
exactly 0, and the quantiles are calibrated when ``p`` and ``Q_rain`` are. The conditional
quantiles are trained with the pinball loss on the rainy pixels only, which also balances the
rain / no-rain imbalance for this head. ``quantile_head="cumulative"`` is the first, direct
head (cumulative softplus sums at the nominal levels, never exactly 0), kept to read old
weights.

The width and depth are xgpm's choices (the paper's exact hyper-parameters are not public in a
form we could copy): 3 poolings (divisibility 8, receptive margin 51 pixels) and 24 base
channels give 1.09 M parameters (4.4 MB of float32 weights); a full GMI orbit runs in seconds
on 2 CPU cores.

Tiling needs to know how far an output pixel "sees": :func:`receptive_margin` computes the
exact one-sided receptive margin of the architecture (in input pixels) by interval arithmetic
through every convolution, pooling and transposed convolution. The network uses only local
operations (convolutions, BatchNorm with running statistics in eval mode, max-pooling,
transposed convolutions), so an output pixel depends on input pixels within that margin only.
A per-image normalisation (GroupNorm, InstanceNorm) would break that and is deliberately absent.

The U-Net trunk and :func:`receptive_margin` live in :mod:`xgpm.models.blocks`, shared with the
to_gmi generators (:class:`xgpm.translate.networks.TBGenerator`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from xgpm.errors import InvalidArgumentError
from xgpm.models.blocks import UNetTrunk, receptive_margin, unet_widths

__all__ = [
    "DrainUNet",
    "TrainResult",
    "drain_loss",
    "pinball_loss",
    "receptive_margin",
    "train_drain",
    "DEFAULT_QUANTILES",
    "DEFAULT_CONDITIONAL_LEVELS",
    "QUANTILE_HEADS",
    "RAIN_THRESHOLD",
    "mixture_quantiles",
]

#: Quantiles predicted by default.
DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Rain / no-rain threshold (mm/h) of the probability-of-precipitation head (SatRain's).
RAIN_THRESHOLD = 0.1
#: Levels of the conditional (rain >= threshold) quantiles of the zero-inflated head.
DEFAULT_CONDITIONAL_LEVELS: tuple[float, ...] = (
    *(round(0.05 * k, 2) for k in range(1, 20)),
    0.98,
)
#: Kinds of quantile head (see the module docstring).
QUANTILE_HEADS = ("zero_inflated", "cumulative")


def _check_levels(levels: Sequence[float], what: str) -> tuple[float, ...]:
    levels = tuple(float(q) for q in levels)
    if (
        not levels
        or any(not 0.0 < q < 1.0 for q in levels)
        or any(b <= a for a, b in zip(levels[:-1], levels[1:], strict=True))
    ):
        raise InvalidArgumentError(
            f"DrainUNet: {what} must be strictly increasing in (0, 1), got {levels}"
        )
    return levels


def mixture_quantiles(
    probability: torch.Tensor,
    conditional: torch.Tensor,
    conditional_levels: Sequence[float],
    quantiles: Sequence[float],
    rain_threshold: float = RAIN_THRESHOLD,
) -> torch.Tensor:
    """Quantiles of a zero-inflated rain distribution from P(rain) and conditional quantiles.

    Parameters
    ----------
    probability : Tensor (B, H, W)
        Probability ``p`` that rain >= ``rain_threshold``.
    conditional : Tensor (B, K, H, W)
        Quantiles of rain given rain >= ``rain_threshold`` at ``conditional_levels``
        (non-decreasing along K, >= ``rain_threshold``).
    conditional_levels : sequence of float
        The K increasing levels in (0, 1).
    quantiles : sequence of float
        Levels ``tau`` of the mixture quantiles wanted.
    rain_threshold : float
        Lower end of the conditional distribution: ``Q_rain(0)``.

    Returns
    -------
    Tensor (B, Q, H, W)
        ``0`` where ``tau <= 1 - p``, else ``Q_rain((tau - (1 - p)) / p)`` with ``Q_rain``
        linear between ``(0, rain_threshold)`` and the conditional levels, flat above the
        last level.
    """
    levels = torch.as_tensor(
        (0.0, *conditional_levels), dtype=conditional.dtype, device=conditional.device
    )
    floor = torch.full_like(conditional[:, :1], float(rain_threshold))
    values = torch.cat([floor, conditional], dim=1)  # (B, K + 1, H, W)
    p = probability.clamp(min=1e-12)
    out = []
    for tau in quantiles:
        u = 1.0 - (1.0 - float(tau)) / p  # level within the rain distribution
        upper = torch.searchsorted(levels, u.contiguous(), right=False).clamp(1, len(levels) - 1)
        lower = upper - 1
        low_level, high_level = levels[lower], levels[upper]
        weight = ((u - low_level) / (high_level - low_level)).clamp(0.0, 1.0)
        low_value = torch.gather(values, 1, lower[:, None])[:, 0]
        high_value = torch.gather(values, 1, upper[:, None])[:, 0]
        q = low_value + weight * (high_value - low_value)
        out.append(torch.where(u > 0, q, torch.zeros_like(q)))
    return torch.stack(out, dim=1)


class DrainUNet(UNetTrunk):
    """U-Net with mean, probability-of-precipitation and non-crossing quantile heads.

    Parameters
    ----------
    in_channels : int
        Number of input channels (4 for DRAIN's 37V/37H/89V/89H, 13 for all GMI channels).
    base_channels : int
        Feature maps at the first level; doubled at each pooling, capped at ``max_channels``.
    depth : int
        Number of 2x2 max-poolings. Input height and width must be multiples of ``2**depth``
        (see :attr:`divisibility`); the inference engine pads to it.
    quantiles : sequence of float
        Increasing probabilities in (0, 1) of the quantile head.
    convs_per_block : int
        Convolutions per level (2 in the original U-Net).
    kernel_size : int
        Odd convolution kernel size.
    max_channels : int, optional
        Cap on the feature maps per level (keeps deep levels small).
    rain_threshold : float
        Threshold (mm/h) of the probability-of-precipitation head; stored for the losses.
    quantile_head : {"zero_inflated", "cumulative"}
        Zero-inflated mixture quantiles (default; see the module docstring) or the first
        direct head (cumulative softplus sums at ``quantiles``; never exactly 0).
    conditional_levels : sequence of float, optional
        Levels of the conditional quantiles of the zero-inflated head
        (default :data:`DEFAULT_CONDITIONAL_LEVELS`).

    Notes
    -----
    ``forward`` returns the inference output, physical units, stacked on the channel axis:
    ``[surface_precip (mm/h), probability_of_precip (0-1), quantile_1, ..., quantile_n (mm/h)]``.
    ``heads`` returns the raw training outputs (mean in mm/h, probability logit, quantiles).
    """

    def __init__(
        self,
        in_channels: int = 4,
        base_channels: int = 24,
        depth: int = 3,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        convs_per_block: int = 2,
        kernel_size: int = 3,
        max_channels: int | None = 256,
        rain_threshold: float = RAIN_THRESHOLD,
        quantile_head: str = "zero_inflated",
        conditional_levels: Sequence[float] | None = None,
    ):
        super().__init__()
        if depth < 1 or in_channels < 1 or base_channels < 1 or convs_per_block < 1:
            raise InvalidArgumentError(
                "DrainUNet: depth, in_channels, base_channels and convs_per_block must be >= 1"
            )
        if kernel_size % 2 != 1:
            raise InvalidArgumentError(f"DrainUNet: kernel_size must be odd, got {kernel_size}")
        quantiles = _check_levels(quantiles, "quantiles")
        if quantile_head not in QUANTILE_HEADS:
            raise InvalidArgumentError(
                f"DrainUNet: quantile_head must be one of {QUANTILE_HEADS}, got {quantile_head!r}"
            )
        if quantile_head == "zero_inflated":
            conditional_levels = _check_levels(
                DEFAULT_CONDITIONAL_LEVELS if conditional_levels is None else conditional_levels,
                "conditional_levels",
            )
        else:
            conditional_levels = ()
        self.quantile_head = quantile_head
        self.conditional_levels = conditional_levels
        self.in_channels = in_channels
        self.depth = depth
        self.quantiles = quantiles
        self.convs_per_block = convs_per_block
        self.kernel_size = kernel_size
        self.rain_threshold = float(rain_threshold)

        widths = unet_widths(base_channels, depth, max_channels)
        self._build_trunk(in_channels, widths, convs_per_block, kernel_size, batch_norm=True)
        n_raw_quantiles = len(conditional_levels) if conditional_levels else len(quantiles)
        self.head = nn.Conv2d(widths[0], 2 + n_raw_quantiles, 1)

    # -- geometry --------------------------------------------------------------------------
    @property
    def divisibility(self) -> int:
        """Height and width of the input must be multiples of this (``2**depth``)."""
        return 2**self.depth

    @property
    def receptive_margin(self) -> int:
        """One-sided receptive margin in input pixels (see :func:`receptive_margin`)."""
        return receptive_margin(self.depth, self.convs_per_block, self.kernel_size)

    @property
    def n_outputs(self) -> int:
        """Channels of :meth:`forward`'s output: mean, probability, then the quantiles."""
        return 2 + len(self.quantiles)

    # -- forward -----------------------------------------------------------------------------
    def _features(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % self.divisibility or width % self.divisibility:
            raise InvalidArgumentError(
                f"DrainUNet input is {height} x {width}: both must be multiples of "
                f"{self.divisibility} (2**depth); pad first (xgpm.inference does it for you)"
            )
        return self.head(self._trunk(x))

    def heads(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training outputs of a normalised batch ``(B, C, H, W)``.

        Returns
        -------
        dict
            ``mean`` (B, H, W) rain in mm/h (>= 0), ``pop_logit`` (B, H, W) the logit of
            P(rain >= ``rain_threshold``), ``quantiles`` (B, Q, H, W) in mm/h, non-decreasing
            along Q; with the zero-inflated head also ``conditional_quantiles`` (B, K, H, W),
            the quantiles of rain given rain at :attr:`conditional_levels` (what is trained).
        """
        raw = self._features(x)
        mean = F.softplus(raw[:, 0])
        pop_logit = raw[:, 1]
        # Non-crossing by construction: q_k = softplus(r_0) + ... + softplus(r_k).
        increments = torch.cumsum(F.softplus(raw[:, 2:]), dim=1)
        if self.quantile_head == "cumulative":
            return {"mean": mean, "pop_logit": pop_logit, "quantiles": increments}
        conditional = self.rain_threshold + increments
        quantiles = mixture_quantiles(
            torch.sigmoid(pop_logit),
            conditional,
            self.conditional_levels,
            self.quantiles,
            self.rain_threshold,
        )
        return {
            "mean": mean,
            "pop_logit": pop_logit,
            "quantiles": quantiles,
            "conditional_quantiles": conditional,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Inference output ``(B, 2 + Q, H, W)``: mean (mm/h), probability, quantiles (mm/h)."""
        out = self.heads(x)
        return torch.cat(
            [out["mean"][:, None], torch.sigmoid(out["pop_logit"])[:, None], out["quantiles"]],
            dim=1,
        )


# ------------------------------------------------------------------------------------------
# losses
# ------------------------------------------------------------------------------------------


def pinball_loss(
    quantiles: torch.Tensor, target: torch.Tensor, probabilities: Sequence[float]
) -> torch.Tensor:
    """Mean pinball (quantile) loss.

    Parameters
    ----------
    quantiles : Tensor (N, Q)
        Predicted quantiles.
    target : Tensor (N,)
        Observed values.
    probabilities : sequence of float
        The Q probabilities tau.

    Returns
    -------
    Tensor
        ``mean over N and Q of max(tau (y - q), (tau - 1) (y - q))``.
    """
    tau = torch.as_tensor(probabilities, dtype=quantiles.dtype, device=quantiles.device)
    diff = target[:, None] - quantiles
    return torch.maximum(tau * diff, (tau - 1.0) * diff).mean()


def drain_loss(
    outputs: Mapping[str, torch.Tensor],
    target: torch.Tensor,
    *,
    quantiles: Sequence[float],
    rain_threshold: float = RAIN_THRESHOLD,
    mean_loss: str = "mse",
    huber_delta: float = 5.0,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
    conditional_levels: Sequence[float] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of the three heads where the radar saw (finite ``target``).

    Parameters
    ----------
    outputs : mapping
        :meth:`DrainUNet.heads` output.
    target : Tensor (B, H, W)
        Reference rain (mm/h); NaN where the radar did not see (outside the DPR swath).
    quantiles : sequence of float
        Probabilities of the quantile head.
    rain_threshold : float
        Rain / no-rain threshold (mm/h) of the probability head.
    mean_loss : {"mse", "huber"}
        Loss of the mean head (MSE targets the conditional mean; Huber is more robust).
    huber_delta : float
        Huber transition (mm/h).
    weights : (float, float, float)
        Weights of the mean, probability (BCE) and quantile (pinball) terms.
    conditional_levels : sequence of float, optional
        Levels of ``outputs["conditional_quantiles"]`` (the zero-inflated head). When that key
        is present the quantile term is the pinball loss of the conditional quantiles over the
        pixels with rain >= ``rain_threshold`` only (0 if there is none); otherwise it is the
        pinball loss of ``outputs["quantiles"]`` at ``quantiles`` over every seen pixel.

    Returns
    -------
    loss : Tensor
        Weighted sum (0 if no target pixel is finite).
    parts : dict
        The three terms as floats (``mean``, ``pop``, ``quantile``).
    """
    seen = torch.isfinite(target)
    if not bool(seen.any()):
        zero = outputs["mean"].sum() * 0.0
        return zero, {"mean": 0.0, "pop": 0.0, "quantile": 0.0}
    truth = target[seen]
    mean = outputs["mean"][seen]
    if mean_loss == "mse":
        loss_mean = F.mse_loss(mean, truth)
    elif mean_loss == "huber":
        loss_mean = F.huber_loss(mean, truth, delta=huber_delta)
    else:
        raise InvalidArgumentError(f"mean_loss must be 'mse' or 'huber', got {mean_loss!r}")
    loss_pop = F.binary_cross_entropy_with_logits(
        outputs["pop_logit"][seen], (truth >= rain_threshold).to(truth.dtype)
    )
    if "conditional_quantiles" in outputs:
        if conditional_levels is None:
            raise InvalidArgumentError(
                "drain_loss: outputs hold conditional_quantiles; pass conditional_levels"
            )
        wet = seen & (target >= rain_threshold)
        if bool(wet.any()):
            conditional = outputs["conditional_quantiles"].permute(0, 2, 3, 1)[wet]  # (N, K)
            loss_quantile = pinball_loss(conditional, target[wet], conditional_levels)
        else:
            loss_quantile = outputs["conditional_quantiles"].sum() * 0.0
    else:
        predicted_quantiles = outputs["quantiles"].permute(0, 2, 3, 1)[seen]  # (N, Q)
        loss_quantile = pinball_loss(predicted_quantiles, truth, quantiles)
    w_mean, w_pop, w_quantile = weights
    total = w_mean * loss_mean + w_pop * loss_pop + w_quantile * loss_quantile
    parts = {
        "mean": float(loss_mean.detach()),
        "pop": float(loss_pop.detach()),
        "quantile": float(loss_quantile.detach()),
    }
    return total, parts


# ------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What :func:`train_drain` returns.

    Attributes
    ----------
    model : DrainUNet
        The trained network, in eval mode, on the CPU.
    normalisation : dict
        ``{"mean": [...], "std": [...]}`` per input channel, to store in the model card.
    history : list of dict
        One entry per epoch: ``epoch``, ``loss`` (mean over batches), ``mean``, ``pop``,
        ``quantile`` (the mean terms), ``steps``.
    """

    model: DrainUNet
    normalisation: dict[str, list[float]]
    history: list[dict[str, float]] = field(default_factory=list)

    def card_updates(self) -> dict[str, Any]:
        """Card fields to pass to :func:`xgpm.models.save`."""
        return {"inputs": {"normalisation": self.normalisation}}


class _ArrayPairs(torch.utils.data.Dataset):
    def __init__(self, tb: np.ndarray, rain: np.ndarray):
        self.tb = torch.as_tensor(np.asarray(tb, dtype=np.float32))
        self.rain = torch.as_tensor(np.asarray(rain, dtype=np.float32))

    def __len__(self) -> int:
        return self.tb.shape[0]

    def __getitem__(self, index: int):
        return self.tb[index], self.rain[index]


def _as_loader(data: Any, batch_size: int, seed: int) -> tuple[Any, tuple | None]:
    """A DataLoader of (tb (B, C, H, W), rain (B, H, W)), and the arrays when given arrays."""
    if isinstance(data, torch.utils.data.DataLoader):
        return data, None
    if isinstance(data, torch.utils.data.Dataset):
        generator = torch.Generator().manual_seed(seed)
        return torch.utils.data.DataLoader(
            data, batch_size=batch_size, shuffle=True, generator=generator
        ), None
    if isinstance(data, tuple | list) and len(data) == 2:
        tb, rain = (np.asarray(a, dtype=np.float32) for a in data)
        if tb.ndim != 4 or rain.ndim != 3 or tb.shape[:1] + tb.shape[2:] != rain.shape:
            raise InvalidArgumentError(
                "train_drain: data=(tb, rain) needs tb of shape (N, C, H, W) and rain of shape "
                f"(N, H, W); got {tb.shape} and {rain.shape}"
            )
        generator = torch.Generator().manual_seed(seed)
        loader = torch.utils.data.DataLoader(
            _ArrayPairs(tb, rain), batch_size=batch_size, shuffle=True, generator=generator
        )
        return loader, (tb, rain)
    raise InvalidArgumentError(
        "train_drain: data must be a (tb, rain) pair of arrays, a torch Dataset or a DataLoader "
        f"yielding (tb, rain) batches; got {type(data).__name__}"
    )


def _channel_stats(batches: Iterable[tuple[Any, Any]], max_batches: int = 50) -> dict:
    total = total_sq = count = None
    for i, (tb, _) in enumerate(batches):
        if i >= max_batches:
            break
        tb = torch.as_tensor(tb, dtype=torch.float64).transpose(0, 1).reshape(tb.shape[1], -1)
        finite = torch.isfinite(tb)
        values = torch.where(finite, tb, torch.zeros_like(tb))
        s, s2, n = values.sum(1), (values**2).sum(1), finite.sum(1)
        total = s if total is None else total + s
        total_sq = s2 if total_sq is None else total_sq + s2
        count = n if count is None else count + n
    if count is None or bool((count == 0).any()):
        raise InvalidArgumentError("train_drain: a channel has no finite brightness temperature")
    mean = total / count
    std = torch.sqrt(torch.clamp(total_sq / count - mean**2, min=1e-12))
    return {"mean": mean.tolist(), "std": std.tolist()}


def _pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, height, width


def train_drain(
    data: Any,
    *,
    model: DrainUNet | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    normalisation: Mapping[str, Sequence[float]] | None = None,
    epochs: int = 10,
    batch_size: int = 8,
    learning_rate: float = 1e-3,
    weight_decay: float = 0.0,
    mean_loss: str = "mse",
    loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[dict[str, float]], None] | None = None,
    schedule: str = "cosine",
    max_minutes: float | None = None,
    augment: bool = False,
) -> TrainResult:
    """Train a :class:`DrainUNet` on (brightness temperature, reference rain) scenes.

    Parameters
    ----------
    data : (tb, rain) arrays, torch Dataset or DataLoader
        ``tb`` (N, C, H, W) brightness temperatures in K (NaN allowed: filled with the channel
        mean), ``rain`` (N, H, W) reference rain in mm/h, NaN where the radar did not see.
        A Dataset/DataLoader yields such pairs (per sample or per batch).
    model : DrainUNet, optional
        Network to train further; a new one from ``model_kwargs`` otherwise.
    model_kwargs : mapping, optional
        :class:`DrainUNet` arguments (``in_channels`` defaults to C).
    normalisation : mapping, optional
        ``{"mean": [...], "std": [...]}`` per channel; computed from ``data`` if not given.
    epochs, batch_size, learning_rate, weight_decay : training settings (Adam optimiser).
    mean_loss : {"mse", "huber"}
        Loss of the mean head.
    loss_weights : (float, float, float)
        Weights of the mean, probability and quantile terms.
    device : str or torch.device, optional
        ``"cuda"`` when available, else ``"cpu"``.
    seed : int
        Seed of the initialisation and of the batch order.
    progress : bool
        Show a tqdm progress bar over the training steps.
    callback : callable, optional
        Called with each epoch's history entry.
    schedule : {"cosine", "constant"}
        Learning rate schedule: ``"cosine"`` decays it from ``learning_rate`` to 0 over the
        run, where the run's progress is the larger of the fraction of steps done and the
        fraction of ``max_minutes`` spent (so a time-capped run still ends at a small rate).
    max_minutes : float, optional
        Wall-clock budget: training stops after the first step past it (the history then
        holds the epochs begun, the last one possibly partial).
    augment : bool
        Flip each batch at random along either image axis (a conically scanning radiometer
        has the same view geometry across its swath, and the orbit direction is arbitrary).

    Returns
    -------
    TrainResult
        The model (eval mode, on CPU), the normalisation and the per-epoch losses. Save it with
        ``xgpm.models.save(name, result.model, result.card_updates())``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> tb = rng.normal(250, 20, (4, 4, 16, 16)).astype("float32")
    >>> rain = np.clip(270 - tb[:, 2], 0, None) / 10
    >>> result = train_drain((tb, rain), model_kwargs={"base_channels": 4, "depth": 2},
    ...                      epochs=2, progress=False)
    >>> len(result.history)
    2
    """
    import math
    import time

    from tqdm.auto import tqdm

    if schedule not in ("cosine", "constant"):
        raise InvalidArgumentError(
            f"train_drain: schedule must be 'cosine' or 'constant', got {schedule!r}"
        )
    if max_minutes is not None and not max_minutes > 0:
        raise InvalidArgumentError(f"train_drain: max_minutes must be > 0, got {max_minutes}")
    torch.manual_seed(seed)
    flips = torch.Generator().manual_seed(seed + 1)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    loader, arrays = _as_loader(data, batch_size, seed)
    if normalisation is None:
        normalisation = _channel_stats(loader)
    mean = torch.as_tensor(normalisation["mean"], dtype=torch.float32, device=device)
    std = torch.as_tensor(normalisation["std"], dtype=torch.float32, device=device)
    if model is None:
        kwargs = dict(model_kwargs or {})
        kwargs.setdefault("in_channels", int(mean.numel()))
        model = DrainUNet(**kwargs)
    if model.in_channels != mean.numel():
        raise InvalidArgumentError(
            f"train_drain: the model takes {model.in_channels} channels but the normalisation "
            f"has {mean.numel()}"
        )
    model = model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    history: list[dict[str, float]] = []
    try:
        n_steps = epochs * len(loader)
    except TypeError:  # an iterable-style loader has no length
        n_steps = None
    start = time.perf_counter()
    budget_s = None if max_minutes is None else 60.0 * max_minutes
    done = 0
    time_up = False

    def progress_fraction() -> float:
        fractions = [0.0]
        if n_steps:
            fractions.append(done / n_steps)
        if budget_s is not None:
            fractions.append((time.perf_counter() - start) / budget_s)
        return min(max(fractions), 1.0)

    with tqdm(total=n_steps, desc="train_drain", unit="step", disable=not progress) as bar:
        for epoch in range(epochs):
            model.train()
            sums = {"loss": 0.0, "mean": 0.0, "pop": 0.0, "quantile": 0.0}
            steps = 0
            for tb, rain in loader:
                if schedule == "cosine":
                    rate = 0.5 * learning_rate * (1.0 + math.cos(math.pi * progress_fraction()))
                    for group in optimiser.param_groups:
                        group["lr"] = rate
                tb = torch.as_tensor(tb, dtype=torch.float32, device=device)
                rain = torch.as_tensor(rain, dtype=torch.float32, device=device)
                if augment:
                    axes = [a for a in (-2, -1) if bool(torch.rand(1, generator=flips) < 0.5)]
                    if axes:
                        tb, rain = tb.flip(axes), rain.flip(axes)
                x = (tb - mean[:, None, None]) / std[:, None, None]
                x = torch.nan_to_num(x, nan=0.0)  # NaN TB -> channel mean
                x, height, width = _pad_to(x, model.divisibility)
                outputs = {
                    key: value[..., :height, :width] for key, value in model.heads(x).items()
                }
                loss, parts = drain_loss(
                    outputs,
                    rain,
                    quantiles=model.quantiles,
                    rain_threshold=model.rain_threshold,
                    mean_loss=mean_loss,
                    weights=loss_weights,
                    conditional_levels=getattr(model, "conditional_levels", None) or None,
                )
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                steps += 1
                done += 1
                sums["loss"] += float(loss.detach())
                for key, value in parts.items():
                    sums[key] += value
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{float(loss.detach()):.4g}")
                if budget_s is not None and time.perf_counter() - start > budget_s:
                    time_up = True
                    break
            entry = {key: value / max(steps, 1) for key, value in sums.items()}
            entry.update(epoch=epoch, steps=steps)
            history.append(entry)
            if callback is not None:
                callback(entry)
            if time_up:
                break
    model = model.to("cpu").eval()
    clean = {
        "mean": [float(v) for v in normalisation["mean"]],
        "std": [float(v) for v in normalisation["std"]],
    }
    del arrays
    return TrainResult(model=model, normalisation=clean, history=history)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def approx_weights_megabytes(module: nn.Module) -> float:
    """Size of the float32 state dict in MB (parameters and buffers)."""
    n = sum(t.numel() for t in module.state_dict().values())
    return n * 4 / 1e6 if n else 0.0
