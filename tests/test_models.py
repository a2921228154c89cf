"""Tests of the model registry, the DRAIN U-Net (heads, losses, training) and BRAIN."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

import xgpm.models as models  # noqa: E402
from xgpm.errors import (  # noqa: E402
    InvalidArgumentError,
    ModelNotFoundError,
    RegistryError,
)
from xgpm.models._testing import random_unet, register_random_unet, tiny_card  # noqa: E402
from xgpm.models.brain import BrainRetrieval  # noqa: E402
from xgpm.models.unet import (  # noqa: E402
    DrainUNet,
    count_parameters,
    drain_loss,
    mixture_quantiles,
    pinball_loss,
    receptive_margin,
    train_drain,
)

SHIPPED = ("drain", "drain-13ch", "brain")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def registry_dir(tmp_path, monkeypatch):
    """An empty registry directory first in the search path, removed afterwards."""
    monkeypatch.delenv(models.ENV_VAR, raising=False)
    previous = models.set_weights_dir(tmp_path)
    yield tmp_path
    models.set_weights_dir(previous)
    models.clear_cache()


# ------------------------------------------------------------------------------------------
# registry
# ------------------------------------------------------------------------------------------


def test_shipped_cards_are_listed_and_valid():
    names = models.list()
    for name in SHIPPED:
        assert name in names
        spec = models.card(name)
        assert spec.name == name
        assert "simulated data" in spec.training_data
        assert [o.name for o in spec.outputs] == [
            "surface_precip",
            "probability_of_precip",
            "surface_precip_quantile",
        ]
        assert spec.sensor == "GMI"
    assert models.card("drain").input_channels == ("37V", "37H", "89V", "89H")
    assert len(models.card("drain-13ch").input_channels) == 13


@pytest.mark.parametrize("name", ["drain", "drain-13ch"])
def test_unet_cards_match_their_architecture(name):
    spec = models.card(name)
    module = models.build(name)
    assert spec.receptive_margin == module.receptive_margin
    assert spec.divisibility == module.divisibility
    assert module.n_outputs == spec.n_outputs
    assert len(spec.normalisation_mean) == module.in_channels == len(spec.input_channels)
    assert list(module.quantiles) == list(spec.output("surface_precip_quantile").coords)
    # the size the brief asks for: 0.5-2 M parameters, weights under 5 MB
    assert 0.5e6 <= count_parameters(module) <= 2e6
    n_values = sum(t.numel() for t in module.state_dict().values())
    assert n_values * 4 < 5e6


@pytest.mark.parametrize("name", ["drain", "drain-13ch"])
def test_shipped_unet_weights_load_match_their_card_and_see_scattering(name):
    assert name in models.list(with_weights=True)
    spec = models.card(name)
    net = models.load(name, "cpu")  # strict state-dict load into the card's architecture
    assert net.in_channels == len(spec.input_channels) == len(spec.normalisation_mean)
    assert {k: v.shape for k, v in net.state_dict().items()} == {
        k: v.shape for k, v in models.build(name).state_dict().items()
    }
    assert {"mse", "csi", "command", "date"} <= set(spec.metrics)
    # a scene at the training means, then ice scattering: 89-183 GHz 60 K colder in a patch
    mean = torch.tensor(spec.normalisation_mean)[:, None, None]
    std = torch.tensor(spec.normalisation_std)[:, None, None]
    clear = mean.repeat(1, 64, 64)[None]
    cold = clear.clone()
    for c, channel in enumerate(spec.input_channels):
        if channel.startswith(("89", "165", "183")):
            cold[0, c, 16:48, 16:48] -= 60.0
    with torch.no_grad():
        outputs = [net((x - mean) / std)[0, :, 24:40, 24:40] for x in (clear, cold)]
    for out in outputs:
        assert torch.isfinite(out).all()
        assert (out[0] >= 0).all() and ((out[1] >= 0) & (out[1] <= 1)).all()
        assert (out[3:] >= out[2:-1]).all()  # quantiles never cross
    assert outputs[1][0].mean() > outputs[0][0].mean()  # more rain under scattering
    assert outputs[1][1].mean() > outputs[0][1].mean()  # and more probably rain


def test_unknown_model_suggests_close_names():
    with pytest.raises(ModelNotFoundError, match="Did you mean 'drain'") as info:
        models.card("drian")
    assert isinstance(info.value, KeyError)
    with pytest.raises(ModelNotFoundError, match="no model named 'nothing-like-it'"):
        models.load("nothing-like-it")


def test_card_without_weights_says_how_to_train(registry_dir):
    document = models.card("drain").to_dict()
    (registry_dir / "cards").mkdir()
    (registry_dir / "cards" / "drain.yaml").write_text(yaml.safe_dump(document))
    assert "drain" not in models.list(with_weights=True)
    with pytest.raises(ModelNotFoundError, match="xgpm train drain --matchups ZARR"):
        models.load("drain")


def test_save_then_load_round_trip(registry_dir):
    module = random_unet(1, in_channels=4, base_channels=4, depth=2)
    updates = {
        "architecture": {
            "kwargs": {"base_channels": 4, "depth": 2, "quantile_head": "zero_inflated"}
        },
        "receptive_margin": receptive_margin(2),
        "divisibility": 4,
        "inputs": {"normalisation": {"mean": [250.0, 240.0, 260.0, 255.0]}},
        "version": "9.9",
    }
    path = models.save("drain-test", module, updates, base="drain")
    assert path == registry_dir / "cards" / "drain-test.yaml"
    assert (registry_dir / "weights" / "drain-test.pt").is_file()
    spec = models.card("drain-test")
    assert spec.version == "9.9"
    assert spec.normalisation_mean == (250.0, 240.0, 260.0, 255.0)
    assert spec.normalisation_std == models.card("drain").normalisation_std  # merged, kept
    assert "drain-test" in models.list(with_weights=True)

    models.clear_cache()
    loaded = models.load("drain-test", "cpu")
    assert not loaded.training
    assert all(not p.requires_grad for p in loaded.parameters())
    x = torch.randn(1, 4, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), module(x))
    assert models.load("drain-test", "cpu") is loaded  # cached
    assert models.load_count("drain-test") == 1


def test_register_and_unregister_in_memory():
    spec = register_random_unet("mem-unet", architecture={"base_channels": 4, "depth": 2})
    try:
        assert "mem-unet" in models.list()
        with pytest.raises(InvalidArgumentError, match="already registered"):
            models.register(spec)
        assert isinstance(models.load("mem-unet", "cpu"), DrainUNet)
    finally:
        models.unregister("mem-unet")
    assert "mem-unet" not in models.list()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("outputs"), "missing required field 'outputs'"),
        (lambda d: d["inputs"]["normalisation"].update(std=[1.0, 0.0, 1.0, 1.0]), "> 0"),
        (lambda d: d["inputs"]["normalisation"].update(mean=[1.0]), "one per channel"),
        (lambda d: d.update(framework="jax"), "framework"),
        (lambda d: d["outputs"][2].pop("coords"), "no 'coords'"),
    ],
)
def test_invalid_cards_are_refused(change, message):
    document = models.card("drain").to_dict()
    change(document)
    with pytest.raises(RegistryError, match=message):
        models.ModelSpec.from_dict(document)


def test_card_with_too_small_margin_is_refused_at_load():
    document = tiny_card("bad-margin", architecture={"base_channels": 4, "depth": 2})
    document["receptive_margin"] = 3
    module = random_unet(0, **document["architecture"]["kwargs"])
    models.register(document, module=module, overwrite=True)
    try:
        with pytest.raises(RegistryError, match="receptive_margin 3 is smaller"):
            models.load("bad-margin", "cpu")
    finally:
        models.unregister("bad-margin")


# ------------------------------------------------------------------------------------------
# DRAIN U-Net
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [2, 3])
def test_receptive_margin_is_exact(depth):
    """Gradients of one output pixel reach exactly `margin` input pixels, never further."""
    module = random_unet(0, in_channels=2, base_channels=4, depth=depth).double()
    margin = receptive_margin(depth)
    width, worst = 8 * margin, 0
    generator = torch.Generator().manual_seed(depth)
    for phase in range(2**depth):  # every position relative to the pooling grid
        x = torch.randn(1, 2, 2**depth * 4, width, dtype=torch.float64, generator=generator)
        x.requires_grad_(True)
        column = width // 2 + phase
        # one column, all rows: the horizontal reach is that of a single pixel, and a ReLU
        # dead at one pixel cannot hide it
        target = module.heads(x)["pop_logit"][0, :, column].sum()
        (gradient,) = torch.autograd.grad(target, x)
        reached = torch.nonzero(gradient[0].abs().sum(dim=(0, 1))).flatten()
        worst = max(worst, column - int(reached.min()), int(reached.max()) - column)
    assert worst == margin


def test_heads_are_physical_and_quantiles_never_cross():
    module = random_unet(3, in_channels=4, base_channels=4, depth=2)
    x = 3.0 * torch.randn(2, 4, 24, 32)
    with torch.no_grad():
        out = module(x)
        heads = module.heads(x)
    assert out.shape == (2, 7, 24, 32)
    assert bool((out[:, 0] >= 0).all())
    assert bool(((out[:, 1] >= 0) & (out[:, 1] <= 1)).all())
    assert bool((out[:, 2:].diff(dim=1) >= 0).all())
    assert bool((out[:, 2] >= 0).all())
    torch.testing.assert_close(out[:, 1], torch.sigmoid(heads["pop_logit"]))
    assert float(out[:, 0].std()) > 0.01  # the output does depend on the input


def test_mixture_quantiles_match_hand_computation():
    # p = 0.5; conditional quantile function through (0, 0.1) and (0.5, 2.0), flat above
    p = torch.full((1, 1, 1), 0.5)
    conditional = torch.full((1, 1, 1, 1), 2.0)
    taus = (0.25, 0.5, 0.625, 0.75, 0.9)
    q = mixture_quantiles(p, conditional, (0.5,), taus, rain_threshold=0.1)[0, :, 0, 0]
    # tau <= 1 - p -> 0; tau = 0.625 -> u = 1 - 0.375 / 0.5 = 0.25 -> 0.1 + 0.5 * 1.9
    expected = torch.tensor([0.0, 0.0, 1.05, 2.0, 2.0])
    torch.testing.assert_close(q, expected)
    # certain rain: the mixture quantiles are the conditional ones
    q1 = mixture_quantiles(torch.ones(1, 1, 1), conditional, (0.5,), (0.5,), 0.1)
    assert float(q1) == pytest.approx(2.0)


def test_zero_inflated_head_outputs_exact_zeros_and_ordered_quantiles():
    module = random_unet(5, in_channels=4, base_channels=4, depth=2)
    assert module.quantile_head == "zero_inflated"
    with torch.no_grad():
        module.head.bias[1] = -4.0  # mostly dry: P(rain) small
        x = 3.0 * torch.randn(2, 4, 16, 16)
        out, heads = module(x), module.heads(x)
    pop = out[:, 1]
    assert bool((heads["conditional_quantiles"] >= module.rain_threshold).all())
    assert bool((heads["conditional_quantiles"].diff(dim=1) >= 0).all())
    assert bool((out[:, 2:].diff(dim=1) >= 0).all())
    for k, tau in enumerate(module.quantiles):
        dry = pop <= 1 - tau
        assert bool((out[:, 2 + k][dry] == 0).all())
        assert bool((out[:, 2 + k][~dry] >= module.rain_threshold).all())
    assert bool((out[:, 2] == 0).any())


def test_zero_inflated_loss_uses_the_rainy_pixels_only():
    torch.manual_seed(1)
    conditional = 0.1 + torch.rand(1, 3, 2, 2).cumsum(dim=1)
    outputs = {
        "mean": torch.rand(1, 2, 2),
        "pop_logit": torch.randn(1, 2, 2),
        "quantiles": torch.zeros(1, 2, 2, 2),
        "conditional_quantiles": conditional,
    }
    levels = (0.2, 0.5, 0.8)
    target = torch.tensor([[[0.0, 3.0], [float("nan"), 0.05]]])
    _, parts = drain_loss(outputs, target, quantiles=(0.25, 0.75), conditional_levels=levels)
    y, q = 3.0, conditional[0, :, 0, 1]
    expected = (
        sum(max(t * (y - v), (t - 1) * (y - v)) for t, v in zip(levels, q.tolist(), strict=True))
        / 3
    )
    assert parts["quantile"] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(InvalidArgumentError, match="conditional_levels"):
        drain_loss(outputs, target, quantiles=(0.25, 0.75))


def test_training_time_budget_stops_early():
    tb, rain = _synthetic_scenes(n=4, size=16)
    result = train_drain(
        (tb, rain),
        model_kwargs={"base_channels": 4, "depth": 2},
        epochs=50,
        batch_size=2,
        max_minutes=1e-6,
        augment=True,
        progress=False,
    )
    assert len(result.history) == 1 and result.history[0]["steps"] == 1
    with pytest.raises(InvalidArgumentError, match="schedule"):
        train_drain((tb, rain), schedule="step", progress=False)


def test_input_size_must_be_divisible():
    module = DrainUNet(4, 4, depth=2)
    with pytest.raises(InvalidArgumentError, match="multiples of 4"):
        module(torch.zeros(1, 4, 10, 12))


def test_pinball_loss_matches_hand_computation():
    q = torch.tensor([[1.0, 2.0], [0.0, 5.0]])
    y = torch.tensor([1.5, 4.0])
    taus = (0.1, 0.9)
    # pixel 1: y - q = (0.5, -0.5) -> 0.1*0.5, (0.9-1)*(-0.5)=0.05; pixel 2: (4, -1) -> 0.4, 0.1
    expected = (0.05 + 0.05 + 0.4 + 0.1) / 4
    assert float(pinball_loss(q, y, taus)) == pytest.approx(expected)


def test_drain_loss_ignores_pixels_the_radar_did_not_see():
    torch.manual_seed(0)
    outputs = {
        "mean": torch.rand(1, 2, 3),
        "pop_logit": torch.randn(1, 2, 3),
        "quantiles": torch.rand(1, 2, 2, 3).cumsum(dim=1),
    }
    target = torch.tensor([[[0.0, 0.5, float("nan")], [2.0, float("nan"), 0.05]]])
    loss, parts = drain_loss(outputs, target, quantiles=(0.25, 0.75))
    seen = torch.isfinite(target)
    truth = target[seen]
    mse = float(((outputs["mean"][seen] - truth) ** 2).mean())
    bce = float(
        torch.nn.functional.binary_cross_entropy_with_logits(
            outputs["pop_logit"][seen], (truth >= 0.1).float()
        )
    )
    assert parts["mean"] == pytest.approx(mse, rel=1e-6)
    assert parts["pop"] == pytest.approx(bce, rel=1e-6)
    assert math.isfinite(float(loss))
    nothing = torch.full_like(target, float("nan"))
    assert float(drain_loss(outputs, nothing, quantiles=(0.25, 0.75))[0]) == 0.0


def _synthetic_scenes(n=12, size=16, seed=0):
    """Rain where 89V is cold, spatially smoothed: a learnable TB -> rain relation."""
    from scipy.ndimage import uniform_filter

    rng = np.random.default_rng(seed)
    field = uniform_filter(rng.gamma(0.5, 1.0, (n, size, size)), size=(1, 5, 5))
    rain = np.clip(field - 0.4, 0, None) * 20.0
    tb = np.empty((n, 4, size, size), dtype=np.float32)
    for c, (base, slope) in enumerate([(265, 1.0), (250, 2.0), (270, 3.0), (262, 3.5)]):
        tb[:, c] = base - slope * rain + rng.normal(0, 1.0, rain.shape)
    rain[:, :, :3] = np.nan  # outside the radar swath
    return tb, rain.astype(np.float32)


def test_training_decreases_the_loss():
    tb, rain = _synthetic_scenes(n=8)
    result = train_drain(
        (tb, rain),
        model_kwargs={"base_channels": 4, "depth": 2},
        epochs=6,
        batch_size=4,
        learning_rate=5e-3,
        progress=False,
        schedule="constant",
    )
    losses = [entry["loss"] for entry in result.history]
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.8 * losses[0]
    assert not result.model.training
    # the normalisation is the data's, ready for the card
    np.testing.assert_allclose(
        result.normalisation["mean"], np.nanmean(tb, axis=(0, 2, 3)), rtol=1e-5
    )
    assert result.card_updates()["inputs"]["normalisation"] is result.normalisation


def test_training_accepts_a_dataset_and_a_dataloader():
    tb, rain = _synthetic_scenes(n=4, size=12)  # 12 is not a multiple of 4: padded inside
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(tb), torch.from_numpy(rain))
    norm = {"mean": [260.0] * 4, "std": [10.0] * 4}
    kwargs = {"base_channels": 4, "depth": 2}
    for data in (dataset, torch.utils.data.DataLoader(dataset, batch_size=2)):
        result = train_drain(
            data, model_kwargs=kwargs, normalisation=norm, epochs=1, batch_size=2, progress=False
        )
        assert result.history[0]["steps"] == 2
    with pytest.raises(InvalidArgumentError, match=r"\(N, C, H, W\)"):
        train_drain((tb[0], rain), progress=False)


# ------------------------------------------------------------------------------------------
# BRAIN
# ------------------------------------------------------------------------------------------

DB_TB = np.array([[250.0, 200.0], [240.0, 190.0], [270.0, 230.0], [245.0, 196.0], [262.0, 220.0]])
DB_RAIN = np.array([1.0, 4.0, 0.0, 2.5, 0.05])
SIGMA = np.array([5.0, 8.0])


def _hand_posterior(y, tb, rain, sigma, quantiles):
    weights = np.array([math.exp(-0.5 * sum(((y - t) / sigma) ** 2)) for t in tb])
    mean = sum(w * r for w, r in zip(weights, rain, strict=True)) / weights.sum()
    pop = weights[rain >= 0.1].sum() / weights.sum()
    order = np.argsort(rain)
    cdf = np.cumsum(weights[order]) / weights.sum()
    values = [rain[order][np.argmax(cdf >= q)] for q in quantiles]
    return mean, pop, values


def test_brain_posterior_matches_hand_computation():
    quantiles = (0.1, 0.5, 0.9)
    brain = BrainRetrieval(SIGMA, quantiles=quantiles, n_neighbours=10, search_radius=50.0)
    brain.fit(DB_TB, DB_RAIN)
    queries = np.array([[248.0, 198.0], [265.0, 225.0], [241.0, 191.0]])
    out = brain.predict(queries)
    assert out.shape == (3, 5) and out.dtype == np.float32
    for y, row in zip(queries, out, strict=True):
        mean, pop, values = _hand_posterior(y, DB_TB, DB_RAIN, SIGMA, quantiles)
        assert row[0] == pytest.approx(mean, rel=1e-5)
        assert row[1] == pytest.approx(pop, rel=1e-5)
        np.testing.assert_allclose(row[2:], values, rtol=1e-6)


def test_brain_is_stratified_by_surface_type_and_handles_nan():
    surface = np.array([0, 0, 1, 0, 1])
    brain = BrainRetrieval(SIGMA, n_neighbours=10, search_radius=50.0)
    brain.fit(DB_TB, DB_RAIN, surface)
    y = np.array([[[255.0, 210.0], [np.nan, 200.0]]])  # (1, 2, C) image-like
    out = brain.predict(y, surface_type=np.array([[1, 0]]))
    assert out.shape == (1, 2, 7)
    ocean = surface == 1
    mean, _, _ = _hand_posterior(y[0, 0], DB_TB[ocean], DB_RAIN[ocean], SIGMA, ())
    assert out[0, 0, 0] == pytest.approx(mean, rel=1e-5)
    assert np.isnan(out[0, 1]).all()
    # a surface type missing from the database searches all entries
    unknown = brain.predict(y[:, :1], surface_type=np.array([[7]]))
    mean_all, _, _ = _hand_posterior(y[0, 0], DB_TB, DB_RAIN, SIGMA, ())
    assert unknown[0, 0, 0] == pytest.approx(mean_all, rel=1e-5)


def test_brain_kdtree_search_matches_brute_force_and_far_pixels_stay_finite():
    rng = np.random.default_rng(1)
    tb = rng.normal(250, 20, (400, 3))
    rain = rng.gamma(0.4, 2.0, 400)
    sigma = np.array([3.0, 3.0, 4.0])
    queries = rng.normal(250, 20, (20, 3))
    # with n_neighbours >= the database size: the full posterior
    exact = BrainRetrieval(sigma, n_neighbours=400, search_radius=1e3).fit(tb, rain)
    full = np.array([_hand_posterior(y, tb, rain, sigma, ())[:2] for y in queries])
    np.testing.assert_allclose(exact.predict(queries)[:, :2], full, rtol=1e-4, atol=1e-7)
    # with fewer: the posterior over the n_neighbours nearest entries (documented behaviour)
    fast = BrainRetrieval(sigma, n_neighbours=25, search_radius=1e3).fit(tb, rain)
    for y, row in zip(queries, fast.predict(queries), strict=True):
        nearest = np.argsort((((tb - y) / sigma) ** 2).sum(axis=1))[:25]
        mean, pop, _ = _hand_posterior(y, tb[nearest], rain[nearest], sigma, ())
        assert row[:2] == pytest.approx([mean, pop], rel=1e-4, abs=1e-7)
    far = fast.predict(np.array([[400.0, 50.0, 400.0]]))  # hundreds of sigmas from any entry
    assert np.isfinite(far).all()


def test_brain_npz_round_trip_and_registry(registry_dir):
    brain = BrainRetrieval(SIGMA, n_neighbours=4, search_radius=3.0).fit(
        DB_TB, DB_RAIN, np.array([0, 0, 1, 0, 1])
    )
    path = brain.save(registry_dir / "db.npz")
    again = BrainRetrieval.load(path)
    queries = np.array([[248.0, 198.0], [265.0, 225.0]])
    np.testing.assert_allclose(again.predict(queries), brain.predict(queries), rtol=1e-5)
    card_updates = {
        "architecture": {"kwargs": {"sigma": SIGMA.tolist()}},
        "inputs": {"channels": ["37V", "89V"]},
    }
    models.save("brain-test", brain, card_updates, base="brain")
    assert (registry_dir / "weights" / "brain-test.npz").is_file()
    loaded = models.load("brain-test")
    np.testing.assert_allclose(loaded.predict(queries), brain.predict(queries), rtol=1e-5)
    with pytest.raises(InvalidArgumentError, match="fit"):
        BrainRetrieval(SIGMA).predict(queries)


# ------------------------------------------------------------------------------------------
# xgpm train
# ------------------------------------------------------------------------------------------


def _matchups(path, channels, n=4, size=16):
    import xarray as xr

    tb, rain = _synthetic_scenes(n=n, size=size)
    if len(channels) != 4:
        tb = np.concatenate([tb] * 4, axis=1)[:, : len(channels)]
    ds = xr.Dataset(
        {
            "Tc": (
                ("scene", "cross_track", "along_track", "pmw_frequency"),
                tb.transpose(0, 2, 3, 1),
            ),
            "surface_precip": (("scene", "cross_track", "along_track"), rain),
        },
        coords={"pmw_frequency": list(channels)},
    )
    ds.to_zarr(path, zarr_format=2, consolidated=True)
    return path


def test_xgpm_train_drain_and_brain_from_a_matchup_store(registry_dir):
    import argparse

    from xgpm.pipelines import cli

    store = _matchups(registry_dir / "m.zarr", ["37V", "37H", "89V", "89H"])
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["train", "drain", "--matchups", str(store), "--name", "drain-cli", "--epochs", "1"]
    )
    assert cli.run(args) == 0
    spec = models.card("drain-cli")
    assert "simulated data" in spec.training_data and "m.zarr" in spec.training_data
    assert spec.normalisation_mean != models.card("drain").normalisation_mean  # the data's
    assert isinstance(models.load("drain-cli", "cpu"), DrainUNet)

    store13 = _matchups(registry_dir / "m13.zarr", list(models.card("brain").input_channels))
    cli.train_from_matchups("brain", str(store13), name="brain-cli", progress=False)
    brain = models.load("brain-cli")
    assert brain.is_fitted and brain.n_channels == 13
    with pytest.raises(ModelNotFoundError):
        cli.train_from_matchups("drian", str(store))
