"""GPM-API's own objects into xgpm's methods: ``to_gmi``, ``rainrate`` and ``colocate``.

The same granule opened by GPM-API (a DataTree of scan modes, or one scan mode's Dataset) and by
xgpm (its merged swath) gives the same answer. GPM-API truncates scan times to the second
(xgpm keeps the milliseconds of ``ScanTime``), so ``time`` coordinates (and colocation's
``time_offset``) are compared to within a second, everything else to float tolerance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import xgpm
from tests.conftest import GRANULES
from xgpm.colocation import colocate
from xgpm.errors import InvalidArgumentError, MissingChannelsError
from xgpm.io._inputs import as_swath, normalize_swath
from xgpm.retrieve import rainrate
from xgpm.translate import to_gmi

gpm = pytest.importorskip("gpm")

SECOND = np.timedelta64(1, "s")


def _cut(product: str) -> str:
    return str(GRANULES[product])


def _gpm_api(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GPM-API's own warnings (e.g. on cut granules)
        return call(*args, **kwargs)


def _same(ours: xr.Dataset, theirs: xr.Dataset) -> None:
    """Equal to float tolerance, times (truncated to seconds by GPM-API) within a second."""
    ours, theirs = ours.compute(), theirs.compute()
    for name in ("time", "time_offset"):
        if name in ours.variables:
            a, b = ours[name].values, theirs[name].values
            both = ~(np.isnat(a) | np.isnat(b))
            np.testing.assert_array_equal(np.isnat(a), np.isnat(b))
            assert np.all(abs(a[both] - b[both]) < SECOND), name
            ours, theirs = ours.drop_vars(name), theirs.drop_vars(name)
    xr.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> dict[str, str]:
    """A small simulated GMI + SSMIS-F17 pair over rain cells (central France), on disk."""
    from tests.test_simulate_observe import SMALL, SYNTH, T0, T1
    from xgpm.simulate import products as P

    out = tmp_path_factory.mktemp("gpm_api_inputs")
    paths = {}
    for prod in P.simulate(SMALL, T0, end=T1, sensors="gmi,ssmis-f17", seed=0, **SYNTH):
        paths[prod.product] = str(P._write(prod, out / prod.product, SMALL, "V07A"))
    return paths


# --------------------------------------------------------------------------------------------
# The mapping itself
# --------------------------------------------------------------------------------------------


def test_gpm_api_datatree_merges_like_xgpm(simulated) -> None:
    path = simulated["1C-SSMIS-F17"]
    merged = as_swath(_gpm_api(gpm.open_granule_datatree, path), "test")
    ours = xgpm.open_granule(path)
    assert merged.attrs["ScanMode"] == "merged"
    assert merged.attrs["gpm_api_product"] == "1C-SSMIS-F17"
    assert merged["time"].dtype == np.dtype("datetime64[ns]")
    assert list(merged["pmw_frequency"].values) == list(ours["pmw_frequency"].values)
    _same(ours[["Tc"]], merged[["Tc"]])
    # xgpm's own tree of scan modes merges to the merged swath exactly
    tree = xgpm.open_granule(path, scan_mode="all")
    xr.testing.assert_identical(as_swath(tree, "test")["Tc"].compute(), ours["Tc"].compute())


def test_normalize_swath_is_a_no_op_for_xgpm() -> None:
    ds = xgpm.open_granule(_cut("1C-GMI"), scan_mode="S1")
    assert normalize_swath(ds) is ds
    theirs = _gpm_api(gpm.open_granule_dataset, _cut("1C-GMI"), scan_mode="S1")["Tc"]
    assert as_swath(theirs, "test")["time"].dtype == np.dtype("datetime64[ns]")


def test_non_1c_datatree_asks_for_one_scan_mode() -> None:
    tree = xgpm.open_granule(_cut("2A-DPR"), scan_mode="all")
    with pytest.raises(InvalidArgumentError, match=r"source\['FS'\]\.to_dataset\(\)"):
        colocate(tree, xgpm.open_granule(_cut("1C-GMI")), radius_km=10)


# --------------------------------------------------------------------------------------------
# Cut real granules (mostly fill): the same answer, NaN where xgpm's is NaN
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opener", ["datatree", "xgpm-all"])
def test_to_gmi_of_cut_ssmis_tree_equals_xgpm(opener: str) -> None:
    path = _cut("1C-SSMIS-F17")
    tree = (
        _gpm_api(gpm.open_granule_datatree, path)
        if opener == "datatree"
        else xgpm.open_granule(path, scan_mode="all")
    )
    _same(to_gmi(xgpm.open_granule(path), "identity"), to_gmi(tree, "identity"))


@pytest.mark.parametrize("opener", ["datatree", "dataset"])
def test_rainrate_of_cut_gmi_equals_xgpm(opener: str) -> None:
    pytest.importorskip("torch")
    path = _cut("1C-GMI")
    theirs = (
        _gpm_api(gpm.open_granule_datatree, path)
        if opener == "datatree"
        else _gpm_api(gpm.open_granule_dataset, path, scan_mode="S1")
    )
    _same(rainrate(xgpm.open_granule(path)), rainrate(theirs))
    ours = xgpm.open_granule(path, scan_mode=None if opener == "datatree" else "S1")
    _same(to_gmi(ours, "identity"), to_gmi(theirs, "identity"))  # GMI: returned as it is


def test_single_scan_mode_of_ssmis_points_to_the_merged_swath() -> None:
    s1 = _gpm_api(gpm.open_granule_dataset, _cut("1C-SSMIS-F17"), scan_mode="S1")
    with pytest.raises(MissingChannelsError) as info:
        to_gmi(s1, "identity")
    message = str(info.value)
    assert "scan mode S1 alone" in message
    assert "xgpm.open_granule(path)" in message
    assert "open_granule_datatree" in message


# --------------------------------------------------------------------------------------------
# A simulated pair (rain, real values): to_gmi -> rainrate, and colocate
# --------------------------------------------------------------------------------------------


def test_to_gmi_and_rainrate_of_simulated_ssmis(simulated) -> None:
    pytest.importorskip("torch")
    path = simulated["1C-SSMIS-F17"]
    ours = to_gmi(xgpm.open_granule(path), "identity")
    theirs = to_gmi(_gpm_api(gpm.open_granule_datatree, path), "identity")
    spread = float(ours["Tc"].max() - ours["Tc"].min())
    assert spread > 5.0  # rain cells lower the brightness temperatures
    _same(ours, theirs)
    rain = rainrate(ours)
    _same(rain, rainrate(theirs))


@pytest.mark.parametrize("opener", ["datatree", "dataset"])
def test_rainrate_of_simulated_gmi(simulated, opener: str) -> None:
    pytest.importorskip("torch")
    path = simulated["1C-GMI"]
    theirs = (
        _gpm_api(gpm.open_granule_datatree, path)
        if opener == "datatree"
        else _gpm_api(gpm.open_granule_dataset, path, scan_mode="S1")
    )
    ours = rainrate(xgpm.open_granule(path)).compute()
    assert float(ours["surface_precip"].max()) > 0.5
    _same(ours, rainrate(theirs))


def test_colocate_of_simulated_pair(simulated) -> None:
    ssmis, gmi = simulated["1C-SSMIS-F17"], simulated["1C-GMI"]
    ours = colocate(xgpm.open_granule(ssmis), xgpm.open_granule(gmi), radius_km=20)
    theirs = colocate(
        _gpm_api(gpm.open_granule_datatree, ssmis),
        _gpm_api(gpm.open_granule_datatree, gmi),
        radius_km=20,
    )
    assert int(np.isfinite(ours["distance"]).sum()) > 100
    _same(ours, theirs)
    # a GPM-API Dataset as target
    s1 = _gpm_api(gpm.open_granule_dataset, gmi, scan_mode="S1")
    _same(ours, colocate(xgpm.open_granule(ssmis), s1, radius_km=20))
