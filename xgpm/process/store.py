"""The output store: one Zarr group per sensor, along-track rows appended granule by granule.

Layout (Zarr format 2, consolidated metadata)::

    STORE/
      GMI/              along_track rows of every GMI granule, in selection order
      SSMIS-F17/        ...
      _xgpm/run.json    pipeline and layout of the store (checked when a run resumes)
      _xgpm/done/<PPS file name>.json     one per committed granule: group, first row, rows
      _xgpm/failed/<PPS file name>.json   one per failed granule: reason
      _xgpm/manifest.json                 done + failed tables, rewritten at the end of a run
      _xgpm/lock.json                     the lease of the run writing the store (see lock.py)

Commit protocol of one granule (only the client writes, in selection order):

1. append its rows to the group (chunks first, then the arrays' shapes);
2. rewrite the group's consolidated metadata -- readers (``xr.open_zarr``, consolidated by
   default) see the new rows only now, all at once;
3. write ``_xgpm/done/<name>.json`` (one atomic object: temp file + rename, or one S3 PUT).

A run killed between 1 and 3 leaves rows beyond the manifest; the next run cuts every array of the
group back to the rows the manifest accounts for before appending again, so the store ends exactly
as if the run had never stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import uuid
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError, WriteError
from xgpm.process.lock import LOCK_NAME
from xgpm.process.select import GranuleRef

__all__ = ["ArchiveStore", "read_manifest"]

LAYOUT_VERSION = 1
META_DIR = "_xgpm"
ALONG = "along_track"
#: dataset attributes kept from the pipeline output (others vary from granule to granule)
KEPT_ATTRS = (
    "title",
    "model",
    "model_version",
    "model_training_data",
    "model_inputs",
    "input_sensor",
    "input_product",
    "gpm_api_product",
    "ScanMode",
    "Conventions",
)


class ArchiveStore:
    """A Zarr store being filled by :func:`xgpm.process.process` (client side only).

    Parameters
    ----------
    url : str or path-like
        Local path or fsspec URL of the store.
    storage_options : dict, optional
        fsspec options (S3 endpoint, keys).
    """

    def __init__(self, url: str | os.PathLike, storage_options: dict | None = None):
        import fsspec

        self.url = os.fspath(url).rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        self.local = protocol in ("file", "local")
        self.done: dict[str, dict[str, Any]] = {}
        self.failed: dict[str, dict[str, Any]] = {}
        self.rows: dict[str, int] = {}

    # -- small objects ----------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def _put_json(self, path: str, payload: Mapping[str, Any]) -> None:
        """Write one JSON object atomically (temp + rename locally, a single PUT elsewhere)."""
        data = json.dumps(payload, indent=1, sort_keys=True, default=str).encode()
        if self.local:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex}.tmp"
            try:
                with open(tmp, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:  # a full disk: leave no partial temporary file behind
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        else:
            self.fs.pipe_file(path, data)

    def _read_dir(self, name: str) -> dict[str, dict[str, Any]]:
        folder = self._path(META_DIR, name)
        # fsspec caches listings per file-system instance, shared by every store object with the
        # same options: a listing cached before another writer added markers would hide them
        self.fs.invalidate_cache(folder)
        if not self.fs.exists(folder):
            return {}
        # temporary files of killed writes do not end in .json; cat() of a list runs
        # concurrently on S3 (thousands of small objects after a long run)
        paths = [p for p in self.fs.find(folder) if p.endswith(".json")]
        contents = self.fs.cat(paths) if paths else {}
        entries = {}
        for path in sorted(contents):
            record = json.loads(contents[path])
            entries[record["name"]] = record
        return entries

    # -- opening, repairing -------------------------------------------------------------------
    def open(self, pipeline: Mapping[str, str], *, overwrite: bool = False) -> None:
        """Create the store, or load its manifest and repair what a killed run left.

        Raises
        ------
        InvalidArgumentError
            If the store exists but holds no xgpm manifest, or was written with another
            pipeline (pass ``overwrite=True`` or another store).
        """
        run_path = self._path(META_DIR, "run.json")
        self.fs.invalidate_cache()
        if overwrite and self.fs.exists(self.root):
            self._wipe()
        if self.fs.exists(run_path):
            previous = json.loads(self.fs.cat_file(run_path))
            known = previous.get("pipelines", {})
            clash = {g: p for g, p in pipeline.items() if g in known and known[g] != p}
            if clash:
                raise InvalidArgumentError(
                    f"{self.url} was written with pipelines {known}, not {dict(pipeline)}; "
                    "use another store or overwrite=True (--overwrite)"
                )
            if set(pipeline) - set(known):  # new sensor groups join the store
                self._put_json(run_path, {**previous, "pipelines": {**known, **pipeline}})
        elif self._entries():  # something besides the lease: not ours
            raise InvalidArgumentError(
                f"{self.url} exists and is not an xgpm process store (no {META_DIR}/run.json); "
                "use another store or overwrite=True (--overwrite)"
            )
        else:
            self.fs.makedirs(self.root, exist_ok=True)
            self._put_json(
                run_path, {"layout_version": LAYOUT_VERSION, "pipelines": dict(pipeline)}
            )
        self.done = self._read_dir("done")
        self.failed = self._read_dir("failed")
        self.rows = {}
        for record in self.done.values():
            group = record["group"]
            self.rows[group] = max(self.rows.get(group, 0), record["row_start"] + record["rows"])
        self._repair()

    def _is_lease(self, path: str) -> bool:
        """The run's lease ``_xgpm/lock.json`` (and its temporary files): kept by overwrite."""
        parent, name = posixpath.split(path.rstrip("/"))
        return posixpath.basename(parent) == META_DIR and name.startswith(LOCK_NAME)

    def _entries(self) -> list[str]:
        """Everything at the root, and in ``_xgpm/``, except the lease."""
        if not self.fs.exists(self.root):
            return []
        entries = []
        for path in self.fs.ls(self.root, detail=False):
            if posixpath.basename(path.rstrip("/")) == META_DIR and self.fs.isdir(path):
                entries += [p for p in self.fs.ls(path, detail=False) if not self._is_lease(p)]
            else:
                entries.append(path)
        return entries

    def _wipe(self) -> None:
        """Delete the store's content but not the lease this run holds (``overwrite``)."""
        for path in self._entries():
            self.fs.rm(path, recursive=True)
        self.fs.invalidate_cache()

    def _groups_on_disk(self) -> list[str]:
        names = []
        for path in self.fs.ls(self.root, detail=False):
            name = posixpath.basename(path.rstrip("/"))
            if name != META_DIR and self.fs.exists(posixpath.join(path, ".zgroup")):
                names.append(name)
        return names

    def _arrays(self, group: str) -> dict[str, tuple[list[str], list[int]]]:
        """The (dims, shape) of each of a group's arrays, from their own metadata files."""
        folders = self.fs.ls(self._path(group), detail=False)
        paths = [f"{f.rstrip('/')}/{key}" for f in folders for key in (".zarray", ".zattrs")]
        raw = self.fs.cat(paths, on_error="omit") if paths else {}
        arrays = {}
        for path, data in raw.items():
            if not path.endswith(".zarray"):
                continue
            folder = path[: -len("/.zarray")]
            attrs = json.loads(raw.get(f"{folder}/.zattrs", b"{}"))
            shape = json.loads(data)["shape"]
            arrays[posixpath.basename(folder)] = (list(attrs.get("_ARRAY_DIMENSIONS", [])), shape)
        return arrays

    def _repair(self) -> None:
        """Cut every group back to the rows the manifest accounts for.

        Reads only metadata files; opens a group with zarr (to resize its arrays) and
        re-consolidates the store only when a killed run left something to undo.
        """
        on_disk = self._groups_on_disk()
        lost = [g for g, n in self.rows.items() if n and g not in on_disk]
        if lost:
            raise WriteError(
                f"{self.url}: the manifest lists rows of {lost} but the store has no such group: "
                "it was changed outside xgpm; start again with overwrite=True"
            )
        consolidated_path = self._path(".zmetadata")
        stale = not self.fs.exists(consolidated_path) if on_disk else False
        consolidated = {} if stale or not on_disk else self._consolidated()["metadata"]
        for group in on_disk:
            keep = self.rows.get(group, 0)
            if keep == 0:  # only a killed first write: nothing committed
                self.fs.rm(self._path(group), recursive=True)
                stale = True
                continue
            too_long = []
            for name, (dims, shape) in self._arrays(group).items():
                expected = list(shape)
                if ALONG in dims:
                    axis = dims.index(ALONG)
                    if shape[axis] < keep:
                        raise WriteError(
                            f"{self.url}/{group}/{name} has {shape[axis]} rows but the manifest "
                            f"accounts for {keep}: the store was changed outside xgpm; start "
                            "again with overwrite=True"
                        )
                    if shape[axis] > keep:
                        too_long.append((name, axis))
                    expected[axis] = keep
                seen = consolidated.get(f"{group}/{name}/.zarray", {}).get("shape")
                stale = stale or seen != expected
            if too_long:
                self._resize(group, too_long, keep)
        if stale:
            self.consolidate()

    def _resize(self, group: str, arrays: list[tuple[str, int]], rows: int) -> None:
        import zarr

        zgroup = zarr.open_group(self._zarr_store(), path=group, mode="r+", zarr_format=2)
        for name, axis in arrays:
            array = zgroup[name]
            shape = list(array.shape)
            shape[axis] = rows
            array.resize(tuple(shape))

    def _zarr_store(self):
        if self.local:
            return self.root
        from zarr.storage import FsspecStore

        return FsspecStore.from_url(self.url, storage_options=self.storage_options)

    def consolidate(self) -> None:
        """Rewrite the root's consolidated metadata (for ``xr.open_datatree``)."""
        import zarr

        if not self._groups_on_disk():
            return
        with _quiet_zarr():
            zarr.consolidate_metadata(self._zarr_store(), zarr_format=2)

    def _consolidated(self) -> dict[str, Any]:
        return json.loads(self.fs.cat_file(self._path(".zmetadata")))

    def _check_variables(self, group: str, ds: xr.Dataset, names: str) -> None:
        """Appending must not create variables: they would lack the earlier rows."""
        keys = self._consolidated()["metadata"]
        stored = {k.split("/")[1] for k in keys if k.startswith(f"{group}/") and k.count("/") == 2}
        given = {str(n) for n in ds.variables}
        if stored != given:
            raise WriteError(
                f"{names}: the pipeline output has the variables {sorted(given)}, the rows of "
                f"{self.url}/{group} {sorted(stored)}; the pipeline must give every granule of a "
                "sensor the same variables"
            )

    def _refresh_consolidated(self, group: str) -> None:
        """Re-read one group's array metadata into the root's ``.zmetadata`` (one PUT).

        The rows appended to a group become visible to readers of the consolidated metadata
        (``xr.open_zarr``) here, all at once. Cheaper than :meth:`consolidate` on S3: the other
        groups are not read again.
        """
        path = self._path(".zmetadata")
        meta = self._consolidated()
        keys = [k for k in meta["metadata"] if k.startswith(f"{group}/")]
        fresh = self.fs.cat([self._path(k) for k in keys])
        for key in keys:
            meta["metadata"][key] = json.loads(fresh[self._path(key)])
        self._put_json(path, meta)

    # -- committing ---------------------------------------------------------------------------
    def is_done(self, name: str) -> bool:
        """Whether the manifest lists ``name`` as committed."""
        return name in self.done

    def commit(
        self,
        refs: Sequence[GranuleRef],
        datasets: Sequence[xr.Dataset],
        *,
        along_track_chunk: int,
        attrs: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        """Append consecutive granules of one sensor (one write), then record each in the manifest.

        Raises
        ------
        WriteError
            If an output has no ``along_track`` dim or does not fit the group's rows (other
            variables or cross-track size); the group may then hold rows beyond the manifest:
            :meth:`open` cuts them back.
        """
        group = refs[0].sensor
        if any(r.sensor != group for r in refs) or len(refs) != len(datasets):
            raise InvalidArgumentError("commit takes granules of one sensor, one Dataset each")
        row_start = self.rows.get(group, 0)
        prepared = [_prepare(ds, ref, attrs) for ref, ds in zip(refs, datasets, strict=True)]
        store = self._zarr_store()
        kwargs: dict[str, Any] = {"group": group, "consolidated": True, "zarr_format": 2}
        names = ", ".join(r.name for r in refs)
        if row_start:
            self._check_variables(group, prepared[0], names)
        try:
            ds = prepared[0]
            if len(prepared) > 1:
                ds = xr.concat(
                    prepared,
                    dim=ALONG,
                    data_vars="minimal",
                    coords="minimal",
                    compat="override",
                    join="exact",
                    combine_attrs="override",
                )
            with _quiet_zarr():
                if row_start == 0:
                    ds.to_zarr(store, mode="w", encoding=_encoding(ds, along_track_chunk), **kwargs)
                else:  # the consolidated metadata is refreshed below, for this group only
                    ds.to_zarr(
                        store, mode="a", append_dim=ALONG, **{**kwargs, "consolidated": False}
                    )
        except (ValueError, TypeError, KeyError) as err:
            raise WriteError(
                f"{names}: the pipeline output does not fit the rows of {self.url}/{group} "
                f"({err}); the pipeline must give every granule of a sensor the same variables "
                "and cross-track size"
            ) from err
        if row_start == 0:
            self.consolidate()
        else:
            self._refresh_consolidated(group)
        records = []
        for ref, part in zip(refs, prepared, strict=True):
            n = part.sizes[ALONG]
            record = {**ref.to_record(), "group": group, "row_start": row_start, "rows": n}
            self._put_json(self._path(META_DIR, "done", f"{ref.name}.json"), record)
            self.done[ref.name] = record
            row_start += n
            self.rows[group] = row_start
            records.append(record)
        return records

    def record_failure(self, ref: GranuleRef, reason: str) -> dict[str, Any]:
        """Record a granule that could not be processed (it is skipped by later runs)."""
        record = {**ref.to_record(), "reason": reason}
        self._put_json(self._path(META_DIR, "failed", f"{ref.name}.json"), record)
        self.failed[ref.name] = record
        return record

    def forget_failure(self, name: str) -> None:
        """Drop a failure record (to retry the granule)."""
        path = self._path(META_DIR, "failed", f"{name}.json")
        if self.fs.exists(path):
            self.fs.rm(path)
        self.failed.pop(name, None)

    def write_manifest(self) -> None:
        """Write ``_xgpm/manifest.json`` (done and failed tables) in one atomic object."""
        self._put_json(
            self._path(META_DIR, "manifest.json"),
            {
                "layout_version": LAYOUT_VERSION,
                "done": sorted(self.done.values(), key=lambda r: (r["group"], r["row_start"])),
                "failed": sorted(self.failed.values(), key=lambda r: r["name"]),
            },
        )


@contextlib.contextmanager
def _quiet_zarr():
    """Hide zarr's note that ``_xgpm/`` (the manifest) is no Zarr node: that is intended."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not recognized as a component")
        yield


def _prepare(ds: xr.Dataset, ref: GranuleRef, attrs: Mapping[str, Any]) -> xr.Dataset:
    """Add the ``granule`` coordinate, keep stable attributes, make strings variable-length."""
    if ALONG not in ds.dims:
        raise WriteError(
            f"{ref.name}: the pipeline output has no {ALONG!r} dim (dims: {dict(ds.sizes)}); "
            "the along-track layout needs swath output"
        )
    ds = ds.assign_coords(granule=(ALONG, np.full(ds.sizes[ALONG], ref.granule, dtype="int64")))
    kept = {k: ds.attrs[k] for k in KEPT_ATTRS if k in ds.attrs}
    ds = ds.copy()
    ds.attrs = {**kept, **attrs}
    strings = {}
    for name, var in ds.variables.items():
        var.encoding = {}
        if var.dtype.kind == "U" and ALONG in var.dims:
            strings[name] = var.astype(object)  # fixed width would truncate longer later rows
    coords = {k: v for k, v in strings.items() if k in ds.coords}
    data = {k: v for k, v in strings.items() if k not in ds.coords}
    return ds.assign_coords(coords).assign(data)


def _encoding(ds: xr.Dataset, along_track_chunk: int) -> dict[str, dict[str, Any]]:
    encoding: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        enc: dict[str, Any] = {}
        if ALONG in var.dims:
            enc["chunks"] = tuple(
                along_track_chunk if d == ALONG else max(1, var.sizes[d]) for d in var.dims
            )
        if var.dtype.kind == "M":
            enc["units"] = "nanoseconds since 1970-01-01"
            enc["dtype"] = "int64"
        encoding[name] = enc
    return encoding


def read_manifest(
    store: str | os.PathLike, *, storage_options: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The done and failed tables of a store written by :func:`xgpm.process.process`.

    Returns
    -------
    (done, failed) : tuple of DataFrame
        ``done``: one row per committed granule (name, url, product, sensor, start, end, granule,
        version, group, row_start, rows), sorted by group and first row. ``failed``: one row per
        failed granule with its ``reason``.
    """
    archive = ArchiveStore(store, storage_options)
    done = pd.DataFrame(sorted(archive._read_dir("done").values(), key=_row_key))
    failed = pd.DataFrame(
        sorted(archive._read_dir("failed").values(), key=lambda r: r["name"]),
        columns=[*GranuleRef.__dataclass_fields__, "reason"],
    )
    if done.empty:
        done = pd.DataFrame(
            columns=[*GranuleRef.__dataclass_fields__, "group", "row_start", "rows"]
        )
    return done, failed


def _row_key(record: Mapping[str, Any]) -> tuple[str, int]:
    return record["group"], record["row_start"]
