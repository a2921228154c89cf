"""benchmarks/gpu_check.py runs its whole check on the CPU, on a small orbit, in seconds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def gpu_check():
    sys.path.insert(0, str(BENCH_DIR))
    try:
        spec = importlib.util.spec_from_file_location("gpu_check", BENCH_DIR / "gpu_check.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH_DIR))


def test_small_orbit_on_cpu_agrees_and_prints_times(gpu_check, tmp_path, capsys):
    status = gpu_check.main(
        ["--device", "cpu", "--small", "--repeats", "1", "--workdir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "DRAIN (drain) on cpu: best" in out
    assert "to_gmi (" in out and "median" in out
    assert out.count("-> OK") == 2
    assert "outputs agree with the CPU's" in out
    assert list(tmp_path.glob("1C.GPM.GMI.*.HDF5"))  # read back through open_granule


def test_compare_flags_a_difference(gpu_check, capsys):
    ref = np.array([0.0, 1.0, np.nan, 10.0])
    assert gpu_check.compare("x", ref, ref + 0.01, atol=0.05, rtol=0.0)
    assert not gpu_check.compare("x", ref, ref + 0.1, atol=0.05, rtol=0.0)
    moved_nan = np.array([0.0, np.nan, 1.0, 10.0])
    assert not gpu_check.compare("x", ref, moved_nan, atol=1.0, rtol=0.0)
    assert "DIFFERS" in capsys.readouterr().out


def test_cuda_asked_without_cuda_says_so(gpu_check, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert gpu_check.main(["--small"]) == 2
    assert "--device cpu" in capsys.readouterr().out
