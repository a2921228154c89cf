"""The ``xgpm`` command line: one sub-command per capability.

Each sub-command lives next to the code it drives and exposes ``add_parser(subparsers)`` and
``run(args)``; this module only lists them, so ``xgpm --help`` imports nothing heavy.

Every sub-command (and sub-sub-command) also takes the logging options ``-v/--verbose``
(repeatable: ``-v`` INFO messages and tracebacks, ``-vv`` DEBUG), ``-q/--quiet`` (errors only,
no progress bars) and ``--log-level LEVEL``, before or after its name. They configure the
``xgpm`` logger, which writes to stderr.

Errors end in one line on stderr, ``xgpm COMMAND: error: MESSAGE``, and an exit status:

- 0: success;
- 1: the run failed (:class:`~xgpm.errors.RunFailedError`, an I/O failure that is not about a
  path given on the command line, or an internal error: rerun with ``-v`` for the traceback);
- 2: a usage error: bad arguments, or any other :class:`~xgpm.errors.XGPMError` (a missing or
  unreadable file given on the command line, an unknown sensor ...);
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

from xgpm._argtypes import (  # noqa: F401  (re-exported: the types' old home)
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)

__all__ = [
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "add_parser",
    "build_parser",
    "configure_logging",
    "fraction",
    "main",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "run",
]

# sub-command -> module with add_parser(subparsers) and run(args)
COMMANDS: dict[str, str] = {
    "info": "xgpm.cli",
    "simulate": "xgpm.simulate.cli",
    "matchups": "xgpm.matchups.cli",
    "train": "xgpm.pipelines.cli",
    "demo": "xgpm.demo",
    "process": "xgpm.process.cli",
    "evaluate": "xgpm.translate.evaluate_cli",
}

#: Exit status of a run that started with valid arguments but could not finish.
EXIT_FAILED = 1
#: Exit status of a usage error (bad argument, bad input file).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LOG_FORMAT = "%(name)s: %(levelname)s: %(message)s"


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in _LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(_LOG_LEVELS)} (any case), got {text!r}"
        )
    return level


# ------------------------------------------------------------------------------------------
# the parser
# ------------------------------------------------------------------------------------------


class _ArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line: ``PROG: error: MESSAGE``.

    Sub-parsers created through ``add_subparsers`` are of this class too.
    """

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see PROG --help)`` on stderr and exit 2."""
        message = " ".join(message.split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add_info_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("info", help="describe a PPS granule (product, scan modes)")
    parser.add_argument("granule", help="path or URL of a PPS HDF5 granule")
    return parser


def _run_info(args: argparse.Namespace) -> int:
    import xgpm

    tree = xgpm.open_granule(args.granule, scan_mode="all")
    print(f"{tree.attrs['gpm_api_product']}  {tree.attrs.get('FileName', '')}")
    for mode, node in tree.children.items():
        ds = node.to_dataset()
        sizes = ", ".join(f"{k}={v}" for k, v in ds.sizes.items())
        print(f"  {mode}: {sizes}")
        if "pmw_frequency" in ds.coords:
            print(f"      channels: {' '.join(map(str, ds['pmw_frequency'].values))}")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:  # for COMMANDS["info"]
    """Register ``xgpm info``."""
    return _add_info_parser(subparsers)


def run(args: argparse.Namespace) -> int:  # for COMMANDS["info"]
    """Run ``xgpm info``."""
    return _run_info(args)


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    seen: set[int] = set()
    for action in parser._actions:  # noqa: SLF001 - argparse has no public view
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in action.choices.values():
                if id(sub) not in seen:  # aliases share a parser
                    seen.add(id(sub))
                    yield sub


def _add_logging_options(parser: argparse.ArgumentParser, depth: int = 0) -> None:
    """Add ``-v/--verbose``, ``-q/--quiet``, ``--log-level`` to ``parser`` and its sub-parsers.

    Each level of sub-command stores them under its own names (``_verbose_<depth>`` ...), so
    that ``xgpm -v train -v to-gmi ...`` counts every ``-v`` wherever it is written.
    """
    taken = set(parser._option_string_actions)  # noqa: SLF001
    group = parser.add_argument_group("logging")
    flags = {
        "verbose": (["-v", "--verbose"], {"action": "count", "default": 0}),
        "quiet": (["-q", "--quiet"], {"action": "store_true"}),
        "log_level": (["--log-level"], {"type": _log_level, "default": None}),
    }
    helps = {
        "verbose": "more messages (-v: INFO and tracebacks of errors, -vv: DEBUG)",
        "quiet": "only errors: no INFO or warning messages, no progress bars",
        "log_level": f"level of the 'xgpm' logger: {', '.join(_LOG_LEVELS)} (overrides -v/-q)",
    }
    for name, (options, kwargs) in flags.items():
        free = [option for option in options if option not in taken]
        if free:
            metavar = {"metavar": "LEVEL"} if name == "log_level" else {}
            group.add_argument(
                *free, dest=f"_{name}_{depth}", help=helps[name], **metavar, **kwargs
            )
    for sub in _subparsers(parser):
        _add_logging_options(sub, depth + 1)


#: help of options that several sub-commands share, for those that state none themselves
_SHARED_HELP = {
    "imerg_run": "IMERG run to write: FR (final), LR (late) or ER (early)",
    "kind": "matchups to build: GMI-DPR (retrieval training) or GMI-X (translation pairs)",
    "epochs": "passes over the training data",
    "batch_size": "samples per optimiser step",
    "learning_rate": "learning rate of the Adam optimiser",
    "tb_var": "brightness-temperature variable of the matchup store",
    "rain_var": "reference rain variable of the matchup store",
    "stage": "run only this stage of the pipeline (data, train, eval) or all of them",
    "seed": "random seed: the same seed gives the same result",
    "days_per_month": "simulated days per month of the training archive",
    "reconstruction_weight": "weight of the autoencoder's reconstruction loss",
    "method": "translation method to train",
    "source": "source sensor family whose swaths are translated",
    "regions": "simulated regions, comma-separated",
    "dates": "simulated training days, comma-separated (YYYY-MM-DD)",
    "tile": "training tile size in pixels (along-track, cross-track)",
    "max_tiles": "use at most this many training tiles",
    "device": "torch device (cpu, cuda, cuda:1 ...); default: cuda when available, else cpu",
    "no_progress": "no progress bars",
}


def _document_options(parser: argparse.ArgumentParser) -> None:
    """Give every option a help text and show its default, in ``parser`` and its sub-parsers."""
    for action in parser._actions:  # noqa: SLF001 - argparse has no public walk
        if not action.option_strings or action.dest.startswith("_") or action.help is not None:
            pass
        else:
            action.help = _SHARED_HELP.get(action.dest, action.dest.replace("_", " "))
        default = action.default
        shown = not (default is None or default is False or default == argparse.SUPPRESS)
        shown = shown and not (isinstance(default, (list, tuple, dict)) and not default)
        if (
            action.option_strings
            and shown
            and isinstance(action.help, str)
            and "default" not in action.help
            and not action.dest.startswith("_")
        ):
            action.help += " (default: %(default)s)"
    for sub in _subparsers(parser):
        _document_options(sub)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    from xgpm import __version__

    parser = _ArgumentParser(
        prog="xgpm",
        description="The GPM constellation as if every satellite carried GMI.",
        epilog="Exit status: 0 success, 1 failed run, 2 usage or input error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"xgpm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        module = importlib.import_module(module_name)
        sub = module.add_parser(subparsers)
        sub.set_defaults(_command_module=module_name)
    _add_logging_options(parser)
    _document_options(parser)
    return parser


# ------------------------------------------------------------------------------------------
# logging
# ------------------------------------------------------------------------------------------


def _logging_settings(args: argparse.Namespace) -> tuple[int, bool, str | None]:
    """(verbosity, quiet, log level) gathered from every level of sub-command."""
    verbose, quiet, level = 0, False, None
    for key, value in sorted(vars(args).items()):
        if key.startswith("_verbose_"):
            verbose += int(value or 0)
        elif key.startswith("_quiet_"):
            quiet = quiet or bool(value)
        elif key.startswith("_log_level_") and value is not None:
            level = value  # the deepest one given wins (sorted by depth)
    return verbose, quiet, level


def configure_logging(
    verbose: int = 0, quiet: bool = False, log_level: str | int | None = None
) -> logging.Handler:
    """Send the ``xgpm`` logger's records to stderr at the level the options ask for.

    Parameters
    ----------
    verbose : int
        Number of ``-v``: 1 INFO, 2 or more DEBUG.
    quiet : bool
        ``-q``: ERROR and above only.
    log_level : str or int, optional
        Explicit level (wins over ``verbose`` and ``quiet``).

    Returns
    -------
    logging.Handler
        The handler added (remove it with ``logging.getLogger("xgpm").removeHandler``).
    """
    level: int | str
    if log_level is not None:
        level = log_level.strip().upper() if isinstance(log_level, str) else int(log_level)
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    elif quiet:
        level = logging.ERROR
    else:
        level = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    logger = logging.getLogger("xgpm")
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _given_paths(args: argparse.Namespace) -> list[str]:
    """Every string argument of the command line (the candidates for a path the user gave)."""
    values: list[str] = []
    for key, value in vars(args).items():
        if key.startswith("_") or key == "command":
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        values += [v for v in items if isinstance(v, (str, os.PathLike))]
    return [os.fspath(v) for v in values if os.fspath(v)]


def _is_user_path(error: OSError, args: argparse.Namespace) -> bool:
    """Whether an ``OSError`` is about a path given on the command line (or inside one)."""
    given = _given_paths(args)
    names = [
        os.fsdecode(n)
        for n in (error.filename, error.filename2)
        if isinstance(n, (str, bytes, os.PathLike))
    ]
    if not names:  # some libraries put the path in the message only
        text = str(error)
        pathlike = [v for v in given if os.sep in v or "." in v or os.path.exists(v)]
        return any(len(v) > 2 and v in text for v in pathlike)
    for name in names:
        target = os.path.abspath(name)
        for value in given:
            root = os.path.abspath(value)
            if target == root or target.startswith(root.rstrip(os.sep) + os.sep):
                return True
    return False


def _os_message(error: OSError) -> str:
    if error.filename is None:
        return _one_line(error)
    reason = error.strerror or _one_line(error)
    hints = {
        FileNotFoundError: "check the path",
        IsADirectoryError: "pass a file, not a folder",
        NotADirectoryError: "a folder was expected",
        PermissionError: "check its permissions",
    }
    hint = next((h for kind, h in hints.items() if isinstance(error, kind)), "")
    return f"{error.filename}: {reason}" + (f"; {hint}" if hint else "")


def _report(prog: str, message: str, error: BaseException | None, verbose: int) -> None:
    if verbose and error is not None:
        import traceback

        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    print(f"{prog}: error: {message}", file=sys.stderr)


def _run_command(args: argparse.Namespace, prog: str, verbose: int) -> int:
    """Run the sub-command; every exception ends in one line and an exit status."""
    from xgpm.errors import RunFailedError, XGPMError

    try:
        module = importlib.import_module(args._command_module)
        return int(module.run(args) or 0)
    except KeyboardInterrupt as error:
        _report(prog, "interrupted", error, verbose)
        return EXIT_INTERRUPTED
    except XGPMError as error:
        _report(prog, _one_line(error), error, verbose)
        return EXIT_FAILED if isinstance(error, RunFailedError) else EXIT_USAGE
    except OSError as error:
        _report(prog, _os_message(error), error, verbose)
        return EXIT_USAGE if _is_user_path(error, args) else EXIT_FAILED
    except Exception as error:
        message = f"internal error: {type(error).__name__}: {_one_line(error)}"
        if not verbose:
            message += " (rerun with -v for the traceback)"
        _report(prog, message, error, verbose)
        return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``xgpm`` console script; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 failed run, 2 usage or input error, 130 interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, usage errors (already printed)
        if stop.code is None:
            return 0
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    if not getattr(args, "command", None):
        parser.print_help()
        return 1
    prog = f"xgpm {args.command}"
    verbose, quiet, level = _logging_settings(args)
    if quiet and not verbose and hasattr(args, "no_progress"):
        args.no_progress = True
    logger = logging.getLogger("xgpm")
    previous = logger.level
    handler = configure_logging(verbose, quiet, level)
    try:
        if quiet and not verbose:
            import warnings

            from xgpm.errors import XGPMWarning

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", XGPMWarning)
                return _run_command(args, prog, verbose)
        return _run_command(args, prog, verbose)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


if __name__ == "__main__":
    sys.exit(main())
