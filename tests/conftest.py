"""Shared fixtures: the real cut NASA granules in tests/data/gpm_granules."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

DATA = Path(__file__).parent / "data"
GRANULE_DIR = DATA / "gpm_granules"
#: folder name (= GPM-API product name) -> path of the real cut granule
GRANULES: dict[str, Path] = {
    folder.name: next(folder.glob("*.HDF5")) for folder in sorted(GRANULE_DIR.iterdir())
}
L1C = [name for name in GRANULES if name.startswith("1C-")]


@pytest.fixture(params=sorted(GRANULES))
def granule(request) -> tuple[str, Path]:
    """(product, path) of every real granule."""
    return request.param, GRANULES[request.param]


@pytest.fixture
def gmi_path() -> Path:
    return GRANULES["1C-GMI"]
