"""Old import paths of names that moved to another module: one release with a warning.

A module whose names moved keeps them importable through a module ``__getattr__`` (PEP 562)
made by :func:`moved_names`: the first use of an old path warns (``DeprecationWarning``, pointed
at the importing line) and returns the object from its new module, which is imported only then.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(module_name: str, moves: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving the names in ``moves`` (name -> new module).

    Parameters
    ----------
    module_name : str
        The old module (``__name__`` of the caller).
    moves : mapping
        Each moved name and the module that defines it now.
    """
    moves = dict(moves)

    def __getattr__(name: str) -> Any:
        new_module = moves.get(name)
        if new_module is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        warnings.warn(
            f"{module_name}.{name} has moved to {new_module}.{name}: import it from there "
            "(the old path goes in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_module), name)

    return __getattr__
