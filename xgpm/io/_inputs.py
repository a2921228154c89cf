"""What xgpm's methods accept: xgpm's own swaths, and what GPM-API returns.

xgpm and GPM-API share one data model (dims ``cross_track``/``along_track``/``pmw_frequency``,
coords ``lon``/``lat``/``time``, GPM-API's channel labels, attrs ``gpm_api_product`` and
``ScanMode``). What differs, and is mapped here:

* a DataTree of scan modes (``gpm.open_granule_datatree`` or ``xgpm.open_granule(...,
  scan_mode="all")``): the methods need one swath, so the scan modes of a 1C granule are merged
  the way xgpm's reader does (:func:`xgpm.io._merge.merge_scan_modes`: nearest neighbour onto
  the widest swath within ``merge_radius_km``); a tree of one scan mode is that scan mode;
* GPM-API's ``time`` coordinate is ``datetime64[us]`` (xgpm's is ``datetime64[ns]``);
* GPM-API keeps the product name on each node only, xgpm on the root too.

Labels (``"89V"``, ``"183V7"``) and ``crsWGS84`` are the same in both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError
from xgpm.io._merge import DEFAULT_MERGE_RADIUS_KM, merge_scan_modes

__all__ = ["as_swath", "is_datatree", "normalize_swath", "single_scan_mode_hint"]


def is_datatree(obj: Any) -> bool:
    """Whether ``obj`` is an xarray DataTree (``xr.DataTree``, or the older ``datatree`` one)."""
    return type(obj).__name__ == "DataTree"


def normalize_swath(ds: xr.Dataset | xr.DataArray) -> xr.Dataset | xr.DataArray:
    """Map a swath opened by GPM-API onto xgpm's conventions (a no-op for xgpm's own).

    ``time`` (and any other datetime64 coordinate) is cast to ``datetime64[ns]``.

    Parameters
    ----------
    ds : Dataset or DataArray
        A swath or grid in GPM-API's data model.

    Returns
    -------
    Dataset or DataArray
        ``ds`` itself when nothing needs mapping, else a shallow copy.
    """
    recast = {
        name: coord.astype("datetime64[ns]")
        for name, coord in ds.coords.items()
        if coord.dtype.kind == "M" and coord.dtype != np.dtype("datetime64[ns]")
    }
    if not recast:
        return ds
    return ds.assign_coords(recast)


def _tree_nodes(tree: Any) -> dict[str, xr.Dataset]:
    """The scan modes of a granule's DataTree: ``{name: Dataset}`` of the nodes holding data."""
    root_attrs = dict(tree.attrs)
    nodes: dict[str, xr.Dataset] = {}
    for name, node in tree.children.items():
        if not node.has_data:
            continue
        ds = node.to_dataset()
        # the product name may live on the root only (xgpm) or on each node (GPM-API)
        attrs = {
            k: v for k, v in root_attrs.items() if k not in ("ScanMode",) and k not in ds.attrs
        }
        ds.attrs = {**attrs, **ds.attrs}
        ds.attrs.setdefault("ScanMode", str(name))
        nodes[str(name)] = normalize_swath(ds)
    return nodes


def as_swath(
    obj: Any,
    context: str,
    *,
    merge_radius_km: float = DEFAULT_MERGE_RADIUS_KM,
    role: str = "ds",
) -> Any:
    """One swath from what xgpm or GPM-API returns; other objects are returned unchanged.

    Parameters
    ----------
    obj : Dataset, DataArray, DataTree or any
        A Dataset or DataArray (xgpm's or GPM-API's: mapped with :func:`normalize_swath`), a
        DataTree of a granule's scan modes (merged like ``xgpm.open_granule(path)``: every
        channel on the widest swath, nearest neighbour within ``merge_radius_km``; a one-node
        tree is that node; a tree with data at its root only is refused), or anything else
        (returned as is: the caller refuses it).
    context : str
        The caller's name, for messages (``"to_gmi"``).
    merge_radius_km : float
        Search radius of the nearest-neighbour merge of scan modes (km).
    role : str
        The argument's name, for messages (``"source"``).

    Returns
    -------
    Dataset, DataArray or any
        The swath.

    Raises
    ------
    InvalidArgumentError
        An empty DataTree, or one whose scan modes are not 1C channel swaths (2A-DPR ``FS`` and
        ``HS``: pick one, ``tree["FS"].to_dataset()``).
    """
    if isinstance(obj, (xr.Dataset, xr.DataArray)):
        return normalize_swath(obj)
    if not is_datatree(obj):
        return obj
    nodes = _tree_nodes(obj)
    if not nodes:
        where = "data at its root only" if obj.has_data else "no data"
        raise InvalidArgumentError(
            f"{context}: {role} is a DataTree with {where}, not a granule's scan modes; pass "
            f"a Dataset ({role}.to_dataset()), a granule's DataTree "
            "(gpm.open_granule_datatree(path), xgpm.open_granule(path, scan_mode='all')) or "
            "its merged swath (xgpm.open_granule(path))"
        )
    if len(nodes) == 1:
        return next(iter(nodes.values()))
    not_1c = [name for name, ds in nodes.items() if "pmw_frequency" not in ds.dims]
    if not_1c:
        first = next(iter(nodes))
        raise InvalidArgumentError(
            f"{context}: {role} is a DataTree of the scan modes {list(nodes)}, which are not "
            f"1C channel swaths that can be merged ({not_1c} have no 'pmw_frequency'); pick "
            f"one: {role}[{first!r}].to_dataset()"
        )
    return merge_scan_modes(nodes, radius_km=merge_radius_km)


def single_scan_mode_hint(ds: Any) -> str:
    """A hint when ``ds`` is one scan mode of a sensor whose channels span several ('' if not).

    Parameters
    ----------
    ds : Dataset or DataArray
        The input that lacks channels.

    Returns
    -------
    str
        A sentence pointing to the merged swath or the DataTree, or ``""``.
    """
    attrs = getattr(ds, "attrs", {}) or {}
    mode, product = attrs.get("ScanMode"), attrs.get("gpm_api_product")
    if not mode or not product or str(mode) in ("merged", "all"):
        return ""
    from xgpm import sensors
    from xgpm.errors import UnknownProductError, UnknownSensorError

    try:
        sensor = sensors.from_product(str(product))
    except (UnknownProductError, UnknownSensorError):
        return ""
    modes = list(sensor.scan_modes)
    if len(modes) < 2 or str(mode) not in modes:
        return ""
    return (
        f" This is scan mode {mode} alone of {product}, whose channels span the scan modes "
        f"{modes}: open the merged swath (xgpm.open_granule(path), the default), or pass the "
        "granule's DataTree (gpm.open_granule_datatree(path) or xgpm.open_granule(path, "
        "scan_mode='all')), which xgpm merges."
    )
