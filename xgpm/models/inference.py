"""The inference engine: apply a registered model to xarray/dask data, tile by tile.

Every model in xgpm (the DRAIN U-Net, the BRAIN baseline, later the ``to_gmi`` generators) runs
through :func:`apply_model` (lazy, dask) or :func:`predict_numpy` (eager NumPy, the reference).

How image models (torch) are tiled so that the tiled output equals the whole-swath output:

- **Overlap.** Blocks are extended by the network's receptive margin ``M`` (declared in the
  model card, checked against the architecture when the model loads) on each side with
  :func:`dask.array.map_overlap` (``boundary="none"``: nothing is invented beyond the swath), so
  every output pixel of a block's core sees exactly the inputs it sees in the whole swath.
- **Alignment.** A U-Net is not shift-invariant: its pooling grid starts at the first pixel.
  Each block is therefore padded at its start so that its origin falls on a multiple of the
  network's divisibility ``2**depth`` in swath coordinates, and at its end to a multiple of it
  (edge replication). The whole swath is padded the same way (end only), so a block ending at
  the swath edge sees the very same padded edge, and padding elsewhere lies beyond the margin.
- **Batching.** Inside a block, ``tile=(rows, cols)`` cuts the block again into aligned tiles
  with the same margin; tiles of equal shape run together, ``batch_size`` at a time (bounds the
  memory on a GPU). ``tile=None`` runs each block in one pass.

Models are loaded by **name**, once per process (and device): dask tasks carry the name and a
few numbers, never the module or its weights (:func:`xgpm.models.load` caches behind a lock;
:func:`model_preloader` makes a ``distributed`` WorkerPlugin that loads them when a worker
starts). The device is chosen where the task runs: CUDA when available, else CPU. Threads:
dask already runs one block per core, so when the graph has more than one block each block uses
one torch thread (``torch.set_num_threads(1)`` inside the task, restored afterwards) unless
``torch_threads`` says otherwise; a single-block graph and :func:`predict_numpy` keep torch's
default (one thread per core).

Inputs are selected by the card's channel labels and standardised with its per-channel mean and
std. **NaN inputs**: a NaN brightness temperature is replaced by its channel's mean (0 after
standardisation) before the network, and every output of a pixel with any NaN input channel is
set to NaN; its neighbours are retrieved normally (they saw the mean-filled value). **Swath
edges**: the swath is mirrored beyond its edges (:func:`boundary_padding`) so that no output
pixel's receptive field reaches the network's zero padding; tiles and whole swath mirror the
same global swath, so tiled output still equals whole-swath output.

Pixel-wise NumPy models (BRAIN, ``framework: numpy`` in the card) have a ``predict(tb (..., C))``
method and run through :func:`xarray.apply_ufunc` with ``dask="parallelized"``.

**Implausible inputs.** Every model xgpm ships reads brightness temperatures in kelvin. Finite
input values outside :data:`TB_RANGE_K` (20-350 K) raise :class:`~xgpm.errors.InvalidDataError`
naming the variable, the channels, the number of pixels and the likely cause (Celsius, scaled
integers, undecoded fill values, an all-zero field). NaN is missing data and is fine. In-memory
(NumPy) input is checked at call time (one min/max pass, counts exact); dask input is checked
**inside the graph**, by a blockwise identity step fused with the model's tasks, so building the
graph computes nothing and the error is raised by ``.compute()`` (its counts are those of the
block that failed). The exception crosses dask's schedulers (threads, processes, distributed)
as the same :class:`~xgpm.errors.InvalidDataError`.

``torch`` is imported only when a torch model runs.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from xgpm import models
from xgpm.errors import InvalidArgumentError, InvalidDataError, MissingChannelsError
from xgpm.models import ModelSpec
from xgpm.models._tiling import (  # noqa: F401  (the engine's names, in one place)
    _dask_torch,
    _plan,
    _predict_numpy_model,
    _predict_swath,
    auto_chunks,
    geometry,
)

#: Bumped when the engine's outputs change for the same model (cache keys include it):
#: 2 = the swath is mirrored beyond its edges.
ENGINE_VERSION = 2

__all__ = [
    "ENGINE_VERSION",
    "apply_model",
    "predict_numpy",
    "model_preloader",
    "geometry",
    "auto_chunks",
    "OUTPUT_DIM",
    "TB_RANGE_K",
    "check_brightness_temperatures",
]

#: Name of the temporary dimension holding the flat network outputs.
OUTPUT_DIM = "_xgpm_output"
#: Plausible range (K) of a microwave brightness temperature seen from space: finite model
#: inputs outside it are refused (cold space is ~3 K but never fills a footprint; the hottest
#: deserts stay below ~340 K).
TB_RANGE_K: tuple[float, float] = (20.0, 350.0)
#: Undecoded fill values seen in the wild (PPS, NetCDF defaults, unsigned/short integers).
_FILL_LIKE = (-9999.9, -9999.0, -999.9, -999.0, -99.0, 9999.0, 32767.0, 65535.0, -32768.0)


# ------------------------------------------------------------------------------------------
# argument and input checks
# ------------------------------------------------------------------------------------------


def _diagnose_tb(finite: np.ndarray, bad: np.ndarray) -> str:
    """The likely cause of out-of-range brightness temperatures, and what to do."""
    vmin, vmax = float(finite.min()), float(finite.max())
    median = float(np.median(finite))
    if vmin == 0.0 and vmax == 0.0:
        return (
            "every value is 0: the field looks empty, or its fill values were not decoded; "
            "decode fill values to NaN (xgpm.open_granule does) and check that data were read"
        )
    if vmin >= -273.2 and vmax <= 80.0 and median < TB_RANGE_K[0]:
        return (
            f"values between {vmin:.1f} and {vmax:.1f} look like degrees Celsius: convert to "
            "kelvin first (add 273.15)"
        )
    if median >= 1000.0:
        return (
            f"values in the thousands (median {median:.0f}) look like scaled integers: apply "
            "the variable's scale_factor/add_offset (e.g. xr.decode_cf(ds), or multiply by "
            "0.01) so that the values are kelvin"
        )
    distinct = np.unique(bad)
    if distinct.size <= 3 and (
        np.isin(distinct, _FILL_LIKE).all()
        or (distinct == 0).all()
        or np.abs(distinct).min() >= 999
    ):
        return (
            f"the out-of-range values {distinct.tolist()} look like fill values that were not "
            "decoded: set them to NaN (e.g. ds['Tc'].where(ds['Tc'] > 0))"
        )
    return (
        "check the units (kelvin expected) and the decoding of the file (scale factors, fill "
        "values)"
    )


def check_brightness_temperatures(
    values: Any,
    channels: Sequence[str],
    *,
    variable: str = "Tc",
    context: str = "",
    where: str = "",
) -> None:
    """Raise unless the finite values of ``(..., C)`` brightness temperatures are in 20-350 K.

    Parameters
    ----------
    values : array-like (..., C)
        Brightness temperatures, channels last. NaN (missing) is fine.
    channels : sequence of str
        The ``C`` channel labels (for the message).
    variable : str
        Name of the variable (for the message).
    context : str
        Who checks (``"model 'drain'"``), at the start of the message.
    where : str
        Which part of the data was checked (e.g. one dask block), for the message.

    Raises
    ------
    InvalidDataError
        Finite values outside :data:`TB_RANGE_K`; the message names the variable, the
        channels, the number of pixels and the likely cause (Celsius, scaled integers,
        undecoded fill values, an all-zero field) with what to do about it.
    """
    values = np.asarray(values)
    if values.size == 0 or values.dtype.kind not in "fiu":
        return
    low, high = TB_RANGE_K
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(values)
        bad = finite & ((values < low) | (values > high))
    if not bad.any():
        return
    flat = bad.reshape(-1, values.shape[-1]) if values.ndim else bad.reshape(1, 1)
    per_channel = flat.sum(axis=0)
    n_pixels = int(flat.any(axis=1).sum())
    n_total = flat.shape[0]
    labels = (
        list(channels) if len(channels) == flat.shape[1] else [str(i) for i in range(flat.shape[1])]
    )
    named = ", ".join(f"{labels[i]} ({int(n)})" for i, n in enumerate(per_channel) if n)
    cause = _diagnose_tb(values[finite], values[bad])
    prefix = f"{context}: " if context else ""
    raise InvalidDataError(
        f"{prefix}variable {variable!r} does not hold brightness temperatures in kelvin: "
        f"{n_pixels} of {n_total} pixel(s){where} have values outside "
        f"{low:g}-{high:g} K (channels: {named}; values from {float(values[finite].min()):.6g} "
        f"to {float(values[finite].max()):.6g}). Likely cause: {cause}. NaN marks missing data "
        "and is fine."
    )


def _checked_block(
    block: np.ndarray,
    channels: tuple[str, ...],
    variable: str,
    context: str,
    dims: tuple[str, str],
    block_info: dict | None = None,
) -> np.ndarray:
    """Blockwise identity that raises :class:`InvalidDataError` on implausible values."""
    where = ""
    if block_info:
        location = block_info[0].get("array-location")
        if location:
            where = (
                f" in one dask block ({dims[0]} {location[0][0]}-{location[0][1] - 1}, "
                f"{dims[1]} {location[1][0]}-{location[1][1] - 1})"
            )
    check_brightness_temperatures(block, channels, variable=variable, context=context, where=where)
    return block


def _check_tb_lazy_or_now(
    da_in: xr.DataArray, channels: Sequence[str], *, variable: str, context: str
) -> xr.DataArray:
    """Check ``(rows, cols, C)`` brightness temperatures now (NumPy) or at compute (dask).

    In-memory data are checked at once (exact counts). Dask data get a blockwise identity step
    that checks each block when the graph runs: nothing is computed here and the graph stays
    lazy; ``.compute()`` raises the :class:`InvalidDataError`.
    """
    channels = tuple(str(c) for c in channels)
    if da_in.chunks is None:
        check_brightness_temperatures(da_in.values, channels, variable=variable, context=context)
        return da_in
    dims = (str(da_in.dims[0]), str(da_in.dims[1]))
    data = da_in.data.map_blocks(
        _checked_block,
        dtype=da_in.dtype,
        channels=channels,
        variable=variable,
        context=context,
        dims=dims,
        meta=np.empty((0,) * da_in.ndim, dtype=da_in.dtype),
    )
    return da_in.copy(data=data)


# ------------------------------------------------------------------------------------------
# eager reference
# ------------------------------------------------------------------------------------------


def predict_numpy(
    model: str | ModelSpec,
    array: np.ndarray,
    *,
    tile: Sequence[int] | int | None = None,
    batch_size: int = 4,
    device: Any = None,
    auxiliary: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Run a model on a whole in-memory image, without dask (the reference for tiling).

    Parameters
    ----------
    model : str or ModelSpec
        Registered model name.
    array : ndarray (rows, cols, C)
        Raw brightness temperatures (K) of the card's input channels, in the card's order.
    tile : int or (int, int), optional
        Run in aligned tiles of this core size (with the receptive margin around each);
        None: the whole image in one pass.
    batch_size : int
        Tiles per forward pass.
    device : str, optional
        Torch device; CUDA when available, else CPU.
    auxiliary : mapping, optional
        Extra per-pixel inputs of NumPy models (``surface_type``), shaped (rows, cols).

    Returns
    -------
    ndarray (rows, cols, n_out), float32
        The network outputs in the card's order (``surface_precip``, ``probability_of_precip``,
        quantiles ... for DRAIN). NaN where any input channel is NaN.
    """
    spec = models.card(model)
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[-1] != len(spec.input_channels):
        raise InvalidArgumentError(
            f"predict_numpy: model {spec.name!r} needs an array (rows, cols, "
            f"{len(spec.input_channels)}) of channels {list(spec.input_channels)}; got shape "
            f"{array.shape}"
        )
    if array.dtype.kind not in "fiu" or 0 in array.shape:
        raise InvalidArgumentError(
            f"predict_numpy: array must hold numbers (brightness temperatures in K) and at least "
            f"one pixel; got dtype {array.dtype}, shape {array.shape}"
        )
    check_brightness_temperatures(
        array, spec.input_channels, variable="array", context=f"model {spec.name!r}"
    )
    if spec.framework == "numpy":
        names = tuple(auxiliary or {})
        values = tuple(np.asarray(v) for v in (auxiliary or {}).values())
        return _predict_numpy_model(array, *values, name=spec.name, names=names)
    plan = _plan(spec, tile, batch_size, device, None)
    return _predict_swath(array, plan)


# ------------------------------------------------------------------------------------------
# public xarray entry point
# ------------------------------------------------------------------------------------------


def _check_chunks(chunks: Any, spatial: Sequence[Hashable]) -> dict[Hashable, Any]:
    """Validate a ``chunks`` mapping of spatial dims to sizes (int >= 1, -1, "auto" or a tuple)."""
    if not isinstance(chunks, Mapping):
        raise InvalidArgumentError(
            f"chunks must be None, 'auto' or a mapping of {list(map(str, spatial))} to block "
            f"sizes, not {type(chunks).__name__} {chunks!r}"
        )
    unknown = set(chunks) - set(spatial)
    if unknown:
        raise InvalidArgumentError(
            f"chunks names dims {sorted(map(str, unknown))} that are not spatial dims of "
            f"the input {spatial}"
        )
    for dim, size in chunks.items():
        sizes = list(size) if isinstance(size, (tuple, list)) else [size]
        ok = bool(sizes) and all(
            (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and (v >= 1 or v == -1))
            or v == "auto"
            or v is None
            for v in sizes
        )
        if not ok:
            raise InvalidArgumentError(
                f"chunks[{dim!r}]={size!r}: a block size must be a positive int (or -1 for the "
                "whole axis, or 'auto')"
            )
    return dict(chunks)


def _input_sensor(obj: xr.DataArray) -> str | None:
    """The sensor the data claims to come from (None if it does not say)."""
    declared = obj.attrs.get("xgpm_sensor")
    if declared:
        return str(declared)
    product = obj.attrs.get("gpm_api_product")
    if not product:
        return None
    from xgpm import sensors
    from xgpm.errors import UnknownProductError, UnknownSensorError

    try:
        return sensors.from_product(str(product)).name
    except (UnknownProductError, UnknownSensorError):
        return None


def check_inputs(obj: xr.DataArray, spec: ModelSpec, input_dim: str) -> None:
    """Refuse data from another sensor or lacking the model's channels.

    Raises
    ------
    MissingChannelsError
        Naming the missing channels (and pointing to ``ds.gpm.to_gmi()`` for other sensors).
    """
    if input_dim not in obj.dims:
        raise InvalidArgumentError(
            f"model {spec.name!r} reads channels along {input_dim!r}, which the input lacks "
            f"(dims: {list(obj.dims)}); pass input_dim=<the channel dimension>"
        )
    labels = (
        [str(v) for v in np.atleast_1d(obj[input_dim].values)] if input_dim in obj.coords else []
    )
    missing = [c for c in spec.input_channels if c not in labels]
    sensor = _input_sensor(obj)
    other_sensor = sensor is not None and not (
        sensor == spec.sensor or sensor.startswith(spec.sensor + "-")
    )
    if missing or other_sensor:
        convert = (
            f" The input is {sensor} data: convert it to pseudo-{spec.sensor} first with "
            f"ds.gpm.to_gmi(), then retrieve."
            if other_sensor
            else ""
        )
        needs = f"model {spec.name!r} needs the {spec.sensor} channels {list(spec.input_channels)}"
        if missing:
            message = f"{needs}; the input lacks {missing} (it has {labels})."
        else:
            message = (
                f"{needs}, measured by {spec.sensor}, not {sensor} (same labels, other channels)."
            )
        raise MissingChannelsError(message + convert)


def apply_model(
    obj: xr.DataArray,
    model: str | ModelSpec,
    *,
    input_dim: str = "pmw_frequency",
    output: str | Sequence[str] | None = None,
    tile: Sequence[int] | int | None = None,
    batch_size: int = 4,
    device: Any = None,
    chunks: Mapping[Hashable, int] | str | None = None,
    torch_threads: int | None = None,
    auxiliary: Mapping[str, xr.DataArray] | None = None,
    check_values: bool = True,
) -> xr.Dataset | xr.DataArray:
    """Apply a registered model to an xarray image, lazily and blockwise with dask.

    Parameters
    ----------
    obj : DataArray
        Brightness temperatures with two spatial dims (e.g. ``cross_track``, ``along_track``)
        and the channel dim ``input_dim`` labelled with the card's channel labels. NumPy- or
        dask-backed. The card's ``image_dims`` are read as (rows, columns) in that order,
        whatever the order of the input; the outputs keep the input's order.
    model : str or ModelSpec
        Registered model name (see :func:`xgpm.models.list`).
    input_dim : str
        The channel dimension.
    output : str or sequence of str, optional
        Output variables to return (card names); all by default. A single str returns a
        DataArray, otherwise a Dataset.
    tile : int or (int, int), optional
        Core size of the tiles run inside each block (bounds memory; each tile carries the
        receptive margin around it). None: whole blocks.
    batch_size : int
        Tiles per forward pass.
    device : str, optional
        Torch device; None picks CUDA when the task's machine has it, else CPU.
    chunks : mapping, "auto" or None
        Dask chunks of the spatial dims: None keeps the input's (NumPy input stays eager),
        "auto" lets :func:`auto_chunks` choose, a mapping rechunks (NumPy input becomes dask).
        Chunks smaller than the receptive margin are merged with a neighbour.
    torch_threads : int, optional
        Torch threads per block; default 1 when the graph has several blocks, else torch's.
    auxiliary : mapping of str to DataArray, optional
        Extra per-pixel inputs of NumPy models (``{"surface_type": ds.surface_type}``).
    check_values : bool
        Refuse brightness temperatures outside :data:`TB_RANGE_K` (at call time for NumPy
        input, at compute time for dask input: see the module docstring). False only when the
        caller has checked them already.

    Returns
    -------
    Dataset or DataArray
        The outputs on the input's spatial dims and coordinates (a multi-channel output gets its
        own dim, e.g. ``quantile``), float32, lazy when the input (or ``chunks``) is dask.

    Raises
    ------
    MissingChannelsError
        The input lacks channels of the card, or comes from another sensor.
    ModelNotFoundError
        Unknown model name (at call time), or no trained weights (when computed).
    InvalidDataError
        Brightness temperatures outside 20-350 K (Celsius, scaled integers, undecoded fill
        values ...): at call time for NumPy input, from ``.compute()`` for dask input.
    InvalidArgumentError
        Not a DataArray, an empty swath, bad ``chunks``, ``tile``, ``batch_size``,
        ``device`` or ``torch_threads``.
    """
    spec = models.card(model)
    if not isinstance(obj, xr.DataArray):
        hint = (
            "pick one scan mode's Dataset first (tree['S1'].ds) and pass its ds['Tc']"
            if type(obj).__name__ == "DataTree"
            else "pass ds['Tc']"
        )
        raise InvalidArgumentError(
            f"apply_model needs a DataArray of brightness temperatures, got {type(obj).__name__} "
            f"({hint})"
        )
    if not isinstance(input_dim, str):
        raise InvalidArgumentError(
            f"input_dim must be the name (str) of the channel dimension, got {input_dim!r}"
        )
    variable = str(obj.name) if obj.name is not None else "Tc"
    check_inputs(obj, spec, input_dim)
    input_order = [d for d in obj.dims if d != input_dim]
    if len(input_order) != 2:
        raise InvalidArgumentError(
            f"apply_model needs exactly two spatial dims besides {input_dim!r}; got {input_order}"
        )
    empty = [str(d) for d in input_order if obj.sizes[d] == 0]
    if empty:
        raise InvalidArgumentError(
            f"{variable!r} has no pixels: its dimension(s) {empty} have length 0 (an empty "
            "granule or selection?); select a non-empty part of the swath"
        )
    if obj.dtype.kind not in "fiu":
        raise InvalidArgumentError(
            f"{variable!r} has dtype {obj.dtype}; brightness temperatures must be numbers (K)"
        )
    # The model reads its card's image dims as (rows, columns), whatever the input's order.
    spatial = list(spec.image_dims) if set(spec.image_dims) == set(input_order) else input_order
    da_in = obj.sel({input_dim: list(spec.input_channels)}).transpose(*spatial, input_dim)
    da_in = da_in.astype(np.float32, copy=False)
    margin, _ = geometry(spec)
    if isinstance(chunks, str):
        if chunks != "auto":
            raise InvalidArgumentError(f"chunks must be None, 'auto' or a mapping, not {chunks!r}")
        rows, cols = auto_chunks(da_in.shape[:2], margin)
        da_in = da_in.chunk({spatial[0]: rows, spatial[1]: cols, input_dim: -1})
    elif chunks is not None:
        chunks = _check_chunks(chunks, spatial)
        da_in = da_in.chunk({**dict(chunks), input_dim: -1})
    lazy = da_in.chunks is not None
    if lazy and len(da_in.data.chunks[-1]) > 1:  # input_dim is last (transposed above)
        # models read every channel of a pixel at once (files store scan modes apart)
        da_in = da_in.chunk({input_dim: -1})
    if check_values:
        da_in = _check_tb_lazy_or_now(
            da_in, spec.input_channels, variable=variable, context=f"model {spec.name!r}"
        )

    plan = _plan(spec, tile, batch_size, device, torch_threads)  # validates them for all
    if spec.framework == "numpy":
        flat = _apply_numpy_model(da_in, spec, input_dim, auxiliary or {}, lazy)
    else:
        if lazy:
            flat = xr.apply_ufunc(
                functools.partial(_dask_torch, plan=plan),
                da_in,
                input_core_dims=[[input_dim]],
                output_core_dims=[[OUTPUT_DIM]],
                dask="allowed",
                keep_attrs=True,
            )
        else:
            flat = xr.apply_ufunc(
                _predict_swath,
                da_in,
                input_core_dims=[[input_dim]],
                output_core_dims=[[OUTPUT_DIM]],
                kwargs={"plan": plan},
                keep_attrs=True,
            )
    result = _split_outputs(flat, spec, output)
    return result.transpose(*input_order, ...)


def _apply_numpy_model(
    da_in: xr.DataArray,
    spec: ModelSpec,
    input_dim: str,
    auxiliary: Mapping[str, xr.DataArray],
    lazy: bool,
) -> xr.DataArray:
    names = tuple(auxiliary)
    aux = [a.astype(np.float64) for a in auxiliary.values()]
    if lazy:
        sizes = dict(zip(da_in.dims, da_in.data.chunks, strict=True))
        aux = [a.chunk({d: sizes.get(d, -1) for d in a.dims}) for a in aux]
    return xr.apply_ufunc(
        _predict_numpy_model,
        da_in,
        *aux,
        input_core_dims=[[input_dim]] + [[] for _ in aux],
        output_core_dims=[[OUTPUT_DIM]],
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {OUTPUT_DIM: spec.n_outputs}},
        kwargs={"name": spec.name, "names": names},
        keep_attrs=True,
    )


def _split_outputs(
    flat: xr.DataArray, spec: ModelSpec, output: str | Sequence[str] | None
) -> xr.Dataset | xr.DataArray:
    wanted = [output] if isinstance(output, str) else list(output or [o.name for o in spec.outputs])
    for name in wanted:
        spec.output(name)  # validates
    variables: dict[str, xr.DataArray] = {}
    position = 0
    for out in spec.outputs:
        part = flat.isel({OUTPUT_DIM: slice(position, position + out.size)})
        position += out.size
        if out.name not in wanted:
            continue
        if out.dim:
            part = part.rename({OUTPUT_DIM: out.dim}).assign_coords({out.dim: list(out.coords)})
        else:
            part = part.squeeze(OUTPUT_DIM, drop=True)
        part.attrs = {"units": out.units, **out.attrs}
        part.name = out.name
        variables[out.name] = part
    if isinstance(output, str):
        return variables[output]
    return xr.Dataset(variables)


# ------------------------------------------------------------------------------------------
# distributed
# ------------------------------------------------------------------------------------------


def model_preloader(
    names: str | Sequence[str], device: Any = None, torch_threads: int | None = 1
) -> Any:
    """A ``distributed`` WorkerPlugin that loads models when each worker starts.

    Parameters
    ----------
    names : str or sequence of str
        Registered model names.
    device : str, optional
        Torch device (CUDA when the worker has it, else CPU).
    torch_threads : int, optional
        Torch threads of the worker process (1 by default: the worker's threads already run
        one task per core).

    Examples
    --------
    >>> client.register_plugin(xgpm.inference.model_preloader("drain"))  # doctest: +SKIP
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class ModelPreloader(WorkerPlugin):
        name = "xgpm-model-preloader"

        def __init__(self, names: tuple[str, ...], device: Any, torch_threads: int | None):
            self.names = names
            self.device = device
            self.torch_threads = torch_threads

        def setup(self, worker: Any) -> None:
            if self.torch_threads is not None:
                with contextlib.suppress(ImportError):
                    import torch

                    torch.set_num_threads(self.torch_threads)
            for name in self.names:
                spec = models.card(name)
                models.load(name, None if spec.framework == "numpy" else self.device)

    names = (names,) if isinstance(names, str) else tuple(names)
    for name in names:
        models.card(name)  # fail early on unknown names
    return ModelPreloader(names, None if device is None else str(device), torch_threads)
