"""Radar references: ODIM -> rates -> half hours -> IMERG's 0.1 deg grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from xgpm.errors import InvalidArgumentError, NoOverlapError
from xgpm.io import odim
from xgpm.verify import reference


@pytest.fixture(scope="module")
def grid():
    return odim.france_1km().cut(46.5, 2.5, 120.0)  # 120 x 120 km around the centre of France


def _composite(grid, fields, start="2021-06-01T00:00", step="5min"):
    """A Dataset like open_radar_composite gives, from (n, y, x) accumulations in mm."""
    lon, lat = grid.lonlat()
    times = pd.date_range(start, periods=len(fields), freq=step)
    return xr.Dataset(
        {"ACRR": (("time", "y", "x"), np.asarray(fields, "float32"), {"units": "mm"})},
        coords={
            "time": times.values,
            "time_end": ("time", (times + pd.Timedelta(step)).values),
            "x": grid.x,
            "y": grid.y,
            "lon": (("y", "x"), lon),
            "lat": (("y", "x"), lat),
        },
        attrs={"projdef": grid.projdef},
    )


def test_odim_round_trip_then_rate(grid, tmp_path):
    rng = np.random.default_rng(0)
    field = rng.gamma(0.5, 0.2, (grid.ysize, grid.xsize)).astype("float32")
    field[:10, :10] = np.nan  # not scanned
    field[20:30, 20:30] = 0.0  # scanned, no echo
    path = odim.write_radar_composite(
        tmp_path / "comp.h5", field, grid, "2021-06-01T00:00", "2021-06-01T00:05"
    )
    comp = odim.open_radar_composite(path)
    rate = reference.radar_rate(comp)
    assert rate.attrs["units"] == "mm/h"
    expected = np.round(field / 0.01) * 0.01 * 12  # stored with gain 0.01 mm, 5-min period
    np.testing.assert_allclose(rate.values[0], expected, rtol=1e-5, atol=1e-6)
    assert np.isnan(rate.values[0, :10, :10]).all()
    assert (rate.values[0, 20:30, 20:30] == 0).all()


def test_half_hourly_mean_and_coverage(grid):
    ny, nx = grid.ysize, grid.xsize
    fields = [np.full((ny, nx), k * 0.1) for k in range(12)]  # 1 h of 5-min steps
    fields[7] = fields[7].copy()
    fields[7][:5] = np.nan  # a gap in the second half hour
    rate = reference.radar_rate(_composite(grid, fields))
    half = reference.aggregate_half_hourly(rate)
    assert half.sizes["time"] == 2
    np.testing.assert_allclose(
        half["precipitation"].values[0], np.mean(np.arange(6)) * 1.2, rtol=1e-5
    )
    assert np.isnan(half["precipitation"].values[1, :5]).all()
    np.testing.assert_allclose(half["coverage"].values[1, :5], 5 / 6)
    lenient = reference.aggregate_half_hourly(rate, min_coverage=0.8)
    np.testing.assert_allclose(
        lenient["precipitation"].values[1, :5], np.mean([6, 8, 9, 10, 11]) * 1.2, rtol=1e-5
    )
    assert list(half["n_steps"].values) == [6, 6]


def test_missing_steps_in_the_archive_show(grid):
    ny, nx = grid.ysize, grid.xsize
    fields = [np.ones((ny, nx))] * 6
    comp = _composite(grid, fields).isel(time=[0, 1, 2, 4, 5])  # 00:15 file missing
    half = reference.aggregate_half_hourly(reference.radar_rate(comp))
    assert int(half["n_steps"].values[0]) == 5
    assert np.isnan(half["precipitation"].values[0]).all()


def test_regrid_area_mean_and_valid_fraction(grid):
    lon2, lat2 = grid.lonlat()
    field = (lat2 - 46.0).astype("float32")[None]  # linear in latitude
    field[0, :, :15] = np.nan  # the western 15 km unseen
    da = xr.DataArray(
        field,
        dims=("time", "y", "x"),
        coords={
            "time": [np.datetime64("2021-06-01", "ns")],
            "x": grid.x,
            "y": grid.y,
            "lon": (("y", "x"), lon2),
            "lat": (("y", "x"), lat2),
        },
        attrs={"projdef": grid.projdef, "units": "mm/h"},
    )
    lat = np.round(np.arange(45.55, 47.5, 0.1), 2)
    lon = np.round(np.arange(1.05, 4.0, 0.1), 2)
    out = reference.regrid_to_grid(da, lat, lon)
    frac = out["valid_fraction"].values[0]
    mean = out["precipitation"].values[0]
    inner = frac > 0.99
    assert inner.sum() > 20
    # a linear field's area mean is its value at the cell's centre of area
    lat_grid = np.broadcast_to(lat[:, None], frac.shape)
    np.testing.assert_allclose(mean[inner], lat_grid[inner] - 46.0, atol=0.01)
    assert (frac <= 1.0).all() and (frac[~np.isfinite(mean)] == 0).all()
    # cells beyond the radar domain have no data
    assert np.isnan(mean[0, 0]) and frac[0, 0] == 0
    strict = reference.regrid_to_grid(da, lat, lon, min_valid_fraction=0.99)
    assert np.isnan(strict["precipitation"].values[0][~inner]).all()


def test_regrid_same_for_any_dask_chunking(grid):
    rng = np.random.default_rng(3)
    lon2, lat2 = grid.lonlat()
    values = rng.gamma(0.4, 2.0, (7, grid.ysize, grid.xsize)).astype("float32")
    da = xr.DataArray(
        values,
        dims=("time", "y", "x"),
        coords={
            "time": pd.date_range("2021", periods=7, freq="30min").values,
            "x": grid.x,
            "y": grid.y,
            "lon": (("y", "x"), lon2),
            "lat": (("y", "x"), lat2),
        },
        attrs={"projdef": grid.projdef, "units": "mm/h"},
    )
    lat, lon = np.round(np.arange(46.05, 47.0, 0.1), 2), np.round(np.arange(1.85, 3.2, 0.1), 2)
    expected = reference.regrid_to_grid(da, lat, lon)
    for chunks in (1, 3, 7):
        got = reference.regrid_to_grid(da.chunk(time=chunks), lat, lon)
        assert got["precipitation"].chunks is not None
        xr.testing.assert_identical(got.compute(), expected)


def test_reference_for_imerg(grid):
    fields = [np.full((grid.ysize, grid.xsize), 0.2)] * 12
    comp = _composite(grid, fields)
    imerg = xr.Dataset(
        coords={
            "time": pd.date_range("2021-06-01T00:30", periods=3, freq="30min").values,
            "lat": np.round(np.arange(46.05, 47.0, 0.1), 2),
            "lon": np.round(np.arange(1.85, 3.2, 0.1), 2),
        }
    )
    ref = reference.reference_for(comp, imerg)
    assert list(ref["time"].values) == [imerg["time"].values[0]]
    inner = ref["valid_fraction"].values[0] > 0.9
    np.testing.assert_allclose(ref["precipitation"].values[0][inner], 2.4, rtol=1e-5)
    later = imerg.assign_coords(time=imerg["time"] + np.timedelta64(1, "D"))
    with pytest.raises(NoOverlapError, match="share no half hour"):
        reference.reference_for(comp, later)


def test_bad_inputs(grid):
    comp = _composite(grid, [np.zeros((grid.ysize, grid.xsize))])
    with pytest.raises(InvalidArgumentError, match="units"):
        reference.radar_rate(comp["ACRR"].assign_attrs(units="dBZ"))
    with pytest.raises(InvalidArgumentError, match="neither RATE nor ACRR"):
        reference.radar_rate(comp.rename(ACRR="TH"))
    with pytest.raises(InvalidArgumentError, match="reflectivity .* Z-R relation"):
        reference.radar_rate(comp.rename(ACRR="DBZH"))
    with pytest.raises(NoOverlapError, match="does not overlap"):
        reference.regrid_to_grid(
            reference.radar_rate(comp).assign_attrs(projdef=grid.projdef),
            np.arange(10.05, 11, 0.1),
            np.arange(100.05, 101, 0.1),
        )
    with pytest.raises(InvalidArgumentError, match="regular"):
        reference.regrid_to_grid(
            reference.radar_rate(comp).assign_attrs(projdef=grid.projdef),
            np.array([46.0, 46.1, 46.5]),
            np.arange(1.05, 3, 0.1),
        )


def test_single_half_hour_step_uses_time_end(grid):
    comp = _composite(grid, [np.full((grid.ysize, grid.xsize), 0.5)], step="30min")
    half = reference.aggregate_half_hourly(reference.radar_rate(comp))
    np.testing.assert_allclose(half["coverage"].values, 1.0)
    np.testing.assert_allclose(half["precipitation"].values, 1.0)
    with pytest.raises(InvalidArgumentError, match="step length is unknown"):
        reference.aggregate_half_hourly(reference.radar_rate(comp).drop_vars("time_end"))
