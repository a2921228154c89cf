"""The lease of a ``process`` run on its store: one writer at a time, waits, stale leases, S3."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import xgpm
import xgpm.process  # the package; also `xgpm.process` once exported lazily
from xgpm.errors import InvalidArgumentError, StoreLockedError
from xgpm.process.lock import StoreLease, _identity, read_lease
from xgpm.process.store import ArchiveStore

from .test_process import _assert_same_store, _run

pytest.importorskip("distributed")
pytest.importorskip("zarr")


def _lock(store: Path) -> Path:
    return store / "_xgpm" / "lock.json"


def _write_lease(store: Path, *, age_s: float, **fields) -> dict:
    """A lease left by another run, with its last heartbeat ``age_s`` seconds ago."""
    beat = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age_s)
    record = {
        "run_id": "0123456789abcdef",
        "owner": "someone",
        "host": "elsewhere.example.org",
        "pid": 4242,
        "started": (beat - dt.timedelta(hours=1)).isoformat(),
        "heartbeat": beat.isoformat(),
        **fields,
    }
    _lock(store).parent.mkdir(parents=True, exist_ok=True)
    _lock(store).write_text(json.dumps(record))
    return record


@pytest.fixture
def gated_commits(monkeypatch):
    """Commits wait for ``gate``; ``holding`` is set when a run reaches its first commit."""
    holding, gate = threading.Event(), threading.Event()
    original = ArchiveStore.commit

    def commit(self, *args, **kwargs):
        holding.set()
        assert gate.wait(60), "the test never opened the gate"
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ArchiveStore, "commit", commit)
    yield holding, gate
    gate.set()


def _in_thread(function, *args, **kwargs):
    """Start ``function`` in a thread; returns (thread, result dict with 'value' or 'error')."""
    result: dict = {}

    def target():
        try:
            result["value"] = function(*args, **kwargs)
        except BaseException as err:  # noqa: BLE001 - re-raised by the test
            result["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


def test_a_second_run_is_refused_or_waits_and_the_store_is_a_single_runs(
    archive, reference_store, tmp_path, gated_commits
):
    """Two runs on one store: the second is refused (or waits); nothing is written twice."""
    holding, gate = gated_commits
    store = tmp_path / "raced.zarr"
    first, first_result = _in_thread(_run, archive, store)
    assert holding.wait(60), first_result
    # the first run holds the lease and is about to commit: a second run stops at once
    t0 = time.monotonic()
    with pytest.raises(StoreLockedError) as refused:
        _run(archive, store)
    assert time.monotonic() - t0 < 5
    message = str(refused.value)
    for part in (getpass.getuser(), socket.gethostname(), f"pid {os.getpid()}", "last heartbeat"):
        assert part in message
    assert "--wait" in message and "--break-lock" in message and str(store) in message
    # --overwrite does not delete a store another live run holds
    with pytest.raises(StoreLockedError):
        _run(archive, store, overwrite=True)
    assert (store / "_xgpm" / "run.json").exists()
    with pytest.raises(StoreLockedError, match="waited"):
        _run(archive, store, wait=True, wait_timeout=0.3)
    # a waiting run starts once the first is done, and finds nothing left to do
    second, second_result = _in_thread(_run, archive, store, wait=True, heartbeat_s=0.5)
    time.sleep(0.5)
    assert second.is_alive() and not second_result  # still waiting
    gate.set()
    first.join(60)
    second.join(60)
    assert "error" not in first_result and "error" not in second_result, (
        first_result,
        second_result,
    )
    assert first_result["value"].processed > 0
    waited = second_result["value"]
    assert waited.processed == waited.failed == 0 and waited.skipped == waited.selected
    _assert_same_store(reference_store, store)
    assert not _lock(store).exists()  # both leases released


def test_racing_acquisitions_have_exactly_one_winner(tmp_path):
    store = tmp_path / "race.zarr"
    leases = [StoreLease(store, heartbeat_s=5, stale_after=60) for _ in range(8)]
    barrier = threading.Barrier(len(leases))
    won, refused = [], []

    def take(lease):
        barrier.wait()
        try:
            won.append(lease.acquire())
        except StoreLockedError:
            refused.append(lease)

    threads = [threading.Thread(target=take, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1 and len(refused) == 7
    assert read_lease(store)["run_id"] == won[0].run_id
    won[0].release()
    assert not _lock(store).exists()


def test_a_stale_lease_is_broken_only_with_break_lock(archive, reference_store, tmp_path):
    store = tmp_path / "stale.zarr"
    shutil.copytree(reference_store, store)
    _write_lease(store, age_s=1200)  # another machine's run, silent for 20 minutes
    with pytest.raises(StoreLockedError, match="probably dead.*--break-lock"):
        _run(archive, store)
    summary = _run(archive, store, break_lock=True)
    assert summary.skipped == summary.selected and summary.processed == 0
    assert not _lock(store).exists()
    _assert_same_store(reference_store, store)


def test_a_fresh_lease_is_not_broken(archive, reference_store, tmp_path):
    store = tmp_path / "fresh.zarr"
    shutil.copytree(reference_store, store)
    record = _write_lease(store, age_s=5)
    with pytest.raises(StoreLockedError, match="refusing to break.*probably still alive"):
        _run(archive, store, break_lock=True)
    assert json.loads(_lock(store).read_text()) == record  # untouched
    # with a shorter stale_after the same lease is stale, and broken
    summary = _run(archive, store, break_lock=True, stale_after=2, heartbeat_s=0.5)
    assert summary.processed == 0 and not _lock(store).exists()


def test_the_lease_of_a_dead_process_on_this_host_is_taken_over(tmp_path):
    store = tmp_path / "dead.zarr"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: no process has this pid any more (until it is reused)
    _write_lease(store, age_s=1, **{**_identity(), "pid": gone.pid, "pid_start": None})
    lease = StoreLease(store).acquire()
    assert read_lease(store)["run_id"] == lease.run_id
    lease.release()
    # a lease of this very process whose run ended without releasing it (its store was away)
    _write_lease(store, age_s=1, **_identity())
    with StoreLease(store) as lease:
        assert read_lease(store)["run_id"] == lease.run_id
    # a live process on this host (this one, in an active run) is never taken over
    with StoreLease(store), pytest.raises(StoreLockedError):
        StoreLease(store).acquire()


def test_the_lease_is_released_after_an_error_and_the_run_resumes(
    archive, reference_store, tmp_path, monkeypatch
):
    store = tmp_path / "interrupted.zarr"
    shutil.copytree(reference_store, store)
    done, _ = xgpm.process.read_manifest(store)
    (store / "_xgpm" / "done" / f"{done.iloc[-1]['name']}.json").unlink()

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ArchiveStore, "commit", interrupted)
        with pytest.raises(KeyboardInterrupt):
            _run(archive, store)
    assert not _lock(store).exists()
    summary = _run(archive, store)
    assert summary.processed == 1
    _assert_same_store(reference_store, store)


def test_heartbeat_advances_and_a_lost_lease_stops_writing(tmp_path):
    store = tmp_path / "beat.zarr"
    lease = StoreLease(store, heartbeat_s=0.05, stale_after=5).acquire()
    first = read_lease(store)
    time.sleep(0.4)
    later = read_lease(store)
    assert later["heartbeat"] > first["heartbeat"] and later["started"] == first["started"]
    assert later["run_id"] == lease.run_id and later["pid"] == os.getpid()
    lease.check()  # still ours
    # another run takes the lease over (e.g. after this one was paused past stale_after)
    other = _write_lease(store, age_s=0, run_id="another-run")
    time.sleep(0.3)
    with pytest.raises(StoreLockedError, match="lost its lease.*another-run"):
        lease.check()
    lease.release()
    assert json.loads(_lock(store).read_text()) == other  # not deleted: it is not ours


def test_lease_arguments_are_checked(tmp_path):
    with pytest.raises(InvalidArgumentError, match="stale_after.*longer than heartbeat_s"):
        StoreLease(tmp_path / "s.zarr", heartbeat_s=30, stale_after=10)
    with pytest.raises(InvalidArgumentError, match="heartbeat_s"):
        StoreLease(tmp_path / "s.zarr", heartbeat_s=0)
    with StoreLease(tmp_path / "only.zarr"):
        assert _lock(tmp_path / "only.zarr").exists()
    assert not (tmp_path / "only.zarr").exists()  # folders made for the lease alone go with it


def test_cli_lock_options_and_exit_code(archive, tmp_path, capsys):
    from xgpm.process import cli

    store = tmp_path / "cli.zarr"
    args = [str(archive), str(store), "--product", "1C-GMI", "--threads", "--no-progress"]
    with StoreLease(store):
        assert cli.main([*args, "--step", "tests.test_process:brightest"]) == 2
        err = capsys.readouterr().err
        assert "is being written by another xgpm process run" in err and "--wait" in err
        code = cli.main([*args, "--step", "tests.test_process:brightest", "--wait", "0.2"])
        assert code == 2 and "waited" in capsys.readouterr().err
        code = cli.main([*args, "--break-lock", "--step", "tests.test_process:brightest"])
        assert code == 2 and "refusing to break" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# S3 (moto's server): conditional writes; and a store that ignores them
# --------------------------------------------------------------------------------------------


def test_lease_on_s3_uses_conditional_writes(s3):
    s3fs = pytest.importorskip("s3fs")
    store = "s3://gpm/locked.zarr"
    first = StoreLease(store, s3, heartbeat_s=0.1, stale_after=5).acquire()
    assert first.conditional is True  # moto honours If-None-Match: *
    with pytest.raises(StoreLockedError, match="is being written"):
        StoreLease(store, s3).acquire()
    beat = read_lease(store, storage_options=s3)["heartbeat"]
    time.sleep(0.5)
    assert read_lease(store, storage_options=s3)["heartbeat"] > beat  # If-Match PUTs
    first.release()
    assert read_lease(store, storage_options=s3) is None

    leases = [StoreLease(store, s3, heartbeat_s=5, stale_after=60) for _ in range(6)]
    barrier = threading.Barrier(len(leases))
    won = []

    def take(lease):
        barrier.wait()
        try:
            won.append(lease.acquire())
        except StoreLockedError:
            pass

    threads = [threading.Thread(target=take, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
    won[0].release()

    # a stale lease is taken over with If-Match on the ETag that was judged stale
    fs = s3fs.S3FileSystem(**s3)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    stale = {"run_id": "dead", "host": "elsewhere", "pid": 1, "heartbeat": old.isoformat()}
    fs.pipe_file("gpm/locked.zarr/_xgpm/lock.json", json.dumps(stale).encode())
    with pytest.raises(StoreLockedError, match="probably dead"):
        StoreLease(store, s3).acquire()
    with StoreLease(store, s3, heartbeat_s=5, stale_after=60).acquire(break_lock=True) as lease:
        assert read_lease(store, storage_options=s3)["run_id"] == lease.run_id
    assert read_lease(store, storage_options=s3) is None


def test_without_conditional_writes_the_lease_reads_back(tmp_path):
    """memory:// has no conditional PUT: write, settle, read back the run id."""
    store = f"memory://xgpm-lock-{os.urandom(4).hex()}/out.zarr"
    first = StoreLease(store, settle_s=0.05).acquire()
    assert first.conditional is None  # not known to be conditional: verified by reading back
    with pytest.raises(StoreLockedError):
        StoreLease(store, settle_s=0.05).acquire()
    first.release()
    assert read_lease(store) is None
