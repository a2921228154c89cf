"""Checkpoints of to_gmi training runs, and the generator written into the model registry.

:func:`save_checkpoint` / :func:`load_checkpoint`: every network of a run (state dicts) and its
metadata as one JSON string, read back with ``torch.load(..., weights_only=True)`` so that a
crafted file cannot run code. :func:`save_generator`: the generator and its card
(``task: to_gmi``) into the registry, as ``xgpm.models.load`` reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from xgpm.errors import InvalidArgumentError
from xgpm.translate.networks import (
    DomainClassifier,
    FootprintInverse,
    PatchDiscriminator,
    TBGenerator,
)
from xgpm.translate.training import CycleGANResult

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint", "save_generator"]

#: Format of the files :func:`save_checkpoint` writes: 2 = state dicts (tensors) plus the
#: metadata as one JSON string, so that ``torch.load(..., weights_only=True)`` reads it all.
#: Format 1 (xgpm 0.1 before it) held the metadata as Python objects.
CHECKPOINT_FORMAT = 2


#: The metadata fields of a checkpoint (JSON in format 2, plain Python in format 1).
_CHECKPOINT_FIELDS = (
    "generator_config",
    "inverse_config",
    "source_channels",
    "target_channels",
    "normalisation",
    "history",
    "method",
    "drain_version",
    "selection",
)


_RESAVE = (
    "If you trust this file (a checkpoint written by an older xgpm), re-save it once with "
    "this version as the Notes of xgpm.translate.cyclegan.load_checkpoint show; otherwise "
    "do not use it"
)


_CHECKPOINT_REMEDY = (
    "Load only checkpoints written by xgpm.translate.cyclegan.save_checkpoint; if this one "
    "is damaged, save the run again"
)


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON-ready Python (str/int/float/bool/None, lists and str-keyed dicts).

    NumPy scalars and arrays and torch tensors become Python numbers and lists, tuples lists.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return _plain(value.item(), where)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return _plain(value.tolist(), where)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise InvalidArgumentError(
                    f"save_checkpoint: {where} has a key {key!r} of type {type(key).__name__}; "
                    "checkpoint metadata needs str keys"
                )
            out[str(key)] = _plain(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise InvalidArgumentError(
        f"save_checkpoint: {where} holds a {type(value).__name__} ({value!r:.80}); checkpoint "
        "metadata may hold only str, int, float, bool, None, lists and dicts of them"
    )


def save_checkpoint(result: CycleGANResult, path: str | Path) -> Path:
    """Write every network of a training run; :func:`load_checkpoint` reads it.

    The file (format :data:`CHECKPOINT_FORMAT`) holds the state dicts of the networks (tensors)
    and the run's metadata (generator and inverse configuration, channels, normalisation,
    history, method, DRAIN version, selection) as one JSON string, so that it loads with
    ``torch.load(..., weights_only=True)``: no Python object is pickled. It is written to a
    temporary file first and renamed, so an interrupted save leaves no damaged checkpoint.

    Parameters
    ----------
    result : CycleGANResult
        The run to save.
    path : path
        The file to write (``.pt``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InvalidArgumentError
        The metadata holds a value JSON cannot store (the message names the field).
    """
    import json
    import os

    path = Path(path)
    metadata = {
        "generator_config": result.generator.config,
        "inverse_config": result.inverse.config,
        "source_channels": list(result.source_channels),
        "target_channels": list(result.target_channels),
        "normalisation": result.normalisation,
        "history": result.history,
        "method": result.method,
        "drain_version": result.drain_version,
        "selection": result.selection,
    }
    state = {
        "xgpm_checkpoint": CHECKPOINT_FORMAT,
        "generator": result.generator.state_dict(),
        "inverse": result.inverse.state_dict(),
        "discriminators": {str(k): d.state_dict() for k, d in result.discriminators.items()},
        "metadata": json.dumps({k: _plain(v, k) for k, v in metadata.items()}),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _checkpoint_metadata(state: Any, path: Path) -> dict[str, Any]:
    """The metadata of a loaded checkpoint (format 2: its JSON; format 1: its plain fields)."""
    import json

    from xgpm.errors import CheckpointError

    if not isinstance(state, dict) or not {"generator", "inverse", "discriminators"} <= set(state):
        found = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"checkpoint {path} is not a to_gmi training checkpoint: it holds {found}, not the "
            "networks 'generator', 'inverse', 'discriminators' that save_checkpoint writes. "
            "Pass a file written by xgpm.translate.cyclegan.save_checkpoint"
        )
    version = state.get("xgpm_checkpoint", 1)
    if not isinstance(version, int) or version > CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} has format {version!r}, newer than this xgpm reads "
            f"({CHECKPOINT_FORMAT}): upgrade xgpm to load it"
        )
    if version >= 2:
        raw = state.get("metadata")
        try:
            metadata = json.loads(raw) if isinstance(raw, str) else None
        except json.JSONDecodeError as error:
            raise CheckpointError(
                f"checkpoint {path}: its metadata is not valid JSON ({error}); the file is "
                "damaged: save the run again with save_checkpoint"
            ) from error
        if not isinstance(metadata, dict):
            raise CheckpointError(
                f"checkpoint {path}: its 'metadata' must be a JSON object (a string in the "
                f"file), got {type(raw).__name__}; the file is damaged or foreign: save the "
                "run again with save_checkpoint"
            )
    else:  # format 1: the fields are in the checkpoint itself (plain, since weights_only read it)
        metadata = {key: state[key] for key in _CHECKPOINT_FIELDS if key in state}
    missing = [key for key in _CHECKPOINT_FIELDS if key not in metadata and key != "selection"]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} lacks the metadata {missing}; the file is damaged or was not "
            "written by save_checkpoint: save the run again with save_checkpoint"
        )
    expected = {
        "generator_config": dict,
        "inverse_config": dict,
        "source_channels": (list, tuple),
        "target_channels": (list, tuple),
        "normalisation": dict,
        "history": list,
        "method": str,
        "drain_version": (str, type(None)),
        "selection": (dict, type(None)),
    }
    for key, kind in expected.items():
        if not isinstance(metadata.get(key), kind):
            raise CheckpointError(
                f"checkpoint {path}: metadata {key!r} has the wrong type "
                f"({type(metadata.get(key)).__name__}); the file is damaged or foreign: save "
                "the run again with save_checkpoint"
            )
    return metadata


def load_checkpoint(path: str | Path) -> CycleGANResult:
    """Read a run written by :func:`save_checkpoint`.

    The file is read with ``torch.load(..., weights_only=True)``: only tensors and plain
    containers are rebuilt, so a crafted file cannot run code. Checkpoints of format 1 (older
    xgpm) load too when their metadata holds plain Python values only.

    Parameters
    ----------
    path : path
        The checkpoint (``.pt``).

    Returns
    -------
    CycleGANResult
        The networks in eval mode on the CPU and the run's metadata.

    Raises
    ------
    CheckpointError
        The file holds Python objects other than tensors and plain containers (refused before
        anything in it runs), is damaged, is not a checkpoint, or its weights do not fit the
        networks its metadata describes. The message names the file and says what to do.
    StorageError
        The file is missing, a folder or unreadable.

    Notes
    -----
    An older xgpm could store NumPy numbers in a checkpoint's metadata, which
    ``weights_only=True`` refuses. To convert such a file **that you trust** once, allow
    NumPy's scalar types for that one load and save it again::

        import numpy as np, torch
        from xgpm.translate import cyclegan

        numpy_scalars = [np.float64(0).__reduce__()[0], np.dtype]
        numpy_scalars += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32")]
        with torch.serialization.safe_globals(numpy_scalars):
            result = cyclegan.load_checkpoint("old.pt")
        cyclegan.save_checkpoint(result, "old.pt")  # format 2: loads without any allowance
    """
    from xgpm.errors import CheckpointError
    from xgpm.models import _read_torch

    path = Path(path)
    state = _read_torch(path, what="checkpoint", remedy=_CHECKPOINT_REMEDY, numpy_remedy=_RESAVE)
    metadata = _checkpoint_metadata(state, path)
    part = "generator"
    try:
        generator = TBGenerator(**metadata["generator_config"])
        generator.load_state_dict(state["generator"])
        part = "inverse"
        config = metadata["inverse_config"]
        kind = FootprintInverse if "blur_sigma" in config else TBGenerator
        inverse = kind(**config)
        inverse.load_state_dict(state["inverse"])
        discriminators: dict[str, nn.Module] = {}
        if not isinstance(state["discriminators"], dict):
            raise TypeError("'discriminators' must map names to state dicts")
        for key, weights in state["discriminators"].items():
            part = f"discriminator {key!r}"
            if key == "features":  # DANN's domain classifier on DRAIN features
                first = weights["net.0.weight"]  # (width, in_channels, 3, 3)
                module: nn.Module = DomainClassifier(int(first.shape[1]), int(first.shape[0]))
            else:
                channels = metadata["target_channels" if key == "gmi" else "source_channels"]
                module = PatchDiscriminator(len(channels))
            module.load_state_dict(weights)
            discriminators[key] = module.eval()
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        reason = " ".join(str(error).split())[:600]
        raise CheckpointError(
            f"checkpoint {path}: the {part} weights do not fit the network its metadata "
            f"describes ({type(error).__name__}: {reason}); the file is damaged or was edited: "
            "save the run again with save_checkpoint"
        ) from error
    try:
        return CycleGANResult(
            generator=generator.eval(),
            inverse=inverse.eval(),
            discriminators=discriminators,
            source_channels=tuple(str(c) for c in metadata["source_channels"]),
            target_channels=tuple(str(c) for c in metadata["target_channels"]),
            normalisation=metadata["normalisation"],
            history=metadata["history"],
            method=metadata["method"],
            drain_version=metadata["drain_version"],
            selection=metadata.get("selection"),
        )
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"checkpoint {path}: its metadata is inconsistent ({error}); save the run again "
            "with save_checkpoint"
        ) from error


def save_generator(
    name: str,
    result: CycleGANResult,
    *,
    method: str,
    source: str = "ssmis",
    training_data: str,
    command: str = "",
    metrics: Mapping[str, Any] | None = None,
    version: str = "0.1.0",
    directory: str | Path | None = None,
) -> Path:
    """Write ``result.generator`` and its card (``task: to_gmi``) into the model registry.

    Returns
    -------
    Path
        The card written.
    """
    from xgpm import models

    generator = result.generator
    kwargs = dict(generator.config)
    title = {"cyclegan_r": "CycleGAN_R", "redgan": "Red-GAN"}.get(method, method)
    document = {
        "name": name,
        "version": version,
        "task": "to_gmi",
        "method": method,
        "description": (
            f"{title} generator translating {source.upper()} brightness temperatures (densified "
            "to GMI sampling) into pseudo-GMI, as a bounded residual on the nearest channel "
            "(xgpm.translate.cyclegan)."
        ),
        "framework": "torch",
        "architecture": {"name": "xgpm.translate.cyclegan:TBGenerator", "kwargs": kwargs},
        "inputs": {
            "sensor": source.upper(),
            "sampling": "gmi",
            "channels": list(result.source_channels),
            "normalisation": result.normalisation,
        },
        "outputs": [
            {
                "name": "Tc",
                "units": "K",
                "dim": "pmw_frequency",
                "coords": list(result.target_channels),
                "long_name": "pseudo-GMI brightness temperature",
            }
        ],
        "receptive_margin": generator.receptive_margin,
        "divisibility": generator.divisibility,
        "training_data": training_data,
        "training": {
            "command": command,
            "steps": len(result.history),
            "minutes": round(result.history[-1]["seconds"] / 60.0, 2) if result.history else 0,
            "drain_version": result.drain_version,
        },
        "metrics": dict(metrics) if metrics else None,
    }
    models.register(document, module=generator, overwrite=True)
    try:
        return models.save(name, generator, base=name, directory=directory)
    finally:
        models.unregister(name)
