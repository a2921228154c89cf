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

This module is the public face of the translation networks and their training; the code lives in
:mod:`~xgpm.translate.channel_map` (channel correspondence, footprint blur),
:mod:`~xgpm.translate.networks` (generator, inverse, discriminators), :mod:`~xgpm.translate.losses`
(losses and the frozen DRAIN), :mod:`~xgpm.translate.training` (the loop and CycleGAN_R/Red-GAN),
:mod:`~xgpm.translate.sharpening` (stage 1), :mod:`~xgpm.translate.checkpoints` (checkpoints and
the registry) and :mod:`~xgpm.translate.data` (paired fields). Every name below stays importable
from here; the model cards name ``xgpm.translate.cyclegan:TBGenerator``.
"""

from __future__ import annotations

from xgpm._deprecated import moved_names
from xgpm.translate.channel_map import (
    channel_similarity,
    footprint_blur_sigmas,
    nearest_channel_map,
)
from xgpm.translate.checkpoints import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    save_checkpoint,
    save_generator,
)
from xgpm.translate.data import paired_training_fields
from xgpm.translate.losses import cycle_consistency, rain_consistency_loss
from xgpm.translate.networks import (
    DEFAULT_TB_RANGE,
    FootprintInverse,
    PatchDiscriminator,
    TBGenerator,
)
from xgpm.translate.sharpening import train_sharpening
from xgpm.translate.training import (
    DEFAULT_LOSS_WEIGHTS,
    CycleGANResult,
    fine_tune,
    set_threads,
    train_cyclegan,
)

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

# The private helpers that lived here before the split, for code that reached for them.
__getattr__ = moved_names(
    __name__,
    {
        **dict.fromkeys(
            ("_channels", "_channel_table", "_distance", "_nedt"), "xgpm.translate.channel_map"
        ),
        **dict.fromkeys(
            ("_LOW_PASS", "_low_pass", "_low_frequency_loss", "_Drain"), "xgpm.translate.losses"
        ),
        **dict.fromkeys(
            (
                "_BestState",
                "_LOSSES",
                "_Run",
                "_stats",
                "_check_tiles",
                "_standardise",
                "_rain_pairs",
            ),
            "xgpm.translate.training",
        ),
        **dict.fromkeys(
            (
                "_CHECKPOINT_FIELDS",
                "_RESAVE",
                "_CHECKPOINT_REMEDY",
                "_plain",
                "_checkpoint_metadata",
            ),
            "xgpm.translate.checkpoints",
        ),
    },
)
