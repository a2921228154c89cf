"""Every asv benchmark in benchmarks/ runs once, so benchmarks cannot rot (flox's idea).

Each ``bench_*.py`` module is imported; every class with ``time_*``, ``peakmem_*`` or
``timeraw_*`` methods is set up with its first parameter combination (or its
``smoke_params`` attribute, a smaller size for this test; or its ``smoke_setup`` method) and
each method called once.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
MODULES = sorted(BENCH_DIR.glob("bench_*.py"))
PREFIXES = ("time_", "peakmem_", "timeraw_", "track_")


def _load(path: Path):
    sys.path.insert(0, str(BENCH_DIR))
    try:
        spec = importlib.util.spec_from_file_location(f"_asv_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH_DIR))
    return module


def _cases():
    for path in MODULES:
        module = _load(path)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            if any(m.startswith(PREFIXES) for m in dir(cls)):
                yield pytest.param(path, name, id=f"{path.stem}.{name}")


@pytest.mark.parametrize(("path", "class_name"), list(_cases()))
def test_benchmark_runs_once(path, class_name):
    module = _load(path)
    cls = getattr(module, class_name)
    params = getattr(cls, "smoke_params", None) or getattr(cls, "params", None)
    if params is None:
        args: tuple = ()
    else:
        grid = params if isinstance(params[0], (list, tuple)) else [params]
        args = next(itertools.product(*grid))
    bench = cls()
    if hasattr(bench, "smoke_setup"):  # a smaller setup for benchmarks that take minutes
        bench.smoke_setup(*args)
    elif hasattr(bench, "setup"):
        bench.setup(*args)
    methods = [m for m in dir(cls) if m.startswith(PREFIXES)]
    assert methods
    for method in methods:
        result = getattr(bench, method)(*args)
        if method.startswith("timeraw_"):
            # asv runs the returned code in a fresh interpreter: do the same
            completed = subprocess.run(
                [sys.executable, "-c", result], capture_output=True, text=True, timeout=120
            )
            assert completed.returncode == 0, completed.stderr
    if hasattr(bench, "teardown"):
        bench.teardown(*args)


def test_asv_discovers_and_runs_the_suite_as_documented(tmp_path):
    """``cd benchmarks && asv run --python=same --quick`` runs benchmarks, not nothing.

    asv needs ``benchmarks/__init__.py``: without it, it printed "No __init__.py file in '.'",
    ran nothing and exited 0.
    """
    import os
    import shutil

    asv = shutil.which("asv")
    if asv is None:
        pytest.skip("asv is not installed (pip install -e '.[test]')")
    env = dict(os.environ, HOME=str(tmp_path))  # asv keeps its machine file in $HOME
    run = lambda *args: subprocess.run(  # noqa: E731
        [asv, *args], cwd=BENCH_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    check = run("check", "--python=same")
    assert check.returncode == 0 and "No __init__.py" not in check.stdout + check.stderr
    assert run("machine", "--yes", "--machine", "ci").returncode == 0
    result = run(
        "run", "--python=same", "--quick", "--dry-run", "--machine", "ci", "-b", "ImportTime"
    )
    assert result.returncode == 0, result.stderr
    assert "bench_io.ImportTime.timeraw_import_xgpm" in result.stdout, result.stdout
