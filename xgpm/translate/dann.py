"""DANN-style alignment of pseudo-GMI in the retrieval's feature space.

The research brief's third family of to_gmi methods. Domain-adversarial training (Ganin et al.
2016, "Domain-adversarial training of neural networks", JMLR 17) aligns the *features* a task
network computes on the two domains, through a domain classifier behind a gradient reversal layer.
Here the task network is the frozen DRAIN: a small classifier reads DRAIN's bottleneck features and
tells real GMI tiles from pseudo-GMI made by the generator ``G`` from source tiles; the reversed
gradient teaches ``G`` to make pseudo-GMI whose *rain features* (not pixels, which CycleGAN_R's
discriminator judges) look like GMI's. The backward cycle of stage 1 (``G`` undoing the physical
footprint degradation of GMI scenes, :func:`xgpm.translate.cyclegan.train_sharpening`) stays in the
loss and keeps ``G`` a sharpening operator. Nothing is paired; DRAIN is never updated. The domain
classifier (:class:`DomainClassifier`, importable from here) is defined in
:mod:`xgpm.translate.networks`, beside the other networks that checkpoints hold.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xgpm.errors import InvalidArgumentError
from xgpm.translate.channel_map import _nedt
from xgpm.translate.losses import _Drain
from xgpm.translate.networks import DomainClassifier, FootprintInverse, TBGenerator
from xgpm.translate.training import CycleGANResult, _check_tiles, _Run, _standardise

__all__ = ["DomainClassifier", "grad_reverse", "train_dann"]


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def grad_reverse(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; multiplies the gradient by ``-scale`` backward (DANN's GRL)."""
    return _GradientReversal.apply(x, float(scale))


def _feature_hook(network: _Drain, layer: str) -> tuple[list[torch.Tensor], Any]:
    module = getattr(network.module, layer, None)
    if not isinstance(module, nn.Module):
        raise InvalidArgumentError(f"the rain network has no layer {layer!r} to align")
    store: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: store.append(out))
    return store, handle


def train_dann(
    init: CycleGANResult,
    source: np.ndarray,
    target: np.ndarray,
    *,
    drain: str | nn.Module = "drain",
    layer: str = "bottleneck",
    steps: int = 1000,
    max_minutes: float | None = None,
    batch_size: int = 8,
    learning_rate: float = 2e-4,
    domain_weight: float = 0.1,
    source_sensor: str = "SSMIS-F17",
    source_noise: bool = True,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[dict[str, float]], None] | None = None,
    validation: Callable[[TBGenerator], float] | None = None,
    validate_every: int = 500,
) -> CycleGANResult:
    """Refine a stage-1 generator by domain-adversarial alignment of DRAIN's features.

    Each step: the backward cycle ``L1(G(F(y) + noise), y)`` on GMI tiles ``y`` (``F`` the
    physics, :class:`~xgpm.translate.cyclegan.FootprintInverse`), plus ``domain_weight`` times
    the domain classifier's cross-entropy on DRAIN's ``layer`` features of ``y`` (label 1) and
    of ``G(x)`` for source tiles ``x`` (label 0), the latter behind a gradient reversal layer
    whose scale ramps from 0 to 1 as in Ganin et al. (``2 / (1 + exp(-10 p)) - 1``). One
    optimiser step updates the classifier (to separate the domains) and ``G`` (to confuse it).

    Parameters
    ----------
    init : CycleGANResult
        A stage-1 result (its generator is copied, its ``FootprintInverse`` is the physics).
    source, target : ndarray (N, C, H, W)
        Unpaired source tiles (K, at GMI sampling) and GMI tiles (K); sizes multiples of the
        DRAIN divisibility.
    drain : str or Module
        The frozen rain network whose features are aligned.
    layer : str
        Attribute of the rain network whose output is aligned (``"bottleneck"``).
    steps, max_minutes, batch_size, learning_rate :
        Adam (betas 0.5, 0.999), cosine decay over ``steps`` or the time budget.
    domain_weight : float
        Weight of the domain term against the cycle term (> 0).
    source_sensor, source_noise, device, seed, progress, callback, validation, validate_every :
        As in :func:`xgpm.translate.cyclegan.train_cyclegan`.

    Returns
    -------
    CycleGANResult
        ``method="dann"``; ``discriminators["features"]`` the domain classifier.
    """
    if not isinstance(init, CycleGANResult) or not isinstance(init.inverse, FootprintInverse):
        raise InvalidArgumentError(
            "train_dann needs init= a stage-1 CycleGANResult with a FootprintInverse "
            "(xgpm.translate.cyclegan.train_sharpening)"
        )
    if not domain_weight > 0:
        raise InvalidArgumentError(f"domain_weight must be > 0, got {domain_weight}")
    if max_minutes is not None and not max_minutes > 0:
        raise InvalidArgumentError(f"max_minutes must be > 0, got {max_minutes}")
    source = _check_tiles(source, len(init.source_channels), "source")
    target = _check_tiles(target, len(init.target_channels), "target")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    generator = copy.deepcopy(init.generator).to(device).train().requires_grad_(True)
    inverse = copy.deepcopy(init.inverse).to(device).eval().requires_grad_(False)
    network = _Drain(drain, init.target_channels, device)
    for tiles, what in ((source, "source"), (target, "target")):
        if any(n % network.divisibility for n in tiles.shape[-2:]):
            raise InvalidArgumentError(
                f"train_dann: {what} tiles are {tiles.shape[-2:]}; DRAIN needs multiples of "
                f"{network.divisibility}"
            )
    store, handle = _feature_hook(network, layer)
    with torch.no_grad():
        network(torch.as_tensor(target[:1], device=device))
    classifier = DomainClassifier(store[-1].shape[1]).to(device)
    store.clear()

    s_mean = generator.input_mean.detach().cpu().numpy()
    s_std = generator.input_std.detach().cpu().numpy()
    t_mean = inverse.input_mean.detach().cpu().numpy()
    t_std = inverse.input_std.detach().cpu().numpy()
    x_all = _standardise(source, s_mean, s_std)
    y_all = _standardise(target, t_mean, t_std)
    t_mean_t = torch.as_tensor(t_mean, device=device)[:, None, None]
    t_std_t = torch.as_tensor(t_std, device=device)[:, None, None]
    s_mean_t = generator.input_mean[:, None, None]
    s_std_t = generator.input_std[:, None, None]
    nedt = torch.as_tensor(
        _nedt(source_sensor, init.source_channels) if source_noise else [0.0] * len(s_mean),
        dtype=torch.float32,
        device=device,
    )[:, None, None]
    optimiser = torch.optim.Adam(
        [*generator.parameters(), *classifier.parameters()],
        lr=learning_rate,
        betas=(0.5, 0.999),
    )
    run = _Run(
        "dann",
        steps,
        max_minutes,
        progress=progress,
        callback=callback,
        validation=validation,
        validate_every=validate_every,
    )

    def draw(data: torch.Tensor) -> torch.Tensor:
        out = data[torch.as_tensor(rng.integers(0, len(data), batch_size))].to(device)
        axes = [a for a in (-2, -1) if rng.random() < 0.5]
        return out.flip(axes) if axes else out

    try:
        for step in range(steps):
            fraction = run.fraction(step)
            for group in optimiser.param_groups:
                group["lr"] = learning_rate * 0.5 * (1.0 + math.cos(math.pi * fraction))
            reversal = 2.0 / (1.0 + math.exp(-10.0 * fraction)) - 1.0
            x, y = draw(x_all), draw(y_all)
            # backward cycle: G undoes the physical degradation of GMI scenes
            with torch.no_grad():
                degraded = inverse(y)
                degraded = degraded + nedt * torch.randn_like(degraded)
                x_fake = (degraded - s_mean_t) / s_std_t
            cycle = F.l1_loss((generator(x_fake) - t_mean_t) / t_std_t, y)
            # domain term on DRAIN's features: real GMI (1) vs pseudo-GMI (0)
            store.clear()
            with torch.no_grad():
                network(y * t_std_t + t_mean_t)
            real_features = store.pop()
            network(generator(x))
            fake_features = grad_reverse(store.pop(), reversal)
            real_logit = classifier(real_features)
            fake_logit = classifier(fake_features)
            domain = 0.5 * (
                F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))
            )
            loss = cycle + domain_weight * domain
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            accuracy = 0.5 * (
                float((real_logit > 0).float().mean()) + float((fake_logit < 0).float().mean())
            )
            last = run.record(
                step,
                generator,
                ("cycle", "discriminator"),
                generator=float(loss.detach()),
                adversarial=float(domain.detach()),
                cycle=float(cycle.detach()),
                discriminator=accuracy,
            )
            if last:
                break
    finally:
        handle.remove()
        selection = run.finish(generator)
    generator.to("cpu").eval()
    classifier.to("cpu").eval()
    return CycleGANResult(
        generator=generator,
        inverse=init.inverse,
        discriminators={**init.discriminators, "features": classifier},
        source_channels=init.source_channels,
        target_channels=init.target_channels,
        normalisation=init.normalisation,
        history=list(init.history) + run.history,
        method="dann",
        drain_version=network.version,
        selection=selection,
    )
