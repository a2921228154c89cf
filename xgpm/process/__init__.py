"""Distributed, resumable processing of granule archives into Zarr (``xgpm.process``).

``xgpm.process(source, store, ...)`` selects granules (product, sensor, time range) from a local
tree or an fsspec/S3 prefix, runs a pipeline (``to_gmi -> rainrate`` by default) on a
dask.distributed cluster and appends the results to a Zarr store, one group per sensor, with a
manifest that makes re-runs skip done work, and a lease (``STORE/_xgpm/lock.json``) that keeps
a second run off a store being written. See ``docs/process.md``.

The module itself is callable: ``xgpm.process(...)`` is :func:`xgpm.process.core.process`.
Nothing heavy (distributed, zarr, torch) is imported until a run starts.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from xgpm.process.core import ProcessSummary, open_store, process, run_granule
from xgpm.process.lock import StoreLease, read_lease
from xgpm.process.pipeline import Step, default_pipeline, describe_pipeline, resolve_pipeline
from xgpm.process.select import GranuleRef, select_granules
from xgpm.process.store import ArchiveStore, read_manifest

__all__ = [
    "ArchiveStore",
    "GranuleRef",
    "ProcessSummary",
    "Step",
    "default_pipeline",
    "describe_pipeline",
    "open_store",
    "process",
    "read_manifest",
    "resolve_pipeline",
    "run_granule",
    "read_lease",
    "select_granules",
    "StoreLease",
]


class _CallableModule(types.ModuleType):
    """Lets ``xgpm.process(...)`` call :func:`process` while ``xgpm.process.X`` stays a module."""

    def __call__(self, *args: Any, **kwargs: Any) -> ProcessSummary:
        return process(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
