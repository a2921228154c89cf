"""Stage 1 of CycleGAN_R: the backward cycle ``G(F(y)) ~ y`` alone, ``F`` the physics.

See :func:`train_sharpening`. The full CycleGAN_R (:func:`xgpm.translate.training.train_cyclegan`)
or DANN (:func:`xgpm.translate.dann.train_dann`) continue from its result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from xgpm.errors import InvalidArgumentError
from xgpm.translate.channel_map import _nedt
from xgpm.translate.losses import _Drain, rain_consistency_loss
from xgpm.translate.networks import FootprintInverse, TBGenerator
from xgpm.translate.training import CycleGANResult, _check_tiles, _Run, _standardise, train_cyclegan

__all__ = ["train_sharpening"]


def train_sharpening(
    source: np.ndarray,
    target: np.ndarray,
    *,
    source_channels: Sequence[str],
    target_channels: Sequence[str] | None = None,
    source_sensor: str = "SSMIS-F17",
    generator_kwargs: Mapping[str, Any] | None = None,
    init: CycleGANResult | None = None,
    steps: int = 1000,
    max_minutes: float | None = None,
    batch_size: int = 8,
    learning_rate: float = 1e-3,
    structure_sampling: bool = True,
    source_noise: bool = True,
    rain_weight: float = 0.0,
    rain_scale: float | None = None,
    drain: str | nn.Module = "drain",
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[dict[str, float]], None] | None = None,
    validation: Callable[[TBGenerator], float] | None = None,
    validate_every: int = 500,
) -> CycleGANResult:
    """Stage 1 of CycleGAN_R: the backward cycle ``G(F(y)) ~ y`` alone, ``F`` the physics.

    With the physics-structured inverse (:class:`FootprintInverse` at its initial state: the
    nearest GMI channel blurred to the source footprints, plus the source's NEDT), the backward
    cycle on GMI scenes is a deconvolution problem with a known degradation, and needs no
    discriminator: ``G`` learns to undo the footprint difference from GMI scenes alone (no
    source scene is paired with them; ``source`` only sets ``G``'s input normalisation). The
    full CycleGAN_R (:func:`train_cyclegan` with ``init=`` this result) then learns the
    spectral differences and the source's real look adversarially. Cheaper than a GAN step
    (one network, no discriminators), so many more steps fit in the same time.

    Parameters
    ----------
    source, target : ndarray (N, C, H, W)
        Source tiles (K; for the normalisation) and GMI tiles (K; the training scenes).
    source_channels, target_channels, source_sensor, generator_kwargs :
        As in :func:`train_cyclegan`.
    init : CycleGANResult, optional
        Continue training this result's generator (its inverse is used as the degradation).
    steps, max_minutes, batch_size, learning_rate :
        Adam with a cosine decay of the learning rate over ``steps`` (or the time budget).
    structure_sampling : bool
        Draw GMI tiles with probability growing with their 89 GHz contrast (the tiles with
        rain and cloud edges, where sharpening matters), a third of them uniformly.
    source_noise : bool
        Add the source's NEDT to the degraded fields.
    rain_weight : float
        With ``rain_weight > 0``, the frozen DRAIN (``drain``) becomes the third player of
        Red-GAN on this cycle: ``rain_weight * MSE(DRAIN(G(F(y))), DRAIN(y))`` (mm/h) joins
        the loss. Its minimiser makes DRAIN on pseudo-GMI the mean rain DRAIN would see on
        GMI given the degraded scene, the least-squares rain; the L1 term alone makes it the
        rain of the *median* pseudo-GMI, sharper but misplaced where the source cannot say
        where a core is, which MSE (and CSI) punish twice. Needs no paired scene.
    rain_scale : float, optional
        Score the rain term as :func:`rain_consistency_loss` with this scale (mm/h; L1 of
        ``log1p(rain / scale)``, which weighs light rain and clear-sky false alarms) instead
        of the MSE.
    device, seed, progress, callback, validation, validate_every :
        As in :func:`train_cyclegan` (``validation`` selects the step kept).

    Returns
    -------
    CycleGANResult
        ``generator`` trained, ``inverse`` the physics, fresh discriminators (for stage 2).
    """
    if init is None:
        init = train_cyclegan(
            source,
            target,
            source_channels=source_channels,
            target_channels=target_channels,
            source_sensor=source_sensor,
            generator_kwargs=generator_kwargs,
            inverse_kind="footprint",
            steps=0,
            progress=False,
            seed=seed,
        )
    if not isinstance(init.inverse, FootprintInverse):
        raise InvalidArgumentError("train_sharpening needs a result with a FootprintInverse")
    if not rain_weight >= 0:
        raise InvalidArgumentError(f"rain_weight must be >= 0, got {rain_weight}")
    if max_minutes is not None and not max_minutes > 0:
        raise InvalidArgumentError(f"max_minutes must be > 0, got {max_minutes}")
    target = _check_tiles(target, len(init.target_channels), "target")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    generator, inverse = init.generator.to(device), init.inverse.to(device)
    generator.train().requires_grad_(True)
    inverse.eval().requires_grad_(False)
    t_mean = inverse.input_mean.detach().cpu().numpy()
    t_std = inverse.input_std.detach().cpu().numpy()
    y_all = _standardise(target, t_mean, t_std)
    if structure_sampling and "89V" in init.target_channels:
        contrast = target[:, list(init.target_channels).index("89V")].std(axis=(1, 2))
        weights = contrast / max(float(contrast.sum()), 1e-9)
        weights = (2.0 * weights + 1.0 / len(target)) / 3.0
    else:
        weights = np.full(len(target), 1.0 / len(target))
    nedt = torch.as_tensor(
        _nedt(source_sensor, init.source_channels)
        if source_noise
        else [0.0] * inverse.out_channels,
        dtype=torch.float32,
        device=device,
    )
    s_mean, s_std = generator.input_mean, generator.input_std
    t_mean_t = torch.as_tensor(t_mean, device=device)
    t_std_t = torch.as_tensor(t_std, device=device)
    rain_network = _Drain(drain, init.target_channels, device) if rain_weight > 0 else None
    optimiser = torch.optim.Adam(generator.parameters(), lr=learning_rate)
    run = _Run(
        "sharpening",
        steps,
        max_minutes,
        progress=progress,
        callback=callback,
        validation=validation,
        validate_every=validate_every,
    )
    try:
        for step in range(steps):
            for group in optimiser.param_groups:
                group["lr"] = learning_rate * 0.5 * (1.0 + math.cos(math.pi * run.fraction(step)))
            index = torch.as_tensor(rng.choice(len(target), batch_size, p=weights))
            y = y_all[index].to(device)
            axes = [a for a in (-2, -1) if rng.random() < 0.5]
            if axes:
                y = y.flip(axes)
            with torch.no_grad():
                degraded = inverse(y)
                degraded = degraded + nedt[:, None, None] * torch.randn_like(degraded)
                x = (degraded - s_mean[:, None, None]) / s_std[:, None, None]
            pseudo = generator(x)
            restored = (pseudo - t_mean_t[:, None, None]) / t_std_t[:, None, None]
            cycle = F.l1_loss(restored, y)
            loss = cycle
            rain_loss = torch.zeros((), device=device)
            if rain_network is not None:
                with torch.no_grad():
                    reference = rain_network(y * t_std_t[:, None, None] + t_mean_t[:, None, None])
                rain = rain_network(pseudo)
                rain_loss = (
                    F.mse_loss(rain, reference)
                    if rain_scale is None
                    else rain_consistency_loss(rain, reference, scale=rain_scale)
                )
                loss = loss + rain_weight * rain_loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            last = run.record(
                step,
                generator,
                ("cycle", "rain"),
                generator=float(loss.detach()),
                cycle=float(cycle.detach()),
                rain=float(rain_loss.detach()),
            )
            if last:
                break
    finally:
        selection = run.finish(generator)
    generator.to("cpu").eval()
    inverse.to("cpu").eval()
    return CycleGANResult(
        generator=generator,
        inverse=inverse,
        discriminators=init.discriminators,
        source_channels=init.source_channels,
        target_channels=init.target_channels,
        normalisation=init.normalisation,
        history=list(init.history) + run.history,
        method="redgan" if rain_network is not None else init.method,
        drain_version=rain_network.version if rain_network is not None else init.drain_version,
        selection=selection,
    )
