"""The DPR against a ground radar: the same rain seen from space and from the ground.

Real data, not the simulated morning: GPM orbit 4383 (2A-Ku V05A) over the Mt Stapylton S-band
radar (IDR66, Brisbane) on 2014-12-06 near 09:50 UTC, from `tests/data/real` (wradlib-data,
MIT). `match_volumes` matches each DPR ray with each radar sweep where the two beams intersect
(Schwaller and Morris 2011), converts Ku to S band (Cao et al. 2013) and places the melting
layer from the DPR's bright band; `match_surface_rain` compares the near-surface rain with the
lowest sweep through Z = 200 R^1.6 on the DPR footprints. Dots on the radar map: the footprint
centres matched on its 0.5 degree sweep. Reflectivities below 10 dBZ are not drawn.
"""

from pathlib import Path

import _data
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyproj
import xradar

import xgpm
from xgpm.io.polar import open_polar_volume, polar_sweeps
from xgpm.plot import plot_map
from xgpm.verify.ground_radar import match_surface_rain, match_volumes, score_matches

DATA = Path(__file__).resolve().parents[2] / "tests/data/real/dpr_ground_radar_brisbane"
dpr = xgpm.open_granule(next(DATA.glob("2A-CS-*.HDF5"))).load()
gr = open_polar_volume(DATA / "IDR66_20141206_094829.vol.h5")
matched = match_volumes(dpr, gr)
rain = match_surface_rain(dpr, gr, zr=(200, 1.6))

# the lowest sweep on lon/lat, the radar's site and its 150 km range ring
sweep = xradar.georeference.get_x_y_z(polar_sweeps(gr)[0], target_crs="EPSG:4326")
dbzh = sweep["DBZH"].assign_coords(lon=sweep["x"], lat=sweep["y"])
site = gr.to_dataset(inherit=False)
lon0, lat0 = float(site["longitude"]), float(site["latitude"])
ring = pyproj.Geod(ellps="WGS84").fwd(
    np.full(361, lon0), np.full(361, lat0), np.arange(361.0), np.full(361, 150e3)
)
t_dpr = pd.Timestamp(matched["dpr_time"].to_series().median())
t_gr = pd.Timestamp(sweep["time"].values.min())

cmap = plt.get_cmap("viridis").with_extremes(under="none", bad="none")
scale = dict(cmap=cmap, vmin=10, vmax=50, projection=None)
scale["extent"] = (lon0 - 1.75, lon0 + 1.75, lat0 - 1.5, lat0 + 1.5)
fig, axes = plt.subplots(2, 2, figsize=(12, 10.5), layout="constrained")
title = f"GPM DPR Ku near-surface Z, {t_dpr:%H:%M:%S} UTC"
plot_map(dpr, "zFactorCorrectedNearSurface", ax=axes[0, 0], title=title, **scale)
title = f"IDR66 S band, 0.5 deg sweep, {t_gr:%H:%M:%S} UTC"
plot_map(dbzh, ax=axes[0, 1], title=title, **scale)
low = matched.where(matched["sweep"] == 0, drop=True)
axes[0, 1].scatter(low["lon"], low["lat"], s=1, c="k", alpha=0.5, lw=0)
for ax in axes[0]:
    ax.plot(ring[0], ring[1], "k--", lw=0.8)
    ax.plot(lon0, lat0, "r^", ms=7)

ax = axes[1, 0]
phases = {1: ("0.75", "melting layer"), 0: ("tab:blue", "rain"), 2: ("tab:purple", "snow")}
text = []
for phase, (colour, label) in phases.items():
    part = matched.where(matched["phase"] == phase, drop=True)
    n = part.sizes["sample"]
    ax.scatter(part["gr_dbz"], part["dpr_dbz_s"], s=4, c=colour, alpha=0.6, label=f"{label} ({n})")
    if phase != 1:
        s = score_matches(part)
        text.append(f"{label}: bias {float(s.bias):+.2f} dB, r {float(s.pearson_r):.3f}")
ax.plot([10, 55], [10, 55], "k-", lw=0.8)
ax.set(xlim=(10, 55), ylim=(10, 55), aspect="equal", title="Matched volumes")
ax.set(xlabel="ground radar DBZH (dBZ)", ylabel="DPR zFactorCorrected, Ku to S band (dBZ)")
ax.text(11, 54, "\n".join(text), va="top", fontsize=9)
ax.legend(loc="lower right", markerscale=3, fontsize=9)

ax = axes[1, 1]
s = score_matches(rain, thresholds=[1.0])
wet = (rain["dpr_rain"] > 0) | (rain["gr_rain"] > 0)
ax.scatter(rain["gr_rain"].where(wet).clip(0.05), rain["dpr_rain"].where(wet).clip(0.05), s=4)
ax.plot([0.05, 100], [0.05, 100], "k-", lw=0.8)
ax.set(xscale="log", yscale="log", xlim=(0.05, 100), ylim=(0.05, 100), aspect="equal")
ax.set(xlabel="ground radar 0.5 deg sweep, Z = 200 R^1.6 (mm/h)")
ax.set(ylabel="DPR precipRateNearSurface (mm/h)", title="Near-surface rain, DPR footprints")
note = f"{int(s.n)} footprints, 0 mm/h drawn at 0.05\nbias {float(s.bias):+.2f} mm/h, "
note += f"r {float(s.pearson_r):.3f}\nCSI (>= 1 mm/h) {float(s.csi.sel(threshold=1.0)):.2f}"
ax.text(0.06, 80, note, va="top", fontsize=9)
a = matched.attrs
fig.suptitle(
    f"GPM orbit 4383 vs Mt Stapylton radar, 2014-12-06 (DPR >= {a['dpr_min_dbz']:g} dBZ, "
    f"GR >= {a['gr_min_dbz']:g} dBZ, melting layer {a['melting_layer_bottom_m'] / 1e3:.1f}-"
    f"{a['melting_layer_top_m'] / 1e3:.1f} km)"
)
_data.save(fig, "dpr_ground_radar.png")
