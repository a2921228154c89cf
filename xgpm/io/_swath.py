"""Reading one scan mode (or grid) of a granule into a lazy Dataset in GPM-API's data model.

Every HDF5 dataset of the scan mode becomes one lazy array (dask, or xarray's lazy indexing
with ``chunks=None``) that reads only its slab and decodes it on the fly (:mod:`._decode`);
HDF5 dims become data-model dims by the registry's table; ``lat``/``lon``/``time`` and GPM-API's
id coordinates are added; channel and radar-frequency labels come from the registries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from xgpm.cf import add_cf_attrs
from xgpm.errors import GranuleError, InvalidArgumentError, MissingVariableError
from xgpm.io import _hdf5
from xgpm.io._decode import Decoder, RawGroup, RawValues, decoder_for
from xgpm.io._header import GranuleInfo
from xgpm.io._scan_time import REDOWNLOAD, grid_times, scan_time
from xgpm.io.products import DecodeRule, Family, dimension_name
from xgpm.io.pvl import parse_pvl

__all__ = ["check_chunks", "file_scan_modes", "read_scan_mode", "dataset_attrs"]

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
#: physically possible geolocation (deg); PPS longitudes are -180..180, 0..360 is tolerated
_GEOLOCATION_RANGE = {"lat": (-90.0, 90.0), "lon": (-180.0, 360.0)}
_GEOLOCATION_FILL = DecodeRule(missing=(-9999.0, -9999.9, -99999.0))
_GRID_SCALES = ("time", "lat", "lon", "nv", "latv", "lonv")
_UIA = re.compile(r"^nchUIA\d*$")


# --------------------------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------------------------


def check_chunks(chunks: Any) -> Any:
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


def _block_shape(dims: Sequence[str], chunks: Any) -> tuple:
    """Dask chunks of one HDF5 dataset from the user's ``chunks`` (data-model dim names).

    ``"auto"`` chunks along the first (scan or time) dim only and reads the others whole;
    an int is the chunk size along ``along_track`` (or ``time``); a dict maps data-model dims
    to sizes (-1 = whole), unnamed dims being read whole.
    """
    if chunks == "auto":
        return tuple(["auto"] + [-1] * (len(dims) - 1)) if dims else ()
    return tuple(chunks.get(d, -1) for d in dims)


# --------------------------------------------------------------------------------------------
# datasets -> lazy arrays
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


_REFERENCES = ("DIMENSION_LIST", "REFERENCE_LIST")


def _stored_attrs(dset) -> dict[str, Any]:
    """Every attribute of a dataset as h5py reads it, but dimension-scale references (slow)."""
    attrs = dset.attrs
    return {k: attrs[k] for k in attrs.keys() if k not in _REFERENCES}


def _fill_value(dset, attrs: dict[str, Any]) -> Any:
    fill = attrs.get("_FillValue")
    if fill is None:
        return None
    fill = np.asarray(fill).reshape(-1)[0]
    return dset.dtype.type(fill)


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


def _lazy_array(
    file,
    dset,
    chunks: Any,
    token: str,
    dims: Sequence[str],
    decoder: Decoder,
    fill: Any,
    valid_range: tuple[float, float] | None = None,
):
    """A lazy array of an HDF5 dataset in data-model order; returns (array, dims).

    A dask array, or with ``chunks=None`` xarray's lazily indexed array (read on access
    without dask: the fastest way to load whole variables).
    """
    import dask.array as da
    from xarray.core import indexing

    dims = list(dims) or [f"dim{i}" for i in range(dset.ndim)]
    axes = _model_axes(dims)
    dims = [dims[a] for a in axes]
    lazy = _hdf5.LazyH5Array(
        file,
        dset.name,
        dset.shape,
        dset.dtype,
        fill,
        decoder.out_dtype,
        axes,
        valid_range,
        decoder=decoder,
        contiguous=chunks is not None,
    )
    if chunks is None:
        return indexing.LazilyIndexedArray(_LazyBackendArray(lazy)), dims
    array = da.from_array(
        lazy,
        chunks=_block_shape(dims, chunks),
        name=f"xgpm-{token}-{dset.name}",
        lock=False,
        asarray=False,
        meta=np.empty((0,) * dset.ndim, dtype=decoder.out_dtype),
    )
    return array, dims


def _hdf5_attrs(attrs: Any) -> dict[str, Any]:
    skip = {"DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_FillValue", "_Netcdf4Dimid"}
    return {k: _hdf5.attr_text(v) for k, v in attrs.items() if k not in skip}


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


def _encoding(rel_path, hdf5_dims, dset, attrs, fill, file, decoder: Decoder) -> dict:
    """What the writer needs to write the variable back as it was stored."""
    encoding = {
        "hdf5_path": rel_path,
        "hdf5_dims": ",".join(hdf5_dims),
        "dtype": dset.dtype,
        "_FillValue": fill,
        "hdf5_attrs": _hdf5_attrs(attrs),
    }
    if decoder.out_dtype != decoder.stored_dtype or decoder.missing:
        encoding["decoding"] = decoder.describe()
    if decoder.extra:  # several codes -> NaN: keep the way back to them
        encoding["raw_values"] = RawValues(file, dset.name, dset.shape, decoder)
    return encoding


def _hdf5_dims(dset, attrs: dict[str, Any], leaf: str) -> list[str]:
    text = _hdf5.attr_text(attrs.get("DimensionNames", ""))
    dims = [d for d in str(text).split(",") if d]
    if len(dims) != dset.ndim:
        dims = [f"{leaf}_dim{i}" for i in range(dset.ndim)]
    return dims


def _model_dims(hdf5_dims: list[str], shape: tuple[int, ...], sizes: dict[str, int]) -> list[str]:
    """Data-model dims of a dataset; a dim whose size disagrees with one seen keeps its name.

    ``sizes`` (data-model dim -> size, seeded with the geolocation's) grows with every dim
    mapped, so that 1B calibration views (``npixelcs1`` of 8 pixels) do not become
    ``cross_track`` (221 pixels).
    """
    dims = []
    for hdim, size in zip(hdf5_dims, shape, strict=True):
        name = dimension_name(hdim)
        if name != hdim and sizes.setdefault(name, size) != size:
            name = hdim
        dims.append(name)
    if len(set(dims)) != len(dims):  # e.g. two dims mapping to one name: keep raw names
        dims = list(hdf5_dims)
    return dims


# --------------------------------------------------------------------------------------------
# scan modes of a granule
# --------------------------------------------------------------------------------------------


def file_scan_modes(h5, info: GranuleInfo) -> dict[str, str]:
    """Data-model scan-mode name -> group name in the file, in the product's order.

    The product's scan modes in the granule's version; if none is there, those of any version
    (a header with an unusual version).
    """
    fam = info.family
    candidates = [info.scan_modes, info.spec.all_scan_modes]
    for expected in candidates:
        found: dict[str, str] = {}
        for mode in expected:
            group = mode if mode in h5 else fam.renamed_scan_modes.get(mode)
            if group and group in h5 and group not in found.values():
                found[mode] = group
        if found:
            return found
    groups = list(h5.keys())
    raise MissingVariableError(
        f"{info.name}: none of the {info.product} scan modes {list(candidates[0])} is in the file "
        f"(groups: {groups}); the file is damaged or not a {info.product} granule"
    )


def _channel_labels(info: GranuleInfo, scan_mode: str, n_channels: int) -> list[str] | None:
    """``pmw_frequency`` labels of a scan mode (None: the family has none)."""
    how = info.family.channel_labels
    if how == "scan_mode":
        sensor = info.sensor
        if sensor is None or scan_mode not in sensor.scan_modes:
            return None
        labels = [c.label for c in sensor.scan_modes[scan_mode].channels]
        where = f"{info.sensor.name} {scan_mode}"
    elif how == "sensor" and info.spec.channel_sensor is not None:
        labels = list(info.spec.channel_sensor.labels)
        where = f"{info.spec.channel_sensor.name} (every scan mode)"
    else:
        return None
    if len(labels) != n_channels:
        raise GranuleError(
            f"{info.name}: {scan_mode} has {n_channels} channels but the sensor registry lists "
            f"{len(labels)} for {where} ({', '.join(labels)}); the file is not a "
            f"{info.product} granule, or the registry (xgpm/etc/sensors.yaml) is wrong"
        )
    return labels


def read_scan_mode(
    file: Any,
    h5,
    info: GranuleInfo,
    scan_mode: str,
    file_scan_mode: str,
    variables: Sequence[str] | None,
    chunks: Any,
    token: str,
    decode: bool = True,
) -> xr.Dataset:
    """One scan mode (or IMERG's grid) of a granule as a lazy Dataset.

    Parameters
    ----------
    file : H5Opener or h5py.File
        What the lazy arrays read from (an opener pickles; an open file object does not).
    h5 : h5py.File
        The open file.
    info : GranuleInfo
        The granule's header, product and family.
    scan_mode, file_scan_mode : str
        The data-model scan-mode name and its group in the file (they differ for 2B-CORRA V06).
    variables : sequence of str, optional
        The variables to read (all by default).
    chunks : "auto", dict or None
        Dask chunks by data-model dim (None: xarray's lazy indexing, no dask).
    token : str
        Identifies the file (and decoding) in dask keys.
    decode : bool
        Decode fill values and the registry's codes (see :mod:`xgpm.io._decode`).
    """
    name = info.name
    fam = info.family
    group = h5[file_scan_mode]
    rename = fam.renamed_variables
    sizes: dict[str, int] = {}
    geo: dict[str, xr.Variable] = {}
    if not fam.is_grid:
        geo = _geolocation(file, group, info, chunks, token)
        sizes.update(dict(zip(geo["lat"].dims, geo["lat"].shape, strict=True)))
    data_vars: dict[str, xr.Variable] = {}
    uia_vars: dict[str, tuple[Any, list[str], Any]] = {}
    for rel_path, dset in _candidate_datasets(group, fam, variables):
        leaf = rel_path.rsplit("/", 1)[-1]
        if rel_path.startswith("ScanTime/") or leaf in _SKIPPED_DATASETS:
            continue
        if fam.is_grid and leaf in _GRID_SCALES:
            continue
        model_name = rename.get(leaf, leaf)
        var_name = model_name
        if var_name in data_vars:  # same leaf name in two sub-groups: keep both, prefix the 2nd
            var_name = rel_path.replace("/", "_")
        if variables is not None and var_name not in variables and leaf not in variables:
            continue
        attrs = _stored_attrs(dset)
        fill = _fill_value(dset, attrs)
        hdf5_dims = _hdf5_dims(dset, attrs, leaf)
        dims = _model_dims(hdf5_dims, dset.shape, sizes)
        rule = fam.decode_rule(model_name, dset.dtype.kind)
        decoder = decoder_for(dset, rule, decode=decode, attrs=attrs)
        data, dims = _lazy_array(file, dset, chunks, token, dims, decoder, fill)
        encoding = _encoding(rel_path, hdf5_dims, dset, attrs, fill, file, decoder)
        if any(_UIA.match(d) for d in hdf5_dims):
            uia_vars[var_name] = (data, dims, encoding)
            continue
        data_vars[var_name] = xr.Variable(
            dims, data, attrs=_user_attrs(encoding["hdf5_attrs"]), encoding=encoding
        )

    _check_found(info, file_scan_mode, group, data_vars, uia_vars, variables)
    if fam.is_grid:
        ds = _grid_dataset(file, group, data_vars, name)
    else:
        ds = _orbit_dataset(file, info, group, scan_mode, geo, data_vars, uia_vars)

    ds.attrs = dataset_attrs(info, scan_mode)
    spatial = {"lat", "lon"} if fam.is_grid else {"cross_track", "along_track"}
    for var in ds.data_vars.values():  # like GPM-API: each variable knows its product and CRS
        var.attrs["gpm_api_product"] = info.product
        if spatial <= set(var.dims):
            var.attrs["grid_mapping"] = "crsWGS84"
    header_key = next((k for k in group.attrs if k.endswith(("SwathHeader", "GridHeader"))), None)
    ds.encoding["scan_mode"] = scan_mode
    ds.encoding["file_scan_mode"] = file_scan_mode
    ds.encoding["group_attrs"] = {k: _hdf5.attr_text(v) for k, v in group.attrs.items()}
    if header_key is not None:
        header = _hdf5.attr_text(group.attrs[header_key])
        ds.encoding["swath_header"] = parse_pvl(header, strip=False)
    ds.encoding["source_sizes"] = dict(ds.sizes)
    groups = set(file_scan_modes(h5, info).values())
    ds.encoding["root_extras"] = [k for k in h5.keys() if k not in groups]
    ds.encoding["source"] = name
    ds.encoding["decoded"] = decode
    # The root PVL blocks as read, so that writing the Dataset back keeps their exact layout.
    ds.encoding["pvl_blocks"] = info.root_attrs
    return add_cf_attrs(ds, in_place=True)


def _check_found(info, file_scan_mode, group, data_vars, uia_vars, variables) -> None:
    fam = info.family
    absent = [
        v for v in fam.required if v not in data_vars and (variables is None or v in variables)
    ]
    if absent:
        raise MissingVariableError(
            f"{info.name}: {file_scan_mode} lacks {absent}, which every {info.product} granule "
            f"has; the file is damaged or incomplete: download it again{REDOWNLOAD}, or read the "
            "variables it does have with variables=[...]"
        )
    if variables is not None:
        found = set(data_vars) | set(uia_vars)
        missing = [v for v in variables if v not in found]
        if missing:
            available = sorted(_available_variables(group, fam))
            raise MissingVariableError(
                f"{info.name}: {file_scan_mode} has no variable(s) {missing}; available: "
                + ", ".join(available)
            )


def _geolocation(file, group, info: GranuleInfo, chunks, token) -> dict[str, xr.Variable]:
    """``lat``/``lon`` of a swath (geolocation fill codes and impossible values are NaN).

    They stay decoded with ``decode=False`` (coordinates must locate pixels); their stored
    values are in ``encoding["raw_values"]``.
    """
    if "Latitude" not in group or "Longitude" not in group:
        missing = [v for v in ("Latitude", "Longitude") if v not in group]
        raise MissingVariableError(
            f"{info.name}: {group.name} has no {'/'.join(missing)}, so its pixels cannot be "
            f"located; the file is damaged or incomplete: download it again{REDOWNLOAD}"
        )
    out: dict[str, xr.Variable] = {}
    for key, h5name in (("lat", "Latitude"), ("lon", "Longitude")):
        dset = group[h5name]
        attrs = _stored_attrs(dset)
        fill = _fill_value(dset, attrs)
        hdf5_dims = _hdf5_dims(dset, attrs, h5name)
        dims = [dimension_name(d) for d in hdf5_dims]
        if dims != ["along_track", "cross_track"] and dset.ndim == 2:
            dims = ["along_track", "cross_track"]  # PPS stores (nscan, npixel)
        # PPS geolocation fill codes, whatever _FillValue says (_hdf5.mask_outside also sets
        # any other finite value <= PPS_FILL_CEILING, and impossible ones, to NaN)
        decoder = decoder_for(dset, _GEOLOCATION_FILL, attrs=attrs)
        data, dims = _lazy_array(
            file, dset, chunks, token, dims, decoder, fill, valid_range=_GEOLOCATION_RANGE[key]
        )
        encoding = _encoding(h5name, hdf5_dims, dset, attrs, fill, file, decoder)
        out[key] = xr.Variable(
            dims, data, attrs=_user_attrs(encoding["hdf5_attrs"]), encoding=encoding
        )
    return out


def _orbit_dataset(file, info, group, scan_mode, geo, data_vars, uia_vars) -> xr.Dataset:
    fam = info.family
    coords: dict[str, Any] = dict(geo)
    n_scan = geo["lat"].sizes["along_track"]
    n_pix = geo["lat"].sizes["cross_track"]
    # the ScanTime group as stored (level-2 files keep sub-ms SecondOfDay): written back as is
    # when the times are unchanged
    scan_times = RawGroup(file, f"{group.name}/ScanTime")
    coords["time"] = xr.Variable(
        "along_track", scan_time(group, info.name), encoding={"scan_time": scan_times}
    )
    coords["gpm_cross_track_id"] = ("cross_track", np.arange(n_pix))
    coords["gpm_along_track_id"] = ("along_track", np.arange(n_scan))
    granule = info.granule_number
    coords["gpm_granule_id"] = ("along_track", np.full(n_scan, granule))
    # GPM-API's scan identifier "<granule>-<scan>", unique across concatenated granules
    coords["gpm_id"] = ("along_track", np.char.add(f"{granule}-", np.arange(n_scan).astype(str)))
    coords["crsWGS84"] = 0
    labels = info.spec.radar_frequency
    n_freq = {v.sizes["radar_frequency"] for v in data_vars.values() if "radar_frequency" in v.dims}
    if labels and n_freq == {len(labels)}:
        coords["radar_frequency"] = list(labels)
    n_range = {v.sizes["range"] for v in data_vars.values() if "range" in v.dims}
    if len(n_range) == 1:  # GPM-API: range 1..n (bin numbers), gpm_range_id 0..n-1
        size = n_range.pop()
        coords["range"] = ("range", np.arange(1, size + 1))
        coords["gpm_range_id"] = ("range", np.arange(size))
    for coord_name in fam.coordinates:
        if coord_name in data_vars:
            coords[coord_name] = data_vars.pop(coord_name)
    n_channels = {v.sizes["pmw_frequency"] for v in data_vars.values() if "pmw_frequency" in v.dims}
    channel_labels = None
    if len(n_channels) == 1:  # labels in the constructor: one Dataset build, not two
        channel_labels = _channel_labels(info, scan_mode, n_channels.pop())
        if channel_labels is not None:
            coords["pmw_frequency"] = channel_labels
    ds = xr.Dataset(data_vars, coords=coords)
    if channel_labels is not None:
        ds = _expand_uia(ds, group, uia_vars, channel_labels)
    else:
        for var_name, (data, dims, encoding) in uia_vars.items():
            ds[var_name] = xr.Variable(dims, data, encoding=encoding)
    return _transpose_orbit(ds)  # the few variables added after (nchUIA ones) only


def _available_variables(group, fam: Family) -> list[str]:
    names = []
    for rel_path, _ in _collect_datasets(group):
        leaf = rel_path.rsplit("/", 1)[-1]
        if rel_path.startswith("ScanTime/") or leaf in _SKIPPED_DATASETS:
            continue
        names.append(fam.renamed_variables.get(leaf, leaf))
    return names


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
        uia_axis = next(i for i, d in enumerate(dims) if _UIA.match(d))
        n_uia = data.shape[uia_axis]
        take = np.clip(row, 0, n_uia - 1)
        # Variable.isel indexes dask and lazily indexed arrays alike, without loading them
        expanded = xr.Variable(dims, data).isel({dims[uia_axis]: take})
        new_dims = list(dims)
        new_dims[uia_axis] = "pmw_frequency"
        expanded.dims = tuple(new_dims)
        expanded.attrs = _user_attrs(encoding["hdf5_attrs"])
        encoding = {k: v for k, v in encoding.items() if k != "raw_values"}  # other shape
        expanded.encoding = dict(
            encoding, incidence_angle_index=(row + 1).tolist(), incidence_angle_index_raw=raw_index
        )
        ds[var_name] = expanded
    return ds


def _grid_dataset(file, group, data_vars, name) -> xr.Dataset:
    for required in ("time", "lat", "lon"):
        if required not in group:
            raise MissingVariableError(
                f"{name}: {group.name}/{required} is missing; the file is damaged or "
                f"incomplete: download it again{REDOWNLOAD}"
            )
    time, epoch = grid_times(group["time"])
    coords: dict[str, Any] = {}
    for key, values in (("time", time), ("lat", group["lat"][()]), ("lon", group["lon"][()])):
        attrs = _hdf5_attrs(group[key].attrs)
        encoding: dict[str, Any] = {"hdf5_attrs": attrs}
        if key == "time":
            encoding["epoch"] = epoch
        coords[key] = xr.Variable(key, values, attrs=_user_attrs(attrs), encoding=encoding)
    bounds = {}
    for bname in ("time_bnds", "lat_bnds", "lon_bnds"):
        var = data_vars.pop(bname, None)
        if var is not None:
            bounds[bname] = var
    ds = xr.Dataset(data_vars, coords=coords)
    if "time_bnds" in bounds:
        tb, _ = grid_times(group["time_bnds"])
        ds = ds.assign_coords(time_bnds=(("time", "nv"), tb))
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


def dataset_attrs(info: GranuleInfo, scan_mode: str) -> dict[str, Any]:
    """Dataset attributes: the flattened root PVL blocks, the scan mode and the product."""
    attrs: dict[str, Any] = {}
    for block in _ROOT_BLOCKS_ORDER:  # other blocks (DPRKuInfo) stay in encoding["pvl_blocks"]
        for key, value in info.root_attrs.get(block, {}).items():
            attrs.setdefault(key, value.strip())
    attrs["ScanMode"] = scan_mode
    attrs["gpm_api_product"] = info.product
    return attrs
