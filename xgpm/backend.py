"""The ``xgpm`` engine of xarray: ``xr.open_dataset(path, engine="xgpm")``.

xgpm registers :class:`XGPMBackendEntrypoint` under the ``xarray.backends`` entry point (as
h5netcdf, cfgrib and rioxarray register theirs), so that xarray's own functions open PPS
granules in xgpm's data model::

    xr.open_dataset(path, engine="xgpm")              # xgpm.open_granule(path)
    xr.open_dataset(path, engine="xgpm", group="S1")  # xgpm.open_granule(path, scan_mode="S1")
    xr.open_mfdataset(paths, engine="xgpm", combine="nested", concat_dim="along_track")
    xr.open_datatree(path, engine="xgpm")             # xgpm.open_granule(path, scan_mode="all")

The backend reads through :func:`xgpm.open_granule` with ``chunks=None``: xarray receives lazy,
decoded variables and applies its own ``chunks=`` (dask) and ``cache=`` rules, as for any
backend. ``group`` is xgpm's ``scan_mode``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import xarray as xr
from xarray.backends import BackendEntrypoint

__all__ = ["XGPMBackendEntrypoint"]

#: The first bytes of every HDF5 file (the superblock signature at offset 0).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _is_pps_name(name: str) -> bool:
    """Whether ``name`` (a path or URL) is a PPS, custom-subset or JAXA file name xgpm knows."""
    from xgpm.errors import XGPMError
    from xgpm.io.filenames import parse_filename

    try:
        parse_filename(name)
    except (XGPMError, ValueError):
        return False
    return True


def _has_hdf5_signature(path: str) -> bool:
    """Whether a local file starts with the HDF5 signature (False when it cannot be read)."""
    try:
        with open(path, "rb") as file:
            return file.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


def _has_file_header(path: str) -> bool:
    """Whether an HDF5 file has the PPS ``FileHeader`` root attribute (every GPM granule does)."""
    try:
        import h5py

        with h5py.File(path, "r") as h5:
            return "FileHeader" in h5.attrs
    except (OSError, ValueError):
        return False


def _drop(ds: xr.Dataset, drop_variables: str | Iterable[str] | None) -> xr.Dataset:
    if drop_variables is None:
        return ds
    names = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
    return ds.drop_vars(names, errors="ignore")


class XGPMBackendEntrypoint(BackendEntrypoint):
    """xarray backend for GPM PPS granules (HDF5), through :func:`xgpm.open_granule`.

    Every argument but ``drop_variables`` and ``group`` is :func:`xgpm.open_granule`'s.
    ``mask_and_scale=False`` (also set by ``decode_cf=False``) reads the stored values, as
    ``decode=False``.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.open_dataset(path, engine="xgpm", group="S1")  # doctest: +SKIP
    >>> ds = xr.open_mfdataset(paths, engine="xgpm", combine="nested",
    ...                        concat_dim="along_track")  # doctest: +SKIP
    """

    description: ClassVar[str] = (
        "GPM PPS granules (1A to IMERG, GPM and TRMM) in xgpm's (GPM-API's) data model"
    )
    url: ClassVar[str] = "https://xgpm.readthedocs.io/en/latest/io/"
    open_dataset_parameters: ClassVar[tuple[str, ...]] = (
        "filename_or_obj",
        "drop_variables",
        "group",
        "variables",
        "product",
        "storage_options",
        "merge_radius_km",
        "check_filename",
        "decode",
        "mask_and_scale",
    )
    supports_groups: ClassVar[bool] = True

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        group: str | None = None,
        variables: str | Sequence[str] | None = None,
        product: str | None = None,
        storage_options: dict | None = None,
        merge_radius_km: float | None = None,
        check_filename: bool = True,
        decode: bool = True,
        mask_and_scale: bool | None = None,
    ) -> xr.Dataset:
        """Open one granule (one scan mode, or the merged channels) as a Dataset.

        Parameters
        ----------
        filename_or_obj : str, path-like or binary file object
            A local path, an fsspec URL (``s3://...``) or an open binary file.
        drop_variables : str or iterable of str, optional
            Variables left out (names that are not in the granule are ignored, as in xarray).
        group : str, optional
            The scan mode (``"S1"``, ``"FS"``, ``"Grid"`` ...) or ``"merged"``; the product's
            default swath otherwise (as :func:`xgpm.open_granule`'s ``scan_mode``). ``"all"``
            is refused: use ``xr.open_datatree(path, engine="xgpm")``.
        variables, product, storage_options, merge_radius_km, check_filename, decode
            As in :func:`xgpm.open_granule`.
        mask_and_scale : bool, optional
            ``False`` reads stored values (``decode=False``); xarray sets it with
            ``decode_cf=False``.

        Returns
        -------
        xarray.Dataset
            What :func:`xgpm.open_granule` returns, its variables lazy (not dask: xarray's
            ``chunks=`` decides).

        Raises
        ------
        xgpm.errors.MissingVariableError
            ``group`` is not a scan mode of the granule.
        xgpm.errors.InvalidArgumentError
            ``group="all"``, or a malformed argument.
        """
        from xgpm.errors import InvalidArgumentError
        from xgpm.io.read import open_granule

        if group == "all":
            raise InvalidArgumentError(
                "group='all' gives a DataTree: use xr.open_datatree(path, engine='xgpm'), or "
                "name one scan mode (group='S1') or 'merged'"
            )
        ds = open_granule(
            _source(filename_or_obj),
            scan_mode=group,
            chunks=None,
            **_granule_kwargs(
                variables,
                product,
                storage_options,
                merge_radius_km,
                check_filename,
                decode and mask_and_scale is not False,
            ),
        )
        return _drop(ds, drop_variables)

    def open_datatree(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        variables: str | Sequence[str] | None = None,
        product: str | None = None,
        storage_options: dict | None = None,
        check_filename: bool = True,
        decode: bool = True,
        mask_and_scale: bool | None = None,
    ) -> xr.DataTree:
        """Open every scan mode of a granule as a DataTree (one node per scan mode).

        The arguments are those of :meth:`open_dataset`; ``drop_variables`` applies to every
        node.
        """
        from xgpm.io.read import open_granule

        out = open_granule(
            _source(filename_or_obj),
            scan_mode="all",
            chunks=None,
            **_granule_kwargs(
                variables,
                product,
                storage_options,
                None,
                check_filename,
                decode and mask_and_scale is not False,
            ),
        )
        if drop_variables is not None:
            out = out.map_over_datasets(lambda node: _drop(node, drop_variables))
        return out

    def open_groups_as_dict(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, xr.Dataset]:
        """Every scan mode of a granule as ``{"/": root attributes, "/S1": Dataset, ...}``."""
        tree = self.open_datatree(filename_or_obj, drop_variables=drop_variables, **kwargs)
        return {node.path: node.to_dataset() for node in tree.subtree}

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Whether ``filename_or_obj`` looks like a GPM granule.

        True for a PPS, custom-subset or JAXA file name (any path or URL), and for a local
        HDF5 file whose root has the PPS ``FileHeader`` attribute. Open file objects and
        other names are left to the other engines (pass ``engine="xgpm"`` to force it).
        """
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            return False
        name = os.fspath(filename_or_obj)
        if _is_pps_name(name):
            return True
        if "://" in name or not os.path.isfile(name):
            return False
        return _has_hdf5_signature(name) and _has_file_header(name)


def _source(filename_or_obj: Any) -> Any:
    """A path as a string (xarray may pass a :class:`pathlib.Path`); anything else as given."""
    if isinstance(filename_or_obj, os.PathLike):
        return os.fspath(filename_or_obj)
    return filename_or_obj


def _granule_kwargs(
    variables: str | Sequence[str] | None,
    product: str | None,
    storage_options: dict | None,
    merge_radius_km: float | None,
    check_filename: bool,
    decode: bool,
) -> dict[str, Any]:
    """:func:`xgpm.open_granule` keywords, leaving out those at their default (None)."""
    kwargs: dict[str, Any] = {
        "variables": variables,
        "product": product,
        "storage_options": storage_options,
        "check_filename": check_filename,
        "decode": decode,
    }
    if merge_radius_km is not None:
        kwargs["merge_radius_km"] = merge_radius_km
    return kwargs
