"""Fit the ``quantile_mapping`` baseline on simulated scenes and save it in the registry.

``python -m xgpm.translate.fit_baselines --cache DIR [--days 1] [--save]`` simulates (or reads
from the cache) scenes of :data:`xgpm.translate.scenes.TRAINING_WINDOWS`, pools their pixels
(the pairing is not used: the source and GMI distributions are matched as if unpaired) and
fits :class:`xgpm.translate.baselines.QuantileMapping` on the source swath densified to GMI's
spacing (what the model sees at run time) against the GMI swath.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from xgpm.translate.baselines import (
    GMI_CHANNELS,
    QuantileMapping,
    channel_mapping,
    surface_class,
    water_vapour_channels,
)

__all__ = ["fit_quantile_mapping", "quantile_mapping_card", "main"]


def _pixels(ds: xr.Dataset, channels: Sequence[str], max_pixels: int, rng: Any) -> tuple:
    tc = ds["Tc"].sel(pmw_frequency=list(channels)).transpose("cross_track", "along_track", ...)
    tb = np.asarray(tc.values, dtype=np.float32).reshape(-1, len(channels))
    lon = np.asarray(ds["lon"].transpose("cross_track", "along_track").values).ravel()
    lat = np.asarray(ds["lat"].transpose("cross_track", "along_track").values).ravel()
    keep = np.flatnonzero(np.isfinite(tb).all(axis=1))
    if keep.size > max_pixels:
        keep = rng.choice(keep, max_pixels, replace=False)
    return tb[keep], surface_class(lon[keep], lat[keep])


def fit_quantile_mapping(
    scenes: Iterable[Any],
    source: str = "SSMIS-F17",
    *,
    max_pixels_per_scene: int = 100_000,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[QuantileMapping, int]:
    """Fit quantile mapping on :class:`~xgpm.translate.scenes.PairedScene` objects.

    Returns
    -------
    (QuantileMapping, int)
        The fitted model and the number of scenes used.
    """
    from xgpm import sensors
    from xgpm.translate.grid import to_gmi_sampling

    mapping = {g: s for g, (s, _) in channel_mapping(source).items()}
    wv = water_vapour_channels(source)
    labels: list[str] = []
    for label in sensors.get(source).labels:
        if label in {*mapping.values(), *wv} and label not in labels:
            labels.append(label)
    rng = np.random.default_rng(seed)
    src_tb, src_surface, gmi_tb, gmi_surface = [], [], [], []
    n = 0
    for scene in scenes:
        tb, surface = _pixels(to_gmi_sampling(scene.source), labels, max_pixels_per_scene, rng)
        src_tb.append(tb)
        src_surface.append(surface)
        tb, surface = _pixels(scene.gmi, GMI_CHANNELS, max_pixels_per_scene, rng)
        gmi_tb.append(tb)
        gmi_surface.append(surface)
        n += 1
    model = QuantileMapping(labels, mapping, wv, water_vapour_channels("GMI"), **kwargs)
    model.fit(
        np.concatenate(src_tb),
        np.concatenate(src_surface),
        np.concatenate(gmi_tb),
        np.concatenate(gmi_surface),
    )
    return model, n


def quantile_mapping_card(
    instrument: str, model: QuantileMapping, training_data: str
) -> dict[str, Any]:
    """The card of ``quantile_mapping-<instrument>`` for a fitted model."""
    counts = model.counts
    return {
        "name": f"quantile_mapping-{instrument.lower()}",
        "task": "to_gmi",
        "method": "quantile_mapping",
        "version": "1.0.0",
        "description": (
            "Per-channel quantile mapping y = F_GMI^-1(F_source(x)) of the source channel "
            "standing for each GMI channel (the identity's correspondence), with empirical "
            f"CDFs ({len(model.probabilities)} quantiles) per stratum: surface (ocean, land, "
            "coast from the land mask at the pixel's lon/lat) x water-vapour class (terciles of "
            f"TB({model.source_wv[0]}) - TB({model.source_wv[1]}) for the source, "
            f"TB({model.gmi_wv[0]}) - TB({model.gmi_wv[1]}) for GMI, per surface). Strata with "
            f"fewer than {model.min_samples} pixels fall back to their surface's pooled table. "
            "Slope 1 beyond the tables' ends. Pixel-wise: it corrects distributions, not "
            "footprints (no sharpening)."
        ),
        "framework": "numpy",
        "architecture": {"name": "xgpm.translate.baselines:QuantileMapping"},
        "inputs": {
            "sensor": instrument,
            "sampling": "gmi",
            "channels": list(model.source_channels),
            "auxiliary": ["surface_type"],
        },
        "outputs": [
            {"name": "Tc", "units": "K", "dim": "pmw_frequency", "coords": list(model.outputs)}
        ],
        "receptive_margin": 0,
        "divisibility": 1,
        "training_data": training_data,
        "metrics": {
            "pixels_source": int(counts[0, -1, -1]),
            "pixels_gmi": int(counts[1, -1, -1]),
        },
        "weights": f"quantile_mapping-{instrument.lower()}.npz",
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: fit on cached/simulated training scenes, optionally save to the registry."""
    import yaml

    from xgpm.translate.scenes import TRAINING_WINDOWS, Window, cached_paired_scenes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="scene cache directory")
    parser.add_argument("--source", default="ssmis-f17")
    parser.add_argument("--instrument", default="SSMIS", help="card sensor prefix")
    parser.add_argument("--days", type=float, default=1.0, help="days per training window")
    parser.add_argument(
        "--starts",
        nargs="*",
        default=["2021-01-12", "2021-07-12"],
        help="window starts taken from TRAINING_WINDOWS",
    )
    parser.add_argument("--save", action="store_true", help="write card + weights to xgpm")
    parser.add_argument("--out", default=None, help="registry directory (default: the package)")
    args = parser.parse_args(argv)
    windows = [
        Window(w.region, w.start, args.days) for w in TRAINING_WINDOWS if w.start in args.starts
    ]
    scenes = cached_paired_scenes(windows, args.cache, source=args.source)
    model, n = fit_quantile_mapping(scenes, args.source)
    described = "; ".join(str(w) for w in windows)
    training = (
        f"Fitted on simulated data only: {n} overpasses of {args.source.upper()} and of a "
        "virtual GMI on the same orbit (xgpm.translate.scenes.paired_scenes; pixels pooled, "
        f"the pairing unused), windows: {described}. Not real SSMIS or GMI observations."
    )
    card = quantile_mapping_card(args.instrument, model, training)
    print(yaml.safe_dump(card["metrics"]))
    if args.save:
        root = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / "models"
        (root / "weights").mkdir(parents=True, exist_ok=True)
        (root / "cards").mkdir(parents=True, exist_ok=True)
        model.save(root / "weights" / card["weights"])
        (root / "cards" / f"{card['name']}.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
        print("saved", root / "cards" / f"{card['name']}.yaml")


if __name__ == "__main__":
    main()
