"""Scoring IMERG against the radar: categorical scores and the fractions skill score.

`xgpm.score` returns an `xarray.Dataset` of scores; the pooled ones have `threshold` (and for
the FSS `scale`) dimensions, so each panel below is one line of plain matplotlib.
"""

import _data
import matplotlib.pyplot as plt

import xgpm
from xgpm.io.odim import open_radar_composite
from xgpm.reference import reference_for

paths = _data.files("IMERG-FR", "RADAR-COMPOSITE")
imerg = xgpm.open_granules(paths["IMERG-FR"]).load()
radar = open_radar_composite(paths["RADAR-COMPOSITE"])
ref = reference_for(radar, imerg, min_coverage=1.0, min_valid_fraction=0.9)
scores = xgpm.score(
    imerg["precipitation"].sel(time=ref["time"]),
    ref["precipitation"],
    thresholds=(0.2, 0.5, 1.0, 2.0, 5.0),
    scales=(1, 3, 5, 11, 21),
)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for name in ("pod", "far", "csi"):
    scores[f"pooled_{name}"].plot(ax=left, marker="o", label=name.upper())
left.set_xscale("log")
left.set_xticks(scores["threshold"].values, labels=[f"{t:g}" for t in scores["threshold"].values])
left.minorticks_off()
left.set_xlabel("threshold (mm/h)")
left.set_ylabel("score")
left.set_ylim(0, 1)
left.legend()
left.set_title("IMERG vs radar: POD, FAR, CSI")
for threshold in (0.5, 1.0, 5.0):
    scores["pooled_fss"].sel(threshold=threshold).plot(
        ax=right, marker="o", label=f">= {threshold:g} mm/h"
    )
right.set_xlabel("neighbourhood (cells of 0.1 deg)")
right.set_ylabel("FSS")
right.set_ylim(0, 1)
right.legend()
right.set_title("Fractions skill score by scale")
_data.save(fig, "scores.png")
