"""``to_gmi``: any constellation radiometer's 1C swath as pseudo-GMI brightness temperatures.

Model lookup: translation models are registry models (:mod:`xgpm.models`) whose card says
``task: to_gmi``; ``method`` names the technique (``identity``, ``quantile_mapping``,
``cyclegan_r``, ``redgan``) and ``inputs.sensor`` the source sensor, matched as a prefix (a card
for ``SSMIS`` serves SSMIS-F16 .. F19; the longest matching prefix wins).

Sampling: the card's ``inputs.sampling`` says on which pixels the model runs: ``gmi`` (the
source swath densified to GMI's pixel spacing by :func:`xgpm.translate.grid.to_gmi_sampling`,
since convolutional models count their receptive field in pixels) or ``source``. The result is
returned on GMI's spacing (``sampling="gmi"``, default) or on the source pixels exactly
(``sampling="source"``, :func:`xgpm.translate.grid.to_source_sampling`).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from xgpm import models
from xgpm.cf import add_cf_attrs
from xgpm.errors import InvalidArgumentError, MissingChannelsError, ModelNotFoundError
from xgpm.io._inputs import as_swath, single_scan_mode_hint
from xgpm.io._merge import DEFAULT_MERGE_RADIUS_KM
from xgpm.translate import grid

__all__ = ["SAMPLINGS", "find_model", "to_gmi", "to_gmi_models"]

_log = logging.getLogger(__name__)

SAMPLINGS = ("gmi", "source")
_TASK = "to_gmi"
_CROSS, _ALONG = "cross_track", "along_track"


def _matches(card_sensor: str, sensor: str) -> bool:
    card_sensor, sensor = card_sensor.upper(), sensor.upper()
    return sensor == card_sensor or sensor.startswith(card_sensor + "-")


def to_gmi_models(sensor: str | None = None) -> list[models.ModelSpec]:
    """The registered translation models (cards with ``task: to_gmi``), optionally for a sensor.

    Parameters
    ----------
    sensor : str, optional
        Source sensor (``"SSMIS-F17"``): keep the cards whose ``inputs.sensor`` is a prefix.

    Returns
    -------
    list of ModelSpec
        Sorted by method, then name.
    """
    found = []
    for name in models.list():
        try:
            spec = models.card(name)
        except Exception:  # noqa: BLE001 - a broken card of another model must not hide ours
            continue
        if spec.raw.get("task") != _TASK:
            continue
        if sensor is not None and not _matches(spec.sensor, sensor):
            continue
        found.append(spec)
    return sorted(found, key=lambda s: (str(s.raw.get("method", "")), s.name))


def find_model(model: str, sensor: str) -> models.ModelSpec:
    """The translation card of method (or card name) ``model`` for source ``sensor``.

    Raises
    ------
    ModelNotFoundError
        No such method for that sensor; the message lists what exists.
    """
    candidates = [
        spec
        for spec in to_gmi_models(sensor)
        if str(spec.raw.get("method", "")) == model or spec.name == model
    ]
    if candidates:
        return max(candidates, key=lambda s: len(s.sensor))
    for_sensor = sorted({str(s.raw.get("method")) for s in to_gmi_models(sensor)})
    method_sensors = sorted(
        {s.sensor for s in to_gmi_models() if str(s.raw.get("method", "")) == model}
    )
    where = (
        f"method {model!r} exists for {', '.join(method_sensors)}"
        if method_sensors
        else f"no translation model has method {model!r}"
    )
    raise ModelNotFoundError(
        f"to_gmi: no {model!r} translation model for {sensor} data ({where}). Methods available "
        f"for {sensor}: {', '.join(for_sensor) or 'none'} (xgpm.translate.to_gmi_models())."
    )


def _source_sensor(ds: xr.Dataset, variable: str) -> str:
    from xgpm.models.inference import _input_sensor

    tb = ds[variable]
    sensor = _input_sensor(tb.assign_attrs({**ds.attrs, **tb.attrs}))
    if sensor is None:
        raise InvalidArgumentError(
            "to_gmi: cannot tell which sensor the data comes from: its attrs have neither "
            "'xgpm_sensor' nor 'gpm_api_product' (open it with xgpm.open_granule, or set "
            "ds.attrs['xgpm_sensor'] = 'SSMIS-F17')"
        )
    return sensor


def _surface_type(tb: xr.DataArray) -> xr.DataArray:
    """Surface class (0 ocean, 1 land, 2 coast) from the land mask at each pixel's lon/lat."""
    from xgpm.translate.baselines import surface_class

    lon, lat = tb["lon"], tb["lat"]
    spatial = [d for d in tb.dims if d in lon.dims]
    # the data's chunks (coords made by densification may be chunked otherwise)
    chunks = dict(zip(tb.dims, tb.data.chunks, strict=True)) if tb.chunks is not None else None
    if chunks is not None:
        lon = lon.chunk({d: chunks[d] for d in spatial})
        lat = lat.chunk({d: chunks[d] for d in spatial})
    out = xr.apply_ufunc(
        surface_class,
        lon.reset_coords(drop=True),
        lat.reset_coords(drop=True),
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    return out.rename("surface_type")


def to_gmi(
    ds: xr.Dataset,
    model: str = "cyclegan_r",
    channels: Sequence[str] | None = None,
    *,
    sampling: str = "gmi",
    chunks: Mapping[Hashable, int] | str | None = None,
    variable: str = "Tc",
    device: Any = None,
    tile: Sequence[int] | int | None = None,
    batch_size: int = 4,
    torch_threads: int | None = None,
    merge_radius_km: float = DEFAULT_MERGE_RADIUS_KM,
) -> xr.Dataset:
    """Translate a radiometer's 1C swath into pseudo-GMI brightness temperatures.

    Parameters
    ----------
    ds : Dataset or DataTree
        A 1C swath of a constellation radiometer (``xgpm.open_granule``; ``Tc`` on
        cross_track, along_track, pmw_frequency; lon/lat/time coords), NumPy- or dask-backed,
        or what GPM-API returns: a Dataset holding the model's channels
        (``gpm.open_granule_dataset``), or a granule's DataTree of scan modes
        (``gpm.open_granule_datatree``, ``xgpm.open_granule(path, scan_mode="all")``), whose
        scan modes are merged as ``xgpm.open_granule(path)`` does.
    model : str
        Translation method (``"cyclegan_r"``, ``"redgan"``, ``"quantile_mapping"``,
        ``"identity"``) or a card name (``"quantile_mapping-ssmis"``); the card for the data's
        sensor is looked up in the registry.
    channels : sequence of str, optional
        GMI channels to return (labels such as ``"89V"``); all 13 by default.
    sampling : {"gmi", "source"}
        ``"gmi"``: the source swath densified to GMI's pixel spacing (what DRAIN expects);
        ``"source"``: the source pixels exactly.
    chunks : mapping, "auto" or None
        Dask chunks of cross_track/along_track of the array the model runs on (see
        :func:`xgpm.inference.apply_model`); None keeps the input's (NumPy input is computed
        at once).
    variable : str
        Brightness-temperature variable.
    device, tile, batch_size, torch_threads
        Passed to :func:`xgpm.inference.apply_model` (torch models).
    merge_radius_km : float
        For a DataTree: search radius (km) of the nearest-neighbour merge of its scan modes
        onto the widest swath (as :func:`xgpm.open_granule`).

    Returns
    -------
    Dataset
        ``Tc`` (K, float32) on (cross_track, along_track, pmw_frequency) with GMI channel
        labels, the source swath's lon/lat/time; attrs name the model, its version and method,
        the source sensor, ``xgpm_sensor="GMI"``, ``gpm_api_product="1C-GMI"`` (the source's
        in ``xgpm_source_product``) and ``xgpm_pseudo_from=<source sensor>`` (so that
        :func:`xgpm.retrieve.rainrate` and the channel helpers treat it as GMI). Lazy for
        dask input or ``chunks``. GMI input is returned unchanged (channels selected).

    Raises
    ------
    ModelNotFoundError
        No translation model of that method for the data's sensor (the message lists those
        that exist).
    MissingChannelsError
        The data lacks channels the model reads (one scan mode of a multi-swath sensor, such
        as SSMIS S1: the message points to the merged swath and the DataTree), or ``channels``
        names non-GMI channels.
    InvalidArgumentError
        Bad ``sampling``, ``model``, ``channels``, ``chunks``, ``tile``, ``batch_size`` or
        ``device``; no ``variable``; not a Dataset; an empty swath; a swath without
        ``lon``/``lat``; data whose sensor cannot be told.
    InvalidDataError
        Brightness temperatures outside 20-350 K (Celsius, scaled integers, undecoded fill,
        all zero), counted on the source pixels: at call time for in-memory input, from
        ``.compute()`` for dask input (checked inside the graph, which stays lazy).

    Examples
    --------
    >>> ssmis = xgpm.open_granule("1C.F17.SSMIS....HDF5")  # doctest: +SKIP
    >>> pseudo = xgpm.translate.to_gmi(ssmis, "quantile_mapping")  # doctest: +SKIP
    >>> rain = pseudo.gpm.rainrate()  # doctest: +SKIP
    """
    from xgpm.models.inference import apply_model
    from xgpm.translate.baselines import GMI_CHANNELS

    ds = as_swath(ds, "to_gmi", merge_radius_km=merge_radius_km)
    if not isinstance(ds, xr.Dataset):
        hint = {
            "DataArray": ": pass the Dataset the variable comes from (it carries lon/lat and "
            "the sensor), or da.to_dataset()",
        }.get(type(ds).__name__, "")
        raise InvalidArgumentError(
            f"to_gmi needs an xarray Dataset (a 1C swath), got {type(ds).__name__}{hint}"
        )
    if not isinstance(model, str):
        raise InvalidArgumentError(
            f"to_gmi: model must be a translation method or card name (str), got "
            f"{type(model).__name__} {model!r} (see xgpm.translate.to_gmi_models())"
        )
    if not isinstance(variable, str):
        raise InvalidArgumentError(
            f"to_gmi: variable must be the name (str) of the brightness temperature variable, "
            f"got {variable!r}"
        )
    if variable not in ds:
        raise InvalidArgumentError(
            f"to_gmi: the Dataset has no {variable!r} variable (brightness temperatures); it has "
            f"{sorted(map(str, ds.data_vars))}. Pass variable=<name>"
        )
    if sampling not in SAMPLINGS:
        raise InvalidArgumentError(f"to_gmi: sampling must be one of {SAMPLINGS}, not {sampling!r}")
    if channels is not None:
        if not isinstance(channels, (str, Sequence)):
            raise InvalidArgumentError(
                f"to_gmi: channels must be a GMI channel label or a list of them (e.g. "
                f"['89V', '89H']), got {type(channels).__name__} {channels!r}"
            )
        channels = [channels] if isinstance(channels, str) else [str(c) for c in channels]
        unknown = [c for c in channels if c not in GMI_CHANNELS]
        if unknown or not channels:
            raise MissingChannelsError(
                f"to_gmi: channels={channels} names no GMI channel {unknown}; GMI's channels are "
                f"{list(GMI_CHANNELS)}"
            )
    empty = [d for d in (_CROSS, _ALONG) if ds.sizes.get(d, 1) == 0]
    if empty:
        raise InvalidArgumentError(
            f"to_gmi: ds has no pixels ({', '.join(empty)} of length 0: an empty granule or "
            "selection?); select a non-empty part of the swath"
        )
    sensor = _source_sensor(ds, variable)
    if sensor.upper() == "GMI":
        if channels is None:
            return ds[[variable]]
        have = [str(c) for c in ds["pmw_frequency"].values] if "pmw_frequency" in ds.coords else []
        lacking = [c for c in channels if c not in have]
        if lacking:
            raise MissingChannelsError(
                f"to_gmi: this GMI data lacks the channels {lacking} asked for in channels= "
                f"(it has {have})"
            )
        return ds[[variable]].sel(pmw_frequency=channels)
    if "xgpm_pseudo_from" in ds.attrs:
        raise InvalidArgumentError(
            f"to_gmi: this data is already pseudo-GMI (from {ds.attrs['xgpm_pseudo_from']})"
        )
    spec = find_model(model, sensor)
    model_sampling = str(spec.raw.get("inputs", {}).get("sampling", "gmi"))
    if model_sampling not in SAMPLINGS:
        raise InvalidArgumentError(
            f"model card {spec.source}: inputs.sampling must be one of {SAMPLINGS}, "
            f"not {model_sampling!r}"
        )
    from xgpm.models.inference import check_brightness_temperatures, check_inputs

    swath = ds[[variable]]
    source_tb = swath[variable]
    try:
        check_inputs(source_tb.assign_attrs({**ds.attrs, **source_tb.attrs}), spec, "pmw_frequency")
    except MissingChannelsError as err:
        hint = single_scan_mode_hint(ds)
        if not hint:
            raise
        raise MissingChannelsError(f"{err}{hint}") from err
    grid.check_swath(swath, "to_gmi: ds")
    # In-memory data are checked here, on the source pixels (the counts are the user's pixels);
    # dask data inside the graph by apply_model (on the densified pixels), so nothing is
    # computed now.
    lazy_source = source_tb.chunks is not None
    if not lazy_source:
        check_brightness_temperatures(
            source_tb.sel(pmw_frequency=list(spec.input_channels))
            .transpose(..., "pmw_frequency")
            .values,
            spec.input_channels,
            variable=variable,
            context=f"to_gmi (model {spec.name!r})",
        )
    model_input = grid.to_gmi_sampling(swath) if model_sampling == "gmi" else swath
    tb = model_input[variable].assign_attrs({**ds.attrs, **ds[variable].attrs})
    auxiliary = {}
    if "surface_type" in (spec.raw.get("inputs", {}).get("auxiliary") or []):
        if isinstance(chunks, Mapping) and tb.chunks is None:
            tb = tb.chunk({**dict(chunks), "pmw_frequency": -1})
        auxiliary["surface_type"] = _surface_type(tb)
    _log.debug("to_gmi: model %s %s on %s, dims %s", spec.name, spec.version, variable, tb.sizes)
    out = apply_model(
        tb,
        spec,
        output="Tc",
        chunks=chunks,
        device=device,
        tile=tile,
        batch_size=batch_size,
        torch_threads=torch_threads,
        auxiliary=auxiliary,
        check_values=lazy_source,  # in-memory input was checked above
    )
    if channels is not None:
        out = out.sel(pmw_frequency=channels)
    result = out.to_dataset(name="Tc")
    result["Tc"].attrs = {
        "units": "K",
        "long_name": f"pseudo-GMI brightness temperature ({sensor})",
    }
    result.attrs = {
        **{k: v for k, v in ds.attrs.items() if k != "xgpm_upsampling"},
        # GMI's data model: channel helpers (ds.gpm.channels, pct) read GMI's registry entry
        "gpm_api_product": "1C-GMI",
        "xgpm_source_product": str(ds.attrs.get("gpm_api_product", "")),
        "xgpm_sensor": "GMI",
        "xgpm_pseudo_from": sensor,
        "xgpm_to_gmi_model": spec.name,
        "xgpm_to_gmi_method": str(spec.raw.get("method", "")),
        "xgpm_to_gmi_model_version": spec.version,
        "xgpm_to_gmi_sampling": sampling,
        "xgpm_to_gmi_training_data": spec.training_data,
    }
    if model_sampling == "gmi":
        result.attrs["xgpm_upsampling"] = list(model_input.attrs["xgpm_upsampling"])
        if sampling == "source":
            result = grid.to_source_sampling(result, like=swath)
    elif sampling == "gmi":
        result = grid.to_gmi_sampling(result)
    return add_cf_attrs(result, in_place=True)
