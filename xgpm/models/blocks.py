"""U-Net building blocks shared by DRAIN and the to_gmi generators.

:class:`~xgpm.models.unet.DrainUNet` (DRAIN) and :class:`~xgpm.translate.networks.TBGenerator`
(CycleGAN_R, Red-GAN, DANN) are the same U-Net: ``depth`` levels of ``convs_per_block``
convolutions, 2 x 2 max-pooling, a bottleneck, 2 x 2 stride-2 transposed convolutions and
decoder blocks that read the skip connection concatenated with the upsampled deeper level. They
differ only in their blocks (DRAIN: convolution without bias, BatchNorm, ReLU; the generators:
convolution with bias, LeakyReLU 0.2) and in their heads.

:class:`UNetTrunk` builds that trunk as the attributes ``encoders``, ``pool``, ``bottleneck``,
``upsamples`` and ``decoders`` of the network itself, in that order, so the state-dict keys of
both networks (``encoders.0.0.weight``, ``decoders.1.3.bias`` ...) are those of the weights they
have always written. :func:`receptive_margin` is the exact receptive margin of that topology.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["UNetTrunk", "conv_block", "receptive_margin", "unet_widths"]


def conv_block(
    in_channels: int,
    out_channels: int,
    n_convs: int,
    kernel_size: int,
    *,
    batch_norm: bool,
    negative_slope: float = 0.0,
) -> nn.Sequential:
    """``n_convs`` same-size convolutions, each followed by its normalisation and activation.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels read by the first convolution and produced by every one.
    n_convs, kernel_size : int
        Number of convolutions and their (odd) size; padding keeps the image size.
    batch_norm : bool
        ``True``: convolution without bias, then ``BatchNorm2d`` (DRAIN); ``False``: convolution
        with bias, no normalisation (the generators).
    negative_slope : float
        ``0``: ``ReLU``; otherwise ``LeakyReLU(negative_slope)`` (in place either way).
    """
    layers: list[nn.Module] = []
    for i in range(n_convs):
        layers.append(
            nn.Conv2d(
                in_channels if i == 0 else out_channels,
                out_channels,
                kernel_size,
                padding=kernel_size // 2,
                bias=not batch_norm,  # BatchNorm's shift replaces the bias
            )
        )
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(
            nn.LeakyReLU(negative_slope, inplace=True) if negative_slope else nn.ReLU(inplace=True)
        )
    return nn.Sequential(*layers)


def unet_widths(base_channels: int, depth: int, max_channels: int | None) -> list[int]:
    """Feature maps per level, ``0 .. depth`` (doubled at each pooling, capped)."""
    cap = max_channels or 10**9
    return [min(base_channels * 2**level, cap) for level in range(depth + 1)]


class UNetTrunk(nn.Module):
    """A U-Net without its head: subclasses call :meth:`_build_trunk`, then add their head.

    The trunk's modules are attributes of the subclass itself (``encoders``, ``pool``,
    ``bottleneck``, ``upsamples``, ``decoders``), registered in that order; the decoder lists
    run from the deepest level (``depth - 1``) up to level 0.
    """

    def _build_trunk(
        self,
        in_channels: int,
        widths: Sequence[int],
        convs_per_block: int,
        kernel_size: int,
        *,
        batch_norm: bool,
        negative_slope: float = 0.0,
    ) -> None:
        depth = len(widths) - 1

        def block(n_in: int, n_out: int) -> nn.Sequential:
            return conv_block(
                n_in,
                n_out,
                convs_per_block,
                kernel_size,
                batch_norm=batch_norm,
                negative_slope=negative_slope,
            )

        self.encoders = nn.ModuleList(
            block(in_channels if level == 0 else widths[level - 1], widths[level])
            for level in range(depth)
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = block(widths[depth - 1], widths[depth])
        self.upsamples = nn.ModuleList(
            nn.ConvTranspose2d(widths[level + 1], widths[level], 2, stride=2)
            for level in reversed(range(depth))
        )
        self.decoders = nn.ModuleList(
            block(2 * widths[level], widths[level]) for level in reversed(range(depth))
        )

    def _trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Features at full resolution (``widths[0]`` channels) of a batch ``(B, C, H, W)``.

        ``H`` and ``W`` must be multiples of ``2**depth`` (the subclass checks, with its own
        message).
        """
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        decoder_levels = zip(self.upsamples, self.decoders, reversed(skips), strict=True)
        for upsample, decoder, skip in decoder_levels:
            x = decoder(torch.cat([skip, upsample(x)], dim=1))
        return x


def receptive_margin(depth: int, convs_per_block: int = 2, kernel_size: int = 3) -> int:
    """Exact one-sided receptive margin (input pixels) of a :class:`UNetTrunk` geometry.

    The output at pixel ``x`` depends on input pixels ``[x - m, x + m]`` only, whatever the
    position of ``x`` relative to the pooling grid. Computed by propagating the interval of
    dependence backwards through every layer (``convs_per_block`` convolutions of
    ``kernel_size`` per block, 2x2 max-pooling, 2x2 stride-2 transposed convolution) for each
    of the ``2**depth`` grid phases. A 1 x 1 head adds nothing.

    Parameters
    ----------
    depth, convs_per_block, kernel_size : int
        The architecture's geometry (as in :class:`~xgpm.models.unet.DrainUNet`).

    Returns
    -------
    int
        The margin ``m``.
    """
    grow = convs_per_block * (kernel_size // 2)  # a block widens an interval by this, each side

    def encoder_output(level: int, lo: int, hi: int) -> tuple[int, int]:
        lo, hi = lo - grow, hi + grow  # the encoder block at `level`
        if level == 0:
            return lo, hi
        return encoder_output(level - 1, 2 * lo, 2 * hi + 1)  # max-pool from level - 1

    def decoder_output(level: int, lo: int, hi: int) -> tuple[int, int]:
        lo, hi = lo - grow, hi + grow  # the decoder (or bottleneck) block at `level`
        if level == depth:  # bottleneck: input is the pooled last encoder output
            return encoder_output(depth - 1, 2 * lo, 2 * hi + 1)
        skip = encoder_output(level, lo, hi)
        deep = decoder_output(level + 1, lo // 2, hi // 2)  # transposed conv: x <- x // 2
        return min(skip[0], deep[0]), max(skip[1], deep[1])

    margin = 0
    for x in range(2**depth):
        lo, hi = decoder_output(0, x, x)
        margin = max(margin, x - lo, hi - x)
    return margin
