"""Randomly initialised models for tests and benchmarks (never "trained" weights).

:func:`random_unet` builds a :class:`~xgpm.models.unet.DrainUNet` with He-normal weights, so its
outputs vary clearly with the input (PyTorch's default initialisation shrinks activations layer
after layer and gives a nearly constant output, which would make tiling tests pass trivially).
:func:`register_random_unet` registers such a model in memory under a new name, from a shipped
card (``drain`` by default) with optional architecture changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xgpm import models

__all__ = [
    "CHANNELS",
    "random_unet",
    "register_random_unet",
    "synthetic_orbit",
    "tiny_card",
]

CHANNELS = ["37V", "37H", "89V", "89H"]
#: Real GMI means and standard deviations (SatRain obs_gmi.nc), K.
MEAN = (267.26, 255.77, 271.86, 265.38)
STD = (19.61, 34.0, 15.53, 21.92)
#: Depression of each channel per unit of "ice" (89 GHz scatters most).
SCATTERING = (8.0, 6.0, 45.0, 40.0)


def synthetic_orbit(rows: int = 221, cols: int = 2959, seed: int = 0):
    """A GMI-like ``Tc`` swath: smooth backgrounds plus cold scattering cells, float32.

    Random but realistic brightness temperatures of DRAIN's four channels on a
    ``(cross_track, along_track, pmw_frequency)`` DataArray (a full orbit by default), for
    benchmarks. Not a simulation: see :mod:`xgpm.simulate` for physics.
    """
    import numpy as np
    import xarray as xr
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    background = gaussian_filter(rng.normal(0, 1, (rows, cols)), 12) * 40  # ~unit variance
    ice = np.clip(gaussian_filter(rng.gamma(0.15, 1.0, (rows, cols)), 3) * 6 - 0.4, 0, None)
    tb = (
        np.asarray(MEAN)
        + 0.8 * np.asarray(STD) * background[..., None]
        - np.asarray(SCATTERING) * ice[..., None]
        + rng.normal(0, 0.6, (rows, cols, 4))
    ).astype(np.float32)
    lat = np.linspace(-65, 65, cols)[None, :] + np.linspace(-4, 4, rows)[:, None]
    lon = np.linspace(-180, 180, cols)[None, :] + np.linspace(-5, 5, rows)[:, None]
    return xr.DataArray(
        tb,
        dims=("cross_track", "along_track", "pmw_frequency"),
        coords={
            "pmw_frequency": CHANNELS,
            "lat": (("cross_track", "along_track"), lat.astype(np.float32)),
            "lon": (("cross_track", "along_track"), lon.astype(np.float32)),
        },
        attrs={"gpm_api_product": "1C-GMI"},
        name="Tc",
    )


def random_unet(seed: int = 0, **kwargs: Any):
    """A :class:`DrainUNet` with He-normal convolution weights (deterministic for ``seed``)."""
    import torch

    from xgpm.models.unet import DrainUNet

    generator = torch.Generator().manual_seed(seed)
    module = DrainUNet(**kwargs)
    for layer in module.modules():
        if isinstance(layer, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            fan_in = layer.weight[0].numel() if isinstance(layer, torch.nn.Conv2d) else None
            if fan_in is None:  # ConvTranspose2d weight: (in, out, kh, kw)
                fan_in = layer.weight.shape[0] * layer.weight.shape[2] * layer.weight.shape[3] // 4
            std = (2.0 / fan_in) ** 0.5
            with torch.no_grad():
                layer.weight.normal_(0.0, std, generator=generator)
                if layer.bias is not None:
                    layer.bias.normal_(0.0, 0.1, generator=generator)
    return module.eval()


def tiny_card(
    name: str, base: str = "drain", architecture: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A copy of ``base``'s card under ``name`` with architecture kwargs changed.

    The receptive margin and divisibility are recomputed from the new architecture.
    """
    from xgpm.models.unet import receptive_margin

    document = models.card(base).to_dict()
    document["name"] = name
    kwargs = {**document["architecture"].get("kwargs", {}), **dict(architecture or {})}
    document["architecture"]["kwargs"] = kwargs
    depth = int(kwargs.get("depth", 3))
    document["receptive_margin"] = receptive_margin(
        depth, int(kwargs.get("convs_per_block", 2)), int(kwargs.get("kernel_size", 3))
    )
    document["divisibility"] = 2**depth
    document["weights"] = None
    document["training_data"] = "Randomly initialised (untrained), for tests and benchmarks."
    return document


def register_random_unet(
    name: str,
    base: str = "drain",
    architecture: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> models.ModelSpec:
    """Register (in memory, overwriting) a randomly initialised U-Net named ``name``."""
    document = tiny_card(name, base, architecture)
    module = random_unet(seed, **document["architecture"]["kwargs"])
    return models.register(document, module=module, overwrite=True)
