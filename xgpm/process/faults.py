"""Faults of a ``process`` run as xgpm errors: storage failures, dead workers, bounded S3 waits.

A run that meets a fault it cannot get around (the store's endpoint goes away, the disk is full,
the destination is read-only, a worker runs out of memory) stops with a
:class:`~xgpm.errors.StorageError` or :class:`~xgpm.errors.RunFailedError` that names the store
or the granule, says what happened and what to do, and says that nothing is lost: the granules
committed so far stay, and running the same command again resumes after them.
"""

from __future__ import annotations

import builtins
import errno
import os
from typing import Any

from xgpm.errors import GranuleError, RunFailedError, StorageError, XGPMError
from xgpm.io._storage import S3_CONFIG_DEFAULTS, with_timeouts

__all__ = [
    "S3_CONFIG_DEFAULTS",
    "with_s3_timeouts",
    "is_storage_failure",
    "is_transient_read_failure",
    "store_error",
    "read_error",
    "worker_died_error",
]

_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EPIPE,
}


def with_s3_timeouts(url: Any, options: dict | None) -> dict | None:
    """``options`` with :data:`S3_CONFIG_DEFAULTS` for an ``s3://`` URL (the caller's win)."""
    if not (isinstance(url, (str, os.PathLike)) and os.fspath(url).startswith(("s3://", "s3a://"))):
        return options
    return with_timeouts(url, options)


def endpoint_of(options: dict | None, err: BaseException | None = None) -> str:
    """The S3 endpoint a store or source talks to, for messages."""
    kwargs = getattr(err, "kwargs", None) or {}
    if kwargs.get("endpoint_url"):
        return str(kwargs["endpoint_url"])
    client = (options or {}).get("client_kwargs") or {}
    return str(client.get("endpoint_url") or (options or {}).get("endpoint_url") or "AWS S3")


def _leaf(err: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups."""
    # getattr: exception groups are built in from Python 3.11 on
    while isinstance(err, getattr(builtins, "BaseExceptionGroup", ())) and err.exceptions:
        err = err.exceptions[0]
    return err


def _is_network(err: BaseException) -> bool:
    module = type(err).__module__ or ""
    if module.startswith(("botocore", "aiobotocore", "aiohttp", "urllib3", "requests")):
        return True
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    return isinstance(err, OSError) and err.errno in _NETWORK_ERRNOS


def is_storage_failure(err: BaseException) -> bool:
    """Whether ``err``, raised while writing the store, is a storage failure (not a bug)."""
    err = _leaf(err)
    if isinstance(err, XGPMError):
        return isinstance(err, StorageError)
    return isinstance(err, OSError) or _is_network(err)


def is_transient_read_failure(err: BaseException) -> bool:
    """Whether a worker's exception comes from a storage outage rather than from the granule.

    Such granules are not recorded as failed (that would lose them): the run stops instead.
    """
    err = _leaf(err)
    if isinstance(err, StorageError) and not isinstance(err, FileNotFoundError):
        return True
    if isinstance(err, GranuleError):
        return False
    return _is_network(err)


def _cause(err: BaseException, options: dict | None) -> tuple[str, str]:
    """(what happened, what to do) for a raw storage failure."""
    err = _leaf(err)
    code = getattr(err, "errno", None)
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
        return "no space left on the device", "Free space (or choose another location), then"
    if code == errno.EROFS:
        return "the file system is read-only", "Choose a writable location, then"
    if isinstance(err, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return (
            "permission denied",
            "Fix the permissions (for S3: the credentials and the bucket policy) or choose "
            "another location, then",
        )
    if _is_network(err):
        endpoint = endpoint_of(options, err)
        return (
            f"the endpoint {endpoint} does not answer",
            "Check the network and the endpoint (storage_options['client_kwargs']"
            "['endpoint_url']; connect time and attempts: storage_options['config_kwargs']), "
            "then",
        )
    if isinstance(err, FileNotFoundError):
        return "a path does not exist (deleted meanwhile?)", "Check the path, then"
    return "an I/O error", "Check the storage, then"


def store_error(
    err: BaseException,
    store: str,
    action: str,
    *,
    options: dict | None = None,
    committed: int | None = None,
    noun: str = "store",
) -> StorageError:
    """The :class:`StorageError` of a raw failure met while ``action`` (e.g. "write") ``store``.

    ``committed``: granules in the store's manifest (None: the store was not opened yet);
    ``noun``: "store", or "source" for the archive being listed.
    """
    what, advice = _cause(err, options)
    leaf = _leaf(err)
    if committed is None:
        kept = "Nothing of this run was written."
    else:
        kept = (
            f"Nothing is lost: the {committed} granule(s) committed so far stay in the store, "
            "rows written after the last of them are cut back, and nothing is duplicated."
        )
    return StorageError(
        f"{store}: cannot {action} the {noun}: {what} ({type(leaf).__name__}: {leaf}). "
        f"{advice} run the same command again: it resumes where this run stopped. {kept}"
    )


def read_error(err: BaseException, name: str, url: str, retries: int, options: dict | None):
    """The :class:`StorageError` of a granule that could not be read for a storage outage."""
    leaf = _leaf(err)
    where = endpoint_of(options, leaf) if _is_network(leaf) else "its storage"
    return StorageError(
        f"granule {name}: cannot read {url} after {retries} retries: {where} does not answer "
        f"({type(leaf).__name__}: {leaf}). It was not recorded as failed. Check the source's "
        "network and storage_options, then run the same command again: it resumes where this "
        "run stopped, and the granules committed so far are kept."
    )


def worker_died_error(
    err: BaseException, name: str, store: str, committed: int, memory_limit: Any
) -> RunFailedError:
    """The :class:`RunFailedError` of a granule whose worker died (or ran out of memory)."""
    leaf = _leaf(err)
    limit = f" (workers' memory limit: {memory_limit})" if memory_limit else ""
    if isinstance(leaf, MemoryError):
        what = f"granule {name} ran out of memory (MemoryError) in a pipeline step"
    else:
        what = (
            f"the worker processing granule {name} died, most likely out of memory{limit} "
            f"({type(leaf).__name__}: {leaf}; with several threads per worker, another granule "
            "on that worker may be the cause)"
        )
    return RunFailedError(
        f"{what}. It was not recorded as failed. Give each worker more memory "
        "(process(memory_limit=...) / --memory-limit, fewer threads per worker, or a "
        "cluster with bigger workers), then run the same command again: it resumes where this "
        f"run stopped; the {committed} granule(s) committed to {store} so far are kept and "
        "nothing is duplicated."
    )
