"""Training data of the learned to_gmi translations: tiles, paired fields, rain scores.

Simulated (or real) overpasses of the source and of GMI (:func:`simulate_overpasses`,
:func:`overpasses_from_granules`, :func:`load_overpasses`), cut into tiles
(:func:`extract_tiles`); paired fields (:class:`PairedField`, :func:`paired_fields`,
:func:`paired_training_fields`): the same truth seen by the source and by GMI/DPR on the same
orbit, on the densified source swath; and the rain scores that select the step kept
(:func:`rain_scores`, :func:`score_generator`, :func:`rain_validation`). The command
``xgpm train to-gmi`` that drives them is :mod:`xgpm.translate.train`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xgpm.errors import InvalidArgumentError
from xgpm.translate import baselines

__all__ = [
    "DEFAULT_REGIONS",
    "DEFAULT_TRAIN_DATES",
    "EDGE_PIXELS",
    "GMI_CHANNELS",
    "PairedField",
    "SOURCE_CHANNELS",
    "SOURCE_SENSORS",
    "extract_tiles",
    "load_overpasses",
    "overpasses_from_granules",
    "paired_fields",
    "paired_training_fields",
    "rain_scores",
    "rain_validation",
    "score_generator",
    "scored_pixels",
    "simulate_overpasses",
    "swath_array",
    "translate_field",
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


#: Regions of the default training set (names of :data:`xgpm.simulate.regions.REGIONS`).
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
    from xgpm.translate.scenes import simulator_version

    source = _check_source(source)
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    platforms = SOURCE_SENSORS[source]
    windows = [(r, d) for d in dates for r in regions]
    files: list[Path] = []
    for i, (region, date) in enumerate(tqdm(windows, desc="simulate", disable=not progress)):
        platform = platforms[i % len(platforms)]
        key = _cache_name(region, date, days, seed, platform, "v1", simulator_version())
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
    from xgpm.io.read import open_granule
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
        stat = Path(row.path).stat()  # a rewritten granule is read again
        key = _cache_name(row.path, stat.st_size, stat.st_mtime_ns)
        target = cache / f"{row.product}-{row.granule}-{key}.npz"
        if not target.exists():
            ds = open_granule(row.path, scan_mode="merged", chunks=None)
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
    swath DRAIN reads its own channel means. ``network`` is a ``losses._Drain``; call under
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

    from xgpm.translate.losses import _Drain

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


def paired_training_fields(
    *,
    source: str = "ssmis",
    windows: Sequence[Any] | None = None,
    seed: int = 0,
    drain: str = "drain",
    cache: str | Path | None = None,
) -> list[Any]:
    """Paired simulated scenes (:class:`PairedField`) for Red-GAN.

    Reads :func:`xgpm.translate.scenes.cached_paired_scenes` (the same truth seen at the same
    time by the source and by a GMI/DPR on the same orbit) over ``windows`` (default: every
    other one of :data:`xgpm.translate.scenes.TRAINING_WINDOWS`, 2021) and brings them onto
    the densified source swath with :func:`paired_fields`. Red-GAN's
    reference is ``field.drain_gmi`` (DRAIN on the paired GMI: known wherever the GMI sees);
    fine-tuning's is ``field.dpr`` (the radar, NaN outside its swath).
    """
    from xgpm.translate import scenes

    windows = list(windows) if windows is not None else list(scenes.TRAINING_WINDOWS[::2])
    platform = SOURCE_SENSORS[source][1].lower()
    items = scenes.cached_paired_scenes(
        windows, cache or "xgpm-paired-cache", source=platform, seed=seed, progress=False
    )
    return paired_fields(items, drain=drain, source=source)
