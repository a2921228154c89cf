"""Tests of the DRAIN benchmark's scoring stages (xgpm.pipelines.drain) on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from xgpm.pipelines import drain as D


def test_windows_never_share_a_day_with_the_held_out_year():
    assert all(start.startswith("2021") for _, start, _, _ in D.TRAIN_WINDOWS)
    assert all(start.startswith("2022") for _, start, _, _ in D.TEST_WINDOWS)
    seeds = [w[3] for w in D.TRAIN_WINDOWS + D.EXTRA_TRAIN_WINDOWS + D.TEST_WINDOWS]
    assert len(set(seeds)) == len(seeds)


def test_scores_pooled_and_by_category():
    ref = np.array([0.0, 0.0, 2.0, 5.0, 0.5, 3.0])
    pred = np.array([0.0, 1.5, 2.5, 4.0, 0.0, 0.2])
    pooled = D.scores(pred, ref)
    assert pooled["n"] == 6
    assert pooled["csi"] == pytest.approx(2 / 4)  # hits 2, false alarm 1, miss 1 at 1 mm/h
    by = np.array(["a", "a", "a", "b", "b", "b"], dtype=object)
    split = D.scores(pred, ref, by)
    assert set(split) == {"a", "b"} and split["a"]["n"] == 3


def test_calibration_of_perfect_quantiles():
    rng = np.random.default_rng(0)
    ref = rng.exponential(2.0, 4000)
    levels = np.array(D.QUANTILES)
    quantiles = np.broadcast_to(-2.0 * np.log1p(-levels), (ref.size, levels.size))
    outputs = np.column_stack([ref, np.ones(ref.size), quantiles])
    result, ds = D.calibration(outputs, ref)
    assert result["max_error_randomized"] < 0.05
    assert len(result["coverage"]) == len(D.QUANTILES)


def test_decision_rules_cross_validated_thresholds():
    ref = np.array([0.0, 0.0, 2.0, 3.0] * 5)
    values = np.array([0.1, 0.2, 0.8, 0.9] * 5)
    fold = np.repeat([0, 1], 10)
    out = D.decision_rules({"p": (values, 0.5, np.linspace(0, 1, 11))}, ref, fold)
    assert out["p"]["csi"] == pytest.approx(1.0) and out["p"]["cv_csi"] == pytest.approx(1.0)


def test_xgpm_train_drain_simulate_runs_the_pipeline(tmp_path, monkeypatch):
    import argparse

    from xgpm.pipelines import cli, drain_run

    calls = []
    monkeypatch.setattr(drain_run, "main", lambda argv: calls.append(argv))
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", "drain", "--simulate", str(tmp_path), "--minutes", "2"])
    assert cli.run(args) == 0
    (argv,) = calls
    assert argv[argv.index("--cache") + 1] == str(tmp_path / "cache")
    assert argv[argv.index("--minutes") + 1] == "2.0" and "--save" not in argv


def test_the_page_opens_with_usage_from_the_registered_cards():
    from xgpm import models
    from xgpm.pipelines.drain_docs import usage_lines

    text = "\n".join(usage_lines())
    assert "**How to call them.**" in text and "gmi.gpm.rainrate()" in text
    assert f"`drain` ({models.card('drain').version}" in text
