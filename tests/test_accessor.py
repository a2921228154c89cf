"""The ds.gpm / ds.xgpm accessors, channel helpers, PCT, plots, and import lightness."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
import xarray as xr

import xgpm
from xgpm.errors import InvalidArgumentError, MissingChannelsError, UnknownChannelError

from .conftest import GRANULES


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_is_light():
    result = _run(
        """
        import sys, xgpm
        heavy = {"torch", "numba", "satpy", "distributed", "h5py", "gpm", "pyresample"}
        loaded = heavy & set(sys.modules)
        assert not loaded, loaded
        """
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("order", ["xgpm-first", "gpm-api-first"])
def test_gpm_accessor_offers_both_libraries_in_any_import_order(order):
    pytest.importorskip("gpm")
    imports = "import xgpm\nimport gpm" if order == "xgpm-first" else "import gpm\nimport xgpm"
    path = GRANULES["1C-GMI"]
    result = _run(
        f"""
        {imports.splitlines()[0]}
        {imports.splitlines()[1]}
        import xgpm, gpm
        ds = xgpm.open_granule(r"{path}", scan_mode="S1")
        assert ds.gpm.sensor.name == "GMI"          # xgpm
        assert ds.gpm.is_orbit                       # GPM-API
        assert ds.gpm.gpm_api.is_orbit
        assert "pct" in dir(ds.gpm) and "crop" in dir(ds.gpm)
        other = gpm.open_granule_dataset(r"{path}", scan_mode="S1")
        assert other.gpm.pct(89).shape == (10, 10)   # xgpm method on a GPM-API dataset
        assert other.xgpm.sensor.name == "GMI"
        assert xgpm.accessor.shadowed_gpm_api_methods() == ["plot_swath"]
        """
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr


def test_accessor_created_before_gpm_api_import_sees_it_after():
    pytest.importorskip("gpm")
    path = GRANULES["1C-GMI"]
    result = _run(
        f"""
        import xgpm
        ds = xgpm.open_granule(r"{path}", scan_mode="S1")
        try:
            ds.gpm.is_orbit
        except AttributeError as err:
            assert "import gpm" in str(err)
        else:
            raise AssertionError("GPM-API method available before import gpm")
        import gpm
        assert ds.gpm.is_orbit
        """
    )
    assert result.returncode == 0, result.stderr


def test_sensor_and_channels(gmi_path):
    ds = xgpm.open_granule(gmi_path)
    assert ds.gpm.sensor is xgpm.sensors.get("GMI")
    assert [c.label for c in ds.gpm.channels] == list(ds["pmw_frequency"].values)
    assert ds["Tc"].gpm.sensor.name == "GMI"
    assert ds.xgpm.sensor.name == "GMI"


def test_select_channels(gmi_path):
    ds = xgpm.open_granule(gmi_path)
    sub = ds.gpm.select_channels(["37V", "37H", "89V", "89H"])
    assert list(sub["pmw_frequency"].values) == ["37V", "37H", "89V", "89H"]
    assert list(
        ds.gpm.select_channels(frequency=[18.7, 166.0], polarization="H")["pmw_frequency"].values
    ) == ["19H", "165H"]
    with pytest.raises(UnknownChannelError, match="not in the data; present"):
        ds.gpm.select_channels(["91V"])
    with pytest.raises(InvalidArgumentError):
        ds.gpm.select_channels()
    ssmis = xgpm.open_granule(GRANULES["1C-SSMIS-F17"])
    assert ssmis.gpm.select_channels(frequency=89.0, polarization="V")[
        "pmw_frequency"
    ].values.tolist() == ["91V"]


def test_pct_matches_the_definition_on_raw_values(gmi_path):
    ds = xgpm.open_granule(gmi_path, scan_mode="S1")
    with h5py.File(gmi_path) as h5:
        tc = h5["S1/Tc"][()].astype("float64")
        tc[tc == np.float32(-9999.9)] = np.nan
    v, h = tc[..., 7].T, tc[..., 8].T  # 89V, 89H in 1C order
    got = ds.gpm.pct(89)
    np.testing.assert_allclose(got.values, 1.7 * v - 0.7 * h, rtol=1e-6)
    assert got.attrs["channels"] == "89V,89H" and got.name == "PCT89"
    np.testing.assert_allclose(
        ds.gpm.pct(37).values, 2.15 * tc[..., 5].T - 1.15 * tc[..., 6].T, rtol=1e-6
    )
    # SSMIS has no 89 GHz: its 91.655 GHz pair is used
    ssmis = xgpm.open_granule(GRANULES["1C-SSMIS-F17"])
    assert ssmis.gpm.pct(89).attrs["channels"] == "91V,91H"
    with pytest.raises(MissingChannelsError, match="needs a V and an H"):
        ds.gpm.select_channels(["89V"]).gpm.pct(89)
    with pytest.raises(InvalidArgumentError, match="no PCT coefficient"):
        ds.gpm.pct(150)


def test_pct_is_lazy(gmi_path):
    ds = xgpm.open_granule(gmi_path, scan_mode="S1")
    assert hasattr(ds.gpm.pct(89).data, "dask")


def test_no_sensor_information_is_a_clear_error():
    da = xr.DataArray(
        np.zeros((2, 2, 1)),
        dims=("cross_track", "along_track", "pmw_frequency"),
        coords={"pmw_frequency": ["89V"]},
    )
    with pytest.raises(InvalidArgumentError, match="gpm_api_product"):
        da.gpm.sensor  # noqa: B018


def test_plot_swath_writes_a_png(gmi_path, tmp_path):
    ds = xgpm.open_granule(gmi_path)
    mesh = ds.gpm.plot_swath("Tc", channel="89V")
    out = tmp_path / "swath.png"
    mesh.figure.savefig(out)
    assert out.stat().st_size > 5000
    assert "89V" in mesh.axes.get_title()
    with pytest.raises(UnknownChannelError):
        ds.gpm.plot_swath("Tc", channel="91V")
    with pytest.raises(InvalidArgumentError, match="not in the dataset"):
        ds.gpm.plot_swath("nope")


def test_write_granule_method(gmi_path, tmp_path):
    ds = xgpm.open_granule(gmi_path, scan_mode="S1")
    path = ds.gpm.write_granule(tmp_path)
    xr.testing.assert_identical(xgpm.open_granule(path, scan_mode="S1").compute(), ds.compute())


def test_score_accessor_delegates_to_verify():
    rng = np.random.default_rng(0)
    coords = {
        "time": np.arange(3).astype("datetime64[h]").astype("datetime64[ns]"),
        "lat": np.arange(5.0),
        "lon": np.arange(6.0),
    }
    ref = xr.DataArray(
        rng.gamma(0.5, 2.0, (3, 5, 6)),
        dims=("time", "lat", "lon"),
        coords=coords,
        attrs={"units": "mm/h"},
    )
    fc = ref * 1.2
    via_accessor = xr.Dataset({"precipitation": fc}).gpm.score(
        xr.Dataset({"precipitation": ref}), thresholds=[1.0], scales=[1]
    )
    direct = xgpm.score(fc, ref, thresholds=[1.0], scales=[1])
    xr.testing.assert_identical(via_accessor, direct)
    with pytest.raises(InvalidArgumentError, match="variable"):
        xr.Dataset({"a": fc, "b": fc}).gpm.score(ref)


def test_colocate_accessor_delegates():
    from xgpm.colocation import _testing

    source = _testing.gmi_orbit(n_scans=60)
    target = source.isel(cross_track=slice(0, 200, 7))
    got = source.gpm.colocate(target, radius_km=10)
    direct = xgpm.colocate(source, target, radius_km=10)
    xr.testing.assert_identical(got, direct)


def test_one_season_definition():
    from xgpm import seasons

    times = np.array(["2021-12-31", "2021-01-01", "2021-06-15", "2021-11-30"], "datetime64[ns]")
    assert list(seasons.season_of(times)) == ["DJF", "DJF", "JJA", "SON"]
    assert seasons.season_index(np.array([2.0, np.nan]))[0] == 0
    assert np.isnan(seasons.season_index(np.array([2.0, np.nan]))[1])
