"""Faults in ``process``: the S3 endpoint goes away, the disk fills up, a worker runs out of memory,
the destination is read-only.

Each ends in a clear xgpm error, loses and duplicates nothing, and a re-run completes the store
exactly as an uninterrupted run would have written it.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xgpm
import xgpm.process  # the package; also `xgpm.process` once exported lazily
from xgpm.errors import RunFailedError, StorageError
from xgpm.process.store import ArchiveStore

from .test_process import (
    CHEAP,
    _assert_same_store,
    _run,
    brightest,
)

pytest.importorskip("distributed")
pytest.importorskip("zarr")


# --------------------------------------------------------------------------------------------
# helpers: tmpfs mounts, a moto server that can be stopped and started again
# --------------------------------------------------------------------------------------------


@pytest.fixture
def tmpfs():
    """``mount(path, options)``: a tmpfs at ``path``, unmounted afterwards.

    Skips the test when this machine does not let it mount one (not root, no mount(8), a
    container without CAP_SYS_ADMIN).
    """
    mounted: list[Path] = []

    def mount(path: Path, options: str) -> Path:
        if shutil.which("mount") is None or os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root and mount(8); this variant is not run here")
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"mount -t tmpfs is not permitted here ({done.stderr.strip()})")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


def _remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)


def _disk_bytes(store: Path) -> int:
    """Bytes the files of a store take on a 4 KiB-page file system (tmpfs)."""
    return sum(math.ceil(p.stat().st_size / 4096) * 4096 for p in store.rglob("*") if p.is_file())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Moto:
    """A moto S3 server on a fixed loopback port that can be stopped and started again.

    moto keeps its buckets in this process, so the objects survive a restart.
    """

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._cls = ThreadedMotoServer
        self.port = _free_port()
        self.server = None
        self.options = {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {
                "endpoint_url": f"http://127.0.0.1:{self.port}",
                "region_name": "us-east-1",
            },
        }

    def start(self) -> None:
        self.server = self._cls(ip_address="127.0.0.1", port=self.port)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def moto():
    pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    import boto3

    server = _Moto()
    server.start()
    client = boto3.client(
        "s3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **server.options["client_kwargs"],
    )
    try:
        client.create_bucket(Bucket="faults")
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    yield server
    server.stop()
    s3fs.S3FileSystem.clear_instance_cache()


def _open_s3(store: str, options: dict) -> xr.Dataset:
    return xgpm.process.open_store(store, "GMI", storage_options=options).load()


# --------------------------------------------------------------------------------------------
# (a) the S3 endpoint goes away mid-run
# --------------------------------------------------------------------------------------------


def lean(ds: xr.Dataset) -> xr.Dataset:
    """``brightest`` cut to one variable and the time: few objects per commit (moto is slow)."""
    out = brightest(ds)
    return out[["tb_max"]].reset_coords(drop=True).assign_coords(time=out["time"])


def test_s3_endpoint_going_away_mid_run(archive, moto, tmp_path, monkeypatch):
    """The endpoint stops between a commit's rows and its manifest entry.

    The run stops with a StorageError naming the store and the endpoint; once the endpoint is
    back, a re-run completes the store as an uninterrupted run writes it.
    """
    refs = [r for r in xgpm.process.select_granules(archive, product="1C-GMI") if r.granule < 9e5]
    two = [refs[0].url, refs[1].url]  # two granules and a lean pipeline: enough, and fast
    lean_pipeline = {"pipeline": ["tests.test_process_faults:lean"]}
    reference = tmp_path / "reference.zarr"
    _run(two, reference, **lean_pipeline)
    store = "s3://faults/rain.zarr"
    original = ArchiveStore._put_json
    markers: list[str] = []

    def put_json(self, path, payload):
        if "/_xgpm/done/" in path:
            markers.append(path)
            if len(markers) == 2:  # the rows of the second granule are in, its marker is not
                moto.stop()
        return original(self, path, payload)

    monkeypatch.setattr(ArchiveStore, "_put_json", put_json)
    # one attempt per request: the default bound (3 attempts) is checked by the next test
    options = {**moto.options, "config_kwargs": {"retries": {"total_max_attempts": 1}}}
    t0 = time.monotonic()
    with pytest.raises(StorageError) as stopped:
        _run(two, store, store_options=options, **lean_pipeline)
    elapsed = time.monotonic() - t0
    message = str(stopped.value)
    assert store in message and f"127.0.0.1:{moto.port}" in message
    assert "does not answer" in message and "run the same command again" in message
    assert elapsed < 20  # bounded connect time and attempts, not minutes
    monkeypatch.setattr(ArchiveStore, "_put_json", original)

    moto.start()  # the endpoint is back
    done, failed = xgpm.process.read_manifest(store, storage_options=moto.options)
    assert len(done) == 1  # one granule committed before the endpoint went away
    # the lease of the stopped run could not be deleted; it was this process's, so it is
    # taken over (another host would use break_lock once it is stale)
    summary = _run(two, store, store_options=options, **lean_pipeline)
    assert len(failed) == 0 and summary.skipped == 1 and summary.processed == 1
    expected = xr.open_zarr(reference, group="GMI").load()
    xr.testing.assert_identical(_open_s3(store, moto.options), expected)
    done_ref, failed_ref = xgpm.process.read_manifest(reference)
    done_got, failed_got = xgpm.process.read_manifest(store, storage_options=moto.options)
    cols = ["name", "group", "row_start", "rows"]
    assert done_ref[cols].equals(done_got[cols])
    assert failed_ref[["name", "reason"]].equals(failed_got[["name", "reason"]])
    assert xgpm.process.read_lease(store, storage_options=moto.options) is None


def test_unreachable_endpoint_fails_fast_with_a_storage_error(archive, tmp_path):
    port = _free_port()  # nothing listens there
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1"},
    }
    t0 = time.monotonic()
    with pytest.raises(StorageError, match=f"127.0.0.1:{port}.*does not answer"):
        _run(archive, "s3://faults/nowhere.zarr", store_options=options)
    assert time.monotonic() - t0 < 10


# --------------------------------------------------------------------------------------------
# (b) a full disk
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("disk", ["tmpfs", "injected"])
def test_full_disk(disk, archive, reference_store, tmp_path, tmpfs, monkeypatch):
    """The disk fills up mid-run: StorageError naming the store; after freeing space the re-run
    ends identical to an uninterrupted run.

    ``tmpfs``: a real file system too small for the store (needs root and mount); ``injected``:
    zarr's local writes raise ENOSPC past a byte budget (runs everywhere).
    """
    # both budgets fall between the first and the second commit of this archive (measured:
    # 70% of the final size on a tmpfs, where a rewritten chunk briefly takes twice its
    # space; 40% of it in bytes passed to zarr's writes, which rewrite the shared chunks)
    final = _disk_bytes(reference_store)
    if disk == "tmpfs":
        store = tmpfs(tmp_path / "disk", f"size={int(0.7 * final)}") / "rain.zarr"
    else:
        import zarr.storage._local as local

        store = tmp_path / "rain.zarr"
        original, written, budget = local._put, [0], int(0.4 * final)

        def put(path, value, exclusive=False):
            written[0] += len(value)
            if written[0] > budget:  # what write(2) says on a full disk
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            return original(path, value, exclusive=exclusive)

        monkeypatch.setattr(local, "_put", put)
    with pytest.raises(StorageError) as full:
        _run(archive, store)
    assert str(store) in str(full.value) and "no space left" in str(full.value)
    done, failed = xgpm.process.read_manifest(store)
    total, _ = xgpm.process.read_manifest(reference_store)
    assert 0 < len(done) < len(total)  # it did stop midway
    # free space, run again
    if disk == "tmpfs":
        _remount(store.parent, "size=64m")
    else:
        monkeypatch.undo()
    summary = _run(archive, store)
    assert summary.skipped == len(done) + len(failed)
    _assert_same_store(reference_store, store)
    assert not [p for p in store.rglob("*") if p.suffix in (".partial", ".tmp")]


# --------------------------------------------------------------------------------------------
# (c) a worker running out of memory
# --------------------------------------------------------------------------------------------


def troubled(ds: xr.Dataset) -> xr.Dataset:
    """Trouble for the granule named by ``XGPM_TEST_TARGET``, else pass ``ds`` through.

    While the file ``XGPM_TEST_MEMORY_ERROR`` exists: MemoryError; while ``XGPM_TEST_SOURCE_DOWN``
    exists: the S3 endpoint does not answer; otherwise take ``XGPM_TEST_HOG_MB`` MB for a
    moment (a worker with less memory is killed by its nanny).
    """
    if ds.attrs.get("FileName") != os.environ.get("XGPM_TEST_TARGET"):
        return ds
    flag = os.environ.get("XGPM_TEST_MEMORY_ERROR")
    if flag and os.path.exists(flag):
        raise MemoryError("cannot allocate the test's buffer")
    flag = os.environ.get("XGPM_TEST_SOURCE_DOWN")
    if flag and os.path.exists(flag):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/gpm/pps/granule.HDF5")
    held = []
    for _ in range(int(os.environ.get("XGPM_TEST_HOG_MB", "0")) // 16):
        held.append(np.ones(2 * 2**20))  # 16 MB, touched; slowly, so the nanny sees it grow
        time.sleep(0.01)
    del held
    return ds


TROUBLED = ["tests.test_process_faults:troubled", *CHEAP]


@pytest.fixture
def target(archive, monkeypatch):
    """The second good GMI granule is the one in trouble."""
    refs = [r for r in xgpm.process.select_granules(archive, product="1C-GMI") if r.granule < 9e5]
    monkeypatch.setenv("XGPM_TEST_TARGET", refs[1].name)
    return refs[1]


@pytest.fixture
def troubled_reference(archive, tmp_path_factory, target):
    """An uninterrupted run of the troubled pipeline (no trouble)."""
    store = tmp_path_factory.mktemp("troubled") / "ref.zarr"
    _run(archive, store, pipeline=TROUBLED)
    return store


def test_worker_out_of_memory(archive, target, troubled_reference, tmp_path, monkeypatch):
    """A granule needs more memory than a worker has: its nanny kills the worker.

    The run stops with RunFailedError naming the granule; with more memory the re-run completes.
    """
    import dask
    from distributed import LocalCluster

    monkeypatch.setenv("XGPM_TEST_HOG_MB", "400")  # workers start at ~200 MB
    store = tmp_path / "oom.zarr"
    # one death is enough to give up on a task (default: 3), to keep the test short
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            memory_limit="450MiB",
            dashboard_address=None,
        ) as cluster:
            with pytest.raises(RunFailedError) as died:
                _run(archive, store, pipeline=TROUBLED, scheduler=cluster.scheduler_address)
    message = str(died.value)
    assert target.name in message and "memory" in message and "--memory-limit" in message
    assert "memory limit: 450.00 MiB" in message  # the workers' limit
    done, failed = xgpm.process.read_manifest(store)
    assert target.name not in set(done["name"]) | set(failed["name"])  # not lost as failed
    assert len(done) >= 1
    # more memory (threads of this process, no limit): the re-run completes
    summary = _run(archive, store, pipeline=TROUBLED)
    assert summary.skipped == len(done) + len(failed)
    _assert_same_store(troubled_reference, store)


def _fault_then_recovery(
    archive, target, reference, store, monkeypatch, env, error, match, **kw
) -> None:
    """Run with the fault of ``env`` on: ``error`` matching ``match``, ``target`` recorded neither
    done nor failed; then with it off (its flag file removed): the store completes as
    ``reference``. ``kw`` goes to the faulty run."""
    flag = store.with_suffix(".fault")
    flag.touch()
    monkeypatch.setenv(env, str(flag))
    with pytest.raises(error, match=match):
        _run(archive, store, pipeline=TROUBLED, **kw)
    done, failed = xgpm.process.read_manifest(store)
    assert target.name not in set(done["name"]) | set(failed["name"])
    flag.unlink()
    _run(archive, store, pipeline=TROUBLED)
    _assert_same_store(reference, store)


def test_memory_error_in_a_step(archive, target, troubled_reference, tmp_path, monkeypatch):
    """A step raises MemoryError: RunFailedError naming the granule, which is not recorded."""
    _fault_then_recovery(
        archive,
        target,
        troubled_reference,
        tmp_path / "memoryerror.zarr",
        monkeypatch,
        "XGPM_TEST_MEMORY_ERROR",  # until its flag file goes: memory is back
        RunFailedError,
        f"{target.name} ran out of memory",
        retries=0,
    )


# --------------------------------------------------------------------------------------------
# a read-only destination
# --------------------------------------------------------------------------------------------


def test_read_only_destination(archive, reference_store, tmp_path, tmpfs):
    if os.geteuid() == 0:  # root writes through permission bits: a read-only file system
        disk = tmpfs(tmp_path / "ro", "size=16m")
        shutil.copytree(reference_store, disk / "kept.zarr")
        _remount(disk, "ro")
        reason = "read-only"
    else:
        disk = tmp_path / "ro"
        disk.mkdir()
        shutil.copytree(reference_store, disk / "kept.zarr")
        for folder in [disk, *[p for p in disk.rglob("*") if p.is_dir()]]:
            folder.chmod(0o555)
        reason = "permission denied"
    try:
        for store in (disk / "new.zarr", disk / "kept.zarr"):
            with pytest.raises(StorageError) as refused:
                _run(archive, store)
            message = str(refused.value)
            assert str(store) in message and reason in message
            assert "Nothing of this run" in message
            assert not isinstance(refused.value.__cause__, StorageError)
    finally:
        if os.geteuid() != 0:  # let pytest clean tmp_path up
            for folder in [disk, *[p for p in disk.rglob("*") if p.is_dir()]]:
                folder.chmod(0o755)


def test_source_not_answering_stops_the_run(
    archive, target, troubled_reference, tmp_path, monkeypatch
):
    """Reading a granule meets a dead endpoint (after the retries): StorageError naming the
    granule, not a failure recorded for it; the re-run completes the store."""
    _fault_then_recovery(
        archive,
        target,
        troubled_reference,
        tmp_path / "sourcedown.zarr",
        monkeypatch,
        "XGPM_TEST_SOURCE_DOWN",  # until its flag file goes: the endpoint is back
        StorageError,
        f"granule {target.name}.*127.0.0.1:9.*not recorded",
        retries=1,
    )


def test_fault_classification():
    from botocore.exceptions import EndpointConnectionError
    from distributed import KilledWorker

    from xgpm.errors import CorruptGranuleError, NoSuchFileError
    from xgpm.process.core import _fatal_kind

    assert _fatal_kind(KilledWorker("k", None, 3)) == "memory"
    assert _fatal_kind(MemoryError()) == "memory"
    assert _fatal_kind(EndpointConnectionError(endpoint_url="http://x")) == "storage"
    assert _fatal_kind(StorageError("x: the endpoint does not answer")) == "storage"
    assert _fatal_kind(ConnectionResetError()) == "storage"
    for permanent in (CorruptGranuleError("x"), NoSuchFileError("x"), ValueError("bug")):
        assert _fatal_kind(permanent) is None  # recorded as the granule's failure
