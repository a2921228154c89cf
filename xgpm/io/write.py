"""Write Datasets in GPM-API's data model back as PPS HDF5 granules.

The writer is the inverse of :mod:`xgpm.io.read`: for every variable it uses, in order of
preference, the HDF5 layout recorded when the variable was read (``encoding``), the product
registry's layout (``products.yaml``), or a layout inferred from the data-model dims. So a
granule read and written back is the same file content, and a Dataset built from scratch (the
simulator's) becomes a file that NASA's tools and GPM-API read like any PPS granule.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError, WriteError
from xgpm.io import _hdf5
from xgpm.io._decode import restore_codes
from xgpm.io._scan_time import GPS_EPOCH, epoch_of_units
from xgpm.io._storage import storage_errors, with_timeouts
from xgpm.io.products import (
    Family,
    default_fill_value,
    family_of_product,
    file_info_defaults,
    root_attribute_layout,
    sensor_of_product,
)
from xgpm.io.products import product as product_spec
from xgpm.io.pvl import format_pvl

__all__ = ["write_granule"]

_log = logging.getLogger(__name__)

_TIME_UNITS = "seconds since 1980-01-06 00:00:00 UTC"  # IMERG V07 (V06: since 1970)
_NOT_WRITTEN = {
    "lat",
    "lon",
    "time",
    "pmw_frequency",
    "radar_frequency",
    "crsWGS84",
    "gpm_id",
    "gpm_granule_id",
    "gpm_cross_track_id",
    "gpm_along_track_id",
    "gpm_range_id",
    "time_bnds",
    "lat_bnds",
    "lon_bnds",
}
_SCANTIME = (
    ("Year", "int16", "years"),
    ("Month", "int8", "months"),
    ("DayOfMonth", "int8", "days"),
    ("Hour", "int8", "hours"),
    ("Minute", "int8", "minutes"),
    ("Second", "int8", "s"),
    ("MilliSecond", "int16", "ms"),
    ("DayOfYear", "int16", "days"),
    ("SecondOfDay", "float64", "s"),
)


def write_granule(
    data: xr.Dataset | xr.DataTree | Mapping[str, xr.Dataset],
    path: str | os.PathLike,
    *,
    product: str | None = None,
    granule_number: int | None = None,
    version: str | None = None,
    overwrite: bool = False,
    compression: int | None = 1,
    storage_options: dict | None = None,
) -> str:
    """Write a granule as a PPS HDF5 file of its product.

    Parameters
    ----------
    data : Dataset, DataTree or mapping of scan mode to Dataset
        One swath (or an IMERG grid) in GPM-API's data model, or several scan modes keyed by
        name (``{"S1": ds1, "S2": ds2}``, a DataTree from ``open_granule(scan_mode="all")``).
        A 1C Dataset whose channels span several scan modes (``scan_mode="merged"``) is split
        back into its scan modes by the sensor registry, all sharing its geolocation.
    path : str or path-like
        A directory (the PPS file name is generated) or a file path; fsspec URLs (``s3://``,
        ``memory://``) are written locally first and uploaded.
    product : str, optional
        GPM-API product name; ``data.attrs["gpm_api_product"]`` otherwise.
    granule_number : int, optional
        Orbit number (IMERG: ignored, the minute of the day is used). Taken from the Dataset's
        ``GranuleNumber`` attribute or ``gpm_granule_id`` coordinate otherwise.
    version : str, optional
        Product version for the file name and header, ``"V07A"`` by default.
    overwrite : bool
        Replace an existing file. Otherwise an existing file raises :class:`WriteError`.
    compression : int or None
        gzip level of the datasets (PPS files are gzip compressed); None for no compression.
    storage_options : dict, optional
        fsspec options for URL targets.

    Returns
    -------
    str
        The path or URL written. The file appears atomically (written under a temporary name,
        then renamed), so a crash never leaves a half-written granule under the final name.

    Raises
    ------
    WriteError
        If the Dataset lacks what the product needs (geolocation, time, channels matching the
        sensor registry) or the target exists and ``overwrite`` is False.
    StorageError
        If the target cannot be written (no permission, a full disk, an unreachable endpoint);
        nothing is left under the final name.
    """
    modes, attrs = _as_scan_modes(data)
    product = product or attrs.get("gpm_api_product")
    if not product:
        raise WriteError(
            "cannot tell which product to write: pass product='1C-GMI' (or another GPM-API "
            "product name) or set data.attrs['gpm_api_product']"
        )
    fam = family_of_product(product)
    sensor = sensor_of_product(product)
    if None in modes:  # a Dataset that does not say its scan mode: the product's main one
        main = (
            product_spec(product).default_scan_mode(attrs.get("ProductVersion"))
            if fam.scan_modes
            else next(iter(sensor.scan_modes))
        )
        modes = {main: modes[None]}
    modes = _split_merged(modes, fam, sensor)
    _check_modes(modes, fam, sensor, product)
    first = next(iter(modes.values()))
    start, end = _time_range(modes, fam)
    version = version or attrs.get("ProductVersion") or "V07A"
    granule = _granule(granule_number, attrs, first, fam, start)
    filename = _filename(attrs, product, start, end, granule, version, fam)

    target = os.fspath(path)
    is_url = "://" in target and not target.startswith("file://")
    if target.startswith("file://"):
        target = target[len("file://") :]
    if not is_url and os.path.isdir(target) or target.endswith("/"):
        target = target.rstrip("/") + "/" + filename
    final_name = os.path.basename(target)

    overrides = {"ProductVersion": version, "GranuleNumber": None}
    if granule_number is not None and not fam.is_grid:
        overrides["GranuleNumber"] = f"{granule:06d}"
    stated = str(attrs.get("StartGranuleDateTime", "")).rstrip("Z")
    try:
        stale = abs((pd.Timestamp(stated).to_pydatetime() - start).total_seconds()) > 60
    except ValueError:
        stale = True
    if stale:  # the Dataset's header describes other times (shifted or cut data): regenerate
        overrides["StartGranuleDateTime"] = _fmt_time(start)
        overrides["StopGranuleDateTime"] = _fmt_time(end)
    blocks = _root_blocks(
        attrs,
        first,
        fam,
        sensor,
        product,
        modes,
        start,
        end,
        granule,
        version,
        final_name,
        {k: v for k, v in overrides.items() if v},
    )
    if is_url:
        import fsspec

        with storage_errors(target, "write"):
            options = with_timeouts(target, storage_options)
            fs, fs_path = fsspec.core.url_to_fs(target, **options)
            if fs.exists(fs_path) and not overwrite:
                raise WriteError(f"{target} exists; pass overwrite=True to replace it")
            with tempfile.TemporaryDirectory() as tmp:
                local = os.path.join(tmp, final_name)
                _write_file(local, blocks, modes, fam, sensor, compression)
                fs.put_file(local, fs_path)  # one PUT: the object appears whole or not at all
        _log.info("wrote %s (%s)", target, product)
        return target
    if os.path.exists(target) and not overwrite:
        raise WriteError(f"{target} exists; pass overwrite=True to replace it")
    if os.path.isdir(target):
        raise WriteError(f"{target} is a folder; pass a file name or the folder with a '/'")
    tmp = f"{target}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with storage_errors(target, "write"):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            _write_file(tmp, blocks, modes, fam, sensor, compression)
            _hdf5.close_cached(target)
            os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    _log.info("wrote %s (%s)", target, product)
    return target


# --------------------------------------------------------------------------------------------
# normalising the input
# --------------------------------------------------------------------------------------------


def _as_scan_modes(data: Any) -> tuple[dict[str, xr.Dataset], dict[str, Any]]:
    if isinstance(data, xr.DataTree):
        modes = {name: node.to_dataset() for name, node in data.children.items()}
        attrs = dict(data.attrs)
        if modes:
            attrs = {**next(iter(modes.values())).attrs, **attrs}
        if not modes and data.has_data:
            return _as_scan_modes(data.to_dataset())
        return modes, attrs
    if isinstance(data, xr.Dataset):
        mode = data.attrs.get("ScanMode") or data.encoding.get("scan_mode")
        return {mode: data}, dict(data.attrs)
    if isinstance(data, Mapping):
        if not data:
            raise WriteError("nothing to write: the mapping of scan modes is empty")
        bad = [k for k, v in data.items() if not isinstance(v, xr.Dataset)]
        if bad:
            raise InvalidArgumentError(f"scan modes {bad} are not xarray Datasets")
        modes = dict(data)
        return modes, dict(next(iter(modes.values())).attrs)
    raise InvalidArgumentError(
        f"data must be an xarray Dataset, DataTree or a mapping of scan mode to Dataset, "
        f"not {type(data).__name__}"
    )


def _split_merged(modes: dict[str, xr.Dataset], fam: Family, sensor) -> dict[str, xr.Dataset]:
    """Split a Dataset whose channels span several scan modes into its scan modes."""
    if fam.scan_modes is not None or sensor is None or len(modes) != 1:
        return modes
    ((name, ds),) = modes.items()
    if "pmw_frequency" not in ds.dims or (name not in sensor.scan_modes and name != "merged"):
        return modes  # nothing to split, or a scan-mode name that _check_modes will refuse
    labels = [str(v) for v in ds["pmw_frequency"].values]
    by_mode: dict[str, list[str]] = {}
    for label in labels:
        try:
            by_mode.setdefault(sensor.scan_mode_of(label), []).append(label)
        except KeyError as err:
            raise WriteError(
                f"channel {label!r} is not a {sensor.name} channel; valid: "
                f"{', '.join(sensor.labels)}"
            ) from err
    if list(by_mode) == [name]:
        return modes
    out = {}
    for mode in sensor.scan_modes:
        if mode in by_mode:
            part = ds.sel(pmw_frequency=by_mode[mode])
            part.encoding = {}  # the merged layout is not this scan mode's
            out[mode] = part
    return out


def _check_modes(modes: dict[str, xr.Dataset], fam: Family, sensor, product: str) -> None:
    allowed = list(sensor.scan_modes) if fam.scan_modes is None else list(fam.scan_modes)
    for mode, ds in modes.items():
        if mode not in allowed:
            raise WriteError(f"{product} has no scan mode {mode!r}; its scan modes: {allowed}")
        if fam.is_grid:
            for coord in ("time", "lat", "lon"):
                if coord not in ds.coords:
                    raise WriteError(f"{product} needs a {coord!r} coordinate")
            continue
        for coord in ("lat", "lon", "time"):
            if coord not in ds.coords and coord not in ds.data_vars:
                raise WriteError(
                    f"scan mode {mode}: a {product} granule needs '{coord}' "
                    "(lat/lon over (cross_track, along_track), time over along_track)"
                )
        for dim in ("cross_track", "along_track"):
            if dim not in ds.dims:
                raise WriteError(f"scan mode {mode}: dimension {dim!r} is missing")
        if fam.scan_modes is None:  # 1C: the channels must be the registry's, in order
            expected = [c.label for c in sensor.scan_modes[mode].channels]
            if "Tc" not in ds:
                raise WriteError(f"scan mode {mode}: a {product} granule needs 'Tc'")
            got = [str(v) for v in ds["pmw_frequency"].values]
            if got != expected:
                raise WriteError(
                    f"scan mode {mode}: pmw_frequency is {got}, but {product} ({sensor.name}) "
                    f"{mode} holds {expected} (in that order); select or reorder the channels, "
                    "or pass the product these channels belong to"
                )


def _valid_times(modes: dict[str, xr.Dataset]) -> np.ndarray:
    times = np.concatenate([np.asarray(ds["time"].values).ravel() for ds in modes.values()])
    return times[~np.isnat(times)]


def _time_range(modes: dict[str, xr.Dataset], fam: Family) -> tuple[dt.datetime, dt.datetime]:
    times = _valid_times(modes)
    if times.size == 0:
        raise WriteError("every time is missing (NaT): a granule needs at least one valid time")
    start = pd.Timestamp(times.min()).to_pydatetime()
    end = pd.Timestamp(times.max()).to_pydatetime()
    if fam.is_grid:
        end = start + dt.timedelta(minutes=29, seconds=59, milliseconds=999)
    return start, end


def _granule(granule_number, attrs, first, fam, start) -> int:
    if fam.is_grid:
        return start.hour * 60 + start.minute
    if granule_number is not None:
        return int(granule_number)
    text = str(attrs.get("GranuleNumber", "")).strip()
    if text.isdigit():
        return int(text)
    if "gpm_granule_id" in first.coords:
        return int(np.asarray(first["gpm_granule_id"].values).ravel()[0])
    raise WriteError("no granule number: pass granule_number=... (the orbit number)")


def _filename(attrs, product, start, end, granule, version, fam) -> str:
    from xgpm.io.filenames import UnknownProductError, parse_filename, pps_filename

    name = attrs.get("FileName")
    if name:
        try:
            parsed = parse_filename(name)
        except UnknownProductError:
            parsed = None
        if (
            parsed is not None
            and parsed.product == product
            and parsed.granule == granule
            and abs((parsed.start - start.replace(microsecond=0)).total_seconds()) <= 60
        ):
            return name
    return pps_filename(product, start, end, granule, version)


def _fmt_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _root_blocks(
    attrs, first, fam, sensor, product, modes, start, end, granule, version, filename, overrides
) -> dict[str, dict[str, str]]:
    layout = root_attribute_layout()
    read_blocks: dict[str, dict[str, str]] = first.encoding.get("pvl_blocks", {})
    wanted = ["FileHeader", "FileInfo", *fam.extra_root_attrs]
    wanted += [b for b in read_blocks if b not in wanted]
    generated = {
        "FileName": filename,
        "StartGranuleDateTime": _fmt_time(start),
        "StopGranuleDateTime": _fmt_time(end),
        "GranuleNumber": "" if fam.is_grid else f"{granule:06d}",
        "NumberOfSwaths": "0" if fam.is_grid else str(len(modes)),
        "NumberOfGrids": "1" if fam.is_grid else "0",
        "ProductVersion": version,
        "EmptyGranule": "NOT_EMPTY",
        "SatelliteName": "MULTI" if sensor is None else sensor.pps_satellite,
        "InstrumentName": "MERGED" if sensor is None else sensor.pps_instrument,
        "GranuleStart": "" if fam.is_grid else "SOUTHERNMOST_LATITUDE",
        "TimeInterval": "HALF_HOUR" if fam.is_grid else "ORBIT",
        "ProcessingSystem": "xgpm",
        "GenerationDateTime": _fmt_time(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)),
        "MissingData": "",
    }
    # What the Dataset says wins over what is generated, except the file name, which must match.
    blocks: dict[str, dict[str, str]] = {}
    for block in wanted:
        keys = list(read_blocks.get(block, {})) or layout.get(block, [])
        items = {}
        for key in keys:
            if block == "FileHeader" and key == "FileName":
                items[key] = filename
            elif block == "FileHeader" and key in overrides:
                items[key] = overrides[key]
            elif key in attrs and not isinstance(attrs[key], (list, tuple, dict)):
                raw = read_blocks.get(block, {}).get(key)
                # keep the file's own spelling (trailing blanks) when the value is unchanged
                items[key] = (
                    raw if raw is not None and raw.strip() == str(attrs[key]) else str(attrs[key])
                )
            elif key in read_blocks.get(block, {}):
                items[key] = read_blocks[block][key]
            elif block == "FileHeader":
                items[key] = generated.get(key, "")
            elif block == "FileInfo":
                items[key] = file_info_defaults().get(key, "")
            else:
                items[key] = ""
        blocks[block] = items
    return blocks


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------


def _write_file(path, blocks, modes, fam: Family, sensor, compression) -> None:
    import h5py

    with h5py.File(path, "w", libver="earliest") as h5:
        for block, items in blocks.items():
            h5.attrs[block] = np.bytes_(format_pvl(items))
        _copy_root_extras(h5, next(iter(modes.values())))
        for mode, ds in modes.items():
            if fam.is_grid:
                _write_grid(h5, mode, ds, fam, compression)
            else:
                _write_swath(h5, mode, ds, fam, sensor, compression)


def _copy_root_extras(h5, ds: xr.Dataset) -> None:
    """Copy root datasets/groups that are not swaths (AlgorithmRuntimeInfo, GprofDHeadr).

    They are not part of the data model; copying them from the source file keeps a granule
    that was read and written back complete. Skipped when the source is no longer readable.
    """
    extras = ds.encoding.get("root_extras") or []
    source = ds.encoding.get("source")
    if not extras or not source or not os.path.exists(str(source)):
        return
    import h5py

    with h5py.File(source, "r") as src:
        for name in extras:
            if name in src and name not in h5:
                src.copy(src[name], h5, name=name)


def _file_group_name(mode: str, ds: xr.Dataset) -> str:
    return ds.encoding.get("file_scan_mode", mode)


def _dataset_kwargs(shape: tuple[int, ...], compression: int | None) -> dict[str, Any]:
    if compression is None or int(np.prod(shape)) < 4096:
        return {}
    chunks = list(shape)
    chunks[0] = min(shape[0], max(1, 2**20 // max(1, int(np.prod(shape[1:])))))
    return {
        "compression": "gzip",
        "compression_opts": compression,
        "shuffle": True,
        "chunks": tuple(chunks),
    }


def _encode(values: np.ndarray, dtype: np.dtype, fill: Any) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind == "f" and fill is not None:
        missing = np.isnan(values)
        if dtype.kind in "iu":
            out = np.where(missing, fill, np.nan_to_num(values)).astype(dtype)
            return out
        out = values.astype(dtype)
        out[missing] = fill
        return out
    return values.astype(dtype)


def _var_layout(
    name: str, var: xr.DataArray, fam: Family, mode: str, dim_names: dict[str, str]
) -> tuple[str, np.dtype, Any, list[str], dict]:
    """(path, dtype, fill, hdf5 dims, hdf5 attrs) for a variable, from encoding or registry."""
    enc = var.encoding
    spec = fam.variables.get(name)
    if "hdf5_path" in enc:
        path = enc["hdf5_path"]
        dtype = np.dtype(enc["dtype"])
        fill = enc.get("_FillValue")
        hdf5_dims = enc["hdf5_dims"].split(",")
        hdf5_attrs = dict(enc.get("hdf5_attrs", {}))
        return path, dtype, fill, hdf5_dims, hdf5_attrs
    if spec is not None:
        path, dtype = spec.path, np.dtype(spec.dtype)
        number = "".join(ch for ch in mode if ch.isdigit())
        hdf5_dims = spec.hdf5_dims.format(n=number).split(",")
        units = spec.units
    else:
        path = name
        dtype = var.dtype if var.dtype.kind != "M" else np.dtype("float64")
        hdf5_dims = [dim_names.get(d, d) for d in var.dims]
        units = var.attrs.get("units")
    fill = default_fill_value(dtype)
    hdf5_attrs: dict[str, Any] = {}
    if fill is not None:
        hdf5_attrs["CodeMissingValue"] = _fill_text(fill)
    hdf5_attrs["DimensionNames"] = ",".join(hdf5_dims)
    long_name = var.attrs.get("description") or var.attrs.get("long_name")
    if long_name:
        hdf5_attrs["LongName"] = long_name
    units = var.attrs.get("units", units)
    if units:
        hdf5_attrs["Units"] = units
        hdf5_attrs["units"] = units
    return path, dtype, fill, hdf5_dims, hdf5_attrs


def _raw(var: xr.DataArray, path: str):
    """The stored values behind a variable read from a file (None if it was not, or resized).

    Only a variable written back where it was read from, in its stored shape, gets them: the
    writer then puts back the codes decoding turned into NaN (-9999 under -9999.9, -1111 ...).
    """
    raw = var.encoding.get("raw_values")
    if raw is None or var.encoding.get("hdf5_path") != path or tuple(var.shape) != raw.shape:
        return None
    return raw


def _fill_text(fill: Any) -> str:
    value = np.asarray(fill).item()
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _hdf5_order(
    var: xr.DataArray, hdf5_dims: list[str], dim_names: dict[str, str], uia_dim: str | None = None
) -> xr.DataArray:
    """Transpose a data-model variable into the order of its HDF5 dims."""
    inverse = {}
    for dim in var.dims:
        inverse[dim_names.get(dim, dim)] = dim
    if uia_dim is not None:
        inverse[uia_dim] = "pmw_frequency"
    order = []
    for hdim in hdf5_dims:
        if hdim in inverse:
            order.append(inverse[hdim])
        else:
            from xgpm.io.products import dimension_name

            dm = dimension_name(hdim)
            if dm in var.dims:
                order.append(dm)
            elif hdim in var.dims:
                order.append(hdim)
            else:
                raise WriteError(
                    f"variable {var.name!r}: its dims {var.dims} do not match the HDF5 layout "
                    f"{hdf5_dims}"
                )
    return var.transpose(*order)


def _write_dataset(group, path, values, dtype, fill, attrs, compression, raw=None) -> None:
    """Write one dataset; ``raw`` (``encoding["raw_values"]``) puts unchanged codes back."""
    data = restore_codes(values, _encode(values, dtype, fill), raw)
    kwargs = _dataset_kwargs(data.shape, compression)
    dset = group.create_dataset(path, data=data, **kwargs)
    for key, value in attrs.items():
        if key in ("_FillValue",):
            continue
        dset.attrs[key] = np.bytes_(str(value)) if isinstance(value, str) else value
    if fill is not None:
        dset.attrs["_FillValue"] = np.asarray(fill, dtype=dtype)


def _write_swath(h5, mode, ds, fam: Family, sensor, compression) -> None:
    group_name = _file_group_name(mode, ds)
    group = h5.create_group(group_name)
    dim_names = fam.hdf5_dim_names(mode)
    ds = ds.transpose("along_track", "cross_track", ...)
    n_scan, n_pix = ds.sizes["along_track"], ds.sizes["cross_track"]

    # group attributes: SwathHeader (+ IncidenceAngleIndex for 1C); the source's own header is
    # kept unless the swath was cut or extended since it was read
    header = dict(ds.encoding.get("swath_header", {}))
    source_sizes = ds.encoding.get("source_sizes", {})
    resized = any(source_sizes.get(d) != ds.sizes[d] for d in ("along_track", "cross_track"))
    if not header or resized:
        instrument = sensor.pps_instrument if sensor is not None else "default"
        max_scans = fam.max_scans.get(instrument, fam.max_scans.get("default", 0))
        header = {
            "NumberScansInSet": "1",
            "MaximumNumberScansTotal": str(max(max_scans, n_scan)),
            "NumberScansBeforeGranule": "0",
            "NumberScansGranule": str(n_scan),
            "NumberScansAfterGranule": "0",
            "NumberPixels": str(n_pix),
            "ScanType": sensor.scan_type if sensor is not None else "CROSSTRACK",
        }
    group_attrs = dict(ds.encoding.get("group_attrs", {}))
    header_key = next((k for k in group_attrs if k.endswith("SwathHeader")), None)
    header_key = header_key or f"{group_name}_SwathHeader"
    for key, value in group_attrs.items():
        if key != header_key and not key.endswith("IncidenceAngleIndex"):
            group.attrs[key] = np.bytes_(str(value))
    group.attrs[header_key] = np.bytes_(format_pvl(header))

    # geolocation and scan time
    for key, h5name, units in (("lat", "Latitude", "degrees"), ("lon", "Longitude", "degrees")):
        var = ds[key]
        path, dtype, fill, hdims, hattrs = _var_layout(h5name, var, fam, mode, dim_names)
        if "hdf5_path" not in var.encoding:
            dtype, fill = np.dtype("float32"), np.float32(-9999.9)
            hdims = [dim_names["along_track"], dim_names["cross_track"]]
            hattrs = {
                "CodeMissingValue": "-9999.9",
                "DimensionNames": ",".join(hdims),
                "Units": units,
                "units": units,
            }
        var = _hdf5_order(var, hdims, dim_names)
        _write_dataset(
            group, h5name, var.values, dtype, fill, hattrs, compression, _raw(var, h5name)
        )
    if not _copy_scan_time(group, ds["time"]):
        _write_scan_time(group, ds["time"].values, dim_names["along_track"])

    # incidence-angle-like variables (1C): collapse identical channel columns to nchUIA
    uia_index = None
    variables = {**{k: v for k, v in ds.coords.items() if k not in ds.dims}, **dict(ds.data_vars)}
    for name, var in variables.items():
        if name in _NOT_WRITTEN or var.dtype.kind in "OUS":
            continue
        is_uia = fam.uia_dim is not None and (
            "incidence_angle_index" in var.encoding
            or name in fam.variables
            and "nchUIA" in fam.variables[name].hdf5_dims
        )
        if is_uia:
            uia_index = _write_uia(group, name, var, fam, mode, dim_names, compression)
            continue
        path, dtype, fill, hdims, hattrs = _var_layout(name, var, fam, mode, dim_names)
        var = _hdf5_order(var, hdims, dim_names)
        raw = _raw(var, path)
        _write_dataset(group, path, var.values, dtype, fill, hattrs, compression, raw)

    if fam.uia_dim is not None and "pmw_frequency" in ds.dims:
        n_ch = ds.sizes["pmw_frequency"]
        if uia_index is None:
            uia_index = np.ones(n_ch, dtype=np.int8)
        index_name = dim_names["pmw_frequency"]
        index_values = np.broadcast_to(np.asarray(uia_index, dtype=np.int8), (n_scan, n_ch))
        raw_index = next(
            (
                v.encoding["incidence_angle_index_raw"]
                for v in variables.values()
                if v.encoding.get("incidence_angle_index_raw") is not None
            ),
            None,
        )
        if raw_index is not None and raw_index.shape == (n_scan, n_ch) and not resized:
            index_values = raw_index  # keeps the scans the source flagged missing (-99)
        _write_dataset(
            group,
            "incidenceAngleIndex",
            index_values,
            np.dtype("int8"),
            np.int8(-99),
            {
                "CodeMissingValue": "-99",
                "DimensionNames": f"{dim_names['along_track']},{index_name}",
            },
            compression,
        )
        group.attrs[f"{group_name}_IncidenceAngleIndex"] = np.bytes_(
            format_pvl({"IncidenceAngleIndex": ",".join(str(int(i)) for i in uia_index)})
        )


def _write_uia(group, name, var, fam: Family, mode, dim_names, compression) -> np.ndarray:
    """Write a per-channel variable as unique columns (nchUIA) and return the 1-based index."""
    number = "".join(ch for ch in mode if ch.isdigit())
    uia_dim = var.encoding.get("hdf5_dims", "").split(",")[-1] or fam.uia_dim.format(n=number)
    if "pmw_frequency" not in var.dims:
        var = var.expand_dims(pmw_frequency=1, axis=-1)
    var = var.transpose("along_track", "cross_track", "pmw_frequency")
    values = np.asarray(var.values)
    index_given = var.encoding.get("incidence_angle_index")
    columns: list[np.ndarray] = []
    index = []
    if index_given is not None and len(index_given) == values.shape[-1]:
        n_uia = max(index_given)
        columns = [values[..., index_given.index(k)] for k in range(1, n_uia + 1)]
        index = list(index_given)
    else:
        for ch in range(values.shape[-1]):
            col = values[..., ch]
            for k, existing in enumerate(columns):
                if np.array_equal(existing, col, equal_nan=True):
                    index.append(k + 1)
                    break
            else:
                columns.append(col)
                index.append(len(columns))
    stacked = np.stack(columns, axis=-1)
    path, dtype, fill, _, hattrs = _var_layout(name, var, fam, mode, dim_names)
    hdims = [dim_names["along_track"], dim_names["cross_track"], uia_dim]
    hattrs["DimensionNames"] = ",".join(hdims)
    _write_dataset(group, path, stacked, dtype, fill, hattrs, compression)
    return np.asarray(index, dtype=np.int8)


def _copy_scan_time(group, time: xr.DataArray) -> bool:
    """Copy the ScanTime group the times were read from, if they are unchanged; True if done.

    PPS ScanTime fields carry what the data model rounds away (level-2 SecondOfDay below the
    millisecond, MilliSecond left at 0, the dimension names of the file); a granule read and
    written back keeps them.
    """
    from xgpm.io._scan_time import scan_time

    source = time.encoding.get("scan_time")
    if source is None:
        return False
    try:
        stored = source.open()
        same = np.array_equal(
            scan_time(stored.parent, str(source.path)), np.asarray(time.values), equal_nan=True
        )
        if same:
            stored.file.copy(stored, group, name="ScanTime")
    except Exception:  # noqa: BLE001 - the source is gone or changed: write the times anew
        return False
    return bool(same)


def _write_scan_time(group, times: np.ndarray, scan_dim: str) -> None:
    times = np.asarray(times, dtype="datetime64[ns]")
    missing = np.isnat(times)
    stamp = pd.DatetimeIndex(np.where(missing, np.datetime64("1970-01-01", "ns"), times))
    fields = {
        "Year": stamp.year,
        "Month": stamp.month,
        "DayOfMonth": stamp.day,
        "Hour": stamp.hour,
        "Minute": stamp.minute,
        "Second": stamp.second,
        "MilliSecond": stamp.microsecond // 1000,
        "DayOfYear": stamp.day_of_year,
        "SecondOfDay": stamp.hour * 3600
        + stamp.minute * 60
        + stamp.second
        + stamp.microsecond / 1e6,
    }
    sub = group.create_group("ScanTime")
    for key, dtype, units in _SCANTIME:
        dtype = np.dtype(dtype)
        fill = default_fill_value(dtype)
        values = np.asarray(fields[key], dtype="float64")
        values[missing] = np.nan
        _write_dataset(
            sub,
            key,
            values,
            dtype,
            fill,
            {
                "CodeMissingValue": _fill_text(fill),
                "DimensionNames": scan_dim,
                "Units": units,
                "units": units,
            },
            None,
        )


def _write_grid(h5, mode, ds, fam: Family, compression) -> None:
    group = h5.create_group(mode)
    lat = np.asarray(ds["lat"].values, dtype="float32")
    lon = np.asarray(ds["lon"].values, dtype="float32")
    res_lat = float(np.round(np.median(np.diff(lat)), 6)) if lat.size > 1 else 0.1
    res_lon = float(np.round(np.median(np.diff(lon)), 6)) if lon.size > 1 else 0.1
    header = ds.encoding.get("swath_header") or {
        "BinMethod": "ARITHMETIC_MEAN",
        "Registration": "CENTER",
        "LatitudeResolution": f"{res_lat:g}",
        "LongitudeResolution": f"{res_lon:g}",
        "NorthBoundingCoordinate": f"{lat.max() + res_lat / 2:g}",
        "SouthBoundingCoordinate": f"{lat.min() - res_lat / 2:g}",
        "EastBoundingCoordinate": f"{lon.max() + res_lon / 2:g}",
        "WestBoundingCoordinate": f"{lon.min() - res_lon / 2:g}",
        "Origin": "SOUTHWEST",
    }
    group.attrs["GridHeader"] = np.bytes_(format_pvl(header))

    time_attrs = ds["time"].encoding.get("hdf5_attrs") or {}
    time_units = str(time_attrs.get("units") or _TIME_UNITS)
    epoch = epoch_of_units(time_units, GPS_EPOCH)
    times = np.asarray(ds["time"].values, dtype="datetime64[ns]")
    seconds = ((times - epoch) // np.timedelta64(1, "s")).astype("int32")
    if "time_bnds" in ds.coords:
        tb = np.asarray(ds["time_bnds"].values, dtype="datetime64[ns]")
        bounds_t = ((tb - epoch) // np.timedelta64(1, "s")).astype("int32")
    else:
        bounds_t = np.stack([seconds, seconds + 1800], axis=-1).astype("int32")
    scales = {}
    read_scales = ds.encoding.get("grid_scales", {})
    for name, values, attrs in (
        (
            "time",
            seconds,
            {
                "DimensionNames": "time",
                "Units": time_units,
                "units": time_units,
                "axis": "T",
                "bounds": "time_bnds",
                "calendar": "julian",
                "standard_name": "time",
            },
        ),
        (
            "lon",
            lon,
            {
                "DimensionNames": "lon",
                "Units": "degrees_east",
                "units": "degrees_east",
                "axis": "X",
                "bounds": "lon_bnds",
                "standard_name": "longitude",
            },
        ),
        (
            "lat",
            lat,
            {
                "DimensionNames": "lat",
                "Units": "degrees_north",
                "units": "degrees_north",
                "axis": "Y",
                "bounds": "lat_bnds",
                "standard_name": "latitude",
            },
        ),
        ("nv", np.arange(2, dtype="int32"), {"DimensionNames": "nv"}),
        ("lonv", np.arange(2, dtype="int32"), {"DimensionNames": "lonv"}),
        ("latv", np.arange(2, dtype="int32"), {"DimensionNames": "latv"}),
    ):
        if name in read_scales:
            values, attrs = read_scales[name]
        dset = group.create_dataset(name, data=values)
        if name in ds.coords and ds[name].attrs.get("description"):
            attrs = {**attrs, "LongName": ds[name].attrs["description"]}
        if name in ds.coords and ds[name].encoding.get("hdf5_attrs"):
            attrs = {k: v for k, v in ds[name].encoding["hdf5_attrs"].items() if k != "NAME"}
        for key, value in attrs.items():
            if key != "NAME":
                dset.attrs[key] = np.bytes_(value) if isinstance(value, str) else value
        # netCDF-4 gives dimension-only scales a NAME that says so; real scales get ""
        dset.make_scale(attrs.get("NAME", "") if isinstance(attrs.get("NAME"), str) else "")
        scales[name] = dset

    def attach(dset, dims):
        for i, d in enumerate(dims):
            dset.dims[i].attach_scale(scales[d])

    lat_b = np.stack([lat - res_lat / 2, lat + res_lat / 2], axis=-1).astype("float32")
    lon_b = np.stack([lon - res_lon / 2, lon + res_lon / 2], axis=-1).astype("float32")
    if "lat_bnds" in ds.coords:
        lat_b = np.asarray(ds["lat_bnds"].transpose("lat", ...).values, dtype="float32")
    if "lon_bnds" in ds.coords:
        lon_b = np.asarray(ds["lon_bnds"].transpose("lon", ...).values, dtype="float32")
    for name, values, dims, units in (
        ("time_bnds", bounds_t, ("time", "nv"), time_units),
        ("lon_bnds", lon_b, ("lon", "lonv"), "degrees_east"),
        ("lat_bnds", lat_b, ("lat", "latv"), "degrees_north"),
    ):
        dset = group.create_dataset(name, data=values)
        dset.attrs["DimensionNames"] = np.bytes_(",".join(dims))
        dset.attrs["Units"] = np.bytes_(units)
        dset.attrs["units"] = np.bytes_(units)
        dset.attrs["coordinates"] = np.bytes_(" ".join(dims))
        attach(dset, dims)

    dim_names = {"time": "time", "lat": "lat", "lon": "lon"}
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "OUS":
            continue
        if set(var.dims) != {"time", "lat", "lon"}:
            continue
        path, dtype, fill, hdims, hattrs = _var_layout(name, var, fam, mode, dim_names)
        if "hdf5_path" not in var.encoding and name not in fam.variables:
            hdims = ["time", "lon", "lat"]
            hattrs["DimensionNames"] = "time,lon,lat"
        hattrs.setdefault("coordinates", "time lon lat")
        var = var.transpose(*[d for d in hdims])
        raw = _raw(var, path)
        _write_dataset(group, path, var.values, dtype, fill, hattrs, compression, raw)
        attach(group[path], hdims)
