"""The ``ds.gpm`` / ``da.gpm`` accessors (and their always-available alias ``xgpm``).

The accessor holds no state beyond the object it wraps: each method resolves its arguments
and delegates to a plain function of xgpm's functional core, imported on first use.

GPM-API registers an accessor under the same name ``gpm``. Whichever library is imported
first, ``ds.gpm`` offers both: xgpm composes its accessor with GPM-API's (xgpm's methods
first, every other name delegated to GPM-API's accessor) and re-composes after GPM-API is
imported, without warnings. A GPM-API method that xgpm shadows stays reachable as
``ds.gpm.gpm_api.<name>``; ``ds.xgpm`` is xgpm alone.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import xarray as xr

__all__ = ["XGPMDatasetAccessor", "XGPMDataArrayAccessor", "shadowed_gpm_api_methods"]


class _Base:
    def __init__(self, obj: xr.Dataset | xr.DataArray):
        self._obj = obj

    # -- metadata ------------------------------------------------------------------------
    @property
    def sensor(self):
        """The :class:`xgpm.sensors.Sensor` of the data (from ``gpm_api_product``)."""
        from xgpm.channels import sensor_of

        return sensor_of(self._obj)

    @property
    def channels(self):
        """Registry channels of the ``pmw_frequency`` labels, in order."""
        from xgpm.channels import channels_of

        return channels_of(self._obj)

    # -- channels ------------------------------------------------------------------------
    def select_channels(
        self,
        channels: str | Sequence[str] | None = None,
        *,
        frequency: float | Sequence[float] | None = None,
        polarization: str | None = None,
        sensor: str | None = None,
    ):
        """Select channels by label or nearest frequency; see :func:`xgpm.channels.select_channels`."""  # noqa: E501
        from xgpm.channels import select_channels

        return select_channels(
            self._obj, channels, frequency=frequency, polarization=polarization, sensor=sensor
        )

    def pct(self, frequency: float = 89.0, *, variable: str = "Tc", sensor: str | None = None):
        """Polarisation-corrected temperature; see :func:`xgpm.channels.pct`."""
        from xgpm.channels import pct

        return pct(self._obj, frequency, variable=variable, sensor=sensor)

    # -- plots ---------------------------------------------------------------------------
    def plot_swath(self, variable: str | None = None, **kwargs: Any):
        """Plot a swath on lon/lat; see :func:`xgpm.plot.plot_swath`."""
        from xgpm.plot import plot_swath

        if isinstance(self._obj, xr.DataArray):
            if variable is not None:
                kwargs["channel"] = kwargs.get("channel", variable)
            return plot_swath(self._obj, **kwargs)
        return plot_swath(self._obj, variable, **kwargs)

    # -- domain adaptation -----------------------------------------------------------------
    def to_gmi(
        self,
        model: str = "cyclegan_r",
        channels: Sequence[str] | None = None,
        **kwargs: Any,
    ):
        """Pseudo-GMI brightness temperatures from any radiometer; see :func:`xgpm.to_gmi`."""
        from xgpm.translate import to_gmi

        return to_gmi(self._obj, model, channels, **kwargs)

    # -- retrieval -------------------------------------------------------------------------
    def rainrate(
        self,
        model: str = "drain",
        quantiles: Sequence[float] = (0.05, 0.5, 0.95),
        chunks: Any = None,
        **kwargs: Any,
    ):
        """Surface rain from GMI brightness temperatures; see :func:`xgpm.retrieve.rainrate`."""
        from xgpm.retrieve import rainrate

        return rainrate(self._obj, model, quantiles, chunks, **kwargs)

    # -- colocation ----------------------------------------------------------------------------
    def colocate(self, target, **kwargs: Any):
        """Put this object's variables onto ``target``'s pixels; see :func:`xgpm.colocate`."""
        from xgpm.colocation import colocate

        return colocate(self._obj, target, **kwargs)

    # -- verification ------------------------------------------------------------------------
    def score(self, reference=None, *, variable: str | None = None, **kwargs: Any):
        """Score this precipitation field against ``reference``; see :func:`xgpm.verify.score`.

        On a Dataset, ``variable`` picks the field (``"precipitation"`` by default when present,
        else the only data variable); a Dataset reference gives the variable of the same name.

        Without a reference, an IMERG Dataset gets its scores *predicted* by the learned scorer
        (``model="scorer"``), with its cluster and the cluster's label and spread; see
        :func:`xgpm.scoring.learned.score_without_reference`.
        """
        if reference is None:
            from xgpm.verify.learned.scorer import score_without_reference

            return score_without_reference(self._obj, **kwargs)
        from xgpm.verify import score

        forecast = _pick_field(self._obj, variable)
        if isinstance(reference, xr.Dataset):
            reference = _pick_field(reference, variable or forecast.name)
        return score(forecast, reference, **kwargs)

    def plot_compare(self, others, variable: str | None = None, **kwargs: Any):
        """Draw the object and ``others`` side by side on one colour scale.

        See :func:`xgpm.plot.plot_compare`. (A map of a grid or swath: :func:`xgpm.plot.plot_map`;
        ``ds.gpm.plot_map`` stays GPM-API's.)
        """
        from xgpm.plot import plot_compare

        if isinstance(others, (xr.Dataset, xr.DataArray)):
            others = [others]
        return plot_compare([self._obj, *others], variable, **kwargs)

    # -- I/O -------------------------------------------------------------------------------
    def write_granule(self, path: str, **kwargs: Any) -> str:
        """Write as a PPS HDF5 granule; see :func:`xgpm.write_granule`."""
        from xgpm.io.write import write_granule

        return write_granule(self._obj, path, **kwargs)


def _pick_field(obj: xr.Dataset | xr.DataArray, variable: str | None) -> xr.DataArray:
    from xgpm.errors import InvalidArgumentError

    if isinstance(obj, xr.DataArray):
        return obj
    if variable is None:
        if "precipitation" in obj.data_vars:
            variable = "precipitation"
        elif len(obj.data_vars) == 1:
            variable = next(iter(obj.data_vars))
        else:
            raise InvalidArgumentError(
                f"say which variable to score: variable=... (one of {list(obj.data_vars)})"
            )
    if variable not in obj.data_vars:
        raise InvalidArgumentError(
            f"variable {variable!r} is not in the dataset; variables: {list(obj.data_vars)}"
        )
    return obj[variable]


class XGPMDatasetAccessor(_Base):
    """xgpm's methods on ``xr.Dataset`` (``ds.xgpm``; also part of ``ds.gpm``)."""


class XGPMDataArrayAccessor(_Base):
    """xgpm's methods on ``xr.DataArray`` (``da.xgpm``; also part of ``da.gpm``)."""


# ----------------------------------------------------------------------------------------
# composition with GPM-API
# ----------------------------------------------------------------------------------------


# GPM-API's accessor class per xarray type, once GPM-API is imported. Looked up at call time,
# so an accessor created before `import gpm` sees GPM-API's methods afterwards too.
_GPM_API_CLASSES: dict[type, type | None] = {xr.Dataset: None, xr.DataArray: None}


def _composed(xgpm_cls: type, xr_type: type) -> type:
    """An accessor class with xgpm's methods first and GPM-API's for every other name."""

    class Composed(xgpm_cls):
        __doc__ = xgpm_cls.__doc__
        _xgpm_composed = True

        @property
        def _gpm_api_cls(self) -> type | None:
            return _GPM_API_CLASSES[xr_type]

        @property
        def gpm_api(self):
            """GPM-API's own accessor on this object (also for names xgpm shadows)."""
            if self._gpm_api_cls is None:
                raise AttributeError(
                    "GPM-API is not imported: `import gpm` first to use its methods"
                )
            cached = self.__dict__.get("_gpm_api_instance")
            if cached is None:
                cached = self._gpm_api_cls(self._obj)
                self.__dict__["_gpm_api_instance"] = cached
            return cached

        def __getattr__(self, name: str):
            if name.startswith("__") or self._gpm_api_cls is None:
                raise AttributeError(
                    f"{type(self._obj).__name__}.gpm has no attribute {name!r}"
                    + (
                        ""
                        if self._gpm_api_cls
                        else " (GPM-API's methods appear after `import gpm`)"
                    )
                )
            return getattr(self.gpm_api, name)

        def __dir__(self):
            names = set(super().__dir__())
            if self._gpm_api_cls is not None:
                names |= {n for n in dir(self._gpm_api_cls) if not n.startswith("_")}
            return sorted(names)

    Composed.__name__ = Composed.__qualname__ = f"Composed{xgpm_cls.__name__}"
    return Composed


def _existing_accessor(cls: type, name: str) -> type | None:
    accessor = cls.__dict__.get(name)
    return getattr(accessor, "_accessor", None)


_COMPOSED: dict[type, type] = {}


def _register() -> None:
    """(Re)register ``gpm`` (composed) and ``xgpm`` on Dataset and DataArray, silently."""
    from xarray.core.extensions import AccessorRegistrationWarning

    for cls, ours, register in (
        (xr.Dataset, XGPMDatasetAccessor, xr.register_dataset_accessor),
        (xr.DataArray, XGPMDataArrayAccessor, xr.register_dataarray_accessor),
    ):
        existing = _existing_accessor(cls, "gpm")
        if existing is not None and not getattr(existing, "_xgpm_composed", False):
            _GPM_API_CLASSES[cls] = existing  # GPM-API's (or another library's) accessor
        if existing is not None and getattr(existing, "_xgpm_composed", False):
            continue  # ours is in place and looks GPM-API up at call time
        composed = _COMPOSED.setdefault(cls, _composed(ours, cls))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AccessorRegistrationWarning)
            register("gpm")(composed)
            if "xgpm" not in cls.__dict__:
                register("xgpm")(ours)


def shadowed_gpm_api_methods() -> list[str]:
    """Names that both xgpm and GPM-API define: ``ds.gpm.<name>`` is xgpm's.

    GPM-API's version stays reachable as ``ds.gpm.gpm_api.<name>``.
    """
    gpm_api_cls = _GPM_API_CLASSES[xr.Dataset]
    if gpm_api_cls is None:
        return []
    ours = {n for n in dir(XGPMDatasetAccessor) if not n.startswith("_")}
    return sorted(ours & {n for n in dir(gpm_api_cls) if not n.startswith("_")})


class _GPMAPIImportHook(importlib.abc.MetaPathFinder):
    """Re-compose ``gpm`` right after GPM-API registers its own accessor (if imported later)."""

    _target = "gpm.accessor.methods"

    def find_spec(self, fullname, path, target=None):
        if fullname != self._target:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _ComposingLoader(spec.loader)
        return spec


class _ComposingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        from xarray.core.extensions import AccessorRegistrationWarning

        with warnings.catch_warnings():
            # GPM-API replacing our `gpm` is expected: we compose right below.
            warnings.simplefilter("ignore", AccessorRegistrationWarning)
            self._loader.exec_module(module)
        _register()

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _install_hook() -> None:
    if not any(isinstance(f, _GPMAPIImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _GPMAPIImportHook())


_install_hook()
_register()
