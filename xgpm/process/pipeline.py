"""Pipelines: a list of steps applied to each granule's Dataset on a worker.

A step is

- a string naming a method of the ``ds.xgpm`` accessor (``"rainrate"``, ``"to_gmi"``);
- a string ``"package.module:function"`` naming an importable function ``Dataset -> Dataset``
  (how the command line passes your own code);
- a ``(name, kwargs)`` tuple, ``name`` being one of the above;
- a callable ``Dataset -> Dataset`` (picklable by cloudpickle: module-level functions are best).

Steps are resolved on the client before any work starts, so a missing accessor method (e.g.
``to_gmi`` in an xgpm without it) is a clear :class:`~xgpm.errors.InvalidArgumentError`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = ["Step", "default_pipeline", "resolve_pipeline", "describe_pipeline"]

StepSpec = str | tuple[str, Mapping[str, Any]] | Callable[[xr.Dataset], xr.Dataset]

#: The sensor whose swaths the retrieval models take as they are.
REFERENCE_SENSOR = "GMI"


def default_pipeline(sensor: str) -> tuple[str, ...]:
    """``("rainrate",)`` for GMI, ``("to_gmi", "rainrate")`` for every other sensor."""
    return ("rainrate",) if sensor == REFERENCE_SENSOR else ("to_gmi", "rainrate")


@dataclass(frozen=True)
class Step:
    """A resolved, picklable pipeline step."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    function: Callable[..., Any] | None = None  # None: an accessor method called ``name``

    def __call__(self, ds: xr.Dataset) -> xr.Dataset:
        """Apply the step; a DataArray result becomes a one-variable Dataset."""
        if self.function is None:
            out = getattr(ds.xgpm, self.name)(**self.kwargs)
        else:
            out = self.function(ds, **self.kwargs)
        if isinstance(out, xr.DataArray):
            out = out.to_dataset(name=out.name or self.name)
        if not isinstance(out, xr.Dataset):
            raise InvalidArgumentError(
                f"pipeline step {self.describe()} returned {type(out).__name__}, not an xarray "
                "Dataset or DataArray"
            )
        return out

    def describe(self) -> str:
        """A stable text form (stored in the manifest to check a resumed run's pipeline)."""
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.kwargs.items()))
        return f"{self.name}({args})"


def _import_function(text: str) -> Callable[..., Any]:
    module_name, _, attr = text.partition(":")
    try:
        module = importlib.import_module(module_name)
        function = getattr(module, attr)
    except (ImportError, AttributeError) as err:
        raise InvalidArgumentError(
            f"pipeline step {text!r}: cannot import {attr!r} from {module_name!r} ({err}); "
            "give 'package.module:function' of an importable function"
        ) from err
    if not callable(function):
        raise InvalidArgumentError(f"pipeline step {text!r} is not callable")
    return function


def _resolve_step(spec: Any) -> Step:
    from xgpm.accessor import XGPMDatasetAccessor

    kwargs: Mapping[str, Any] = {}
    if isinstance(spec, tuple):
        if len(spec) != 2 or not isinstance(spec[1], Mapping):
            raise InvalidArgumentError(
                f"pipeline step {spec!r}: a tuple step must be (name, kwargs-dict)"
            )
        spec, kwargs = spec
    if isinstance(spec, str):
        if ":" in spec:
            return Step(spec, dict(kwargs), _import_function(spec))
        method = getattr(XGPMDatasetAccessor, spec, None)
        if spec.startswith("_") or not callable(method):
            public = sorted(
                n
                for n in dir(XGPMDatasetAccessor)
                if not n.startswith("_") and callable(getattr(XGPMDatasetAccessor, n))
            )
            raise InvalidArgumentError(
                f"pipeline step {spec!r} is not a method of the ds.xgpm accessor in this xgpm "
                f"(available: {', '.join(public)}); pass another step, a callable, or "
                "'package.module:function'"
            )
        return Step(spec, dict(kwargs))
    if callable(spec):
        name = f"{getattr(spec, '__module__', '?')}:{getattr(spec, '__qualname__', repr(spec))}"
        return Step(name, dict(kwargs), spec)
    raise InvalidArgumentError(
        f"pipeline step {spec!r} must be a method name, 'module:function', (name, kwargs) or a "
        "callable Dataset -> Dataset"
    )


def resolve_pipeline(pipeline: Sequence[StepSpec] | StepSpec | None, sensor: str) -> list[Step]:
    """Resolve ``pipeline`` (None: :func:`default_pipeline` of ``sensor``) into Steps.

    Raises
    ------
    InvalidArgumentError
        For a step that names no accessor method or importable function.
    """
    if pipeline is None:
        pipeline = default_pipeline(sensor)
    elif (
        isinstance(pipeline, str)
        or callable(pipeline)
        or isinstance(pipeline, tuple)
        and (len(pipeline) == 2 and isinstance(pipeline[1], Mapping))
    ):
        pipeline = [pipeline]
    elif not isinstance(pipeline, (list, tuple)):
        raise InvalidArgumentError(
            f"pipeline must be a list of steps (method names, (name, kwargs), 'module:function' "
            f"or callables), not {pipeline!r}"
        )
    return [_resolve_step(spec) for spec in pipeline]


def describe_pipeline(steps: Sequence[Step]) -> str:
    """``"to_gmi() -> rainrate(quantiles=(0.5,))"``."""
    return " -> ".join(step.describe() for step in steps) or "(identity)"
