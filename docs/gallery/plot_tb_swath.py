"""A GMI swath on a map.

`plot_map` draws a swath's 89 GHz brightness temperatures on cartopy's Plate Carree axes (plain
lon/lat axes without cartopy), with coastlines and the perceptually ordered TB colour map.
Cold spots are ice scattering above convection.
"""

import _data

import xgpm
from xgpm.plot import plot_map

paths = _data.files("1C-GMI")
gmi = xgpm.open_granule(paths["1C-GMI"][-1])  # the morning's second overpass
mesh = plot_map(gmi, "Tc", channel="89V", vmin=180, vmax=290)
_data.save(mesh.figure, "tb_swath.png")
