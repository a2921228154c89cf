"""Files others wrote are loaded without running anything in them, and fail with xgpm's errors.

Every loader of xgpm that reads a PyTorch file or a NumPy archive (to_gmi training checkpoints,
registry weights of torch and NumPy models, the BRAIN database, quantile-mapping tables,
overpass caches, evaluation caches, the land-mask cache) is given crafted payloads whose pickle
would create a marker file, and damaged or foreign files: each must raise
:class:`~xgpm.errors.CheckpointError` (or :class:`~xgpm.errors.StorageError` for a missing
file) naming the file, and the marker must not exist.
"""

from __future__ import annotations

import builtins
import json
import os
import pickle
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from xgpm import models  # noqa: E402
from xgpm.errors import (  # noqa: E402
    CheckpointError,
    DataQualityWarning,
    RegistryError,
    StorageError,
    XGPMError,
)
from xgpm.translate import cyclegan  # noqa: E402
from xgpm.translate.train import SOURCE_CHANNELS  # noqa: E402

SSMIS = list(SOURCE_CHANNELS["ssmis"])
TINY = {"base_channels": 4, "depth": 2, "max_channels": 8}


# ------------------------------------------------------------------------------------------
# payloads
# ------------------------------------------------------------------------------------------


class _ShellPayload:
    """Unpickling this runs ``touch MARKER`` through ``os.system``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


class _ExecPayload:
    """Unpickling this writes MARKER through ``builtins.exec`` (no shell)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


PAYLOADS = {"os.system": _ShellPayload, "exec": _ExecPayload}


@pytest.fixture(params=sorted(PAYLOADS))
def payload(request, tmp_path) -> tuple[object, Path]:
    """(an object whose unpickling creates a marker file, the marker's path)."""
    marker = tmp_path / "MARKER"
    return PAYLOADS[request.param](marker), marker


def _evil_torch(path: Path, evil: object) -> Path:
    """A real PyTorch zip file whose pickle calls the payload (and holds real tensors)."""
    torch.save({"generator": evil, "inverse": {"w": torch.zeros(2)}, "discriminators": {}}, path)
    return path


def _evil_legacy_pickle(path: Path, evil: object) -> Path:
    """A bare pickle (the pre-zip torch format): torch.load falls back to unpickling it."""
    with open(path, "wb") as stream:
        pickle.dump({"state": evil}, stream, protocol=2)
    return path


def _evil_npz(path: Path, evil: object, keys: tuple[str, ...]) -> Path:
    """An .npz whose arrays (every key a loader asks for) are object arrays holding the payload."""
    arrays = {key: np.array([evil, 1], dtype=object) for key in keys}
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)
    return path


def _pickle_as_npz(path: Path, evil: object) -> Path:
    """A bare pickle named .npz (``np.load(allow_pickle=True)`` would unpickle it)."""
    with open(path, "wb") as stream:
        pickle.dump(evil, stream)
    return path


def test_the_payloads_really_run_when_unpickled(tmp_path, payload):
    """Control: the crafted files do run code when read unsafely (so the tests below mean it)."""
    evil, marker = payload
    _evil_torch(tmp_path / "evil.pt", evil)
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.exists()
    marker.unlink()
    _evil_npz(tmp_path / "evil.npz", evil, ("tb",))
    with np.load(tmp_path / "evil.npz", allow_pickle=True) as data:
        data["tb"]
    assert marker.exists()


# ------------------------------------------------------------------------------------------
# the loaders
# ------------------------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """An empty registry directory first in the model search path."""
    monkeypatch.delenv(models.ENV_VAR, raising=False)
    root = tmp_path / "registry"
    (root / "cards").mkdir(parents=True)
    (root / "weights").mkdir()
    previous = models.set_weights_dir(root)
    yield root
    models.set_weights_dir(previous)
    models.clear_cache()


def _user_model(registry: Path, base: str, name: str, suffix: str) -> Path:
    """A user card (copied from the shipped ``base``) whose weights file is returned."""
    document = models.card(base).to_dict()
    document["name"] = name
    document["weights"] = f"{name}{suffix}"
    (registry / "cards" / f"{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return registry / "weights" / f"{name}{suffix}"


def _through_registry(base: str, suffix: str) -> Callable[..., object]:
    """A loader: ``models.load`` of a user card based on ``base`` whose weights are the file."""

    def load(path: Path, registry: Path) -> object:
        name = f"user-{base}"
        target = _user_model(registry, base, name, suffix)
        target.write_bytes(path.read_bytes())
        models.clear_cache()
        try:
            return models.load(name, "cpu")
        except XGPMError as error:  # the message names the registry's copy: point at it
            assert str(target) in str(error), str(error)
            raise type(error)(str(error).replace(str(target), str(path))) from error

    return load


def _load_checkpoint(path: Path, registry: Path) -> object:
    return cyclegan.load_checkpoint(path)


def _brain(path: Path, registry: Path) -> object:
    from xgpm.models.brain import BrainRetrieval

    return BrainRetrieval.load(path)


def _quantile_mapping(path: Path, registry: Path) -> object:
    from xgpm.translate.baselines import QuantileMapping

    return QuantileMapping.load(path)


def _overpasses(path: Path, registry: Path) -> object:
    from xgpm.translate.train import load_overpasses

    return load_overpasses([path])


QUANTILE_MAPPING_KEYS = (
    "source_channels",
    "outputs",
    "mapped",
    "source_wv",
    "gmi_wv",
    "probabilities",
    "min_samples",
    "source_table",
    "gmi_table",
    "source_edges",
    "gmi_edges",
    "counts",
)
#: loader name -> loader(path, registry) for .pt files
TORCH_LOADERS = {
    "cyclegan.load_checkpoint": _load_checkpoint,
    "models.load(drain card)": _through_registry("drain", ".pt"),
    "models.load(to_gmi card)": _through_registry("cyclegan_r-ssmis", ".pt"),
    "models.load(scorer card)": _through_registry("scorer", ".pt"),
}
#: loader name -> (loader(path, registry), arrays it requires) for .npz files
NPZ_LOADERS = {
    "BrainRetrieval.load": (_brain, ("tb", "rain", "sigma", "quantiles", "settings")),
    "models.load(brain card)": (
        _through_registry("brain", ".npz"),
        ("tb", "rain", "sigma", "quantiles", "settings"),
    ),
    "QuantileMapping.load": (_quantile_mapping, QUANTILE_MAPPING_KEYS),
    "models.load(quantile-mapping card)": (
        _through_registry("quantile_mapping-ssmis", ".npz"),
        QUANTILE_MAPPING_KEYS,
    ),
    "train.load_overpasses": (_overpasses, ("Tc", "domain")),
}


def _refused(load: Callable[..., object], path: Path, registry: Path, marker: Path | None) -> str:
    """Load, expect an xgpm error naming the file, check the marker; the message."""
    with pytest.raises(XGPMError) as caught:
        load(path, registry)
    message = str(caught.value)
    assert str(path) in message, message
    assert "\n" not in message.strip()
    if marker is not None:
        assert not marker.exists(), "the payload ran"
    return message


@pytest.mark.parametrize("loader", sorted(TORCH_LOADERS))
def test_torch_loaders_refuse_pickled_code(loader, payload, tmp_path, registry):
    evil, marker = payload
    load = TORCH_LOADERS[loader]
    for path in (
        _evil_torch(tmp_path / "evil.pt", evil),
        _evil_legacy_pickle(tmp_path / "legacy.pt", evil),
    ):
        with pytest.raises(CheckpointError):
            load(path, registry)
        message = _refused(load, path, registry, marker)
        assert "nothing in it was run" in message or "refuses" in message


@pytest.mark.parametrize("loader", sorted(NPZ_LOADERS))
def test_npz_loaders_refuse_object_arrays(loader, payload, tmp_path, registry):
    evil, marker = payload
    load, keys = NPZ_LOADERS[loader]
    path = _evil_npz(tmp_path / "evil.npz", evil, keys)
    with pytest.raises(CheckpointError):
        load(path, registry)
    message = _refused(load, path, registry, marker)
    assert "Python objects" in message
    disguised = _pickle_as_npz(tmp_path / "pickle.npz", evil)
    with pytest.raises(CheckpointError):
        load(disguised, registry)
    _refused(load, disguised, registry, marker)


def _damaged_torch_files(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.pt"
    torch.save({"w": torch.zeros(3)}, good)
    data = good.read_bytes()
    files = {
        "truncated": data[: len(data) // 2],
        "garbage": b"this is not a PyTorch file at all\n" * 4,
        "empty": b"",
    }
    out = {}
    for name, content in files.items():
        out[name] = tmp_path / f"{name}.pt"
        out[name].write_bytes(content)
    return out


@pytest.mark.parametrize("loader", sorted(TORCH_LOADERS))
def test_torch_loaders_report_damaged_and_foreign_files(loader, tmp_path, registry):
    load = TORCH_LOADERS[loader]
    for kind, path in _damaged_torch_files(tmp_path).items():
        with pytest.raises(CheckpointError):
            load(path, registry)
        message = _refused(load, path, registry, None)
        assert "damaged" in message or "not a PyTorch" in message, (kind, message)
    # a valid PyTorch file of tensors with the wrong keys and shapes
    foreign = tmp_path / "foreign.pt"
    torch.save({"net.weight": torch.zeros(2, 2), "bias": torch.zeros(7)}, foreign)
    with pytest.raises(CheckpointError):
        load(foreign, registry)
    _refused(load, foreign, registry, None)


def test_missing_files_raise_storage_errors(tmp_path, registry):
    missing = tmp_path / "nowhere.pt"
    with pytest.raises(StorageError, match="nowhere.pt"):
        cyclegan.load_checkpoint(missing)
    with pytest.raises(StorageError, match="is a folder"):
        cyclegan.load_checkpoint(tmp_path)
    for load, _ in NPZ_LOADERS.values():
        if load in (_brain, _quantile_mapping, _overpasses):
            with pytest.raises(StorageError, match="nowhere.npz"):
                load(tmp_path / "nowhere.npz", registry)


@pytest.mark.parametrize("loader", sorted(NPZ_LOADERS))
def test_npz_loaders_report_damaged_and_foreign_files(loader, tmp_path, registry):
    load, keys = NPZ_LOADERS[loader]
    good = tmp_path / "good.npz"
    np.savez(good, **{key: np.zeros(3) for key in keys})
    data = good.read_bytes()
    cases = {
        "truncated.npz": data[: len(data) // 2],
        "empty.npz": b"",
        "garbage.npz": b"PK\x03\x04 not really a zip",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError):
            load(tmp_path / name, registry)
        _refused(load, tmp_path / name, registry, None)
    wrong_keys = tmp_path / "wrong_keys.npz"
    np.savez(wrong_keys, something=np.zeros(3))
    with pytest.raises(CheckpointError):
        load(wrong_keys, registry)
    assert "lacks the arrays" in _refused(load, wrong_keys, registry, None)
    single = tmp_path / "single.npz"
    with open(single, "wb") as stream:
        np.save(stream, np.zeros(3))
    with pytest.raises(CheckpointError):
        load(single, registry)
    _refused(load, single, registry, None)
    # every array present but with shapes no model of this kind has
    wrong_shapes = tmp_path / "wrong_shapes.npz"
    np.savez(wrong_shapes, **{key: np.zeros((2, 3, 5)) for key in keys})
    with pytest.raises(CheckpointError):
        load(wrong_shapes, registry)
    _refused(load, wrong_shapes, registry, None)


def test_shipped_numpy_weights_load_with_allow_pickle_false():
    from xgpm.models.brain import BrainRetrieval
    from xgpm.translate.baselines import QuantileMapping

    weights = Path(models.__file__).parent / "weights"
    assert BrainRetrieval.load(weights / "brain.npz").is_fitted
    assert QuantileMapping.load(weights / "quantile_mapping-ssmis.npz").is_fitted


def test_overpass_cache_checks_its_arrays(tmp_path):
    from xgpm.translate.train import load_overpasses

    good = tmp_path / "good.npz"
    np.savez(good, Tc=np.zeros((4, 3, 2), np.float32), domain="gmi")
    assert load_overpasses([good])["gmi"][0].shape == (4, 3, 2)
    flat = tmp_path / "flat.npz"
    np.savez(flat, Tc=np.zeros(4), domain="gmi")
    with pytest.raises(CheckpointError, match=r"flat.npz: 'Tc' must be.*delete it"):
        load_overpasses([flat])


def test_identity_card_with_a_python_tag_is_refused(tmp_path, payload):
    from xgpm.translate.baselines import IdentityTranslation

    _, marker = payload
    card = tmp_path / "identity.yaml"
    card.write_text(
        f"architecture:\n  kwargs: !!python/object/apply:os.system\n    - touch '{marker}'\n"
    )
    with pytest.raises(CheckpointError, match="identity.yaml"):
        IdentityTranslation.load(card)
    assert not marker.exists()


def test_model_card_with_a_python_tag_is_refused(registry, payload):
    _, marker = payload
    (registry / "cards" / "tagged.yaml").write_text(
        f"name: !!python/object/apply:os.system [\"touch '{marker}'\"]\n"
    )
    with pytest.raises(RegistryError, match="tagged.yaml"):
        models.card("tagged")
    assert not marker.exists()


def test_evaluation_cache_is_recomputed_not_unpickled(tmp_path, payload):
    from xgpm.translate.evaluate import _read_cached

    evil, marker = payload
    path = _evil_npz(tmp_path / "scene__method.npz", evil, ("rain", "tb"))
    with pytest.warns(DataQualityWarning, match="scene__method.npz"):
        assert _read_cached(path, 2, 2) is None
    assert not marker.exists()
    np.savez(path, rain=np.zeros(3, np.float32), tb=np.zeros((2, 13), np.float32))
    rain, tb = _read_cached(path, 3, 2)
    assert rain.shape == (3,) and tb.shape == (2, 13)
    assert _read_cached(path, 4, 2) is None  # another cut of the scene: recomputed


def test_land_mask_cache_is_recomputed_not_unpickled(tmp_path, payload, monkeypatch):
    import importlib.util

    from xgpm.simulate import geography as scenes

    evil, marker = payload
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    np.save(cache_dir / "land_mask_60.npy", np.array([evil], dtype=object), allow_pickle=True)
    package = tmp_path / "fake_glm"
    package.mkdir()
    ocean = np.ones((8, 32), dtype=bool)
    ocean[:4, :16] = False
    np.savez(
        package / "globe_combined_mask_compressed.npz", mask=ocean, lat=np.linspace(90, -90, 8)
    )
    original = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "global_land_mask":
            return types.SimpleNamespace(origin=str(package / "__init__.py"))
        return original(name, *args, **kwargs)

    monkeypatch.setenv("XGPM_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    scenes._land_mask.cache_clear()
    try:
        packed, per_degree = scenes._land_mask()
        assert not marker.exists()
        assert packed.dtype == np.uint8 and packed.shape == (4, 2) and per_degree == 60.0
        assert np.array_equal(np.load(cache_dir / "land_mask_60.npy", allow_pickle=False), packed)
        # the package's own data file, replaced by a pickle: refused, with the fix
        (cache_dir / "land_mask_60.npy").unlink()
        _pickle_as_npz(package / "globe_combined_mask_compressed.npz", evil)
        scenes._land_mask.cache_clear()
        with pytest.raises(CheckpointError, match="globe_combined_mask_compressed.npz"):
            scenes._land_mask()
        assert not marker.exists()
    finally:
        scenes._land_mask.cache_clear()


# ------------------------------------------------------------------------------------------
# training checkpoints: round trip, format 1, metadata
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run() -> cyclegan.CycleGANResult:
    """A two-step CycleGAN_R run of a tiny generator."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    source = (230.0 + 10.0 * rng.standard_normal((4, 11, 16, 16))).astype(np.float32)
    target = (245.0 + 10.0 * rng.standard_normal((4, 13, 16, 16))).astype(np.float32)
    try:
        return cyclegan.train_cyclegan(
            source,
            target,
            source_channels=SSMIS,
            generator_kwargs=TINY,
            steps=2,
            batch_size=2,
            progress=False,
        )
    finally:
        torch.set_num_threads(previous)


def _same_modules(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _metadata(result: cyclegan.CycleGANResult) -> dict:
    return {
        "generator_config": result.generator.config,
        "inverse_config": result.inverse.config,
        "source_channels": result.source_channels,
        "target_channels": result.target_channels,
        "normalisation": result.normalisation,
        "history": result.history,
        "method": result.method,
        "drain_version": result.drain_version,
        "selection": result.selection,
    }


def test_checkpoint_round_trip_is_exact_and_weights_only(run, tmp_path):
    import copy

    from xgpm.translate.dann import DomainClassifier

    run = copy.copy(run)
    run.selection = {"best_step": 1, "best_score": 0.25, "scores": [[0, 0.5], [1, 0.25]]}
    classifier = DomainClassifier(8, width=4)  # DANN's domain classifier travels along
    run.discriminators = {**run.discriminators, "features": classifier.eval()}
    path = cyclegan.save_checkpoint(run, tmp_path / "run.pt")
    raw = torch.load(path, weights_only=True)  # nothing but tensors and plain containers
    assert raw["xgpm_checkpoint"] == cyclegan.CHECKPOINT_FORMAT
    assert isinstance(raw["metadata"], str) and json.loads(raw["metadata"])["method"] == run.method
    again = cyclegan.load_checkpoint(path)
    assert _same_modules(again.generator, run.generator)
    assert _same_modules(again.inverse, run.inverse)
    assert again.discriminators.keys() == run.discriminators.keys()
    for key in run.discriminators:
        assert _same_modules(again.discriminators[key], run.discriminators[key])
    assert _metadata(again) == _metadata(run)
    assert not list(tmp_path.glob(".*tmp"))  # written through a temporary file, renamed


def test_numpy_metadata_is_stored_as_plain_json(run, tmp_path):
    import copy

    numpy_run = copy.copy(run)
    numpy_run.history = [{k: np.float64(v) for k, v in h.items()} for h in run.history]
    numpy_run.normalisation = {k: np.asarray(v, np.float32) for k, v in run.normalisation.items()}
    numpy_run.selection = {"best_step": np.int64(1), "best_score": np.float32(0.5), "scores": []}
    again = cyclegan.load_checkpoint(cyclegan.save_checkpoint(numpy_run, tmp_path / "np.pt"))
    assert again.history == [{k: float(v) for k, v in h.items()} for h in run.history]
    assert again.selection == {"best_step": 1, "best_score": 0.5, "scores": []}
    assert isinstance(again.normalisation["mean"][0], float)
    numpy_run.selection = {"bad": object()}
    with pytest.raises(XGPMError, match=r"selection\['bad'\]"):
        cyclegan.save_checkpoint(numpy_run, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


def _format_1(result: cyclegan.CycleGANResult) -> dict:
    """The checkpoint dict of xgpm's first format (metadata as Python objects)."""
    return {
        "generator": result.generator.state_dict(),
        "generator_config": result.generator.config,
        "inverse": result.inverse.state_dict(),
        "inverse_config": result.inverse.config,
        "discriminators": {k: d.state_dict() for k, d in result.discriminators.items()},
        "source_channels": list(result.source_channels),
        "target_channels": list(result.target_channels),
        "normalisation": result.normalisation,
        "history": result.history,
        "method": result.method,
        "drain_version": result.drain_version,
        "selection": result.selection,
    }


def test_format_1_checkpoints_still_load_when_plain(run, tmp_path):
    torch.save(_format_1(run), tmp_path / "old.pt")
    again = cyclegan.load_checkpoint(tmp_path / "old.pt")
    assert _same_modules(again.generator, run.generator) and _metadata(again) == _metadata(run)


def test_format_1_with_numpy_values_asks_to_resave_and_the_recipe_works(run, tmp_path):
    old = _format_1(run)
    old["history"] = [{**h, "seconds": np.float64(h["seconds"])} for h in run.history]
    path = tmp_path / "old-numpy.pt"
    torch.save(old, path)
    with pytest.raises(CheckpointError, match=r"old-numpy.pt holds NumPy objects.*re-save"):
        cyclegan.load_checkpoint(path)
    # the recipe of load_checkpoint's Notes, for a file one trusts
    numpy_scalars = [np.float64(0).__reduce__()[0], np.dtype]
    numpy_scalars += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32")]
    with torch.serialization.safe_globals(numpy_scalars):
        result = cyclegan.load_checkpoint(path)
    cyclegan.save_checkpoint(result, path)
    again = cyclegan.load_checkpoint(path)
    assert again.history == run.history and _same_modules(again.generator, run.generator)


def test_checkpoint_with_wrong_parts_names_the_file_and_the_part(run, tmp_path):
    path = cyclegan.save_checkpoint(run, tmp_path / "run.pt")
    state = torch.load(path, weights_only=True)

    def broken(name: str, change: Callable[[dict], None]) -> Path:
        copy = {**state, "generator": dict(state["generator"])}
        change(copy)
        torch.save(copy, tmp_path / name)
        return tmp_path / name

    wrong_shape = broken("shape.pt", lambda s: s["generator"].update(input_mean=torch.zeros(5)))
    with pytest.raises(CheckpointError, match=r"shape.pt: the generator weights do not fit"):
        cyclegan.load_checkpoint(wrong_shape)
    no_inverse = broken("keys.pt", lambda s: s.pop("inverse"))
    with pytest.raises(CheckpointError, match=r"keys.pt is not a to_gmi training checkpoint"):
        cyclegan.load_checkpoint(no_inverse)
    bad_json = broken("json.pt", lambda s: s.update(metadata="{not json"))
    with pytest.raises(CheckpointError, match=r"json.pt: its metadata is not valid JSON"):
        cyclegan.load_checkpoint(bad_json)
    meta = json.loads(state["metadata"])
    meta.pop("history")
    no_history = broken("meta.pt", lambda s: s.update(metadata=json.dumps(meta)))
    with pytest.raises(CheckpointError, match=r"meta.pt lacks the metadata \['history'\]"):
        cyclegan.load_checkpoint(no_history)
    newer = broken("newer.pt", lambda s: s.update(xgpm_checkpoint=99))
    with pytest.raises(CheckpointError, match=r"newer.pt has format 99.*upgrade xgpm"):
        cyclegan.load_checkpoint(newer)
    bad_config = broken(
        "config.pt",
        lambda s: s.update(
            metadata=json.dumps({**json.loads(state["metadata"]), "generator_config": {"x": 1}})
        ),
    )
    with pytest.raises(CheckpointError, match=r"config.pt: the generator weights"):
        cyclegan.load_checkpoint(bad_config)


@pytest.mark.parametrize(
    ("architecture", "phrase"),
    [
        ("os:system", "outside xgpm"),
        ("subprocess:run", "outside xgpm"),
        ("evil_module_for_xgpm_test:Net", "outside xgpm"),
        ("xgpm.io.write:write_granule", "not a model class"),
    ],
)
def test_a_card_cannot_name_code_to_run(registry, tmp_path, monkeypatch, architecture, phrase):
    """A card's ``architecture`` used to be imported and called with the card's kwargs."""
    marker = tmp_path / "MARKER"
    module = tmp_path / "evil_module_for_xgpm_test.py"  # importing it alone would run code
    module.write_text(f"open({str(marker)!r}, 'w').close()\nNet = object\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    document = models.card("drain").to_dict()
    document.update(name="evil", weights="evil.pt")
    document["architecture"] = {"name": architecture, "kwargs": {"command": f"touch {marker}"}}
    (registry / "cards" / "evil.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(RegistryError, match=phrase) as info:
        models.build("evil")
    assert "evil.yaml" in str(info.value)
    assert not marker.exists()


def test_a_card_registered_from_python_may_name_its_own_code():
    """The caller's own Python is trusted: register() takes any module:callable."""
    document = models.card("drain").to_dict()
    document.update(name="own-net", weights=None)
    document["architecture"] = {"name": "collections:OrderedDict", "kwargs": {}}
    models.register(document, overwrite=True)
    try:
        assert models.build("own-net") == {}
    finally:
        models.unregister("own-net")
