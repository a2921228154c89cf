"""CF-1.10 metadata on what xgpm returns and writes.

GPM-API's data model names things the way PPS does (``Tc``, ``precipRateNearSurface``); CF's
standard names let tools that know nothing of PPS (cf-xarray, satpy enhancements, GIS and
netCDF tools) find latitude, longitude, time, brightness temperatures and rain rates. The
attributes are added next to GPM-API's (``description`` ...), never instead of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = ["CONVENTIONS", "STANDARD_NAMES", "add_cf_attrs"]

CONVENTIONS = "CF-1.10"

#: data-model variable name -> (CF standard name, the units that standard name implies here)
STANDARD_NAMES: dict[str, tuple[str, str]] = {
    "Tc": ("toa_brightness_temperature", "K"),
    "Tb": ("toa_brightness_temperature", "K"),
    "precipRateNearSurface": ("lwe_precipitation_rate", "mm/h"),
    "precipRateESurface": ("lwe_precipitation_rate", "mm/h"),
    "precipRate": ("lwe_precipitation_rate", "mm/h"),
    "surfacePrecipitation": ("lwe_precipitation_rate", "mm/h"),
    "precipitation": ("lwe_precipitation_rate", "mm/h"),
    "MWprecipitation": ("lwe_precipitation_rate", "mm/h"),
    "IRprecipitation": ("lwe_precipitation_rate", "mm/h"),
    "precipitationUncal": ("lwe_precipitation_rate", "mm/h"),
    "nearSurfPrecipTotRate": ("lwe_precipitation_rate", "mm/h"),
    "estimSurfPrecipTotRate": ("lwe_precipitation_rate", "mm/h"),
    "surface_precip": ("lwe_precipitation_rate", "mm/h"),
    "RATE": ("lwe_precipitation_rate", "mm/h"),
    "ACRR": ("lwe_thickness_of_precipitation_amount", "mm"),
    "DBZH": ("equivalent_reflectivity_factor", "dBZ"),
}
#: spellings of the units above that PPS and ODIM files use
_SAME_UNITS = {
    "mm/h": {"mm/h", "mm/hr", "mm h-1", "mm hr-1", "mm/hour"},
    "K": {"K", "kelvin", "Kelvin"},
    "mm": {"mm"},
    "dBZ": {"dBZ", "dbz"},
}
#: the CF grid mapping of GPM-API's ``crsWGS84`` coordinate (geographic WGS 84)
_WGS84 = {
    "grid_mapping_name": "latitude_longitude",
    "semi_major_axis": 6378137.0,
    "inverse_flattening": 298.257223563,
    "longitude_of_prime_meridian": 0.0,
    "crs_wkt": 'GEOGCRS["WGS 84",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",'
    '6378137,298.257223563]],CS[ellipsoidal,2],AXIS["latitude",north],AXIS["longitude",east],'
    'ANGLEUNIT["degree",0.0174532925199433],ID["EPSG",4326]]',
}
_COORDINATES = {
    "lat": {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"},
    "lon": {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"},
}


def add_cf_attrs(obj: xr.Dataset, *, in_place: bool = False) -> xr.Dataset:
    """Add CF-1.10 attributes to a Dataset in GPM-API's data model.

    ``lat``/``lon`` get ``standard_name`` and ``degrees_north``/``degrees_east``; ``time``
    its standard name (datetime64 coordinates lose a stale ``units`` attribute, which xarray
    would refuse to encode); brightness temperatures and rain variables whose units fit get
    their standard names; the Dataset gets ``Conventions``.

    Parameters
    ----------
    obj : xarray.Dataset
        Any Dataset; variables xgpm does not know are left as they are.
    in_place : bool
        Change ``obj`` itself (readers building a fresh Dataset), rather than a shallow copy.

    Returns
    -------
    xarray.Dataset
    """
    ds = obj if in_place else obj.copy()
    for name, attrs in _COORDINATES.items():
        if name in ds.variables:
            ds[name].attrs.update(attrs)
    if "time" in ds.variables:
        time = ds["time"]
        time.attrs.update(standard_name="time", long_name="time")
        if np.issubdtype(time.dtype, np.datetime64):
            stale = time.attrs.pop("units", None)
            if stale is not None:  # the stored epoch; kept for writers that need it
                time.encoding.setdefault("xgpm_stored_units", stale)
    for name, var in ds.variables.items():
        entry = STANDARD_NAMES.get(str(name))
        if entry is None or "standard_name" in var.attrs:
            continue
        standard_name, units = entry
        if str(var.attrs.get("units", units)).strip() in _SAME_UNITS[units]:
            var.attrs["standard_name"] = standard_name
            var.attrs.setdefault("units", units)
    for name in ("lat", "lon", "time"):  # IMERG's cell bounds: CF links them, not guesses
        if name in ds.variables and f"{name}_bnds" in ds.variables:
            ds[name].attrs["bounds"] = f"{name}_bnds"
    if "crsWGS84" in ds.variables and "grid_mapping_name" not in ds["crsWGS84"].attrs:
        ds["crsWGS84"].attrs.update(_WGS84)
    ds.attrs["Conventions"] = _conventions(ds.attrs.get("Conventions"))
    return ds


def _conventions(existing: Any) -> str:
    if not existing:
        return CONVENTIONS
    text = str(existing)
    return text if "CF-" in text else f"{CONVENTIONS} {text}"
