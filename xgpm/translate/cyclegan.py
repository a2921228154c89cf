"""CycleGAN_R and Red-GAN: translate brightness-temperature fields to pseudo-GMI.

A CycleGAN adapted to TB fields (CycleGAN_R; Sambath et al., Environmental Data Science 2022)
learns, from *unpaired* scenes, a generator ``G``: source radiometer (SSMIS, 11 channels) ->
GMI (13 channels) and its inverse ``F``: GMI -> source, each judged by a PatchGAN discriminator
of its target domain. Red-GAN (Qasim et al., MIDL 2020) adds a frozen task network as a passive
third player: here DRAIN, whose rain from the pseudo-GMI must agree with the rain information of
the source scene, so that the translation keeps what matters for precipitation.

Design (xgpm's choices):

- **Sampling.** ``G`` reads the source swath densified to GMI's pixel spacing
  (:func:`xgpm.translate.grid.to_gmi_sampling`); its discriminator sees real GMI at GMI's own
  sampling, so ``G`` has to sharpen the larger source footprints towards GMI's.
- **Bounded residual on the nearest channel.** Each output channel starts from the source
  channel nearest in frequency and polarisation (:func:`nearest_channel_map`: 10V <- 19V,
  23V <- 22V, 89V <- 91V, 165V <- 150H, 183V3 <- 183H3 ...); the network adds a correction in
  logit space of the physical range ``tb_range``::

      Tb = lo + (hi - lo) * sigmoid(logit((base - lo) / (hi - lo)) + correction)

  so every output lies in ``[lo, hi]`` K whatever the input (strictly inside unless float32
  saturates on absurd inputs), and a zero correction (the
  initial state: the head starts at zero) is the identity mapping. Learning a correction is
  much easier than learning the TB field from scratch.
- **Generator.** A small U-Net (default 2 poolings, 16 base channels, about 60 k parameters,
  a 0.3 MB weights file) of purely local operations (no normalisation layer), so tiled
  inference equals whole-swath inference given :attr:`TBGenerator.receptive_margin` and
  :attr:`TBGenerator.divisibility` (recorded in the card). ``forward`` takes the input
  standardised with the card's ``inputs.normalisation`` (kept in the module's buffers too) and
  returns Kelvin.
- **Discriminators.** PatchGAN (:class:`PatchDiscriminator`) with spectral normalisation.
- **Losses** (:func:`train_cyclegan`): least-squares adversarial (LSGAN) + cycle L1 (in
  standardised units) + low-frequency consistency (the 8 x 8-pixel means of each output channel
  stay close to those of its nearest input channel, weighted by how close the two channels are:
  1 for the same frequency, ~0 for 10 GHz from 19 GHz) + for Red-GAN the rain term
  ``|log1p DRAIN(G(x)) - log1p r|`` over the pixels where the reference rain ``r`` is known.

The reference rain of Red-GAN is DRAIN applied to GMI of a *paired* scene (the same truth seen at
the same time by the source and by a GMI on the same orbit, :func:`paired_training_fields`): it is
known on every pixel (not only in the narrow DPR swath), and it asks exactly what to_gmi
promises: DRAIN must see the same rain in pseudo-GMI as in GMI. Scarce radar truth (DPR on the
same pairs) is used in the semi-supervised fine-tuning (:func:`fine_tune`).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from xgpm.errors import InvalidArgumentError

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_LOSS_WEIGHTS",
    "DEFAULT_TB_RANGE",
    "CycleGANResult",
    "FootprintInverse",
    "PatchDiscriminator",
    "TBGenerator",
    "channel_similarity",
    "cycle_consistency",
    "fine_tune",
    "footprint_blur_sigmas",
    "load_checkpoint",
    "nearest_channel_map",
    "paired_training_fields",
    "rain_consistency_loss",
    "save_checkpoint",
    "save_generator",
    "set_threads",
    "train_cyclegan",
    "train_sharpening",
]

#: Physical range (K) of every generated brightness temperature.
DEFAULT_TB_RANGE: tuple[float, float] = (20.0, 330.0)
#: Default loss weights of :func:`train_cyclegan`.
DEFAULT_LOSS_WEIGHTS: dict[str, float] = {
    "adversarial": 1.0,
    "cycle": 10.0,
    "low_frequency": 5.0,
    "rain": 5.0,
}
_LOW_PASS = 8  # pixels of the low-frequency consistency window


def set_threads(n: int | None) -> None:
    """Torch CPU threads for training (1 by default in the CLI: the machine is shared)."""
    if n is not None and n > 0:
        torch.set_num_threads(int(n))


# ------------------------------------------------------------------------------------------
# channel correspondence
# ------------------------------------------------------------------------------------------


def _channels(sensor: str, labels: Sequence[str]) -> list[Any]:
    """The registry's channel records of ``labels`` (a clear error for an unknown label)."""
    from xgpm import sensors

    spec = sensors.get(sensor)
    found = {c.label: c for mode in spec.scan_modes.values() for c in mode.channels}
    missing = [lab for lab in labels if lab not in found]
    if missing:
        from xgpm.errors import UnknownChannelError

        raise UnknownChannelError(
            f"{spec.name} has no channel {missing}; its channels are {sorted(found)}"
        )
    return [found[lab] for lab in labels]


def _channel_table(sensor: str, labels: Sequence[str]) -> list[tuple[float, float, str]]:
    return [(c.frequency, c.offset, c.polarization) for c in _channels(sensor, labels)]


def _distance(a: tuple[float, float, str], b: tuple[float, float, str]) -> float:
    """How different two channels are: log frequency, log sideband offset, polarisation."""
    frequency = abs(math.log(a[0] / b[0]))
    offset = 0.5 * abs(math.log((a[1] + 1.0) / (b[1] + 1.0)))
    polarisation = 0.0 if a[2].lstrip("Q") == b[2].lstrip("Q") else 0.05
    return frequency + offset + polarisation


def nearest_channel_map(
    source_sensor: str,
    source_channels: Sequence[str],
    target_sensor: str,
    target_channels: Sequence[str],
) -> list[int]:
    """For each target channel, the index of the nearest source channel.

    Nearest in log frequency, then sideband offset (183 +- 3 GHz <- 183 +- 3 GHz), then
    polarisation (a small penalty), using the sensor registry.

    Examples
    --------
    >>> ssmis = ["19V", "19H", "22V", "37V", "37H", "91V", "91H", "150H", "183H1", "183H3",
    ...          "183H7"]
    >>> m = nearest_channel_map("SSMIS-F17", ssmis, "GMI", ["10V", "89H", "165V", "183V3"])
    >>> [ssmis[i] for i in m]
    ['19V', '91H', '150H', '183H3']
    """
    source = _channel_table(source_sensor, source_channels)
    target = _channel_table(target_sensor, target_channels)
    return [int(np.argmin([_distance(t, s) for s in source])) for t in target]


def channel_similarity(
    source_sensor: str,
    source_channels: Sequence[str],
    target_sensor: str,
    target_channels: Sequence[str],
    scale: float = 0.1,
) -> list[float]:
    """Weight in [0, 1] of each target channel's low-frequency consistency with its source.

    ``exp(-distance / scale)``: 1 for the same frequency and polarisation (GMI 37V <- SSMIS
    37V), about 0.75 for 89V <- 91V, about 0.002 for 10V <- 19V (no constraint).
    """
    source = _channel_table(source_sensor, source_channels)
    target = _channel_table(target_sensor, target_channels)
    mapping = nearest_channel_map(source_sensor, source_channels, target_sensor, target_channels)
    return [
        float(math.exp(-_distance(t, source[i]) / scale))
        for t, i in zip(target, mapping, strict=True)
    ]


# ------------------------------------------------------------------------------------------
# networks
# ------------------------------------------------------------------------------------------


def _block(in_channels: int, out_channels: int, n_convs: int, kernel_size: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n_convs):
        layers += [
            nn.Conv2d(
                in_channels if i == 0 else out_channels,
                out_channels,
                kernel_size,
                padding=kernel_size // 2,
            ),
            nn.LeakyReLU(0.2, inplace=True),
        ]
    return nn.Sequential(*layers)


class TBGenerator(nn.Module):
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
        widths = [min(base_channels * 2**level, max_channels) for level in range(depth + 1)]
        self.encoders = nn.ModuleList(
            _block(
                in_channels if lvl == 0 else widths[lvl - 1],
                widths[lvl],
                convs_per_block,
                kernel_size,
            )
            for lvl in range(depth)
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _block(widths[depth - 1], widths[depth], convs_per_block, kernel_size)
        self.upsamples = nn.ModuleList(
            nn.ConvTranspose2d(widths[lvl + 1], widths[lvl], 2, stride=2)
            for lvl in reversed(range(depth))
        )
        self.decoders = nn.ModuleList(
            _block(2 * widths[lvl], widths[lvl], convs_per_block, kernel_size)
            for lvl in reversed(range(depth))
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
        from xgpm.models.unet import receptive_margin

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
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for upsample, decoder, skip in zip(
            self.upsamples, self.decoders, reversed(skips), strict=True
        ):
            x = decoder(torch.cat([skip, upsample(x)], dim=1))
        return self.head(x)

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


def footprint_blur_sigmas(
    source_sensor: str,
    source_channels: Sequence[str],
    target_sensor: str,
    target_channels: Sequence[str],
    spacing_km: Sequence[float] | None = None,
) -> list[list[float]]:
    """Gaussian blur (pixels) taking each source channel's nearest target channel to its footprint.

    Both footprints are Gaussian with the registry's 3 dB sizes (``footprint_km``: along-track
    (downrange) and cross-track); Gaussians compose, so the extra blur has variance
    ``(FWHM_source**2 - FWHM_target**2) / (8 ln 2)`` on each axis (0 where the source footprint
    is the smaller one). Returned in pixels of an image at ``spacing_km``, GMI's sampling by
    default, as ``[sigma_rows, sigma_cols]`` per source channel with rows = cross_track (pixels
    along the scan) and cols = along_track (scans), the layout of the training tiles.

    Examples
    --------
    >>> s = footprint_blur_sigmas("SSMIS-F17", ["37V", "91V"], "GMI", ["37V", "89V"])
    >>> [[round(v, 2) for v in pair] for pair in s]
    [[2.48, 1.23], [1.02, 0.38]]
    """
    from xgpm.translate.grid import GMI_SPACING_KM

    def footprints(sensor: str, labels: Sequence[str]) -> list[tuple[float, float]]:
        return [tuple(c.footprint_km) for c in _channels(sensor, labels)]

    spacing_cross, spacing_along = (float(v) for v in (spacing_km or GMI_SPACING_KM))
    mapping = nearest_channel_map(target_sensor, target_channels, source_sensor, source_channels)
    source_fp = footprints(source_sensor, source_channels)
    target_fp = footprints(target_sensor, target_channels)
    fwhm_to_sigma = 1.0 / math.sqrt(8.0 * math.log(2.0))
    out = []
    for (src_along, src_cross), index in zip(source_fp, mapping, strict=True):
        tgt_along, tgt_cross = target_fp[index]
        cross = math.sqrt(max(src_cross**2 - tgt_cross**2, 0.0)) * fwhm_to_sigma
        along = math.sqrt(max(src_along**2 - tgt_along**2, 0.0)) * fwhm_to_sigma
        out.append([cross / spacing_cross, along / spacing_along])
    return out


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


# ------------------------------------------------------------------------------------------
# losses
# ------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------


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


#: Format of the files :func:`save_checkpoint` writes: 2 = state dicts (tensors) plus the
#: metadata as one JSON string, so that ``torch.load(..., weights_only=True)`` reads it all.
#: Format 1 (xgpm 0.1 before it) held the metadata as Python objects.
CHECKPOINT_FORMAT = 2
#: The metadata fields of a checkpoint (JSON in format 2, plain Python in format 1).
_CHECKPOINT_FIELDS = (
    "generator_config",
    "inverse_config",
    "source_channels",
    "target_channels",
    "normalisation",
    "history",
    "method",
    "drain_version",
    "selection",
)
_RESAVE = (
    "If you trust this file (a checkpoint written by an older xgpm), re-save it once with "
    "this version as the Notes of xgpm.translate.cyclegan.load_checkpoint show; otherwise "
    "do not use it"
)
_CHECKPOINT_REMEDY = (
    "Load only checkpoints written by xgpm.translate.cyclegan.save_checkpoint; if this one "
    "is damaged, save the run again"
)


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON-ready Python (str/int/float/bool/None, lists and str-keyed dicts).

    NumPy scalars and arrays and torch tensors become Python numbers and lists, tuples lists.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return _plain(value.item(), where)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return _plain(value.tolist(), where)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise InvalidArgumentError(
                    f"save_checkpoint: {where} has a key {key!r} of type {type(key).__name__}; "
                    "checkpoint metadata needs str keys"
                )
            out[str(key)] = _plain(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise InvalidArgumentError(
        f"save_checkpoint: {where} holds a {type(value).__name__} ({value!r:.80}); checkpoint "
        "metadata may hold only str, int, float, bool, None, lists and dicts of them"
    )


def save_checkpoint(result: CycleGANResult, path: str | Path) -> Path:
    """Write every network of a training run; :func:`load_checkpoint` reads it.

    The file (format :data:`CHECKPOINT_FORMAT`) holds the state dicts of the networks (tensors)
    and the run's metadata (generator and inverse configuration, channels, normalisation,
    history, method, DRAIN version, selection) as one JSON string, so that it loads with
    ``torch.load(..., weights_only=True)``: no Python object is pickled. It is written to a
    temporary file first and renamed, so an interrupted save leaves no damaged checkpoint.

    Parameters
    ----------
    result : CycleGANResult
        The run to save.
    path : path
        The file to write (``.pt``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InvalidArgumentError
        The metadata holds a value JSON cannot store (the message names the field).
    """
    import json
    import os

    path = Path(path)
    metadata = {
        "generator_config": result.generator.config,
        "inverse_config": result.inverse.config,
        "source_channels": list(result.source_channels),
        "target_channels": list(result.target_channels),
        "normalisation": result.normalisation,
        "history": result.history,
        "method": result.method,
        "drain_version": result.drain_version,
        "selection": result.selection,
    }
    state = {
        "xgpm_checkpoint": CHECKPOINT_FORMAT,
        "generator": result.generator.state_dict(),
        "inverse": result.inverse.state_dict(),
        "discriminators": {str(k): d.state_dict() for k, d in result.discriminators.items()},
        "metadata": json.dumps({k: _plain(v, k) for k, v in metadata.items()}),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _checkpoint_metadata(state: Any, path: Path) -> dict[str, Any]:
    """The metadata of a loaded checkpoint (format 2: its JSON; format 1: its plain fields)."""
    import json

    from xgpm.errors import CheckpointError

    if not isinstance(state, dict) or not {"generator", "inverse", "discriminators"} <= set(state):
        found = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"checkpoint {path} is not a to_gmi training checkpoint: it holds {found}, not the "
            "networks 'generator', 'inverse', 'discriminators' that save_checkpoint writes. "
            "Pass a file written by xgpm.translate.cyclegan.save_checkpoint"
        )
    version = state.get("xgpm_checkpoint", 1)
    if not isinstance(version, int) or version > CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} has format {version!r}, newer than this xgpm reads "
            f"({CHECKPOINT_FORMAT}): upgrade xgpm to load it"
        )
    if version >= 2:
        raw = state.get("metadata")
        try:
            metadata = json.loads(raw) if isinstance(raw, str) else None
        except json.JSONDecodeError as error:
            raise CheckpointError(
                f"checkpoint {path}: its metadata is not valid JSON ({error}); the file is "
                "damaged: save the run again with save_checkpoint"
            ) from error
        if not isinstance(metadata, dict):
            raise CheckpointError(
                f"checkpoint {path}: its 'metadata' must be a JSON object (a string in the "
                f"file), got {type(raw).__name__}; the file is damaged or foreign: save the "
                "run again with save_checkpoint"
            )
    else:  # format 1: the fields are in the checkpoint itself (plain, since weights_only read it)
        metadata = {key: state[key] for key in _CHECKPOINT_FIELDS if key in state}
    missing = [key for key in _CHECKPOINT_FIELDS if key not in metadata and key != "selection"]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} lacks the metadata {missing}; the file is damaged or was not "
            "written by save_checkpoint: save the run again with save_checkpoint"
        )
    expected = {
        "generator_config": dict,
        "inverse_config": dict,
        "source_channels": (list, tuple),
        "target_channels": (list, tuple),
        "normalisation": dict,
        "history": list,
        "method": str,
        "drain_version": (str, type(None)),
        "selection": (dict, type(None)),
    }
    for key, kind in expected.items():
        if not isinstance(metadata.get(key), kind):
            raise CheckpointError(
                f"checkpoint {path}: metadata {key!r} has the wrong type "
                f"({type(metadata.get(key)).__name__}); the file is damaged or foreign: save "
                "the run again with save_checkpoint"
            )
    return metadata


def load_checkpoint(path: str | Path) -> CycleGANResult:
    """Read a run written by :func:`save_checkpoint`.

    The file is read with ``torch.load(..., weights_only=True)``: only tensors and plain
    containers are rebuilt, so a crafted file cannot run code. Checkpoints of format 1 (older
    xgpm) load too when their metadata holds plain Python values only.

    Parameters
    ----------
    path : path
        The checkpoint (``.pt``).

    Returns
    -------
    CycleGANResult
        The networks in eval mode on the CPU and the run's metadata.

    Raises
    ------
    CheckpointError
        The file holds Python objects other than tensors and plain containers (refused before
        anything in it runs), is damaged, is not a checkpoint, or its weights do not fit the
        networks its metadata describes. The message names the file and says what to do.
    StorageError
        The file is missing, a folder or unreadable.

    Notes
    -----
    An older xgpm could store NumPy numbers in a checkpoint's metadata, which
    ``weights_only=True`` refuses. To convert such a file **that you trust** once, allow
    NumPy's scalar types for that one load and save it again::

        import numpy as np, torch
        from xgpm.translate import cyclegan

        numpy_scalars = [np.float64(0).__reduce__()[0], np.dtype]
        numpy_scalars += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32")]
        with torch.serialization.safe_globals(numpy_scalars):
            result = cyclegan.load_checkpoint("old.pt")
        cyclegan.save_checkpoint(result, "old.pt")  # format 2: loads without any allowance
    """
    from xgpm.errors import CheckpointError
    from xgpm.models import _read_torch

    path = Path(path)
    state = _read_torch(path, what="checkpoint", remedy=_CHECKPOINT_REMEDY, numpy_remedy=_RESAVE)
    metadata = _checkpoint_metadata(state, path)
    part = "generator"
    try:
        generator = TBGenerator(**metadata["generator_config"])
        generator.load_state_dict(state["generator"])
        part = "inverse"
        config = metadata["inverse_config"]
        kind = FootprintInverse if "blur_sigma" in config else TBGenerator
        inverse = kind(**config)
        inverse.load_state_dict(state["inverse"])
        discriminators: dict[str, nn.Module] = {}
        if not isinstance(state["discriminators"], dict):
            raise TypeError("'discriminators' must map names to state dicts")
        for key, weights in state["discriminators"].items():
            part = f"discriminator {key!r}"
            if key == "features":  # DANN's domain classifier on DRAIN features
                from xgpm.translate.dann import DomainClassifier

                first = weights["net.0.weight"]  # (width, in_channels, 3, 3)
                module: nn.Module = DomainClassifier(int(first.shape[1]), int(first.shape[0]))
            else:
                channels = metadata["target_channels" if key == "gmi" else "source_channels"]
                module = PatchDiscriminator(len(channels))
            module.load_state_dict(weights)
            discriminators[key] = module.eval()
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        reason = " ".join(str(error).split())[:600]
        raise CheckpointError(
            f"checkpoint {path}: the {part} weights do not fit the network its metadata "
            f"describes ({type(error).__name__}: {reason}); the file is damaged or was edited: "
            "save the run again with save_checkpoint"
        ) from error
    try:
        return CycleGANResult(
            generator=generator.eval(),
            inverse=inverse.eval(),
            discriminators=discriminators,
            source_channels=tuple(str(c) for c in metadata["source_channels"]),
            target_channels=tuple(str(c) for c in metadata["target_channels"]),
            normalisation=metadata["normalisation"],
            history=metadata["history"],
            method=metadata["method"],
            drain_version=metadata["drain_version"],
            selection=metadata.get("selection"),
        )
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"checkpoint {path}: its metadata is inconsistent ({error}); save the run again "
            "with save_checkpoint"
        ) from error


def _nedt(sensor: str, labels: Sequence[str]) -> list[float]:
    """Registry NEDT (K) of each channel (0 where the registry has none)."""
    return [float(getattr(c, "nedt", 0.0) or 0.0) for c in _channels(sensor, labels)]


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
    from xgpm.translate.train import GMI_CHANNELS

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


# ------------------------------------------------------------------------------------------
# paired data and saving
# ------------------------------------------------------------------------------------------


def paired_training_fields(
    *,
    source: str = "ssmis",
    windows: Sequence[Any] | None = None,
    seed: int = 0,
    drain: str = "drain",
    cache: str | Path | None = None,
) -> list[Any]:
    """Paired simulated scenes (:class:`~xgpm.translate.train.PairedField`) for Red-GAN.

    Reads :func:`xgpm.translate.scenes.cached_paired_scenes` (the same truth seen at the same
    time by the source and by a GMI/DPR on the same orbit) over ``windows`` (default: every
    other one of :data:`xgpm.translate.scenes.TRAINING_WINDOWS`, 2021) and brings them onto
    the densified source swath with :func:`xgpm.translate.train.paired_fields`. Red-GAN's
    reference is ``field.drain_gmi`` (DRAIN on the paired GMI: known wherever the GMI sees);
    fine-tuning's is ``field.dpr`` (the radar, NaN outside its swath).
    """
    from xgpm.translate import scenes
    from xgpm.translate.train import SOURCE_SENSORS, paired_fields

    windows = list(windows) if windows is not None else list(scenes.TRAINING_WINDOWS[::2])
    platform = SOURCE_SENSORS[source][1].lower()
    items = scenes.cached_paired_scenes(
        windows, cache or "xgpm-paired-cache", source=platform, seed=seed, progress=False
    )
    return paired_fields(items, drain=drain, source=source)


def save_generator(
    name: str,
    result: CycleGANResult,
    *,
    method: str,
    source: str = "ssmis",
    training_data: str,
    command: str = "",
    metrics: Mapping[str, Any] | None = None,
    version: str = "0.1.0",
    directory: str | Path | None = None,
) -> Path:
    """Write ``result.generator`` and its card (``task: to_gmi``) into the model registry.

    Returns
    -------
    Path
        The card written.
    """
    from xgpm import models

    generator = result.generator
    kwargs = dict(generator.config)
    title = {"cyclegan_r": "CycleGAN_R", "redgan": "Red-GAN"}.get(method, method)
    document = {
        "name": name,
        "version": version,
        "task": "to_gmi",
        "method": method,
        "description": (
            f"{title} generator translating {source.upper()} brightness temperatures (densified "
            "to GMI sampling) into pseudo-GMI, as a bounded residual on the nearest channel "
            "(xgpm.translate.cyclegan)."
        ),
        "framework": "torch",
        "architecture": {"name": "xgpm.translate.cyclegan:TBGenerator", "kwargs": kwargs},
        "inputs": {
            "sensor": source.upper(),
            "sampling": "gmi",
            "channels": list(result.source_channels),
            "normalisation": result.normalisation,
        },
        "outputs": [
            {
                "name": "Tc",
                "units": "K",
                "dim": "pmw_frequency",
                "coords": list(result.target_channels),
                "long_name": "pseudo-GMI brightness temperature",
            }
        ],
        "receptive_margin": generator.receptive_margin,
        "divisibility": generator.divisibility,
        "training_data": training_data,
        "training": {
            "command": command,
            "steps": len(result.history),
            "minutes": round(result.history[-1]["seconds"] / 60.0, 2) if result.history else 0,
            "drain_version": result.drain_version,
        },
        "metrics": dict(metrics) if metrics else None,
    }
    models.register(document, module=generator, overwrite=True)
    try:
        return models.save(name, generator, base=name, directory=directory)
    finally:
        models.unregister(name)
