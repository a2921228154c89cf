"""Open PPS HDF5 granules of every GPM-API product in GPM-API's data model.

The data flow for one granule::

    source (path | file:// | s3:// ... | file object)
      -> h5py.File (opened once per process, see ``_hdf5.cached_file``)
      -> FileHeader -> product (checked against the PPS, custom-subset or JAXA file name)
         -> product, family, scan modes of the granule's version (registry, products.yaml)
      -> per scan mode (``_swath``): every dataset -> lazy dask array, decoded on read
         (fill values and the registry's PPS codes -> NaN, ``_decode``);
         HDF5 dims (nscanN, npixelN, nchannelN ...) -> (cross_track, along_track, pmw_frequency ...)
         ScanTime -> ``time``; Latitude/Longitude -> ``lat``/``lon``; channel labels from the
         sensor registry
      -> one scan mode (Dataset), all of them (DataTree) or all channels merged on one swath
         (``_merge``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import xarray as xr

from xgpm.errors import (
    EmptyGranuleError,
    InvalidArgumentError,
    MissingVariableError,
    WrongProductError,
)
from xgpm.io import _header
from xgpm.io._collection import drop_duplicates, expand_sources, first_time, source_of
from xgpm.io._header import GranuleInfo
from xgpm.io._merge import (  # noqa: F401 - _nearest_index: used by xgpm.translate.train
    DEFAULT_MERGE_RADIUS_KM,
    _nearest_index,
    check_radius,
    merge_scan_modes,
)
from xgpm.io._scan_time import REDOWNLOAD as _REDOWNLOAD
from xgpm.io._swath import check_chunks, dataset_attrs, file_scan_modes, read_scan_mode

_log = logging.getLogger(__name__)

__all__ = ["open_granule", "open_granules", "merge_scan_modes", "GranuleInfo", "granule_info"]

ScanModeArg = str | Literal["all", "merged"] | None


def granule_info(source: Any, *, storage_options: dict | None = None) -> GranuleInfo:
    """Read a granule's header only (cheap): product, sensor, times, granule number, version."""
    _, h5, name = _header.open_h5(source, storage_options)
    blocks = _header.read_root_attrs(h5, name)
    return GranuleInfo(name, blocks, _header.product_from_header(blocks["FileHeader"], name))


def open_granule(
    source: Any,
    *,
    scan_mode: ScanModeArg = None,
    variables: str | Sequence[str] | None = None,
    product: str | None = None,
    chunks: Any = "auto",
    storage_options: dict | None = None,
    merge_radius_km: float = DEFAULT_MERGE_RADIUS_KM,
    check_filename: bool = True,
    decode: bool = True,
) -> xr.Dataset | xr.DataTree:
    """Open one PPS granule lazily in GPM-API's data model.

    Parameters
    ----------
    source : str, path-like, or binary file object
        A local path, ``file://`` URL, any fsspec URL (``s3://...``, ``memory://...``) or an open
        binary file object (e.g. ``fsspec.open(url).open()`` or ``io.BytesIO``). Any product of
        :func:`xgpm.io.products.product_names` (GPM and TRMM, 1A to IMERG, V05 to V07), under a
        PPS, PPS custom-subset (``2A-CS-CONUS...``) or JAXA (``GPMCOR_KUR_...h5``) name, or any
        name at all (the FileHeader says what the file holds).
    scan_mode : str, optional
        Which swath to return. A scan-mode name (``"S1"``, ``"FS"``, ``"NS"``, ``"KuKaGMI"``,
        ``"Swath"``, ``"Grid"``) returns that swath as a Dataset; ``"all"`` returns a DataTree
        with one node per scan mode; ``"merged"`` puts every channel of a multi-swath radiometer
        on its widest swath (see :func:`merge_scan_modes`). Default: ``"merged"`` for
        multi-swath 1C products, the product's main swath in the granule's version otherwise
        (2A-DPR: FS in V07, NS in V06; 2B-CORRA: KuKaGMI), as GPM-API. 2B-CORRA V06 swaths
        ``NS``/``MS`` are read as ``KuGMI``/``KuKaGMI`` (either name is accepted).
    variables : str or sequence of str, optional
        Variables to read (data-model names such as ``"Tc"``, ``"precipRateNearSurface"``);
        all by default. Reading stays lazy either way.
    product : str, optional
        The product expected (GPM-API name, e.g. ``"1C-GMI"``); a file holding another product
        raises :class:`~xgpm.errors.WrongProductError`. It names the product of a file whose
        header tells none.
    chunks : "auto", int, dict or None, optional
        Dask chunks by data-model dim, e.g. ``{"along_track": 500}`` (dims not named are read
        whole); an int is the ``along_track`` (grids: ``time``) chunk size; ``"auto"`` (default)
        lets dask pick the scan chunk and reads the other dims whole. ``None``: no dask, but
        still lazy (xarray's lazy indexing reads a variable, or a slice of it, when accessed);
        the fastest way to load whole variables in one process.
    storage_options : dict, optional
        Passed to fsspec for URLs (e.g. ``{"anon": True}`` or an S3 endpoint).
    merge_radius_km : float
        Search radius of the nearest-neighbour merge of scan modes.
    check_filename : bool
        Check that a PPS, custom-subset or JAXA file name agrees with the file's FileHeader.
    decode : bool
        Decode stored values (default): ``_FillValue``, ``CodeMissingValue`` and the PPS
        special codes the registry declares (-9999 under a -9999.9 fill value, -99 flags,
        -1111 "no bright band", the 0 "no bin" of bin indices ...) become NaN, as in GPM-API.
        ``False``: every data variable as stored (dtype and codes); ``lat``/``lon`` and
        ``time`` stay decoded. Either way a decoded variable keeps its stored values in
        ``encoding["raw_values"]`` (``.read()``) and its rule in ``encoding["decoding"]``.

    Returns
    -------
    xarray.Dataset or xarray.DataTree
        Orbit products: dims ``(cross_track, along_track, ...)``, coords ``lon``, ``lat``,
        ``time`` (datetime64[ns], NaT for missing scans); 1C ``Tc`` has a ``pmw_frequency`` dim
        labelled like GPM-API (``"89V"``, ``"183V7"``); radar products a ``range`` dim with
        GPM-API's 1-based ``range`` coordinate. IMERG: ``(time, lat, lon)`` with V07 variable
        names (V06 names are renamed). Missing values are NaN.

    Raises
    ------
    NotHDF5Error, CorruptGranuleError
        The file is not HDF5 or is truncated.
    WrongProductError
        The file holds another product than ``product``.
    EmptyGranuleError
        The header says the granule is empty.
    FileNameMismatchError
        The PPS file name disagrees with the FileHeader.
    MissingVariableError
        A requested scan mode or variable is not in the file.

    Examples
    --------
    >>> ds = xgpm.open_granule("1C.GPM.GMI.XCAL2016-C.20140304-S175932-E193159.000079.V07A.HDF5")
    ... # doctest: +SKIP
    >>> ds["Tc"].sel(pmw_frequency="89V")  # doctest: +SKIP
    """
    if isinstance(variables, str):
        variables = [variables]
    chunks = check_chunks(chunks)
    merge_radius_km = check_radius(merge_radius_km)
    _check_scan_mode_arg(scan_mode)
    if product is not None:
        from xgpm.io.products import product as get_product

        get_product(product)  # unknown product name -> UnknownProductError
    file, h5, name = _header.open_h5(source, storage_options)
    blocks = _header.read_root_attrs(h5, name)
    actual = _header.product_from_header(blocks["FileHeader"], name, product)
    if product is not None and product != actual:
        raise WrongProductError(
            f"{name}: holds {actual}, not the requested {product}; open it without "
            f"product=... or with product={actual!r}"
        )
    info = GranuleInfo(name, blocks, actual)
    if check_filename:
        _header.check_filename(name, info)
    if info.header.get("EmptyGranule", "NOT_EMPTY").strip().upper() == "EMPTY":
        raise EmptyGranuleError(
            f"{name}: FileHeader says EmptyGranule=EMPTY: the granule holds no data "
            "(PPS writes such files for orbits without observations); skip it"
        )
    file_modes = file_scan_modes(h5, info)
    if scan_mode in (None, "merged", "all"):
        _check_complete(info, file_modes, scan_mode)
    token = _token(source, name) + ("" if decode else "-raw")
    _log.debug(
        "%s: %s %s, scan modes %s (asked: %s)",
        name,
        info.product,
        info.version,
        ", ".join(file_modes),
        scan_mode or "default",
    )

    def read(mode: str) -> xr.Dataset:
        return read_scan_mode(
            file, h5, info, mode, file_modes[mode], variables, chunks, token, decode
        )

    if scan_mode is None:
        scan_mode = info.spec.default_scan_mode(info.version)
        single = scan_mode == "merged" and len(file_modes) == 1
        if single or scan_mode not in (*file_modes, "merged"):
            scan_mode = next(iter(file_modes))
    if scan_mode == "merged":
        if len(file_modes) == 1:
            return read(next(iter(file_modes)))
        if info.family.default_scan_mode != "merged":
            raise InvalidArgumentError(
                f"{name}: scan_mode='merged' puts the channels of a 1C granule's swaths on one; "
                f"for {info.product}, pass one of {', '.join(file_modes)} or 'all'"
            )
        return merge_scan_modes({m: read(m) for m in file_modes}, radius_km=merge_radius_km)
    if scan_mode == "all":
        tree = xr.DataTree.from_dict({m: read(m) for m in file_modes})
        tree.attrs = dataset_attrs(info, "all")
        return tree
    by_group = {group: mode for mode, group in file_modes.items()}
    scan_mode = scan_mode if scan_mode in file_modes else by_group.get(scan_mode, scan_mode)
    if scan_mode not in file_modes:
        raise MissingVariableError(
            f"{name}: no scan mode {scan_mode!r} in this {info.product} granule; available: "
            f"{', '.join(file_modes)} (or 'all', 'merged')"
        )
    return read(scan_mode)


def _check_scan_mode_arg(scan_mode: Any) -> None:
    if scan_mode is not None and not isinstance(scan_mode, str):
        raise InvalidArgumentError(
            f"scan_mode must be a scan-mode name ('S1', 'FS' ...), 'all', 'merged' or None, "
            f"not {scan_mode!r}"
        )


def _check_complete(info: GranuleInfo, file_modes: dict[str, str], scan_mode: Any) -> None:
    """Refuse a 1C granule that lacks scan modes when every channel was asked for.

    A 1C-GMI without S2 would otherwise open as 9 channels, and a model would find out later
    (or a user never). Asking for one scan mode by name reads what is there.
    """
    sensor = info.sensor
    if info.family.scan_modes is not None or sensor is None:
        return  # non-1C products: scan modes differ between versions, the registry decides
    absent = [m for m in sensor.scan_modes if m not in file_modes]
    if not absent:
        return
    channels = [c.label for m in absent for c in sensor.scan_modes[m].channels]
    present = ", ".join(f"scan_mode={m!r}" for m in file_modes)
    raise MissingVariableError(
        f"{info.name}: this {info.product} granule lacks scan mode(s) {', '.join(absent)}, "
        f"so channels {', '.join(channels)} are missing; the file is damaged or was cut: "
        f"download it again{_REDOWNLOAD}, or read the scan modes it has by name ({present})"
    )


def _token(source: Any, name: str) -> str:
    if isinstance(source, (str, os.PathLike)):
        import dask.base

        try:
            stat = os.stat(os.fspath(source))
            key: tuple = (name, stat.st_mtime_ns, stat.st_size)
        except OSError:
            key = (name,)
        return dask.base.tokenize(*key)
    return uuid.uuid4().hex


def open_granules(
    sources: str | os.PathLike | Iterable[Any],
    *,
    scan_mode: ScanModeArg = None,
    variables: str | Sequence[str] | None = None,
    product: str | None = None,
    chunks: Any = "auto",
    storage_options: dict | None = None,
    merge_radius_km: float = DEFAULT_MERGE_RADIUS_KM,
    check_filename: bool = True,
    decode: bool = True,
) -> xr.Dataset:
    """Open several granules of one product and concatenate them.

    Orbit products are concatenated along ``along_track`` in time order (``gpm_granule_id``
    tells the granules apart), grids along ``time``. ``sources`` is a sequence of paths, URLs
    or file objects, or one path or glob pattern (``"gmi/1C.GPM.GMI.*.HDF5"``,
    ``"s3://bucket/2021/*/*.HDF5"``). The same granule given twice (the same file, or copies of
    one granule) is read once, with a :class:`~xgpm.errors.DataQualityWarning`. The other
    arguments are those of :func:`open_granule`. Every granule is opened lazily.

    Raises
    ------
    InvalidArgumentError
        If no source is given, or the granules hold different products.
    StorageError
        If a path or pattern names no file, or a folder.
    """
    sources = expand_sources(sources, storage_options)
    if scan_mode == "all":
        raise InvalidArgumentError(
            "open_granules concatenates one swath per granule: use a scan-mode name or 'merged'"
        )
    datasets = [
        open_granule(
            src,
            scan_mode=scan_mode,
            variables=variables,
            product=product,
            chunks=chunks,
            storage_options=storage_options,
            merge_radius_km=merge_radius_km,
            check_filename=check_filename,
            decode=decode,
        )
        for src in sources
    ]
    datasets = drop_duplicates(datasets)
    _log.info("open_granules: %d granule(s) opened lazily", len(datasets))
    products: dict[str, list[str]] = {}
    for ds in datasets:
        products.setdefault(ds.attrs["gpm_api_product"], []).append(source_of(ds))
    if len(products) > 1:
        example = "; ".join(f"{p}: {files[0]}" for p, files in sorted(products.items()))
        raise InvalidArgumentError(
            f"open_granules got granules of several products ({example}); they cannot "
            "be concatenated: open each product separately, e.g. with product='...' or a "
            "narrower file pattern"
        )
    if "time" in datasets[0].dims:
        datasets.sort(key=lambda d: d["time"].values[0])
        return xr.concat(datasets, dim="time", combine_attrs="drop_conflicts")
    datasets.sort(key=first_time)
    widths = {d.sizes["cross_track"] for d in datasets}
    if len(widths) > 1:
        raise InvalidArgumentError(
            f"granules have different swath widths {sorted(widths)} (cross_track); they "
            "cannot be concatenated along along_track"
        )
    return xr.concat(
        datasets,
        dim="along_track",
        data_vars="minimal",
        coords="minimal",
        compat="override",
        combine_attrs="drop_conflicts",
    )
