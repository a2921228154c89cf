"""asv benchmarks of ``to_gmi`` (xgpm.translate) followed by DRAIN's ``rainrate``.

The input is one SSMIS-F17 swath: the simulator's geometry of one granule (180 pixels per
scan, about 3210 scans a full orbit) with random-but-realistic brightness temperatures
(:func:`ssmis_swath`; smooth backgrounds and cold scattering cells, not physics). DRAIN has
random weights of the real network size (no trained file needed); the translation is a
registered card (``identity``, and ``quantile_mapping`` when its weights are shipped).
"""

from __future__ import annotations

import numpy as np

RAIN_MODEL = "drain-random"
#: SSMIS channel -> (mean K, std K, scattering depression K per unit of ice)
_CHANNELS = {
    "19V": (255.0, 12.0, 2.0),
    "19H": (200.0, 30.0, 2.0),
    "22V": (258.0, 10.0, 3.0),
    "37V": (250.0, 12.0, 8.0),
    "37H": (215.0, 25.0, 8.0),
    "150H": (260.0, 8.0, 60.0),
    "183H1": (240.0, 6.0, 40.0),
    "183H3": (250.0, 6.0, 50.0),
    "183H7": (260.0, 7.0, 60.0),
    "91V": (265.0, 10.0, 40.0),
    "91H": (245.0, 20.0, 40.0),
}


def ssmis_swath(along_track: int = 3211, seed: int = 0, granule: int = 176_000):
    """A 1C-SSMIS-F17-like Dataset (180 x ``along_track`` pixels, 11 channels), float32."""
    import xarray as xr
    from scipy.ndimage import gaussian_filter

    from xgpm.simulate.orbits import swath_geometry

    geom = swath_geometry("SSMIS-F17", granule, scan_modes=["S3"], scans=slice(0, along_track))
    rows, cols = geom.modes["S3"].lon.shape
    rng = np.random.default_rng(seed)
    background = gaussian_filter(rng.normal(0, 1, (rows, cols)), 6) * 20
    ice = np.clip(gaussian_filter(rng.gamma(0.15, 1.0, (rows, cols)), 2) * 6 - 0.4, 0, None)
    mean, std, scattering = (np.array(v) for v in zip(*_CHANNELS.values(), strict=True))
    tb = mean + 0.8 * std * background[..., None] - scattering * ice[..., None]
    tb = (tb + rng.normal(0, 0.5, tb.shape)).astype(np.float32)
    return xr.Dataset(
        {"Tc": (("cross_track", "along_track", "pmw_frequency"), tb, {"units": "K"})},
        coords={**geom.coords("S3"), "pmw_frequency": list(_CHANNELS)},
        attrs={"gpm_api_product": "1C-SSMIS-F17", "xgpm_sensor": "SSMIS-F17"},
    )


def translation_models() -> list[str]:
    """The shipped SSMIS translation methods with weights, simplest first."""
    from xgpm import models
    from xgpm.translate import to_gmi_models

    ready = set(models.list(with_weights=True))
    return [str(s.raw["method"]) for s in to_gmi_models("SSMIS-F17") if s.name in ready]


class ToGmiRainrate:
    """to_gmi + rainrate on an SSMIS swath: eager (NumPy) and lazy (dask, auto blocks)."""

    params = (["identity", "quantile_mapping"], [400, 3211])
    smoke_params = (["identity"], [40])  # tests/test_asv.py
    param_names = ["method", "along_track"]
    timeout = 600

    def setup(self, method, along_track):
        from xgpm.models._testing import register_random_unet
        from xgpm.retrieve import rainrate
        from xgpm.translate import to_gmi

        if method not in translation_models():
            raise NotImplementedError(f"no {method} weights shipped")  # asv skips
        register_random_unet(RAIN_MODEL, base="drain")
        self.to_gmi, self.rainrate, self.method = to_gmi, rainrate, method
        self.ds = ssmis_swath(along_track)
        self.rainrate(self.to_gmi(self.ds.isel(along_track=slice(0, 20)), method), RAIN_MODEL)

    def teardown(self, method, along_track):
        from xgpm import models

        models.unregister(RAIN_MODEL)

    def time_to_gmi(self, method, along_track):
        self.to_gmi(self.ds, self.method)

    def time_to_gmi_rainrate_eager(self, method, along_track):
        self.rainrate(self.to_gmi(self.ds, self.method), RAIN_MODEL, quantiles=())

    def time_to_gmi_rainrate_dask(self, method, along_track):
        pseudo = self.to_gmi(self.ds, self.method, chunks="auto")
        self.rainrate(pseudo, RAIN_MODEL, quantiles=(), chunks="auto").compute()

    def peakmem_to_gmi_rainrate_dask(self, method, along_track):
        pseudo = self.to_gmi(self.ds, self.method, chunks="auto")
        self.rainrate(pseudo, RAIN_MODEL, quantiles=(), chunks="auto").compute()
