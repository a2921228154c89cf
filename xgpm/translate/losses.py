"""Losses of the to_gmi trainers, and the frozen rain network they consult.

``_Drain`` is DRAIN (or any registered rain network) frozen and reading pseudo-GMI in Kelvin:
Red-GAN's third player, the rain term of stage 1, DANN's feature extractor and the rain scores of
:mod:`xgpm.translate.data`. :func:`rain_consistency_loss` compares its rain with a reference,
``_low_frequency_loss`` keeps the large scales of each output channel on its nearest input
channel, :func:`cycle_consistency` scores a trained pair of networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from xgpm.errors import InvalidArgumentError
from xgpm.translate.networks import FootprintInverse, TBGenerator

__all__ = ["cycle_consistency", "rain_consistency_loss"]

_LOW_PASS = 8  # pixels of the low-frequency consistency window


def _low_pass(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, _LOW_PASS, stride=_LOW_PASS // 2, ceil_mode=True)


def _low_frequency_loss(
    out_kelvin: torch.Tensor,
    generator: TBGenerator,
    x: torch.Tensor,
    weights: torch.Tensor,
    out_std: torch.Tensor,
) -> torch.Tensor:
    """Weighted L1 between the low-passed output and low-passed nearest input (std units)."""
    diff = (_low_pass(out_kelvin) - _low_pass(generator.base(x))) / out_std[:, None, None]
    return (diff.abs().mean(dim=(0, 2, 3)) * weights).sum() / weights.sum().clamp(min=1e-6)


def rain_consistency_loss(
    rain: torch.Tensor, reference: torch.Tensor, *, scale: float = 1.0
) -> torch.Tensor:
    """Mean ``|log1p(rain / scale) - log1p(reference / scale)|`` where ``reference`` is finite.

    The log compresses the heavy tail (one storm must not dominate a batch) while keeping
    light rain, which covers most rainy pixels, in play. 0 if no reference pixel is finite.
    """
    seen = torch.isfinite(reference)
    if not bool(seen.any()):
        return rain.sum() * 0.0
    predicted = torch.log1p(rain[seen].clamp(min=0) / scale)
    target = torch.log1p(reference[seen].clamp(min=0) / scale)
    return (predicted - target).abs().mean()


class _Drain:
    """A frozen DRAIN reading pseudo-GMI in Kelvin (the Red-GAN third player)."""

    def __init__(self, name: str | nn.Module, gmi_channels: Sequence[str], device: Any):
        from xgpm import models

        if isinstance(name, nn.Module):
            module, spec_channels = name, ("37V", "37H", "89V", "89H")
            mean = std = None
        else:
            spec = models.card(name)
            module = models.load(name, device)
            spec_channels = spec.input_channels
            mean, std = spec.normalisation_mean, spec.normalisation_std
        missing = [c for c in spec_channels if c not in gmi_channels]
        if missing:
            raise InvalidArgumentError(
                f"the rain network reads {list(spec_channels)}; the generator lacks {missing}"
            )
        module.eval()
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        self.module = module.to(device)
        self.index = torch.as_tensor([list(gmi_channels).index(c) for c in spec_channels])
        n = len(spec_channels)
        self.mean = torch.as_tensor(mean or [0.0] * n, dtype=torch.float32, device=device)
        self.std = torch.as_tensor(std or [1.0] * n, dtype=torch.float32, device=device)
        self.divisibility = int(getattr(module, "divisibility", 1) or 1)
        self.version = getattr(models.card(name), "version", "?") if isinstance(name, str) else "?"

    def __call__(self, kelvin: torch.Tensor) -> torch.Tensor:
        """Mean rain (mm/h), ``(B, H, W)``, of a ``(B, 13, H, W)`` Kelvin batch."""
        x = (kelvin[:, self.index.to(kelvin.device)] - self.mean[:, None, None]) / self.std[
            :, None, None
        ]
        height, width = x.shape[-2:]
        pad_h, pad_w = (-height) % self.divisibility, (-width) % self.divisibility
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        return self.module(x)[:, 0, :height, :width]


def cycle_consistency(
    generator: TBGenerator,
    inverse: TBGenerator | FootprintInverse,
    source: np.ndarray,
    target: np.ndarray,
) -> float:
    """Mean cycle L1 (standardised units) of ``F(G(x))`` vs ``x`` and ``G(F(y))`` vs ``y``.

    Parameters
    ----------
    generator, inverse : TBGenerator
        ``G`` (source -> GMI) and ``F`` (GMI -> source), their normalisation in their buffers.
    source, target : ndarray (N, C, H, W)
        Brightness temperatures (K) of either domain (all finite).
    """

    def standardise(kelvin: torch.Tensor, module: TBGenerator) -> torch.Tensor:
        return (kelvin - module.input_mean[:, None, None]) / module.input_std[:, None, None]

    with torch.no_grad():
        x = standardise(torch.as_tensor(np.asarray(source, np.float32)), generator)
        y = standardise(torch.as_tensor(np.asarray(target, np.float32)), inverse)
        rec_x = standardise(inverse(standardise(generator(x), inverse)), generator)
        rec_y = standardise(generator(standardise(inverse(y), generator)), inverse)
        return float(F.l1_loss(rec_x, x) + F.l1_loss(rec_y, y))
