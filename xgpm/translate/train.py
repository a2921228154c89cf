"""``xgpm train to-gmi``: train a TB-field translation model (CycleGAN_R, Red-GAN) to pseudo-GMI.

Training reads *unpaired* scenes: brightness temperatures of the source radiometer (SSMIS),
densified to GMI's pixel spacing by :func:`xgpm.translate.grid.to_gmi_sampling`, and of GMI,
from either

- a directory of PPS granules (``--granules DIR``: ``1C-SSMIS-F1x`` and ``1C-GMI`` files, or the
  ``catalog.csv`` that ``xgpm simulate`` writes), or
- the simulator itself (``--simulate``), which caches one small ``.npz`` per overpass in
  ``--cache DIR`` so that a second run does not simulate again.

Each overpass is cut into all-finite tiles (``--tile ROWS COLS`` on (cross_track, along_track));
the tiles are what :func:`xgpm.translate.cyclegan.train_cyclegan` trains on. Red-GAN
(``--method redgan``) also needs *paired* tiles (source and GMI of the same scene at the same
time): they come from :func:`xgpm.translate.scenes.paired_scenes` (``--paired-days``).

``--method dann`` refines a stage-1 generator (``--sharpen-steps``) by aligning DRAIN's features of
pseudo-GMI and GMI (:func:`xgpm.translate.dann.train_dann`); ``--validate-every N`` keeps the
best step of each stage by DRAIN's MSE against the DPR of the paired windows.

Examples
--------
``xgpm train to-gmi --method cyclegan_r --source ssmis --simulate --cache /tmp/c --minutes 10``
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xgpm.cli import non_negative_float, non_negative_int, positive_float, positive_int
from xgpm.errors import InvalidArgumentError
from xgpm.translate import baselines

__all__ = [
    "DEFAULT_REGIONS",
    "DEFAULT_TRAIN_DATES",
    "GMI_CHANNELS",
    "SOURCE_CHANNELS",
    "add_parser",
    "extract_tiles",
    "load_overpasses",
    "main",
    "overpasses_from_granules",
    "PairedField",
    "paired_fields",
    "run",
    "simulate_overpasses",
    "swath_array",
]

#: GMI channels of the pseudo-GMI output, in the order of the generator's output.
GMI_CHANNELS: tuple[str, ...] = baselines.GMI_CHANNELS
#: Source family -> (registry sensors simulated for training, channels the model reads).
SOURCE_CHANNELS: dict[str, tuple[str, ...]] = {
    "ssmis": (
        "19V",
        "19H",
        "22V",
        "37V",
        "37H",
        "91V",
        "91H",
        "150H",
        "183H1",
        "183H3",
        "183H7",
    ),
}
SOURCE_SENSORS: dict[str, tuple[str, ...]] = {
    "ssmis": ("SSMIS-F16", "SSMIS-F17", "SSMIS-F18"),
}
#: Regions of the default training set (names of :data:`xgpm.simulate.products.REGIONS`).
DEFAULT_REGIONS: tuple[str, ...] = ("conus", "france", "tropical-atlantic", "tropical-pacific")
#: Training days: 2021 only (the evaluation uses 2022), one per season and a few per season.
DEFAULT_TRAIN_DATES: tuple[str, ...] = (
    "2021-01-15",
    "2021-04-15",
    "2021-07-15",
    "2021-10-15",
    "2021-02-20",
    "2021-08-20",
)


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------


def swath_array(ds: Any, channels: Sequence[str], *, densify: bool) -> np.ndarray:
    """``(cross_track, along_track, C)`` float32 brightness temperatures of a 1C swath.

    Parameters
    ----------
    ds : Dataset or dict of Dataset
        A merged 1C swath (``xgpm.open_granule``) or a dict of scan modes (the simulator's),
        merged here with :func:`xgpm.io.read.merge_scan_modes`.
    channels : sequence of str
        Channel labels, in the order wanted.
    densify : bool
        Resample to GMI's pixel spacing first (:func:`xgpm.translate.grid.to_gmi_sampling`).
    """
    from xgpm.io.read import merge_scan_modes
    from xgpm.translate.grid import to_gmi_sampling

    if isinstance(ds, dict):
        ds = merge_scan_modes(ds)
    tc = ds["Tc"]
    labels = [str(v) for v in tc["pmw_frequency"].values]
    missing = [c for c in channels if c not in labels]
    if missing:
        from xgpm.errors import MissingChannelsError

        raise MissingChannelsError(
            f"swath_array: the swath lacks channels {missing} (it has {labels})"
        )
    ds = ds[["Tc"]].sel(pmw_frequency=list(channels))
    if densify:
        ds = to_gmi_sampling(ds)
    values = ds["Tc"].transpose("cross_track", "along_track", "pmw_frequency").values
    return np.asarray(values, dtype=np.float32)


def _cache_name(*parts: Any) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


def simulate_overpasses(
    cache: str | Path,
    *,
    source: str = "ssmis",
    regions: Sequence[str] = DEFAULT_REGIONS,
    dates: Sequence[str] = DEFAULT_TRAIN_DATES,
    days: float = 1.0,
    seed: int = 0,
    progress: bool = True,
) -> list[Path]:
    """Simulate GMI and source overpasses and cache their TB arrays (one ``.npz`` each).

    Every (region, date) window simulates GMI and one source platform (cycling through
    :data:`SOURCE_SENSORS`, so that several local times are seen). Cached windows are not
    simulated again.

    Returns
    -------
    list of Path
        The ``.npz`` files: ``Tc`` (cross_track, along_track, C), ``domain`` ("gmi" or
        ``source``), ``product``, ``region``, ``start``.
    """
    from tqdm.auto import tqdm

    from xgpm.simulate.products import simulate

    source = _check_source(source)
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    platforms = SOURCE_SENSORS[source]
    windows = [(r, d) for d in dates for r in regions]
    files: list[Path] = []
    for i, (region, date) in enumerate(tqdm(windows, desc="simulate", disable=not progress)):
        platform = platforms[i % len(platforms)]
        key = _cache_name(region, date, days, seed, platform, "v1")
        done = cache / f"window-{key}.done"
        if not done.exists():
            for product in simulate(region, date, days=days, sensors=f"gmi,{platform}", seed=seed):
                is_gmi = product.product == "1C-GMI"
                channels = GMI_CHANNELS if is_gmi else SOURCE_CHANNELS[source]
                values = swath_array(product.data, channels, densify=not is_gmi)
                name = f"{product.product}-{product.granule}-{key}.npz"
                np.savez_compressed(
                    cache / name,
                    Tc=values,
                    domain="gmi" if is_gmi else source,
                    product=product.product,
                    region=region,
                    start=str(product.start),
                )
            done.write_text("ok\n")
        files += sorted(cache.glob(f"*-{key}.npz"))
    return files


def overpasses_from_granules(
    directory: str | Path, *, source: str = "ssmis", cache: str | Path | None = None
) -> list[Path]:
    """Cache the TB arrays of the GMI and source granules of a directory (or catalog).

    Parameters
    ----------
    directory : path
        A directory of PPS granules or a ``catalog.csv`` (see :func:`xgpm.matchups.find_granules`).
    source : str
        Source family (``"ssmis"``): products ``1C-SSMIS-*`` are read.
    cache : path, optional
        Where to write the ``.npz`` files (default ``<directory>/.xgpm-to-gmi``).
    """
    import xgpm
    from xgpm.matchups import find_granules

    source = _check_source(source)
    table = find_granules(directory)
    prefixes = tuple(f"1C-{s}" for s in SOURCE_SENSORS[source])
    cache = Path(cache) if cache is not None else Path(directory) / ".xgpm-to-gmi"
    cache.mkdir(parents=True, exist_ok=True)
    files = []
    for row in table.itertuples():
        is_gmi = row.product == "1C-GMI"
        if not (is_gmi or str(row.product).startswith(prefixes)):
            continue
        target = cache / f"{row.product}-{row.granule}-{_cache_name(row.path)}.npz"
        if not target.exists():
            ds = xgpm.open_granule(row.path, scan_mode="merged", chunks=None)
            channels = GMI_CHANNELS if is_gmi else SOURCE_CHANNELS[source]
            np.savez_compressed(
                target,
                Tc=swath_array(ds, channels, densify=not is_gmi),
                domain="gmi" if is_gmi else source,
                product=row.product,
                region="",
                start=str(row.start),
            )
        files.append(target)
    if not files:
        raise InvalidArgumentError(
            f"{directory}: no 1C-GMI or {source.upper()} granule found; simulate some with "
            f"`xgpm simulate --sensors gmi,{SOURCE_SENSORS[source][1].lower()} --out DIR`"
        )
    return files


def load_overpasses(files: Iterable[str | Path]) -> dict[str, list[np.ndarray]]:
    """The cached arrays grouped by domain (``"gmi"``, ``"ssmis"``).

    Each ``.npz`` is read with ``allow_pickle=False`` (numeric and string arrays only).

    Raises
    ------
    CheckpointError
        A file holds pickled objects (refused unread), lacks ``Tc`` or ``domain``, or ``Tc``
        is not a ``(cross_track, along_track, channel)`` array of numbers.
    StorageError
        A file is missing or unreadable.
    """
    from xgpm.errors import CheckpointError
    from xgpm.models import _read_npz

    out: dict[str, list[np.ndarray]] = {}
    for path in files:
        path = Path(path)
        remedy = (
            "It is a cache file: delete it (or the whole cache folder) and rerun to write it again"
        )
        data = _read_npz(path, ("Tc", "domain"), what="overpass cache", remedy=remedy)
        tc, domain = np.asarray(data["Tc"]), data["domain"]
        if tc.ndim != 3 or tc.dtype.kind not in "fiu":
            raise CheckpointError(
                f"overpass cache {path}: 'Tc' must be a (cross_track, along_track, channel) "
                f"array of numbers, got {tc.dtype} of shape {tc.shape}. {remedy}"
            )
        if domain.ndim != 0 or domain.dtype.kind != "U":
            raise CheckpointError(
                f"overpass cache {path}: 'domain' must be one string such as 'gmi', got "
                f"{domain.dtype} of shape {domain.shape}. {remedy}"
            )
        out.setdefault(str(domain), []).append(tc)
    return out


def extract_tiles(
    swaths: Iterable[np.ndarray],
    tile: tuple[int, int] = (64, 32),
    stride: tuple[int, int] | None = None,
    *,
    max_tiles: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """All-finite tiles ``(N, C, rows, cols)`` cut from ``(cross_track, along_track, C)`` swaths.

    Parameters
    ----------
    swaths : iterable of ndarray
        Swath arrays (as :func:`swath_array` returns).
    tile : (int, int)
        Tile size along (cross_track, along_track).
    stride : (int, int), optional
        Window step (default half the tile: overlapping windows).
    max_tiles : int, optional
        Keep at most this many (a random subset, reproducible with ``seed``).
    """
    rows, cols = (int(t) for t in tile)
    step = stride or (max(rows // 2, 1), max(cols // 2, 1))
    tiles = []
    for swath in swaths:
        finite = np.isfinite(swath).all(axis=-1)
        n_rows, n_cols = finite.shape
        # all-finite windows via a summed-area table
        table = np.pad(finite.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        for r in range(0, n_rows - rows + 1, step[0]):
            for c in range(0, n_cols - cols + 1, step[1]):
                count = (
                    table[r + rows, c + cols]
                    - table[r, c + cols]
                    - table[r + rows, c]
                    + table[r, c]
                )
                if count == rows * cols:
                    tiles.append(np.moveaxis(swath[r : r + rows, c : c + cols], -1, 0))
    if not tiles:
        channels = 0
        for swath in swaths if isinstance(swaths, list) else []:
            channels = swath.shape[-1]
        return np.empty((0, channels, rows, cols), dtype=np.float32)
    out = np.stack(tiles).astype(np.float32)
    if max_tiles is not None and len(out) > max_tiles:
        keep = np.sort(np.random.default_rng(seed).choice(len(out), max_tiles, replace=False))
        out = out[keep]
    return out


def _on_source_grid(field: np.ndarray, index: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    flat = np.asarray(field, dtype=np.float32).ravel()
    out = np.where(index >= 0, flat[np.clip(index, 0, None)], np.nan)
    return out.reshape(shape).astype(np.float32)


@dataclass
class PairedField:
    """One paired scene on the densified source swath (what Red-GAN and the evaluation read).

    Attributes
    ----------
    source : ndarray (C_s, H, W)
        Source brightness temperatures (K) at GMI sampling; NaN outside the region.
    gmi : ndarray (13, H, W)
        The paired GMI (K), nearest pixel; NaN where the GMI swath does not reach.
    drain_gmi : ndarray (H, W)
        DRAIN's rain (mm/h) from the paired GMI, run on the whole GMI swath (as at inference).
    dpr : ndarray (H, W)
        The paired DPR rain on GMI footprints (mm/h); NaN outside the DPR swath.
    name : str
        The scene's key.
    """

    source: np.ndarray
    gmi: np.ndarray
    drain_gmi: np.ndarray
    dpr: np.ndarray
    name: str = ""


def paired_fields(
    scenes: Iterable[Any],
    *,
    drain: str = "drain",
    source: str = "ssmis",
    radius_km: float = 7.0,
    multiple: int = 8,
) -> list[PairedField]:
    """Paired scenes brought onto the densified source swath, cropped to where GMI sees.

    The source swath is densified to GMI sampling (as ``to_gmi`` does); the paired GMI, DRAIN's
    rain from that GMI (whole swath, :func:`xgpm.inference.predict_numpy`) and the DPR rain on
    GMI footprints (:func:`xgpm.matchups.gmi_dpr_matchups`) are brought onto its pixels by
    nearest neighbour (within ``radius_km``). Each scene is cropped to the source rows the GMI
    swath covers and to sizes that are multiples of ``multiple`` (DRAIN's divisibility).

    Parameters
    ----------
    scenes : iterable of xgpm.translate.scenes.PairedScene
    drain : str
        Registered DRAIN model.
    source : str
        Source family (channels of :data:`SOURCE_CHANNELS`).
    """
    from xgpm import inference, models
    from xgpm.io.read import _nearest_index
    from xgpm.matchups import gmi_dpr_matchups
    from xgpm.translate.grid import to_gmi_sampling

    source = _check_source(source)
    drain_channels = list(models.card(drain).input_channels)
    out = []
    for scene in scenes:
        tc = scene.source["Tc"].sel(pmw_frequency=list(SOURCE_CHANNELS[source]))
        dense = to_gmi_sampling(tc.to_dataset(name="Tc"))
        src = np.asarray(
            dense["Tc"].transpose("cross_track", "along_track", "pmw_frequency").values,
            np.float32,
        )
        shape = src.shape[:2]
        gmi = scene.gmi["Tc"].transpose("cross_track", "along_track", "pmw_frequency")
        index = _nearest_index(dense, scene.gmi, radius_km)
        if index is None:
            index = np.arange(int(np.prod(shape)))
        gmi_k = gmi.sel(pmw_frequency=list(GMI_CHANNELS)).values
        gmi_dense = np.stack(
            [_on_source_grid(gmi_k[..., c], index, shape) for c in range(gmi_k.shape[-1])]
        )
        rain = inference.predict_numpy(drain, gmi.sel(pmw_frequency=drain_channels).values)
        drain_dense = _on_source_grid(rain[..., 0], index, shape)
        dpr_dense = np.full(shape, np.nan, np.float32)
        if scene.dpr is not None:
            matched = gmi_dpr_matchups(scene.gmi, scene.dpr, labels=False, on_empty="nan")
            field = matched["surface_precip"].transpose("cross_track", "along_track").values
            dpr_dense = _on_source_grid(field, index, shape)
        rows = np.flatnonzero(np.isfinite(gmi_dense).all(0).any(1))
        cols = np.flatnonzero(np.isfinite(src).all(-1).any(0))
        if rows.size < multiple or cols.size < multiple:
            continue
        n_rows = (rows[-1] - rows[0] + 1) // multiple * multiple
        n_cols = (cols[-1] - cols[0] + 1) // multiple * multiple
        crop = (slice(rows[0], rows[0] + n_rows), slice(cols[0], cols[0] + n_cols))
        out.append(
            PairedField(
                source=np.ascontiguousarray(np.moveaxis(src[crop], -1, 0)),
                gmi=np.ascontiguousarray(gmi_dense[(slice(None), *crop)]),
                drain_gmi=drain_dense[crop],
                dpr=dpr_dense[crop],
                name=getattr(scene, "key", ""),
            )
        )
    return out


#: Pixels (across, along the densified source swath: 5.1 and 13.2 km) from any invalid pixel
#: within which nothing is scored: 80 km, as ``xgpm.translate.evaluate.EDGE_KM``. DRAIN reads
#: mean-filled inputs beyond the region's edge of a simulated scene, and sees rain there.
EDGE_PIXELS = (16, 6)


def scored_pixels(field: PairedField, *, need_gmi: bool = True) -> np.ndarray:
    """Pixels of a paired field worth scoring: seen by the DPR, 80 km inside the swath(s).

    ``need_gmi=False`` asks only the source swath (source-DPR coincidences, no GMI needed).
    """
    from scipy.ndimage import binary_erosion

    valid = np.isfinite(field.source).all(0)
    if need_gmi:
        valid &= np.isfinite(field.gmi).all(0)
    window = np.ones((2 * EDGE_PIXELS[0] + 1, 2 * EDGE_PIXELS[1] + 1), bool)
    return binary_erosion(valid, window, border_value=0) & np.isfinite(field.dpr)


def rain_scores(
    predicted: np.ndarray, truth: np.ndarray, threshold: float = 1.0
) -> dict[str, float]:
    """MSE, MAE, bias (%), correlation, CSI at ``threshold`` and clear-sky false alarms."""
    hits = float(((predicted >= threshold) & (truth >= threshold)).sum())
    misses = float(((predicted < threshold) & (truth >= threshold)).sum())
    false = float(((predicted >= threshold) & (truth < threshold)).sum())
    clear = truth < 0.1
    return {
        "clear_sky_false_alarms": float(((predicted > 0.1) & clear).sum() / max(clear.sum(), 1)),
        "mse": float(np.mean((predicted - truth) ** 2)),
        "mae": float(np.mean(np.abs(predicted - truth))),
        "bias_pct": float(100 * (predicted.mean() - truth.mean()) / max(truth.mean(), 1e-9)),
        "correlation": float(np.corrcoef(predicted, truth)[0, 1]),
        "csi": hits / max(hits + misses + false, 1.0),
        "n": int(truth.size),
    }


def translate_field(
    generator: Any, source: np.ndarray, network: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-GMI ``(13, H, W)`` (K) and DRAIN's rain ``(H, W)`` of one source scene, as scored.

    NaN source pixels are mean-filled for the generator (as at inference); outside the source
    swath DRAIN reads its own channel means. ``network`` is a ``cyclegan._Drain``; call under
    ``torch.no_grad()``.
    """
    import torch

    device = next(generator.parameters()).device
    fill = torch.zeros(len(GMI_CHANNELS), device=device)
    fill[network.index.to(device)] = network.mean.to(device)
    valid = torch.from_numpy(np.isfinite(source).all(0)).to(device)
    x = (torch.from_numpy(source).to(device) - generator.input_mean[:, None, None]) / (
        generator.input_std[:, None, None]
    )
    pseudo = generator(torch.nan_to_num(x, nan=0.0)[None])[0]
    pseudo = torch.where(valid[None], pseudo, fill[:, None, None])
    rain = network(pseudo[None])[0]
    return pseudo.cpu().numpy(), rain.cpu().numpy()


def score_generator(
    generator: Any, fields: Sequence[PairedField], *, drain: str = "drain", need_gmi: bool = True
) -> dict[str, float]:
    """DRAIN on a translator's pseudo-GMI of paired fields, scored against their DPR rain.

    The generator reads each field's whole source scene (NaN pixels mean-filled, as at
    inference); DRAIN reads the pseudo-GMI with its own channel means outside the swath. Scores
    are :func:`rain_scores` over :func:`scored_pixels`, plus ``tb_mae_k`` and ``tb_mae_<ch>``,
    the mean absolute TB error against the paired GMI (only when ``need_gmi``).

    Parameters
    ----------
    generator : xgpm.translate.cyclegan.TBGenerator
        On any device; evaluated without gradients, left in the mode it was in.
    fields : sequence of PairedField
    drain : str
        Registered DRAIN model.
    need_gmi : bool
        Score pixels that the paired GMI sees only (False: source-DPR coincidences).
    """
    import torch

    from xgpm.translate.cyclegan import _Drain

    if not len(fields):
        raise InvalidArgumentError("score_generator: no paired field to score")
    network = _Drain(drain, GMI_CHANNELS, next(generator.parameters()).device)
    rain, truth, tb_error, tb_count = [], [], np.zeros(len(GMI_CHANNELS)), 0
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            for f in fields:
                pseudo, r = translate_field(generator, f.source, network)
                seen = scored_pixels(f, need_gmi=need_gmi)
                rain.append(r[seen])
                truth.append(f.dpr[seen])
                if need_gmi:
                    tb_error += np.abs(pseudo[:, seen] - f.gmi[:, seen]).sum(1)
                    tb_count += int(seen.sum())
    finally:
        generator.train(was_training)
    out = rain_scores(np.concatenate(rain), np.concatenate(truth))
    if tb_count:
        mae = tb_error / tb_count
        out["tb_mae_k"] = float(mae.mean())
        out.update({f"tb_mae_{c}": float(v) for c, v in zip(GMI_CHANNELS, mae, strict=True)})
    return out


def rain_validation(
    fields: Sequence[PairedField], *, drain: str = "drain", metric: str = "mse"
) -> Any:
    """A validation score for the trainers' ``validation=``: DRAIN-on-pseudo-GMI vs the DPR.

    Reads source-DPR coincidences only (``need_gmi=False``): in the real constellation these
    exist for every source radiometer (the DPR sees part of many SSMIS swaths within minutes),
    while source-GMI pairs are rarer. Lower is better: ``metric`` is ``"mse"`` or ``"mae"``.
    """
    if metric not in ("mse", "mae"):
        raise InvalidArgumentError(f"metric must be 'mse' or 'mae', got {metric!r}")
    fields = list(fields)
    if not fields:
        raise InvalidArgumentError("rain_validation: no paired field given")

    def validate(generator: Any) -> float:
        return score_generator(generator, fields, drain=drain, need_gmi=False)[metric]

    return validate


def _check_source(source: str) -> str:
    key = str(source).strip().lower()
    if key not in SOURCE_CHANNELS:
        raise InvalidArgumentError(
            f"source={source!r} is not supported for to_gmi training; use one of "
            f"{sorted(SOURCE_CHANNELS)}"
        )
    return key


# ------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------


def add_parser(subparsers: Any, name: str = "to-gmi") -> argparse.ArgumentParser:
    """Register the ``to-gmi`` training command on an ``argparse`` sub-parsers object."""
    parser = subparsers.add_parser(
        name,
        help="train a to_gmi translation model (CycleGAN_R, Red-GAN) on unpaired scenes",
        description=__doc__.split("\n\n")[0],
    )
    _arguments(parser)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=("cyclegan_r", "redgan", "dann"), default="cyclegan_r")
    parser.add_argument("--source", default="ssmis", choices=sorted(SOURCE_CHANNELS))
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--granules", help="directory (or catalog.csv) of GMI and source granules")
    data.add_argument("--simulate", action="store_true", help="simulate the training scenes")
    parser.add_argument("--cache", default=None, help="cache directory of the scene arrays")
    parser.add_argument("--regions", default=",".join(DEFAULT_REGIONS))
    parser.add_argument("--dates", default=",".join(DEFAULT_TRAIN_DATES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tile", type=positive_int, nargs=2, default=(64, 32), metavar=("ROWS", "COLS")
    )
    parser.add_argument("--max-tiles", type=positive_int, default=2000)
    parser.add_argument(
        "--steps", type=non_negative_int, default=2000, help="training steps (at most)"
    )
    parser.add_argument("--minutes", type=positive_float, default=None, help="wall-clock cap")
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--learning-rate", type=positive_float, default=2e-4)
    parser.add_argument(
        "--paired-windows",
        dest="paired_windows",
        type=positive_int,
        default=4,
        help="redgan: paired 2021 windows simulated",
    )
    parser.add_argument(
        "--drain", default="drain", help="redgan, dann: registered DRAIN model (frozen)"
    )
    parser.add_argument(
        "--domain-weight",
        type=non_negative_float,
        default=0.1,
        help="dann: weight of the domain term",
    )
    parser.add_argument("--init", default=None, help="start from this registered generator")
    parser.add_argument(
        "--sharpen-steps",
        type=non_negative_int,
        default=0,
        help="stage 1 first: steps of the backward cycle alone (the generator learns to undo "
        "the registry footprints on GMI scenes; see xgpm.translate.cyclegan.train_sharpening)",
    )
    parser.add_argument(
        "--sharpen-minutes", type=positive_float, default=None, help="stage-1 time cap"
    )
    parser.add_argument(
        "--validate-every",
        type=int,
        default=0,
        help="score DRAIN on pseudo-GMI against the DPR of the paired windows every N steps and "
        "keep the best generator of each stage (0: keep the last)",
    )
    parser.add_argument("--base-channels", type=positive_int, default=16, help="generator width")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")
    parser.add_argument("--name", default=None, help="save under this name (default METHOD-SOURCE)")
    parser.add_argument("--output-dir", default=None, help="registry directory to write")
    parser.add_argument("--no-save", action="store_true", help="train only, write nothing")


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm train to-gmi``."""
    from xgpm.translate import cyclegan

    cyclegan.set_threads(args.threads)
    source = _check_source(args.source)
    if args.simulate:
        cache = args.cache or "xgpm-to-gmi-cache"
        files = simulate_overpasses(
            cache,
            source=source,
            regions=[r for r in args.regions.split(",") if r],
            dates=[d for d in args.dates.split(",") if d],
            seed=args.seed,
        )
        origin = (
            f"simulated with xgpm.simulate (regions {args.regions}; days {args.dates}; seed "
            f"{args.seed})"
        )
    else:
        if not Path(args.granules).exists():
            from xgpm.errors import StorageError

            raise StorageError(
                f"--granules {args.granules}: no such directory or catalog.csv; pass the folder "
                "that `xgpm simulate --out` wrote (or a folder of PPS granules), or --simulate"
            )
        files = overpasses_from_granules(args.granules, source=source, cache=args.cache)
        origin = f"read from the granules of {args.granules}"
    arrays = load_overpasses(files)
    tile = tuple(args.tile)
    source_tiles = extract_tiles(arrays.get(source, []), tile, max_tiles=args.max_tiles)
    gmi_tiles = extract_tiles(arrays.get("gmi", []), tile, max_tiles=args.max_tiles)
    if len(source_tiles) == 0 or len(gmi_tiles) == 0:
        raise InvalidArgumentError(
            f"no complete {tile} tile in the training scenes ({len(source_tiles)} source, "
            f"{len(gmi_tiles)} GMI): use a smaller --tile or more scenes"
        )
    paired = validation = None
    if args.validate_every < 0:
        raise InvalidArgumentError(f"--validate-every must be >= 0, got {args.validate_every}")
    if args.method == "redgan" or args.validate_every:
        fields = cyclegan.paired_training_fields(
            source=source,
            windows=_paired_windows(args.paired_windows),
            seed=args.seed,
            drain=args.drain,
            cache=args.cache,
        )
        if args.method == "redgan":
            paired = [(f.source, f.drain_gmi) for f in fields]
        if args.validate_every:
            validation = rain_validation(fields, drain=args.drain)
    selection = {"validation": validation, "validate_every": max(args.validate_every, 1)}
    init: Any = None
    generator_kwargs = {"base_channels": args.base_channels, "max_channels": 128}
    if args.init:
        from xgpm import models

        init = models.load(args.init, "cpu")
        if args.sharpen_steps:
            raise InvalidArgumentError("--sharpen-steps trains a new generator: drop --init")
    if args.sharpen_steps:
        init = cyclegan.train_sharpening(
            source_tiles,
            gmi_tiles,
            source_channels=SOURCE_CHANNELS[source],
            source_sensor=SOURCE_SENSORS[source][1],
            generator_kwargs=generator_kwargs,
            steps=args.sharpen_steps,
            max_minutes=args.sharpen_minutes,
            batch_size=args.batch_size,
            device=args.device,
            seed=args.seed,
            **selection,
        )
    if args.method == "dann":
        result = _train_dann(args, init, source_tiles, gmi_tiles, source, selection)
    else:
        result = cyclegan.train_cyclegan(
            source_tiles,
            gmi_tiles,
            source_channels=SOURCE_CHANNELS[source],
            method=args.method,
            rain_pairs=paired,
            drain=args.drain,
            steps=args.steps,
            max_minutes=args.minutes,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            device=args.device,
            seed=args.seed,
            init=init,
            generator_kwargs=generator_kwargs,
            **selection,
        )
    print(
        f"trained {args.method} on {len(source_tiles)} {source.upper()} and {len(gmi_tiles)} GMI "
        f"tiles: {len(result.history)} steps"
    )
    if args.no_save:
        return 0
    name = args.name or f"{args.method}-{source}"
    scenes = (
        f"unpaired {source.upper()} and GMI scenes {origin}, {len(source_tiles)} + "
        f"{len(gmi_tiles)} tiles of {tile[0]} x {tile[1]} pixels at GMI sampling"
    )
    if args.simulate:
        statement = f"Trained on simulated data only: {scenes}; not on real observations."
    else:
        statement = f"Trained on {scenes} (whatever those granules are: check their origin)."
    if validation is not None:
        statement += (
            f" Kept the generator with the lowest MSE of DRAIN ({args.drain}) on its pseudo-GMI "
            "against the DPR of the paired simulated 2021 overpasses, scored every "
            f"{args.validate_every} steps."
        )
    if args.method == "dann":
        statement += (
            f" DANN: a domain classifier on the bottleneck features of DRAIN ({args.drain}, "
            f"frozen) behind a gradient reversal layer, weight {args.domain_weight}."
        )
    if paired is not None:
        statement += (
            f" Red-GAN rain term: DRAIN ({args.drain}) on the paired GMI of {len(paired)} "
            "simulated 2021 overpasses (xgpm.translate.scenes.paired_scenes)."
        )
    path = cyclegan.save_generator(
        name,
        result,
        method=args.method,
        source=source,
        training_data=statement,
        command="xgpm train to-gmi " + _command_line(args),
        directory=args.output_dir,
    )
    print(f"wrote {path}")
    return 0


def _train_dann(
    args: argparse.Namespace,
    init: Any,
    source_tiles: np.ndarray,
    gmi_tiles: np.ndarray,
    source: str,
    selection: dict[str, Any],
) -> Any:
    """``--method dann``: DANN from stage 1 (``--sharpen-steps``) or a registered generator."""
    from xgpm.translate import cyclegan, dann

    if init is None:
        raise InvalidArgumentError(
            "--method dann refines a stage-1 generator: give --sharpen-steps N (or --init NAME)"
        )
    if not isinstance(init, cyclegan.CycleGANResult):  # a registered generator: add the physics
        init = cyclegan.train_cyclegan(
            source_tiles,
            gmi_tiles,
            source_channels=SOURCE_CHANNELS[source],
            source_sensor=SOURCE_SENSORS[source][1],
            init=init,
            steps=0,
            progress=False,
        )
    return dann.train_dann(
        init,
        source_tiles,
        gmi_tiles,
        drain=args.drain,
        steps=args.steps,
        max_minutes=args.minutes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        domain_weight=args.domain_weight,
        source_sensor=SOURCE_SENSORS[source][1],
        device=args.device,
        seed=args.seed,
        **selection,
    )


def _paired_windows(n: int) -> list[Any]:
    from xgpm.translate.scenes import TRAINING_WINDOWS

    return list(TRAINING_WINDOWS[:: max(1, len(TRAINING_WINDOWS) // max(n, 1))][:n])


def _command_line(args: argparse.Namespace) -> str:
    parts = [f"--method {args.method}", f"--source {args.source}"]
    parts.append("--simulate" if args.simulate else f"--granules {args.granules}")
    if args.minutes:
        parts.append(f"--minutes {args.minutes:g}")
    parts.append(f"--steps {args.steps}")
    return " ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xgpm.translate.train ...`` (the same as ``xgpm train to-gmi ...``)."""
    parser = argparse.ArgumentParser(prog="xgpm train to-gmi", description=__doc__.split("\n\n")[0])
    _arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
