"""Two radiometers, one colour scale: the domain gap.

`plot_compare` puts SSMIS's 91.655 GHz and GMI's 89 GHz side by side on one shared scale (the
pooled 1st-99th percentile). The same storms look different: SSMIS's footprints are larger and
its overpass is about 20 minutes earlier. The same helper will show source vs pseudo-GMI vs GMI.
"""

import _data

import xgpm
from xgpm.plot import plot_compare

paths = _data.files("1C-GMI", "1C-SSMIS-F17")
gmi = xgpm.open_granule(paths["1C-GMI"][-1])
ssmis = xgpm.open_granule(paths["1C-SSMIS-F17"][0])
fig = plot_compare(
    [ssmis, gmi],
    "Tc",
    channel=["91V", "89V"],
    titles=["SSMIS F17 91V", "GMI 89V"],
    suptitle="Same scene, two sensors, one colour scale",
)
_data.save(fig, "compare_ssmis_gmi.png")
