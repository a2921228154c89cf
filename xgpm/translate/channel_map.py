"""Channel correspondence between two radiometers, from the sensor registry.

For each target channel the nearest source channel (log frequency, sideband offset,
polarisation: :func:`nearest_channel_map`), how alike the two are (:func:`channel_similarity`,
the weight of the low-frequency consistency loss), the Gaussian blur taking a target channel to
its source channel's footprint (:func:`footprint_blur_sigmas`, the physics of
:class:`~xgpm.translate.networks.FootprintInverse`) and the registry NEDT of each channel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["channel_similarity", "footprint_blur_sigmas", "nearest_channel_map"]


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


def _nedt(sensor: str, labels: Sequence[str]) -> list[float]:
    """Registry NEDT (K) of each channel (0 where the registry has none)."""
    return [float(getattr(c, "nedt", 0.0) or 0.0) for c in _channels(sensor, labels)]
