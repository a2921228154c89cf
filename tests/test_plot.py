"""Maps, colour scales and side-by-side comparisons of xgpm.plot (headless, Agg)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.colors import BoundaryNorm, LogNorm

import xgpm
from xgpm import plot
from xgpm.colormaps import RAIN_LEVELS, is_precipitation, rain_levels, rain_norm
from xgpm.errors import InvalidArgumentError, UnknownChannelError

from .conftest import GRANULES

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _swath(values: np.ndarray, units: str, name: str, channels=None) -> xr.DataArray:
    """A small synthetic swath over the Bay of Biscay / western France."""
    n_cross, n_along = values.shape[:2]
    cross = np.linspace(-1.0, 1.0, n_cross)[:, None]
    along = np.linspace(0.0, 1.0, n_along)[None, :]
    lon = -4.0 + 3.0 * cross + 2.0 * along
    lat = 44.0 + 0.5 * cross + 4.0 * along
    dims = ("cross_track", "along_track") + (("pmw_frequency",) if channels else ())
    coords = {"lon": (dims[:2], lon), "lat": (dims[:2], lat)}
    if channels:
        coords["pmw_frequency"] = channels
    return xr.DataArray(values, dims=dims, coords=coords, name=name, attrs={"units": units})


@pytest.fixture
def tb_swath() -> xr.DataArray:
    rng = np.random.default_rng(0)
    values = 200.0 + 80.0 * rng.random((12, 20, 2))
    return _swath(values, "K", "Tc", channels=["89V", "89H"])


@pytest.fixture
def rain_swath() -> xr.DataArray:
    values = np.tile(np.array([0.0, 0.05, 0.1, 0.3, 3.0, 30.0, 80.0, np.nan]), (6, 2))
    return _swath(values, "mm/hr", "precipRateNearSurface")


@pytest.fixture
def rain_grid() -> xr.Dataset:
    times = pd.date_range("2021-06-15T04:30", periods=3, freq="30min")
    lat = np.arange(43.05, 46.0, 0.1)
    lon = np.arange(-2.95, 3.0, 0.1)
    rng = np.random.default_rng(1)
    values = rng.gamma(0.4, 2.0, (times.size, lat.size, lon.size)).astype(np.float32)
    values[:, :, :5] = 0.0  # a dry strip
    ds = xr.Dataset(
        {"precipitation": (("time", "lat", "lon"), values, {"units": "mm/hr"})},
        coords={"time": times, "lat": lat, "lon": lon},
        attrs={"gpm_api_product": "IMERG-FR"},
    )
    return ds


def _png(fig, path: Path) -> int:
    fig.savefig(path, dpi=50)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return path.stat().st_size


# -- colour scales -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "expected"),
    [("mm/h", True), ("mm/hr", True), ("mm h-1", True), ("K", False), ("mm", False), (None, False)],
)
def test_is_precipitation_by_units(units, expected):
    assert is_precipitation(units) is expected


def test_rain_levels_are_trimmed_by_vmin_vmax_and_never_start_below_the_threshold():
    assert rain_levels() == list(RAIN_LEVELS)
    assert rain_levels(0, 10) == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
    assert rain_levels(0.3, 7) == [0.3, 0.5, 1.0, 2.0, 5.0, 7.0]
    with pytest.raises(InvalidArgumentError, match="vmax > vmin"):
        rain_levels(5, 1)
    with pytest.raises(InvalidArgumentError, match="increasing"):
        rain_norm([1.0, 0.5])


# -- plot_swath ----------------------------------------------------------------------------


def test_plot_swath_uses_the_rain_scale_for_mm_per_hour(rain_swath, tmp_path):
    mesh = plot.plot_swath(rain_swath)
    norm = mesh.norm
    assert isinstance(norm, BoundaryNorm)
    np.testing.assert_allclose(norm.boundaries, RAIN_LEVELS)
    data = mesh.get_array()
    values = rain_swath.values.ravel()
    # dry (< 0.1 mm/h) and missing pixels are masked (drawn transparent), rain is kept
    np.testing.assert_array_equal(np.ma.getmaskarray(data).ravel(), ~(values >= 0.1))
    assert mesh.cmap.get_under()[3] == 0.0 and mesh.cmap.get_bad()[3] == 0.0
    colorbar = mesh.colorbar
    assert colorbar.extend == "max"
    np.testing.assert_allclose(colorbar.get_ticks(), RAIN_LEVELS)
    assert _png(mesh.figure, tmp_path / "rain.png") > 2000


def test_plot_swath_keeps_an_explicit_colour_map(rain_swath):
    mesh = plot.plot_swath(rain_swath, cmap="turbo", vmin=0, vmax=10)
    assert not isinstance(mesh.norm, BoundaryNorm)
    assert (mesh.norm.vmin, mesh.norm.vmax) == (0, 10)
    assert mesh.cmap.name == "turbo"


def test_plot_swath_tb_gets_the_perceptual_map(tb_swath):
    mesh = plot.plot_swath(tb_swath, channel="89H", vmin=180, vmax=290)
    assert mesh.cmap.name.startswith(xgpm.colormaps.TB_CMAP)
    np.testing.assert_allclose(
        np.ma.getdata(mesh.get_array()).ravel(), tb_swath.sel(pmw_frequency="89H").values.ravel()
    )


# -- plot_map --------------------------------------------------------------------------------


def test_plot_map_grid_selects_the_time_step_by_date_or_index(rain_grid, tmp_path):
    mesh = plot.plot_map(rain_grid, time="2021-06-15T05:01", coastlines=False, projection=None)
    expected = rain_grid["precipitation"].isel(time=1).values
    data = mesh.get_array().ravel()
    shown = ~np.ma.getmaskarray(data)
    np.testing.assert_allclose(np.ma.getdata(data)[shown], expected.ravel()[shown])
    np.testing.assert_array_equal(shown, expected.ravel() >= 0.1)
    assert "05:00" in mesh.axes.get_title() and "IMERG-FR" in mesh.axes.get_title()
    assert isinstance(mesh.norm, BoundaryNorm)
    assert _png(mesh.figure, tmp_path / "grid.png") > 2000
    by_index = plot.plot_map(rain_grid, time=-1, coastlines=False, projection=None)
    assert "05:30" in by_index.axes.get_title()


def test_plot_map_log_norm_on_request(rain_grid):
    mesh = plot.plot_map(rain_grid, time=0, norm="log", vmax=20, coastlines=False, projection=None)
    assert isinstance(mesh.norm, LogNorm)
    assert (mesh.norm.vmin, mesh.norm.vmax) == (0.1, 20)
    assert np.ma.getmaskarray(mesh.get_array()).any()  # the dry strip


def test_plot_map_swath_on_plain_axes_frames_the_data(tb_swath, tmp_path):
    mesh = plot.plot_map(tb_swath, channel="89V", coastlines=False, projection=None)
    ax = mesh.axes
    assert not hasattr(ax, "projection")
    lon, lat = tb_swath["lon"].values, tb_swath["lat"].values
    assert ax.get_xlim()[0] <= lon.min() and ax.get_xlim()[1] >= lon.max()
    assert ax.get_ylim()[0] <= lat.min() and ax.get_ylim()[1] >= lat.max()
    assert mesh.colorbar is not None and "K" in mesh.colorbar.ax.get_ylabel()
    assert _png(mesh.figure, tmp_path / "swath.png") > 2000


def test_plot_map_real_gmi_granule_on_cartopy_axes(tmp_path):
    pytest.importorskip("cartopy")
    from cartopy.mpl.geoaxes import GeoAxes

    ds = xgpm.open_granule(GRANULES["1C-GMI"], scan_mode="S1")
    mesh = plot.plot_map(ds, channel="89H", coastlines=False)
    assert isinstance(mesh.axes, GeoAxes)
    assert "89H" in mesh.axes.get_title()
    assert _png(mesh.figure, tmp_path / "gmi.png") > 2000


def test_coastlines_come_from_disk_without_any_network(monkeypatch, tb_swath):
    def no_network(*args, **kwargs):
        raise AssertionError("plot_map tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(plot, "_natural_earth_on_disk", lambda resolution: False)
    _, ax = plt.subplots()
    drawn = plot._add_coastlines(ax, (-5.0, 0.0, 43.0, 49.0))  # Brittany and Biscay
    assert drawn == "land-mask"
    assert len(ax.collections) == 1  # the contour
    _, ax = plt.subplots()
    assert plot._add_coastlines(ax, (-30.0, -25.0, 40.0, 45.0)) is None  # open Atlantic
    mesh = plot.plot_map(tb_swath, projection=None)  # coastlines=True by default
    assert len(mesh.axes.collections) >= 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"variable": "nope"}, InvalidArgumentError, "not in the dataset"),
        ({"time": None}, InvalidArgumentError, "3 time steps"),
        ({"time": "2021-06-16"}, InvalidArgumentError, "outside"),
        ({"time": 7}, InvalidArgumentError, "out of range"),
        ({"time": "not a date"}, InvalidArgumentError, "neither an index nor a date"),
        ({"time": 0, "extent": (0, 1)}, InvalidArgumentError, "extent"),
        ({"time": 0, "norm": "sqrt"}, InvalidArgumentError, "norm"),
    ],
)
def test_plot_map_errors_name_the_argument(rain_grid, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot.plot_map(rain_grid, coastlines=False, projection=None, **kwargs)


def test_plot_map_swath_errors(tb_swath):
    with pytest.raises(UnknownChannelError, match="91V"):
        plot.plot_map(tb_swath, channel="91V", projection=None)
    with pytest.raises(InvalidArgumentError, match="time="):
        plot.plot_map(tb_swath, time=0, projection=None)
    with pytest.raises(InvalidArgumentError, match="lon"):
        plot.plot_map(tb_swath.drop_vars(["lon", "lat"]), projection=None)
    with pytest.raises(InvalidArgumentError, match="projection"):
        plot.plot_map(tb_swath, projection="mercator")


# -- plot_compare ------------------------------------------------------------------------------


def test_plot_compare_shares_one_colour_scale(tb_swath, tmp_path):
    warm = tb_swath + 30.0
    warm.attrs = tb_swath.attrs
    fig = plot.plot_compare(
        [tb_swath, warm],
        channel=["89V", "89H"],
        titles=["source", "pseudo-GMI"],
        coastlines=False,
        projection=None,
    )
    panels = fig.axes[:2]
    meshes = [ax.collections[0] for ax in panels]
    assert meshes[0].norm.vmin == meshes[1].norm.vmin
    assert meshes[0].norm.vmax == meshes[1].norm.vmax
    pooled = np.concatenate(
        [tb_swath.sel(pmw_frequency="89V").values, warm.sel(pmw_frequency="89H").values],
        axis=None,
    )
    np.testing.assert_allclose(
        (meshes[0].norm.vmin, meshes[0].norm.vmax), np.percentile(pooled, [1, 99])
    )
    assert [ax.get_title() for ax in panels] == ["source", "pseudo-GMI"]
    assert len(fig.axes) == 3  # two panels and one shared colour bar
    assert _png(fig, tmp_path / "compare.png") > 2000
    fixed = plot.plot_compare(
        [tb_swath, warm], vmin=150, vmax=300, coastlines=False, projection=None
    )
    assert {
        (ax.collections[0].norm.vmin, ax.collections[0].norm.vmax) for ax in fixed.axes[:2]
    } == {(150, 300)}


def test_plot_compare_rain_panels_share_the_rain_levels(rain_grid, rain_swath):
    fig = plot.plot_compare(
        [rain_grid, rain_swath], time=0, coastlines=False, projection=None, ncols=1
    )
    norms = [ax.collections[0].norm for ax in fig.axes[:2]]
    assert all(isinstance(n, BoundaryNorm) for n in norms)
    assert norms[0] is norms[1]


def test_plot_compare_errors(tb_swath, rain_swath):
    with pytest.raises(InvalidArgumentError, match="units differ"):
        plot.plot_compare([tb_swath, rain_swath], projection=None)
    with pytest.raises(InvalidArgumentError, match="titles"):
        plot.plot_compare([tb_swath, tb_swath], titles=["one"], projection=None)
    with pytest.raises(InvalidArgumentError, match="channel"):
        plot.plot_compare([tb_swath, tb_swath], channel=["89V"], projection=None)
    with pytest.raises(InvalidArgumentError, match="at least one"):
        plot.plot_compare([], projection=None)


def test_import_xgpm_plot_stays_light():
    code = (
        "import sys, xgpm.plot, xgpm.colormaps\n"
        "heavy = [m for m in ('matplotlib.pyplot', 'cartopy', 'torch', 'numba') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


GALLERY = Path(__file__).parents[1] / "docs" / "gallery"


def test_gallery_script_runs_on_a_fresh_clone(tmp_path, monkeypatch):
    """One gallery example end to end from no data at all, so the gallery cannot rot."""
    monkeypatch.setenv("XGPM_GALLERY_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XGPM_GALLERY_OUT", str(tmp_path / "out"))
    # ten minutes around GMI's second overpass: a few seconds of simulation
    monkeypatch.setenv("XGPM_GALLERY_START", "2021-06-15T06:15")
    monkeypatch.setenv("XGPM_GALLERY_HOURS", str(10 / 60))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    result = subprocess.run(
        [sys.executable, str(GALLERY / "plot_tb_swath.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    png = tmp_path / "out" / "tb_swath.png"
    assert png.stat().st_size > 5000


def test_gallery_page_lists_every_script_and_its_figures():
    page = (GALLERY.parent / "gallery.md").read_text(encoding="utf-8")
    scripts = sorted(GALLERY.glob("plot_*.py"))
    assert scripts
    for script in scripts:
        assert f"# docs/gallery/{script.name}" in page, (
            f"run python docs/gallery/build.py ({script.name})"
        )
    for image in re.findall(r"\(gallery/images/([^)]+\.png)\)", page):
        assert (GALLERY / "images" / image).stat().st_size < 300_000
