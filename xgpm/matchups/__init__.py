"""Matchup datasets for training: GMI with DPR rain on its footprints, GMI with other radiometers.

:mod:`~xgpm.matchups.core` makes the scenes (:func:`gmi_dpr_matchups`, :func:`coincident_scenes`,
:func:`add_labels`), :mod:`~xgpm.matchups.store` writes them to a Zarr store
(:func:`build_matchups`, :func:`find_granules`), :mod:`~xgpm.matchups.cli` is ``xgpm matchups``.
The names are resolved on first use (PEP 562), so ``xgpm --help`` (which imports
``xgpm.matchups.cli``) does not import the colocation.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module that defines it (``_pairs``: read by the tests)
_LAZY: dict[str, str] = {
    "INTENSITY_EDGES_MM_H": "xgpm.matchups.core",
    "PRECIP_TYPES": "xgpm.matchups.core",
    "RAIN_REGIMES": "xgpm.matchups.core",
    "SEASONS": "xgpm.matchups.core",
    "add_labels": "xgpm.matchups.core",
    "coincident_scenes": "xgpm.matchups.core",
    "gmi_dpr_matchups": "xgpm.matchups.core",
    "build_matchups": "xgpm.matchups.store",
    "find_granules": "xgpm.matchups.store",
    "_pairs": "xgpm.matchups.store",
}

__all__ = sorted(name for name in _LAZY if not name.startswith("_"))

if TYPE_CHECKING:  # pragma: no cover
    from xgpm.matchups.core import (  # noqa: F401
        INTENSITY_EDGES_MM_H,
        PRECIP_TYPES,
        RAIN_REGIMES,
        SEASONS,
        add_labels,
        coincident_scenes,
        gmi_dpr_matchups,
    )
    from xgpm.matchups.store import build_matchups, find_granules  # noqa: F401


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xgpm.matchups' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
