"""Shared fixtures: the real cut NASA granules in tests/data/gpm_granules."""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

DATA = Path(__file__).parent / "data"
GRANULE_DIR = DATA / "gpm_granules"
#: folder name (GPM-API product name, "-V06" for an older version) -> the real cut granule
#: (PPS ``*.HDF5`` names, or JAXA ``*.h5`` names such as 1B-Ku's)
GRANULES: dict[str, Path] = {
    folder.name: next(p for p in sorted(folder.iterdir()) if p.suffix in (".HDF5", ".h5"))
    for folder in sorted(GRANULE_DIR.iterdir())
    if folder.is_dir()
}
#: folder name -> GPM-API product name of its granule ("1C-SSMI-F13-V06" -> "1C-SSMI-F13")
PRODUCTS: dict[str, str] = {name: re.sub(r"-V\d\d$", "", name) for name in GRANULES}
L1C = [name for name in GRANULES if name.startswith("1C-")]


@pytest.fixture(params=sorted(GRANULES))
def granule(request) -> tuple[str, Path]:
    """(product, path) of every real granule."""
    return request.param, GRANULES[request.param]


@pytest.fixture
def gmi_path() -> Path:
    return GRANULES["1C-GMI"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small tensors gain nothing from threads, and 2 shared cores make OpenMP spin: use 1."""
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def h5_reads(monkeypatch):
    """The HDF5 dataset paths read through LazyH5Array, in order (reads are still done)."""
    from xgpm.io import _hdf5

    reads: list[str] = []
    original = _hdf5.LazyH5Array.__getitem__

    def counting(self, key):
        reads.append(self.path)
        return original(self, key)

    monkeypatch.setattr(_hdf5.LazyH5Array, "__getitem__", counting)
    return reads


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on a free loopback port with a bucket ``gpm``; yields storage_options."""
    import socket

    moto_server = pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    import boto3

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1"},
    }
    boto3.client(
        "s3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **options["client_kwargs"],
    ).create_bucket(Bucket="gpm")
    yield options
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


# The session archive and reference store of ``test_process``, shared by its fault and lease
# modules (``test_process`` defines its own, over the same session-wide results).


@pytest.fixture(scope="session")
def archive(tmp_path_factory) -> Path:
    """The simulated archive of ``test_process`` (built once per session)."""
    from .test_process import session_archive

    return session_archive(tmp_path_factory)


@pytest.fixture(scope="session")
def reference_store(tmp_path_factory) -> Path:
    """An uninterrupted run over its GMI granules (``test_process``'s, built once)."""
    from .test_process import session_reference

    return session_reference(tmp_path_factory)
