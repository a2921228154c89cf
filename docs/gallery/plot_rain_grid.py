"""IMERG and the ground-radar reference on IMERG's grid.

`plot_map` and `plot_compare` draw `(time, lat, lon)` grids at one `time=` (an index or a
date). The radar composite is aggregated to half hours and regridded to IMERG's 0.1 degree
cells by `xgpm.reference.reference_for`; here the wettest half hour of the window.
"""

import _data

import xgpm
from xgpm.io.odim import open_radar_composite
from xgpm.plot import plot_compare
from xgpm.reference import reference_for

paths = _data.files("IMERG-FR", "RADAR-COMPOSITE")
imerg = xgpm.open_granules(paths["IMERG-FR"]).load()
radar = open_radar_composite(paths["RADAR-COMPOSITE"])
ref = reference_for(radar, imerg, min_coverage=1.0, min_valid_fraction=0.9)
forecast = imerg["precipitation"].sel(time=ref["time"])
wettest = ref["time"].values[int(ref["precipitation"].mean(("lat", "lon")).argmax("time"))]
fig = plot_compare(
    [forecast, ref["precipitation"].assign_attrs(units=forecast.attrs["units"])],
    time=wettest,
    titles=["IMERG (simulated)", "radar reference"],
)
_data.save(fig, "rain_grid.png")
