"""Polarisation-corrected temperature (PCT89) of both radiometers.

`ds.gpm.pct(89)` removes most of the surface's polarisation signal (PCT = 1.7 V - 0.7 H), so
what stays cold is ice scattering; `plot_compare` shows GMI and SSMIS on one scale.
"""

import _data

import xgpm
from xgpm.plot import plot_compare

paths = _data.files("1C-GMI", "1C-SSMIS-F17")
gmi = xgpm.open_granule(paths["1C-GMI"][-1])
ssmis = xgpm.open_granule(paths["1C-SSMIS-F17"][0])
fig = plot_compare(
    [ssmis.gpm.pct(89), gmi.gpm.pct(89)],
    titles=["SSMIS F17 PCT89", "GMI PCT89"],
    vmin=180,
    vmax=290,
)
_data.save(fig, "pct.png")
