"""xgpm.translate.grid: densifying a swath to GMI's pixel spacing, and back."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xgpm
from tests.conftest import GRANULES
from xgpm.colocation.core import great_circle_km
from xgpm.translate.grid import (
    GMI_SPACING_KM,
    pixel_spacing_km,
    to_gmi_sampling,
    to_source_sampling,
    upsampling_factor,
)


def _swath(n_cross: int = 30, n_along: int = 20, spacing_cross_km: float = 12.4, lon0=10.0):
    """A straight synthetic swath (meridional scans) with known spacing and a NaN block."""
    deg_per_km = 1.0 / 111.195
    cross = np.arange(n_cross) * spacing_cross_km * deg_per_km
    along = np.arange(n_along) * 12.6 * deg_per_km
    lon = lon0 + cross[:, None] / np.cos(np.deg2rad(40.0)) + 0 * along[None, :]
    lat = 40.0 + along[None, :] + 0 * cross[:, None]
    rng = np.random.default_rng(0)
    tc = (200 + 80 * rng.random((n_cross, n_along, 3))).astype("float32")
    tc[5:7, 3:5, :] = np.nan
    time = np.datetime64("2021-07-01T00:00") + np.arange(n_along) * np.timedelta64(1900, "ms")
    return xr.Dataset(
        {"Tc": (("cross_track", "along_track", "pmw_frequency"), tc)},
        coords={
            "lon": (("cross_track", "along_track"), lon.astype("float32")),
            "lat": (("cross_track", "along_track"), lat.astype("float32")),
            "time": ("along_track", time.astype("datetime64[ns]")),
            "pmw_frequency": ["19V", "37V", "91V"],
        },
        attrs={"gpm_api_product": "1C-SSMIS-F17"},
    )


def test_factor_follows_spacing():
    assert upsampling_factor(12.4, GMI_SPACING_KM[0]) == 2
    assert upsampling_factor(GMI_SPACING_KM[0], GMI_SPACING_KM[0]) == 1
    assert upsampling_factor(float("nan"), 5.1) == 1


def test_densified_spacing_and_exact_inverse():
    ds = _swath()
    dense = to_gmi_sampling(ds)
    assert dense.attrs["xgpm_upsampling"] == [2, 1]
    assert dense.sizes["cross_track"] == 2 * (ds.sizes["cross_track"] - 1) + 1
    assert dense.sizes["along_track"] == ds.sizes["along_track"]
    across, _ = pixel_spacing_km(dense)
    assert across == pytest.approx(pixel_spacing_km(ds)[0] / 2, rel=0.01)
    back = to_source_sampling(dense, ds)
    xr.testing.assert_identical(back["Tc"].transpose(*ds["Tc"].dims), ds["Tc"])
    # Interpolated pixels lie between their neighbours, NaN next to a NaN.
    mid = dense["Tc"].isel(cross_track=1).values
    lo, hi = ds["Tc"].isel(cross_track=0).values, ds["Tc"].isel(cross_track=1).values
    np.testing.assert_allclose(mid, (lo + hi) / 2, rtol=1e-6)
    assert np.isnan(dense["Tc"].isel(cross_track=9, along_track=3)).all()  # between 4 and 5
    assert dense["time"].dtype == ds["time"].dtype


def test_lonlat_interpolated_on_the_sphere_across_the_antimeridian():
    ds = _swath(lon0=179.5)
    ds["lon"] = ((ds["lon"] + 180) % 360 - 180).astype("float32")
    dense = to_gmi_sampling(ds)
    lon, lat = dense["lon"].values.astype(float), dense["lat"].values.astype(float)
    step = great_circle_km(lon[:-1], lat[:-1], lon[1:], lat[1:])
    assert np.nanmax(step) < 7.0  # no jump of ~360 degrees at the dateline
    assert np.all(np.abs(lon) <= 180.0)


@settings(max_examples=6, deadline=None)
@given(cross=st.integers(4, 29), along=st.integers(3, 19))
def test_same_answer_for_any_chunking(cross, along):
    ds = _swath()
    eager = to_gmi_sampling(ds)
    lazy = to_gmi_sampling(ds.chunk({"cross_track": cross, "along_track": along}))
    assert lazy["Tc"].chunks is not None
    xr.testing.assert_identical(lazy.compute(), eager)


@pytest.mark.parametrize("product", [p for p in GRANULES if p.startswith("1C-SSMIS")])
def test_real_ssmis_granule_keeps_values(product):
    ds = xgpm.open_granule(GRANULES[product])
    dense = to_gmi_sampling(ds)
    back = to_source_sampling(dense, ds)
    np.testing.assert_array_equal(back["Tc"].transpose(*ds["Tc"].dims).values, ds["Tc"].values)


def test_bad_input_is_named():
    ds = _swath().drop_vars("lon")
    with pytest.raises(xgpm.XGPMError, match="lon"):
        to_gmi_sampling(ds)
    with pytest.raises(xgpm.XGPMError, match="xgpm_upsampling"):
        to_source_sampling(_swath())
