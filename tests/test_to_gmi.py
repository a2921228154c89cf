"""Tests of ds.gpm.to_gmi (xgpm.translate.to_gmi) and its baselines."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xgpm.models as models
from xgpm.errors import InvalidArgumentError, MissingChannelsError, ModelNotFoundError
from xgpm.simulate.products import Region
from xgpm.translate import find_model, grid, to_gmi, to_gmi_models
from xgpm.translate.baselines import (
    GMI_CHANNELS,
    IdentityTranslation,
    QuantileMapping,
    channel_mapping,
    identity_card,
)
from xgpm.translate.scenes import PairedScene, paired_scenes

REGION = Region.square("small", 46.5, 2.5, 500.0)
# An F17 overpass of REGION with the virtual DPR crossing it (granule 175881).
START, DAYS = "2021-01-01T16:15", 0.05
QM_TEST = "quantile_mapping-testssmis"
pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = "tiny_translator-ssmis"


@pytest.fixture(scope="module")
def scene() -> PairedScene:
    """A small but physical paired scene (the real truth and RTM on a 5 km grid)."""
    (found,) = paired_scenes(REGION, START, DAYS, progress=False, min_pixels=100, truth_res_km=5.0)
    return found


@pytest.fixture(scope="module")
def source(scene: PairedScene) -> xr.Dataset:
    return scene.source


@pytest.fixture(scope="module", autouse=True)
def registered(scene: PairedScene):
    """A quantile mapping fitted on the scene, and a tiny torch translator, in memory."""
    from xgpm.translate.fit_baselines import fit_quantile_mapping, quantile_mapping_card

    qm, _ = fit_quantile_mapping([scene], "SSMIS-F17", min_samples=200)
    card = quantile_mapping_card("SSMIS", qm, "test scene")
    card["name"] = QM_TEST
    card["method"] = "quantile_mapping_test"
    models.register(card, module=qm, overwrite=True)
    torch = pytest.importorskip("torch")
    tiny = _tiny_card()
    models.register(tiny, factory=_TinyTranslator, module=_TinyTranslator(), overwrite=True)
    del torch
    yield
    models.unregister(QM_TEST)
    models.unregister(TINY)


def _tiny_card() -> dict:
    channels = ["37V", "37H", "91V", "91H"]
    return {
        "name": TINY,
        "task": "to_gmi",
        "method": "tiny",
        "framework": "torch",
        "architecture": {"name": "tests.test_to_gmi:_TinyTranslator"},
        "inputs": {
            "sensor": "SSMIS",
            "sampling": "gmi",
            "channels": channels,
            "normalisation": {"mean": [250.0] * 4, "std": [30.0] * 4},
        },
        "outputs": [
            {"name": "Tc", "units": "K", "dim": "pmw_frequency", "coords": list(GMI_CHANNELS)}
        ],
        "receptive_margin": 2,
        "divisibility": 1,
    }


def _TinyTranslator():  # noqa: N802 - a factory named like the module it returns
    import torch
    from torch import nn

    class TinyTranslator(nn.Module):
        receptive_margin = 2
        divisibility = 1

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.a = nn.Conv2d(4, 8, 3, padding=1)
            self.b = nn.Conv2d(8, 13, 3, padding=1)

        def forward(self, x):
            return 250.0 + 10.0 * self.b(torch.tanh(self.a(x)))

    return TinyTranslator()


# ------------------------------------------------------------------------------------------
# channel correspondence and identity
# ------------------------------------------------------------------------------------------


def test_channel_mapping_follows_the_registry() -> None:
    ssmis = channel_mapping("SSMIS-F17")
    assert ssmis["89V"] == ("91V", "same polarisation")
    assert ssmis["37H"] == ("37H", "same polarisation")
    assert ssmis["10V"] == ("19V", "nearest frequency")  # SSMIS has no 10 GHz channel
    assert ssmis["183V3"] == ("183H3", "other polarisation")
    assert channel_mapping("AMSR2-GCOMW1")["10H"][0] == "10.65H"
    assert channel_mapping("SSMIS-F16") == ssmis  # one card for every platform


@pytest.mark.parametrize("instrument", ["SSMIS", "SSMI", "AMSR2", "AMSRE", "TMI"])
def test_shipped_identity_cards_match_the_registry(instrument: str) -> None:
    spec = models.card(f"identity-{instrument.lower()}")
    assert spec.to_dict() == identity_card(instrument)
    model = models.load(spec.name)
    assert isinstance(model, IdentityTranslation)
    tb = np.arange(len(spec.input_channels), dtype=np.float32) + 200.0
    out = model.predict(tb)
    mapping = spec.raw["architecture"]["kwargs"]["mapping"]
    for j, label in enumerate(GMI_CHANNELS):
        assert out[j] == tb[list(spec.input_channels).index(mapping[label])]


def test_identity_on_source_pixels_copies_the_channels(source: xr.Dataset) -> None:
    out = to_gmi(source, "identity", sampling="source")
    assert list(out["pmw_frequency"].values) == list(GMI_CHANNELS)
    assert out["Tc"].dims == ("cross_track", "along_track", "pmw_frequency")
    for label, (src_label, _) in channel_mapping("SSMIS-F17").items():
        np.testing.assert_array_equal(
            out["Tc"].sel(pmw_frequency=label).values,
            source["Tc"].sel(pmw_frequency=src_label).values,
        )
    xr.testing.assert_equal(out["lon"], source["lon"])
    xr.testing.assert_equal(out["time"], source["time"])


def test_gmi_sampling_densifies_the_swath(source: xr.Dataset) -> None:
    out = to_gmi(source, "identity")
    k_cross, k_along = out.attrs["xgpm_upsampling"]
    assert k_cross == 2  # SSMIS 180-pixel scans: ~12.4 km -> ~6 km
    assert out.sizes["cross_track"] == (source.sizes["cross_track"] - 1) * k_cross + 1
    across, _ = grid.pixel_spacing_km(out)
    assert across < 8.0
    back = grid.to_source_sampling(out, like=source)
    xr.testing.assert_equal(back["Tc"], to_gmi(source, "identity", sampling="source")["Tc"])


def test_attrs_and_rainrate_accepts_pseudo_gmi(source: xr.Dataset) -> None:
    from xgpm.retrieve import rainrate

    out = to_gmi(source, "identity")
    assert out.attrs["xgpm_sensor"] == "GMI"
    assert out.attrs["xgpm_pseudo_from"] == "SSMIS-F17"
    assert out.attrs["xgpm_to_gmi_model"] == "identity-ssmis"
    assert out.attrs["xgpm_to_gmi_method"] == "identity"
    assert out.attrs["xgpm_to_gmi_model_version"] == "1.0.0"
    assert out.attrs["xgpm_source_product"] == "1C-SSMIS-F17"
    assert out.gpm.sensor.name == "GMI"
    assert [c.frequency for c in out.gpm.channels][7] == 89.0
    rain = rainrate(out)
    assert rain.attrs["input_sensor"] == "GMI"
    assert np.isfinite(rain["surface_precip"]).any()
    with pytest.raises(MissingChannelsError, match="to_gmi"):
        rainrate(source)  # raw SSMIS is still refused


def test_channels_subset(source: xr.Dataset) -> None:
    out = to_gmi(source, "identity", ["89V", "37H"])
    assert list(out["pmw_frequency"].values) == ["89V", "37H"]
    full = to_gmi(source, "identity")
    xr.testing.assert_equal(out["Tc"], full["Tc"].sel(pmw_frequency=["89V", "37H"]))


def test_lazy_input_stays_lazy(source: xr.Dataset) -> None:
    lazy = source.chunk({"along_track": 16})
    out = to_gmi(lazy, QM_TEST)
    assert out["Tc"].chunks is not None
    np.testing.assert_allclose(out["Tc"].values, to_gmi(source, QM_TEST)["Tc"].values)


# ------------------------------------------------------------------------------------------
# tiled == untiled
# ------------------------------------------------------------------------------------------


@settings(max_examples=6, deadline=None)
@given(
    model=st.sampled_from(["identity", QM_TEST, TINY]),
    cross=st.integers(3, 400),
    along=st.integers(3, 60),
    sampling=st.sampled_from(["gmi", "source"]),
)
def test_any_chunking_gives_the_same_answer(
    source: xr.Dataset, model: str, cross: int, along: int, sampling: str
) -> None:
    eager = to_gmi(source, model, sampling=sampling)
    tiled = to_gmi(
        source, model, sampling=sampling, chunks={"cross_track": cross, "along_track": along}
    )
    assert tiled["Tc"].chunks is not None
    np.testing.assert_allclose(tiled["Tc"].values, eager["Tc"].values, rtol=0, atol=1e-3)


def test_torch_translator_output_dim_named_like_the_input(source: xr.Dataset) -> None:
    out = to_gmi(source, "tiny")
    assert list(out["pmw_frequency"].values) == list(GMI_CHANNELS)
    assert out.attrs["xgpm_to_gmi_model"] == TINY
    valid = np.isfinite(out["Tc"].values)
    assert valid.any() and float(np.nanstd(out["Tc"].values)) > 0.1


# ------------------------------------------------------------------------------------------
# quantile mapping
# ------------------------------------------------------------------------------------------


def test_quantile_mapping_matches_distributions() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    mapping = {g: "A" for g in GMI_CHANNELS}
    src = np.column_stack([rng.normal(250, 10, n), rng.normal(20, 5, n), rng.normal(0, 1, n)])
    gmi = np.column_stack([rng.normal(260, 5, n)] * 13)
    surface = rng.integers(0, 3, n)
    model = QuantileMapping(["A", "W", "B"], mapping, ("W", "B"), ("10V", "10H"), min_samples=100)
    model.fit(src, surface, gmi, surface, GMI_CHANNELS)
    out = model.predict(src, surface)[:, 0]
    assert abs(out.mean() - 260) < 0.5 and abs(out.std() - 5) < 0.3
    # monotone in x within a stratum, slope 1 beyond the tables
    x = np.array([[200.0, 20.0, 0.0], [250.0, 20.0, 0.0], [400.0, 20.0, 0.0]])
    y = model.predict(x, np.zeros(3))[:, 0]
    assert y[0] < y[1] < y[2]
    assert np.isnan(model.predict(np.array([[np.nan, 20.0, 0.0]]))[0, 0])


def test_quantile_mapping_round_trips(tmp_path) -> None:
    model = models.load(QM_TEST)
    path = model.save(tmp_path / "qm.npz")
    back = QuantileMapping.load(path)
    tb = np.random.default_rng(1).normal(240, 20, (50, len(model.source_channels)))
    surface = np.arange(50) % 3
    np.testing.assert_array_equal(back.predict(tb, surface), model.predict(tb, surface))


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------


def test_unknown_method_lists_what_exists(source: xr.Dataset) -> None:
    with pytest.raises(ModelNotFoundError, match="identity") as info:
        to_gmi(source, "no_such_method")
    assert "SSMIS-F17" in str(info.value)


def test_sensor_without_model(source: xr.Dataset) -> None:
    other = source.assign_attrs(gpm_api_product="1C-MHS-METOPA")
    with pytest.raises(ModelNotFoundError, match="MHS-METOPA"):
        to_gmi(other, "identity")
    assert find_model("identity", "SSMIS-F19").name == "identity-ssmis"
    assert all(s.raw["task"] == "to_gmi" for s in to_gmi_models("SSMIS-F16"))


def test_bad_arguments(source: xr.Dataset) -> None:
    with pytest.raises(InvalidArgumentError, match="sampling"):
        to_gmi(source, "identity", sampling="dense")
    with pytest.raises(MissingChannelsError, match="GMI's channels"):
        to_gmi(source, "identity", ["91V"])
    with pytest.raises(InvalidArgumentError, match="Tb"):
        to_gmi(source, "identity", variable="Tb")
    with pytest.raises(InvalidArgumentError, match="Dataset"):
        to_gmi(source["Tc"], "identity")
    anonymous = source.copy()
    anonymous.attrs = {}
    with pytest.raises(InvalidArgumentError, match="xgpm_sensor"):
        to_gmi(anonymous, "identity")
    with pytest.raises(MissingChannelsError, match="91V"):
        to_gmi(source.drop_sel(pmw_frequency=["91V"]), "identity")
    with pytest.raises(InvalidArgumentError, match="already pseudo-GMI"):
        to_gmi(to_gmi(source, "identity").assign_attrs(xgpm_sensor="SSMIS-F17"), "identity")


def test_gmi_input_is_returned(scene: PairedScene) -> None:
    out = to_gmi(scene.gmi, "identity", ["89V"])
    xr.testing.assert_equal(out["Tc"], scene.gmi["Tc"].sel(pmw_frequency=["89V"]))


@pytest.mark.parametrize("product", ["1C-SSMIS-F17", "1C-TMI", "1C-AMSR2-GCOMW1", "1C-SSMI-F15"])
def test_real_granules_identity(product: str) -> None:
    """Real cut 1C granules (channels chunked by scan mode; some all-NaN): GMI's data model."""
    import xgpm

    from .conftest import GRANULES

    ds = xgpm.open_granule(GRANULES[product])
    out = to_gmi(ds, "identity", sampling="source")
    assert out["Tc"].chunks is not None
    assert list(out["pmw_frequency"].values) == list(GMI_CHANNELS)
    assert out.attrs["xgpm_pseudo_from"] == product[3:]
    mapping = channel_mapping(product[3:])
    for label in ("37V", "89H"):
        np.testing.assert_array_equal(
            out["Tc"].sel(pmw_frequency=label).values,
            ds["Tc"].sel(pmw_frequency=mapping[label][0]).values,
        )


# ------------------------------------------------------------------------------------------
# physical sanity, for every registered SSMIS translation with weights
# ------------------------------------------------------------------------------------------


BASELINES = ("identity", "quantile_mapping")


def _shipped_ssmis_models(learned_only: bool = False) -> list:
    """Registered SSMIS translations with weights; ``learned_only`` leaves out the baselines.

    The pixel-wise baselines cannot restore GMI's resolution: on the held-out evaluation
    (docs/models/to_gmi.md) DRAIN on them has 2.5-2.8 x the clear-sky false alarms of DRAIN on
    GMI, so the 1.2 x goal is asserted for the learned models only (every model is held to the
    3 x bound below).
    """
    names = []
    for spec in to_gmi_models("SSMIS-F17"):
        if spec.name not in models.list(with_weights=True) or spec.name in (QM_TEST, TINY):
            continue
        if learned_only and spec.raw.get("method") in BASELINES:
            continue
        names.append(spec.name)
    return names


@pytest.fixture(scope="module")
def cropped(scene: PairedScene) -> xr.Dataset:
    from xgpm.translate.evaluate import crop_source

    return crop_source(scene.source, scene.gmi, 150.0)


@pytest.mark.parametrize("name", _shipped_ssmis_models())
def test_physical_ranges(scene: PairedScene, name: str) -> None:
    pseudo = to_gmi(scene.source, name)
    tb = pseudo["Tc"].values
    source_valid = np.isfinite(grid.to_gmi_sampling(scene.source)["Tc"].values).all(axis=-1)
    assert np.isfinite(tb).all(axis=-1).sum() >= 0.9 * source_valid.sum() > 1000
    assert np.nanmin(tb) > 50.0 and np.nanmax(tb) < 320.0


def _false_alarms(scene: PairedScene, source: xr.Dataset, name: str) -> dict:
    from xgpm.translate.evaluate import false_alarm_rates

    key = (scene.key, name)
    if key not in _FAR_CACHE:
        _FAR_CACHE[key] = false_alarm_rates(scene, to_gmi(source, name), source=source)
    return _FAR_CACHE[key]


_FAR_CACHE: dict = {}


@pytest.mark.parametrize("name", _shipped_ssmis_models())
def test_no_rain_invented_wholesale(scene: PairedScene, cropped: xr.Dataset, name: str) -> None:
    """Sanity for every method: clear-sky false alarms at most 3 x DRAIN's on true GMI.

    The issue's goal (1.2 x) is measured by ``xgpm evaluate to-gmi`` over 39 held-out
    overpasses, where it is missed (docs/models/to_gmi.md); one small scene (576 clear pixels,
    one false alarm = 0.0017) cannot decide it.
    """
    rates = _false_alarms(scene, cropped, name)
    assert rates["clear_pixels"] > 300
    assert rates["pseudo"] <= 3.0 * rates["gmi"] + 0.01, rates


def test_card_sampling_source_is_densified_after(source: xr.Dataset) -> None:
    """A card reading source pixels: with sampling="gmi" the output is densified afterwards."""
    card = identity_card("SSMIS")
    card.update(name="identity_src-ssmis", method="identity_src", weights=None)
    card["inputs"]["sampling"] = "source"
    kwargs = card["architecture"]["kwargs"]
    models.register(card, module=IdentityTranslation(**kwargs), overwrite=True)
    try:
        after = to_gmi(source, "identity_src")
        before = to_gmi(source, "identity")
        assert after.attrs["xgpm_upsampling"] == before.attrs["xgpm_upsampling"]
        np.testing.assert_allclose(after["Tc"].values, before["Tc"].values, atol=1e-3)
        on_source = to_gmi(source, "identity_src", sampling="source")
        assert on_source.sizes["cross_track"] == source.sizes["cross_track"]
        assert on_source.sizes["along_track"] == source.sizes["along_track"]
    finally:
        models.unregister("identity_src-ssmis")


def test_goal_lines_report_each_goal_and_the_further_family_either_way() -> None:
    import pandas as pd

    from xgpm.translate.report import goal_lines

    rows = {"qm-s": (0.1, -0.5, 0.0), "cg-s": (0.55, 0.1, 0.3), "red-s": (0.4, 0.2, 0.2)}
    rows["dann-s"] = (0.45, 0.1, 0.25)
    table = pd.DataFrame(
        [
            {"stratification": "all", "method": n, "gap_mse": m, "gap_csi": c, "gap_correlation": r}
            for n, (m, c, r) in rows.items()
        ]
    )
    method_of = {"qm-s": "quantile_mapping", "cg-s": "cyclegan_r", "red-s": "redgan"}
    lines = goal_lines(table, {**method_of, "dann-s": "dann"})
    assert lines[0].startswith("- `cyclegan_r` closes 55%") and "**met** (+5%)" in lines[0]
    assert "**missed** (-30%)" in lines[1] and "beaten" in lines[1]
    assert "`dann`" in lines[2] and "redgan`'s 40%" in lines[2]
    assert "beats `redgan` on mse, correlation" in lines[2]
    assert len(goal_lines(table, method_of)) == 2  # no further family registered: no line
