"""Threads of the truth engine: independent tiles and point chunks computed in parallel.

The truth engine's heavy parts (AR innovations, FFTs, bilinear sampling, the land-fraction
kernel, elementwise numpy) release the GIL, so a thread pool spreads them over the cores. Every
parallel map here returns its results in input order and the callers combine them in that order,
so the output is the same bit for bit whatever the number of threads.

How many threads: :func:`threads` sets it for the calling thread (a context manager); otherwise
the main thread uses the available cores (at most :data:`MAX_THREADS`) and any other thread one,
because inside dask's (or any) worker threads the caller already runs tasks in parallel and
nested pools would oversubscribe the cores (the same rule as the forward model's kernel).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

MAX_THREADS = 8
#: Smallest chunk of points worth a thread (below, threads cost more than they save).
MIN_CHUNK = 50_000
_LOCAL = threading.local()


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), capped at :data:`MAX_THREADS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_THREADS))


def n_threads() -> int:
    """Number of threads the truth engine may use in the calling thread."""
    n = getattr(_LOCAL, "threads", None)
    if n is not None:
        return n
    return available_cores() if threading.current_thread() is threading.main_thread() else 1


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Let the truth engine use ``n`` threads (1: serial) in the calling thread."""
    previous = getattr(_LOCAL, "threads", None)
    _LOCAL.threads = max(1, int(n))
    try:
        yield
    finally:
        _LOCAL.threads = previous


def map_ordered(func: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """``[func(x) for x in items]``, in up to :func:`n_threads` threads, results in order.

    The pool's own threads compute serially (:func:`n_threads` is 1 there): no nesting.
    """
    items = list(items)
    workers = n_threads()
    if workers <= 1 or len(items) <= 1:
        return [func(x) for x in items]
    return list(_pool(workers).map(func, items))


_POOLS: dict[tuple, Any] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> Any:
    """A process-wide pool per size, kept: the same threads block after block.

    New threads per call would each get a glibc malloc arena that keeps the freed tile arrays:
    ~300 MB more peak memory on a full orbit, against ~70 MB with kept threads.
    """
    from concurrent.futures import ThreadPoolExecutor

    key = (ThreadPoolExecutor, workers)  # the class too: tests may swap it for a serial one
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ThreadPoolExecutor(workers, thread_name_prefix="xgpm-truth")
        return pool


def _forget_pools() -> None:
    # A forked child has none of the parent's threads: its pools would never run a task.
    _POOLS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def chunks(n: int) -> list[slice]:
    """Contiguous slices splitting ``range(n)``, one per thread, of :data:`MIN_CHUNK` or more."""
    parts = max(1, min(n_threads(), n // max(MIN_CHUNK, 1)))
    edges = [n * i // parts for i in range(parts + 1)]
    return [slice(edges[i], edges[i + 1]) for i in range(parts)]
