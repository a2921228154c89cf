"""CF-1.10 metadata: tools that know nothing of PPS find what they need (cf-xarray)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xgpm
from xgpm.cf import add_cf_attrs

from .conftest import GRANULES

cf_xarray = pytest.importorskip("cf_xarray")


@pytest.mark.parametrize("product", sorted(GRANULES))
def test_every_granule_is_cf(product):
    ds = xgpm.open_granule(GRANULES[product])
    if isinstance(ds, xr.DataTree):  # products whose scan modes differ in shape
        ds = next(iter(ds.children.values())).to_dataset()
    assert "CF-1.10" in ds.attrs["Conventions"]
    assert ds.cf["latitude"].attrs["units"] == "degrees_north"
    assert ds.cf["longitude"].attrs["units"] == "degrees_east"
    assert ds.cf["time"].name == "time"
    assert "units" not in ds["time"].attrs  # a datetime64 coordinate: xarray writes its units
    if "crsWGS84" in ds.variables:
        assert ds["crsWGS84"].attrs["grid_mapping_name"] == "latitude_longitude"


@pytest.mark.parametrize(
    ("product", "variable", "standard_name"),
    [
        ("1C-GMI", "Tc", "toa_brightness_temperature"),
        ("1C-SSMIS-F17", "Tc", "toa_brightness_temperature"),
        ("2A-DPR", "precipRateNearSurface", "lwe_precipitation_rate"),
        ("2A-GMI", "surfacePrecipitation", "lwe_precipitation_rate"),
        ("IMERG-FR", "precipitation", "lwe_precipitation_rate"),
    ],
)
def test_standard_names(product, variable, standard_name):
    ds = xgpm.open_granule(GRANULES[product])
    assert variable in ds.cf[[standard_name]].data_vars  # DPR has several rain rates
    assert ds[variable].attrs["standard_name"] == standard_name


@pytest.mark.parametrize("product", ["IMERG-FR", "1C-GMI", "2A-DPR"])
def test_a_granule_read_writes_to_netcdf_and_zarr(product, tmp_path):
    """IMERG's time kept the file's 'units' attribute, which xarray refused to encode."""
    ds = xgpm.open_granule(GRANULES[product])
    spatial = [v for v in ds.data_vars if {"lat", "lon"} <= set(ds[v].coords)]
    small = ds[spatial[:2]]
    for var in small.variables.values():  # HDF5 layout hints are not netCDF encodings
        var.encoding = {}
    small.to_netcdf(tmp_path / "out.nc", engine="h5netcdf")
    small.to_zarr(tmp_path / "out.zarr", zarr_format=2, consolidated=True)
    back = xr.open_dataset(tmp_path / "out.nc", engine="h5netcdf")
    np.testing.assert_array_equal(back["time"].values, ds["time"].values)
    assert back.cf["latitude"].name == "lat"


def test_units_that_do_not_fit_get_no_standard_name():
    ds = xr.Dataset({"Tc": ("x", np.array([250.0]), {"units": "degC"})})
    assert "standard_name" not in add_cf_attrs(ds)["Tc"].attrs


def test_the_input_is_left_alone():
    ds = xr.Dataset({"Tc": ("x", np.array([250.0]), {"units": "K"})})
    add_cf_attrs(ds)
    assert ds["Tc"].attrs == {"units": "K"} and "Conventions" not in ds.attrs


def test_rainrate_and_to_gmi_outputs_are_cf():
    pytest.importorskip("torch")
    gmi = xgpm.open_granule(GRANULES["1C-GMI"])
    rain = gmi.gpm.rainrate()
    assert "CF-1.10" in rain.attrs["Conventions"]
    assert rain.cf["lwe_precipitation_rate"].name == "surface_precip"
    assert rain.cf["latitude"].name == "lat"
    pseudo = xgpm.open_granule(GRANULES["1C-SSMIS-F17"]).gpm.to_gmi(model="identity")
    assert pseudo.cf["toa_brightness_temperature"].name == "Tc"
    assert "CF-1.10" in pseudo.attrs["Conventions"]


def test_scores_are_cf():
    time = np.array(["2021-06-13T06:00", "2021-06-13T06:30"], dtype="datetime64[ns]")
    rng = np.random.default_rng(0)
    coords = {"time": time, "lat": np.arange(8.0), "lon": np.arange(9.0)}
    dims = ("time", "lat", "lon")
    forecast = xr.DataArray(rng.gamma(0.5, 2.0, (2, 8, 9)), coords, dims, attrs={"units": "mm/h"})
    reference = forecast * 1.1
    scores = xgpm.score(forecast, reference, thresholds=[1.0], scales=[1])
    assert "CF-1.10" in scores.attrs["Conventions"]
    assert scores.cf["time"].name == "time"
