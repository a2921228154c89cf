"""Low-level HDF5 access: open any source with h5py, and lazy, picklable, fill-decoding arrays."""

from __future__ import annotations

import io
import os
import threading
from typing import Any

import numpy as np

from xgpm.errors import CorruptGranuleError, GranuleError, NoSuchFileError, NotHDF5Error

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def source_name(source: Any) -> str:
    """A printable name of a path, URL or file object (for messages and file-name parsing)."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    for attr in ("path", "full_name", "name"):
        name = getattr(source, attr, None)
        if isinstance(name, str) and name:
            return name
    return f"<{type(source).__name__}>"


def _is_url(source: Any) -> bool:
    return isinstance(source, str) and "://" in source and not source.startswith("file://")


def _check_signature(fileobj: Any, name: str) -> None:
    # HDF5 may start the superblock at 0, 512, 1024 ...; PPS files (and h5py's) use 0. h5py
    # reads file objects at absolute offsets, so where the caller left the position is moot.
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    if len(head) < 8:
        raise NotHDF5Error(f"{name}: the file is empty or truncated (fewer than 8 bytes)")
    if head != _HDF5_SIGNATURE:
        raise NotHDF5Error(
            f"{name}: not an HDF5 file (no HDF5 signature); GPM granules are HDF5 (.HDF5). "
            "Check that the download finished and that this is not an HTML error page or a "
            "compressed archive"
        )


class H5Opener:
    """A picklable recipe that opens a source with h5py (path, ``file://``, fsspec URL).

    Instances are the key of a per-process cache of open files, so a dask task that reads a
    block reuses the handle opened by earlier tasks in the same process and distributed
    workers open each file once.
    """

    def __init__(self, source: str | os.PathLike, storage_options: dict | None = None):
        self.source = os.fspath(source)
        self.storage_options = dict(storage_options or {})

    def __reduce__(self):
        return (H5Opener, (self.source, self.storage_options))

    def __hash__(self) -> int:
        import json

        # storage options nest (client_kwargs={...}): hash a canonical text of them
        return hash((self.source, json.dumps(self.storage_options, sort_keys=True, default=str)))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, H5Opener)
            and other.source == self.source
            and other.storage_options == self.storage_options
        )

    def open(self):
        """Open and return an ``h5py.File`` (read-only)."""
        import h5py

        from xgpm.io._storage import storage_errors, with_timeouts

        name = self.source
        if _is_url(name):
            import fsspec

            with storage_errors(name):
                options = with_timeouts(name, self.storage_options)
                fileobj = fsspec.open(name, mode="rb", **options).open()
                return open_h5_fileobj(fileobj, name)
        path = name[len("file://") :] if name.startswith("file://") else name
        if not os.path.exists(path):
            raise NoSuchFileError(
                f"{path}: no such granule file; check the path (relative paths start at "
                f"{os.getcwd()})"
            )
        with storage_errors(path), open(path, "rb") as fh:
            _check_signature(fh, path)
        try:
            return h5py.File(path, "r")
        except OSError as err:
            raise CorruptGranuleError(
                f"{path}: HDF5 signature found but the file cannot be opened ({err}); "
                "it is probably truncated: download it again"
            ) from err


def open_h5_fileobj(fileobj: Any, name: str):
    """Open a binary file object with h5py, with xgpm's errors for bad content."""
    import h5py

    if isinstance(fileobj, (bytes, bytearray, memoryview)):
        fileobj = io.BytesIO(fileobj)
    _check_signature(fileobj, name)
    try:
        return h5py.File(fileobj, "r")
    except OSError as err:
        raise CorruptGranuleError(
            f"{name}: HDF5 signature found but the file cannot be opened ({err}); "
            "it is probably truncated: download it again"
        ) from err


_CACHE: dict[H5Opener, tuple[Any, tuple | None]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def _local_path(opener: H5Opener) -> str | None:
    if _is_url(opener.source):
        return None
    source = opener.source
    return source[len("file://") :] if source.startswith("file://") else source


def _identity(opener: H5Opener) -> tuple | None:
    """(device, inode, mtime, size) of a local file, None for URLs.

    A file replaced under the same name (a rewritten granule) must not be served from a handle
    on the old one.
    """
    path = _local_path(opener)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def cached_file(opener: H5Opener):
    """Return an open ``h5py.File`` for ``opener``, opening it at most once per process.

    Local files are re-opened when they were replaced or modified since they were cached.
    """
    identity = _identity(opener)
    with _CACHE_LOCK:
        entry = _CACHE.get(opener)
        if entry is not None:
            h5, cached_identity = entry
            if h5.id.valid and cached_identity == identity:
                return h5
            _CACHE.pop(opener)
            try:
                h5.close()
            except Exception:  # noqa: BLE001 - an already invalid handle
                pass
        h5 = opener.open()
        if len(_CACHE) >= _CACHE_SIZE:
            oldest = next(iter(_CACHE))
            _CACHE.pop(oldest)[0].close()
        _CACHE[opener] = (h5, identity)
        return h5


def close_cached(source: str | os.PathLike | None = None) -> None:
    """Close cached handles (all, or those of one source), e.g. before rewriting a file."""
    with _CACHE_LOCK:
        for key in list(_CACHE):
            if source is None or os.path.abspath(key.source) == os.path.abspath(source):
                try:
                    _CACHE.pop(key)[0].close()
                except Exception:  # noqa: BLE001 - a handle already closed is fine
                    pass


class LazyH5Array:
    """A lazily read HDF5 dataset, decoded on read (fill values and special codes to NaN).

    Indexing reads only the requested slab. The object holds an :class:`H5Opener` (picklable) or
    an already open file (for file objects, which cannot be pickled), never data.
    """

    def __init__(
        self,
        file: H5Opener | Any,
        path: str,
        shape: tuple[int, ...],
        dtype: np.dtype,
        fill_value: Any,
        out_dtype: np.dtype,
        axes: tuple[int, ...] | None = None,
        valid_range: tuple[float, float] | None = None,
        decoder: Any = None,
        contiguous: bool = False,
    ):
        self.file = file
        # blocks come out C-contiguous in model order (dask copies every single-block result:
        # a copy of a C-contiguous block is a plain memory copy, of a transposed view a slow
        # strided one); False: a transposed view of the stored order (no copy at all)
        self.contiguous = contiguous
        self.valid_range = valid_range
        # a xgpm.io._decode.Decoder (fill values and the registry's codes); None: the plain
        # fill value of ``fill_value``
        self.decoder = decoder
        self.path = path
        self.ndim = len(shape)
        # ``axes`` orders the stored dims into the data model's (e.g. nscan, npixel ->
        # cross_track, along_track): blocks come out transposed, with no extra dask layer.
        self.axes = tuple(range(self.ndim)) if axes is None else tuple(axes)
        self.shape = tuple(shape[a] for a in self.axes)
        self.h5_dtype = dtype
        self.fill_value = fill_value
        self.dtype = out_dtype

    def _dataset(self):
        h5 = cached_file(self.file) if isinstance(self.file, H5Opener) else self.file
        return h5[self.path]

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        if all(isinstance(k, slice) for k in key):
            stored_key = [slice(None)] * self.ndim
            for i, axis in enumerate(self.axes):
                stored_key[axis] = key[i]
            if self.contiguous and self.axes != tuple(range(self.ndim)):
                # read into this thread's scratch buffer, decode there, copy out transposed
                out = self._read(tuple(stored_key), scratch=True)
                result = transposed_copy(out, self.axes)
                if np.may_share_memory(result, out):  # a transposition that is a mere view
                    result = result.copy()
                return result
            out = self._read(tuple(stored_key))
            if self.contiguous:
                return transposed_copy(out, self.axes)
            return out.transpose(self.axes)
        # anything but plain slices: read the dataset in model order, then index it
        return self._read(Ellipsis).transpose(self.axes)[key]

    def _read(self, key, scratch: bool = False) -> np.ndarray:
        """Read ``key`` (stored order) and decode it.

        ``scratch``: read into this thread's reused buffer where it fits (the caller copies the
        result out before the next read in the thread).
        """
        try:
            dset = self._dataset()
            raw = _scratch_read(dset, key) if scratch else None
            if raw is None:
                raw = dset[key]
        except (OSError, RuntimeError) as err:
            name = self.file.source if isinstance(self.file, H5Opener) else "<file object>"
            raise CorruptGranuleError(
                f"{name}: cannot read {self.path} ({err}); the file is damaged or truncated: "
                "download it again"
            ) from err
        if self.decoder is not None:
            # a fresh buffer from h5py: decoded in place where the dtype stays
            out = self.decoder(raw, inplace=isinstance(raw, np.ndarray))
        else:
            out = decode(raw, self.fill_value, self.dtype)
        if self.valid_range is not None:
            out = mask_outside(out, self.valid_range, self._name(), self.path)
        return out

    def _name(self) -> str:
        return self.file.source if isinstance(self.file, H5Opener) else source_name(self.file)


#: largest block read into a thread's scratch buffer (a full 1C-GMI S1 ``Tc`` is 23.5 MB)
SCRATCH_BYTES = 32 * 2**20
_SCRATCH = threading.local()


def _scratch_read(dset: Any, key: Any) -> np.ndarray | None:
    """``dset[key]`` read into this thread's reused buffer; None where that does not apply.

    A fresh array per block costs a page fault per 4 KiB page on first touch; in a dask worker
    thread that was measured at several ms per full-granule variable (more than decoding it),
    apparently because glibc hands such a thread's large freed blocks back to the system while
    the main thread's are reused. Blocks up to :data:`SCRATCH_BYTES`
    of plain numbers (plain slices) are read into one buffer kept per thread instead; the
    result is only valid until the thread's next read.
    """
    if not isinstance(key, tuple) or len(key) != dset.ndim or dset.dtype.kind not in "iuf":
        return None
    if not all(isinstance(k, slice) and k.step in (None, 1) for k in key):
        return None
    shape = tuple(len(range(*k.indices(n))) for k, n in zip(key, dset.shape, strict=True))
    nbytes = int(np.prod(shape, dtype=np.int64)) * dset.dtype.itemsize
    if nbytes == 0 or nbytes > SCRATCH_BYTES:
        return None
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None:
        buffer = _SCRATCH.buffer = np.empty(SCRATCH_BYTES, dtype=np.uint8)
    out = buffer[:nbytes].view(dset.dtype).reshape(shape)
    dset.read_direct(out, source_sel=key)
    return out


#: PPS fill codes of geolocation (-9999, -9999.9, -99999) lie below this: missing, not damaged
PPS_FILL_CEILING = -9998.5


def mask_outside(values: np.ndarray, valid_range: tuple[float, float], name: str, path: str):
    """Set values outside ``valid_range`` (or infinite) to NaN, warning with how many.

    Geolocation of +-inf or a latitude of 91 deg is no fill code PPS uses, so it is not a
    missing value but a damaged one: colocating with it would put pixels anywhere.
    """
    if values.dtype.kind != "f":
        return values
    low, high = valid_range
    with np.errstate(invalid="ignore"):
        if bool(np.logical_and(values >= low, values <= high).all()):
            return values  # all finite and in range (the usual case): one pass, no copy
        fill_code = np.isfinite(values) & (values <= PPS_FILL_CEILING)
        bad = (np.isinf(values) | (values < low) | (values > high)) & ~fill_code
    if fill_code.any() or bad.any():
        values = values.copy() if not values.flags.writeable else values
        values[fill_code] = np.nan  # a fill code, whatever _FillValue said: missing
    count = int(bad.sum())
    if count:
        import warnings

        from xgpm.errors import DataQualityWarning

        values[bad] = np.nan
        warnings.warn(
            f"{name}: {count} of {values.size} {path} values read are infinite or outside "
            f"[{low:g}, {high:g}]; set to NaN (these pixels are treated as missing)",
            DataQualityWarning,
            stacklevel=2,
        )
    return values


def transposed_copy(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``values.transpose(axes)`` as a new C-contiguous array (the same values, bit for bit).

    Trailing axes that keep their place move together: each run of them is copied as one
    opaque element (e.g. the 9 channels of a (scan, pixel, channel) block), which makes the
    strided copy about twice as fast as NumPy's element-wise one.
    """
    axes = tuple(axes)
    ndim = values.ndim
    if axes == tuple(range(ndim)):
        return np.ascontiguousarray(values)
    keep = ndim
    while keep > 0 and axes[keep - 1] == keep - 1:
        keep -= 1
    trailing = values.shape[keep:]
    if keep == ndim or values.size == 0 or not values.flags.c_contiguous or values.dtype.hasobject:
        return np.ascontiguousarray(values.transpose(axes))
    nbytes = values.dtype.itemsize * int(np.prod(trailing, dtype=np.int64))
    lead = values.shape[:keep]
    packed = values.reshape(lead + (-1,)).view(np.dtype((np.void, nbytes))).reshape(lead)
    moved = np.ascontiguousarray(packed.transpose(axes[:keep]))
    return moved.view(values.dtype).reshape(moved.shape + trailing)


def decode(raw: np.ndarray, fill_value: Any, out_dtype: np.dtype) -> np.ndarray:
    """Cast ``raw`` to ``out_dtype`` and replace ``fill_value`` by NaN (in one pass)."""
    raw = np.asarray(raw)
    if fill_value is None or out_dtype.kind != "f":
        return raw.astype(out_dtype, copy=False)
    if raw.dtype == out_dtype:
        out = raw if raw.flags.writeable else raw.copy()
        out[out == fill_value] = np.nan
        return out
    out = raw.astype(out_dtype)
    out[raw == fill_value] = np.nan
    return out


def decoded_dtype(dtype: np.dtype, fill_value: Any) -> np.dtype:
    """The data-model dtype of a stored dtype: integers with a fill value become floats."""
    dtype = np.dtype(dtype)
    if fill_value is None or dtype.kind == "f":
        return dtype
    if dtype.kind in "iu":
        return np.dtype("float64") if dtype.itemsize >= 4 else np.dtype("float32")
    return dtype


def attr_text(value: Any) -> Any:
    """HDF5 attribute value as Python: bytes -> str, 1-element arrays -> scalar."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iufS":
        item = value.reshape(-1)[0]
        return item.decode() if isinstance(item, bytes) else item.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = [
    "GranuleError",
    "H5Opener",
    "LazyH5Array",
    "attr_text",
    "cached_file",
    "close_cached",
    "decode",
    "decoded_dtype",
    "mask_outside",
    "open_h5_fileobj",
    "source_name",
    "transposed_copy",
]
