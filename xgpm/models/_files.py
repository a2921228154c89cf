"""Reading model files safely: PyTorch weights (``weights_only``) and ``.npz`` arrays (no pickle).

Both raise xgpm's errors naming the file and what to do (:class:`~xgpm.errors.StorageError`,
:class:`~xgpm.errors.CheckpointError`); the registry (:mod:`xgpm.models`), the translation
checkpoints and the baselines read every weight file through them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xgpm.errors import CheckpointError, StorageError

_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _storage_error(path: Path, what: str, error: OSError) -> StorageError:
    """A :class:`StorageError` naming ``path`` for an ``OSError`` raised while opening it."""
    if isinstance(error, FileNotFoundError):
        problem = "does not exist; check the path"
    elif isinstance(error, IsADirectoryError):
        problem = "is a folder, not a file; pass the file itself"
    elif isinstance(error, PermissionError):
        problem = "cannot be read (permission denied); check its permissions"
    else:
        problem = f"cannot be read ({error.strerror or error})"
    return StorageError(f"{what} {path} {problem}")


def _read_torch(
    path: str | os.PathLike, *, what: str, remedy: str, numpy_remedy: str | None = None
) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with xgpm's errors.

    Only tensors and plain containers (dict, list, tuple, str, int, float, bool, None) are
    rebuilt: a pickle that would import or call anything else is refused before it runs.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file is, for the messages (``"checkpoint"``, ``"weights file"``).
    remedy : str
        What to do when the file is not what it should be (a sentence).
    numpy_remedy : str, optional
        What to do when the file holds NumPy objects (files of an older xgpm); default
        ``remedy``.

    Returns
    -------
    object
        What the file holds.

    Raises
    ------
    CheckpointError
        The file holds anything else than tensors and plain containers (refused unrun), or is
        damaged or not a PyTorch file.
    StorageError
        The file is missing, a folder or unreadable.
    """
    import pickle

    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        if error.filename is None and not isinstance(error, FileNotFoundError):
            raise CheckpointError(
                f"{what} {path} is damaged or not a PyTorch file ({error}). {remedy}"
            ) from error
        raise _storage_error(path, what, error) from error
    except pickle.UnpicklingError as error:
        refused = _REFUSED_GLOBAL.search(str(error))
        if refused is not None:
            name = refused.group(1)
            if name.split(".")[0] == "numpy":
                raise CheckpointError(
                    f"{what} {path} holds NumPy objects ({name}), which xgpm no longer loads "
                    f"from a PyTorch file (it was left unloaded). {numpy_remedy or remedy}"
                ) from error
            raise CheckpointError(
                f"{what} {path} holds Python code or objects, not only weights: its pickle "
                f"asks for {name}, which xgpm refuses (nothing in it was run). Do not use this "
                f"file unless you know who made it and why. {remedy}"
            ) from error
        raise CheckpointError(
            f"{what} {path} is not a PyTorch weights file xgpm can load safely (its pickle "
            f"holds more than tensors and plain containers, or it is damaged; nothing in it "
            f"was run). {remedy}"
        ) from error
    except Exception as error:  # a damaged pickle or zip fails in many ways (IndexError ...)
        reason = str(error).split(". ")[0].strip() or type(error).__name__
        raise CheckpointError(
            f"{what} {path} is damaged or not a PyTorch file ({reason}). {remedy}"
        ) from error


def _read_npz(
    path: str | os.PathLike, keys: Sequence[str], *, what: str, remedy: str
) -> dict[str, Any]:
    """Every array of an ``.npz`` file, read with ``allow_pickle=False``, with xgpm's errors.

    Parameters
    ----------
    path : path
        The ``.npz`` file.
    keys : sequence of str
        Arrays the file must hold.
    what : str
        What the file is, for the messages.
    remedy : str
        What to do when the file is not what it should be (a sentence).

    Returns
    -------
    dict
        ``name -> numpy.ndarray`` of every array in the file (read into memory).

    Raises
    ------
    CheckpointError
        The file holds object (pickled) arrays (refused unread), lacks one of ``keys``, or is
        damaged or not an ``.npz`` archive.
    StorageError
        The file is missing, a folder or unreadable.
    """
    import numpy as np

    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except OSError as error:
        if error.filename is None and not isinstance(error, FileNotFoundError):
            raise CheckpointError(
                f"{what} {path} is damaged or not a NumPy .npz archive ({error}). {remedy}"
            ) from error
        raise _storage_error(path, what, error) from error
    except Exception as error:  # pickled data (ValueError), empty (EOFError), bad zip ...
        raise CheckpointError(
            f"{what} {path} is not a NumPy .npz archive xgpm can load safely (it is damaged, "
            f"empty or holds pickled Python objects, which xgpm refuses; nothing in it was "
            f"run). {remedy}"
        ) from error
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise CheckpointError(
            f"{what} {path} holds a single array (.npy), not an .npz archive of named "
            f"arrays. {remedy}"
        )
    with loaded:
        missing = [key for key in keys if key not in loaded.files]
        if missing:
            raise CheckpointError(
                f"{what} {path} lacks the arrays {missing} (it holds {sorted(loaded.files)}): "
                f"it was not written by xgpm for this purpose. {remedy}"
            )
        arrays: dict[str, Any] = {}
        for key in loaded.files:
            try:
                arrays[key] = loaded[key]
            except ValueError as error:  # object arrays need pickle: refused
                raise CheckpointError(
                    f"{what} {path}: array {key!r} holds Python objects (a pickle), which "
                    f"xgpm refuses to load (nothing in it was run). {remedy}"
                ) from error
            except Exception as error:  # bad CRC, zlib errors, truncated members ...
                raise CheckpointError(
                    f"{what} {path}: array {key!r} is damaged ({error}). {remedy}"
                ) from error
    return arrays
