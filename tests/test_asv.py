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
