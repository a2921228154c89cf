"""The networks of the learned to_gmi translations (CycleGAN_R, Red-GAN, DANN).

- :class:`TBGenerator`: ``G`` (source -> GMI), a U-Net (:class:`xgpm.models.blocks.UNetTrunk`)
  whose output is a bounded residual on the nearest source channel, in logit space of the
  physical range ``tb_range`` (see :mod:`xgpm.translate.cyclegan`); what the to_gmi cards load.
- :class:`FootprintInverse`: the physics-structured inverse ``F`` (GMI -> source): a pointwise
  spectral mapping, then the footprint blur the registry implies.
- :class:`PatchDiscriminator`: PatchGAN with spectral normalisation (CycleGAN_R, Red-GAN).
- :class:`DomainClassifier`: DANN's domain classifier on DRAIN's features.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from xgpm.errors import InvalidArgumentError
from xgpm.models.blocks import UNetTrunk, receptive_margin, unet_widths

__all__ = [
    "DEFAULT_TB_RANGE",
    "DomainClassifier",
    "FootprintInverse",
    "PatchDiscriminator",
    "TBGenerator",
]

#: Physical range (K) of every generated brightness temperature.
DEFAULT_TB_RANGE: tuple[float, float] = (20.0, 330.0)


class TBGenerator(UNetTrunk):
    """Brightness temperatures of one radiometer -> another's, as a bounded residual.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels read and produced.
    identity_map : sequence of int, optional
        For each output channel, the input channel it starts from
        (:func:`nearest_channel_map`); default ``i % in_channels``.
    base_channels : int
        Feature maps at full resolution; doubled at each pooling, capped at ``max_channels``.
    depth : int
        Number of 2 x 2 poolings (input sizes must be multiples of ``2**depth``).
    convs_per_block, kernel_size : int
        Convolutions per level and their (odd) size.
    max_channels : int
        Cap on the feature maps of a level.
    tb_range : (float, float)
        Physical range (K) of the outputs.

    Notes
    -----
    ``forward(x)`` takes ``x`` standardised with the buffers ``input_mean`` / ``input_std``
    (the card's ``inputs.normalisation``; a NaN must be replaced by 0 first, as
    :mod:`xgpm.inference` does) and returns ``(B, out_channels, H, W)`` in Kelvin.
    """

    def __init__(
        self,
        in_channels: int = 11,
        out_channels: int = 13,
        identity_map: Sequence[int] | None = None,
        base_channels: int = 16,
        depth: int = 2,
        convs_per_block: int = 2,
        kernel_size: int = 3,
        max_channels: int = 64,
        tb_range: Sequence[float] = DEFAULT_TB_RANGE,
    ):
        super().__init__()
        if min(in_channels, out_channels, base_channels, depth, convs_per_block) < 1:
            raise InvalidArgumentError(
                "TBGenerator: in/out/base channels, depth and convs_per_block must be >= 1"
            )
        if kernel_size % 2 != 1:
            raise InvalidArgumentError(f"TBGenerator: kernel_size must be odd, got {kernel_size}")
        lo, hi = (float(v) for v in tb_range)
        if not 0 <= lo < hi:
            raise InvalidArgumentError(
                f"TBGenerator: tb_range must be 0 <= lo < hi, got {tb_range}"
            )
        mapping = list(identity_map) if identity_map is not None else None
        if mapping is None:
            mapping = [i % in_channels for i in range(out_channels)]
        if len(mapping) != out_channels or not all(0 <= int(i) < in_channels for i in mapping):
            raise InvalidArgumentError(
                f"TBGenerator: identity_map needs {out_channels} indices in [0, {in_channels}), "
                f"got {mapping}"
            )
        #: The constructor arguments (what a model card's ``architecture.kwargs`` holds).
        self.config: dict[str, Any] = {
            "in_channels": int(in_channels),
            "out_channels": int(out_channels),
            "identity_map": [int(i) for i in mapping],
            "base_channels": int(base_channels),
            "depth": int(depth),
            "convs_per_block": int(convs_per_block),
            "kernel_size": int(kernel_size),
            "max_channels": int(max_channels),
            "tb_range": [lo, hi],
        }
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.depth, self.convs_per_block, self.kernel_size = depth, convs_per_block, kernel_size
        self.tb_range = (lo, hi)
        self.register_buffer("identity_map", torch.as_tensor(mapping, dtype=torch.long))
        self.register_buffer("input_mean", torch.zeros(in_channels))
        self.register_buffer("input_std", torch.ones(in_channels))
        widths = unet_widths(base_channels, depth, max_channels)
        self._build_trunk(
            in_channels, widths, convs_per_block, kernel_size, batch_norm=False, negative_slope=0.2
        )
        self.head = nn.Conv2d(widths[0], out_channels, 1)
        nn.init.zeros_(self.head.weight)  # start as the identity mapping
        nn.init.zeros_(self.head.bias)

    # -- geometry ------------------------------------------------------------------------
    @property
    def divisibility(self) -> int:
        """Input height and width must be multiples of this (``2**depth``)."""
        return 2**self.depth

    @property
    def receptive_margin(self) -> int:
        """One-sided receptive margin in input pixels (same topology as DRAIN's U-Net)."""
        return receptive_margin(self.depth, self.convs_per_block, self.kernel_size)

    def set_normalisation(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Store the input standardisation (the card's ``inputs.normalisation``)."""
        mean_t = torch.as_tensor(mean, dtype=torch.float32)
        std_t = torch.as_tensor(std, dtype=torch.float32)
        if mean_t.shape != (self.in_channels,) or std_t.shape != (self.in_channels,):
            raise InvalidArgumentError(
                f"TBGenerator: normalisation needs {self.in_channels} means and stds"
            )
        self.input_mean.copy_(mean_t)
        self.input_std.copy_(std_t)

    # -- forward -------------------------------------------------------------------------
    def correction(self, x: torch.Tensor) -> torch.Tensor:
        """The learned correction (logit space) of a standardised batch."""
        height, width = x.shape[-2:]
        if height % self.divisibility or width % self.divisibility:
            raise InvalidArgumentError(
                f"TBGenerator input is {height} x {width}: both must be multiples of "
                f"{self.divisibility}; pad first (xgpm.inference does it for you)"
            )
        return self.head(self._trunk(x))

    def base(self, x: torch.Tensor) -> torch.Tensor:
        """The identity-mapped brightness temperatures (K) of a standardised batch."""
        kelvin = x * self.input_std[:, None, None] + self.input_mean[:, None, None]
        return kelvin[:, self.identity_map]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Brightness temperatures (K), ``(B, out_channels, H, W)``, inside ``tb_range``."""
        lo, hi = self.tb_range
        fraction = ((self.base(x) - lo) / (hi - lo)).clamp(1e-4, 1.0 - 1e-4)
        logit = torch.log(fraction) - torch.log1p(-fraction)
        return lo + (hi - lo) * torch.sigmoid(logit + self.correction(x))


class FootprintInverse(nn.Module):
    """The physics-structured inverse ``F``: GMI -> source, as "other channels, wider footprints".

    Each source channel is a pointwise (spectral) function of the GMI channels at full
    resolution, seen through a Gaussian blur at least as wide as the difference of the two
    instruments' footprints (:func:`footprint_blur_sigmas`)::

        h_o = lo + (hi - lo) * sigmoid(logit((y[nearest(o)] - lo) / (hi - lo)) + mlp(y)_o)
        F(y)_o = Gaussian(sigma_o) * h_o,   sigma_o**2 = sigma_footprint_o**2 + softplus(q_o)**2

    The mlp is made of 1 x 1 convolutions: ``F`` cannot sharpen, it can only learn the spectral
    mapping and how much *more* blur than the footprints the source shows (``q``: the
    densifying interpolation adds some). Cycle-consistency ``G(F(y)) ~ y`` on real GMI scenes
    then asks ``G`` to undo exactly the footprint difference: it turns the unpaired CycleGAN
    into a deconvolution problem with a known (physical) degradation, which an unconstrained
    ``F`` leaves ambiguous (an unconstrained ``F`` can sharpen and ``G`` blur instead).

    Parameters
    ----------
    in_channels, out_channels : int
        GMI channels read, source channels produced.
    identity_map : sequence of int
        For each source channel, the GMI channel it starts from.
    blur_sigma : sequence of (float, float)
        Per source channel, the footprint blur ``[sigma_rows, sigma_cols]`` in pixels.
    hidden : int
        Width of the pointwise mlp.
    extra_sigma : float
        Initial extra blur (pixels, both axes) over the footprint difference.
    tb_range : (float, float)
        Physical range (K) of the outputs.
    """

    def __init__(
        self,
        in_channels: int = 13,
        out_channels: int = 11,
        identity_map: Sequence[int] | None = None,
        blur_sigma: Sequence[Sequence[float]] | None = None,
        hidden: int = 32,
        extra_sigma: float = 0.5,
        tb_range: Sequence[float] = DEFAULT_TB_RANGE,
    ):
        super().__init__()
        mapping = list(identity_map) if identity_map is not None else None
        if mapping is None:
            mapping = [i % in_channels for i in range(out_channels)]
        sigma = [[0.0, 0.0]] * out_channels if blur_sigma is None else blur_sigma
        sigma = [[float(v) for v in pair] for pair in sigma]
        if len(mapping) != out_channels or not all(0 <= int(i) < in_channels for i in mapping):
            raise InvalidArgumentError(
                f"FootprintInverse: identity_map needs {out_channels} indices in "
                f"[0, {in_channels}), got {mapping}"
            )
        if len(sigma) != out_channels or any(len(p) != 2 or min(p) < 0 for p in sigma):
            raise InvalidArgumentError(
                f"FootprintInverse: blur_sigma needs {out_channels} pairs of sigmas >= 0"
            )
        lo, hi = (float(v) for v in tb_range)
        self.config: dict[str, Any] = {
            "in_channels": int(in_channels),
            "out_channels": int(out_channels),
            "identity_map": [int(i) for i in mapping],
            "blur_sigma": sigma,
            "hidden": int(hidden),
            "extra_sigma": float(extra_sigma),
            "tb_range": [lo, hi],
        }
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.tb_range = (lo, hi)
        self.register_buffer("identity_map", torch.as_tensor(mapping, dtype=torch.long))
        self.register_buffer("input_mean", torch.zeros(in_channels))
        self.register_buffer("input_std", torch.ones(in_channels))
        self.register_buffer("footprint_sigma", torch.as_tensor(sigma, dtype=torch.float32))
        # softplus(q) = extra_sigma
        start = math.log(math.expm1(max(float(extra_sigma), 1e-3)))
        self.extra = nn.Parameter(torch.full((out_channels, 2), start))
        self.spectral = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, hidden, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, out_channels, 1),
        )
        nn.init.zeros_(self.spectral[-1].weight)  # start as the nearest channel, blurred
        nn.init.zeros_(self.spectral[-1].bias)
        biggest = float(torch.as_tensor(sigma).max()) if sigma else 0.0
        self.radius = int(math.ceil(3.0 * math.sqrt(biggest**2 + 4.0)))

    receptive_margin = property(lambda self: self.radius)
    divisibility = property(lambda self: 1)
    set_normalisation = TBGenerator.set_normalisation

    def sigma(self) -> torch.Tensor:
        """Current blur ``(out_channels, 2)`` in pixels (rows, cols)."""
        return torch.sqrt(self.footprint_sigma**2 + F.softplus(self.extra) ** 2)

    def _blur(self, images: torch.Tensor) -> torch.Tensor:
        radius = self.radius
        offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
        sigma = self.sigma().to(images.dtype)
        n = images.shape[1]
        out = images
        for axis in (0, 1):  # rows, then cols (separable)
            weights = torch.exp(-0.5 * (offsets[None] / sigma[:, axis, None]) ** 2)
            weights = weights / weights.sum(dim=1, keepdim=True)
            size = out.shape[-2 + axis]
            pad = min(radius, size - 1)
            kernel = weights[:, radius - pad : radius + pad + 1]
            if axis == 0:
                out = F.pad(out, (0, 0, pad, pad), mode="reflect")
                out = F.conv2d(out, kernel[:, None, :, None], groups=n)
            else:
                out = F.pad(out, (pad, pad, 0, 0), mode="reflect")
                out = F.conv2d(out, kernel[:, None, None, :], groups=n)
        return out

    def _nearest(self, x: torch.Tensor) -> torch.Tensor:
        kelvin = x * self.input_std[:, None, None] + self.input_mean[:, None, None]
        return kelvin[:, self.identity_map]

    def base(self, x: torch.Tensor) -> torch.Tensor:
        """The nearest GMI channels (K) blurred to the source footprints."""
        return self._blur(self._nearest(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Source brightness temperatures (K), ``(B, out_channels, H, W)``, inside ``tb_range``."""
        lo, hi = self.tb_range
        fraction = ((self._nearest(x) - lo) / (hi - lo)).clamp(1e-4, 1.0 - 1e-4)
        logit = torch.log(fraction) - torch.log1p(-fraction)
        return self._blur(lo + (hi - lo) * torch.sigmoid(logit + self.spectral(x)))


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator with spectral normalisation (one score per ~22-pixel patch).

    Parameters
    ----------
    in_channels : int
        Channels of the (standardised) images judged.
    base_channels : int
        Feature maps of the first layer (doubled once).
    """

    def __init__(self, in_channels: int = 13, base_channels: int = 32):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        width = 2 * base_channels
        self.net = nn.Sequential(
            sn(nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(base_channels, width, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(width, width, 3, padding=1)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(width, 1, 3, padding=1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Realness scores ``(B, 1, H / 4, W / 4)`` (LSGAN: 1 real, 0 generated)."""
        return self.net(x)


class DomainClassifier(nn.Module):
    """Per-location logit "this feature map comes from real GMI" over DRAIN features."""

    def __init__(self, in_channels: int, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, 1, h, w)`` of features ``(B, C, h, w)``."""
        return self.net(features)
