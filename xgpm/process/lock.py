"""A lease on an output store, so that two ``process`` runs never write one store at once.

A run takes the lease before it touches the store and gives it back at the end (also after an
error or Ctrl-C). The lease is one small JSON object, ``STORE/_xgpm/lock.json``::

    {"run_id": "...", "owner": "alice", "host": "node12", "pid": 4242,
     "started": "2026-11-23T10:00:00.000+00:00", "heartbeat": "2026-11-23T10:04:30.000+00:00",
     "boot_id": "...", "pid_ns": "pid:[4026531836]", "pid_start": 123456, "xgpm_version": "..."}

A daemon thread rewrites ``heartbeat`` every ``heartbeat_s`` seconds while the run goes on. A lease
whose heartbeat is older than ``stale_after`` seconds is *stale*: its run is probably dead, and
``break_lock=True`` (``--break-lock``) takes it over; a fresh lease is never broken. A lease left
by a process that is provably dead -- same host, same boot, same PID namespace, and no process
with that PID and start time -- is taken over at once.

How the lease is created (what makes two racing runs safe):

* local paths: the record is written to a temporary file, then hard-linked to ``lock.json``
  (``os.link`` fails when the name exists: atomic, also on NFS); where hard links are not
  supported, ``os.open(O_CREAT | O_EXCL)``. Taking over a stale lease renames it away (atomic; one
  breaker wins) and checks that it renamed the lease it judged stale.
* S3 (s3fs): a conditional PUT, ``If-None-Match: *``, which fails when the object exists, and a
  second identical conditional PUT as a probe that the endpoint honours the condition. Heartbeats
  and take-overs are PUTs with ``If-Match: <ETag>``. Where the endpoint ignores these headers
  (some S3-compatible servers), and on other fsspec file systems, the lease falls back to
  write, wait ``settle_s``, read back and compare the run id: safe when both racers' writes land
  within ``settle_s`` of each other, not guaranteed otherwise.

See ``docs/process.md`` ("One run per store") for what is and is not guaranteed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import logging
import math
import os
import posixpath
import socket
import threading
import time
import uuid
from typing import Any

from xgpm.errors import InvalidArgumentError, StoreLockedError

__all__ = ["StoreLease", "read_lease", "LOCK_NAME"]

log = logging.getLogger(__name__)

META_DIR = "_xgpm"
LOCK_NAME = "lock.json"
#: run ids of the leases held by this process (a lease of this PID whose run id is not here was
#: left by a run of this process that ended without releasing it, e.g. its store went away)
_ACTIVE: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds")


def _parse_time(text: Any) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _pid_start(pid: int) -> int | None:
    """The start time of a process in clock ticks since boot (Linux), to detect PID reuse."""
    text = _read_text(f"/proc/{pid}/stat")
    if not text:
        return None
    try:  # the command name (field 2) may hold spaces: split after its closing parenthesis
        fields = text.rsplit(")", 1)[1].split()
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _identity() -> dict[str, Any]:
    """Who and where this process is (recorded in the lease)."""
    try:
        owner = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (containers): fall back to the uid
        owner = str(os.getuid()) if hasattr(os, "getuid") else "?"
    try:
        pid_ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        pid_ns = None
    return {
        "owner": owner,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "boot_id": _read_text("/proc/sys/kernel/random/boot_id"),
        "pid_ns": pid_ns,
        "pid_start": _pid_start(os.getpid()),
    }


def _pid_alive(pid: int, start: int | None) -> bool:
    """Whether a process with this PID (and start time, when known) runs on this machine."""
    if os.name != "posix":  # os.kill(pid, 0) would terminate it on Windows: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    except OSError:
        return True  # cannot tell: assume alive
    stat = _read_text(f"/proc/{pid}/stat")
    if stat is not None:
        try:
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):  # a zombie runs no code
                return False
        except IndexError:
            pass
    if start is not None:
        now = _pid_start(pid)
        if now is not None and now != start:
            return False  # the PID was reused by another process
    return True


def holder_is_dead_here(record: dict[str, Any]) -> bool:
    """Whether the lease's process is provably gone.

    True on the same machine (host name, boot id) and PID namespace when no process has that
    PID (or it is a zombie, or the PID now belongs to a later process), and for a run of this
    very process that already ended.
    """
    me = _identity()
    if record.get("host") != me["host"]:
        return False
    for key in ("boot_id", "pid_ns"):  # compared where both sides know them
        if record.get(key) is not None and me[key] is not None and record[key] != me[key]:
            return False
    if (record.get("boot_id") is None) != (me["boot_id"] is None):
        return False
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == me["pid"]:
        with _ACTIVE_LOCK:
            return record.get("run_id") not in _ACTIVE
    return not _pid_alive(pid, record.get("pid_start"))


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidArgumentError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


class _LostRace(Exception):
    """Another run created or replaced the lease between our read and our write."""


class StoreLease:
    """The lease of one run on one output store (``STORE/_xgpm/lock.json``).

    Parameters
    ----------
    url : str or path-like
        The store (local path or fsspec URL).
    storage_options : dict, optional
        fsspec options of the store.
    heartbeat_s : float
        Seconds between heartbeats (default 30).
    stale_after : float
        A lease without heartbeat for this long is stale and may be broken (default 600).
        Must be longer than ``heartbeat_s``.
    settle_s : float
        Where the store cannot create objects conditionally, seconds to wait before reading the
        lease back to check that this run won it (default 2).
    run_id : str, optional
        The run's id (default: a random one).

    Examples
    --------
    >>> with StoreLease("out.zarr").acquire(wait=True, timeout=60):  # doctest: +SKIP
    ...     ...  # write the store
    """

    def __init__(
        self,
        url: str | os.PathLike,
        storage_options: dict | None = None,
        *,
        heartbeat_s: float = 30.0,
        stale_after: float = 600.0,
        settle_s: float = 2.0,
        run_id: str | None = None,
    ):
        import fsspec

        self.heartbeat_s = _positive("heartbeat_s", heartbeat_s)
        self.stale_after = _positive("stale_after", stale_after)
        if self.stale_after <= self.heartbeat_s:
            raise InvalidArgumentError(
                f"stale_after ({stale_after} s) must be longer than heartbeat_s ({heartbeat_s} s), "
                "e.g. 10 to 20 heartbeats, or a live run's lease would look stale"
            )
        self.settle_s = float(settle_s)
        self.url = os.fspath(url).rstrip("/")
        self.fs, root = fsspec.core.url_to_fs(self.url, **dict(storage_options or {}))
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        self.local = protocol in ("file", "local")
        self.s3 = protocol in ("s3", "s3a")
        self.root = root.rstrip("/") if root != "/" else root
        self.path = posixpath.join(self.root, META_DIR, LOCK_NAME)
        self.run_id = run_id or uuid.uuid4().hex
        self.record: dict[str, Any] | None = None
        #: whether the store honours conditional writes (known after acquiring on S3)
        self.conditional: bool | None = True if self.local else None
        self._etag: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost: str | None = None
        self._last_ok = time.monotonic()
        self._created_dirs: list[str] = []

    # -- reading ------------------------------------------------------------------------------
    def read(self) -> tuple[dict[str, Any] | None, str | None]:
        """The current lease record (None when free) and its ETag (S3) or None."""
        if self.local:
            try:
                with open(self.path, "rb") as f:
                    raw = f.read()
                mtime = os.stat(self.path).st_mtime
            except FileNotFoundError:
                return None, None
            return self._decode(raw, mtime), None
        self.fs.invalidate_cache(self.path)
        try:
            info = self.fs.info(self.path)
            raw = self.fs.cat_file(self.path)
        except FileNotFoundError:
            return None, None
        etag = info.get("ETag") or info.get("etag")
        modified = info.get("LastModified") or info.get("mtime")
        mtime = modified.timestamp() if hasattr(modified, "timestamp") else time.time()
        return self._decode(raw, mtime), etag

    @staticmethod
    def _decode(raw: bytes, mtime: float) -> dict[str, Any]:
        """A lease record; an unreadable one (a crash while writing it) dates from its mtime."""
        try:
            record = json.loads(raw)
            if isinstance(record, dict) and "run_id" in record:
                return record
        except ValueError:
            pass
        when = _iso(dt.datetime.fromtimestamp(mtime, dt.timezone.utc))
        return {
            "run_id": None,
            "owner": "?",
            "host": "?",
            "pid": None,
            "started": when,
            "heartbeat": when,
            "unreadable": True,
        }

    def age(self, record: dict[str, Any]) -> float:
        """Seconds since the lease's last heartbeat (by this machine's clock)."""
        beat = _parse_time(record.get("heartbeat"))
        return math.inf if beat is None else (_now() - beat).total_seconds()

    def is_stale(self, record: dict[str, Any]) -> bool:
        """Whether the lease had no heartbeat for ``stale_after`` seconds."""
        return self.age(record) > self.stale_after

    # -- writing ------------------------------------------------------------------------------
    def _payload(self, started: str | None = None) -> bytes:
        from xgpm._version import __version__

        now = _iso(_now())
        record = {
            **_identity(),
            "run_id": self.run_id,
            "store": self.url,
            "started": started or now,
            "heartbeat": now,
            "heartbeat_s": self.heartbeat_s,
            "stale_after": self.stale_after,
            "xgpm_version": __version__,
        }
        self.record = record
        return json.dumps(record, indent=1, sort_keys=True).encode()

    def _makedirs(self) -> None:
        folder = posixpath.dirname(self.path)
        missing = []
        while folder and not os.path.isdir(folder):
            missing.append(folder)
            parent = posixpath.dirname(folder)
            if parent == folder:
                break
            folder = parent
        os.makedirs(posixpath.dirname(self.path), exist_ok=True)
        self._created_dirs = missing  # deepest first: removed at release when still empty

    def _create_local(self, data: bytes) -> None:
        self._makedirs()
        tmp = f"{self.path}.{self.run_id}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, self.path)  # atomic create-if-absent, the whole record in place
            except FileExistsError as err:
                # NFS: a LINK whose reply was lost is retried and answered EEXIST although it
                # succeeded; the temporary file's link count tells
                if os.stat(tmp).st_nlink != 2:
                    raise _LostRace from err
            except OSError:  # no hard links here (some FUSE/SMB mounts): exclusive create
                try:
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError as err:
                    raise _LostRace from err
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
        finally:  # also after a full disk: no temporary file left behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _put_remote(self, data: bytes, **condition: Any) -> dict | None:
        """One PUT; a failed condition raises :class:`_LostRace`."""
        try:
            return self.fs.pipe_file(self.path, data, **condition)
        except FileExistsError as err:  # If-None-Match failed (s3fs) or fsspec's create mode
            raise _LostRace from err
        except OSError as err:
            if _precondition_failed(err):  # If-Match failed: someone replaced the object
                raise _LostRace from err
            raise

    def _create_remote(self, data: bytes) -> None:
        out = self._put_remote(data, mode="create")
        self._etag = _etag_of(out)
        self._probe(data)
        self._verify()

    def _probe(self, data: bytes) -> None:
        """On S3, learn whether the endpoint honours conditional writes (once per lease).

        Just after this run wrote the lease, a second create (``If-None-Match: *``) must fail;
        an endpoint that ignores the header overwrites the lease with the same bytes instead.
        """
        if not self.s3 or self.conditional is not None:
            return
        try:
            out = self._put_remote(data, mode="create")
        except _LostRace:
            self.conditional = True
            return
        self.conditional = False
        self._etag = _etag_of(out)
        log.warning(
            "%s: the S3 endpoint ignores conditional writes (If-None-Match); the lease falls "
            "back to write, wait %.1f s and read back, which two runs started within that time "
            "could both pass",
            self.url,
            self.settle_s,
        )

    def _verify(self) -> None:
        """Where writes are not conditional: wait, read back, check that this run won."""
        if self.conditional:
            return
        time.sleep(self.settle_s)
        record, etag = self.read()
        if record is None or record.get("run_id") != self.run_id:
            raise _LostRace
        self._etag = etag

    def _take_over(self, record: dict[str, Any], etag: str | None, data: bytes) -> None:
        """Replace the lease ``record`` (stale, or of a dead process) by this run's."""
        if self.local:
            tomb = f"{self.path}.{self.run_id}.broken"
            try:
                os.rename(self.path, tomb)  # atomic: of several breakers, one renames it
            except FileNotFoundError as err:
                raise _LostRace from err
            with open(tomb, "rb") as f:
                taken = self._decode(f.read(), os.stat(tomb).st_mtime)
            if taken.get("run_id") != record.get("run_id") or taken.get("heartbeat") != record.get(
                "heartbeat"
            ):
                # another run took the lease over since we read it: give it back
                with contextlib.suppress(FileNotFoundError, FileExistsError):
                    os.link(tomb, self.path)
                os.unlink(tomb)
                raise _LostRace
            os.unlink(tomb)
            self._create_local(data)
            return
        if self.s3 and etag:
            out = self._put_remote(data, IfMatch=etag)  # fails if it changed since judged
            self._etag = _etag_of(out)
            self._probe(data)
            self._verify()
            return
        self.fs.rm_file(self.path)
        self._create_remote(data)

    # -- acquiring, releasing -----------------------------------------------------------------
    def acquire(
        self,
        *,
        wait: bool = False,
        timeout: float | None = None,
        break_lock: bool = False,
        poll_s: float | None = None,
    ) -> StoreLease:
        """Take the lease, then start the heartbeat thread.

        Parameters
        ----------
        wait : bool
            Wait until the lease is free instead of failing at once.
        timeout : float, optional
            With ``wait``: give up after this many seconds (default: wait as long as it takes).
        break_lock : bool
            Take over a stale lease (no heartbeat for ``stale_after`` seconds). A fresh lease is
            never broken: without ``wait`` that is an error, with ``wait`` the run waits for it
            to end or go stale.
        poll_s : float, optional
            Seconds between two looks at a held lease while waiting (default: a tenth of the
            heartbeat interval, between 0.05 and 5).

        Raises
        ------
        StoreLockedError
            When another run holds the lease (the message names it and says what to do), when
            ``break_lock`` meets a fresh lease, or when ``timeout`` passes.
        """
        if timeout is not None and (isinstance(timeout, bool) or not timeout >= 0):
            raise InvalidArgumentError(
                f"wait timeout must be >= 0 seconds or None, not {timeout!r}"
            )
        poll = poll_s if poll_s is not None else min(5.0, max(0.05, self.heartbeat_s / 10))
        started = time.monotonic()
        while True:
            holder = self._try_acquire(break_lock=break_lock, wait=wait)
            if holder is None:
                break
            if not wait:
                raise StoreLockedError(self._held_message(holder))
            waited = time.monotonic() - started
            if timeout is not None and waited >= timeout:
                raise StoreLockedError(
                    f"waited {waited:.1f} s for the lease on {self.url}, in vain: "
                    + self._held_message(holder)
                )
            time.sleep(poll if timeout is None else max(0.0, min(poll, timeout - waited)))
        with _ACTIVE_LOCK:
            _ACTIVE.add(self.run_id)
        self._last_ok = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat_loop, name=f"xgpm-lease-{self.run_id[:8]}", daemon=True
        )
        self._thread.start()
        return self

    def _try_acquire(self, *, break_lock: bool, wait: bool) -> dict[str, Any] | None:
        """None when this run now holds the lease, else the holder's record."""
        record, etag = self.read()
        try:
            if record is None:
                data = self._payload()
                (self._create_local if self.local else self._create_remote)(data)
                return None
            if record.get("run_id") == self.run_id:
                return None  # already ours (acquire called twice)
            if holder_is_dead_here(record):
                log.warning(
                    "%s: taking over the lease of run %s (pid %s on this host), whose process "
                    "is gone",
                    self.url,
                    record.get("run_id"),
                    record.get("pid"),
                )
                self._take_over(record, etag, self._payload())
                return None
            if break_lock:
                if self.is_stale(record):
                    log.warning(
                        "%s: breaking the stale lease of run %s (%s@%s, pid %s; last heartbeat "
                        "%.0f s ago)",
                        self.url,
                        record.get("run_id"),
                        record.get("owner"),
                        record.get("host"),
                        record.get("pid"),
                        self.age(record),
                    )
                    self._take_over(record, etag, self._payload())
                    return None
                if not wait:
                    raise StoreLockedError(self._refuse_break_message(record))
        except _LostRace:
            latest, _ = self.read()
            return latest or record or {"run_id": "?", "heartbeat": _iso(_now())}
        return record

    def _describe(self, record: dict[str, Any]) -> str:
        age = self.age(record)
        return (
            f"run {record.get('run_id')} of {record.get('owner')}@{record.get('host')} "
            f"(pid {record.get('pid')}), started {record.get('started')}, last heartbeat "
            f"{record.get('heartbeat')} ({age:.0f} s ago)"
        )

    def _held_message(self, record: dict[str, Any]) -> str:
        head = f"{self.url} is being written by another xgpm process run: {self._describe(record)}"
        if record.get("unreadable"):
            head += " (the lease object is unreadable: a run died while writing it)"
        if self.is_stale(record):
            return (
                f"{head}. Its lease had no heartbeat for more than {self.stale_after:.0f} s "
                "(stale_after), so that run is probably dead: make sure it is not running, then "
                "break its lease with break_lock=True (--break-lock); the store resumes where it "
                f"stopped. Lease object: {self.path}"
            )
        return (
            f"{head}. Wait for it to finish with wait=True (--wait [SECONDS]), or, if that run is "
            f"dead, break its lease once it is stale (no heartbeat for {self.stale_after:.0f} s) "
            f"with break_lock=True (--break-lock). Lease object: {self.path}"
        )

    def _refuse_break_message(self, record: dict[str, Any]) -> str:
        return (
            f"refusing to break the lease on {self.url}: {self._describe(record)}, less than "
            f"stale_after={self.stale_after:.0f} s ago, so that run is probably still alive. "
            "Wait for it (wait=True / --wait), or stop it first; a lease can be broken only "
            f"when stale. Lease object: {self.path}"
        )

    def release(self) -> None:
        """Stop the heartbeat and delete the lease if it is still this run's (idempotent).

        A store that cannot be reached keeps the lease: the next run on this host takes it over
        (its process is gone), a run elsewhere breaks it once stale.
        """
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(1.0, 2 * self.heartbeat_s))
        self._thread = None
        try:
            record, _ = self.read()
            if record is not None and record.get("run_id") == self.run_id:
                if self.local:
                    os.unlink(self.path)
                    for folder in self._created_dirs:  # created for the lease, now empty
                        try:
                            os.rmdir(folder)
                        except OSError:
                            break
                else:
                    self.fs.rm_file(self.path)
        except Exception as err:  # noqa: BLE001 - the run's own error matters more
            log.warning(
                "%s: could not release the lease (%s: %s); the next run on this host takes it "
                "over, elsewhere break it with --break-lock once stale (%.0f s)",
                self.url,
                type(err).__name__,
                err,
                self.stale_after,
            )
        finally:
            with _ACTIVE_LOCK:
                _ACTIVE.discard(self.run_id)

    def __enter__(self) -> StoreLease:
        if self.run_id not in _ACTIVE:
            self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    # -- heartbeat ----------------------------------------------------------------------------
    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.beat()
            except Exception as err:  # noqa: BLE001 - keep beating; check() decides
                log.warning(
                    "%s: lease heartbeat failed (%s: %s)", self.url, type(err).__name__, err
                )
            if self._lost:
                return

    def beat(self) -> None:
        """Refresh the heartbeat now (if the lease is still this run's)."""
        if self._lost or self.record is None:
            return
        started = self.record.get("started")
        if self.local:
            record, _ = self.read()
            if record is None or record.get("run_id") != self.run_id:
                self._lose(record)
                return
            tmp = f"{self.path}.{self.run_id}.hb.tmp"
            try:
                with open(tmp, "wb") as f:
                    f.write(self._payload(started))
                os.replace(tmp, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        elif self.s3 and self.conditional and self._etag:
            try:
                out = self._put_remote(self._payload(started), IfMatch=self._etag)
            except _LostRace:
                self._lose(self.read()[0])
                return
            self._etag = _etag_of(out)
        else:
            record, _ = self.read()
            if record is None or record.get("run_id") != self.run_id:
                self._lose(record)
                return
            self.fs.pipe_file(self.path, self._payload(started))
        self._last_ok = time.monotonic()

    def _lose(self, record: dict[str, Any] | None) -> None:
        self._lost = (
            "its lease object was deleted"
            if record is None
            else f"its lease was taken over by {self._describe(record)}"
        )

    def check(self) -> None:
        """Raise :class:`StoreLockedError` if this run may no longer write the store.

        Called before each commit: the lease was taken over (after this run's heartbeats had
        stopped for ``stale_after`` seconds), deleted, or could not be refreshed for that long.
        """
        quiet = time.monotonic() - self._last_ok
        if not self._lost and quiet > self.stale_after / 2:
            try:
                self.beat()
            except Exception as err:  # noqa: BLE001 - judged below by its age
                log.warning("%s: lease heartbeat failed (%s)", self.url, err)
            quiet = time.monotonic() - self._last_ok
        if not self._lost and quiet > self.stale_after:
            self._lost = f"its heartbeat could not be written for {quiet:.0f} s"
        if self._lost:
            raise StoreLockedError(
                f"{self.url}: this run (run {self.run_id}) lost its lease: {self._lost}. It stops "
                "without writing more; the granules committed so far are kept. Run the same "
                "command again once no other run writes the store."
            )


def _etag_of(response: Any) -> str | None:
    """The ETag of an s3fs ``pipe_file`` response (a put_object response), if any."""
    return response.get("ETag") if isinstance(response, dict) else None


def _precondition_failed(err: BaseException) -> bool:
    """Whether an s3fs error is a failed ``If-Match`` (HTTP 412).

    s3fs raises it as an OSError whose cause is botocore's ClientError.
    """
    for e in (err, err.__cause__, err.__context__):
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            error = response.get("Error", {})
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if error.get("Code") in ("PreconditionFailed", "412") or status == 412:
                return True
    return False


def read_lease(store: str | os.PathLike, *, storage_options: dict | None = None) -> dict | None:
    """The lease record of a store (who runs on it, since when, last heartbeat), or None.

    Examples
    --------
    >>> read_lease("out.zarr")  # doctest: +SKIP
    {'run_id': '5f0c...', 'owner': 'alice', 'host': 'node12', 'pid': 4242, ...}
    """
    lease = StoreLease(store, storage_options)
    record, _ = lease.read()
    return record
