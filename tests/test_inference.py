"""Tests of the inference engine (xgpm.inference) and of xgpm.retrieve.rainrate."""

from __future__ import annotations

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import xgpm  # noqa: E402
import xgpm.models as models  # noqa: E402
from xgpm.errors import InvalidArgumentError, MissingChannelsError  # noqa: E402
from xgpm.models._testing import random_unet, register_random_unet, tiny_card  # noqa: E402
from xgpm.models.brain import BrainRetrieval  # noqa: E402
from xgpm.models.inference import apply_model, auto_chunks, model_preloader, predict_numpy  # noqa: E402
from xgpm.retrieve import rainrate  # noqa: E402

from .conftest import GRANULES  # noqa: E402

TINY = "tiny-unet"  # depth 2: receptive margin 23, divisibility 4
TINY_ARCH = {"base_channels": 4, "depth": 2}
CHANNELS = ["37V", "37H", "89V", "89H"]
TOLERANCE = 1e-4  # mm/h


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", autouse=True)
def tiny_model():
    register_random_unet(TINY, architecture=TINY_ARCH, seed=0)
    yield TINY
    models.unregister(TINY)


def swath(rows=45, cols=70, seed=0, channels=CHANNELS, product="1C-GMI") -> xr.DataArray:
    """Random-but-plausible GMI brightness temperatures on a (cross_track, along_track) swath."""
    rng = np.random.default_rng(seed)
    tb = rng.normal(255.0, 20.0, (rows, cols, len(channels))).astype(np.float32)
    return xr.DataArray(
        tb,
        dims=("cross_track", "along_track", "pmw_frequency"),
        coords={
            "pmw_frequency": list(channels),
            "lat": (("cross_track", "along_track"), rng.uniform(-60, 60, (rows, cols))),
            "lon": (("cross_track", "along_track"), rng.uniform(-180, 180, (rows, cols))),
            "time": ("along_track", np.arange(cols).astype("datetime64[s]").astype("M8[ns]")),
        },
        attrs={"gpm_api_product": product},
        name="Tc",
    )


def stacked(result: xr.Dataset) -> np.ndarray:
    """(rows, cols, 7) outputs in the card's order, like predict_numpy's."""
    return np.concatenate(
        [
            result["surface_precip"].values[..., None],
            result["probability_of_precip"].values[..., None],
            result["surface_precip_quantile"].values,
        ],
        axis=-1,
    )


# ------------------------------------------------------------------------------------------
# tiled == whole swath
# ------------------------------------------------------------------------------------------


def test_reference_output_is_not_trivial():
    reference = predict_numpy(TINY, swath().values)
    assert reference.shape == (45, 70, 7)
    assert float(reference[..., 0].std()) > 0.05  # tiling errors would show
    assert float(reference[..., 1].std()) > 0.01


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.integers(3, 30), min_size=1, max_size=4),
    cols=st.lists(st.integers(3, 40), min_size=1, max_size=5),
)
def test_tiled_equals_whole_swath_for_any_chunking(rows, cols):
    data = swath()
    n_rows, n_cols = data.sizes["cross_track"], data.sizes["along_track"]

    def fit(sizes, total):  # a chunking of `total` from the drawn sizes
        out, left = [], total
        for size in sizes * total:
            if left <= 0:
                break
            out.append(min(size, left))
            left -= out[-1]
        return tuple(out)

    chunks = {"cross_track": fit(rows, n_rows), "along_track": fit(cols, n_cols)}
    reference = predict_numpy(TINY, data.values)
    tiled = stacked(apply_model(data, TINY, chunks=chunks).compute(scheduler="threads"))
    assert np.max(np.abs(tiled - reference)) < TOLERANCE


@pytest.mark.parametrize(
    ("chunks", "minimum", "expected"),
    [((1,) * 10, 4, (4, 6)), ((5, 1, 1, 9), 3, (5, 11)), ((2, 2), 23, (4,)), ((30,), 5, (30,))],
)
def test_small_chunks_are_merged(chunks, minimum, expected):
    from xgpm.models._tiling import _merge_small

    merged = _merge_small(chunks, minimum)
    assert sum(merged) == sum(chunks)
    assert len(merged) == 1 or min(merged) >= minimum
    assert merged == expected


def test_one_pixel_chunks_still_equal_whole_swath():
    data = swath(rows=30, cols=40)
    reference = predict_numpy(TINY, data.values)
    tiled = stacked(apply_model(data, TINY, chunks={"cross_track": 1, "along_track": 3}).compute())
    assert np.max(np.abs(tiled - reference)) < TOLERANCE


@pytest.mark.parametrize(("tile", "batch_size"), [((8, 12), 3), ((20, 16), 1), (64, 4)])
def test_tiles_inside_a_block_equal_whole_swath(tile, batch_size):
    data = swath().values
    reference = predict_numpy(TINY, data)
    tiled = predict_numpy(TINY, data, tile=tile, batch_size=batch_size)
    assert np.max(np.abs(tiled - reference)) < TOLERANCE
    lazy = apply_model(swath(), TINY, chunks={"along_track": 35}, tile=tile, batch_size=batch_size)
    assert np.max(np.abs(stacked(lazy.compute()) - reference)) < TOLERANCE


def test_nan_inputs_are_filled_with_the_mean_and_masked():
    data = swath()
    values = data.values.copy()
    values[10, 20, 1] = np.nan
    values[30, 50, :] = np.nan
    result = apply_model(data.copy(data=values), TINY, chunks={"along_track": 30}).compute()
    out = stacked(result)
    for pixel in [(10, 20), (30, 50)]:
        assert np.isnan(out[pixel]).all()
    assert np.isfinite(np.delete(out.reshape(-1, 7), [10 * 70 + 20, 30 * 70 + 50], axis=0)).all()
    filled = values.copy()
    mean = np.asarray(models.card(TINY).normalisation_mean, dtype=np.float32)
    filled[10, 20, 1] = mean[1]
    filled[30, 50, :] = mean
    expected = predict_numpy(TINY, filled)
    expected[10, 20] = expected[30, 50] = np.nan
    np.testing.assert_allclose(out, expected, atol=TOLERANCE)


# ------------------------------------------------------------------------------------------
# laziness, meta, loading once
# ------------------------------------------------------------------------------------------


def _forbid(*args, **kwargs):
    raise AssertionError("dask computed something while the graph was being built")


def test_graph_stays_lazy_and_model_is_not_called_while_building():
    calls = []

    def counting_factory(**kwargs):
        calls.append(kwargs)
        return random_unet(0, **kwargs)

    models.register(
        tiny_card("lazy-unet", architecture=TINY_ARCH), counting_factory, overwrite=True
    )
    try:
        models.clear_cache()
        data = swath().chunk({"along_track": 25})
        with dask.config.set(scheduler=_forbid):
            result = apply_model(data, "lazy-unet")
            retrieved = rainrate(data, "lazy-unet")
        assert calls == [] and models.load_count() == 0  # meta given: no dummy call
        assert isinstance(result["surface_precip"].data, da.Array)
        assert isinstance(retrieved["surface_precip_quantile"].data, da.Array)
        result.compute()
        assert len(calls) == 1
    finally:
        models.unregister("lazy-unet")


def test_model_loaded_once_per_process_with_threads():
    models.clear_cache()
    data = swath(rows=60, cols=200).chunk({"cross_track": 30, "along_track": 25})
    result = apply_model(data, TINY)
    assert result["surface_precip"].data.npartitions >= 8
    with dask.config.set(scheduler="threads", num_workers=4):
        result.compute()
    assert models.load_count(TINY) == 1


def test_tasks_carry_the_model_name_not_the_model():
    result = apply_model(swath().chunk({"along_track": 25}), TINY)
    graph = dict(result["surface_precip"].data.__dask_graph__())
    payload = cloudpickle.dumps(graph)
    assert b"DrainUNet" not in payload and b"state_dict" not in payload
    assert TINY.encode() in payload
    assert len(payload) < 200_000


def test_torch_threads_are_restored_after_compute():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)  # the blocks below run with 1 thread each, then restore
    try:
        apply_model(swath().chunk({"along_track": 25}), TINY).compute(scheduler="sync")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_model_loaded_once_per_distributed_worker(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.delenv(models.ENV_VAR, raising=False)
    previous = models.set_weights_dir(tmp_path)  # env var: the spawned workers inherit it
    try:
        card = tiny_card("disk-unet", architecture=TINY_ARCH)
        models.register(card, module=random_unet(0, **card["architecture"]["kwargs"]))
        models.save("disk-unet", random_unet(0, **card["architecture"]["kwargs"]), card)
        models.unregister("disk-unet")  # workers must read it from tmp_path
        data = swath(rows=45, cols=150)
        reference = predict_numpy("disk-unet", data.values)
        with (
            distributed.LocalCluster(
                n_workers=2,
                processes=True,
                threads_per_worker=1,
                dashboard_address=None,
                worker_dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            result = apply_model(data.chunk({"along_track": 30}), "disk-unet")
            computed = stacked(result.compute())
            counts = client.run(models.load_count, "disk-unet")
            assert len(counts) == 2 and all(c <= 1 for c in counts.values())
            assert sum(counts.values()) >= 1
            # the preloader plugin loads at worker start-up; later tasks reuse it
            client.register_plugin(model_preloader("disk-unet", device="cpu"))
            assert all(c == 1 for c in client.run(models.load_count, "disk-unet").values())
        assert np.max(np.abs(computed - reference)) < TOLERANCE
    finally:
        models.set_weights_dir(previous)
        models.clear_cache()


# ------------------------------------------------------------------------------------------
# inputs and errors
# ------------------------------------------------------------------------------------------


def test_missing_channels_are_named():
    data = swath(channels=["37V", "37H", "89V", "10V"])
    with pytest.raises(MissingChannelsError, match=r"lacks \['89H'\]"):
        apply_model(data, TINY)


def test_other_sensor_is_refused_with_a_pointer_to_to_gmi():
    # TMI has 37V/37H/89V/89H labels too, but they are not GMI's channels
    tmi = xgpm.open_granule(GRANULES["1C-TMI"])
    with pytest.raises(MissingChannelsError, match=r"TMI.*ds\.gpm\.to_gmi\(\)"):
        rainrate(tmi, TINY)
    ssmis = xgpm.open_granule(GRANULES["1C-SSMIS-F17"])
    with pytest.raises(MissingChannelsError, match=r"lacks \['89V', '89H'\].*to_gmi"):
        rainrate(ssmis, TINY)


def test_bad_arguments_are_refused():
    with pytest.raises(InvalidArgumentError, match="no 'Tb' variable"):
        rainrate(swath().to_dataset(), TINY, variable="Tb")
    with pytest.raises(InvalidArgumentError, match="0.3 is not one of them"):
        rainrate(swath(), TINY, quantiles=(0.3,))
    with pytest.raises(InvalidArgumentError, match="not spatial dims"):
        apply_model(swath(), TINY, chunks={"scan": 10})
    with pytest.raises(InvalidArgumentError, match=r"\(rows, cols, 4\)"):
        predict_numpy(TINY, np.zeros((10, 10, 3)))


# ------------------------------------------------------------------------------------------
# rainrate
# ------------------------------------------------------------------------------------------


def test_rainrate_on_a_real_gmi_granule_keeps_the_swath():
    ds = xgpm.open_granule(GRANULES["1C-GMI"])  # 13 channels, split over two dask chunks
    result = rainrate(ds, TINY, quantiles=(0.05, 0.95))
    assert isinstance(result["surface_precip"].data, da.Array)
    assert result["surface_precip"].dims == ("cross_track", "along_track")
    assert result["surface_precip_quantile"].dims == ("cross_track", "along_track", "quantile")
    assert result["quantile"].values.tolist() == [0.05, 0.95]
    for coord in ("lat", "lon", "time"):
        xr.testing.assert_identical(result[coord].compute(), ds[coord].compute())
    computed = result.compute()
    tb = ds["Tc"].sel(pmw_frequency=CHANNELS).transpose("cross_track", "along_track", ...)
    expected = predict_numpy(TINY, tb.values)
    valid = np.isfinite(tb.values).all(axis=-1)
    np.testing.assert_allclose(
        computed["surface_precip"].values[valid], expected[..., 0][valid], atol=TOLERANCE
    )
    assert np.isnan(computed["surface_precip"].values[~valid]).all()
    q = computed["surface_precip_quantile"].values
    assert (np.diff(q[valid], axis=-1) >= 0).all()
    assert result["surface_precip"].attrs["units"] == "mm/h"
    assert result.attrs["model"] == TINY
    assert result.attrs["input_sensor"] == "GMI"
    assert result.attrs["xgpm_version"] == xgpm.__version__
    assert result.attrs["model_training_data"] == models.card(TINY).training_data


def test_rainrate_numpy_input_is_eager_and_quantiles_can_be_dropped():
    result = rainrate(swath(), TINY, quantiles=())
    assert "surface_precip_quantile" not in result
    assert isinstance(result["surface_precip"].data, np.ndarray)
    single = apply_model(swath(), TINY, output="probability_of_precip")
    assert isinstance(single, xr.DataArray) and single.name == "probability_of_precip"
    np.testing.assert_allclose(single.values, result["probability_of_precip"].values)


def test_dims_in_another_order_give_the_same_answer():
    data = swath()
    reference = rainrate(data, TINY)
    swapped = rainrate(data.transpose("pmw_frequency", "along_track", "cross_track"), TINY)
    xr.testing.assert_allclose(swapped.transpose(*reference.dims), reference, atol=TOLERANCE)


def test_brain_runs_through_the_same_api():
    rng = np.random.default_rng(2)
    db_tb = rng.normal(255, 20, (500, 4))
    db_rain = np.clip(265 - db_tb[:, 2], 0, None) / 5
    surface = rng.integers(0, 2, 500)
    brain = BrainRetrieval([4.0, 4.0, 4.0, 4.0], n_neighbours=50).fit(db_tb, db_rain, surface)
    document = models.card("brain").to_dict()
    document.update(name="brain-small", weights=None)
    document["inputs"]["channels"] = CHANNELS
    models.register(document, module=brain, overwrite=True)
    try:
        data = swath(rows=20, cols=30)
        types = xr.DataArray(rng.integers(0, 2, (20, 30)), dims=("cross_track", "along_track"))
        ds = xr.Dataset({"Tc": data, "surface_type": types})
        lazy = rainrate(ds.chunk({"along_track": 7}), "brain-small", quantiles=None)
        assert isinstance(lazy["surface_precip"].data, da.Array)
        out = lazy.compute()
        expected = brain.predict(data.values, surface_type=types.values)
        np.testing.assert_allclose(out["surface_precip"].values, expected[..., 0], rtol=1e-6)
        np.testing.assert_allclose(out["surface_precip_quantile"].values, expected[..., 2:])
        assert out.attrs["model"] == "brain-small"
    finally:
        models.unregister("brain-small")


def test_auto_chunks_share_the_work_between_cores():
    rows, cols = auto_chunks((221, 2959), margin=51, n_workers=2)
    assert rows == 221 and -(-2959 // cols) == 2
    assert auto_chunks((221, 2959), margin=51, n_workers=1) == (221, 2959)
    assert auto_chunks((221, 300), margin=51, n_workers=8)[1] >= 4 * 51  # not too thin
    result = apply_model(swath(), TINY, chunks="auto")
    assert isinstance(result["surface_precip"].data, da.Array)


class _Reverse:
    """A pixel-wise NumPy 'translation': channels in reverse order, +1 K."""

    receptive_margin = 0
    divisibility = 1

    def predict(self, tb):
        return np.asarray(tb)[..., ::-1] + 1.0


def test_output_dim_named_like_the_input_dim_with_chunked_channels():
    # a to_gmi-style card: input and output channels both on pmw_frequency, other labels
    card = {
        "name": "reverse-test",
        "framework": "numpy",
        "architecture": "brain",
        "inputs": {"sensor": "GMI", "channels": CHANNELS},
        "outputs": [
            {"name": "Tc", "units": "K", "dim": "pmw_frequency", "coords": ["a", "b", "c", "d"]}
        ],
        "receptive_margin": 0,
        "divisibility": 1,
    }
    models.register(card, module=_Reverse(), overwrite=True)
    try:
        data = swath(rows=12, cols=20)
        chunked = data.chunk({"along_track": 7, "pmw_frequency": 2})  # channels in 2 chunks
        out = apply_model(chunked, "reverse-test", output="Tc")
        assert isinstance(out.data, da.Array)
        assert out.dims == ("cross_track", "along_track", "pmw_frequency")
        assert list(out["pmw_frequency"].values) == ["a", "b", "c", "d"]
        np.testing.assert_allclose(out.values, data.values[..., ::-1] + 1.0)
        np.testing.assert_allclose(out["lon"].values, data["lon"].values)
    finally:
        models.unregister("reverse-test")
