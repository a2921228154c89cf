"""The model registry: name -> architecture + weights + model card.

A model is described by a YAML **card** (``cards/<name>.yaml``) that names its architecture and
keyword arguments, its inputs (sensor, channel labels, per-channel normalisation), its outputs,
its tiling geometry (receptive margin, divisibility), the data it was trained on, its metrics and
version. Its **weights** (``weights/<name>.pt``, a PyTorch ``state_dict``; ``.npz`` for the
NumPy BRAIN database) sit next to the cards.

Cards and weights are looked up, in this order, in

1. models registered in memory with :func:`register` (tests, notebooks);
2. the directories of the ``XGPM_MODELS_DIR`` environment variable (``os.pathsep``-separated;
   set it with :func:`set_weights_dir`, which also makes dask workers started afterwards see
   it), each laid out as ``<dir>/cards/<name>.yaml`` + ``<dir>/weights/<name>.pt``;
3. the package itself (``xgpm/models/cards``, ``xgpm/models/weights``).

xgpm ships weights for ``drain``, ``drain-13ch``, ``brain``, the translation models
(``*-ssmis``) and the IMERG ``scorer``, all trained on simulated data only (docs/models/);
:func:`load` on a card without weights (your own) raises
:class:`~xgpm.errors.ModelNotFoundError` saying how to train them. Loaded models are cached per
process, keyed by (name, device), behind a lock, so a threaded dask computation loads each model
once; :func:`load_count` reports how many real
loads happened (used by the tests and by distributed workers through ``client.run``).

This module imports neither torch nor numba: they are imported when a model is loaded.
"""

from __future__ import annotations

import builtins
import copy
import difflib
import importlib
import inspect
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xgpm.errors import (
    CheckpointError,
    InvalidArgumentError,
    ModelNotFoundError,
    RegistryError,
)
from xgpm.models._files import _read_npz, _read_torch, _storage_error  # noqa: F401

__all__ = [
    "ModelSpec",
    "OutputSpec",
    "ARCHITECTURES",
    "ENV_VAR",
    "card",
    "clear_cache",
    "list",
    "list_models",
    "load",
    "load_count",
    "register",
    "save",
    "set_weights_dir",
    "unregister",
    "weights_dir",
    "build",
]

#: Environment variable holding extra registry directories (``os.pathsep``-separated).
ENV_VAR = "XGPM_MODELS_DIR"
_PACKAGE_DIR = Path(__file__).resolve().parent

#: Architecture name (as written in cards) -> ``"module:callable"``. A card may also give a
#: ``"module:callable"`` path directly.
ARCHITECTURES: dict[str, str] = {
    "drain_unet": "xgpm.models.unet:DrainUNet",
    "brain": "xgpm.models.brain:BrainRetrieval",
}
_FRAMEWORKS = ("torch", "numpy")
_TRAIN_HINT = (
    "no trained weights for this card: train them on GMI/DPR matchups with "
    "`xgpm train {name} --matchups ZARR` (or in Python: {python}), which writes "
    "{weights} and updates the card; or point XGPM_MODELS_DIR / xgpm.models.set_weights_dir() "
    "at a directory holding trained weights"
)
#: How to train a card's weights, by architecture (other cards say it in ``how_to_train``).
_PYTHON_HINT = {
    "drain_unet": "xgpm.models.unet.train_drain(...) then xgpm.models.save({name!r}, "
    "result.model, result.card_updates())",
    "brain": "xgpm.models.brain.BrainRetrieval(sigma).fit(tb, rain) then "
    "xgpm.models.save({name!r}, brain)",
}
_GENERIC_HINT = (
    "no trained weights for this card: train them as its card's `how_to_train` or "
    "`metrics.command` says (`xgpm train --help` lists the trainers), which writes {weights}; "
    "or point XGPM_MODELS_DIR / xgpm.models.set_weights_dir() at a directory holding them"
)


# ------------------------------------------------------------------------------------------
# cards
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputSpec:
    """One output variable of a model.

    Attributes
    ----------
    name : str
        Variable name (``surface_precip``).
    units : str
        Units (``mm/h``, ``1``, ``K``).
    dim : str or None
        Extra dimension of a multi-channel output (``quantile``), None for a single channel.
    coords : tuple
        Coordinate values along ``dim`` (the quantile probabilities).
    attrs : dict
        Any other card fields (``long_name``, ``threshold`` ...), copied to the output's attrs.
    """

    name: str
    units: str = ""
    dim: str | None = None
    coords: tuple = ()
    attrs: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def size(self) -> int:
        """Number of network output channels this variable takes."""
        return len(self.coords) if self.dim else 1


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model card: what the inference engine needs to run a model, and its provenance.

    Build one with :func:`card` (registered models) or :meth:`from_dict`. Small and picklable:
    dask tasks carry it (never the weights).

    Attributes
    ----------
    name, version, description : str
        Identity of the model.
    framework : {"torch", "numpy"}
        ``torch`` modules run image-wise (tiled, with overlap); ``numpy`` models (BRAIN) run
        pixel-wise through their ``predict`` method.
    architecture : str
        Key of :data:`ARCHITECTURES` or a ``"module:callable"`` path.
    architecture_kwargs : dict
        Keyword arguments of the architecture.
    sensor : str
        Sensor whose channels the model reads (``GMI``).
    input_channels : tuple of str
        Channel labels (``pmw_frequency`` values) in the order the model reads them.
    image_dims : (str, str)
        The dims read as image rows and columns (``inputs.dims`` in the card; default
        ``cross_track``, ``along_track``). A CNN is not symmetric under transposition, so data
        with these dims in another order is transposed for the model.
    normalisation_mean, normalisation_std : tuple of float or None
        Per-channel standardisation ``(Tb - mean) / std`` applied before a torch model.
    outputs : tuple of OutputSpec
        Output variables, in the order of the network's output channels.
    receptive_margin : int or None
        One-sided receptive margin in pixels (0 for pixel-wise models); None: computed from
        the architecture.
    divisibility : int or None
        Input sizes must be multiples of this (``2**depth`` for a U-Net); None: computed.
    training_data : str
        The data the weights were fitted on, stated plainly.
    metrics : dict or None
        Evaluation figures, filled in after training.
    weights : str or None
        File name in the registry's ``weights/`` directory (or an absolute path).
    source : str
        Where the card was read from.
    """

    name: str
    version: str
    framework: str
    architecture: str
    architecture_kwargs: dict[str, Any]
    sensor: str
    input_channels: tuple[str, ...]
    outputs: tuple[OutputSpec, ...]
    image_dims: tuple[str, str] = ("cross_track", "along_track")
    normalisation_mean: tuple[float, ...] | None = None
    normalisation_std: tuple[float, ...] | None = None
    receptive_margin: int | None = None
    divisibility: int | None = None
    training_data: str = ""
    metrics: dict[str, Any] | None = None
    weights: str | None = None
    description: str = ""
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_outputs(self) -> int:
        """Total number of network output channels."""
        return sum(o.size for o in self.outputs)

    def output(self, name: str) -> OutputSpec:
        """The output called ``name``."""
        for out in self.outputs:
            if out.name == name:
                return out
        raise InvalidArgumentError(
            f"model {self.name!r} has no output {name!r}; it has {[o.name for o in self.outputs]}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The card as a plain dict (what the YAML file holds)."""
        return copy.deepcopy(self.raw)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], source: str = "<dict>") -> ModelSpec:
        """Parse and validate a card.

        Raises
        ------
        RegistryError
            If a required field is missing or has the wrong type (the message names the card
            and the field).
        """
        raw = copy.deepcopy(dict(document))

        def fail(message: str) -> RegistryError:
            return RegistryError(f"model card {source}: {message}")

        for key in ("name", "architecture", "inputs", "outputs"):
            if key not in raw:
                raise fail(f"missing required field {key!r}")
        architecture = raw["architecture"]
        if isinstance(architecture, str):
            architecture = {"name": architecture}
        if not isinstance(architecture, Mapping) or "name" not in architecture:
            raise fail("'architecture' must be a name or {name: ..., kwargs: {...}}")
        framework = str(raw.get("framework", "torch"))
        if framework not in _FRAMEWORKS:
            raise fail(f"'framework' must be one of {_FRAMEWORKS}, got {framework!r}")
        inputs = raw["inputs"]
        if not isinstance(inputs, Mapping) or not inputs.get("channels"):
            raise fail("'inputs' must hold 'channels' (a list of channel labels) and 'sensor'")
        channels = tuple(str(c) for c in inputs["channels"])
        norm = inputs.get("normalisation") or {}
        mean = norm.get("mean")
        std = norm.get("std")
        if (mean is None) != (std is None):
            raise fail("'inputs.normalisation' needs both 'mean' and 'std'")
        if mean is not None:
            if len(mean) != len(channels) or len(std) != len(channels):
                raise fail(
                    f"'inputs.normalisation' mean/std need {len(channels)} values (one per "
                    f"channel), got {len(mean)} and {len(std)}"
                )
            if any(float(s) <= 0 for s in std):
                raise fail("'inputs.normalisation.std' values must be > 0")
        if framework == "torch" and mean is None:
            raise fail("a torch model needs 'inputs.normalisation' (mean and std per channel)")
        outputs = []
        raw_outputs = raw["outputs"]
        if not isinstance(raw_outputs, Sequence) or not raw_outputs:
            raise fail("'outputs' must be a non-empty list of {name, units, ...}")
        for item in raw_outputs:
            if not isinstance(item, Mapping) or "name" not in item:
                raise fail(f"each output needs a 'name', got {item!r}")
            extra = {k: v for k, v in item.items() if k not in ("name", "units", "dim", "coords")}
            dim = item.get("dim")
            coords = tuple(item.get("coords") or ())
            if dim and not coords:
                raise fail(f"output {item['name']!r} has dim {dim!r} but no 'coords'")
            outputs.append(
                OutputSpec(str(item["name"]), str(item.get("units", "")), dim, coords, extra)
            )
        image_dims = tuple(str(d) for d in inputs.get("dims") or ("cross_track", "along_track"))
        if len(image_dims) != 2:
            raise fail(f"'inputs.dims' must name two dims (rows, columns), got {image_dims}")
        margin = raw.get("receptive_margin")
        divisibility = raw.get("divisibility")
        return cls(
            name=str(raw["name"]),
            version=str(raw.get("version", "0")),
            framework=framework,
            architecture=str(architecture["name"]),
            architecture_kwargs=dict(architecture.get("kwargs") or {}),
            sensor=str(inputs.get("sensor", "GMI")),
            input_channels=channels,
            outputs=tuple(outputs),
            image_dims=image_dims,
            normalisation_mean=None if mean is None else tuple(float(v) for v in mean),
            normalisation_std=None if std is None else tuple(float(v) for v in std),
            receptive_margin=None if margin is None else int(margin),
            divisibility=None if divisibility is None else int(divisibility),
            training_data=str(raw.get("training_data", "")).strip(),
            metrics=raw.get("metrics"),
            weights=raw.get("weights"),
            description=str(raw.get("description", "")).strip(),
            source=source,
            raw=raw,
        )


# ------------------------------------------------------------------------------------------
# registry lookup
# ------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    spec: ModelSpec
    weights_path: Path | None  # None: in-memory state or untrained
    factory: Callable[..., Any] | None = None
    state: Any = None  # in-memory state_dict / fitted object


_MEMORY: dict[str, _Entry] = {}
_LOCK = threading.RLock()
_CACHE: dict[tuple[str, str], Any] = {}
_LOAD_COUNTS: Counter[str] = Counter()


def _registry_dirs() -> builtins.list[Path]:
    extra = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    return [*extra, _PACKAGE_DIR]


def _read_card(path: Path) -> ModelSpec:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RegistryError(f"model card {path} is not valid YAML: {error}") from error
    if not isinstance(document, Mapping):
        raise RegistryError(f"model card {path} must be a YAML mapping")
    spec = ModelSpec.from_dict(document, source=str(path))
    if spec.name != path.stem:
        raise RegistryError(f"model card {path} names the model {spec.name!r}: rename one")
    return spec


def _entry(name: str) -> _Entry:
    if not isinstance(name, str):
        raise InvalidArgumentError(f"a model name must be a str, got {type(name).__name__}")
    with _LOCK:
        if name in _MEMORY:
            return _MEMORY[name]
    for directory in _registry_dirs():
        path = directory / "cards" / f"{name}.yaml"
        if path.is_file():
            spec = _read_card(path)
            weights = None
            if spec.weights:
                weights = Path(spec.weights)
                if not weights.is_absolute():
                    weights = directory / "weights" / weights
            return _Entry(spec, weights)
    known = list_models()
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ModelNotFoundError(
        f"no model named {name!r} in the xgpm model registry.{hint} Known models: "
        f"{', '.join(known) or 'none'} (see xgpm.models.list())"
    )


def list_models(*, with_weights: bool = False) -> builtins.list[str]:
    """Names of the registered models, sorted.

    Parameters
    ----------
    with_weights : bool
        Only the models whose weights exist (that :func:`load` can load).

    Examples
    --------
    >>> import xgpm.models
    >>> "drain" in xgpm.models.list()
    True
    """
    names = set(_MEMORY)
    for directory in _registry_dirs():
        names |= {p.stem for p in (directory / "cards").glob("*.yaml")}
    names = sorted(names)
    if with_weights:
        names = [n for n in names if _has_weights(_entry(n))]
    return names


def _has_weights(entry: _Entry) -> bool:
    if entry.state is not None:
        return True
    if entry.weights_path is not None:
        return entry.weights_path.is_file()
    return entry.factory is not None  # registered untrained factory (tests)


def card(name: str | ModelSpec) -> ModelSpec:
    """The :class:`ModelSpec` (parsed card) of a registered model; a ModelSpec is returned as is.

    Raises
    ------
    ModelNotFoundError
        If no model has that name (the message suggests close names).
    """
    if isinstance(name, ModelSpec):
        return name
    return _entry(name).spec


def _architecture(spec: ModelSpec) -> Callable[..., Any]:
    """The class a card's architecture names.

    A card read from a file is data someone else may have written: it may name only xgpm's own
    architectures (a name in :data:`ARCHITECTURES` or an ``xgpm....:Class`` path), never a
    function, and never another module (importing one runs its code). Cards registered from
    Python (:func:`register`) may name any ``module:callable``: that code is the caller's own.
    """
    target = ARCHITECTURES.get(spec.architecture, spec.architecture)
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise RegistryError(
            f"model card {spec.source}: unknown architecture {spec.architecture!r}; use one of "
            f"{sorted(ARCHITECTURES)} or a 'module:callable' path"
        )
    from_file = not spec.source.startswith("<")
    own = module_name == "xgpm" or module_name.startswith("xgpm.")
    if from_file and not own:
        raise RegistryError(
            f"model card {spec.source}: architecture {target!r} is outside xgpm; a card read "
            f"from a file may name only xgpm's architectures ({', '.join(sorted(ARCHITECTURES))} "
            "or an 'xgpm.<module>:<Class>' path), so that a card cannot run code. Register "
            "other architectures from Python: xgpm.models.register(card, factory=YourClass)"
        )
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise RegistryError(
            f"model card {spec.source}: cannot import architecture {target!r}: {error}"
        ) from error
    if from_file and not inspect.isclass(factory):
        raise RegistryError(
            f"model card {spec.source}: architecture {target!r} is not a model class; a card "
            "read from a file may name only a class of xgpm's"
        )
    return factory


def build(name: str | ModelSpec) -> Any:
    """A fresh, untrained instance of a model's architecture (no weights loaded)."""
    spec = card(name)
    entry = _MEMORY.get(spec.name)
    factory = entry.factory if entry is not None and entry.factory is not None else None
    if factory is None:
        factory = _architecture(spec)
    return factory(**spec.architecture_kwargs)


# ------------------------------------------------------------------------------------------
# loading (cached per process)
# ------------------------------------------------------------------------------------------


def _resolve_device(device: Any) -> str:
    if device is not None:
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _check_geometry(spec: ModelSpec, module: Any) -> None:
    """The card's tiling geometry must cover the architecture's (or tiling would be wrong)."""
    margin = getattr(module, "receptive_margin", None)
    if margin is not None and spec.receptive_margin is not None and spec.receptive_margin < margin:
        raise RegistryError(
            f"model card {spec.source}: receptive_margin {spec.receptive_margin} is smaller than "
            f"the architecture's {margin}: tiled inference would differ from whole-swath "
            "inference; fix the card"
        )
    divisibility = getattr(module, "divisibility", None)
    if divisibility and spec.divisibility and spec.divisibility % divisibility:
        raise RegistryError(
            f"model card {spec.source}: divisibility {spec.divisibility} is not a multiple of "
            f"the architecture's {divisibility}; fix the card"
        )


#: Where the weights-only unpickler names the global it refused (``GLOBAL posix.system``).
def _load_state_dict(module: Any, state: Any, path: Path, spec: ModelSpec) -> None:
    """``module.load_state_dict(state)``: a wrong file raises :class:`CheckpointError`."""
    remedy = (
        f"Its card {spec.source} describes another network than the file holds: use the "
        "weights written with this card (xgpm.models.save writes both), or fix the card"
    )
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(
            f"weights file {path} of model {spec.name!r} does not hold a state_dict "
            f"(a mapping of parameter names to tensors) but a {type(state).__name__}; save "
            "one with torch.save(module.state_dict(), path) or xgpm.models.save"
        )
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, ValueError) as error:
        first = " ".join(str(error).split())
        raise CheckpointError(
            f"weights file {path} does not fit model {spec.name!r}: {first[:600]}. {remedy}"
        ) from error


def _load_uncached(spec: ModelSpec, entry: _Entry, device: str) -> Any:
    if spec.framework == "numpy":
        if entry.state is not None:
            return entry.state
        if entry.weights_path is None or not entry.weights_path.is_file():
            if entry.factory is not None:
                return entry.factory(**spec.architecture_kwargs)
            raise _missing_weights(spec, entry)
        model_class = _architecture(spec)
        return model_class.load(entry.weights_path)

    has_file = entry.weights_path is not None and entry.weights_path.is_file()
    if entry.state is None and not has_file and entry.factory is None:
        raise _missing_weights(spec, entry)
    module = build(spec)
    if entry.state is not None:
        module.load_state_dict(entry.state)
    elif has_file:
        state = _read_torch(
            entry.weights_path,
            what=f"model {spec.name!r}: weights file",
            remedy=(
                "Use weights written by xgpm.models.save (a state_dict of tensors), or "
                "retrain them (xgpm train --help)"
            ),
        )
        _load_state_dict(module, state, entry.weights_path, spec)
    _check_geometry(spec, module)
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module.to(device)


def _missing_weights(spec: ModelSpec, entry: _Entry) -> ModelNotFoundError:
    where = entry.weights_path or f"xgpm/models/weights/{spec.name}.pt"
    head = f"model {spec.name!r} has a card but no trained weights ({where} does not exist). "
    if spec.raw.get("how_to_train"):
        return ModelNotFoundError(head + f"Train them: {spec.raw['how_to_train']}")
    if spec.architecture in _PYTHON_HINT:
        python = _PYTHON_HINT[spec.architecture].format(name=spec.name)
        return ModelNotFoundError(
            head + _TRAIN_HINT.format(name=spec.name, python=python, weights=where)
        )
    return ModelNotFoundError(head + _GENERIC_HINT.format(weights=where))


def load(name: str | ModelSpec, device: Any = None) -> Any:
    """The model ``name``, ready for inference, loaded once per process and device.

    Parameters
    ----------
    name : str or ModelSpec
        Registered model name.
    device : str or torch.device, optional
        Torch device; ``"cuda"`` when available, else ``"cpu"``. Ignored by NumPy models.

    Returns
    -------
    torch.nn.Module or object
        A torch module in eval mode with gradients off (torch models), or the fitted NumPy
        model (BRAIN). The same object is returned on every call (cached); do not modify it.

    Raises
    ------
    ModelNotFoundError
        Unknown name, or a card without trained weights (the message says how to train).
    """
    if isinstance(name, str) and device is not None:
        # a dask task's call (name and resolved device): no card lookup (a file card is parsed
        # on each lookup) once this process holds the model
        cached = _CACHE.get((name, str(device)))
        if cached is not None:
            return cached
    spec = card(name)
    key_device = "cpu" if spec.framework == "numpy" else _resolve_device(device)
    key = (spec.name, key_device)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    with _LOCK:  # one load per process even when many dask threads ask at once
        cached = _CACHE.get(key)
        if cached is None:
            cached = _load_uncached(spec, _entry(spec.name), key_device)
            _CACHE[key] = cached
            _LOAD_COUNTS[spec.name] += 1
    return cached


def load_count(name: str | None = None) -> int:
    """How many times this process really loaded ``name`` (all models if None) from storage."""
    if name is None:
        return sum(_LOAD_COUNTS.values())
    return _LOAD_COUNTS[name]


def clear_cache() -> None:
    """Forget the loaded models and the load counts of this process."""
    with _LOCK:
        _CACHE.clear()
        _LOAD_COUNTS.clear()


# ------------------------------------------------------------------------------------------
# registering and saving
# ------------------------------------------------------------------------------------------


def register(
    card: Mapping[str, Any] | ModelSpec,
    factory: Callable[..., Any] | None = None,
    *,
    module: Any = None,
    overwrite: bool = False,
) -> ModelSpec:
    """Register a model in this process's memory (tests, notebooks).

    Parameters
    ----------
    card : mapping or ModelSpec
        The model card (same fields as the YAML cards).
    factory : callable, optional
        Builds the module from ``card['architecture']['kwargs']`` (defaults to the card's
        architecture). Without ``module``, :func:`load` returns a freshly built (untrained)
        module, for tests of the machinery.
    module : torch.nn.Module or NumPy model, optional
        Weights to use (its ``state_dict`` is copied; a NumPy model is used as is).
    overwrite : bool
        Replace a model registered in memory under the same name.

    Returns
    -------
    ModelSpec

    Notes
    -----
    Memory registrations are invisible to other processes (dask ``processes=True`` workers):
    use :func:`set_weights_dir` and :func:`save` for those.
    """
    spec = card if isinstance(card, ModelSpec) else ModelSpec.from_dict(card, "<register>")
    with _LOCK:
        if spec.name in _MEMORY and not overwrite:
            raise InvalidArgumentError(
                f"a model named {spec.name!r} is already registered in memory; pass "
                "overwrite=True or unregister() it first"
            )
        state = None
        if module is not None:
            if spec.framework == "torch":
                state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            else:
                state = module
        _MEMORY[spec.name] = _Entry(spec, None, factory, state)
        _forget(spec.name)
    return spec


def unregister(name: str) -> None:
    """Remove a model registered with :func:`register` (no error if absent)."""
    with _LOCK:
        _MEMORY.pop(name, None)
        _forget(name)


def _forget(name: str) -> None:
    for key in [k for k in _CACHE if k[0] == name]:
        del _CACHE[key]


def set_weights_dir(path: str | os.PathLike | None) -> str | None:
    """Put a registry directory first in the search path (``None`` removes the override).

    Sets the ``XGPM_MODELS_DIR`` environment variable, so dask worker processes started
    afterwards see the same registry, and clears the model cache.

    Returns
    -------
    str or None
        The previous value of ``XGPM_MODELS_DIR`` (pass it back to restore).
    """
    previous = os.environ.get(ENV_VAR)
    if path is None:
        os.environ.pop(ENV_VAR, None)
    else:
        os.environ[ENV_VAR] = os.fspath(path)
    with _LOCK:
        _CACHE.clear()
    return previous


def weights_dir() -> Path:
    """Directory :func:`save` writes to: the first ``XGPM_MODELS_DIR`` entry, else the package."""
    return _registry_dirs()[0]


def _merge(base: dict[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in updates.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def save(
    name: str,
    module: Any,
    card_updates: Mapping[str, Any] | None = None,
    *,
    base: str | None = None,
    directory: str | os.PathLike | None = None,
) -> Path:
    """Save a model's weights and card so that :func:`load` finds them.

    Parameters
    ----------
    name : str
        Model name (file names ``cards/<name>.yaml`` and ``weights/<name>.pt``/``.npz``).
    module : torch.nn.Module or NumPy model
        The trained model (a torch ``state_dict`` is saved; a NumPy model saves itself).
    card_updates : mapping, optional
        Fields merged (recursively) into the card: normalisation, training data, metrics,
        version ...
    base : str, optional
        Card to start from (default: ``name``'s existing card). Needed for a new name.
    directory : path, optional
        Registry directory (default :func:`weights_dir`).

    Returns
    -------
    Path
        The card file written.
    """
    base_spec = card(base if base is not None else name)
    document = _merge(base_spec.to_dict(), card_updates or {})
    document["name"] = name
    target = Path(directory) if directory is not None else weights_dir()
    (target / "cards").mkdir(parents=True, exist_ok=True)
    (target / "weights").mkdir(parents=True, exist_ok=True)
    spec = ModelSpec.from_dict(document, source=f"<save {name}>")  # validate before writing
    if spec.framework == "torch":
        import torch

        document["weights"] = f"{name}.pt"
        state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
        torch.save(state, target / "weights" / document["weights"])
    else:
        document["weights"] = f"{name}.npz"
        module.save(target / "weights" / document["weights"])
    card_path = target / "cards" / f"{name}.yaml"
    card_path.write_text(yaml.safe_dump(document, sort_keys=False))
    with _LOCK:
        _forget(name)
    return card_path


#: ``xgpm.models.list()`` (named like the built-in on purpose; ``list_models`` is the same).
list = list_models  # noqa: A001
