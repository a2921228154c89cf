"""Tiling for the inference engine: model geometry, blocks aligned to the pooling grid, dask.

The per-block work of :mod:`xgpm.models.inference` (see its docstring for how tiled output equals
whole-swath output): a model's ``(receptive_margin, divisibility)`` (:func:`geometry`), the
mirrored swath edges (:func:`boundary_padding`), the plan a dask task carries (the model name,
never the model), tiles and batches inside a block, torch threads and devices, and the dask
graph (``map_overlap`` with chunks merged to cover the margin, :func:`auto_chunks`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xgpm import models
from xgpm.errors import InvalidArgumentError
from xgpm.models import ModelSpec

#: Pixels per block aimed at by ``chunks="auto"`` (a full GMI orbit is 654 k pixels).
AUTO_BLOCK_PIXELS = 2_000_000


def _positive_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    """``value`` as an int >= 1 (None passes when ``allow_none``), else InvalidArgumentError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer() and value >= 1:
            return int(value)
        raise InvalidArgumentError(
            f"{name} must be a positive integer{' or None' if allow_none else ''}, got "
            f"{value!r} ({type(value).__name__})"
        )
    if value < 1:
        raise InvalidArgumentError(f"{name} must be >= 1, got {value}")
    return int(value)


def check_device(device: Any) -> str | None:
    """``device`` as a string torch understands (None: chosen where the task runs).

    Only the spelling is checked here: whether the machine that runs a task has that device is
    checked in the task (with dask.distributed it may not be this one).

    Raises
    ------
    InvalidArgumentError
        Not a torch device (``"gpu"``, ``5``...): the message lists valid spellings.
    """
    if device is None:
        return None
    import torch

    if isinstance(device, torch.device):
        return str(device)
    if not isinstance(device, str):
        raise InvalidArgumentError(
            f"device={device!r} must be a torch device string such as 'cpu', 'cuda' or "
            "'cuda:0' (or None: CUDA when the machine has it, else CPU)"
        )
    try:
        torch.device(device)
    except (RuntimeError, ValueError, TypeError) as error:
        raise InvalidArgumentError(
            f"device={device!r} is not a torch device: use 'cpu', 'cuda', 'cuda:0', 'mps' ... "
            "or None (CUDA when the machine has it, else CPU)"
        ) from error
    return device


def _check_device_here(device: str) -> None:
    """In a task: refuse a CUDA device the machine running it lacks (torch would assert)."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidArgumentError(
            f"device={device!r}: the machine running this task has no CUDA device (or its torch "
            "was built without CUDA); pass device=None to use CUDA only where it exists, or "
            "device='cpu'"
        )


# ------------------------------------------------------------------------------------------
# model geometry and the per-block work
# ------------------------------------------------------------------------------------------


def geometry(model: str | ModelSpec) -> tuple[int, int]:
    """``(receptive_margin, divisibility)`` of a model: from its card, else its architecture."""
    spec = models.card(model)
    if spec.framework == "numpy":
        return (spec.receptive_margin or 0), (spec.divisibility or 1)
    margin, divisibility = spec.receptive_margin, spec.divisibility
    if margin is None or divisibility is None:
        module = models.build(spec)  # untrained instance: only its geometry is read
        margin = module.receptive_margin if margin is None else margin
        divisibility = module.divisibility if divisibility is None else divisibility
    return int(margin), int(divisibility)


@dataclass(frozen=True)
class _Plan:
    """What a dask task needs (small, picklable): the model NAME, never the model."""

    name: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    n_outputs: int
    margin: int
    divisibility: int
    tile: tuple[int, int] | None
    batch_size: int
    device: str | None
    torch_threads: int | None
    boundary: int = 0


def boundary_padding(spec: ModelSpec) -> int:
    """Pixels of mirrored swath added beyond each swath edge before a torch model runs.

    A CNN trained on scenes from the inside of swaths has never seen its own zero padding near
    labelled pixels; at a swath edge that padding falls inside the receptive field and biases
    the output (DRAIN: ~1-2 mm/h of spurious rain along the edges). Mirroring the swath
    (``reflect``) beyond its edges keeps the network on swath-like input. The width is the
    card's ``boundary_padding`` or, by default, the receptive margin, rounded up to the
    network's divisibility so the pooling grid stays aligned. 0 disables it.
    """
    margin, divisibility = geometry(spec)
    width = spec.raw.get("boundary_padding", margin)
    width = int(width)
    if width < 0:
        raise InvalidArgumentError(f"model card {spec.name!r}: boundary_padding must be >= 0")
    return -(-width // divisibility) * divisibility


def _pad_edges(values: Any, width: tuple[int, int]) -> Any:
    """Mirror a (rows, cols, C) numpy or dask array beyond its row/column edges."""
    if not any(width):
        return values
    pad = [(width[0], width[0]), (width[1], width[1]), (0, 0)]
    if isinstance(values, np.ndarray):
        return np.pad(values, pad, mode="reflect")
    import dask.array as da

    return da.pad(values, pad, mode="reflect")


def _edge_widths(plan: _Plan, shape: Sequence[int]) -> tuple[int, int]:
    """Padding per axis; an axis too short to mirror that far gets the largest aligned width."""
    widths = []
    for n in shape[:2]:
        width = plan.boundary
        while width and width > n - 1:
            width -= plan.divisibility
        widths.append(max(width, 0))
    return widths[0], widths[1]


def _plan(
    spec: ModelSpec,
    tile: Sequence[int] | int | None,
    batch_size: int,
    device: Any,
    torch_threads: int | None,
) -> _Plan:
    margin, divisibility = geometry(spec)
    if tile is not None:
        given = tile
        try:
            sizes = [tile] if np.isscalar(tile) else list(tile)
            tile = tuple(_positive_int(t, "tile") for t in sizes)  # type: ignore[misc]
        except (TypeError, InvalidArgumentError):
            tile = ()
        if len(tile) == 1:
            tile = (tile[0], tile[0])
        if len(tile) != 2:
            raise InvalidArgumentError(
                f"tile must be one or two positive ints (core rows, columns), got {given!r}"
            )
    batch_size = _positive_int(batch_size, "batch_size")
    torch_threads = _positive_int(torch_threads, "torch_threads", allow_none=True)
    device = check_device(device)
    n_channels = len(spec.input_channels)
    return _Plan(
        name=spec.name,
        mean=spec.normalisation_mean or (0.0,) * n_channels,
        std=spec.normalisation_std or (1.0,) * n_channels,
        n_outputs=spec.n_outputs,
        margin=margin,
        divisibility=divisibility,
        tile=tile,
        batch_size=int(batch_size),
        device=None if device is None else str(device),
        torch_threads=torch_threads,
        boundary=boundary_padding(spec) if spec.framework == "torch" else 0,
    )


def _predict_swath(values: np.ndarray, plan: _Plan) -> np.ndarray:
    """Whole-swath (eager) prediction, the swath mirrored beyond its edges."""
    rows, cols = _edge_widths(plan, values.shape)
    out = _predict_torch_block(_pad_edges(values, (rows, cols)), plan)
    return out[rows : rows + values.shape[0], cols : cols + values.shape[1]]


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _tile_bounds(length: int, core: int, context: int) -> list[tuple[int, int, int, int]]:
    """Aligned (context_start, context_stop, core_start, core_stop) along one padded axis."""
    if core >= length:
        return [(0, length, 0, length)]
    bounds = []
    for start in range(0, length, core):
        stop = min(start + core, length)
        bounds.append((max(0, start - context), min(length, stop + context), start, stop))
    return bounds


def _forward(module: Any, x: np.ndarray, plan: _Plan, device: str) -> np.ndarray:
    """Run the network on an aligned, padded ``(C, H, W)`` image; returns ``(n_out, H, W)``."""
    import torch

    height, width = x.shape[1:]
    multiple = plan.divisibility
    if plan.tile is None:
        tiles = [((0, height, 0, height), (0, width, 0, width))]
    else:

        def aligned(n: int) -> int:
            return -(-n // multiple) * multiple

        context = aligned(plan.margin)
        tiles = [
            (rows, cols)
            for rows in _tile_bounds(height, aligned(plan.tile[0]), context)
            for cols in _tile_bounds(width, aligned(plan.tile[1]), context)
        ]
    out = np.empty((plan.n_outputs, height, width), dtype=np.float32)
    groups: dict[tuple[int, int], list] = {}
    for rows, cols in tiles:
        groups.setdefault((rows[1] - rows[0], cols[1] - cols[0]), []).append((rows, cols))
    with torch.inference_mode():
        for group in groups.values():
            for first in range(0, len(group), plan.batch_size):
                batch = group[first : first + plan.batch_size]
                stack = np.stack([x[:, r[0] : r[1], c[0] : c[1]] for r, c in batch])
                result = module(torch.from_numpy(stack).to(device)).float().cpu().numpy()
                for (r, c), tile_out in zip(batch, result, strict=True):
                    out[:, r[2] : r[3], c[2] : c[3]] = tile_out[
                        :, r[2] - r[0] : r[3] - r[0], c[2] - c[0] : c[3] - c[0]
                    ]
    return out


def _predict_torch_block(
    block: np.ndarray, plan: _Plan, origin: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Outputs ``(rows, cols, n_out)`` of one ``(rows, cols, C)`` block of raw TBs.

    ``origin`` is the swath position of the block's first pixel (for the pooling alignment).
    """
    import torch
    from torch.nn import functional as F

    device = models._resolve_device(plan.device)
    _check_device_here(device)
    module = models.load(plan.name, device)
    values = np.asarray(block, dtype=np.float32)
    invalid = np.isnan(values).any(axis=-1)
    mean = np.asarray(plan.mean, dtype=np.float32)
    std = np.asarray(plan.std, dtype=np.float32)
    x = np.nan_to_num((values - mean) / std, nan=0.0)  # NaN -> the channel mean
    x = np.ascontiguousarray(np.moveaxis(x, -1, 0))  # (C, rows, cols)
    multiple = plan.divisibility
    rows, cols = x.shape[1:]
    front = (origin[0] % multiple, origin[1] % multiple)
    back = ((-(front[0] + rows)) % multiple, (-(front[1] + cols)) % multiple)
    if any(front) or any(back):
        padded = F.pad(
            torch.from_numpy(x)[None], (front[1], back[1], front[0], back[0]), mode="replicate"
        )[0].numpy()
    else:
        padded = x
    with _torch_threads(plan.torch_threads):
        out = _forward(module, padded, plan, device)
    out = out[:, front[0] : front[0] + rows, front[1] : front[1] + cols]
    out = np.moveaxis(out, 0, -1)
    out[invalid] = np.nan
    return np.ascontiguousarray(out)


def _predict_numpy_model(block: np.ndarray, *auxiliary: np.ndarray, name: str, names: tuple):
    model = models.load(name, "cpu")  # numpy models live on the CPU (cache key)
    kwargs = dict(zip(names, auxiliary, strict=True))
    return np.asarray(model.predict(block, **kwargs), dtype=np.float32)


# ------------------------------------------------------------------------------------------
# dask
# ------------------------------------------------------------------------------------------


def _merge_small(chunks: tuple[int, ...], minimum: int) -> tuple[int, ...]:
    """Merge chunks so that each is >= ``minimum`` (or the axis is one chunk)."""
    if sum(chunks) <= minimum or len(chunks) == 1:
        return (sum(chunks),)
    merged: list[int] = []
    for size in chunks:
        if merged and merged[-1] < minimum:
            merged[-1] += size
        else:
            merged.append(size)
    if len(merged) > 1 and merged[-1] < minimum:
        last = merged.pop()
        merged[-1] += last
    return tuple(merged)


def _starts(chunks: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(s) for s in np.cumsum((0, *chunks[:-1])))


def _absorb(chunks: tuple[int, ...], width: int) -> tuple[int, ...]:
    """Chunks of an axis padded by ``width`` on both sides, the pads inside the end chunks."""
    if len(chunks) == 1:
        return (chunks[0] + 2 * width,)
    return (chunks[0] + width, *chunks[1:-1], chunks[-1] + width)


def _dask_torch(data: Any, plan: _Plan) -> Any:
    """Lazy ``(rows, cols, n_out)`` outputs of a dask ``(rows, cols, C)`` array."""
    import dask.array as da

    data = data.rechunk({2: -1})
    edge = _edge_widths(plan, data.shape)
    shape = data.shape[:2]
    blocks = data.chunks[:2]
    data = _pad_edges(data, edge)
    # the mirrored strips join the first and last blocks (da.pad makes them blocks of their own)
    data = data.rechunk(
        tuple(_absorb(c, w) for c, w in zip(blocks, edge, strict=True)) + (data.shape[2],)
    )
    margin = plan.margin
    chunks = tuple(_merge_small(c, margin) for c in data.chunks[:2])
    if chunks != data.chunks[:2]:
        data = data.rechunk(chunks + (data.shape[2],))
    depth = {axis: (margin if len(chunks[axis]) > 1 else 0) for axis in (0, 1)}
    depth[2] = 0
    starts = (_starts(chunks[0]), _starts(chunks[1]))
    if plan.torch_threads is None and data.npartitions > 1:
        # dask runs blocks in parallel already: one torch thread each, or threads multiply
        plan = dataclasses.replace(plan, torch_threads=1)

    def extended(axis: int) -> tuple[int, ...]:
        n = len(chunks[axis])
        return tuple(
            size + depth[axis] * ((i > 0) + (i < n - 1)) for i, size in enumerate(chunks[axis])
        )

    out = da.map_overlap(
        _overlap_block,
        data,
        depth=depth,
        boundary="none",
        trim=True,
        chunks=(extended(0), extended(1), (plan.n_outputs,)),
        dtype=np.float32,
        meta=np.empty((0, 0, 0), dtype=np.float32),  # never call the model on dummy input
        plan=plan,
        starts=starts,
        depth_by_axis=(depth[0], depth[1]),
    )
    return out[edge[0] : edge[0] + shape[0], edge[1] : edge[1] + shape[1]]


def _overlap_block(
    block: np.ndarray,
    plan: _Plan,
    starts: tuple[tuple[int, ...], tuple[int, ...]],
    depth_by_axis: tuple[int, int],
    block_info: dict | None = None,
) -> np.ndarray:
    """map_overlap task: locate the extended block in the swath, then predict it."""
    location = block_info[0]["chunk-location"] if block_info else (0, 0, 0)
    origin = tuple(
        starts[axis][location[axis]] - (depth_by_axis[axis] if location[axis] > 0 else 0)
        for axis in (0, 1)
    )
    return _predict_torch_block(block, plan, origin)


def auto_chunks(shape: Sequence[int], margin: int, n_workers: int | None = None) -> tuple[int, int]:
    """Block sizes for ``chunks="auto"``: rows whole, columns cut into equal parts.

    The number of parts is a multiple of the number of cores (so every core gets the same work)
    and large enough to keep blocks under :data:`AUTO_BLOCK_PIXELS`; blocks stay at least four
    receptive margins long so that the overlap stays a small overhead.
    """
    rows, cols = int(shape[0]), int(shape[1])
    cores = n_workers or os.cpu_count() or 1
    parts = max(1, -(-rows * cols // AUTO_BLOCK_PIXELS))
    parts = -(-parts // cores) * cores
    parts = max(1, min(parts, cols // max(4 * margin, 1)))
    return rows, -(-cols // parts)
