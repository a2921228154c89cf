"""Ground-radar polar volumes (ODIM_H5 ``PVOL``) through xradar.

xgpm does not reimplement a polar reader: :func:`open_polar_volume` checks that a file is an
ODIM_H5 polar volume, with xgpm's errors when it is not, and hands it to
:func:`xradar.io.open_odim_datatree`, which returns xradar's ``DataTree`` (CfRadial2 layout:
the site's ``latitude``/``longitude``/``altitude`` at the root, read from the file's ``/where``;
one ``sweep_<n>`` node per ``/datasetN`` with ``(azimuth, range)`` fields such as ``DBZH``).
xradar is an optional dependency: ``pip install "xgpm[radar]"``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import NoSuchFileError, RadarFileError, StorageError

__all__ = ["POLAR_OBJECTS", "open_polar_volume", "polar_sweep_names", "polar_sweeps"]

#: ODIM_H5 ``/what/object`` values read as polar data (a volume, or a single scan).
POLAR_OBJECTS = ("PVOL", "SCAN")


def _text(value: Any) -> str:
    """An HDF5 attribute as a str (bytes, numpy bytes, one-element arrays)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.ravel()[0]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", "replace").rstrip("\x00").strip()
    return str(value).strip()


def _check_odim_polar(path: Path) -> dict[str, str]:
    """The file's ``/what`` as text if it is an ODIM_H5 polar volume; xgpm errors otherwise."""
    import h5py

    if not path.exists():
        raise NoSuchFileError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise StorageError(f"{path}: is a folder; pass one ODIM_H5 polar volume file")
    if not os.access(path, os.R_OK):
        raise StorageError(f"{path}: permission denied to read it; check its permissions")
    if path.stat().st_size == 0 or not h5py.is_hdf5(path):
        raise RadarFileError(
            f"{path} is not an HDF5 file, so not an ODIM_H5 polar volume (empty, truncated, or "
            "another format such as Rainbow, IRIS/Sigmet or NEXRAD level II: open those with "
            "xradar directly)"
        )
    try:
        with h5py.File(path, "r") as f:
            what_group = f.get("what")
            what = (
                {k: _text(what_group.attrs[k]) for k in what_group.attrs}
                if isinstance(what_group, h5py.Group)
                else {}
            )
            has_dataset = any(k.startswith("dataset") for k in f)
    except OSError as err:
        raise RadarFileError(f"{path}: HDF5 file that cannot be read ({err})") from err
    obj = what.get("object", "").upper()
    if not obj:
        raise RadarFileError(
            f"{path} is HDF5 but not ODIM_H5: it has no /what/object attribute (an ODIM_H5 polar "
            "volume says object=PVOL)"
        )
    if obj not in POLAR_OBJECTS:
        hint = (
            "open it with xgpm.open_radar_composite"
            if obj in {"COMP", "IMAGE"}
            else "only polar volumes (PVOL) and scans (SCAN) are read here"
        )
        raise RadarFileError(
            f"{path} is an ODIM_H5 {obj} (object={obj}), not a polar volume (object=PVOL): {hint}"
        )
    if not has_dataset:
        raise RadarFileError(f"{path}: ODIM_H5 {obj} without any /datasetN sweep")
    return what


def open_polar_volume(path: str | os.PathLike, **kwargs: Any) -> xr.DataTree:
    """Open an ODIM_H5 polar volume (``PVOL``) as xradar's ``DataTree``.

    Parameters
    ----------
    path : str or path-like
        A local ODIM_H5 file whose ``/what/object`` is ``PVOL`` (or ``SCAN``).
    **kwargs
        Passed to :func:`xradar.io.open_odim_datatree` (e.g. ``sweep=[0, 1]``,
        ``chunks={}`` for dask-backed fields).

    Returns
    -------
    xarray.DataTree
        xradar's tree: the site (``latitude``, ``longitude`` in degrees, ``altitude`` in m above
        sea level, from the file's ``/where``) and ``sweep_fixed_angle`` at the root, one
        ``sweep_<n>`` node per sweep with ``(azimuth, range)`` fields (``DBZH`` in dBZ; no echo and
        no data decoded to NaN) and ``elevation``/``time`` per ray. The root's attrs gain
        ``xgpm_source`` (the path) and ``odim_source`` (``/what/source``, e.g.
        ``RAD:AU66,PLC:MtStapl``).

    Raises
    ------
    xgpm.errors.NoSuchFileError
        The file does not exist.
    xgpm.errors.StorageError
        A folder, or a file that cannot be read for its permissions.
    xgpm.errors.RadarFileError
        Not HDF5, not ODIM_H5, an ODIM_H5 object other than a polar volume (a ``COMP``
        composite: see :func:`xgpm.open_radar_composite`), no sweep, or a volume xradar cannot
        decode.
    ImportError
        xradar is not installed (``pip install "xgpm[radar]"``).

    Examples
    --------
    >>> from xgpm.io.polar import open_polar_volume
    >>> vol = open_polar_volume("IDR66_20141206_094829.vol.h5")  # doctest: +SKIP
    >>> vol["sweep_0"]["DBZH"].dims  # doctest: +SKIP
    ('azimuth', 'range')
    """
    if not isinstance(path, str | os.PathLike):
        raise RadarFileError(
            f"open_polar_volume: path must be a local file path, got {type(path).__name__}"
        )
    path = Path(path)
    what = _check_odim_polar(path)
    try:
        import xradar
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            'open_polar_volume needs xradar: pip install "xgpm[radar]" (or pip install xradar)'
        ) from err
    kwargs.setdefault("sweep", None)  # every sweep
    try:
        tree = xradar.io.open_odim_datatree(str(path), **kwargs)
    except Exception as err:
        raise RadarFileError(
            f"{path}: xradar could not decode this ODIM_H5 {what.get('object')} ({err!r})"
        ) from err
    if not polar_sweep_names(tree):
        raise RadarFileError(f"{path}: xradar found no sweep in this polar volume")
    tree.attrs["xgpm_source"] = str(path)
    if "source" in what:
        tree.attrs["odim_source"] = what["source"]
    return tree


def polar_sweep_names(volume: xr.DataTree) -> list[str]:
    """Names of the ``sweep_<n>`` nodes of an xradar tree, in sweep-number order."""
    names = [k for k in volume.children if k.startswith("sweep_") and k[6:].isdigit()]
    return sorted(names, key=lambda k: int(k[6:]))


def polar_sweeps(volume: xr.DataTree) -> list[xr.Dataset]:
    """Every sweep of an xradar tree as a Dataset carrying the site coordinates.

    xarray's ``DataTree`` passes only indexed coordinates down to its children, so a sweep node
    alone lacks the root's ``latitude``/``longitude``/``altitude``; they are attached here (what
    xradar's georeferencing needs).

    Parameters
    ----------
    volume : xarray.DataTree
        A tree from :func:`open_polar_volume` (or :func:`xradar.io.open_odim_datatree`).

    Returns
    -------
    list of xarray.Dataset
        One per sweep, in sweep-number order.
    """
    root = volume.to_dataset(inherit=False)
    site = {k: root[k] for k in ("latitude", "longitude", "altitude") if k in root.variables}
    out = []
    for name in polar_sweep_names(volume):
        sweep = volume[name].to_dataset()
        out.append(sweep.assign_coords({k: v for k, v in site.items() if k not in sweep.coords}))
    return out
