"""The matchup store: scene tiles appended granule after granule to a Zarr store.

:func:`build_matchups` pairs the granules of a directory or catalog (:func:`find_granules`),
matches each pair with :mod:`xgpm.matchups.core` and writes tiles (layout in
``docs/matchups.md``; read by ``xgpm train``).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.colocation.core import _max_dt_ns
from xgpm.errors import InvalidArgumentError, NoOverlapError
from xgpm.matchups.core import (
    _fraction,
    _positive_km,
    add_labels,
    coincident_scenes,
    gmi_dpr_matchups,
)

__all__ = ["build_matchups", "find_granules"]


def find_granules(catalog_or_dir: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """Table (product, path, start, end, granule) of the granules of a directory or catalog.

    ``catalog_or_dir`` is a catalog DataFrame, a ``catalog.csv`` (as written by
    ``xgpm simulate``; relative paths are relative to its folder) or a directory: its
    ``catalog.csv`` if present, else every PPS-named ``*.HDF5`` file below it.
    """
    from xgpm.errors import UnknownProductError
    from xgpm.io.filenames import parse_filename

    if isinstance(catalog_or_dir, pd.DataFrame):
        table = catalog_or_dir.copy()
        root = Path(".")
    else:
        path = Path(catalog_or_dir)
        if path.is_dir() and (path / "catalog.csv").exists():
            path = path / "catalog.csv"
        if path.is_file():
            table = pd.read_csv(path)
            root = path.parent
        elif path.is_dir():
            rows = []
            for f in sorted(path.rglob("*.HDF5")):
                try:
                    p = parse_filename(f)
                except UnknownProductError:
                    continue
                rows.append((p.product, str(f), p.start, p.end, p.granule))
            table = pd.DataFrame(rows, columns=["product", "path", "start", "end", "granule"])
            root = Path(".")
        else:
            raise InvalidArgumentError(
                f"catalog_or_dir={str(catalog_or_dir)!r} is neither a directory nor a file."
            )
    missing = {"product", "path", "start", "end", "granule"} - set(table.columns)
    if missing:
        raise InvalidArgumentError(f"catalog lacks columns {sorted(missing)}.")
    table["path"] = [str(p) if Path(p).is_absolute() else str(root / p) for p in table["path"]]
    table["start"] = pd.to_datetime(table["start"])
    table["end"] = pd.to_datetime(table["end"])
    return table.reset_index(drop=True)


def _pairs(table: pd.DataFrame, kind: str, max_dt: Any) -> list[tuple[Any, str, str]]:
    gmi = table[table["product"] == "1C-GMI"].sort_values("start")
    if kind == "gmi-dpr":
        dpr = table[table["product"] == "2A-DPR"]
        by_granule = {int(g): p for g, p in zip(dpr["granule"], dpr["path"], strict=True)}
        return [
            (int(g), p, by_granule[int(g)])
            for g, p in zip(gmi["granule"], gmi["path"], strict=True)
            if int(g) in by_granule
        ]
    others = table[table["product"].str.startswith("1C-") & (table["product"] != "1C-GMI")]
    pad = pd.Timedelta(max_dt)
    pairs = []
    for g in gmi.itertuples():
        near = others[(others["start"] <= g.end + pad) & (others["end"] >= g.start - pad)]
        pairs.extend((int(g.granule), g.path, o) for o in near["path"])
    return pairs


def _windows(valid: np.ndarray, size: int) -> list[int]:
    """Starts of windows of ``size`` covering the True span of ``valid`` (1-D)."""
    n = valid.size
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return []
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    if n <= size:
        return [0]
    if hi - lo <= size:
        return [int(np.clip((lo + hi - size) // 2, 0, n - size))]
    starts = list(range(lo, hi - size, size)) + [hi - size]
    return sorted({int(np.clip(s, 0, n - size)) for s in starts})


def _pad(arr: np.ndarray, size: tuple[int, int], fill: Any) -> np.ndarray:
    pad = [(0, size[0] - arr.shape[0]), (0, size[1] - arr.shape[1])] + [(0, 0)] * (arr.ndim - 2)
    if not any(p[1] for p in pad):
        return arr
    return np.pad(arr, pad, constant_values=fill)


_FILL = {"f": np.nan, "b": False, "i": -1, "M": np.datetime64("NaT"), "m": np.timedelta64("NaT")}


def _tiles(
    ds: xr.Dataset, mask: np.ndarray, tile: tuple[int, int], min_valid: float, granule: int
) -> xr.Dataset | None:
    """Cut (cross_track, along_track) scene tiles where ``mask`` holds; None if none."""
    dims = ("cross_track", "along_track")
    ds = ds.transpose(*dims, ...)
    nc, na = tile
    a_starts = _windows(mask.any(axis=0), na)
    scenes = []
    for a0 in a_starts:
        cols = mask[:, a0 : a0 + na]
        for c0 in _windows(cols.any(axis=1), nc):
            frac = mask[c0 : c0 + nc, a0 : a0 + na].sum() / (nc * na)
            if frac < min_valid:
                continue
            scenes.append((c0, a0))
    if not scenes:
        return None
    data: dict[Hashable, Any] = {}
    for name, var in ds.variables.items():
        if name in ds.dims or name in ("pmw_frequency", "source_pmw_frequency"):
            continue
        values = np.asarray(var.values)
        if values.dtype.kind == "m":  # seconds as float32: simpler for trainers than timedelta
            values = (values / np.timedelta64(1, "s")).astype(np.float32)
        fill = _FILL.get(values.dtype.kind, 0)
        if var.dims[:2] == dims:
            parts = [_pad(values[c0 : c0 + nc, a0 : a0 + na], tile, fill) for c0, a0 in scenes]
            data[name] = (("scene", *dims, *var.dims[2:]), np.stack(parts), var.attrs)
        elif var.dims == ("along_track",):
            parts = [_pad1(values[a0 : a0 + na], na, fill) for _, a0 in scenes]
            data[name] = (("scene", "along_track"), np.stack(parts), var.attrs)
    out = xr.Dataset(data)
    for coord in ("lon", "lat", "time"):
        if coord in out:
            out = out.set_coords(coord)
    for dim in ("pmw_frequency", "source_pmw_frequency"):
        if dim in ds.coords:
            out = out.assign_coords({dim: np.asarray(ds[dim].values).astype(str)})
    out["granule"] = ("scene", np.full(len(scenes), granule, dtype=np.int64))
    out["cross_track_start"] = ("scene", np.array([c for c, _ in scenes], dtype=np.int32))
    out["along_track_start"] = ("scene", np.array([a for _, a in scenes], dtype=np.int32))
    if "time_offset" in out:
        out["time_offset"].attrs["units"] = "s"
    if "source_time_offset" in out:
        out["source_time_offset"].attrs["units"] = "s"
    return out


def _pad1(arr: np.ndarray, size: int, fill: Any) -> np.ndarray:
    if arr.size == size:
        return arr
    return np.concatenate([arr, np.full(size - arr.size, fill, dtype=arr.dtype)])


def build_matchups(
    catalog_or_dir: str | os.PathLike | pd.DataFrame | Iterable[tuple[int, xr.Dataset, xr.Dataset]],
    out_zarr: str | os.PathLike,
    *,
    kind: Literal["gmi-dpr", "gmi-x"] = "gmi-dpr",
    tile: tuple[int, int] = (128, 128),
    min_valid_fraction: float = 0.05,
    scenes_per_chunk: int = 16,
    footprint: str = "89V",
    radius_km: float | None = None,
    max_dt: Any = None,
    overwrite: bool = False,
    progress: bool = True,
) -> xr.Dataset:
    """Write scene tiles of GMI matchups to a Zarr store, granule after granule.

    Parameters
    ----------
    catalog_or_dir
        Granules: see :func:`find_granules`; or an iterable of in-memory
        ``(granule_number, gmi_dataset, other_dataset)`` triples. ``gmi-dpr`` pairs 1C-GMI and
        2A-DPR granules of the same orbit number; ``gmi-x`` pairs each 1C-GMI granule with
        every other 1C granule whose time span comes within ``max_dt``.
    out_zarr
        Output store (Zarr format 2, consolidated metadata). Appended to when it exists (with
        the same kind and tile), unless ``overwrite``.
    kind
        ``"gmi-dpr"`` (:func:`gmi_dpr_matchups`) or ``"gmi-x"`` (:func:`coincident_scenes`).
    tile
        Scene size (cross_track, along_track) in GMI pixels. Tiles cover the span where the
        reference saw (DPR mask or ``source_mask``), padded with NaN / -1 / False at swath ends.
    min_valid_fraction
        Keep a tile only if at least this fraction of its pixels has a reference.
    scenes_per_chunk
        Zarr chunk length along ``scene`` (other dims are one chunk).
    footprint, radius_km
        Passed to :func:`gmi_dpr_matchups` (``radius_km`` also to :func:`coincident_scenes`).
    max_dt
        Time window (default ``"5min"`` for gmi-dpr, ``"15min"`` for gmi-x).
    overwrite
        Replace an existing store.
    progress
        Show a tqdm bar over granule pairs.

    Returns
    -------
    xarray.Dataset
        The store, reopened lazily. See ``docs/matchups.md`` for the layout.

    Raises
    ------
    InvalidArgumentError
        Bad ``kind``/``tile``, no granule pair in the input, or an existing store of another
        kind or tile size.
    """
    from tqdm.auto import tqdm

    from xgpm.io.read import open_granule

    if kind not in ("gmi-dpr", "gmi-x"):
        raise InvalidArgumentError(f"kind={kind!r} must be 'gmi-dpr' or 'gmi-x'.")
    given = tile
    try:
        if isinstance(tile, (str, bytes)):
            raise TypeError
        sizes = list(tile)
        if any(
            isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) for t in sizes
        ):
            raise TypeError
        tile = tuple(int(t) for t in sizes)  # type: ignore[assignment]
    except TypeError:
        tile = ()  # type: ignore[assignment]
    if len(tile) != 2 or min(tile) < 1:
        raise InvalidArgumentError(
            f"tile={given!r} must be two positive integer sizes (cross, along), e.g. (128, 128)."
        )
    if (
        isinstance(scenes_per_chunk, (bool, np.bool_))
        or not isinstance(scenes_per_chunk, (int, np.integer))
        or scenes_per_chunk < 1
    ):
        raise InvalidArgumentError(
            f"scenes_per_chunk={scenes_per_chunk!r} must be a positive integer."
        )
    min_valid_fraction = _fraction(min_valid_fraction, "min_valid_fraction", low_open=False)
    radius_km = _positive_km(radius_km, "radius_km")
    if max_dt is None:
        max_dt = "5min" if kind == "gmi-dpr" else "15min"
    _max_dt_ns(max_dt)
    if isinstance(catalog_or_dir, (str, os.PathLike, pd.DataFrame)):
        table = find_granules(catalog_or_dir)
        paths = _pairs(table, kind, max_dt)
        if not paths:
            raise InvalidArgumentError(
                f"no {kind} granule pair in {catalog_or_dir!s} (found products "
                f"{sorted(set(table['product']))}); gmi-dpr needs 1C-GMI and 2A-DPR of the "
                "same orbit, gmi-x 1C-GMI and another 1C product close in time."
            )
        pairs: Any = [(g, open_granule, a, b) for g, a, b in paths]
    elif isinstance(catalog_or_dir, Iterable):  # in-memory (granule, gmi, other) triples
        pairs = []
        for i, item in enumerate(catalog_or_dir):
            if not (
                isinstance(item, tuple)
                and len(item) == 3
                and all(isinstance(x, xr.Dataset) for x in item[1:])
            ):
                raise InvalidArgumentError(
                    f"catalog_or_dir: item {i} must be a (granule_number, gmi_dataset, "
                    f"other_dataset) triple, got {type(item).__name__}"
                    + (f" of length {len(item)}" if isinstance(item, tuple) else "")
                    + "."
                )
            pairs.append((item[0], None, item[1], item[2]))
        if not pairs:
            raise InvalidArgumentError(
                "catalog_or_dir: the iterable holds no (granule_number, gmi_dataset, "
                "other_dataset) triple; nothing to write."
            )
    else:
        raise InvalidArgumentError(
            f"catalog_or_dir must be a directory, a catalog.csv, a catalog DataFrame or an "
            f"iterable of (granule, gmi, other) triples, got {type(catalog_or_dir).__name__}."
        )
    out_zarr = Path(out_zarr)
    exists = (out_zarr / ".zmetadata").exists()
    if exists and not overwrite:
        old = xr.open_zarr(out_zarr, consolidated=True)
        same = (
            old.attrs.get("matchup_kind") == kind
            and (
                old.sizes.get("cross_track"),
                old.sizes.get("along_track"),
            )
            == tile
        )
        if not same:
            raise InvalidArgumentError(
                f"{out_zarr} holds {old.attrs.get('matchup_kind')} scenes of "
                f"{old.sizes.get('cross_track')} x {old.sizes.get('along_track')}; pass "
                "overwrite=True or another path."
            )
    append = exists and not overwrite
    n_written = 0
    for granule, opener, gmi, other in tqdm(
        pairs, desc=f"matchups {kind}", unit="pair", disable=not progress
    ):
        if opener is not None:
            gmi, other = opener(gmi), opener(other)
        try:
            if kind == "gmi-dpr":
                ds = gmi_dpr_matchups(
                    gmi,
                    other,
                    footprint=footprint,
                    radius_km=radius_km,
                    max_dt=max_dt,
                    labels=False,
                )
                mask = ds["dpr_mask"].transpose("cross_track", "along_track").values
            else:
                ds = coincident_scenes(gmi, other, max_dt=max_dt, radius_km=radius_km)
                mask = ds["source_mask"].transpose("cross_track", "along_track").values
        except NoOverlapError:
            continue
        scenes = _tiles(ds, mask, tile, min_valid_fraction, granule)
        if scenes is None:
            continue
        scenes = add_labels(scenes)
        scenes.attrs = {k: v for k, v in ds.attrs.items() if not k.startswith(("gmi_", "dpr_"))} | {
            "tile": list(tile),
            "scenes_per_chunk": scenes_per_chunk,
        }
        if append:
            scenes.to_zarr(out_zarr, append_dim="scene", consolidated=True, zarr_format=2)
        else:
            encoding = {
                name: {"chunks": (scenes_per_chunk, *var.shape[1:])}
                for name, var in scenes.variables.items()
                if var.dims and var.dims[0] == "scene"
            }
            scenes.to_zarr(out_zarr, mode="w", consolidated=True, zarr_format=2, encoding=encoding)
            append = True
        n_written += scenes.sizes["scene"]
    if not append:
        raise NoOverlapError(
            f"no {kind} scene with at least {min_valid_fraction:.0%} reference pixels in "
            f"{len(pairs)} granule pair(s); nothing written to {out_zarr}."
        )
    return xr.open_zarr(out_zarr, consolidated=True)
