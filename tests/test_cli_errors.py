"""``xgpm`` ends every error in one line on stderr and an exit status; logging options.

Exit statuses: 0 success, 1 failed run (``RunFailedError``, internal errors, I/O failures not
about a path given on the command line), 2 usage or input errors, 130 Ctrl-C. Tracebacks only
with ``-v``.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from xgpm import cli
from xgpm.errors import DataQualityWarning, InvalidArgumentError, RunFailedError


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _one_error_line(capsys, prog: str) -> str:
    """The single stderr line of a failed command (asserts there is exactly one).

    ``prog`` may be followed by sub-command names (``xgpm train drain: error: ...``).
    """
    err = capsys.readouterr().err
    lines = _lines(err)
    assert len(lines) == 1, err
    assert re.match(rf"{re.escape(prog)}( [\w-]+)*: error: ", lines[0]), err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------------------------------
# xgpm info: bad paths
# ------------------------------------------------------------------------------------------


def test_info_on_a_missing_file(tmp_path, capsys):
    missing = tmp_path / "missing.HDF5"
    assert cli.main(["info", str(missing)]) == 2
    assert "missing.HDF5" in _one_error_line(capsys, "xgpm info")


def test_info_on_a_directory(tmp_path, capsys):
    assert cli.main(["info", str(tmp_path)]) == 2
    assert str(tmp_path) in _one_error_line(capsys, "xgpm info")


def test_info_on_a_file_that_is_not_hdf5(tmp_path, capsys):
    text = tmp_path / "page.HDF5"
    text.write_text("<html>404 not found</html>\n")
    assert cli.main(["info", str(text)]) == 2
    assert "page.HDF5" in _one_error_line(capsys, "xgpm info")


def test_info_on_a_real_granule_still_works_quietly(gmi_path, capsys):
    assert cli.main(["-q", "info", str(gmi_path)]) == 0
    captured = capsys.readouterr()
    assert "1C-GMI" in captured.out and "error" not in captured.err


# ------------------------------------------------------------------------------------------
# verbosity
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_the_traceback_then_the_one_line(tmp_path, capsys, where):
    missing = str(tmp_path / "missing.HDF5")
    argv = ["-v", "info", missing] if where == "before" else ["info", missing, "--verbose"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert _lines(err)[-1].startswith("xgpm info: error: ") and "missing.HDF5" in err


def _chatty_run(args):
    """A sub-command that logs at every level and warns."""
    log = logging.getLogger("xgpm.test_cli")
    log.debug("debug-message")
    log.info("info-message")
    log.warning("warning-message")
    warnings.warn("data-quality-message", DataQualityWarning, stacklevel=1)
    print("output")
    return 0


@pytest.mark.parametrize(
    ("argv", "shown", "hidden"),
    [
        ([], ["warning-message", "data-quality-message"], ["info-message", "debug-message"]),
        (["-v"], ["info-message", "warning-message"], ["debug-message"]),
        (["-vv"], ["debug-message", "info-message"], []),
        (["-q"], [], ["warning-message", "data-quality-message", "info-message"]),
        (["--log-level", "debug"], ["debug-message"], []),
        (["--log-level", "ERROR"], [], ["warning-message", "info-message"]),
        (["-v", "--log-level", "WARNING"], ["warning-message"], ["info-message"]),
    ],
)
def test_logging_options_configure_the_xgpm_logger(monkeypatch, capsys, argv, shown, hidden):
    monkeypatch.setattr(cli, "run", _chatty_run)
    handlers = list(logging.getLogger("xgpm").handlers)
    for position in ("before", "after"):
        full = [*argv, "info", "x"] if position == "before" else ["info", "x", *argv]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert cli.main(full) == 0
        captured = capsys.readouterr()
        assert captured.out.strip() == "output"
        # log records go to stderr; xgpm's warnings through the warnings machinery
        emitted = captured.err + "".join(str(w.message) for w in caught)
        for text in shown:
            assert text in emitted, (full, emitted)
        for text in hidden:
            assert text not in emitted, (full, emitted)
    assert logging.getLogger("xgpm").handlers == handlers  # main() removes its handler


def test_verbose_counts_at_every_level(monkeypatch):
    seen = {}

    def record(args):
        seen["settings"] = cli._logging_settings(args)
        return 0

    monkeypatch.setattr("xgpm.translate.train.run", record)
    argv = ["-v", "train", "-v", "to-gmi", "--simulate", "-v", "--log-level", "info"]
    assert cli.main(argv) == 0
    assert seen["settings"] == (3, False, "INFO")


def test_a_bad_log_level_is_a_usage_error(capsys):
    assert cli.main(["info", "x", "--log-level", "LOUD"]) == 2
    line = _one_error_line(capsys, "xgpm info")
    assert "--log-level" in line and "LOUD" in line and "DEBUG" in line
    assert cli.main(["--log-level", "LOUD", "info", "x"]) == 2
    assert "--log-level" in _one_error_line(capsys, "xgpm")


def test_an_unknown_sub_command_is_a_usage_error(capsys):
    assert cli.main(["colocate-everything"]) == 2
    line = _one_error_line(capsys, "xgpm")
    assert "colocate-everything" in line and "info" in line


def test_help_and_version_exit_0(capsys):
    assert cli.main(["--version"]) == 0
    assert cli.main(["info", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--verbose" in out and "--log-level" in out


# ------------------------------------------------------------------------------------------
# exit statuses of run failures
# ------------------------------------------------------------------------------------------


def _raiser(error: BaseException):
    def run(args):
        raise error

    return run


SIMULATE = ["simulate", "--start", "2021-01-01", "--out"]


def test_run_failed_exits_1(monkeypatch, capsys, tmp_path):
    error = RunFailedError("3 of 5 granules failed; see run.json and rerun to resume")
    monkeypatch.setattr("xgpm.simulate.cli.run", _raiser(error))
    assert cli.main([*SIMULATE, str(tmp_path)]) == 1
    assert "3 of 5 granules failed" in _one_error_line(capsys, "xgpm simulate")


def test_other_xgpm_errors_exit_2_on_one_line(monkeypatch, capsys, tmp_path):
    error = InvalidArgumentError("first line\nsecond line")
    monkeypatch.setattr("xgpm.simulate.cli.run", _raiser(error))
    assert cli.main([*SIMULATE, str(tmp_path)]) == 2
    assert _one_error_line(capsys, "xgpm simulate").endswith("first line second line")


def test_keyboard_interrupt_exits_130(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("xgpm.simulate.cli.run", _raiser(KeyboardInterrupt()))
    assert cli.main([*SIMULATE, str(tmp_path)]) == 130
    assert "interrupted" in _one_error_line(capsys, "xgpm simulate")


def test_internal_errors_exit_1_and_point_to_verbose(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("xgpm.simulate.cli.run", _raiser(ZeroDivisionError("division by zero")))
    assert cli.main([*SIMULATE, str(tmp_path)]) == 1
    line = _one_error_line(capsys, "xgpm simulate")
    assert "ZeroDivisionError" in line and "rerun with -v for the traceback" in line
    assert cli.main([*SIMULATE, str(tmp_path), "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in _lines(err)[-1]


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda out: FileNotFoundError(2, "No such file or directory", str(out / "x.csv")), 2),
        (lambda out: PermissionError(13, "Permission denied", str(out)), 2),
        (lambda out: IsADirectoryError(21, "Is a directory", str(out)), 2),
        (lambda out: FileNotFoundError(2, "No such file or directory", "/nonexistent/lib.so"), 1),
        (lambda out: OSError(28, "No space left on device"), 1),
    ],
)
def test_raw_os_errors_exit_2_for_given_paths_else_1(monkeypatch, capsys, tmp_path, make, code):
    error = make(tmp_path)
    monkeypatch.setattr("xgpm.simulate.cli.run", _raiser(error))
    assert cli.main([*SIMULATE, str(tmp_path)]) == code
    line = _one_error_line(capsys, "xgpm simulate")
    assert (error.filename or "No space left") in line


# ------------------------------------------------------------------------------------------
# bad arguments of the sub-commands: exit 2, one line naming the argument
# ------------------------------------------------------------------------------------------


BAD_ARGUMENTS = {
    "simulate --start": (["simulate", "--start", "yesterday-ish", "--out", "{tmp}"], "--start"),
    "simulate --days": (
        ["simulate", "--start", "2021-01-01", "--days", "-1", "--out", "{tmp}"],
        "--days",
    ),
    "train drain --epochs": (
        ["train", "drain", "--matchups", "{tmp}", "--epochs", "0"],
        "--epochs",
    ),
    "train drain --matchups": (["train", "drain", "--matchups", "{tmp}/none.zarr"], "--matchups"),
    "train drain --matchups (not zarr)": (["train", "drain", "--matchups", "{tmp}"], "--matchups"),
    "train to-gmi --tile": (["train", "to-gmi", "--simulate", "--tile", "0", "32"], "--tile"),
    "train to-gmi --granules": (["train", "to-gmi", "--granules", "{tmp}/none"], "--granules"),
    "matchups --input": (["matchups", "--input", "{tmp}/none", "--out", "{tmp}/m.zarr"], "--input"),
    "matchups --min-valid-fraction": (
        ["matchups", "--input", "{tmp}", "--out", "{tmp}/m.zarr", "--min-valid-fraction", "5"],
        "--min-valid-fraction",
    ),
    "evaluate to-gmi --days": (["evaluate", "to-gmi", "--days", "0"], "--days"),
    "evaluate to-gmi --source": (["evaluate", "to-gmi", "--source", "nosat"], "--source"),
    "evaluate to-gmi --max-scenes": (
        ["evaluate", "to-gmi", "--max-scenes", "many"],
        "--max-scenes",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGUMENTS))
def test_bad_arguments_exit_2_with_one_line_naming_them(case, tmp_path, capsys):
    template, argument = BAD_ARGUMENTS[case]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in template]
    assert cli.main(argv) == 2
    line = _one_error_line(capsys, f"xgpm {argv[0]}")
    assert argument in line, line


# ------------------------------------------------------------------------------------------
# the real console script
# ------------------------------------------------------------------------------------------


def test_console_script_on_a_missing_granule(tmp_path):
    script = Path(sys.executable).parent / "xgpm"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "xgpm.cli"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [*command, "info", "missing.HDF5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = _lines(done.stderr)
    assert len(lines) == 1 and lines[0].startswith("xgpm info: error: ")
    assert "missing.HDF5" in lines[0]


def test_every_option_has_help_and_shows_its_default():
    import argparse

    from xgpm.cli import build_parser

    missing, parsers = [], [("xgpm", build_parser())]
    while parsers:
        path, parser = parsers.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers += [(f"{path} {name}", sub) for name, sub in action.choices.items()]
            elif action.option_strings and not action.help:
                missing.append(f"{path} {action.option_strings[0]}")
            elif action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert "default" in action.help, (path, action.option_strings, action.help)
    assert not missing, missing


def test_verbose_shows_what_the_readers_do(gmi_path, capsys):
    """Not only `process` logs: -vv shows the reader's debug lines, -v the writer's."""
    assert cli.main(["info", str(gmi_path), "-vv"]) == 0
    err = capsys.readouterr().err
    assert "1C-GMI" in err and "scan modes S1, S2" in err
    assert cli.main(["info", str(gmi_path)]) == 0
    assert "scan modes" not in capsys.readouterr().err
