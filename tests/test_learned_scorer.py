"""The learned scorer: network, training, prediction on xarray (dask or not), errors, registry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

torch = pytest.importorskip("torch")

from xgpm import models  # noqa: E402
from xgpm.errors import InvalidArgumentError  # noqa: E402
from xgpm.verify.learned import scorer as learned  # noqa: E402

H, W = 16, 24
LAT0, LON0 = 43.05, 0.05


def _imerg(n: int = 12, seed: int = 0, lat0: float = LAT0, step: float = 0.1) -> xr.Dataset:
    """IMERG-like maps whose quality index sets how noisy the precipitation is."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(0.1, 0.9, n)
    precip = rng.gamma(0.6, 2.0, (n, H, W)).astype("float32")
    precip[:, 0, :3] = np.nan  # outside the data
    q = np.broadcast_to(quality[:, None, None], (n, H, W)).astype("float32")
    ir = np.round((1 - q) * 100).astype("float32")
    source = (rng.uniform(0, 1, (n, H, W)) < q).astype("float32") * 7
    time = pd.date_range("2021-03-01", periods=n, freq="30min")
    return xr.Dataset(
        {
            "precipitation": (("time", "lat", "lon"), precip),
            "precipitationQualityIndex": (("time", "lat", "lon"), q.copy()),
            "IRinfluence": (("time", "lat", "lon"), ir),
            "MWprecipSource": (("time", "lat", "lon"), source),
        },
        coords={
            "time": time,
            "lat": (lat0 + step * np.arange(H)).astype("float32"),
            "lon": (LON0 + step * np.arange(W)).astype("float32"),
        },
    )


@pytest.fixture(scope="module")
def trained():
    ds = _imerg(48, seed=1)
    x = learned.imerg_features(ds).values
    quality = ds["precipitationQualityIndex"].isel(lat=0, lon=5).values
    y = np.stack([0.1 + 0.8 * quality, 0.9 - 0.5 * quality], axis=1).astype("float32")
    y[0, 0] = np.nan  # an undefined target is left out, not learned as 0
    result = learned.train_scorer(
        x,
        y,
        latent_dim=4,
        som_shape=(2, 2),
        n_dec_clusters=3,
        epochs=25,
        batch_size=16,
        learning_rate=5e-3,
        progress=False,
        grid={"lat_first": LAT0, "lon_first": LON0, "height": H, "width": W},
    )
    learned.fit_clusters(result.model, x, y, result.mean, result.std)
    return result, x, y


def test_network_shapes():
    net = learned.ScorerNet(5, H, W, latent_dim=6, som_shape=(2, 3), n_dec_clusters=4)
    recon, scores, z = net(torch.zeros(3, 5, H, W))
    assert recon.shape == (3, 5, H, W)
    assert scores.shape == (3, 2) and z.shape == (3, 6)
    assert bool(((scores >= 0) & (scores <= 1)).all())
    assert net.som_prototypes.shape == (6, 6) and net.dec_stats.shape == (4, 2, 4)
    with pytest.raises(InvalidArgumentError, match="multiples of 8"):
        learned.ScorerNet(5, 20, W)


def test_training_reduces_loss_and_learns_the_target(trained):
    result, x, y = trained
    history = result.history
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    predicted = learned._batched(result.model, learned._standardise(x, result.mean, result.std))[0]
    ok = np.isfinite(y[:, 0])
    assert np.corrcoef(predicted[ok, 0], y[ok, 0])[0, 1] > 0.8
    assert np.all(np.isfinite(result.mean)) and np.all(result.std > 0)


def test_features_transform_each_channel():
    ds = _imerg(2)
    x = learned.imerg_features(ds)
    assert list(x["channel"].values) == list(learned.INPUT_CHANNELS)
    cell = ds.isel(time=1, lat=3, lon=4)
    np.testing.assert_allclose(
        x.isel(time=1, lat=3, lon=4).values,
        [
            np.log1p(float(cell["precipitation"])),
            float(cell["precipitationQualityIndex"]),
            float(cell["IRinfluence"]) / 100,
            float(cell["MWprecipSource"] > 0),
            1.0,
        ],
        rtol=1e-6,
    )
    assert x.isel(time=0, lat=0, lon=0).values[[0, 4]].tolist() == [0.0, 0.0]  # NaN cell


def test_predict_same_with_and_without_dask(trained):
    result = trained[0]
    ds = _imerg(10, seed=5)
    eager = learned.score_without_reference(ds, result)
    lazy = learned.score_without_reference(ds.chunk({"time": 3, "lat": 5}), result)
    assert lazy["csi_1"].chunks is not None
    lazy = lazy.compute()
    for name in ("csi_1", "fss_0.5_5"):
        np.testing.assert_allclose(lazy[name].values, eager[name].values, rtol=1e-5, atol=1e-6)
    for name in ("som_node", "dec_cluster", "cluster", "cluster_label", "cluster_csi_median"):
        np.testing.assert_array_equal(lazy[name].values, eager[name].values)
    assert eager["csi_1"].dims == ("time",)
    # the label is the cluster's: same statistics as stored in the model
    stats = result.model.som_stats.numpy()
    np.testing.assert_allclose(
        eager["cluster_csi_median"].values, stats[eager["som_node"].values, 0, 1]
    )


def test_larger_grid_is_cropped_to_the_training_grid(trained):
    result = trained[0]
    ds = _imerg(4, seed=2)
    bigger = ds.pad(lat=(2, 1), lon=(1, 3))
    bigger = bigger.assign_coords(
        lat=(LAT0 - 0.2 + 0.1 * np.arange(H + 3)).astype("float32"),
        lon=(LON0 - 0.1 + 0.1 * np.arange(W + 4)).astype("float32"),
    )
    np.testing.assert_allclose(
        learned.predict_scores(bigger, result)["csi_1"].values,
        learned.predict_scores(ds, result)["csi_1"].values,
        rtol=1e-6,
    )


def test_clear_errors(trained):
    result = trained[0]
    ds = _imerg(2)
    with pytest.raises(InvalidArgumentError, match="IRinfluence"):
        learned.predict_scores(ds.drop_vars("IRinfluence"), result)
    with pytest.raises(InvalidArgumentError, match="0.1 deg"):
        learned.predict_scores(_imerg(2, step=0.25), result)
    with pytest.raises(InvalidArgumentError, match="descending"):
        learned.predict_scores(ds.isel(lat=slice(None, None, -1)), result)
    with pytest.raises(InvalidArgumentError, match="does not contain it"):
        learned.predict_scores(_imerg(2, lat0=50.05), result)
    with pytest.raises(InvalidArgumentError, match="Dataset"):
        learned.predict_scores(ds["precipitation"], result)
    with pytest.raises(InvalidArgumentError, match="clustering"):
        learned.score_without_reference(ds, result, clustering="kmeans")
    with pytest.raises(InvalidArgumentError, match="same number of maps"):
        learned.train_scorer(np.zeros((3, 5, 8, 8)), np.zeros((2, 2)), progress=False)
    with pytest.raises(InvalidArgumentError, match="every target is NaN"):
        learned.train_scorer(np.zeros((3, 5, 8, 8)), np.full((3, 2), np.nan), progress=False)


def test_target_table_defines_scores_only_with_enough_events():
    rng = np.random.default_rng(0)
    ref = rng.gamma(0.6, 3.0, (3, H, W)).astype("float32")
    ref[1] = 0.0  # dry: no event
    ref[2] = 0.0
    ref[2, :2, :2] = 5.0  # 4 event cells only
    ref = xr.DataArray(ref, dims=("time", "lat", "lon"), attrs={"units": "mm/h"})
    ref = ref.assign_coords(time=pd.date_range("2021-01-01", periods=3, freq="30min"))
    table = learned.target_table(ref.copy(), ref, min_events=20)
    assert table["csi_1"].values[0] == pytest.approx(1.0)
    assert table["fss_0.5_5"].values[0] == pytest.approx(1.0)
    assert np.isnan(table["csi_1"].values[1]) and np.isnan(table["csi_1"].values[2])
    assert int(table["n_events_csi_1"].values[2]) == 4
    loose = learned.target_table(ref.copy(), ref, min_events=1)
    assert loose["csi_1"].values[2] == pytest.approx(1.0)


def test_import_xgpm_does_not_import_torch():
    code = (
        "import sys, xgpm, xgpm.scoring, xgpm.scoring.clusters; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_shipped_scorer_loads_from_the_registry():
    spec = models.card("scorer")
    assert "simulated" in spec.training_data.lower()
    net = models.load("scorer", device="cpu")
    assert isinstance(net, learned.ScorerNet) and bool(net.clusters_fitted)
    grid = spec.raw["grid"]
    n = 3
    rng = np.random.default_rng(0)
    shape = (n, grid["height"], grid["width"])
    ds = xr.Dataset(
        {
            "precipitation": (("time", "lat", "lon"), rng.gamma(0.5, 2.0, shape)),
            "precipitationQualityIndex": (("time", "lat", "lon"), rng.uniform(0, 1, shape)),
            "IRinfluence": (("time", "lat", "lon"), rng.uniform(0, 100, shape)),
            "MWprecipSource": (("time", "lat", "lon"), rng.integers(0, 3, shape)),
        },
        coords={
            "time": pd.date_range("2021-06-01", periods=n, freq="30min"),
            "lat": grid["lat_first"] + 0.1 * np.arange(grid["height"]),
            "lon": grid["lon_first"] + 0.1 * np.arange(grid["width"]),
        },
    )
    out = learned.score_without_reference(ds)
    assert np.all((out["csi_1"] >= 0) & (out["csi_1"] <= 1))
    assert out["cluster_label"].dtype.kind == "U"
    assert "simulated" in out.attrs["training_data"].lower()


def test_cli_trains_saves_and_the_registry_loads_it(tmp_path):
    from xgpm.verify.learned import cli

    rng = np.random.default_rng(4)
    for month, seed in ((3, 1), (4, 2)):
        ds = _imerg(16, seed=seed)
        ds = ds.assign_coords(time=pd.date_range(f"2021-{month:02d}-01", periods=16, freq="30min"))
        noise = rng.lognormal(0, 1 - ds["precipitationQualityIndex"].values)
        ds["reference"] = ds["precipitation"] * noise.astype("float32")
        ds["precipitation"].attrs["units"] = ds["reference"].attrs["units"] = "mm/h"
        ds.to_netcdf(tmp_path / f"month{month}.nc")
    registry = tmp_path / "registry"
    argv = ["--archive", str(tmp_path / "month*.nc"), "--epochs", "2", "--name", "scorer-test"]
    argv += ["--output-dir", str(registry), "--som-shape", "2x2", "--dec-clusters", "3"]
    assert cli.main(argv) == 0
    previous = models.set_weights_dir(registry)
    try:
        spec = models.card("scorer-test")
        assert spec.metrics["n_train"] == 16 and spec.metrics["n_held_out"] == 16
        assert spec.raw["grid"]["height"] == H and spec.architecture_kwargs["som_shape"] == [2, 2]
        out = learned.score_without_reference(_imerg(3), "scorer-test")
        assert out["cluster"].values.max() < 4 and np.isfinite(out["csi_1"]).all()
    finally:
        models.set_weights_dir(previous)
        models.clear_cache()
    with pytest.raises(InvalidArgumentError, match="no reference variable"):
        cli.main(["--archive", str(tmp_path / "month3.nc"), "--reference-var", "radar"])
    with pytest.raises(InvalidArgumentError, match="matches no file"):
        cli.main(["--archive", str(tmp_path / "nothing*.nc")])


def test_cli_options_join_an_existing_train_parser():
    import argparse

    from xgpm.verify.learned import cli

    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--epochs", type=int, default=20)  # already there: kept
    cli.add_arguments(parser)
    args = parser.parse_args(["scorer", "--archive", "a.nc", "b.nc", "--som-shape", "2x5"])
    assert args.epochs == 20 and args.archive == ["a.nc", "b.nc"]
    assert cli._som_shape(args.som_shape) == (2, 5)
    with pytest.raises(InvalidArgumentError, match="ROWSxCOLS"):
        cli._som_shape("2by5")
