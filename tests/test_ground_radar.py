"""The DPR against a ground radar on real files: GPM orbit 4383 over Mt Stapylton (IDR66).

The 2A-Ku V05A custom subset and the ODIM_H5 polar volume in
``tests/data/real/dpr_ground_radar_brisbane`` (wradlib-data, MIT) see the same rain in the same
minute (2014-12-06 09:50 UTC). Observed with the defaults (DPR 18 dBZ, GR 15 dBZ, 70 % valid,
GR beam 1 deg): 3618 matched samples; in rain (below the melting layer) 1317 samples, DPR (S
band) - GR bias +2.51 dB, correlation 0.931; near-surface rain: 2507 footprints, bias +0.30
mm/h, correlation 0.922.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import xgpm
from xgpm.errors import InvalidArgumentError, NoOverlapError, NoSuchFileError, RadarFileError

xradar = pytest.importorskip("xradar")

from xgpm.io.polar import open_polar_volume, polar_sweeps  # noqa: E402
from xgpm.verify import _gr_geometry  # noqa: E402
from xgpm.verify.ground_radar import (  # noqa: E402
    ku_to_s,
    match_surface_rain,
    match_volumes,
    score_matches,
)

HERE = Path(__file__).parent / "data" / "real" / "dpr_ground_radar_brisbane"
DPR_PATH = HERE / (
    "2A-CS-151E24S154E30S.GPM.Ku.V7-20170308.20141206-S095002-E095137.004383.V05A.HDF5"
)
GR_PATH = HERE / "IDR66_20141206_094829.vol.h5"


@pytest.fixture(scope="module")
def dpr() -> xr.Dataset:
    return xgpm.open_granule(DPR_PATH).load()


@pytest.fixture(scope="module")
def gr() -> xr.DataTree:
    return open_polar_volume(GR_PATH)


@pytest.fixture(scope="module")
def matched(dpr, gr) -> xr.Dataset:
    return match_volumes(dpr, gr)


@pytest.fixture(scope="module")
def surface(dpr, gr) -> xr.Dataset:
    return match_surface_rain(dpr, gr)


# -- the files ------------------------------------------------------------------------------------


def test_dpr_file_opens_as_2a_ku_v05(dpr):
    assert dpr.attrs["gpm_api_product"] == "2A-Ku"
    assert dpr.attrs["ScanMode"] == "NS"
    assert dpr.attrs["ProductVersion"] == "V05A"
    assert dict(dpr["zFactorCorrected"].sizes) == {
        "cross_track": 49,
        "along_track": 136,
        "range": 176,
    }
    assert dpr["zFactorCorrected"].attrs["units"] == "dBZ"
    assert 50 < float(dpr["zFactorCorrected"].max()) < 51
    assert 52 < float(dpr["precipRateNearSurface"].max()) < 53  # as the data README says
    assert "height" not in dpr  # V05: bin heights come from ellipsoidBinOffset
    assert float(dpr["localZenithAngle"].max()) < 18.5
    assert int(dpr["range"].min()) == 1  # 1-based bins, as the bin variables
    cfb = dpr["binClutterFreeBottom"].values
    assert np.all((cfb >= 150) & (cfb <= 176))


def test_dpr_bin_heights_reproduce_the_file(dpr, gr):
    """Height of bin i = (ellipsoidBinOffset + (176 - i) 125 m) cos(zenith): heightBB exactly."""
    site = _gr_geometry.site_of(gr)
    rays, _, bb = _gr_geometry.dpr_rays(dpr, site, 150e3, ())
    peak = dpr["binBBPeak"].values[rays.cross, rays.along]
    has = np.isfinite(peak) & (bb["heightBB"] > 0)
    assert has.sum() > 500
    idx = peak[has].astype(int) - 1
    from_formula = rays.height[np.nonzero(has)[0], idx]
    np.testing.assert_allclose(from_formula, bb["heightBB"][has], atol=0.5)


def test_polar_volume_opens_through_xradar(gr):
    sweeps = polar_sweeps(gr)
    assert len(sweeps) == 14
    assert all("DBZH" in s for s in sweeps)
    assert sweeps[0]["DBZH"].dims == ("azimuth", "range")
    np.testing.assert_allclose(gr["sweep_fixed_angle"].values[[0, -1]], [0.5, 32.0], atol=1e-4)
    with h5py.File(GR_PATH) as f:
        where = dict(f["where"].attrs)
    root = gr.to_dataset(inherit=False)
    assert float(root["latitude"]) == pytest.approx(where["lat"])
    assert float(root["longitude"]) == pytest.approx(where["lon"])
    assert float(root["altitude"]) == pytest.approx(where["height"])
    assert gr.attrs["odim_source"] == "RAD:AU66,PLC:MtStapl"
    assert float(sweeps[0]["latitude"]) == pytest.approx(where["lat"])  # site on every sweep


def test_open_polar_volume_errors(tmp_path):
    with pytest.raises(NoSuchFileError, match="no such file"):
        open_polar_volume(tmp_path / "missing.h5")
    text = tmp_path / "not.h5"
    text.write_text("not radar data")
    with pytest.raises(RadarFileError, match="not an HDF5 file"):
        open_polar_volume(text)
    with pytest.raises(RadarFileError, match="no /what/object"):
        open_polar_volume(DPR_PATH)  # HDF5, not ODIM
    comp = tmp_path / "comp.h5"
    with h5py.File(comp, "w") as f:
        f.attrs["Conventions"] = np.bytes_("ODIM_H5/V2_2")
        f.create_group("what").attrs["object"] = np.bytes_("COMP")
        f.create_group("dataset1")
    with pytest.raises(RadarFileError, match="open_radar_composite"):
        open_polar_volume(comp)


# -- Ku to S -------------------------------------------------------------------------------------


def test_ku_to_s_cao2013():
    # rain: the Rayleigh regime at low Z, Ku above S at high Z (non-Rayleigh scattering)
    assert abs(float(ku_to_s(20.0)) - 20.0) < 0.1
    assert float(ku_to_s(40.0)) == pytest.approx(38.96, abs=0.01)
    # dry snow above the melting layer: S above Ku
    assert float(ku_to_s(25.0, melting_ratio=2.0)) == pytest.approx(25.39, abs=0.01)
    # NaN ratio means rain; NaN reflectivity stays NaN
    assert float(ku_to_s(40.0, np.nan)) == float(ku_to_s(40.0))
    assert np.isnan(ku_to_s(np.nan))
    out = ku_to_s(np.array([[30.0, 30.0]]), np.array([-1.0, 0.5]))
    assert out.shape == (1, 2) and out[0, 0] != out[0, 1]


# -- volume matching -----------------------------------------------------------------------------


def test_match_volumes_sample_count_and_thresholds(matched):
    assert matched.sizes["sample"] > 3000  # observed 3618
    assert float(matched["dpr_dbz_ku"].min()) >= 18.0
    assert float(matched["gr_dbz"].min()) >= 15.0
    assert float(matched["dpr_valid_fraction"].min()) >= 0.7
    assert float(matched["gr_valid_fraction"].min()) >= 0.7
    assert int(matched["gr_n_gates"].min()) >= 1 and int(matched["dpr_n_bins"].min()) >= 1
    assert set(np.unique(matched["phase"].values)) == {0, 1, 2}
    assert np.abs(matched["time_difference"]).max() < 15 * 60
    for key in ("ku_to_s", "melting_layer", "dpr_min_dbz", "gr_min_dbz", "min_valid_fraction"):
        assert key in matched.attrs
    assert "Cao" in matched.attrs["ku_to_s"]
    assert "bright-band" in matched.attrs["melting_layer"]


def test_match_volumes_geometry(matched, gr):
    """Samples lie inside the GR beam they were matched with, and within the GR's range."""
    site = _gr_geometry.site_of(gr)
    half = matched.attrs["gr_beamwidth_deg"] / 2
    r = matched["gr_range"].values
    elev = matched["elevation"].values
    kw = dict(earth_radius=site.earth_radius, site_altitude=site.alt)
    _, _, z_lo = xradar.georeference.antenna_to_cartesian(r, 0.0, elev - half, **kw)
    _, _, z_hi = xradar.georeference.antenna_to_cartesian(r, 0.0, elev + half, **kw)
    h = matched["height"].values
    assert np.all(h >= z_lo - 70) and np.all(h <= z_hi + 70)  # half a 125 m bin of slack
    lowest, highest = float(z_lo.min()), float(z_hi.max())
    assert lowest - 70 <= h.min() and h.max() <= highest + 70
    # the DPR bins and the GR gates matched sit at the same height (median within 50 m)
    assert float(np.median(np.abs(h - matched["gr_beam_height"].values))) < 50
    reach = 150e3  # 600 gates of 250 m
    assert float((matched["gr_range"] + matched["footprint_radius"]).max()) <= reach
    assert float(matched["gr_range"].min()) >= 15e3
    d = np.hypot(*site.to_xy(matched["lon"].values, matched["lat"].values))
    np.testing.assert_allclose(d, matched["ground_range"].values, atol=1.0)
    assert (
        2400
        < float(matched["footprint_radius"].min())
        < float(matched["footprint_radius"].max())
        < 2700
    )


def test_match_volumes_bias_is_plausible(matched):
    """Below the melting layer DPR (S band) - GR = +2.51 dB, r = 0.931 (GPM GV: a few dB)."""
    rain = matched.where(matched["phase"] == 0, drop=True)
    scores = score_matches(rain)
    assert int(scores["n"]) > 1000  # observed 1317
    assert 1.5 < float(scores["bias"]) < 3.5
    assert float(scores["pearson_r"]) > 0.85
    assert float(scores["rmse"]) < 5.0
    # the conversion matters in rain: Ku reads higher than S there
    ku = score_matches(rain, "dpr_dbz_ku", "gr_dbz")
    assert float(ku["bias"]) > float(scores["bias"])
    # score_matches is xgpm.verify on the samples
    diff = (rain["dpr_dbz_s"] - rain["gr_dbz"]).values
    assert float(scores["bias"]) == pytest.approx(diff.mean())


def test_match_volumes_same_for_any_chunking(matched, gr):
    lazy_dpr = xgpm.open_granule(DPR_PATH, chunks={"along_track": 9})
    lazy_gr = open_polar_volume(GR_PATH, chunks={})
    assert lazy_dpr["zFactorCorrected"].chunks is not None
    assert lazy_gr["sweep_0"]["DBZH"].chunks is not None
    xr.testing.assert_identical(match_volumes(lazy_dpr, lazy_gr), matched)


def test_match_volumes_accepts_paths_and_settings(dpr):
    strict = match_volumes(DPR_PATH, GR_PATH, min_valid_fraction=1.0, gr_min_dbz=18.0)
    assert 0 < strict.sizes["sample"] < 3618
    assert strict.attrs["gr_min_dbz"] == 18.0
    given = match_volumes(dpr, GR_PATH, melting_layer=(3000.0, 4500.0))
    assert given.attrs["melting_layer"].startswith("given")
    empty = match_volumes(dpr, GR_PATH, dpr_min_dbz=80.0)
    assert empty.sizes["sample"] == 0 and "dpr_dbz_s" in empty


# -- near-surface rain ---------------------------------------------------------------------------


def test_match_surface_rain(surface, dpr, gr):
    assert surface.sizes["sample"] > 2000  # observed 2507
    assert surface.attrs["zr_relation"].startswith("Z = 200 R^1.6")
    assert surface["dpr_rain"].attrs["units"] == surface["gr_rain"].attrs["units"] == "mm/h"
    scores = score_matches(surface, thresholds=[1.0])
    assert abs(float(scores["bias"])) < 1.0  # observed +0.30 mm/h
    assert float(scores["pearson_r"]) > 0.8  # observed 0.922
    assert float(scores["csi"].sel(threshold=1.0)) > 0.6  # observed 0.77
    # the lowest sweep's beam is between 0.2 and 2.8 km over the footprints
    beam = surface["gr_beam_height"]
    assert 150 < float(beam.min()) and float(beam.max()) < 2900
    # another Z-R relation changes the GR rain as the power law says, on echo-only footprints
    other = match_surface_rain(dpr, gr, zr=(300.0, 1.4))
    assert other.attrs["zr_a"] == 300.0
    wet = surface["gr_rain"] > 0
    assert np.all((other["gr_rain"].values != surface["gr_rain"].values)[wet.values])


# -- bad input -----------------------------------------------------------------------------------


def _renamed(gr: xr.DataTree, old: str, new: str) -> xr.DataTree:
    nodes = {"/": gr.to_dataset(inherit=False)}
    for name in gr.children:
        nodes[f"/{name}"] = gr[name].to_dataset(inherit=False).rename({old: new})
    return xr.DataTree.from_dict(nodes)


def test_volume_without_dbzh(dpr, gr):
    no_dbzh = _renamed(gr, "DBZH", "VRADH")
    with pytest.raises(InvalidArgumentError, match="gr has no 'DBZH'.*gr_variable"):
        match_volumes(dpr, no_dbzh)
    with pytest.raises(InvalidArgumentError, match="gr has no 'DBZH'"):
        match_surface_rain(dpr, no_dbzh)
    # the other name works once given
    assert match_volumes(dpr, _renamed(gr, "DBZH", "TH"), gr_variable="TH").sizes["sample"] > 0


def test_no_overlap_in_time_or_space(dpr, gr):
    later = dpr.assign_coords(time=dpr["time"] + np.timedelta64(20, "m"))
    with pytest.raises(NoOverlapError, match="max_time_difference"):
        match_volumes(later, gr)
    with pytest.raises(NoOverlapError, match="max_time_difference"):
        match_surface_rain(later, gr)
    assert match_volumes(later, gr, max_time_difference="30min").sizes["sample"] > 0
    away = dpr.assign_coords(lon=dpr["lon"] + 5.0)
    with pytest.raises(NoOverlapError, match="do not overlap"):
        match_volumes(away, gr)


def test_bad_arguments_name_themselves(dpr, gr):
    with pytest.raises(InvalidArgumentError, match="localZenithAngle"):
        match_volumes(dpr.drop_vars("localZenithAngle"), gr)
    with pytest.raises(InvalidArgumentError, match="dpr is a DataTree"):
        match_volumes(xr.DataTree.from_dict({"/NS": dpr}), gr)
    with pytest.raises(InvalidArgumentError, match="gr must be a polar volume"):
        match_volumes(dpr, gr["sweep_0"].to_dataset())
    with pytest.raises(InvalidArgumentError, match="min_valid_fraction"):
        match_volumes(dpr, gr, min_valid_fraction=0.0)
    with pytest.raises(InvalidArgumentError, match="melting_layer"):
        match_volumes(dpr, gr, melting_layer=(4000.0, 3000.0))
    with pytest.raises(InvalidArgumentError, match="zr"):
        match_surface_rain(dpr, gr, zr=(0.0, 1.6))
    with pytest.raises(InvalidArgumentError, match="sweep"):
        match_surface_rain(dpr, gr, sweep=14)
    with pytest.raises(InvalidArgumentError, match="precipRateNearSurface"):
        match_surface_rain(dpr.drop_vars("precipRateNearSurface"), gr)
