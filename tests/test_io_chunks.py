"""The parallel chunk reader gives exactly what h5py gives, for any slab and filter set."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xgpm.io import _hdf5

SHAPE = (300, 57, 9)


@pytest.fixture(scope="module")
def h5file(tmp_path_factory):
    path = tmp_path_factory.mktemp("chunks") / "data.h5"
    rng = np.random.default_rng(0)
    data = rng.normal(250, 20, SHAPE).astype("float32")
    data[:5] = -9999.9
    with h5py.File(path, "w") as h5:
        h5.create_dataset(
            "shuffle_gzip", data=data, chunks=(64, 57, 9), compression="gzip", shuffle=True
        )
        h5.create_dataset("gzip", data=data, chunks=(50, 20, 9), compression="gzip")
        h5.create_dataset(
            "int16", data=data.astype("int16"), chunks=(64, 57, 9), compression="gzip", shuffle=True
        )
        h5.create_dataset("plain", data=data, chunks=(64, 57, 9))
        h5.create_dataset("lzf", data=data, chunks=(64, 57, 9), compression="lzf")
    with h5py.File(path, "r") as h5:
        yield h5


slabs = st.tuples(*[st.tuples(st.integers(0, n - 1), st.integers(1, n)) for n in SHAPE])


@settings(max_examples=40, deadline=None)
@given(slab=slabs, name=st.sampled_from(["shuffle_gzip", "gzip", "int16"]))
def test_parallel_read_equals_h5py(h5file, slab, name):
    key = tuple(slice(min(a, b - 1), b) for a, b in slab)
    dset = h5file[name]
    got = _hdf5.read_chunks_parallel(dset, key)
    expected = dset[key]
    if dset.size < 2**16:
        assert got is None
        return
    assert got is not None
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == expected.dtype


@pytest.mark.parametrize("name", ["plain", "lzf"])
def test_other_layouts_fall_back_to_h5py(h5file, name):
    assert _hdf5.read_chunks_parallel(h5file[name], (slice(None),) * 3) is None


def test_strided_selection_falls_back(h5file):
    key = (slice(0, 300, 2), slice(None), slice(None))
    assert _hdf5.read_chunks_parallel(h5file["gzip"], key) is None
