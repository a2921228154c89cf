"""DPR rain, and the same rain seen through GMI's 89 GHz footprints.

Rain rates (units mm/h) get the rain colour scale automatically: log-spaced levels from 0.1 to
50 mm/h, dry pixels transparent. `xgpm.colocate` convolves the DPR's 5 km rain with GMI's
Gaussian antenna pattern; `plot_compare` shows both on the same levels.
"""

import _data

import xgpm
from xgpm.plot import plot_compare

paths = _data.files("1C-GMI", "2A-DPR")
gmi = xgpm.open_granule(paths["1C-GMI"][-1])
dpr = xgpm.open_granule(paths["2A-DPR"][-1], variables=["precipRateNearSurface"])
on_gmi = xgpm.colocate(
    dpr,
    gmi,
    radius_km=10.0,
    method="gaussian",
    sensor="GMI",
    channel="89V",
    variables=["precipRateNearSurface"],
    on_empty="nan",
)
fig = plot_compare(
    [dpr, on_gmi],
    "precipRateNearSurface",
    titles=["DPR near-surface rain", "DPR rain on GMI 89 GHz footprints"],
)
_data.save(fig, "dpr_rain.png")
