"""Open PPS HDF5 granules (1C, 2A-DPR, 2B-CORRA, 2A-GPROF, IMERG) in GPM-API's data model.

The data flow for one granule::

    source (path | file:// | s3:// ... | file object)
      -> h5py.File (opened once per process, see ``_hdf5.cached_file``)
      -> FileHeader -> product (checked against the file name) -> product family (registry)
      -> per scan mode: every dataset -> lazy dask array (fill -> NaN on read)
         HDF5 dims (nscanN, npixelN, nchannelN ...) -> (cross_track, along_track, pmw_frequency ...)
         ScanTime -> ``time``; Latitude/Longitude -> ``lat``/``lon``; channel labels from the
         sensor registry
      -> one scan mode (Dataset), all of them (DataTree) or all channels merged on one swath.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import (
    EmptyGranuleError,
    FileNameMismatchError,
    GranuleError,
    InvalidArgumentError,
    MissingVariableError,
    NoSuchFileError,
    UnknownProductError,
    WrongProductError,
)
from xgpm.io import _hdf5
from xgpm.io.products import Family, dimension_name
from xgpm.io.pvl import parse_pvl

__all__ = ["open_granule", "open_granules", "merge_scan_modes", "GranuleInfo", "granule_info"]

_GPS_EPOCH = np.datetime64("1980-01-06T00:00:00", "ns")
_SCANTIME_FIELDS = ("Year", "Month", "DayOfMonth", "Hour", "Minute", "Second", "MilliSecond")
_SKIPPED_DATASETS = {"Latitude", "Longitude", "incidenceAngleIndex"}
_ROOT_BLOCKS_ORDER = (
    "FileHeader",
    "FileInfo",
    "InputRecord",
    "NavigationRecord",
    "XCALinfo",
    "JAXAInfo",
    "GprofInfo",
)
DEFAULT_MERGE_RADIUS_KM = 15.0
_REDOWNLOAD = " (PPS: https://arthurhou.pps.eosdis.nasa.gov, or GES DISC)"
#: physically possible geolocation (deg); PPS longitudes are -180..180, 0..360 is tolerated
_GEOLOCATION_RANGE = {"lat": (-90.0, 90.0), "lon": (-180.0, 360.0)}

ScanModeArg = str | Literal["all", "merged"] | None


class GranuleInfo:
    """What a granule's header says: product, family, sensor, times, granule and version."""

    def __init__(self, name: str, root_attrs: dict[str, dict[str, str]], product: str):
        from xgpm.io.filenames import parse_filename
        from xgpm.io.products import family_of_product, sensor_of_product

        self.name = name
        self.root_attrs = root_attrs
        self.header = {k: v.strip() for k, v in root_attrs["FileHeader"].items()}
        self.product = product
        self.family: Family = family_of_product(product)
        self.sensor = sensor_of_product(product)
        header_name = self.header.get("FileName", "")
        try:
            self.filename = parse_filename(header_name)
        except UnknownProductError:
            self.filename = None
        self.version = self.header.get("ProductVersion") or (
            self.filename.version if self.filename else None
        )


def _read_root_attrs(h5, name: str) -> dict[str, dict[str, str]]:
    if "FileHeader" not in h5.attrs:
        raise GranuleError(
            f"{name}: no FileHeader attribute: this HDF5 file is not a NASA PPS granule"
        )
    blocks = {}
    for key, value in h5.attrs.items():
        value = _hdf5.attr_text(value)
        if isinstance(value, str) and "=" in value:
            blocks[key] = parse_pvl(value, strip=False)
    return blocks


def _product_from_header(header: dict[str, str], name: str) -> str:
    from xgpm.io.filenames import parse_filename

    header_name = header.get("FileName")
    if header_name:
        try:
            return parse_filename(header_name).product
        except UnknownProductError:
            pass
    from xgpm.io.products import product_name

    algorithm_id = header.get("AlgorithmID", "")
    satellite = header.get("SatelliteName", "")
    instrument = header.get("InstrumentName", "")
    if algorithm_id.startswith("3IMERGHH"):
        return "IMERG-FR"
    level = algorithm_id[:2] if algorithm_id[:2] in ("1C", "2A", "2B") else ""
    try:
        return product_name(level, satellite, instrument)[0]
    except UnknownProductError as err:
        raise UnknownProductError(
            f"{name}: cannot tell the product from FileHeader (FileName={header_name!r}, "
            f"AlgorithmID={algorithm_id!r}); pass product=... explicitly"
        ) from err


def _check_filename(source_name: str, info: GranuleInfo) -> None:
    """Raise if the file's own (PPS) name disagrees with its FileHeader."""
    from xgpm.io.filenames import parse_filename

    try:
        actual = parse_filename(source_name)
    except UnknownProductError:
        return  # renamed file or file object: the header alone decides
    header = info.header
    problems = []
    if actual.product != info.product:
        problems.append(f"product {actual.product} in the name, {info.product} in the header")
    if info.filename is not None:
        for field in ("start", "end", "granule", "version"):
            a, h = getattr(actual, field), getattr(info.filename, field)
            if a != h:
                problems.append(f"{field} {a} in the name, {h} in FileHeader.FileName")
    granule = header.get("GranuleNumber", "")
    if granule.strip().isdigit() and not info.family.is_grid:
        if int(granule) != actual.granule:
            problems.append(
                f"granule {actual.granule} in the name, {int(granule)} in GranuleNumber"
            )
    start = header.get("StartGranuleDateTime", "")
    if start:
        try:
            header_start = pd.Timestamp(start.rstrip("Z")).floor("s").to_pydatetime()
        except ValueError:
            header_start = None
        # PPS names carry the 1C granule's times; level-2 headers can differ by a second or so.
        if header_start is not None and abs(header_start - actual.start).total_seconds() > 60:
            problems.append(
                f"start {actual.start:%Y-%m-%dT%H:%M:%S} in the name, {start} in "
                "StartGranuleDateTime"
            )
    if problems:
        raise FileNameMismatchError(
            f"{source_name}: the file name disagrees with the file's FileHeader: "
            + "; ".join(problems)
            + ". The file may have been renamed or its content replaced; pass "
            "check_filename=False to trust the header"
        )


def _open_h5(source: Any, storage_options: dict | None):
    """Return (opener-or-file, h5py.File, name) for any supported source."""
    if isinstance(source, (str, os.PathLike)):
        opener = _hdf5.H5Opener(source, storage_options)
        return opener, _hdf5.cached_file(opener), _hdf5.source_name(source)
    if hasattr(source, "read") or isinstance(source, (bytes, bytearray, memoryview)):
        name = _hdf5.source_name(source)
        h5 = _hdf5.open_h5_fileobj(source, name)
        return h5, h5, name
    raise InvalidArgumentError(
        f"source must be a path, a URL or a binary file object, not {type(source).__name__}"
    )


def granule_info(source: Any, *, storage_options: dict | None = None) -> GranuleInfo:
    """Read a granule's header only (cheap): product, sensor, times, granule number, version."""
    _, h5, name = _open_h5(source, storage_options)
    blocks = _read_root_attrs(h5, name)
    return GranuleInfo(name, blocks, _product_from_header(blocks["FileHeader"], name))


# --------------------------------------------------------------------------------------------
# one scan mode
# --------------------------------------------------------------------------------------------


def _candidate_datasets(group, fam: Family, variables: Sequence[str] | None):
    """The datasets to consider for a scan mode.

    The registry's paths of the requested variables when it knows them all (no walk through a
    few hundred DPR datasets), else every dataset of the group.
    """
    if variables is not None:
        specs = [fam.variables.get(v) for v in variables]
        if all(spec is not None and spec.path in group for spec in specs):
            return [(spec.path, group[spec.path]) for spec in specs]
    return _collect_datasets(group)


def _collect_datasets(group) -> list[tuple[str, Any]]:
    """All datasets below ``group`` as (relative path, h5py.Dataset), in file order."""
    import h5py

    found: list[tuple[str, Any]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found.append((name, obj))

    group.visititems(visit)
    return found


def _fill_value(dset) -> Any:
    fill = dset.attrs.get("_FillValue")
    if fill is None:
        return None
    fill = np.asarray(fill).reshape(-1)[0]
    return dset.dtype.type(fill)


def _block_shape(dims: Sequence[str], chunks: Any) -> tuple:
    """Dask chunks of one HDF5 dataset from the user's ``chunks`` (data-model dim names).

    ``"auto"`` chunks along the first (scan or time) dim only and reads the others whole;
    an int is the chunk size along ``along_track`` (or ``time``); a dict maps data-model dims
    to sizes (-1 = whole), unnamed dims being read whole.
    """
    if chunks == "auto":
        return tuple(["auto"] + [-1] * (len(dims) - 1)) if dims else ()
    return tuple(chunks.get(d, -1) for d in dims)


def _check_chunks(chunks: Any) -> Any:
    """``chunks`` as given or as a dict; InvalidArgumentError for what dask would mis-read."""
    if chunks is None or chunks == "auto":
        return chunks
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        if chunks < 1:
            raise InvalidArgumentError(
                f"chunks={chunks}: a chunk size must be a positive number of scans "
                "(e.g. chunks=500), or 'auto', or None"
            )
        return {"along_track": int(chunks), "time": int(chunks)}
    if not isinstance(chunks, dict):
        raise InvalidArgumentError(
            f"chunks must be 'auto', None, an int or a dict of data-model dims, not {chunks!r} "
            "(e.g. chunks={'along_track': 500})"
        )
    for dim, size in chunks.items():
        ok = size == "auto" or (
            isinstance(size, (int, np.integer))
            and not isinstance(size, bool)
            and (size >= 1 or size == -1)
        )
        if not ok:
            raise InvalidArgumentError(
                f"chunks[{dim!r}]={size!r}: each chunk size must be a positive int, -1 (whole "
                "dim) or 'auto'"
            )
    return chunks


def _check_radius(radius_km: Any, name: str = "merge_radius_km") -> float:
    """A finite positive search radius in km, or InvalidArgumentError."""
    try:
        radius = float(radius_km)
    except (TypeError, ValueError):
        radius = float("nan")
    if not np.isfinite(radius) or radius <= 0:
        raise InvalidArgumentError(
            f"{name}={radius_km!r}: the radius must be a finite distance in km above 0 (the "
            f"default, {DEFAULT_MERGE_RADIUS_KM:g} km, is about one scan spacing)"
        )
    return radius


def _model_axes(dims: Sequence[str]) -> tuple[int, ...]:
    """Order of stored axes in the data model.

    (cross_track, along_track, ...) for swaths, (time, lat, lon, ...) for grids; the other dims
    keep their stored order.
    """
    lead = [d for d in ("cross_track", "along_track") if d in dims]
    if not lead:
        lead = [d for d in ("time", "lat", "lon") if d in dims]
    order = lead + [d for d in dims if d not in lead]
    return tuple(list(dims).index(d) for d in order)


class _LazyBackendArray(xr.backends.BackendArray):
    """xarray's lazy-indexing wrapper around :class:`LazyH5Array` (``chunks=None``: no dask)."""

    def __init__(self, array: _hdf5.LazyH5Array):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype

    def __getitem__(self, key):
        from xarray.core import indexing

        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self.array.__getitem__
        )


def _dask_array(
    file,
    path: str,
    dset,
    chunks: Any,
    token: str,
    dims: Sequence[str] = (),
    valid_range: tuple[float, float] | None = None,
):
    """A lazy array of an HDF5 dataset in data-model order; returns (array, fill, dims).

    A dask array, or with ``chunks=None`` xarray's lazily indexed array (read on access
    without dask: the fastest way to load whole variables).
    """
    import dask.array as da
    from xarray.core import indexing

    fill = _fill_value(dset)
    out_dtype = _hdf5.decoded_dtype(dset.dtype, fill)
    dims = list(dims) or [f"dim{i}" for i in range(dset.ndim)]
    axes = _model_axes(dims)
    dims = [dims[a] for a in axes]
    lazy = _hdf5.LazyH5Array(
        file, dset.name, dset.shape, dset.dtype, fill, out_dtype, axes, valid_range
    )
    if chunks is None:
        return indexing.LazilyIndexedArray(_LazyBackendArray(lazy)), fill, dims
    chunks = _block_shape(dims, chunks)
    return (
        da.from_array(
            lazy,
            chunks=chunks,
            name=f"xgpm-{token}-{dset.name}",
            lock=False,
            asarray=False,
            meta=np.empty((0,) * dset.ndim, dtype=out_dtype),
        ),
        fill,
        dims,
    )


def _hdf5_attrs(dset) -> dict[str, Any]:
    skip = {"DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_FillValue", "_Netcdf4Dimid"}
    return {k: _hdf5.attr_text(v) for k, v in dset.attrs.items() if k not in skip}


def _scale_attrs(dset) -> dict[str, Any]:
    skip = {"DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "_Netcdf4Dimid"}
    return {k: _hdf5.attr_text(v) for k, v in dset.attrs.items() if k not in skip}


def _user_attrs(hdf5_attrs: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    units = hdf5_attrs.get("units") or hdf5_attrs.get("Units")
    if units:
        attrs["units"] = units
    long_name = hdf5_attrs.get("LongName")
    if long_name:  # GPM-API's name for it
        attrs["description"] = " ".join(str(long_name).split())
    return attrs


def _scan_time(group, name: str) -> np.ndarray:
    """Scan times (datetime64[ns], NaT where missing) from the ScanTime group, to the ms."""
    if "ScanTime" not in group:
        raise MissingVariableError(
            f"{name}: scan mode {group.name} has no ScanTime group, so scan times cannot be "
            f"read; the file is damaged or incomplete: download it again{_REDOWNLOAD}"
        )
    st = group["ScanTime"]
    parts = {}
    for field in _SCANTIME_FIELDS:
        if field not in st:
            raise MissingVariableError(
                f"{name}: {st.name}/{field} is missing, so scan times cannot be read; the file "
                f"is damaged or incomplete: download it again{_REDOWNLOAD}"
            )
        parts[field] = st[field][()].astype("int64")
    year, month, day = parts["Year"], parts["Month"], parts["DayOfMonth"]
    hour, minute, second = parts["Hour"], parts["Minute"], parts["Second"]
    ms = parts["MilliSecond"].copy()
    invalid = (
        (year < 1)
        | (month < 1)
        | (month > 12)
        | (day < 1)
        | (day > 31)
        | (hour < 0)
        | (minute < 0)
        | (second < 0)
        | (ms < 0)
    )
    # Level-2 files (GPROF) and some 1C files (AMSR2) leave MilliSecond at 0 and keep the
    # fraction in SecondOfDay: take the milliseconds from it wherever it agrees with H:M:S.
    whole = hour * 3600 + minute * 60 + second
    if "SecondOfDay" in st:
        sod = st["SecondOfDay"][()].astype("float64")
        agrees = np.isfinite(sod) & (np.floor(sod + 1e-6) == whole)
        frac_ms = np.rint((sod - np.floor(sod + 1e-6)) * 1000.0)
        ms = np.where(agrees, np.clip(frac_ms, 0, 999), ms).astype("int64")
    # vectorised calendar arithmetic (pandas.to_datetime on a frame is 50x slower)
    safe = ~invalid
    months = np.where(safe, (year - 1970) * 12 + month - 1, 0).astype("timedelta64[M]")
    dates = np.datetime64("1970-01", "M") + months
    days = dates.astype("datetime64[D]") + np.where(safe, day - 1, 0).astype("timedelta64[D]")
    offset = (whole * 1000 + ms).astype("timedelta64[ms]")
    times = (days.astype("datetime64[ms]") + offset).astype("datetime64[ns]")
    times[invalid] = np.datetime64("NaT")
    return times


def _channel_labels(info: GranuleInfo, scan_mode: str, n_channels: int, name: str) -> list[str]:
    if info.sensor is None or scan_mode not in info.sensor.scan_modes:
        return [str(i) for i in range(n_channels)]
    labels = [c.label for c in info.sensor.scan_modes[scan_mode].channels]
    if len(labels) != n_channels:
        raise GranuleError(
            f"{name}: {scan_mode}/Tc has {n_channels} channels but the sensor registry lists "
            f"{len(labels)} for {info.sensor.name} {scan_mode} ({', '.join(labels)})"
        )
    return labels


def _read_scan_mode(
    file: Any,
    h5,
    info: GranuleInfo,
    scan_mode: str,
    file_scan_mode: str,
    variables: Sequence[str] | None,
    chunks: Any,
    token: str,
) -> xr.Dataset:
    name = info.name
    fam = info.family
    group = h5[file_scan_mode]
    rename = fam.v06_names
    data_vars: dict[str, xr.Variable] = {}
    uia_vars: dict[str, tuple[Any, list[str], Any]] = {}
    n_scan = n_pix = None
    for rel_path, dset in _candidate_datasets(group, fam, variables):
        leaf = rel_path.rsplit("/", 1)[-1]
        if rel_path.startswith("ScanTime/") or leaf in _SKIPPED_DATASETS:
            continue
        if fam.is_grid and leaf in ("time", "lat", "lon", "nv", "latv", "lonv"):
            continue
        var_name = rename.get(leaf, leaf)
        if var_name in data_vars:  # same leaf name in two sub-groups: keep both, prefix the 2nd
            var_name = rel_path.replace("/", "_")
        if variables is not None and var_name not in variables and leaf not in variables:
            continue
        hdf5_dims_text = _hdf5.attr_text(dset.attrs.get("DimensionNames", ""))
        hdf5_dims = [d for d in str(hdf5_dims_text).split(",") if d]
        if len(hdf5_dims) != dset.ndim:
            hdf5_dims = [f"{leaf}_dim{i}" for i in range(dset.ndim)]
        dims = [dimension_name(d) for d in hdf5_dims]
        if len(set(dims)) != len(dims):  # e.g. two dims mapping to one name: keep raw names
            dims = hdf5_dims
        data, fill, dims = _dask_array(file, rel_path, dset, chunks, token, dims)
        hdf5_attrs = _hdf5_attrs(dset)
        encoding = {
            "hdf5_path": rel_path,
            "hdf5_dims": ",".join(hdf5_dims),
            "dtype": dset.dtype,
            "_FillValue": fill,
            "hdf5_attrs": hdf5_attrs,
        }
        if any(re.match(r"^nchUIA\d*$", d) for d in hdf5_dims):
            uia_vars[var_name] = (data, dims, encoding)
            continue
        var = xr.Variable(dims, data, attrs=_user_attrs(hdf5_attrs), encoding=encoding)
        data_vars[var_name] = var
        if "along_track" in dims and "cross_track" in dims:
            n_scan, n_pix = (
                data.shape[dims.index("along_track")],
                data.shape[dims.index("cross_track")],
            )

    absent = [
        v for v in fam.required if v not in data_vars and (variables is None or v in variables)
    ]
    if absent:
        raise MissingVariableError(
            f"{name}: {file_scan_mode} lacks {absent}, which every {info.product} granule has; "
            f"the file is damaged or incomplete: download it again{_REDOWNLOAD}, or read the "
            "variables it does have with variables=[...]"
        )
    if variables is not None:
        found = set(data_vars) | set(uia_vars)
        missing = [v for v in variables if v not in found]
        if missing:
            available = sorted(_available_variables(group, fam))
            raise MissingVariableError(
                f"{name}: {file_scan_mode} has no variable(s) {missing}; available: "
                + ", ".join(available)
            )

    coords: dict[str, Any] = {}
    if fam.is_grid:
        ds = _grid_dataset(file, group, data_vars, chunks, token, name)
    else:
        if "Latitude" not in group or "Longitude" not in group:
            missing = [v for v in ("Latitude", "Longitude") if v not in group]
            raise MissingVariableError(
                f"{name}: {group.name} has no {'/'.join(missing)}, so its pixels cannot be "
                f"located; the file is damaged or incomplete: download it again{_REDOWNLOAD}"
            )
        for key, h5name in (("lat", "Latitude"), ("lon", "Longitude")):
            dset = group[h5name]
            hdf5_dims = str(_hdf5.attr_text(dset.attrs.get("DimensionNames", ""))).split(",")
            data, fill, dims = _dask_array(
                file,
                h5name,
                dset,
                chunks,
                token,
                [dimension_name(d) for d in hdf5_dims],
                valid_range=_GEOLOCATION_RANGE[key],
            )
            stored_attrs = _hdf5_attrs(dset)
            coords[key] = xr.Variable(
                dims,
                data,
                attrs=_user_attrs(stored_attrs),
                encoding={
                    "hdf5_path": h5name,
                    "hdf5_dims": ",".join(hdf5_dims),
                    "dtype": dset.dtype,
                    "_FillValue": fill,
                    "hdf5_attrs": stored_attrs,
                },
            )
        n_scan, n_pix = group["Latitude"].shape
        coords["time"] = xr.Variable("along_track", _scan_time(group, name))
        coords["gpm_cross_track_id"] = ("cross_track", np.arange(n_pix))
        coords["gpm_along_track_id"] = ("along_track", np.arange(n_scan))
        granule = _granule_number(info)
        coords["gpm_granule_id"] = ("along_track", np.full(n_scan, granule))
        # GPM-API's scan identifier "<granule>-<scan>", unique across concatenated granules
        coords["gpm_id"] = (
            "along_track",
            np.char.add(f"{granule}-", np.arange(n_scan).astype(str)),
        )
        coords["crsWGS84"] = 0
        if fam.radar_frequency and any("radar_frequency" in v.dims for v in data_vars.values()):
            coords["radar_frequency"] = list(fam.radar_frequency)
        for coord_name in fam.coordinates:
            if coord_name in data_vars:
                coords[coord_name] = data_vars.pop(coord_name)
        n_channels = next(
            (
                v.shape[v.dims.index("pmw_frequency")]
                for v in data_vars.values()
                if "pmw_frequency" in v.dims
            ),
            None,
        )
        if n_channels is not None:  # labels in the constructor: one Dataset build, not two
            coords["pmw_frequency"] = _channel_labels(info, scan_mode, n_channels, name)
        ds = xr.Dataset(data_vars, coords=coords)

        if n_channels is not None:
            ds = _expand_uia(ds, group, uia_vars, list(coords["pmw_frequency"]))
        elif uia_vars:
            for var_name, (data, dims, encoding) in uia_vars.items():
                ds[var_name] = xr.Variable(dims, data, encoding=encoding)
        ds = _transpose_orbit(ds)  # the few variables added after (nchUIA ones) only

    ds.attrs = _dataset_attrs(info, scan_mode)
    spatial = {"lat", "lon"} if fam.is_grid else {"cross_track", "along_track"}
    for var in ds.data_vars.values():  # like GPM-API: each variable knows its product and CRS
        var.attrs["gpm_api_product"] = info.product
        if spatial <= set(var.dims):
            var.attrs["grid_mapping"] = "crsWGS84"
    header_key = next((k for k in group.attrs if k.endswith(("SwathHeader", "GridHeader"))), None)
    swath_header = group.attrs[header_key] if header_key else None
    ds.encoding["scan_mode"] = scan_mode
    ds.encoding["file_scan_mode"] = file_scan_mode
    ds.encoding["group_attrs"] = {k: _hdf5.attr_text(v) for k, v in group.attrs.items()}
    if swath_header is not None:
        ds.encoding["swath_header"] = parse_pvl(_hdf5.attr_text(swath_header), strip=False)
    ds.encoding["source_sizes"] = dict(ds.sizes)
    ds.encoding["root_extras"] = [k for k in h5.keys() if k not in _all_scan_mode_groups(h5, info)]
    ds.encoding["source"] = name
    # The root PVL blocks as read, so that writing the Dataset back keeps their exact layout.
    ds.encoding["pvl_blocks"] = info.root_attrs
    return ds


def _all_scan_mode_groups(h5, info: GranuleInfo) -> list[str]:
    return list(_file_scan_modes(h5, info).values())


def _available_variables(group, fam: Family) -> list[str]:
    names = []
    for rel_path, _ in _collect_datasets(group):
        leaf = rel_path.rsplit("/", 1)[-1]
        if rel_path.startswith("ScanTime/") or leaf in _SKIPPED_DATASETS:
            continue
        names.append(fam.v06_names.get(leaf, leaf))
    return names


def _granule_number(info: GranuleInfo) -> int:
    text = info.header.get("GranuleNumber", "").strip()
    if text.isdigit():
        return int(text)
    return info.filename.granule if info.filename else -1


def _transpose_orbit(ds: xr.Dataset) -> xr.Dataset:
    """Order every variable (cross_track, along_track, ...) like GPM-API."""
    lead = [d for d in ("cross_track", "along_track") if d in ds.dims]
    return ds.transpose(*lead, ...)


def _expand_uia(ds: xr.Dataset, group, uia_vars: dict, labels: list[str]) -> xr.Dataset:
    """Map per-unique-incidence-angle variables (nchUIA) onto ``pmw_frequency``."""
    if not uia_vars:
        return ds
    raw_index = None
    if "incidenceAngleIndex" in group:
        index = group["incidenceAngleIndex"][()]
        raw_index = index
        valid = (index > 0).all(axis=1)
        row = index[np.argmax(valid)] if valid.any() else np.ones(len(labels), dtype=int)
    else:
        row = np.ones(len(labels), dtype=int)
    row = np.asarray(row, dtype=int) - 1
    for var_name, (data, dims, encoding) in uia_vars.items():
        uia_axis = next(i for i, d in enumerate(dims) if re.match(r"^nchUIA\d*$", d))
        n_uia = data.shape[uia_axis]
        take = np.clip(row, 0, n_uia - 1)
        # Variable.isel indexes dask and lazily indexed arrays alike, without loading them
        expanded = xr.Variable(dims, data).isel({dims[uia_axis]: take})
        new_dims = list(dims)
        new_dims[uia_axis] = "pmw_frequency"
        expanded.dims = tuple(new_dims)
        expanded.attrs = _user_attrs(encoding["hdf5_attrs"])
        expanded.encoding = dict(
            encoding, incidence_angle_index=(row + 1).tolist(), incidence_angle_index_raw=raw_index
        )
        ds[var_name] = expanded
    return ds


def _grid_dataset(file, group, data_vars, chunks, token, name) -> xr.Dataset:
    for required in ("time", "lat", "lon"):
        if required not in group:
            raise MissingVariableError(
                f"{name}: {group.name}/{required} is missing; the file is damaged or "
                f"incomplete: download it again{_REDOWNLOAD}"
            )
    lat = group["lat"][()]
    lon = group["lon"][()]
    seconds = group["time"][()].astype("int64")
    time = _GPS_EPOCH + seconds.astype("timedelta64[s]")
    coords: dict[str, Any] = {
        key: xr.Variable(
            key,
            values,
            attrs=_user_attrs(_hdf5_attrs(group[key])),
            encoding={"hdf5_attrs": _hdf5_attrs(group[key])},
        )
        for key, values in (("time", time.astype("datetime64[ns]")), ("lat", lat), ("lon", lon))
    }
    bounds = {}
    for bname in ("time_bnds", "lat_bnds", "lon_bnds"):
        var = data_vars.pop(bname, None)
        if var is not None:
            bounds[bname] = var
    ds = xr.Dataset(data_vars, coords=coords)
    if "time_bnds" in bounds:
        tb = bounds["time_bnds"].values.astype("int64")
        ds = ds.assign_coords(
            time_bnds=(("time", "nv"), (_GPS_EPOCH + tb.astype("timedelta64[s]")))
        )
    for bname in ("lat_bnds", "lon_bnds"):
        if bname in bounds:
            ds = ds.assign_coords({bname: bounds[bname].compute()})
    ds = ds.transpose("time", "lat", "lon", ...)
    ds = ds.assign_coords(crsWGS84=0)
    # netCDF dimension-only scales (nv, latv, lonv): kept as read for a faithful write
    ds.encoding["grid_scales"] = {
        key: (group[key][()], _scale_attrs(group[key]))
        for key in ("nv", "lonv", "latv")
        if key in group
    }
    return ds


def _dataset_attrs(info: GranuleInfo, scan_mode: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for block in _ROOT_BLOCKS_ORDER:
        for key, value in info.root_attrs.get(block, {}).items():
            attrs.setdefault(key, value.strip())
    attrs["ScanMode"] = scan_mode
    attrs["gpm_api_product"] = info.product
    return attrs


# --------------------------------------------------------------------------------------------
# merging scan modes
# --------------------------------------------------------------------------------------------


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon_r, lat_r = np.deg2rad(lon.astype("float64")), np.deg2rad(lat.astype("float64"))
    cos_lat = np.cos(lat_r)
    return np.stack([cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)], axis=-1)


def _nearest_index(ref: xr.Dataset, other: xr.Dataset, radius_km: float) -> np.ndarray | None:
    """Flat index into ``other`` (cross_track x along_track) of each ``ref`` pixel; -1 if none.

    Returns None when both swaths share their geolocation (co-registered products such as
    1C-GMI-R), so no resampling is needed.
    """
    from scipy.spatial import cKDTree

    ref_lon, ref_lat = np.asarray(ref["lon"].values), np.asarray(ref["lat"].values)
    oth_lon, oth_lat = np.asarray(other["lon"].values), np.asarray(other["lat"].values)
    if ref_lon.shape == oth_lon.shape:
        same = np.isclose(ref_lon, oth_lon, atol=1e-4) & np.isclose(ref_lat, oth_lat, atol=1e-4)
        both_nan = np.isnan(ref_lon) & np.isnan(oth_lon)
        if np.all(same | both_nan):
            return None
    earth_radius_km = 6371.0
    other_xyz = _unit_vectors(oth_lon.ravel(), oth_lat.ravel())
    valid = np.isfinite(other_xyz).all(axis=1)
    index = np.full(ref_lon.size, -1, dtype=np.int64)
    if not valid.any():
        return index
    tree = cKDTree(other_xyz[valid])
    ref_xyz = _unit_vectors(ref_lon.ravel(), ref_lat.ravel())
    ok = np.isfinite(ref_xyz).all(axis=1)
    chord = 2.0 * np.sin(radius_km / earth_radius_km / 2.0)
    dist, nearest = tree.query(ref_xyz[ok], k=1, distance_upper_bound=chord)
    found = np.isfinite(dist)
    valid_positions = np.flatnonzero(valid)
    sub = np.full(ok.sum(), -1, dtype=np.int64)
    sub[found] = valid_positions[nearest[found]]
    index[ok] = sub
    return index


def merge_scan_modes(
    scan_modes: dict[str, xr.Dataset],
    reference: str | None = None,
    radius_km: float = DEFAULT_MERGE_RADIUS_KM,
) -> xr.Dataset:
    """Merge the channels of several scan modes onto one reference swath.

    Each pixel of the reference swath takes, for every other scan mode, the values of that
    mode's nearest pixel (great-circle nearest neighbour on the sphere) if it lies within
    ``radius_km``; otherwise NaN. Only variables with a ``pmw_frequency`` dimension (``Tc``,
    ``incidenceAngle`` ...) are merged; the others come from the reference scan mode. A channel
    label present in several scan modes (AMSR2 89 GHz A and B horns) is taken from the first.

    Parameters
    ----------
    scan_modes : dict of str to Dataset
        Scan-mode name -> Dataset, in 1C order.
    reference : str, optional
        The scan mode whose swath is kept; default the one with the most pixels per scan
        (the first on ties: S1 for GMI, S3 for SSMIS, S5 for AMSR2).
    radius_km : float
        Largest distance to a neighbour, 15 km by default (about one scan spacing).
    """
    radius_km = _check_radius(radius_km, "radius_km")
    names = list(scan_modes)
    if not names:
        raise InvalidArgumentError("merge_scan_modes: scan_modes is empty; pass {name: Dataset}")
    if reference is None:
        reference = max(names, key=lambda m: (scan_modes[m].sizes["cross_track"], -names.index(m)))
    if reference not in scan_modes:
        raise InvalidArgumentError(f"reference={reference!r} is not one of {names}")
    ref = scan_modes[reference]
    merged_vars: dict[str, list[xr.DataArray]] = {}
    seen_labels: set[str] = set()
    for mode in [reference] + [m for m in names if m != reference]:
        ds = scan_modes[mode]
        labels = [lab for lab in ds["pmw_frequency"].values.tolist() if lab not in seen_labels]
        if not labels:
            continue
        seen_labels.update(labels)
        ds = ds.sel(pmw_frequency=labels)
        index = None if mode == reference else _nearest_index(ref, ds, radius_km)
        for var_name, var in ds.data_vars.items():
            if "pmw_frequency" not in var.dims:
                continue
            merged_vars.setdefault(var_name, []).append(_resample_var(var, ref, index))
    out = ref.drop_vars([v for v in ref.data_vars if "pmw_frequency" in ref[v].dims])
    out = out.drop_dims("pmw_frequency", errors="ignore")
    for var_name, parts in merged_vars.items():
        var = xr.concat(parts, dim="pmw_frequency", coords="minimal", compat="override")
        out[var_name] = var.transpose("cross_track", "along_track", "pmw_frequency", ...)
    out.attrs = dict(ref.attrs, ScanMode="merged", xgpm_merged_scan_modes=names)
    out.attrs["xgpm_merge_reference"] = reference
    out.attrs["xgpm_merge_radius_km"] = radius_km
    return out


def _resample_var(var: xr.DataArray, ref: xr.Dataset, index: np.ndarray | None) -> xr.DataArray:
    """``var`` on the reference swath: pixel ``index`` (flat, -1 = none) of each ref pixel.

    Vectorised indexing keeps dask arrays and xarray's lazily indexed arrays lazy.
    """
    var = var.transpose("cross_track", "along_track", "pmw_frequency")
    variable = var.variable
    if index is not None:
        shape = (ref.sizes["cross_track"], ref.sizes["along_track"])
        found = (index >= 0).reshape(shape)
        cross, along = np.unravel_index(np.where(index >= 0, index, 0), var.shape[:2])
        dims = ("cross_track", "along_track")
        variable = variable.isel(
            cross_track=xr.Variable(dims, cross.reshape(shape)),
            along_track=xr.Variable(dims, along.reshape(shape)),
        )
        variable = variable.where(xr.Variable(dims, found))
    return xr.DataArray(
        variable,
        coords={"pmw_frequency": var["pmw_frequency"].values},
        attrs=var.attrs,
    )


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


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
) -> xr.Dataset | xr.DataTree:
    """Open one PPS granule lazily in GPM-API's data model.

    Parameters
    ----------
    source : str, path-like, or binary file object
        A local path, ``file://`` URL, any fsspec URL (``s3://...``, ``memory://...``) or an open
        binary file object (e.g. ``fsspec.open(url).open()`` or ``io.BytesIO``).
    scan_mode : str, optional
        Which swath to return. A scan-mode name (``"S1"``, ``"FS"``, ``"KuKaGMI"``, ``"Grid"``)
        returns that swath as a Dataset; ``"all"`` returns a DataTree with one node per scan mode;
        ``"merged"`` puts every channel on the widest swath (see :func:`merge_scan_modes`).
        Default: ``"merged"`` for multi-swath 1C products, the product's main swath otherwise
        (FS for 2A-DPR, KuKaGMI for 2B-CORRA).
    variables : str or sequence of str, optional
        Variables to read (data-model names such as ``"Tc"``, ``"precipRateNearSurface"``);
        all by default. Reading stays lazy either way.
    product : str, optional
        The product expected (GPM-API name, e.g. ``"1C-GMI"``); a file holding another product
        raises :class:`~xgpm.errors.WrongProductError`.
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
        Check that a PPS file name agrees with the file's FileHeader.

    Returns
    -------
    xarray.Dataset or xarray.DataTree
        Orbit products: dims ``(cross_track, along_track, ...)``, coords ``lon``, ``lat``,
        ``time`` (datetime64[ns], NaT for missing scans); 1C ``Tc`` has a ``pmw_frequency`` dim
        labelled like GPM-API (``"89V"``, ``"183V7"``). IMERG: ``(time, lat, lon)`` with V07
        variable names (V06 names are renamed). Fill values are NaN.

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
    chunks = _check_chunks(chunks)
    merge_radius_km = _check_radius(merge_radius_km)
    _check_scan_mode_arg(scan_mode)
    file, h5, name = _open_h5(source, storage_options)
    blocks = _read_root_attrs(h5, name)
    actual = _product_from_header(blocks["FileHeader"], name)
    if product is not None:
        from xgpm.io.products import family_of_product

        family_of_product(product)  # unknown product name -> UnknownProductError
        if product != actual:
            raise WrongProductError(
                f"{name}: holds {actual}, not the requested {product}; open it without "
                f"product=... or with product={actual!r}"
            )
    info = GranuleInfo(name, blocks, actual)
    if check_filename:
        _check_filename(name, info)
    if info.header.get("EmptyGranule", "NOT_EMPTY").strip().upper() == "EMPTY":
        raise EmptyGranuleError(
            f"{name}: FileHeader says EmptyGranule=EMPTY: the granule holds no data "
            "(PPS writes such files for orbits without observations); skip it"
        )
    file_modes = _file_scan_modes(h5, info)
    if scan_mode in (None, "merged", "all"):
        _check_complete(info, file_modes, scan_mode)
    token = _token(source, name)

    def read(mode: str) -> xr.Dataset:
        return _read_scan_mode(file, h5, info, mode, file_modes[mode], variables, chunks, token)

    default = info.family.default_scan_mode
    if scan_mode is None:
        scan_mode = default if not (default == "merged" and len(file_modes) == 1) else None
        if scan_mode is None:
            scan_mode = next(iter(file_modes))
    if scan_mode == "merged":
        if len(file_modes) == 1:
            return read(next(iter(file_modes)))
        return merge_scan_modes({m: read(m) for m in file_modes}, radius_km=merge_radius_km)
    if scan_mode == "all":
        tree = xr.DataTree.from_dict({m: read(m) for m in file_modes})
        tree.attrs = _dataset_attrs(info, "all")
        return tree
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


def _file_scan_modes(h5, info: GranuleInfo) -> dict[str, str]:
    """Data-model scan-mode name -> group name in the file."""
    fam = info.family
    if fam.scan_modes is None:
        expected = list(info.sensor.scan_modes) if info.sensor is not None else []
    else:
        expected = list(fam.scan_modes)
    found: dict[str, str] = {}
    for mode in expected:
        if mode in h5:
            found[mode] = mode
        elif fam.v06_scan_modes.get(mode) and fam.v06_scan_modes[mode] in h5:
            found[mode] = fam.v06_scan_modes[mode]
    if not found:
        groups = [k for k in h5.keys()]
        raise MissingVariableError(
            f"{info.name}: none of the {info.product} scan modes {expected} is in the file "
            f"(groups: {groups}); the file is damaged or not a {info.product} granule"
        )
    return found


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
    sources = _expand_sources(sources, storage_options)
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
        )
        for src in sources
    ]
    datasets = _drop_duplicates(datasets)
    products: dict[str, list[str]] = {}
    for ds in datasets:
        products.setdefault(ds.attrs["gpm_api_product"], []).append(_source_of(ds))
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
    datasets.sort(key=_first_time)
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


_GLOB_CHARS = ("*", "?", "[")


def _expand_sources(sources: Any, storage_options: dict | None) -> list[Any]:
    """A list of sources from a list, one path or URL, or a glob pattern."""
    if isinstance(sources, (str, os.PathLike)):
        text = os.fspath(sources)
        if any(c in text for c in _GLOB_CHARS):
            matched = _glob(text, storage_options)
            if not matched:
                raise NoSuchFileError(
                    f"{text}: the pattern matches no file; check the folder and the pattern "
                    "(PPS names look like 1C.GPM.GMI.XCAL2016-C.20140304-S175932-...HDF5)"
                )
            return matched
        return [text]
    if isinstance(sources, (bytes, bytearray)) or hasattr(sources, "read"):
        return [sources]
    try:
        listed = list(sources)
    except TypeError:
        raise InvalidArgumentError(
            f"sources must be a path, a glob pattern, or a list of paths, URLs or file objects, "
            f"not {type(sources).__name__}"
        ) from None
    if not listed:
        raise InvalidArgumentError(
            "open_granules needs at least one source and got an empty list; check the glob or "
            "listing that made it (e.g. sorted(glob.glob('1C.GPM.GMI.*.HDF5')) found nothing)"
        )
    return listed


def _glob(pattern: str, storage_options: dict | None) -> list[str]:
    from xgpm.io._storage import is_url, storage_errors, with_timeouts

    with storage_errors(pattern, "list"):
        if is_url(pattern):
            import fsspec

            fs, _ = fsspec.core.url_to_fs(pattern, **with_timeouts(pattern, storage_options))
            return sorted(fs.unstrip_protocol(p) for p in fs.glob(pattern))
        import glob as globlib

        path = pattern[len("file://") :] if pattern.startswith("file://") else pattern
        return sorted(p for p in globlib.glob(path) if not os.path.isdir(p))


def _source_of(ds: xr.Dataset) -> str:
    return str(ds.encoding.get("source") or ds.attrs.get("FileName") or "<granule>")


def _granule_key(ds: xr.Dataset) -> tuple:
    """What makes a granule itself: product, granule number, version and its time span."""
    attrs = ds.attrs
    if "time" in ds.dims:
        times = ds["time"].values
        span = (times[0], times[-1]) if times.size else ()
    else:
        span = (_first_time(ds),)
    return (
        attrs.get("gpm_api_product"),
        attrs.get("GranuleNumber"),
        attrs.get("ProductVersion"),
        attrs.get("StartGranuleDateTime"),
        *span,
    )


def _drop_duplicates(datasets: list[xr.Dataset]) -> list[xr.Dataset]:
    """Keep the first of granules given twice, warning with the files set aside."""
    import warnings

    from xgpm.errors import DataQualityWarning

    kept: dict[tuple, xr.Dataset] = {}
    dropped: list[tuple[str, str]] = []
    for ds in datasets:
        key = _granule_key(ds)
        if key in kept:
            dropped.append((_source_of(ds), _source_of(kept[key])))
            continue
        kept[key] = ds
    if dropped:
        listed = "; ".join(f"{a} (same granule as {b})" for a, b in dropped[:5])
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        warnings.warn(
            f"open_granules: {len(dropped)} of {len(datasets)} sources repeat a granule already "
            f"given and were skipped: {listed}{more}",
            DataQualityWarning,
            stacklevel=3,
        )
    return list(kept.values())


def _first_time(ds: xr.Dataset) -> np.datetime64:
    times = ds["time"].values
    valid = times[~np.isnat(times)]
    return valid[0] if valid.size else np.datetime64("NaT")
