"""Tests of the to_gmi benchmark's pipeline (xgpm.pipelines.to_gmi) without training (seconds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from xgpm.pipelines import to_gmi as P
from xgpm.pipelines.to_gmi_report import markdown, training_notes

ROOT = Path(__file__).resolve().parents[1]


def test_windows_dates_outermost():
    windows = P.windows(["2021-01-12", "2021-07-12"], 1.0)
    assert len(windows) == 2 * len(P.REGIONS)
    assert [(w.region, w.start, w.days) for w in windows[:2]] == [
        ("france", "2021-01-12", 1.0),
        ("tropical-atlantic", "2021-01-12", 1.0),
    ]
    assert {w.start for w in windows[len(P.REGIONS) :]} == {"2021-07-12"}
    assert [w.region for w in P.windows(["d"], 2.0, regions=("conus",))] == ["conus"]


def test_done_scenes_reads_only_finished_folders(tmp_path):
    windows = P.windows(["2022-02-15"], 1.0, regions=("france",))
    unfinished = tmp_path / "a" / "ssmis-f17_france_2022-02-15_1d_s0"
    unfinished.mkdir(parents=True)
    finished = tmp_path / "b" / "ssmis-f17_france_2022-02-15_1d_s0"
    finished.mkdir(parents=True)
    (finished / "done").write_text("")
    assert P.done_scenes([tmp_path / "a", tmp_path / "b"], windows, "ssmis-f17") == []
    assert P.done_scenes([tmp_path / "missing"], windows, "ssmis-f17") == []


def test_gap_closed():
    unadapted = {"mse": 4.0, "csi": 0.2, "correlation": 0.5}
    gmi = {"mse": 2.0, "csi": 0.6, "correlation": 0.9}
    adapted = {"mse": 3.0, "csi": 0.3, "correlation": 0.9}
    assert P.gap_closed(adapted, unadapted, gmi) == pytest.approx(
        {"gap_closed_mse": 0.5, "gap_closed_csi": 0.25, "gap_closed_correlation": 1.0}
    )
    # no gap to close: 0, not a division by zero
    assert P.gap_closed(adapted, unadapted, unadapted)["gap_closed_mse"] == 0.0


def _field(rain: np.ndarray, drain_gmi: np.ndarray) -> SimpleNamespace:
    shape = rain.shape
    return SimpleNamespace(
        source=np.full((3, *shape), 250.0),
        gmi=np.full((13, *shape), 250.0),
        drain_gmi=drain_gmi,
        dpr=rain,
    )


def test_ceiling_scores_interior_finite_pixels():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    rain = rng.gamma(0.5, 2.0, (50, 30))
    perfect = P.ceiling([_field(rain, rain.copy())])
    # only pixels 16 along / 6 across track inside the swath edges are scored
    assert perfect["n"] == (50 - 32) * (30 - 12)
    assert perfect["mse"] == pytest.approx(0.0)
    assert perfect["correlation"] == pytest.approx(1.0)
    assert perfect["csi"] == pytest.approx(1.0)
    drain = rain + 1.0
    drain[25, 15] = np.nan  # DRAIN's NaN pixels are left out
    shifted = P.ceiling([_field(rain, drain), _field(rain, rain.copy())])
    n = (50 - 32) * (30 - 12)
    assert shifted["n"] == 2 * n - 1
    assert shifted["mse"] == pytest.approx((n - 1) / (2 * n - 1))  # error 1 on the first field
    assert shifted["bias_pct"] > 0


def _scores(mse, csi, corr, **extra):
    return {"mse": mse, "csi": csi, "correlation": corr, "bias_pct": -3.21, **extra}


def test_markdown_table():
    table = {
        P.IDENTITY: _scores(2.0, 0.1, 0.4, tb_mae_k=3.456),
        "redgan": _scores(
            1.5,
            0.2,
            0.5,
            gap_closed_mse=0.25,
            gap_closed_csi=0.5,
            gap_closed_correlation=0.125,
        ),
        P.CEILING: _scores(1.0, 0.3, 0.8),
    }
    curve = [
        {"overpasses": 0, "dpr_pixels": 0, "steps": 0, "mse": 1.5, "csi": 0.2, "correlation": 0.5}
    ]
    meta = {"command": "python x.py --a", "minutes": 1.5, "drain_version": "1.2", "test_scenes": 4}
    lines = markdown(table, curve, meta).splitlines()
    assert lines[2] == "| identity (no adaptation) | 2.000 | 0.100 | 0.400 | -3.2 | 3.46 | - |"
    assert lines[3] == "| redgan | 1.500 | 0.200 | 0.500 | -3.2 | - | 0.25 / 0.50 / 0.12 |"
    assert lines[4].startswith("| DRAIN on paired GMI (ceiling) | 1.000 |")
    assert lines[8] == "| 0 | 0 | 0 | 1.500 | 0.200 | 0.500 |"
    assert lines[-1] == "run: `python x.py --a` (1.5 min; DRAIN 1.2; 4 test overpasses)"


def test_training_notes_per_model():
    options = SimpleNamespace(
        minutes_sharpen=4.0,
        sharpened=None,
        paired_dates="2021-01-12",
        validate_every=300,
        minutes_cyclegan=0.0,
        redgan_rain_weight=1.0,
        minutes_redgan=5.0,
        learning_rate_redgan=3e-4,
        minutes_redgan_paired=0.0,
        dann_weight=0.1,
        minutes_dann=5.0,
    )
    notes = training_notes(options, [0] * 7, [0] * 9, [0] * 2)
    assert set(notes) == {"cyclegan_r", "redgan", "dann"}
    assert all("(7 + 9 tiles" in n and "over 2 simulated 2021" in n for n in notes.values())
    assert "No adversarial stage" in notes["cyclegan_r"]
    assert "paired rain term" not in notes["redgan"]


def test_import_is_light():
    code = (
        "import sys, xgpm.pipelines.to_gmi, xgpm.pipelines.to_gmi_report; "
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_script_help():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_to_gmi.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "Train the shipped to_gmi translation models" in out.stdout
    for option in ("--minutes-sharpen", "--curve", "--eval-cache", "--save", "--results"):
        assert option in out.stdout
