"""A ModelSpec passed to the inference engine is used as is: no second registry lookup."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("torch")

import xgpm.models as models  # noqa: E402
from xgpm.models._testing import register_random_unet  # noqa: E402
from xgpm.models.inference import apply_model, check_inputs, geometry  # noqa: E402

NAME = "tiny-unet-spec"
CHANNELS = ["37V", "37H", "89V", "89H"]


@pytest.fixture(scope="module", autouse=True)
def tiny_model():
    register_random_unet(NAME, architecture={"base_channels": 4, "depth": 2}, seed=0)
    yield NAME
    models.unregister(NAME)


def _swath(rows=24, cols=40) -> xr.DataArray:
    rng = np.random.default_rng(0)
    return xr.DataArray(
        rng.normal(255.0, 20.0, (rows, cols, len(CHANNELS))).astype(np.float32),
        dims=("cross_track", "along_track", "pmw_frequency"),
        coords={"pmw_frequency": CHANNELS},
        attrs={"gpm_api_product": "1C-GMI"},
        name="Tc",
    )


def test_a_spec_is_not_resolved_again(monkeypatch):
    spec = models.card(NAME)
    tb = _swath()
    apply_model(tb, spec, device="cpu")  # loads the model once (a registry lookup)
    lookups = []
    original = models._entry

    def counting(name):
        lookups.append(name)
        return original(name)

    monkeypatch.setattr(models, "_entry", counting)
    assert models.card(spec) is spec
    check_inputs(tb, spec, "pmw_frequency")
    assert geometry(spec) == geometry(NAME)
    lookups.clear()
    models.build(spec)
    out = apply_model(tb, spec, device="cpu")
    lazy = apply_model(tb.chunk({"along_track": 20}), spec, device="cpu")
    lazy.compute()
    assert lookups == []
    assert set(out.data_vars) == set(lazy.data_vars)
