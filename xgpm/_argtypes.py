"""``argparse`` argument types shared by the ``xgpm`` sub-commands.

A floor below every sub-command module (``xgpm.simulate.cli``, ``xgpm.translate.train``,
``xgpm.translate.evaluate_cli`` ...), so that they need not import :mod:`xgpm.cli`, the command
that lists them. The messages name the value: ``expected a number > 0, got '-1'``.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = [
    "add_no_progress",
    "add_overwrite",
    "fraction",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "require_path",
]


def _number(text: str, kind: type, what: str) -> Any:
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    """``type=`` for an integer >= 1 (the message names the value)."""
    value = _number(text, int, "an integer >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """``type=`` for an integer >= 0."""
    value = _number(text, int, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """``type=`` for a finite number > 0."""
    value = _number(text, float, "a number > 0")
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """``type=`` for a finite number >= 0."""
    value = _number(text, float, "a number >= 0")
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    """``type=`` for a number in [0, 1]."""
    value = _number(text, float, "a number in [0, 1]")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


# ------------------------------------------------------------------------------------------
# argument blocks repeated across the sub-commands
# ------------------------------------------------------------------------------------------


def add_no_progress(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``: hide the progress bar (``args.no_progress``)."""
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_overwrite(parser: argparse.ArgumentParser, help: str = "replace an existing store") -> None:
    """``--overwrite`` (``args.overwrite``)."""
    parser.add_argument("--overwrite", action="store_true", help=help)


def require_path(value: Any, option: str, missing: str) -> None:
    """Refuse a local path that does not exist, before any work starts.

    Parameters
    ----------
    value : str or path
        The option's value; a URL (``s3://...``) is left for the reader to check.
    option : str
        The option, for the message (``"--input"``).
    missing : str
        What the message says after ``"{option} {value}: "``: what was expected, what to do.

    Raises
    ------
    StorageError
        ``value`` is a local path that does not exist.
    """
    from pathlib import Path

    if "://" not in str(value) and not Path(value).exists():
        from xgpm.errors import StorageError

        raise StorageError(f"{option} {value}: {missing}")
