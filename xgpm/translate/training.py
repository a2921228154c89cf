"""Training CycleGAN_R and Red-GAN: the shared loop helper and the adversarial trainer.

``_Run`` is what every trainer's loop does besides its losses (learning-rate schedule fraction,
history, progress bar, validation-based selection of the step kept); :class:`CycleGANResult` is
what every trainer returns. :func:`train_cyclegan` trains CycleGAN_R or Red-GAN on unpaired
tiles, :func:`fine_tune` refines a result on a few radar pairs. Stage 1
(:func:`xgpm.translate.sharpening.train_sharpening`) and DANN (:mod:`xgpm.translate.dann`) use
the same loop helper.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from xgpm.errors import InvalidArgumentError
from xgpm.translate.channel_map import (
    _nedt,
    channel_similarity,
    footprint_blur_sigmas,
    nearest_channel_map,
)
from xgpm.translate.losses import _Drain, _low_frequency_loss, rain_consistency_loss
from xgpm.translate.networks import FootprintInverse, PatchDiscriminator, TBGenerator

__all__ = ["CycleGANResult", "DEFAULT_LOSS_WEIGHTS", "fine_tune", "set_threads", "train_cyclegan"]

#: Default loss weights of :func:`train_cyclegan`.
DEFAULT_LOSS_WEIGHTS: dict[str, float] = {
    "adversarial": 1.0,
    "cycle": 10.0,
    "low_frequency": 5.0,
    "rain": 5.0,
}


def set_threads(n: int | None) -> None:
    """Torch CPU threads for training (1 by default in the CLI: the machine is shared)."""
    if n is not None and n > 0:
        torch.set_num_threads(int(n))


class _BestState:
    """Validation-based checkpoint selection: keeps the generator state that scored lowest.

    A TB translator trained on simulated degradations keeps lowering its training loss long
    after its skill on real source scenes has peaked (it specialises to the exact degradation
    it is shown), so the step to keep is chosen on held-out scenes, not by the loss.
    """

    def __init__(self, validation: Callable[[nn.Module], float] | None, every: int):
        if validation is not None and int(every) < 1:
            raise InvalidArgumentError(f"validate_every must be >= 1, got {every}")
        self.validation, self.every = validation, int(every)
        self.best: tuple[float, int] | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.scores: list[tuple[int, float]] = []

    def check(self, step: int, generator: nn.Module, entry: dict[str, float], last: bool) -> None:
        if self.validation is None or not ((step + 1) % self.every == 0 or last):
            return
        if self.scores and self.scores[-1][0] == step:
            return
        score = float(self.validation(generator))
        if not math.isfinite(score):
            raise InvalidArgumentError(f"validation returned {score} at step {step}")
        entry["validation"] = score
        self.scores.append((step, score))
        if self.best is None or score < self.best[0]:
            self.best = (score, step)
            self.state = {k: v.detach().clone() for k, v in generator.state_dict().items()}

    def restore(self, generator: nn.Module) -> dict[str, Any] | None:
        """Load the best state into ``generator``; the selection record (None: no validation)."""
        if self.state is None or self.best is None:
            return None
        generator.load_state_dict(self.state)
        return {
            "best_step": self.best[1],
            "best_score": self.best[0],
            "scores": [[s, v] for s, v in self.scores],
        }


#: The losses of a history entry (0 where a trainer has no such term).
_LOSSES = ("generator", "adversarial", "cycle", "low_frequency", "rain", "discriminator")


class _Run:
    """What every trainer's loop does besides its losses: schedule, history, progress, selection.

    ``fraction(step)`` is how far the run is through its schedule (steps or the time budget,
    whichever is further, in [0, 1]); ``record(...)`` writes a step's history entry, scores the
    validation when due, reports progress, and says whether this was the last step.
    """

    def __init__(
        self,
        name: str,
        steps: int,
        max_minutes: float | None,
        *,
        progress: bool,
        callback: Callable[[dict[str, float]], None] | None,
        validation: Callable[[TBGenerator], float] | None,
        validate_every: int,
    ):
        from tqdm.auto import tqdm

        self.steps = int(steps)
        self.budget = None if max_minutes is None else 60.0 * float(max_minutes)
        self.keeper = _BestState(validation, validate_every)
        self.callback = callback
        self.history: list[dict[str, float]] = []
        # a time-budgeted run has no meaningful step total (its steps= is a cap)
        total = None if self.budget else self.steps
        self.bar = tqdm(total=total, desc=f"train {name}", unit="step", disable=not progress)
        self.start = time.perf_counter()

    def fraction(self, step: int) -> float:
        by_time = (time.perf_counter() - self.start) / self.budget if self.budget else 0.0
        return min(1.0, max(step / max(self.steps, 1), by_time))

    def record(
        self, step: int, model: nn.Module, postfix: Sequence[str] = ("cycle",), **losses: float
    ) -> bool:
        entry = {"step": step, **dict.fromkeys(_LOSSES, 0.0), **losses}
        entry["seconds"] = time.perf_counter() - self.start
        last = step == self.steps - 1 or (
            self.budget is not None and entry["seconds"] > self.budget
        )
        self.keeper.check(step, model, entry, last)
        self.history.append(entry)
        if self.callback is not None:
            self.callback(entry)
        self.bar.update(1)
        self.bar.set_postfix({key: f"{entry[key]:.3f}" for key in postfix})
        return last

    def finish(self, generator: nn.Module) -> dict[str, Any] | None:
        """Close the progress bar; load the best-validated state (its record, or None)."""
        self.bar.close()
        return self.keeper.restore(generator)


@dataclass
class CycleGANResult:
    """What :func:`train_cyclegan` returns.

    Attributes
    ----------
    generator : TBGenerator
        ``G``: source -> GMI (eval mode, CPU), with its input normalisation in its buffers.
    inverse : TBGenerator
        ``F``: GMI -> source.
    discriminators : dict
        ``"gmi"`` and ``"source"`` :class:`PatchDiscriminator` (to continue training).
    source_channels, target_channels : tuple of str
    normalisation : dict
        ``{"mean": [...], "std": [...]}`` of the source channels (the card's).
    history : list of dict
        One entry per step: ``step``, ``generator``, ``adversarial``, ``cycle``,
        ``low_frequency``, ``rain``, ``discriminator`` (losses), ``seconds``.
    method : str
    drain_version : str or None
        Version of the DRAIN card used by the rain term.
    selection : dict or None
        With ``validation=``: ``best_step``, ``best_score`` (the generator kept) and
        ``scores`` ([step, score] pairs).
    """

    generator: TBGenerator
    inverse: TBGenerator | FootprintInverse
    discriminators: dict[str, PatchDiscriminator]
    source_channels: tuple[str, ...]
    target_channels: tuple[str, ...]
    normalisation: dict[str, list[float]]
    history: list[dict[str, float]] = field(default_factory=list)
    method: str = "cyclegan_r"
    drain_version: str | None = None
    selection: dict[str, Any] | None = None

    def card_updates(self) -> dict[str, Any]:
        """Card fields: input normalisation and tiling geometry."""
        return {
            "inputs": {"normalisation": self.normalisation},
            "receptive_margin": self.generator.receptive_margin,
            "divisibility": self.generator.divisibility,
        }


def _stats(tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.moveaxis(np.asarray(tiles, dtype=np.float64), 1, 0).reshape(tiles.shape[1], -1)
    mean = np.nanmean(values, axis=1)
    std = np.nanstd(values, axis=1)
    if not np.isfinite(mean).all():
        raise InvalidArgumentError("train_cyclegan: a channel has no finite brightness temperature")
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


def _check_tiles(tiles: Any, n_channels: int, what: str) -> np.ndarray:
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim != 4 or tiles.shape[1] != n_channels or len(tiles) == 0:
        raise InvalidArgumentError(
            f"train_cyclegan: {what} must be tiles (N, {n_channels}, H, W) in K with N >= 1, got "
            f"shape {tiles.shape}"
        )
    return tiles


def _standardise(tiles: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    x = (tiles - mean[None, :, None, None]) / std[None, :, None, None]
    return torch.from_numpy(np.nan_to_num(x, nan=0.0).astype(np.float32))


def _rain_pairs(
    rain_pairs: Any, n_channels: int, mean: np.ndarray, std: np.ndarray
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(standardised source (C, H, W), reference rain (H, W)) tensors, one per scene.

    Accepts ``(tiles (N, C, H, W), rain (N, H, W))`` or a sequence of ``(source (C, H, W),
    rain (H, W))`` pairs of any sizes. NaN source pixels are filled with the channel mean (as
    at inference) and their reference is set to NaN (not scored).
    """
    if isinstance(rain_pairs, tuple) and len(rain_pairs) == 2 and np.ndim(rain_pairs[0]) == 4:
        rain_pairs = list(zip(rain_pairs[0], rain_pairs[1], strict=True))
    out = []
    for item in rain_pairs:
        try:
            tb, rain = item
        except (TypeError, ValueError):
            tb, rain = None, None
        tb = np.asarray(tb, dtype=np.float32) if tb is not None else np.empty(0)
        rain = np.array(rain, dtype=np.float32) if rain is not None else np.empty(0)
        if tb.ndim != 3 or tb.shape[0] != n_channels or rain.shape != tb.shape[1:]:
            raise InvalidArgumentError(
                f"rain_pairs: each pair needs source ({n_channels}, H, W) in K and rain (H, W) "
                f"in mm/h; got {tb.shape} and {rain.shape}"
            )
        rain[~np.isfinite(tb).all(axis=0)] = np.nan
        x = _standardise(tb[None], mean, std)[0]
        out.append((x, torch.from_numpy(rain)))
    if not out:
        raise InvalidArgumentError("rain_pairs is empty")
    return out


def train_cyclegan(
    source: np.ndarray,
    target: np.ndarray,
    *,
    source_channels: Sequence[str],
    target_channels: Sequence[str] | None = None,
    source_sensor: str = "SSMIS-F17",
    method: str = "cyclegan_r",
    rain_pairs: Any = None,
    drain: str | nn.Module = "drain",
    init: CycleGANResult | TBGenerator | None = None,
    generator_kwargs: Mapping[str, Any] | None = None,
    inverse_kind: str = "footprint",
    source_noise: bool = True,
    freeze_inverse: bool | None = None,
    steps: int = 1000,
    max_minutes: float | None = None,
    batch_size: int = 8,
    learning_rate: float = 2e-4,
    loss_weights: Mapping[str, float] | None = None,
    augment: bool = True,
    rain_every: int = 1,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[dict[str, float]], None] | None = None,
    validation: Callable[[TBGenerator], float] | None = None,
    validate_every: int = 500,
) -> CycleGANResult:
    """Train CycleGAN_R (or Red-GAN) on unpaired source and GMI tiles.

    Parameters
    ----------
    source : ndarray (N, C_s, H, W)
        Source brightness temperatures (K) at GMI sampling, channels ``source_channels``.
    target : ndarray (M, C_t, H', W')
        GMI brightness temperatures (K), channels ``target_channels``.
    source_channels : sequence of str
        Labels of the source channels (the card's ``inputs.channels``).
    target_channels : sequence of str, optional
        GMI labels (default the 13 GMI channels).
    source_sensor : str
        Registry sensor of the source (for the nearest-channel mapping).
    method : {"cyclegan_r", "redgan"}
        Red-GAN adds the rain term; it needs ``rain_pairs``.
    rain_pairs : sequence of (ndarray (C_s, H, W), ndarray (H, W)), optional
        Source scenes (K, at GMI sampling, NaN allowed) and the reference rain (mm/h; NaN where
        unknown) on the same pixels, any sizes (multiples of the DRAIN divisibility are best);
        or a pair of stacked arrays ``(N, C_s, H, W)``, ``(N, H, W)``. Each step scores one
        whole scene: DRAIN is run as at inference, on a wide field, not on a small tile whose
        edges would change its rain. Used by ``redgan`` (and by :func:`fine_tune`, with DPR
        rain).
    drain : str or Module
        The frozen rain network (a registered model name; its card gives channels and
        normalisation). Never updated: it is out of every optimiser and in eval mode.
    init : CycleGANResult or TBGenerator, optional
        Continue from these networks: a CycleGANResult is trained further in place (pass a
        copy to keep it); a TBGenerator (``G`` only, e.g. ``xgpm.models.load(name)``) is
        copied first.
    generator_kwargs : mapping, optional
        :class:`TBGenerator` arguments (base_channels, depth ...).
    inverse_kind : {"footprint", "unet"}
        The inverse ``F``: :class:`FootprintInverse` (the default: spectral mapping then the
        footprint blur the registry implies, so the cycle ``G(F(y)) ~ y`` teaches ``G`` to
        sharpen) or a free :class:`TBGenerator` like ``G`` (the original CycleGAN).
    source_noise : bool
        Add the source channels' NEDT (registry) as Gaussian noise to ``F(y)`` before ``G``
        reads it, so that ``G`` learns to sharpen noisy fields as real ones are.
    freeze_inverse : bool, optional
        Keep ``F`` fixed (default: fixed when it is a :class:`FootprintInverse`, the physics).
        ``G`` still learns from both cycles: ``F(G(x)) ~ x`` says that the pseudo-GMI seen
        through the source footprints must give back the real source scene.
    steps : int
        Training steps (one generator and one discriminator update each).
    max_minutes : float, optional
        Wall-clock budget; stops after the first step past it.
    batch_size, learning_rate : training settings (Adam, betas (0.5, 0.999); the learning rate
        decays linearly to 0 over the last half of the run).
    loss_weights : mapping, optional
        Overrides of :data:`DEFAULT_LOSS_WEIGHTS`.
    augment : bool
        Random flips of each batch along both image axes.
    rain_every : int
        Score the rain term every ``rain_every`` steps only (weighted by ``rain_every``): DRAIN
        on a whole scene costs more than the rest of a step.
    device : str, optional
        CUDA when available, else CPU.
    seed : int
    progress : bool
        tqdm progress bar.
    callback : callable, optional
        Called with each step's history entry.
    validation : callable, optional
        ``validation(generator) -> float``, lower is better (e.g.
        :func:`xgpm.translate.train.rain_validation` on held-out source-DPR coincidences):
        scored every ``validate_every`` steps and at the end; the generator returned is the
        best one scored (``result.selection`` says which), not the last.
    validate_every : int

    Returns
    -------
    CycleGANResult
    """
    from xgpm.translate.baselines import GMI_CHANNELS

    if method not in ("cyclegan_r", "redgan"):
        raise InvalidArgumentError(f"method must be 'cyclegan_r' or 'redgan', got {method!r}")
    if method == "redgan" and rain_pairs is None:
        raise InvalidArgumentError(
            "method='redgan' needs rain_pairs=(source tiles, reference rain): see "
            "xgpm.translate.cyclegan.paired_training_fields"
        )
    if max_minutes is not None and not max_minutes > 0:
        raise InvalidArgumentError(f"max_minutes must be > 0, got {max_minutes}")
    if inverse_kind not in ("footprint", "unet"):
        raise InvalidArgumentError(
            f"inverse_kind must be 'footprint' or 'unet', got {inverse_kind!r}"
        )
    if int(rain_every) < 1:
        raise InvalidArgumentError(f"rain_every must be >= 1, got {rain_every}")
    rain_every = int(rain_every)
    source_channels = tuple(str(c) for c in source_channels)
    target_channels = tuple(str(c) for c in (target_channels or GMI_CHANNELS))
    source = _check_tiles(source, len(source_channels), "source")
    target = _check_tiles(target, len(target_channels), "target")
    weights = {**DEFAULT_LOSS_WEIGHTS, **dict(loss_weights or {})}
    unknown = set(weights) - set(DEFAULT_LOSS_WEIGHTS)
    if unknown:
        raise InvalidArgumentError(
            f"unknown loss weights {sorted(unknown)}; known: {sorted(DEFAULT_LOSS_WEIGHTS)}"
        )
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))

    forward_map = nearest_channel_map(source_sensor, source_channels, "GMI", target_channels)
    inverse_map = nearest_channel_map("GMI", target_channels, source_sensor, source_channels)
    kwargs = dict(generator_kwargs or {})
    if isinstance(init, CycleGANResult):
        generator, inverse = init.generator, init.inverse
        discriminators = init.discriminators
        for module in (generator, inverse, *discriminators.values()):
            module.requires_grad_(True)
        s_mean = generator.input_mean.cpu().numpy()
        s_std = generator.input_std.cpu().numpy()
        t_mean = inverse.input_mean.cpu().numpy()
        t_std = inverse.input_std.cpu().numpy()
    else:
        s_mean, s_std = _stats(source)
        t_mean, t_std = _stats(target)
        if isinstance(init, TBGenerator):
            # a copy: a registry model is cached and frozen (requires_grad False)
            generator = copy.deepcopy(init).requires_grad_(True)
            s_mean = generator.input_mean.cpu().numpy()
            s_std = generator.input_std.cpu().numpy()
        else:
            generator = TBGenerator(
                len(source_channels), len(target_channels), forward_map, **kwargs
            )
            generator.set_normalisation(s_mean, s_std)
        if inverse_kind == "footprint":
            sigma = footprint_blur_sigmas(source_sensor, source_channels, "GMI", target_channels)
            inverse = FootprintInverse(
                len(target_channels), len(source_channels), inverse_map, sigma
            )
        else:
            inverse = TBGenerator(len(target_channels), len(source_channels), inverse_map, **kwargs)
        inverse.set_normalisation(t_mean, t_std)
        discriminators = {
            "gmi": PatchDiscriminator(len(target_channels)),
            "source": PatchDiscriminator(len(source_channels)),
        }
    generator.to(device).train()
    inverse.to(device).train()
    for d in discriminators.values():
        d.to(device).train()
    x_all = _standardise(source, s_mean, s_std)
    y_all = _standardise(target, t_mean, t_std)
    t_std_t = torch.as_tensor(t_std, device=device)
    s_std_t = torch.as_tensor(s_std, device=device)
    t_mean_t = torch.as_tensor(t_mean, device=device)
    s_mean_t = torch.as_tensor(s_mean, device=device)
    w_forward = torch.as_tensor(
        channel_similarity(source_sensor, source_channels, "GMI", target_channels), device=device
    )
    w_inverse = torch.as_tensor(
        channel_similarity("GMI", target_channels, source_sensor, source_channels), device=device
    )
    nedt = torch.as_tensor(
        _nedt(source_sensor, source_channels) if source_noise else [0.0] * len(source_channels),
        dtype=torch.float32,
        device=device,
    )
    rain_network = None
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
    if rain_pairs is not None and weights["rain"] > 0:
        pairs = _rain_pairs(rain_pairs, len(source_channels), s_mean, s_std)
        rain_network = _Drain(drain, target_channels, device)

    if freeze_inverse is None:
        freeze_inverse = isinstance(inverse, FootprintInverse)
    inverse.requires_grad_(not freeze_inverse)
    generators_params = list(generator.parameters())
    if not freeze_inverse:
        generators_params += list(inverse.parameters())
    optimiser_g = torch.optim.Adam(generators_params, lr=learning_rate, betas=(0.5, 0.999))
    optimiser_d = torch.optim.Adam(
        [p for d in discriminators.values() for p in d.parameters()],
        lr=learning_rate,
        betas=(0.5, 0.999),
    )

    def batch(data: torch.Tensor, *extra: torch.Tensor) -> list[torch.Tensor]:
        index = torch.as_tensor(rng.integers(0, len(data), batch_size))
        out = [data[index].to(device)] + [e[index].to(device) for e in extra]
        if augment:
            axes = [a for a in (-2, -1) if rng.random() < 0.5]
            if axes:
                out = [t.flip(axes) for t in out]
        return out

    def standardised(kelvin: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        return (kelvin - mean[:, None, None]) / std[:, None, None]

    run = _Run(
        method,
        steps,
        max_minutes,
        progress=progress,
        callback=callback,
        validation=validation,
        validate_every=validate_every,
    )
    try:
        for step in range(steps):
            rate = learning_rate * min(1.0, 2.0 * (1.0 - run.fraction(step)))
            for group in (*optimiser_g.param_groups, *optimiser_d.param_groups):
                group["lr"] = rate
            (x,) = batch(x_all)
            (y,) = batch(y_all)
            # -- generators ------------------------------------------------------------
            fake_y_k = generator(x)
            fake_y = standardised(fake_y_k, t_mean_t, t_std_t)
            rec_x = standardised(inverse(fake_y), s_mean_t, s_std_t)
            fake_x_k = inverse(y)
            if source_noise:
                fake_x_k = fake_x_k + nedt[:, None, None] * torch.randn_like(fake_x_k)
            fake_x = standardised(fake_x_k, s_mean_t, s_std_t)
            rec_y = standardised(generator(fake_x), t_mean_t, t_std_t)
            score_y = discriminators["gmi"](fake_y)
            adversarial = F.mse_loss(score_y, torch.ones_like(score_y))
            if not freeze_inverse:  # a fixed F has nothing to learn from its discriminator
                score_x = discriminators["source"](fake_x)
                adversarial = adversarial + F.mse_loss(score_x, torch.ones_like(score_x))
            cycle = F.l1_loss(rec_x, x) + F.l1_loss(rec_y, y)
            low = _low_frequency_loss(fake_y_k, generator, x, w_forward, t_std_t)
            low = low + _low_frequency_loss(fake_x_k, inverse, y, w_inverse, s_std_t)
            loss_g = (
                weights["adversarial"] * adversarial
                + weights["cycle"] * cycle
                + weights["low_frequency"] * low
            )
            rain_loss = torch.zeros((), device=device)
            if rain_network is not None and step % rain_every == 0:
                xp, rp = pairs[int(rng.integers(len(pairs)))]
                xp, rp = xp[None].to(device), rp[None].to(device)
                if augment:
                    axes = [a for a in (-2, -1) if rng.random() < 0.5]
                    if axes:
                        xp, rp = xp.flip(axes), rp.flip(axes)
                rain_loss = rain_consistency_loss(rain_network(generator(xp)), rp)
                loss_g = loss_g + weights["rain"] * rain_every * rain_loss
            optimiser_g.zero_grad()
            loss_g.backward()
            optimiser_g.step()
            # -- discriminators --------------------------------------------------------
            loss_d = torch.zeros((), device=device)
            if weights["adversarial"] > 0:
                judged = [("gmi", y, fake_y)] + ([] if freeze_inverse else [("source", x, fake_x)])
                for key, real, fake in judged:
                    d = discriminators[key]
                    real_score, fake_score = d(real), d(fake.detach())
                    loss_d = loss_d + 0.5 * (
                        F.mse_loss(real_score, torch.ones_like(real_score))
                        + F.mse_loss(fake_score, torch.zeros_like(fake_score))
                    )
                optimiser_d.zero_grad()
                loss_d.backward()
                optimiser_d.step()
            last = run.record(
                step,
                generator,
                ("cycle", "adversarial", "rain"),
                generator=float(loss_g.detach()),
                adversarial=float(adversarial.detach()),
                cycle=float(cycle.detach()),
                low_frequency=float(low.detach()),
                rain=float(rain_loss.detach()),
                discriminator=float(loss_d.detach()),
            )
            if last:
                break
    finally:
        selection = run.finish(generator)
    for module in (generator, inverse, *discriminators.values()):
        module.to("cpu").eval()
    normalisation = {"mean": [float(v) for v in s_mean], "std": [float(v) for v in s_std]}
    return CycleGANResult(
        generator=generator,
        inverse=inverse,
        discriminators=discriminators,
        source_channels=source_channels,
        target_channels=target_channels,
        normalisation=normalisation,
        history=run.history,
        method=method,
        drain_version=None if rain_network is None else rain_network.version,
        selection=selection,
    )


def fine_tune(
    result: CycleGANResult,
    pairs: Any,
    source: np.ndarray,
    target: np.ndarray,
    *,
    steps: int = 200,
    rain_weight: float = 5.0,
    learning_rate: float = 1e-4,
    **kwargs: Any,
) -> CycleGANResult:
    """Semi-supervised refinement on a few colocated (source tiles, radar rain) pairs.

    The rain term now compares DRAIN(G(source)) with the radar's rain (NaN outside its swath)
    on the pairs, while the unpaired adversarial and cycle terms keep the translation
    GMI-like. A copy is trained; ``result`` is not modified.

    Parameters
    ----------
    result : CycleGANResult
        Trained networks (CycleGAN_R or Red-GAN).
    pairs : sequence of (ndarray (C_s, H, W), ndarray (H, W))
        Source scenes and the radar rain (mm/h, NaN outside its swath) on their pixels.
    source, target : ndarray
        Unpaired tiles, as in :func:`train_cyclegan`.
    steps, rain_weight, learning_rate : refinement settings.
    **kwargs
        Other :func:`train_cyclegan` arguments (``drain``, ``max_minutes`` ...).
    """
    weights = {**dict(kwargs.pop("loss_weights", None) or {}), "rain": rain_weight}
    return train_cyclegan(
        source,
        target,
        source_channels=result.source_channels,
        target_channels=result.target_channels,
        method=result.method,
        rain_pairs=pairs,
        init=copy.deepcopy(result),
        steps=steps,
        learning_rate=learning_rate,
        loss_weights=weights,
        **kwargs,
    )
