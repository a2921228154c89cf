"""CycleGAN_R / Red-GAN translation to pseudo-GMI (xgpm.translate.cyclegan)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xgpm import inference, models  # noqa: E402
from xgpm.errors import InvalidArgumentError  # noqa: E402
from xgpm.translate import cyclegan  # noqa: E402
from xgpm.translate.cyclegan import (  # noqa: E402
    PatchDiscriminator,
    TBGenerator,
    nearest_channel_map,
    train_cyclegan,
)
from xgpm.translate.train import GMI_CHANNELS, SOURCE_CHANNELS, extract_tiles  # noqa: E402

SSMIS = list(SOURCE_CHANNELS["ssmis"])
TINY = {"base_channels": 4, "depth": 2, "max_channels": 8}


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _generator(seed: int = 0, random_head: bool = True) -> TBGenerator:
    torch.manual_seed(seed)
    mapping = nearest_channel_map("SSMIS-F17", SSMIS, "GMI", GMI_CHANNELS)
    gen = TBGenerator(11, 13, mapping, **TINY)
    if random_head:  # a non-trivial correction (the trained head starts at zero)
        torch.nn.init.normal_(gen.head.weight, std=0.5)
    gen.set_normalisation([240.0] * 11, [25.0] * 11)
    return gen.eval()


def _card(name: str, gen: TBGenerator) -> dict:
    kwargs = {
        "in_channels": 11,
        "out_channels": 13,
        "identity_map": gen.identity_map.tolist(),
        **TINY,
    }
    return {
        "name": name,
        "task": "to_gmi",
        "framework": "torch",
        "architecture": {"name": "xgpm.translate.cyclegan:TBGenerator", "kwargs": kwargs},
        "inputs": {
            "sensor": "SSMIS",
            "sampling": "gmi",
            "channels": SSMIS,
            "normalisation": {
                "mean": gen.input_mean.tolist(),
                "std": gen.input_std.tolist(),
            },
        },
        "outputs": [{"name": "Tc", "units": "K", "dim": "pmw_frequency", "coords": GMI_CHANNELS}],
        "receptive_margin": gen.receptive_margin,
        "divisibility": gen.divisibility,
    }


def _tiles(n: int, channels: int, mean: float, seed: int, size=(16, 16)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = rng.normal(0, 1, (n, channels, *size)).cumsum(-1).cumsum(-2) / 4.0
    return (mean + 10.0 * smooth + rng.normal(0, 2, (n, channels, *size))).astype(np.float32)


def test_nearest_channel_map_follows_frequency_and_polarisation():
    mapping = nearest_channel_map("SSMIS-F17", SSMIS, "GMI", GMI_CHANNELS)
    chosen = dict(zip(GMI_CHANNELS, (SSMIS[i] for i in mapping), strict=True))
    assert chosen["37V"] == "37V" and chosen["37H"] == "37H"
    assert chosen["23V"] == "22V"
    assert chosen["89V"] == "91V" and chosen["89H"] == "91H"
    assert chosen["183V3"] == "183H3" and chosen["183V7"] == "183H7"
    assert chosen["10V"] == "19V" and chosen["10H"] == "19H"
    weights = cyclegan.channel_similarity("SSMIS-F17", SSMIS, "GMI", GMI_CHANNELS)
    by_label = dict(zip(GMI_CHANNELS, weights, strict=True))
    assert by_label["37V"] > by_label["89V"] > by_label["10V"]
    assert by_label["10V"] < 0.01


def test_shapes_and_output_in_physical_range_for_any_input():
    gen = _generator()
    lo, hi = gen.tb_range
    x = torch.cat(
        [
            torch.randn(2, 11, 16, 24),
            1e4 * torch.randn(1, 11, 16, 24),  # absurd inputs still map inside the range
            torch.full((1, 11, 16, 24), -1e6),
        ]
    )
    with torch.no_grad():
        out = gen(x)
    assert out.shape == (4, 13, 16, 24)
    assert torch.isfinite(out).all()
    assert float(out.min()) >= lo and float(out.max()) <= hi
    disc = PatchDiscriminator(13)
    assert disc(out).shape == (4, 1, 4, 6)
    with pytest.raises(InvalidArgumentError, match="multiples of 4"):
        gen(torch.zeros(1, 11, 10, 16))


def test_untrained_generator_is_the_nearest_channel_mapping():
    gen = _generator(random_head=False)
    tb = torch.as_tensor(_tiles(2, 11, 240.0, 1))
    x = (tb - gen.input_mean[:, None, None]) / gen.input_std[:, None, None]
    with torch.no_grad():
        out = gen(x)
    expected = tb[:, gen.identity_map]
    assert torch.allclose(out, expected, atol=0.05)


def test_tiled_equals_untiled_through_the_inference_engine():
    gen = _generator(seed=3)
    models.register(_card("test-cyclegan-tiling", gen), module=gen, overwrite=True)
    try:
        rng = np.random.default_rng(0)
        image = rng.normal(240, 25, (70, 45, 11)).astype(np.float32)
        whole = inference.predict_numpy("test-cyclegan-tiling", image)
        tiled = inference.predict_numpy("test-cyclegan-tiling", image, tile=(16, 12))
        assert whole.shape == (70, 45, 13)
        np.testing.assert_allclose(tiled, whole, atol=2e-3)
        # the module itself on an overlapping crop: pixels farther than the margin from the
        # crop's edges match (crop origin aligned on the pooling grid)
        m = gen.receptive_margin
        x = (torch.as_tensor(image).permute(2, 0, 1)[None] - 240.0) / 25.0
        with torch.no_grad():
            full = gen(x[..., :68, :44])
            crop = gen(x[..., 8:68, 4:44])
        np.testing.assert_allclose(
            crop[..., m : 60 - m, m : 40 - m].numpy(),
            full[..., 8 + m : 68 - m, 4 + m : 44 - m].numpy(),
            atol=2e-3,
        )
    finally:
        models.unregister("test-cyclegan-tiling")


def _offset_tiles(n: int, offsets: np.ndarray, seed: int) -> np.ndarray:
    """Tiles whose channels are one smooth field plus a constant offset per channel."""
    field = _tiles(n, 1, 0.0, seed)
    return (240.0 + field + offsets[None, :, None, None]).astype(np.float32)


def test_training_steps_reduce_the_cycle_loss():
    rng = np.random.default_rng(0)
    # channel offsets that the nearest-channel mapping does not undo (183H1 vs 183H3,
    # 10V vs 19V ...): the cycle closes only if G and F learn them
    source = _offset_tiles(8, rng.normal(0, 12, 11), 1)
    target = _offset_tiles(8, rng.normal(0, 12, 13), 2)
    result = train_cyclegan(
        source,
        target,
        source_channels=SSMIS,
        generator_kwargs=TINY,
        steps=30,
        batch_size=4,
        learning_rate=1e-2,
        loss_weights={"adversarial": 0.0, "low_frequency": 0.0},
        augment=False,
        progress=False,
        max_minutes=1.0,
        inverse_kind="unet",
        source_noise=False,
    )
    untrained = train_cyclegan(
        source,
        target,
        source_channels=SSMIS,
        generator_kwargs=TINY,
        steps=0,
        progress=False,
        inverse_kind="unet",
    )
    before = cyclegan.cycle_consistency(untrained.generator, untrained.inverse, source, target)
    after = cyclegan.cycle_consistency(result.generator, result.inverse, source, target)
    assert len(result.history) == 30
    assert after < 0.7 * before
    assert not result.generator.training
    np.testing.assert_allclose(result.normalisation["mean"], source.mean(axis=(0, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(result.generator.input_mean.numpy(), result.normalisation["mean"])


def _tiny_drain_card(name: str) -> dict:
    card = models.card("drain").to_dict()
    card["name"] = name
    card["architecture"]["kwargs"].update(base_channels=4, depth=1, max_channels=8)
    card.pop("weights", None)
    card.pop("receptive_margin", None)
    card.pop("divisibility", None)
    return card


def test_redgan_keeps_drain_frozen_and_uses_the_rain_term():
    from xgpm.models.unet import DrainUNet

    torch.manual_seed(0)
    name = "test-cyclegan-drain"
    kwargs = _tiny_drain_card(name)["architecture"]["kwargs"]
    models.register(_tiny_drain_card(name), module=DrainUNet(**kwargs), overwrite=True)
    try:
        drain = models.load(name, "cpu")
        before = copy.deepcopy(drain.state_dict())
        source = _tiles(6, 11, 230.0, 0)
        target = _tiles(6, 13, 245.0, 1)
        rng = np.random.default_rng(2)
        # whole scenes of any size; NaN source pixels and NaN references are not scored
        scenes = []
        for shape in ((16, 24), (24, 16)):
            tb = _tiles(1, 11, 230.0, 3, size=shape)[0]
            tb[:, :2] = np.nan
            rain = np.abs(rng.normal(0, 2, shape)).astype(np.float32)
            rain[:, :4] = np.nan
            scenes.append((tb, rain))
        with pytest.raises(InvalidArgumentError, match="rain_pairs"):
            train_cyclegan(source, target, source_channels=SSMIS, method="redgan", steps=1)
        result = train_cyclegan(
            source,
            target,
            source_channels=SSMIS,
            method="redgan",
            rain_pairs=scenes,
            drain=name,
            generator_kwargs=TINY,
            steps=3,
            batch_size=2,
            learning_rate=1e-2,
            progress=False,
        )
        assert all(h["rain"] > 0 for h in result.history)
        assert not drain.training
        after = drain.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)
        assert not any(p.requires_grad for p in drain.parameters())
        # the generator did learn
        assert float(result.generator.head.weight.detach().abs().sum()) > 0
        with pytest.raises(InvalidArgumentError, match="each pair needs source"):
            train_cyclegan(
                source,
                target,
                source_channels=SSMIS,
                method="redgan",
                rain_pairs=[(source[0], np.zeros((3, 3)))],
                drain=name,
                steps=1,
            )
    finally:
        models.unregister(name)


def test_bad_inputs_raise_clear_errors():
    source = _tiles(2, 11, 230.0, 0)
    target = _tiles(2, 13, 245.0, 1)
    with pytest.raises(InvalidArgumentError, match=r"source must be tiles \(N, 11"):
        train_cyclegan(source[:, :5], target, source_channels=SSMIS, steps=1)
    with pytest.raises(InvalidArgumentError, match="method"):
        train_cyclegan(source, target, source_channels=SSMIS, method="pix2pix", steps=1)
    with pytest.raises(InvalidArgumentError, match="unknown loss weights"):
        train_cyclegan(source, target, source_channels=SSMIS, loss_weights={"gan": 1.0})
    with pytest.raises(InvalidArgumentError, match="identity_map"):
        TBGenerator(11, 13, [0] * 12)


def test_checkpoint_round_trip_resumes_training(tmp_path):
    source = _tiles(4, 11, 230.0, 0)
    target = _tiles(4, 13, 245.0, 1)
    kwargs = {"source_channels": SSMIS, "generator_kwargs": TINY, "progress": False}
    first = train_cyclegan(source, target, steps=2, batch_size=2, **kwargs)
    path = cyclegan.save_checkpoint(first, tmp_path / "run.pt")
    again = cyclegan.load_checkpoint(path)
    x = torch.randn(1, 11, 16, 16)
    y = torch.randn(1, 13, 16, 16)
    with torch.no_grad():
        assert torch.equal(again.generator(x), first.generator(x))
        assert torch.equal(again.inverse(y), first.inverse(y))
        assert torch.equal(again.discriminators["gmi"](y), first.discriminators["gmi"](y))
    assert again.history == first.history and again.normalisation == first.normalisation
    resumed = train_cyclegan(source, target, steps=1, batch_size=2, init=again, **kwargs)
    assert len(resumed.history) == 1
    # a frozen generator (as xgpm.models.load returns it) is copied, not modified
    frozen = copy.deepcopy(first.generator).requires_grad_(False)
    before = copy.deepcopy(frozen.state_dict())
    grown = train_cyclegan(source, target, steps=2, batch_size=2, init=frozen, **kwargs)
    assert all(torch.equal(before[k], v) for k, v in frozen.state_dict().items())
    assert not all(torch.equal(before[k], v) for k, v in grown.generator.state_dict().items())


def test_extract_tiles_keeps_only_complete_windows():
    swath = np.full((40, 20, 3), 250.0, dtype=np.float32)
    swath[:10, :, 1] = np.nan  # the first 10 rows lack a channel
    tiles = extract_tiles([swath], tile=(16, 8), stride=(8, 4))
    # complete windows start at rows 16 and 24 (row 8 overlaps the NaN rows), columns 0..12
    assert tiles.shape == (2 * 4, 3, 16, 8)
    assert np.isfinite(tiles).all()


def test_save_generator_round_trip(tmp_path):
    gen = _generator(seed=5)
    result = cyclegan.CycleGANResult(
        generator=gen,
        inverse=_generator(seed=6),
        discriminators={},
        source_channels=tuple(SSMIS),
        target_channels=tuple(GMI_CHANNELS),
        normalisation={"mean": gen.input_mean.tolist(), "std": gen.input_std.tolist()},
        history=[{"seconds": 60.0}],
    )
    path = cyclegan.save_generator(
        "test-cyclegan-saved",
        result,
        method="cyclegan_r",
        training_data="Trained on simulated data only (test).",
        directory=tmp_path,
    )
    assert path == tmp_path / "cards" / "test-cyclegan-saved.yaml"
    previous = models.set_weights_dir(tmp_path)
    try:
        spec = models.card("test-cyclegan-saved")
        loaded = models.load("test-cyclegan-saved", "cpu")
        x = torch.randn(1, 11, 16, 16)
        with torch.no_grad():
            assert torch.allclose(loaded(x), gen(x))
        assert spec.raw["task"] == "to_gmi" and spec.raw["method"] == "cyclegan_r"
        assert spec.raw["inputs"]["sampling"] == "gmi"
        assert spec.output("Tc").coords == tuple(GMI_CHANNELS)
        assert spec.receptive_margin == gen.receptive_margin
    finally:
        models.set_weights_dir(previous)
        models.clear_cache()


@pytest.mark.parametrize("name", ["cyclegan_r-ssmis", "redgan-ssmis"])
def test_shipped_weights_load_and_match_their_card(name):
    assert name in models.list_models(with_weights=True), f"{name}: weights ship with xgpm"
    spec = models.card(name)
    module = models.load(name, "cpu")
    assert isinstance(module, TBGenerator)
    assert spec.raw["task"] == "to_gmi" and spec.raw["method"] == name.split("-")[0]
    assert spec.sensor == "SSMIS" and spec.raw["inputs"]["sampling"] == "gmi"
    assert spec.input_channels == tuple(SSMIS)
    assert spec.output("Tc").coords == tuple(GMI_CHANNELS)
    np.testing.assert_allclose(module.input_mean.numpy(), spec.normalisation_mean, rtol=1e-6)
    np.testing.assert_allclose(module.input_std.numpy(), spec.normalisation_std, rtol=1e-6)
    assert spec.receptive_margin >= module.receptive_margin
    assert spec.divisibility % module.divisibility == 0
    assert "simulated data only" in spec.training_data
    # a plausible SSMIS scene gives plausible GMI brightness temperatures
    image = np.stack(
        [np.full((32, 16), m, dtype=np.float32) for m in spec.normalisation_mean], axis=-1
    )
    out = inference.predict_numpy(name, image)
    assert np.isfinite(out).all() and 80.0 < out.min() and out.max() < 320.0


def _cheap_truth(lat, lon, times, *, seed, resolution_km=None):
    """Static rain cells (a cheap stand-in for xgpm.simulate.truth_scene)."""
    import xarray as xr

    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if lat.ndim == 1:
        lat, lon = np.meshgrid(lat, lon, indexing="ij")
    rain = 12.0 * np.clip(np.cos(np.deg2rad(lat) * 1440) * np.cos(np.deg2rad(lon) * 1030), 0, None)
    fields = {
        "surface_precip": rain.astype("float32"),
        "precip_type": np.where(rain > 5, 2, np.where(rain > 0, 1, 0)).astype("int8"),
        "t2m": np.full(lat.shape, 285.0, "float32"),
        "surface_type": np.zeros(lat.shape, "int8"),
    }
    nt = len(np.atleast_1d(times))
    return xr.Dataset(
        {k: (("time", "y", "x"), np.repeat(v[None], nt, 0)) for k, v in fields.items()},
        coords={
            "time": np.asarray(times, dtype="datetime64[ns]"),
            "lat": (("y", "x"), lat),
            "lon": (("y", "x"), lon),
        },
    )


def _cheap_rtm(scene, channels, incidence=None):
    import xarray as xr

    rain = scene["surface_precip"]
    return xr.concat([280.0 - 4.0 * rain for _ in channels], dim="pmw_frequency").assign_coords(
        pmw_frequency=[c.label for c in channels]
    )


def test_cli_trains_on_simulated_granules_and_saves_a_loadable_card(tmp_path):
    from xgpm.simulate import products
    from xgpm.translate import train

    region = products.Region.square("small", 46.5, 2.5, 400.0)
    products.simulate_to_disk(
        tmp_path / "sim",
        region,
        "2021-01-01T05:00",
        end="2021-01-01T06:30",
        sensors="gmi,ssmis-f17",
        progress=False,
        truth_fn=_cheap_truth,
        rtm_fn=_cheap_rtm,
    )
    argv = ["--method", "cyclegan_r", "--source", "ssmis", "--granules", str(tmp_path / "sim")]
    argv += ["--cache", str(tmp_path / "cache"), "--tile", "16", "16", "--steps", "2"]
    argv += ["--batch-size", "2", "--output-dir", str(tmp_path / "registry")]
    argv += ["--name", "test-cyclegan-cli", "--sharpen-steps", "3", "--base-channels", "4"]
    assert train.main(argv) == 0
    cached = sorted(p.name for p in (tmp_path / "cache").glob("*.npz"))
    assert [n.split("-1")[0] for n in cached] == ["1C-GMI", "1C-SSMIS-F17"]
    with np.load(tmp_path / "cache" / cached[1]) as data:  # SSMIS densified across track
        assert data["Tc"].shape[0] == 2 * 180 - 1 and data["Tc"].shape[2] == 11
    previous = models.set_weights_dir(tmp_path / "registry")
    try:
        spec = models.card("test-cyclegan-cli")
        assert spec.training_data.startswith("Trained on unpaired SSMIS and GMI scenes read")
        assert spec.raw["training"]["steps"] == 2
        loaded = models.load("test-cyclegan-cli", "cpu")
        assert isinstance(loaded, TBGenerator) and loaded.config["base_channels"] == 4
    finally:
        models.set_weights_dir(previous)
        models.clear_cache()
    with pytest.raises(InvalidArgumentError, match="source="):
        train.simulate_overpasses(tmp_path, source="amsu")
    with pytest.raises(InvalidArgumentError, match="drop --init"):
        train.main(argv + ["--init", "cyclegan_r-ssmis", "--no-save"])
    with pytest.raises(InvalidArgumentError, match="no complete"):
        train.main(argv[:6] + ["--cache", str(tmp_path / "c2"), "--tile", "512", "512"])
    with pytest.raises(InvalidArgumentError, match="--validate-every"):
        train.main(argv + ["--validate-every", "-1", "--no-save"])
    # DANN from the CLI: stage 1 first, then the feature alignment (the frozen shipped DRAIN)
    dann_argv = [a if a != "cyclegan_r" else "dann" for a in argv]
    dann_argv = [a if a != "test-cyclegan-cli" else "test-dann-cli" for a in dann_argv]
    assert train.main(dann_argv) == 0
    previous = models.set_weights_dir(tmp_path / "registry")
    try:
        spec = models.card("test-dann-cli")
        assert spec.raw["method"] == "dann" and "DANN: a domain classifier" in spec.training_data
        assert spec.raw["training"]["steps"] == 3 + 2  # stage 1, then DANN
    finally:
        models.set_weights_dir(previous)
        models.clear_cache()
    no_stage1 = [a for a in dann_argv if a not in ("--sharpen-steps", "3")]
    with pytest.raises(InvalidArgumentError, match="refines a stage-1 generator"):
        train.main(no_stage1 + ["--no-save"])


def test_paired_fields_put_gmi_drain_and_dpr_on_the_dense_source_swath():
    from xgpm.models.unet import DrainUNet
    from xgpm.simulate import products
    from xgpm.translate import scenes, train

    region = products.Region.square("small", 46.5, 2.5, 400.0)
    found = list(
        scenes.paired_scenes(
            region,
            "2021-01-01T05:00",
            days=0.05,
            source="ssmis-f17",
            progress=False,
            min_pixels=10,
            truth_fn=_cheap_truth,
            rtm_fn=_cheap_rtm,
        )
    )
    assert found, "the window holds one SSMIS-F17 pass over the region"
    name = "test-cyclegan-drain-fields"
    kwargs = _tiny_drain_card(name)["architecture"]["kwargs"]
    torch.manual_seed(0)
    models.register(_tiny_drain_card(name), module=DrainUNet(**kwargs), overwrite=True)
    try:
        fields = train.paired_fields(found, drain=name)
    finally:
        models.unregister(name)
    assert len(fields) == len(found)
    f = fields[0]
    n_rows, n_cols = f.source.shape[1:]
    assert f.source.shape[0] == 11 and f.gmi.shape == (13, n_rows, n_cols)
    assert n_rows % 8 == 0 and n_cols % 8 == 0
    assert f.drain_gmi.shape == f.dpr.shape == (n_rows, n_cols)
    seen_by_gmi = np.isfinite(f.gmi).all(0)
    assert seen_by_gmi.any(1).all()  # cropped to the rows the GMI swath covers
    assert np.isfinite(f.drain_gmi[seen_by_gmi]).all()
    if found[0].dpr is None:  # this grazing pass misses the narrow DPR swath
        assert np.isnan(f.dpr).all()
    else:
        assert np.isfinite(f.dpr).any() and not np.isfinite(f.dpr).all()
    # cheap world: GMI and SSMIS see the same TB (280 - 4 rain) up to noise and footprints
    both = seen_by_gmi & np.isfinite(f.source).all(0)
    assert abs(np.nanmean(f.gmi[5][both]) - np.nanmean(f.source[3][both])) < 3.0


# -- the physics-structured inverse (footprint blur) ---------------------------------------


def _inverse(extra_sigma: float = 1e-3) -> cyclegan.FootprintInverse:
    mapping = nearest_channel_map("GMI", GMI_CHANNELS, "SSMIS-F17", SSMIS)
    sigma = cyclegan.footprint_blur_sigmas("SSMIS-F17", SSMIS, "GMI", GMI_CHANNELS)
    inverse = cyclegan.FootprintInverse(13, 11, mapping, sigma, extra_sigma=extra_sigma)
    inverse.set_normalisation([240.0] * 13, [25.0] * 13)
    return inverse.eval()


def test_footprint_blur_follows_the_registry_footprints():
    sigma = np.array(cyclegan.footprint_blur_sigmas("SSMIS-F17", SSMIS, "GMI", GMI_CHANNELS))
    # wider SSMIS footprints at lower frequency: more blur; none GMI -> GMI
    assert sigma[SSMIS.index("19V")].min() > sigma[SSMIS.index("37V")].max() * 0.9
    assert (sigma[SSMIS.index("37V")] > sigma[SSMIS.index("91V")]).all()
    same = cyclegan.footprint_blur_sigmas("GMI", GMI_CHANNELS, "GMI", GMI_CHANNELS)
    assert np.array(same).max() == 0.0
    # pixel units: the same blur in km is fewer pixels along track (13.2 km between scans)
    assert (sigma[:, 0] > sigma[:, 1]).all()


def test_footprint_inverse_blurs_an_impulse_to_the_footprint_width():
    inverse = _inverse().double()  # float64: float32 rounding at 250 K swamps the far tails
    field = torch.full((1, 13, 65, 33), 250.0, dtype=torch.float64)
    field[:, :, 32, 16] = 300.0  # one hot pixel
    with torch.no_grad():
        out = inverse((field - 240.0) / 25.0)[0]
    sigma = inverse.sigma().detach().numpy()
    for o in (SSMIS.index("37V"), SSMIS.index("91V")):
        excess = out[o].numpy() - 250.0
        assert excess.sum() == pytest.approx(50.0, rel=1e-3)  # energy kept
        rows = np.arange(65) - 32
        spread = np.sqrt((excess.sum(1) * rows**2).sum() / excess.sum())
        assert spread == pytest.approx(sigma[o, 0], rel=0.05)
        assert excess.max() < 50.0 * 0.5  # it cannot sharpen: the peak is spread out
    # a uniform field stays uniform (no edge artefacts from the padding)
    with torch.no_grad():
        flat = inverse(torch.full((1, 13, 40, 20), 0.4, dtype=torch.float64))
    np.testing.assert_allclose(flat.numpy(), 250.0, atol=1e-3)


def test_footprint_inverse_outputs_stay_in_the_physical_range():
    inverse = _inverse()
    torch.nn.init.normal_(inverse.spectral[-1].weight, std=5.0)
    with torch.no_grad():
        out = inverse(torch.randn(2, 13, 24, 16) * 50.0)
    lo, hi = cyclegan.DEFAULT_TB_RANGE
    assert torch.isfinite(out).all() and out.min() >= lo and out.max() <= hi


def test_sharpening_stage_learns_to_undo_the_footprints_from_gmi_scenes_alone():
    # "GMI" scenes: sharp cells on a 240 K background; the "SSMIS" tiles are other such scenes
    # seen through the registry footprints. Training reads GMI scenes only (the source sets the
    # normalisation), yet G must then sharpen held-out SSMIS views towards their GMI scenes.
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:32, 0:16]

    def sharp(n: int) -> np.ndarray:
        out = np.full((n, 13, 32, 16), 240.0, np.float32)
        for k in range(n):
            for _ in range(4):
                r, c, amp = rng.uniform(0, 32), rng.uniform(0, 16), rng.uniform(-40, 20)
                out[k] += amp * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 2.0)
        return out

    physics = _inverse(extra_sigma=0.3)

    def seen_by_ssmis(gmi: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return physics((torch.from_numpy(gmi) - 240.0) / 25.0).numpy()

    target, source = sharp(48), seen_by_ssmis(sharp(48))
    kwargs = dict(source_channels=SSMIS, generator_kwargs=TINY, seed=0)
    start = train_cyclegan(source, target, steps=0, progress=False, **kwargs)
    with torch.no_grad():
        start.inverse.extra.fill_(float(np.log(np.expm1(0.3))))
    untrained = copy.deepcopy(start)
    trained = cyclegan.train_sharpening(
        source,
        target,
        init=start,
        steps=150,
        batch_size=8,
        learning_rate=5e-3,
        source_noise=False,
        progress=False,
        **kwargs,
    )
    assert len(trained.history) == 150
    assert not trained.generator.training
    assert not any(p.requires_grad for p in trained.inverse.parameters())  # the physics stays
    held_gmi = sharp(16)
    held_source = seen_by_ssmis(held_gmi)
    index = [GMI_CHANNELS.index(c) for c in ("37V", "89V")]
    errors = []
    for result in (untrained, trained):
        g = result.generator
        with torch.no_grad():
            x = (torch.from_numpy(held_source) - g.input_mean[:, None, None]) / g.input_std[
                :, None, None
            ]
            errors.append(np.abs(g(x).numpy()[:, index] - held_gmi[:, index]).mean())
    assert errors[1] < 0.8 * errors[0]


def test_sharpening_needs_the_footprint_inverse():
    tiles = _tiles(4, 13, 240.0, 0)
    unet = train_cyclegan(
        _tiles(4, 11, 240.0, 1),
        tiles,
        source_channels=SSMIS,
        generator_kwargs=TINY,
        steps=0,
        progress=False,
        inverse_kind="unet",
    )
    with pytest.raises(InvalidArgumentError, match="FootprintInverse"):
        cyclegan.train_sharpening(tiles[:, :11], tiles, source_channels=SSMIS, init=unet, steps=1)
    with pytest.raises(InvalidArgumentError, match="inverse_kind"):
        train_cyclegan(tiles[:, :11], tiles, source_channels=SSMIS, inverse_kind="free")


def test_validation_keeps_the_best_scored_generator_not_the_last(tmp_path):
    # A validation that prefers the generator closest to its starting state: training only
    # drifts away, so the first scored step must be kept, and its weights restored.
    tiles = _tiles(8, 13, 240.0, 0)
    start = train_cyclegan(
        tiles[:, :11], tiles, source_channels=SSMIS, generator_kwargs=TINY, steps=0, progress=False
    )
    reference = {k: v.clone() for k, v in start.generator.state_dict().items()}
    snapshots = {}

    def drift(generator: TBGenerator) -> float:
        state = generator.state_dict()
        snapshots[len(snapshots)] = {k: v.clone() for k, v in state.items()}
        return float(sum((state[k].float() - reference[k].float()).abs().sum() for k in state))

    result = cyclegan.train_sharpening(
        tiles[:, :11],
        tiles,
        source_channels=SSMIS,
        init=copy.deepcopy(start),
        steps=9,
        batch_size=2,
        learning_rate=1e-2,
        progress=False,
        validation=drift,
        validate_every=4,
    )
    assert [s for s, _ in result.selection["scores"]] == [3, 7, 8]  # every 4 steps and the last
    assert [h.get("validation") is not None for h in result.history[-9:]] == [
        False,
        False,
        False,
        True,
        False,
        False,
        False,
        True,
        True,
    ]
    scores = [v for _, v in result.selection["scores"]]
    assert result.selection["best_step"] == 3 and scores[0] == min(scores) < scores[-1]
    kept = result.generator.state_dict()
    assert all(torch.equal(kept[k], snapshots[0][k]) for k in kept)
    saved = cyclegan.load_checkpoint(cyclegan.save_checkpoint(result, tmp_path / "run.pt"))
    assert saved.selection == result.selection
    with pytest.raises(InvalidArgumentError, match="validate_every"):
        cyclegan.train_sharpening(
            tiles[:, :11],
            tiles,
            source_channels=SSMIS,
            init=start,
            steps=1,
            progress=False,
            validation=drift,
            validate_every=0,
        )
    with pytest.raises(InvalidArgumentError, match="validation returned"):
        cyclegan.train_sharpening(
            tiles[:, :11],
            tiles,
            source_channels=SSMIS,
            init=copy.deepcopy(start),
            steps=1,
            progress=False,
            validation=lambda g: float("nan"),
        )


def _register_tiny_drain(name: str):
    from xgpm.models.unet import DrainUNet

    torch.manual_seed(0)
    kwargs = _tiny_drain_card(name)["architecture"]["kwargs"]
    models.register(_tiny_drain_card(name), module=DrainUNet(**kwargs), overwrite=True)
    return models.load(name, "cpu")


def test_sharpening_with_drain_as_third_player_keeps_drain_frozen():
    name = "test-sharpen-drain"
    drain = _register_tiny_drain(name)
    try:
        before = copy.deepcopy(drain.state_dict())
        tiles = _tiles(6, 13, 245.0, 1)
        kwargs = dict(source_channels=SSMIS, generator_kwargs=TINY, progress=False)
        plain = cyclegan.train_sharpening(tiles[:, :11], tiles, steps=3, batch_size=2, **kwargs)
        assert plain.method == "cyclegan_r" and all(h["rain"] == 0 for h in plain.history)
        for scale in (None, 0.1):
            red = cyclegan.train_sharpening(
                tiles[:, :11],
                tiles,
                steps=3,
                batch_size=2,
                rain_weight=1.0,
                rain_scale=scale,
                drain=name,
                **kwargs,
            )
            assert red.method == "redgan"
            assert all(h["rain"] > 0 for h in red.history[-3:])
            assert all(h["generator"] > h["cycle"] for h in red.history[-3:])
        after = drain.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)
        with pytest.raises(InvalidArgumentError, match="rain_weight"):
            cyclegan.train_sharpening(tiles[:, :11], tiles, steps=1, rain_weight=-1, **kwargs)
    finally:
        models.unregister(name)


def test_gradient_reversal_flips_and_scales_the_gradient():
    from xgpm.translate.dann import grad_reverse

    x = torch.tensor([1.0, -2.0], requires_grad=True)
    out = grad_reverse(x * 3.0, 0.5)
    assert torch.equal(out.detach(), torch.tensor([3.0, -6.0]))
    out.sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-1.5, -1.5]))


def test_dann_aligns_drain_features_and_round_trips(tmp_path):
    from xgpm.translate import dann

    name = "test-dann-drain"
    drain = _register_tiny_drain(name)
    try:
        before = copy.deepcopy(drain.state_dict())
        source, target = _tiles(6, 11, 230.0, 0), _tiles(6, 13, 245.0, 1)
        kwargs = dict(source_channels=SSMIS, generator_kwargs=TINY, progress=False)
        stage1 = cyclegan.train_sharpening(source, target, steps=2, batch_size=2, **kwargs)
        result = dann.train_dann(
            stage1,
            source,
            target,
            drain=name,
            steps=4,
            batch_size=2,
            learning_rate=1e-2,
            progress=False,
        )
        assert result.method == "dann" and isinstance(
            result.discriminators["features"], dann.DomainClassifier
        )
        assert all(0.0 <= h["discriminator"] <= 1.0 for h in result.history[-4:])
        assert all(h["generator"] > h["cycle"] for h in result.history[-4:])
        moved = sum(
            float((a - b).detach().abs().sum())
            for a, b in zip(
                result.generator.parameters(), stage1.generator.parameters(), strict=True
            )
        )
        assert moved > 0  # trained a copy: the stage-1 generator is untouched
        after = drain.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)
        saved = cyclegan.load_checkpoint(cyclegan.save_checkpoint(result, tmp_path / "d.pt"))
        assert saved.method == "dann"
        features = torch.randn(1, result.discriminators["features"].net[0].in_channels, 4, 4)
        with torch.no_grad():
            assert torch.equal(
                saved.discriminators["features"](features),
                result.discriminators["features"](features),
            )
        with pytest.raises(InvalidArgumentError, match="stage-1"):
            dann.train_dann(stage1.generator, source, target, drain=name, steps=1)
        with pytest.raises(InvalidArgumentError, match="domain_weight"):
            dann.train_dann(stage1, source, target, drain=name, steps=1, domain_weight=0)
        with pytest.raises(InvalidArgumentError, match="no layer"):
            dann.train_dann(stage1, source, target, drain=name, steps=1, layer="nothing")
    finally:
        models.unregister(name)


def test_rain_validation_scores_source_dpr_pixels_only():
    from xgpm.translate import train

    rng = np.random.default_rng(0)
    shape = (64, 32)
    source = _tiles(1, 11, 240.0, 0, size=shape)[0]
    gmi = np.full((13, *shape), np.nan, np.float32)  # no GMI: a source-DPR coincidence
    dpr = np.abs(rng.normal(0, 1, shape)).astype(np.float32)
    field = train.PairedField(source=source, gmi=gmi, drain_gmi=np.zeros(shape), dpr=dpr)
    generator = _generator()
    seen = train.scored_pixels(field, need_gmi=False)
    assert 0 < seen.sum() < seen.size  # the 80 km edge is left out
    assert not train.scored_pixels(field).any()  # with GMI asked: nothing to score
    validate = train.rain_validation([field])
    scores = train.score_generator(generator, [field], need_gmi=False)
    assert validate(generator) == pytest.approx(scores["mse"]) and scores["n"] == seen.sum()
    assert "tb_mae_k" not in scores
    with pytest.raises(InvalidArgumentError, match="metric"):
        train.rain_validation([field], metric="csi")
    with pytest.raises(InvalidArgumentError, match="no paired field"):
        train.rain_validation([])
