"""Smoke test: every benchmark in benchmarks/bench_verify.py runs once (flox's test_asv idea)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

BENCH_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_verify.py"


def load_bench_module():
    spec = importlib.util.spec_from_file_location("bench_verify", BENCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_maps_look_like_rain():
    module = load_bench_module()
    forecast, reference = module.synthetic_maps(50)
    raining = np.nanmean(reference >= 0.1)
    assert 0.02 < raining < 0.3  # rain on a minority of cells, as over France
    assert np.isnan(reference).any() and not np.isnan(forecast).all()
