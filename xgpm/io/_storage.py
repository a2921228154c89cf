"""Filesystem and object-store failures as xgpm errors, and bounded S3 connection times.

Readers and writers call :func:`storage_errors` around every open, list, write and rename, so a
missing file, a directory where a file belongs, a permission problem, a full disk or an
unreachable S3 endpoint ends in one :class:`~xgpm.errors.StorageError` that names the path and
says what to do, never in a raw ``OSError`` or botocore exception.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from typing import Any

from xgpm.errors import NoSuchFileError, StorageError, XGPMError

__all__ = ["S3_CONFIG_DEFAULTS", "as_storage_error", "is_url", "storage_errors", "with_timeouts"]

#: botocore settings applied to ``s3://`` URLs (readers, writer, ``process`` stores and sources)
#: unless the caller sets ``config_kwargs``: an endpoint that does not answer fails in seconds
#: (2 s to connect, 3 attempts in all), not after botocore's 60 s and 5 attempts with back-off.
S3_CONFIG_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 2,
    "retries": {"total_max_attempts": 3, "mode": "standard"},
}


def is_url(target: Any) -> bool:
    """True for fsspec URLs other than ``file://`` (``s3://``, ``memory://`` ...)."""
    return isinstance(target, str) and "://" in target and not target.startswith("file://")


def with_timeouts(url: Any, storage_options: dict | None) -> dict:
    """``storage_options`` with bounded connect and retry times for ``s3://`` URLs.

    Settings the caller gave (``config_kwargs``) win over the defaults.
    """
    options = dict(storage_options or {})
    if isinstance(url, (str, os.PathLike)) and os.fspath(url).startswith(("s3://", "s3a://")):
        config = dict(S3_CONFIG_DEFAULTS)
        config.update(options.get("config_kwargs") or {})
        options["config_kwargs"] = config
    return options


def _endpoint(err: BaseException) -> str | None:
    kwargs = getattr(err, "kwargs", None) or {}
    return kwargs.get("endpoint_url")


def as_storage_error(err: BaseException, name: str, action: str = "read") -> XGPMError | None:
    """The xgpm error for a raw filesystem or object-store failure, or None if it is not one.

    Parameters
    ----------
    err : BaseException
        The raw exception (``OSError`` and its subclasses, botocore and aiohttp errors).
    name : str
        The path or URL the caller named.
    action : str
        What was being done (``"read"``, ``"write"``, ``"list"``), for the message.
    """
    if isinstance(err, XGPMError):
        return err
    module = type(err).__module__ or ""
    if module.startswith(("botocore", "aiobotocore", "aiohttp")):
        kind = type(err).__name__
        if "Credential" in kind:
            return StorageError(
                f"{name}: no credentials to {action} it ({kind}); pass "
                "storage_options={'anon': True} for a public bucket, or set AWS credentials "
                "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)"
            )
        endpoint = _endpoint(err) or "the S3 endpoint"
        return StorageError(
            f"{name}: cannot {action} it: {endpoint} does not answer ({kind}: {err}); check "
            "the URL, the network, and storage_options['client_kwargs']['endpoint_url'], then "
            "retry (connect time is bounded by storage_options['config_kwargs'])"
        )
    if not isinstance(err, OSError):
        return None
    code = err.errno
    if isinstance(err, FileNotFoundError) or code == errno.ENOENT:
        return NoSuchFileError(
            f"{name}: no such file or folder; check the path (or the bucket and key of a URL)"
        )
    if isinstance(err, IsADirectoryError) or code == errno.EISDIR:
        return StorageError(
            f"{name}: is a folder, not a file; pass one granule file, or open every granule in "
            f"it with xgpm.open_granules('{name.rstrip('/')}/*.HDF5')"
        )
    if isinstance(err, (NotADirectoryError, FileExistsError)) or code in (
        errno.ENOTDIR,
        errno.EEXIST,
    ):
        return StorageError(f"{name}: a part of this path is a file, not a folder")
    if isinstance(err, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return StorageError(
            f"{name}: permission denied to {action} it; check its permissions (or the S3 "
            "credentials and bucket policy), or choose another location"
        )
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
        return StorageError(
            f"{name}: no space left on the device while writing; free space or write "
            "elsewhere (a partly written file was removed)"
        )
    if code == errno.EROFS:
        return StorageError(f"{name}: the file system is read-only; write elsewhere")
    if isinstance(err, (ConnectionError, TimeoutError)):
        return StorageError(
            f"{name}: the storage does not answer ({err}); check the network and retry"
        )
    return None


@contextlib.contextmanager
def storage_errors(name: Any, action: str = "read") -> Iterator[None]:
    """Turn raw storage failures raised inside the block into :class:`StorageError`."""
    try:
        yield
    except XGPMError:
        raise
    except Exception as err:  # noqa: BLE001 - only storage failures are converted
        converted = as_storage_error(err, os.fspath(name) if name else "<file>", action)
        if converted is None:
            raise
        raise converted from err
