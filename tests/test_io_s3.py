"""Reading and writing granules on S3 (moto's server on 127.0.0.1, s3fs like real use)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xgpm

from .conftest import GRANULES

moto_server = pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")


def test_open_granule_from_s3_equals_local(s3):
    fs = s3fs.S3FileSystem(**s3)
    local = GRANULES["1C-SSMIS-F17"]
    url = f"s3://gpm/1C/{local.name}"
    fs.put_file(str(local), url)
    remote = xgpm.open_granule(url, scan_mode="all", storage_options=s3)
    expected = xgpm.open_granule(local, scan_mode="all")
    for mode in expected.children:
        xr.testing.assert_identical(
            remote[mode].to_dataset().compute(), expected[mode].to_dataset().compute()
        )


def test_open_granules_from_s3_and_write_back(s3):
    fs = s3fs.S3FileSystem(**s3)
    local = GRANULES["2A-DPR"]
    url = f"s3://gpm/2A/{local.name}"
    fs.put_file(str(local), url)
    ds = xgpm.open_granules([url], variables="precipRateNearSurface", storage_options=s3)
    np.testing.assert_array_equal(
        ds["precipRateNearSurface"].values,
        xgpm.open_granule(local, variables="precipRateNearSurface")["precipRateNearSurface"].values,
    )
    written = xgpm.write_granule(
        xgpm.open_granule(local, scan_mode="all"), "s3://gpm/out/", storage_options=s3
    )
    assert fs.exists(written)
    back = xgpm.open_granule(written, storage_options=s3, variables="precipRateNearSurface")
    xr.testing.assert_identical(back.compute(), ds.compute())
