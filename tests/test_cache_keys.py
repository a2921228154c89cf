"""Caches of simulated data are keyed by the simulator's version (xgpm.simulate.SIMULATOR_VERSION).

A cache written under one simulator version is never read under another; the same version reuses
it. Covers the paired-scene cache (xgpm.translate.scenes), the per-scene evaluation results
(xgpm.translate.evaluate) and the simulated overpasses of the translation training
(xgpm.translate.data).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

import xgpm.simulate
from xgpm.translate import data, evaluate, scenes

from .test_translate_scenes import DAYS, REGION, START, cheap_rtm, cheap_truth


@pytest.fixture(scope="module")
def pair() -> scenes.PairedScene:
    found = list(
        scenes.paired_scenes(
            REGION,
            START,
            DAYS,
            progress=False,
            min_pixels=100,
            truth_res_km=5.0,
            truth_fn=cheap_truth,
            rtm_fn=cheap_rtm,
        )
    )
    assert len(found) == 1
    return found[0]


def test_simulator_version_is_a_string() -> None:
    assert isinstance(xgpm.simulate.SIMULATOR_VERSION, str) and xgpm.simulate.SIMULATOR_VERSION
    assert "SIMULATOR_VERSION" in xgpm.simulate.__all__
    assert scenes.simulator_version() == xgpm.simulate.SIMULATOR_VERSION


def test_scene_cache_is_keyed_by_the_simulator_version(pair, tmp_path, monkeypatch) -> None:
    calls: list[str] = []

    def fake(*args, **kwargs):
        calls.append(xgpm.simulate.SIMULATOR_VERSION)
        yield pair

    monkeypatch.setattr(scenes, "paired_scenes", fake)
    window = scenes.Window("small", START, DAYS)

    def read() -> list[scenes.PairedScene]:
        return list(scenes.cached_paired_scenes([window], tmp_path))

    monkeypatch.setattr(xgpm.simulate, "SIMULATOR_VERSION", "A")
    first = read()
    assert calls == ["A"] and [s.key for s in first] == [pair.key]
    assert [s.key for s in read()] == [pair.key] and calls == ["A"]  # same version: reused
    monkeypatch.setattr(xgpm.simulate, "SIMULATOR_VERSION", "B")
    assert [s.key for s in read()] == [pair.key] and calls == ["A", "B"]  # other: simulated
    monkeypatch.setattr(xgpm.simulate, "SIMULATOR_VERSION", "A")
    read()
    assert calls == ["A", "B"]  # both versions' caches live side by side

    # A folder whose stamp names another version (copied or renamed by hand) is not read.
    (stamp,) = (tmp_path / "simA").glob(f"*/{scenes.STAMP}")
    assert json.loads(stamp.read_text())["simulator_version"] == "A"
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "simulator_version": "B"}))
    read()
    assert calls == ["A", "B", "A"]
    assert json.loads(stamp.read_text())["simulator_version"] == "A"
    xr.testing.assert_allclose(read()[0].gmi, pair.gmi)
    assert calls == ["A", "B", "A"]


def test_evaluation_results_are_keyed_by_the_simulator_version(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(evaluate, "_model_token", lambda name: f"tok-{name}")
    monkeypatch.setattr(xgpm.simulate, "SIMULATOR_VERSION", "A")
    a = evaluate.result_path(tmp_path, "scene1", "identity-ssmis", "drain")
    assert a == evaluate.result_path(tmp_path, "scene1", "identity-ssmis", "drain")
    assert a.parent == tmp_path / "simA" and "tok-identity-ssmis" in a.name
    monkeypatch.setattr(xgpm.simulate, "SIMULATOR_VERSION", "B")
    b = evaluate.result_path(tmp_path, "scene1", "identity-ssmis", "drain")
    assert b != a and b.parent == tmp_path / "simB"


def test_evaluation_results_are_keyed_by_the_engine_version(monkeypatch) -> None:
    from xgpm import models
    from xgpm.models import inference

    name = next(iter(models.list()))
    before = evaluate._model_token(name)
    monkeypatch.setattr(inference, "ENGINE_VERSION", f"{inference.ENGINE_VERSION}-other")
    assert evaluate._model_token(name) != before


def test_simulated_overpasses_are_keyed_by_the_simulator_version(tmp_path, monkeypatch) -> None:
    import xgpm.simulate.products as products

    calls: list[str] = []

    def fake_simulate(region, date, *, days, sensors, seed):
        calls.append(xgpm.simulate.SIMULATOR_VERSION)
        for product in ("1C-GMI", "1C-F17-SSMIS"):
            yield SimpleNamespace(product=product, granule=1, start=date, data=None)

    monkeypatch.setattr(products, "simulate", fake_simulate)
    monkeypatch.setattr(data, "swath_array", lambda ds, channels, densify: np.zeros((2, 2, 1)))

    def run() -> list[Path]:
        return data.simulate_overpasses(
            tmp_path, regions=["r"], dates=["2021-01-01"], progress=False
        )

    monkeypatch.setattr(xgpm.simulate, "SIMULATOR_VERSION", "A")
    first = run()
    assert len(first) == 2 and calls == ["A"]
    assert run() == first and calls == ["A"]  # same version: reused
    monkeypatch.setattr(xgpm.simulate, "SIMULATOR_VERSION", "B")
    second = run()
    assert calls == ["A", "B"] and len(second) == 2 and not set(second) & set(first)
