"""``xgpm.process``: run a pipeline over many granules on a dask.distributed cluster into Zarr.

Workers read a granule, run the pipeline and compute the result (``read -> steps -> compute``);
the client commits results to the store in selection order, one granule at a time (see
:mod:`xgpm.process.store` for the commit protocol). At most ``2 x`` (worker threads) granules are
in flight or waiting to be committed, so memory does not grow with the number of granules.
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError, WriteError, XGPMError
from xgpm.process.faults import (
    is_storage_failure,
    is_transient_read_failure,
    read_error,
    store_error,
    with_s3_timeouts,
    worker_died_error,
)
from xgpm.process.lock import StoreLease
from xgpm.process.pipeline import Step, StepSpec, describe_pipeline, resolve_pipeline
from xgpm.process.select import GranuleRef, select_granules
from xgpm.process.store import ALONG, LAYOUT_VERSION, ArchiveStore

__all__ = ["process", "ProcessSummary"]

#: most granules appended to the store in one write (when that many are ready in order)
MAX_BATCH = 8


@dataclass
class ProcessSummary:
    """What a :func:`process` run did.

    Attributes
    ----------
    store : str
        The output store.
    selected : int
        Granules matching the selection.
    skipped : int
        Of those, already done (or failed) in the store before this run.
    processed : int
        Granules committed by this run.
    failed : int
        Granules that failed in this run (reasons in ``failures``).
    elapsed_s : float
        Wall time of the processing loop (cluster start-up excluded).
    rows : dict
        Along-track rows per sensor group in the store.
    failures : DataFrame
        Every failure recorded in the store (name, url, ..., reason).
    dashboard : str or None
        The dask dashboard link of the cluster, when it has one.
    write_s : float
        Of ``elapsed_s``, the time the client spent committing results to the store.
    """

    store: str
    selected: int
    skipped: int
    processed: int
    failed: int
    elapsed_s: float
    rows: dict[str, int] = field(default_factory=dict)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    dashboard: str | None = None
    write_s: float = 0.0

    @property
    def granules_per_s(self) -> float:
        """Granules (committed or failed) per second of this run."""
        n = self.processed + self.failed
        return n / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    def __str__(self) -> str:
        groups = ", ".join(f"{g}: {n} rows" for g, n in sorted(self.rows.items())) or "none"
        lines = [
            f"xgpm process -> {self.store}",
            f"  selected {self.selected} granule(s); {self.skipped} already in the store",
            f"  this run: {self.processed} committed, {self.failed} failed in "
            f"{self.elapsed_s:.1f} s ({self.granules_per_s:.2f} granules/s; "
            f"{self.write_s:.1f} s writing)",
            f"  groups: {groups}",
        ]
        if len(self.failures):
            lines.append(f"  failures recorded in the store ({len(self.failures)}):")
            for row in self.failures.itertuples():
                lines.append(f"    {row.name}: {row.reason}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# worker side
# --------------------------------------------------------------------------------------------


def run_granule(
    ref: GranuleRef,
    steps: Sequence[Step],
    open_kwargs: dict[str, Any] | None = None,
    storage_options: dict | None = None,
) -> tuple[str, Any]:
    """Read one granule, run the steps and compute: ``("ok", Dataset)`` or ``("failed", why)``.

    xgpm errors (corrupt, empty or mismatched granules, missing channels ...) are permanent
    failures returned as such; other exceptions propagate, so that dask retries the task. A
    :class:`~xgpm.errors.StorageError` (the source does not answer) is no fault of the granule:
    it propagates too, and the client stops the run after the retries instead of recording it.
    """
    from xgpm.io import _hdf5
    from xgpm.io.read import open_granule

    try:
        ds = open_granule(
            ref.url, storage_options=storage_options, **{"chunks": None, **(open_kwargs or {})}
        )
        for step in steps:
            ds = step(ds)
        # synchronous: no nested scheduling inside a worker thread
        ds = ds.compute(scheduler="synchronous")
    except XGPMError as err:
        if is_transient_read_failure(err):
            raise
        return "failed", f"{type(err).__name__}: {err}"
    finally:
        _hdf5.close_cached(ref.url)
    if ALONG not in ds.dims:
        return "failed", (
            f"the pipeline output has no {ALONG!r} dim (dims: {dict(ds.sizes)}); the along-track "
            "layout needs swath output"
        )
    if ds.sizes[ALONG] == 0:
        return "failed", "the pipeline output has no along-track row"
    return "ok", ds


# --------------------------------------------------------------------------------------------
# client side
# --------------------------------------------------------------------------------------------


def _start_client(
    scheduler: Any,
    n_workers: int | None,
    threads_per_worker: int,
    processes: bool,
    dashboard: bool,
    memory_limit: Any = "auto",
):
    """(client, owned cluster or None)."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        n_workers = n_workers or max(1, (os.cpu_count() or 1) // threads_per_worker)
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            memory_limit=memory_limit,
            dashboard_address=":0" if dashboard and _has_bokeh() else None,
            silence_logs=logging.ERROR,
        )
        return Client(cluster, set_as_default=False), cluster
    if isinstance(scheduler, str):
        return Client(scheduler, set_as_default=False), None
    if hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info"):
        return scheduler, None
    raise InvalidArgumentError(
        f"scheduler must be None (a LocalCluster), an address such as 'tcp://10.0.0.1:8786' or a "
        f"distributed.Client, not {scheduler!r}"
    )


def _has_bokeh() -> bool:
    """Whether bokeh can be imported: without it dask's dashboard serves no page."""
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def _dashboard_link(client: Any, cluster: Any, progress: bool) -> str | None:
    """The dashboard link of a cluster this run started, printed when ``progress``.

    Without bokeh the scheduler still reports a link, but nothing answers there: then the link
    is None and, with ``progress``, the message says how to get one.
    """
    if cluster is None:
        return None
    if not _has_bokeh():
        if progress:
            print("xgpm process: no dask dashboard (it needs bokeh: pip install bokeh)")
        return None
    link = getattr(client, "dashboard_link", None) or None
    if progress and link:
        print(f"xgpm process: dask dashboard at {link}")
    return link


def _worker_resources(client, resources: Any) -> dict[str, float] | None:
    """``"auto"``: ask for one ``GPU`` per task when some worker advertises GPUs."""
    if resources != "auto":
        return resources
    workers = client.scheduler_info().get("workers", {})
    if any((w.get("resources") or {}).get("GPU") for w in workers.values()):
        return {"GPU": 1}
    return None


def _whole(value: Any, name: str, flag: str, minimum: int, *, optional: bool = False) -> None:
    """Refuse anything but a whole number >= ``minimum`` (None too when ``optional``)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidArgumentError(
            f"{name} ({flag}) must be a whole number >= {minimum}, not {value!r}"
        )


def _seconds(value: Any, name: str, flag: str | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not optional)
    ):
        kind = ">= 0" if optional else "> 0"
        raise InvalidArgumentError(
            f"{name} ({flag}) must be a number of seconds {kind}, not {value!r}"
        )


def _check_arguments(
    *,
    n_workers: Any,
    threads_per_worker: Any,
    retries: Any,
    along_track_chunk: Any,
    resources: Any,
    memory_limit: Any,
    wait_timeout: Any,
    stale_after: Any,
    heartbeat_s: Any,
) -> None:
    """Refuse bad arguments before anything is listed, locked or written; name the argument."""
    _whole(n_workers, "n_workers", "--workers", 1, optional=True)
    _whole(threads_per_worker, "threads_per_worker", "--threads-per-worker", 1)
    _whole(retries, "retries", "--retries", 0)
    _whole(along_track_chunk, "along_track_chunk", "--chunk", 1)
    if not (resources is None or resources == "auto" or isinstance(resources, Mapping)):
        raise InvalidArgumentError(
            f"resources must be 'auto', None or a dict such as {{'GPU': 1}}, not {resources!r}"
        )
    if isinstance(resources, Mapping):
        for key, amount in resources.items():
            if isinstance(amount, bool) or not isinstance(amount, numbers.Real) or amount <= 0:
                raise InvalidArgumentError(
                    f"resources[{key!r}] must be a positive number, not {amount!r}"
                )
    if memory_limit not in (None, "auto"):
        from dask.utils import parse_bytes

        try:
            ok = parse_bytes(memory_limit) > 0 if isinstance(memory_limit, str) else None
        except (ValueError, TypeError):
            ok = False
        if ok is None:  # a number: bytes, or a fraction (0..1] of the machine's memory
            ok = not isinstance(memory_limit, bool) and isinstance(memory_limit, numbers.Real)
            ok = ok and memory_limit > 0
        if not ok:
            raise InvalidArgumentError(
                f"memory_limit (--memory-limit) must be 'auto', None, a size such as '4GiB' or "
                f"a number of bytes, not {memory_limit!r}"
            )
    _seconds(wait_timeout, "wait_timeout", "--wait SECONDS", optional=True)
    _seconds(heartbeat_s, "heartbeat_s", None)
    _seconds(stale_after, "stale_after", "--stale-after")
    if stale_after <= heartbeat_s:
        raise InvalidArgumentError(
            f"stale_after (--stale-after, {stale_after} s) must be longer than heartbeat_s "
            f"({heartbeat_s} s), e.g. 10 to 20 heartbeats, or a live run's lease would look stale"
        )


def process(
    source: str | os.PathLike | Iterable[str | os.PathLike],
    store: str | os.PathLike,
    *,
    pipeline: Sequence[StepSpec] | StepSpec | None = None,
    product: str | Sequence[str] | None = None,
    sensor: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | float | None = "auto",
    resources: dict[str, float] | str | None = "auto",
    retries: int = 2,
    along_track_chunk: int = 1024,
    open_kwargs: dict[str, Any] | None = None,
    storage_options: dict | None = None,
    store_options: dict | None = None,
    overwrite: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    wait: bool = False,
    wait_timeout: float | None = None,
    break_lock: bool = False,
    stale_after: float = 600.0,
    heartbeat_s: float = 30.0,
) -> ProcessSummary:
    """Run a pipeline over an archive of granules into a Zarr store, resumably.

    Parameters
    ----------
    source : path, URL or iterable of them
        A local directory or fsspec prefix (``s3://bucket/gpm/``) laid out like the PPS archive
        (any depth; PPS file names), or explicit granule paths/URLs.
    store : path or URL
        Output Zarr store (local or fsspec, e.g. ``s3://bucket/out.zarr``). One group per
        sensor (``GMI``, ``SSMIS-F17`` ...), along-track rows appended granule by granule in
        selection order, a ``granule`` coordinate (orbit number) per row; Zarr format 2 with
        consolidated metadata. Open a group with ``xr.open_zarr(store, group="GMI")``.
    pipeline : sequence of steps, optional
        Steps applied to each granule's Dataset (see :mod:`xgpm.process.pipeline`): accessor
        method names (``"rainrate"``), ``(name, kwargs)``, ``"module:function"`` or callables.
        Default: ``("rainrate",)`` for GMI and ``("to_gmi", "rainrate")`` for other sensors.
    product, sensor, start, end
        Selection filters (see :func:`xgpm.process.select_granules`); every 1C product by
        default.
    scheduler : None, str or distributed.Client
        None starts a LocalCluster of ``n_workers`` x ``threads_per_worker`` (closed at the end);
        an address (``"tcp://host:8786"``) joins an existing cluster; a Client is used as is.
    n_workers : int, optional
        Workers of the LocalCluster (default: one per core).
    threads_per_worker : int
        Threads per worker (1: single-threaded workers, each with one torch thread).
    processes : bool
        LocalCluster workers as processes (default) or threads of this process.
    memory_limit : str, float or None
        Memory limit of each LocalCluster worker process (``"4GiB"``; ``"auto"``: the machine's
        memory shared out; None: no limit). A worker past it is restarted by its nanny.
    resources : dict, "auto" or None
        Worker resources each task needs; ``"auto"`` asks for ``{"GPU": 1}`` when the cluster's
        workers advertise a ``GPU`` resource (``dask worker --resources GPU=1``).
    retries : int
        Times a task is retried after an unexpected exception.
    along_track_chunk : int
        Zarr chunk size along ``along_track`` (fixed when a group is created).
    open_kwargs : dict, optional
        Extra arguments of :func:`xgpm.open_granule` (``scan_mode``, ``variables`` ...).
    storage_options, store_options : dict, optional
        fsspec options of ``source`` and of ``store``. For ``s3://`` URLs, botocore's connect
        time and attempts are bounded (:data:`xgpm.io._storage.S3_CONFIG_DEFAULTS`) unless
        ``config_kwargs`` says otherwise.
    overwrite : bool
        Delete ``store`` first (once this run holds its lease). Otherwise an existing store is
        resumed: granules in its manifest are skipped.
    retry_failed : bool
        Try again the granules recorded as failed (their rows are appended after the others).
    progress : bool
        Show a progress bar (granules/s, ETA) and print the dashboard link.
    wait : bool
        When another run holds the store's lease, wait for it to end instead of failing.
    wait_timeout : float, optional
        With ``wait``: give up after this many seconds (default: no limit).
    break_lock : bool
        Take over a stale lease (no heartbeat for ``stale_after`` seconds), left by a run that
        died on another machine. A fresh lease is never broken.
    stale_after : float
        Seconds without heartbeat after which a lease is stale (default 600).
    heartbeat_s : float
        Seconds between two heartbeats of this run's lease (default 30).

    Returns
    -------
    ProcessSummary
        Counts, rows per group, throughput and every failure recorded in the store.

    Raises
    ------
    InvalidArgumentError
        Bad arguments or selection, a pipeline step that does not resolve (e.g. ``to_gmi`` not
        available), or a store written with another pipeline -- all before any work starts.
    UnknownSensorError, UnknownProductError
        For sensor or product names the registries do not know.
    StoreLockedError
        Another run holds the store's lease (see ``wait`` and ``break_lock``), or this run lost
        it.
    StorageError
        The store cannot be written (read-only, full, endpoint gone) or the source cannot be
        read (endpoint gone); the message says what to do. Nothing is lost: running the same
        command again resumes.
    RunFailedError
        A worker died (out of memory) on a granule more often than the scheduler allows.

    Examples
    --------
    >>> summary = xgpm.process("s3://bucket/gpm/", "s3://bucket/rain.zarr",
    ...                        product="1C-GMI", start="2021-01", end="2021-02",
    ...                        storage_options=opts, store_options=opts)  # doctest: +SKIP
    >>> xr.open_zarr("s3://bucket/rain.zarr", group="GMI")  # doctest: +SKIP
    """
    _check_arguments(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        retries=retries,
        along_track_chunk=along_track_chunk,
        resources=resources,
        memory_limit=memory_limit,
        wait_timeout=wait_timeout,
        stale_after=stale_after,
        heartbeat_s=heartbeat_s,
    )
    if isinstance(source, (str, os.PathLike)):
        storage_options = with_s3_timeouts(source, storage_options)
    store_options = with_s3_timeouts(store, store_options)
    selection = select_granules(
        source,
        product=product,
        sensor=sensor,
        start=start,
        end=end,
        storage_options=storage_options,
    )
    steps = {s: resolve_pipeline(pipeline, s) for s in sorted({r.sensor for r in selection})}

    url = os.fspath(store)
    lease = StoreLease(store, store_options, heartbeat_s=heartbeat_s, stale_after=stale_after)
    try:
        lease.acquire(wait=wait, timeout=wait_timeout, break_lock=break_lock)
    except Exception as err:
        if isinstance(err, XGPMError) or not is_storage_failure(err):
            raise
        raise store_error(err, url, "create the lease of", options=store_options) from err
    try:
        return _process_locked(
            selection,
            steps,
            url,
            lease,
            scheduler=scheduler,
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            memory_limit=memory_limit,
            resources=resources,
            retries=retries,
            along_track_chunk=along_track_chunk,
            open_kwargs=open_kwargs,
            storage_options=storage_options,
            store_options=store_options,
            overwrite=overwrite,
            retry_failed=retry_failed,
            progress=progress,
        )
    finally:  # also after an error or Ctrl-C
        lease.release()


@contextlib.contextmanager
def _storage(archive: ArchiveStore, action: str, opened: bool = True) -> Iterator[None]:
    """Raw failures of the store's storage (OSError, botocore, aiohttp ...) -> StorageError."""
    try:
        yield
    except Exception as err:
        if isinstance(err, XGPMError) or not is_storage_failure(err):
            raise
        committed = len(archive.done) if opened else None
        raise store_error(
            err, archive.url, action, options=archive.storage_options, committed=committed
        ) from err


def _process_locked(
    selection: list[GranuleRef],
    steps: dict[str, list[Step]],
    url: str,
    lease: StoreLease,
    *,
    scheduler: Any,
    n_workers: int | None,
    threads_per_worker: int,
    processes: bool,
    memory_limit: Any,
    resources: Any,
    retries: int,
    along_track_chunk: int,
    open_kwargs: dict[str, Any] | None,
    storage_options: dict | None,
    store_options: dict | None,
    overwrite: bool,
    retry_failed: bool,
    progress: bool,
) -> ProcessSummary:
    """The body of :func:`process`, run while this run holds the store's lease."""
    from tqdm.auto import tqdm

    from xgpm._version import __version__
    from xgpm.process.store import read_manifest

    described = {s: describe_pipeline(v) for s, v in steps.items()}
    archive = ArchiveStore(url, store_options)
    with _storage(archive, "open", opened=False):
        archive.open(described, overwrite=overwrite)
        if retry_failed:
            for ref in selection:
                archive.forget_failure(ref.name)
    todo = [r for r in selection if r.name not in archive.done and r.name not in archive.failed]
    skipped = len(selection) - len(todo)

    processed = failed = 0
    write_s = 0.0
    dashboard = None
    if todo:
        client, cluster = _start_client(
            scheduler,
            n_workers,
            threads_per_worker,
            processes,
            dashboard=progress,
            memory_limit=memory_limit,
        )
        try:
            dashboard = _dashboard_link(client, cluster, progress)
            task_resources = _worker_resources(client, resources)
            memory = _memory_limit_of(client)  # now: a dead worker is gone from the scheduler
            threads = sum(client.nthreads().values()) or 1
            window = max(2, 2 * threads)
            started = time.perf_counter()
            bar = tqdm(
                total=len(todo),
                desc="xgpm process",
                unit="granule",
                disable=not progress,
                smoothing=0.05,
            )
            attrs_of = {
                sensor: {
                    "xgpm_pipeline": text,
                    "xgpm_sensor": sensor,
                    "xgpm_process_layout": LAYOUT_VERSION,
                    "xgpm_version": __version__,
                }
                for sensor, text in described.items()
            }
            try:
                batches = _ordered_results(
                    client,
                    todo,
                    steps,
                    open_kwargs,
                    storage_options,
                    retries,
                    task_resources,
                    window,
                )
                for batch in batches:
                    lease.check()  # never write a store whose lease went to another run
                    tick = time.perf_counter()
                    with _storage(archive, "write"):
                        for run in _runs(batch):
                            ref, status, payload = run[0]
                            if status != "ok":
                                archive.record_failure(ref, payload)
                                failed += 1
                                continue
                            ok, bad = _commit(archive, run, along_track_chunk, attrs_of, described)
                            processed += ok
                            failed += bad
                    write_s += time.perf_counter() - tick
                    bar.update(len(batch))
                    bar.set_postfix(failed=failed, refresh=False)
            except _FatalResult as fatal:
                if fatal.kind == "storage":
                    raise read_error(
                        fatal.error, fatal.ref.name, fatal.ref.url, retries, storage_options
                    ) from fatal.error
                raise worker_died_error(
                    fatal.error,
                    fatal.ref.name,
                    url,
                    len(archive.done),
                    memory,
                ) from fatal.error
            finally:
                bar.close()
                elapsed = time.perf_counter() - started  # the cluster's shutdown excluded
        finally:
            if cluster is not None:
                client.close()
                cluster.close()
            elif isinstance(scheduler, str):
                client.close()
    else:
        elapsed = 0.0
    lease.check()
    with _storage(archive, "finish"):
        archive.consolidate()
        archive.write_manifest()
        _, failures = read_manifest(url, storage_options=store_options)
    return ProcessSummary(
        store=url,
        selected=len(selection),
        skipped=skipped,
        processed=processed,
        failed=failed,
        elapsed_s=elapsed,
        rows=dict(archive.rows),
        failures=failures,
        dashboard=dashboard,
        write_s=write_s,
    )


def _memory_limit_of(client) -> str | None:
    """The workers' memory limit, for messages ("2.00 GiB"), or None when unknown/unlimited."""
    try:
        from dask.utils import format_bytes

        limits = {
            w.get("memory_limit") for w in client.scheduler_info().get("workers", {}).values()
        }
    except Exception:  # noqa: BLE001 - only for a message
        return None
    limits.discard(None)
    limits.discard(0)
    if not limits:
        return None
    return ", ".join(format_bytes(v) for v in sorted(limits))


class _FatalResult(Exception):
    """A granule whose task cannot succeed in this run for reasons outside the granule."""

    def __init__(self, ref: GranuleRef, error: BaseException, kind: str):
        super().__init__(f"{ref.name}: {kind}: {error}")
        self.ref, self.error, self.kind = ref, error, kind


def _fatal_kind(err: BaseException) -> str | None:
    """How a task's final exception ends the granule.

    ``"memory"``: a worker died on it, or MemoryError; ``"storage"``: the source does not answer
    (both stop the run); None: a failure of the granule itself (recorded, the run goes on).
    """
    from distributed import KilledWorker

    if isinstance(err, (KilledWorker, MemoryError)):
        return "memory"
    if is_transient_read_failure(err):
        return "storage"
    return None


def _ordered_results(
    client,
    todo: Sequence[GranuleRef],
    steps: dict[str, list[Step]],
    open_kwargs: dict[str, Any] | None,
    storage_options: dict | None,
    retries: int,
    resources: dict[str, float] | None,
    window: int,
):
    """Yield lists of (ref, status, payload) in ``todo`` order; at most ``window`` held at once.

    Results arriving early wait in a small buffer until the granules before them are yielded;
    each list holds the consecutive results ready at that moment (committed in one write).
    A granule that cannot succeed in this run (its worker died, the source does not answer)
    stops the submissions; the granules before it are still yielded, then :class:`_FatalResult`
    is raised, and the tasks after it are cancelled.
    """
    from distributed import as_completed

    queue = as_completed(loop=client.loop)
    pending: dict[Any, int] = {}
    buffer: dict[int, tuple[str, Any]] = {}
    next_submit = next_yield = 0
    fatal_at: int | None = None

    def fill() -> None:
        nonlocal next_submit
        while fatal_at is None and next_submit < len(todo) and len(pending) + len(buffer) < window:
            ref = todo[next_submit]
            future = client.submit(
                run_granule,
                ref,
                steps[ref.sensor],
                open_kwargs,
                storage_options,
                key=f"xgpm-process-{ref.name}-{os.urandom(4).hex()}",
                pure=False,
                retries=retries,
                resources=resources,
            )
            pending[future] = next_submit
            queue.add(future)
            next_submit += 1

    fill()
    for finished in queue.batches():
        for future in finished:
            index = pending.pop(future, None)
            if index is None:  # cancelled after a fatal result
                continue
            try:
                buffer[index] = future.result()
            except Exception as err:  # noqa: BLE001 - retries exhausted: record, or stop
                kind = _fatal_kind(err)
                if kind is None:
                    why = f"{type(err).__name__}: {err} (after {retries} retries)"
                    buffer[index] = ("failed", why)
                else:
                    buffer[index] = ("fatal", (kind, err))
                    fatal_at = index if fatal_at is None else min(fatal_at, index)
            future.release()
        ready = []
        while next_yield in buffer:
            status, payload = buffer.pop(next_yield)
            if status == "fatal":
                if ready:
                    yield ready
                later = [f for f, i in pending.items() if i > next_yield]
                if later:
                    client.cancel(later)
                kind, err = payload
                raise _FatalResult(todo[next_yield], err, kind)
            ready.append((todo[next_yield], status, payload))
            next_yield += 1
        if ready:
            yield ready
        fill()


def _runs(batch: list[tuple[GranuleRef, str, Any]]) -> list[list[tuple[GranuleRef, str, Any]]]:
    """Split an ordered batch into runs: consecutive successes of one sensor, or one failure."""
    runs: list[list[tuple[GranuleRef, str, Any]]] = []
    for item in batch:
        ref, status, _ = item
        last = runs[-1] if runs else None
        if (
            status == "ok"
            and last is not None
            and last[-1][1] == "ok"
            and last[-1][0].sensor == ref.sensor
            and len(last) < MAX_BATCH
        ):
            last.append(item)
        else:
            runs.append([item])
    return runs


def _commit(archive: ArchiveStore, run, along_track_chunk, attrs_of, described) -> tuple[int, int]:
    """Commit a run of successes in one write; granule by granule if that write fails.

    Returns (committed, failed).
    """
    refs = [ref for ref, _, _ in run]
    datasets = [payload for _, _, payload in run]
    attrs = attrs_of[refs[0].sensor]
    try:
        archive.commit(refs, datasets, along_track_chunk=along_track_chunk, attrs=attrs)
        return len(refs), 0
    except WriteError as err:
        archive.open(described)  # cut back a partial append
        if len(refs) == 1:
            archive.record_failure(refs[0], f"WriteError: {err}")
            return 0, 1
    committed = failed = 0
    for ref, ds in zip(refs, datasets, strict=True):
        ok, bad = _commit(archive, [(ref, "ok", ds)], along_track_chunk, attrs_of, described)
        committed, failed = committed + ok, failed + bad
    return committed, failed


def open_store(store: str | os.PathLike, sensor: str, **kwargs: Any) -> xr.Dataset:
    """Open one sensor's group of a process store (``xr.open_zarr(store, group=sensor)``)."""
    from xgpm import sensors as sensor_registry

    return xr.open_zarr(store, group=sensor_registry.get(sensor).name, **kwargs)
