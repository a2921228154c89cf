"""Rain retrieval on a GMI swath: ``xgpm.retrieve.rainrate`` (``ds.gpm.rainrate()``).

A thin layer over :func:`xgpm.inference.apply_model`: it picks the brightness temperatures,
checks that they are the model's sensor and channels, selects the requested quantiles and adds
provenance attributes (model, version, the card's training-data statement, input sensor, xgpm
version).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from xgpm import models
from xgpm._version import __version__
from xgpm.cf import add_cf_attrs
from xgpm.errors import InvalidArgumentError, MissingChannelsError
from xgpm.io._inputs import as_swath, single_scan_mode_hint
from xgpm.io._merge import DEFAULT_MERGE_RADIUS_KM
from xgpm.models.inference import _input_sensor, apply_model

__all__ = ["rainrate"]

_log = logging.getLogger(__name__)

QUANTILE_OUTPUT = "surface_precip_quantile"


def rainrate(
    ds: xr.Dataset | xr.DataArray,
    model: str = "drain",
    quantiles: Sequence[float] | None = (0.05, 0.5, 0.95),
    chunks: Mapping[Hashable, int] | str | None = None,
    *,
    variable: str = "Tc",
    device: Any = None,
    tile: Sequence[int] | int | None = None,
    batch_size: int = 4,
    surface_type: xr.DataArray | str | None = None,
    merge_radius_km: float = DEFAULT_MERGE_RADIUS_KM,
) -> xr.Dataset:
    """Retrieve surface rain from GMI brightness temperatures.

    Parameters
    ----------
    ds : Dataset, DataArray or DataTree
        A 1C GMI swath (``Tc`` with dims ``cross_track``, ``along_track``, ``pmw_frequency``),
        e.g. from :func:`xgpm.open_granule` or ``gpm.open_granule_dataset``, or the ``Tc``
        DataArray itself, or a granule's DataTree of scan modes (``gpm.open_granule_datatree``,
        ``xgpm.open_granule(path, scan_mode="all")``), merged as ``xgpm.open_granule(path)``
        does. Other sensors must be converted first with ``ds.gpm.to_gmi()``.
    model : str
        Registered model (``"drain"``, ``"drain-13ch"``, ``"brain"``; see
        :func:`xgpm.models.list`).
    quantiles : sequence of float or None
        Quantile probabilities to return, among the model's (its card lists them); None: all
        of them; an empty sequence: no quantile variable.
    chunks : mapping, "auto" or None
        Dask chunks of ``cross_track``/``along_track`` (see :func:`xgpm.inference.apply_model`).
        None keeps the input's (a NumPy-backed input is computed at once).
    variable : str
        Brightness temperature variable of a Dataset.
    device : str, optional
        Torch device; CUDA when available, else CPU.
    tile : int or (int, int), optional
        Core size of the tiles run inside each dask block (bounds memory).
    batch_size : int
        Tiles per forward pass.
    surface_type : DataArray or str, optional
        Per-pixel surface class for models whose card lists it as an auxiliary input (BRAIN's
        stratified database); a variable name of ``ds``; by default ``ds["surface_type"]`` when
        present.
    merge_radius_km : float
        For a DataTree: search radius (km) of the nearest-neighbour merge of its scan modes
        onto the widest swath (as :func:`xgpm.open_granule`).

    Returns
    -------
    Dataset
        ``surface_precip`` (mm/h), ``probability_of_precip`` (0-1) and
        ``surface_precip_quantile`` (mm/h, dim ``quantile``) on the input swath (same dims and
        coordinates), float32, NaN where an input channel is NaN; lazy for dask input. Attributes
        record the model, its version, its training data, the input sensor and xgpm's version.
        ``surface_precip`` is the model's mean rain rate (DRAIN: the MSE-trained mean head;
        BRAIN: the posterior mean). DRAIN's quantiles are those of a zero-inflated distribution:
        exactly 0 where ``quantile <= 1 - probability_of_precip``; score them with
        :func:`xgpm.evaluate.quantile_calibration`.

    Raises
    ------
    MissingChannelsError
        The input lacks the model's channels, or comes from another sensor (the message names
        the channels and points to ``ds.gpm.to_gmi()``).
    ModelNotFoundError
        Unknown model, or no trained weights yet (says how to train them).
    InvalidDataError
        Brightness temperatures outside 20-350 K (Celsius, scaled integers, undecoded fill,
        all zero): at call time for in-memory input, from ``.compute()`` for dask input (the
        check runs inside the graph, which stays lazy).
    InvalidArgumentError
        Bad ``model``, ``variable``, ``quantiles``, ``chunks``, ``tile``, ``batch_size``,
        ``device`` or ``surface_type``; not a Dataset/DataArray/DataTree; an empty swath; a
        DataTree whose scan modes are not 1C channel swaths.

    Examples
    --------
    >>> ds = xgpm.open_granule("1C.GPM.GMI....HDF5")  # doctest: +SKIP
    >>> rain = xgpm.retrieve.rainrate(ds, quantiles=(0.1, 0.9))  # doctest: +SKIP
    >>> rain.surface_precip.plot()  # doctest: +SKIP
    """
    if not isinstance(model, (str, models.ModelSpec)):
        raise InvalidArgumentError(
            f"rainrate: model must be a registered model name (str) such as 'drain', got "
            f"{type(model).__name__} {model!r} (see xgpm.models.list())"
        )
    spec = models.card(model)
    task = spec.raw.get("task")
    if task not in (None, "retrieval"):
        raise InvalidArgumentError(
            f"rainrate: model {spec.name!r} is a {task!r} model, not a rain retrieval; pass a "
            "retrieval model such as 'drain', 'drain-13ch' or 'brain'"
        )
    if not isinstance(variable, str):
        raise InvalidArgumentError(
            f"rainrate: variable must be the name (str) of the brightness temperature variable, "
            f"got {variable!r}"
        )
    ds = as_swath(ds, "rainrate", merge_radius_km=merge_radius_km)
    if isinstance(ds, xr.Dataset):
        if variable not in ds:
            raise InvalidArgumentError(
                f"rainrate: the Dataset has no {variable!r} variable (brightness temperatures); "
                f"it has {sorted(map(str, ds.data_vars))}. Pass variable=<name>"
            )
        tb = ds[variable]
        attrs = {**ds.attrs, **tb.attrs}
        tb = tb.assign_attrs(attrs)
    elif isinstance(ds, xr.DataArray):
        tb = ds
    else:
        raise InvalidArgumentError(
            f"rainrate needs an xarray Dataset or DataArray, got {type(ds).__name__}"
        )

    wanted = [o.name for o in spec.outputs]
    selected_quantiles = _select_quantiles(spec, quantiles)
    if selected_quantiles is not None and len(selected_quantiles) == 0:
        wanted = [n for n in wanted if n != QUANTILE_OUTPUT]

    auxiliary = {}
    if "surface_type" in (spec.raw.get("inputs", {}).get("auxiliary") or []):
        if isinstance(surface_type, str):
            if not isinstance(ds, xr.Dataset) or surface_type not in ds.data_vars:
                has = sorted(map(str, ds.data_vars)) if isinstance(ds, xr.Dataset) else []
                raise InvalidArgumentError(
                    f"rainrate: surface_type={surface_type!r} names no variable of the input "
                    f"(variables: {has}); pass a Dataset holding it, or the DataArray itself"
                )
            surface_type = ds[surface_type]
        elif surface_type is None and isinstance(ds, xr.Dataset) and "surface_type" in ds:
            surface_type = ds["surface_type"]
        if surface_type is not None:
            if not isinstance(surface_type, xr.DataArray):
                raise InvalidArgumentError(
                    f"rainrate: surface_type must be a DataArray on the swath or a variable "
                    f"name, got {type(surface_type).__name__}"
                )
            missing = [d for d in surface_type.dims if d not in tb.dims]
            if missing:
                raise InvalidArgumentError(
                    f"rainrate: surface_type has dims {list(surface_type.dims)}, not dims of "
                    f"{variable!r} {list(tb.dims)}: it must lie on the same swath"
                )
            auxiliary["surface_type"] = surface_type

    _log.debug("rainrate: model %s %s on %s, dims %s", spec.name, spec.version, variable, tb.sizes)
    try:
        result = apply_model(
            tb,
            spec,
            output=wanted,
            tile=tile,
            batch_size=batch_size,
            device=device,
            chunks=chunks,
            auxiliary=auxiliary,
        )
    except MissingChannelsError as err:
        hint = single_scan_mode_hint(tb)
        if not hint:
            raise
        raise MissingChannelsError(f"{err}{hint}") from err
    if QUANTILE_OUTPUT in result and selected_quantiles:
        result = result.sel(quantile=list(selected_quantiles))
    result.attrs = {
        "title": f"surface precipitation retrieved by xgpm model {spec.name!r}",
        "model": spec.name,
        "model_version": spec.version,
        "model_training_data": spec.training_data,
        "model_inputs": " ".join(spec.input_channels),
        "input_sensor": _input_sensor(tb) or spec.sensor,
        "input_product": str(tb.attrs.get("gpm_api_product", "")),
        "input_file": str(tb.attrs.get("FileName", "")),
        "xgpm_version": __version__,
    }
    return add_cf_attrs(result, in_place=True)


def _select_quantiles(spec: models.ModelSpec, quantiles: Sequence[float] | None):
    """The card's quantile values matching ``quantiles`` (None: all)."""
    names = [o.name for o in spec.outputs]
    if QUANTILE_OUTPUT not in names:
        if quantiles:
            raise InvalidArgumentError(f"model {spec.name!r} has no quantile output")
        return ()
    available = np.asarray(spec.output(QUANTILE_OUTPUT).coords, dtype=float)
    if quantiles is None:
        return None
    try:
        values = np.atleast_1d(np.asarray(quantiles, dtype=float))
    except (TypeError, ValueError):
        values = np.array([np.nan, np.nan])
    if isinstance(quantiles, str) or values.ndim != 1 or not np.all((values > 0) & (values < 1)):
        raise InvalidArgumentError(
            f"rainrate: quantiles={quantiles!r} must be a sequence of probabilities in (0, 1) "
            f"among the model's {available.tolist()}, None for all of them, or () for none"
        )
    chosen = []
    for q in values:
        match = np.flatnonzero(np.isclose(available, q, rtol=0, atol=1e-9))
        if match.size == 0:
            raise InvalidArgumentError(
                f"model {spec.name!r} predicts the quantiles {available.tolist()}; {q} is not "
                "one of them (pass a subset, or quantiles=None for all)"
            )
        chosen.append(float(available[match[0]]))
    return tuple(chosen)
