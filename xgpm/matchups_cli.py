"""Old home of ``xgpm matchups``, now :mod:`xgpm.matchups.cli` (one release with a warning)."""

from __future__ import annotations

from xgpm._deprecated import moved_names

__getattr__ = moved_names(
    __name__,
    {"add_parser": "xgpm.matchups.cli", "run": "xgpm.matchups.cli", "_tile": "xgpm.matchups.cli"},
)
