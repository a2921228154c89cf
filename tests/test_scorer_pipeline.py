"""Tests of the scorer's training pipeline (xgpm.pipelines.scorer) on tiny runs (seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

pytest.importorskip("torch")

from xgpm.pipelines import scorer as P  # noqa: E402


def test_archive_days_and_held_out_months():
    days = P.archive_days(2)
    assert len(days) == 48 and days[0] == pd.Timestamp("2021-01-05")
    held = P.is_held_out(np.array(days, dtype="datetime64[ns]"))
    assert sorted({d.month for d, h in zip(days, held, strict=True) if h}) == [4, 8, 12]


def test_markdown_and_correlation():
    table = pd.DataFrame({"r": [0.5, np.nan]}, index=pd.Index(["a", "b"], name="target"))
    assert P.markdown(table).splitlines() == [
        "| target | r |",
        "| --- | --- |",
        "| a | 0.500 |",
        "| b |  |",
    ]
    r, n = P.correlation(np.arange(5.0), np.arange(5.0) * 2)
    assert r == pytest.approx(1.0) and n == 5
    assert np.isnan(P.correlation(np.ones(2), np.ones(2))[0])


def _rainy(path, seed):
    """Give a simulated day synthetic rain blobs, so every score is defined."""
    ds = xr.load_dataset(path, engine="h5netcdf")
    rng = np.random.default_rng(seed)
    lat, lon = np.meshgrid(np.arange(ds.sizes["lat"]), np.arange(ds.sizes["lon"]), indexing="ij")
    fields = []
    for _ in range(ds.sizes["time"]):
        y, x = rng.uniform(10, 60), rng.uniform(10, 90)
        fields.append(8 * np.exp(-((lat - y) ** 2 + (lon - x) ** 2) / 200.0))
    rain = np.stack(fields).astype("float32")
    ds["precipitation"].values = rain * rng.uniform(0.5, 1.5, rain.shape).astype("float32")
    ds["reference"].values = rain
    ds.to_netcdf(path, engine="h5netcdf")


def test_pipeline_tiny_run(tmp_path):
    days = [pd.Timestamp("2021-01-05"), pd.Timestamp("2021-04-05")]  # training, held out
    paths = P.build_archive(tmp_path / "archive", days[1:], hours=1.0, progress=False)
    paths.insert(0, P.simulate_day(days[0], tmp_path / "archive", hours=3.0))  # 6 maps to fit
    assert all(p.is_file() for p in paths)
    for seed, path in enumerate(paths):
        _rainy(path, seed)
    table = P.day_table(paths[0])
    assert table["features"].shape[0] == table["targets"].shape[0] == 6
    doc = tmp_path / "scoring.md"
    doc.write_text(f"before\n{P.BEGIN}\nold\n{P.END}\nafter\n")
    out = P.run_pipeline(
        tmp_path,
        days_per_month=1,
        skip_simulation=True,
        epochs=1,
        minutes=1.0,
        latent_dim=4,
        som_shape=(2, 2),
        dec_clusters=2,
        images=tmp_path / "images",
        docs=doc,
        command="test",
        progress=False,
    )
    assert set(out["results"]) == {"csi_1", "fss_0.5_5"}
    assert all(p.is_file() for p in out["figures"])
    text = doc.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert (tmp_path / "results.json").is_file()


def test_xgpm_train_scorer_simulate_runs_the_pipeline(tmp_path, monkeypatch):
    import argparse

    from xgpm.pipelines import cli

    calls = []
    monkeypatch.setattr(P, "run_pipeline", lambda work, **kw: calls.append((work, kw)))
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    argv = ["train", "scorer", "--simulate", str(tmp_path), "--hours", "2", "--som-shape", "2x2"]
    assert cli.run(parser.parse_args(argv)) == 0
    ((work, kw),) = calls
    assert work == tmp_path and kw["hours"] == 2.0 and kw["som_shape"] == (2, 2)
    assert kw["docs"] is None and not kw["save"] and kw["name"] == "scorer"
