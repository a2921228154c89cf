"""Data for the gallery scripts: the simulated ``xgpm demo`` morning over France.

Each gallery script asks for the products it needs with :func:`files`. Where they come from:

1. ``$XGPM_GALLERY_DATA``, if its ``catalog.csv`` lists them (e.g. the folder an ``xgpm demo``
   run simulated into): its files, nothing is simulated;
2. otherwise a small, coarse simulation (``truth_res_km=10``, ``radar_step="30min"``) of the
   same window, written once into ``$XGPM_GALLERY_DATA`` or ``~/.cache/xgpm/gallery`` and reused
   afterwards. ``$XGPM_GALLERY_START`` and ``$XGPM_GALLERY_HOURS`` shorten the window (tests).

Figures go to ``$XGPM_GALLERY_OUT`` (default: ``docs/gallery/images`` next to this file).
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

START = os.environ.get("XGPM_GALLERY_START", "2021-06-15T04:30")
HOURS = float(os.environ.get("XGPM_GALLERY_HOURS", "2.5"))
OUT = Path(os.environ.get("XGPM_GALLERY_OUT", Path(__file__).parent / "images"))


def files(*products: str) -> dict[str, list[Path]]:
    """Paths per product (``"1C-GMI"``, ``"IMERG-FR"`` ...), simulated first if needed."""
    sensors = {
        "1C-GMI": "gmi",
        "1C-SSMIS-F17": "ssmis-f17",
        "2A-DPR": "dpr",
        "IMERG-FR": "imerg",
        "RADAR-COMPOSITE": "radar",
    }
    root = Path(os.environ.get("XGPM_GALLERY_DATA", Path.home() / ".cache" / "xgpm" / "gallery"))
    catalog = pd.read_csv(root / "catalog.csv") if (root / "catalog.csv").exists() else None
    if catalog is None or not set(products) <= set(catalog["product"]):
        # simulate_to_disk keeps the files already there: only what is missing is computed
        from xgpm.simulate.products import simulate_to_disk

        catalog = simulate_to_disk(
            root,
            "france",
            START,
            days=HOURS / 24.0,
            sensors=",".join(sensors[p] for p in products),
            seed=0,
            truth_res_km=10.0,
            radar_step="30min",
            progress=False,
        )
    found = {
        p: sorted(root / f for f in catalog.loc[catalog["product"] == p, "path"]) for p in products
    }
    missing = [p for p, paths in found.items() if not paths]
    if missing:
        raise SystemExit(f"no {missing} files in {root} between {START} and +{HOURS} h")
    return found


def save(fig, name: str) -> Path:
    """Save a figure as ``OUT/name`` (PNG, small) and close it."""
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")
    return path
