"""Satpy file handlers for 2A-GPROF swaths and IMERG half-hourly grids, built on xgpm's reader.

* :class:`GPMGPROFL2AFileHandler`: every 2-D ``(cross_track, along_track)`` field of a 2A-GPROF
  granule (``surfacePrecipitation``, ``probabilityOfPrecip``, ``convectivePrecipitation``,
  ``frozenPrecipitation``, ``qualityFlag`` ...) on the swath of scan mode S1
  (``longitude_S1``/``latitude_S1``, a ``SwathDefinition``), as ``(y, x)`` =
  ``(along_track, cross_track)``;
* :class:`GPMIMERGFileHandler`: every ``(time, lat, lon)`` field of an IMERG half-hour
  (``precipitation``, ``randomError``, ``precipitationQualityIndex`` ... with V07 names; V06
  files are renamed by xgpm's reader) on its 0.1 degree grid, as ``(y, x)`` = ``(lat, lon)``
  north row first, with an ``AreaDefinition`` (``EPSG:4326``, extent from the cell edges).

Values are xgpm's (:func:`xgpm.open_granule`): fill values NaN, lazy dask arrays.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidDataError
from xgpm.io.read import open_granule
from xgpm.satpy_reader.gpm_l1c import GPMDPRL2AFileHandler, _PPSFileHandler

__all__ = ["GPMGPROFL2AFileHandler", "GPMIMERGFileHandler", "imerg_area"]


class GPMGPROFL2AFileHandler(GPMDPRL2AFileHandler):
    """2-D fields of a 2A-GPROF granule (any radiometer, ``2A`` and ``2A-CLIM``), scan mode S1."""

    scan_mode_priority: tuple[str, ...] = ("S1",)


def imerg_area(lat: np.ndarray, lon: np.ndarray, area_id: str = "imerg") -> Any:
    """The pyresample ``AreaDefinition`` of an IMERG grid, rows north to south.

    Parameters
    ----------
    lat, lon : ndarray
        Cell-centre latitudes and longitudes (1-D, regularly spaced, either order).
    area_id : str
        Identifier of the area.

    Returns
    -------
    pyresample.geometry.AreaDefinition
        ``EPSG:4326`` (lon/lat degrees), ``len(lon)`` columns and ``len(lat)`` rows, extent
        from the cell edges (a full grid: -180, -90, 180, 90).

    Raises
    ------
    InvalidDataError
        Fewer than two cells along an axis, or irregular spacing.
    """
    from pyresample.geometry import AreaDefinition

    lat, lon = np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")
    steps = []
    for name, axis in (("lat", lat), ("lon", lon)):
        step = np.diff(axis)
        if axis.size < 2 or not np.allclose(np.abs(step), abs(step[0]), rtol=1e-3, atol=1e-4):
            raise InvalidDataError(
                f"IMERG grid: {name} must hold two or more regularly spaced cell centres to "
                f"define an area (got {axis.size} values)"
            )
        steps.append(abs(float(step[0])))
    dlat, dlon = steps
    extent = (
        float(lon.min()) - dlon / 2,
        float(lat.min()) - dlat / 2,
        float(lon.max()) + dlon / 2,
        float(lat.max()) + dlat / 2,
    )
    return AreaDefinition(
        area_id,
        "IMERG 0.1 degree grid (cell edges)",
        "longlat",
        "EPSG:4326",
        lon.size,
        lat.size,
        tuple(round(v, 6) for v in extent),
    )


class GPMIMERGFileHandler(_PPSFileHandler):
    """The fields of an IMERG half-hourly granule (Final, Late or Early run; V06 or V07)."""

    def __init__(
        self, filename: Any, filename_info: dict, filetype_info: dict, chunks: Any = "auto"
    ):
        """Open the granule with :func:`xgpm.open_granule` (lazily).

        ``chunks`` (satpy: ``Scene(..., reader_kwargs={"chunks": ...})``) is passed on.
        """
        super().__init__(filename, filename_info, filetype_info)
        ds = open_granule(self._source, chunks=chunks)
        if not isinstance(ds, xr.Dataset):  # pragma: no cover - IMERG has one group
            ds = next(iter(ds.children.values())).to_dataset()
        self._ds = ds
        self.product: str = str(ds.attrs.get("gpm_api_product", "IMERG"))
        self._north_up = bool(ds["lat"].size < 2 or ds["lat"].values[0] < ds["lat"].values[-1])

    @property
    def sensor_names(self) -> set[str]:
        """IMERG merges every constellation sensor: ``{"multiple"}``, as satpy's gpm_imerg."""
        return {"multiple"}

    def _dynamic_infos(self) -> Iterator[dict]:
        file_type = self.filetype_info["file_type"]
        for var, array in self._ds.data_vars.items():
            if set(array.dims) != {"time", "lat", "lon"}:
                continue
            yield {
                "name": str(var),
                "file_type": file_type,
                "resolution": 0.1,
                "units": str(array.attrs.get("units", "")),
            }

    def get_area_def(self, dsid) -> Any:
        """The grid's ``AreaDefinition`` (rows north to south, like the datasets)."""
        return imerg_area(self._ds["lat"].values, self._ds["lon"].values)

    def get_dataset(self, dataset_id, ds_info: dict) -> xr.DataArray:
        """The field as a lazy ``(y, x)`` DataArray, north row first, fill values NaN."""
        array = self._ds[ds_info["name"]]
        array = array.isel(time=0).transpose("lat", "lon")
        if self._north_up:
            array = array.isel(lat=slice(None, None, -1))
        out = array.drop_vars(list(array.coords)).rename({"lat": "y", "lon": "x"})
        attrs = dict(array.attrs)
        attrs.pop("grid_mapping", None)
        attrs.update(
            {
                "platform_name": "GPM",
                "sensor": "multiple",
                "start_time": self.start_time,
                "end_time": self.end_time,
                "gpm_api_product": self.product,
            }
        )
        attrs.update(ds_info)
        attrs.update(dataset_id.to_dict())
        out.attrs = attrs
        return out
