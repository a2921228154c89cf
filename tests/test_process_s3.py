"""xgpm.process on S3 for real: moto's server on 127.0.0.1, s3fs, granules in and Zarr out."""

from __future__ import annotations

import shutil

import pytest
import xarray as xr

import xgpm
import xgpm.process  # the package; also `xgpm.process` once exported lazily

from .test_process import CHEAP, _renumbered_copy, _rtm, _set_header, _truth

moto_server = pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")
pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def local_archive(tmp_path_factory):
    """Two simulated GMI granules (PPS layout) and a truncated third one."""
    from xgpm.simulate import products as P

    root = tmp_path_factory.mktemp("process_s3")
    P.simulate_to_disk(
        root / "sim",
        P.Region.square("small", 46.5, 2.5, 200.0),
        "2021-01-01",
        days=1,
        sensors="gmi",
        progress=False,
        truth_fn=_truth,
        rtm_fn=_rtm,
    )
    archive = root / "archive"
    for path in sorted((root / "sim").rglob("*.HDF5")):
        target = archive / "2021" / "01" / "01" / "1C" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    first = sorted(archive.rglob("*.HDF5"))[0]
    corrupt = _renumbered_copy(first, 999_991)
    _set_header(corrupt, EmptyGranule="NOT_EMPTY")
    corrupt.write_bytes(corrupt.read_bytes()[:5000])
    return archive


def test_process_from_s3_to_s3_equals_local_and_resumes(s3, local_archive, tmp_path):
    fs = s3fs.S3FileSystem(**s3)
    for path in sorted(local_archive.rglob("*.HDF5")):
        fs.put_file(str(path), f"gpm/pps/{path.relative_to(local_archive).as_posix()}")
    fs.pipe_file("gpm/pps/README.txt", b"not a granule")
    kw = {"pipeline": CHEAP, "processes": False, "n_workers": 2, "progress": False}
    local = tmp_path / "local.zarr"
    xgpm.process(local_archive, local, **kw)

    store = "s3://gpm/out/rain.zarr"
    summary = xgpm.process("s3://gpm/pps/", store, storage_options=s3, store_options=s3, **kw)
    assert summary.processed == 2 and summary.failed == 1
    assert fs.exists("gpm/out/rain.zarr/_xgpm/manifest.json")
    remote = xr.open_zarr(store, group="GMI", storage_options=s3).load()
    xr.testing.assert_identical(remote, xr.open_zarr(local, group="GMI").load())
    done, failed = xgpm.process.read_manifest(store, storage_options=s3)
    assert all(url.startswith("s3://gpm/pps/2021/01/01/1C/") for url in done["url"])
    assert failed["granule"].tolist() == [999_991]
    assert failed["reason"].iloc[0].split(":")[0] in ("NotHDF5Error", "CorruptGranuleError")

    # killed after the last granule's rows were written, before its manifest entry (one PUT)
    last = done.iloc[-1]["name"]
    fs.rm(f"gpm/out/rain.zarr/_xgpm/done/{last}.json")
    fs.invalidate_cache()
    again = xgpm.process("s3://gpm/pps/", store, storage_options=s3, store_options=s3, **kw)
    assert again.processed == 1 and again.skipped == 2
    resumed = xr.open_zarr(store, group="GMI", storage_options=s3).load()
    xr.testing.assert_identical(resumed, remote)
    granules = resumed["granule"].values
    for row in done.itertuples():  # every granule's rows once, where the manifest says
        assert (granules == row.granule).sum() == row.rows
        assert (granules[row.row_start : row.row_start + row.rows] == row.granule).all()
