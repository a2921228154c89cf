"""The DPR against a ground radar: geometric volume matching, and near-surface rain.

:func:`match_volumes` follows the geometric matching of GPM ground validation (Schwaller and
Morris 2011, JTECH 28, 301-319; as adapted by Warren et al. 2018, JTECH 35, 323-346): for each
DPR ray and each ground-radar (GR) sweep, the DPR bins that lie inside the GR beam's vertical
extent at that range are averaged, and the GR gates of that sweep inside the DPR footprint are
averaged, both in linear Z. No interpolation. The DPR's Ku-band reflectivity is converted to
S band with Cao et al. (2013) (rain, melting layer, dry snow), the melting layer is placed from
the DPR's bright band, and every threshold is stated in the output's attrs.

:func:`match_surface_rain` compares the DPR's near-surface rain with the GR's lowest sweep
through a stated Z-R relation, on the DPR footprints. :func:`score_matches` scores either with
:mod:`xgpm.verify`'s functions along ``sample``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError, NoOverlapError
from xgpm.verify._gr_geometry import (
    DPR_BEAMWIDTH_DEG,
    DPR_BIN_SIZE_M,
    Rays,
    Site,
    Sweep,
    as_dpr,
    as_volume,
    dpr_rays,
    need,
    place_melting_layer,
    read_sweeps,
    site_of,
)

__all__ = [
    "CAO2013_KU_TO_S",
    "ku_to_s",
    "match_surface_rain",
    "match_volumes",
    "score_matches",
]


#: Cao et al. (2013, JGR 118, 1814-1825) polynomials ``Z_S - Z_Ku = sum_k a_k Z_Ku^k`` (dBZ):
#: rows a_0..a_4, columns rain, the melting layer from its bottom (col 1) to its top (col 9),
#: dry snow (col 10). The hail columns of the paper are not used.
# fmt: off
CAO2013_KU_TO_S = np.array([
    [4.78e-2, 4.12e-2, 8.12e-2, 1.59e-1, 2.87e-1, 4.93e-1, 8.16e-1, 1.31, 2.01, 2.82, 1.74e-1],
    [1.23e-2, 3.66e-3, 2.00e-3, 9.42e-4, 5.29e-4, 5.96e-4, 1.22e-3, 2.11e-3, 3.34e-3, 5.33e-3,
     1.35e-2],
    [-3.50e-4, 1.17e-3, 1.04e-3, 8.16e-4, 6.59e-4, 5.85e-4, 6.13e-4, 7.01e-4, 8.24e-4, 1.01e-3,
     -1.38e-3],
    [-3.30e-5, -8.08e-5, -6.44e-5, -4.97e-5, -4.15e-5, -3.89e-5, -4.15e-5, -4.58e-5, -5.06e-5,
     -5.78e-5, 4.74e-5],
    [4.27e-7, 9.25e-7, 7.41e-7, 6.13e-7, 5.80e-7, 6.16e-7, 7.12e-7, 8.22e-7, 9.39e-7, 1.10e-6,
     0.0],
])
# fmt: on


def ku_to_s(dbz_ku: Any, melting_ratio: Any = None) -> np.ndarray:
    """S-band reflectivity from Ku-band reflectivity (Cao et al. 2013).

    Parameters
    ----------
    dbz_ku : array-like
        Ku-band reflectivity (dBZ).
    melting_ratio : array-like, optional
        Position in the melting layer, broadcast to ``dbz_ku``: ``<= 0`` below it (rain),
        ``>= 1`` above it (dry snow), in between the melting-layer polynomial of
        ``round(10 * ratio)``; NaN or ``None``: rain.

    Returns
    -------
    numpy.ndarray
        ``dbz_ku + sum_k a_k dbz_ku**k`` (dBZ), NaN where ``dbz_ku`` is NaN.

    Examples
    --------
    >>> float(ku_to_s(40.0).round(2))  # rain: Ku reads about 1 dB above S at 40 dBZ
    38.96
    >>> float(ku_to_s(25.0, melting_ratio=1.5).round(2))  # dry snow: S above Ku
    25.39
    """
    z = np.asarray(dbz_ku, dtype="float64")
    if melting_ratio is None:
        column = np.zeros(z.shape, dtype=int)
    else:
        ratio = np.broadcast_to(np.asarray(melting_ratio, dtype="float64"), z.shape)
        column = np.where(np.isnan(ratio), 0, np.clip(np.rint(ratio * 10.0), 0, 10)).astype(int)
    coeff = CAO2013_KU_TO_S[:, column]
    delta = sum(coeff[k] * z**k for k in range(coeff.shape[0]))
    return z + delta


def _check_times(rays: Rays, sweeps: list[Sweep], max_dt: Any) -> pd.Timedelta:
    limit = pd.Timedelta(max_dt)
    t_dpr = pd.Timestamp(np.median(rays.time.astype("datetime64[ns]").astype("int64")))
    t0 = pd.Timestamp(min(s.time.min() for s in sweeps))
    t1 = pd.Timestamp(max(s.time.max() for s in sweeps))
    gap = max(t0 - t_dpr, t_dpr - t1, pd.Timedelta(0))
    if gap > limit:
        raise NoOverlapError(
            f"dpr and gr are {gap} apart (DPR over the radar at {t_dpr}, GR volume {t0} to {t1}), "
            f"more than max_time_difference={limit}: not the same rain"
        )
    return gap


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (np.isfinite(value) and value >= 0):
            raise InvalidArgumentError(f"{name} must be a finite number >= 0, got {value!r}")


def _gates_in_footprints(
    sweep: Sweep, x: np.ndarray, y: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(sample index, gate index) of every GR gate within ``radius`` of each point."""
    found = sweep.tree().query_ball_point(np.column_stack([x, y]), r=radius)
    lengths = np.fromiter((len(f) for f in found), int, count=len(found))
    gates = (
        np.concatenate([np.asarray(f, int) for f in found]) if lengths.sum() else np.zeros(0, int)
    )
    return np.repeat(np.arange(len(found)), lengths), gates


def _mean_time(times: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    ns = times.astype("datetime64[ns]").astype("int64").astype("float64")
    counts = np.bincount(owner, minlength=n)
    mean = np.bincount(owner, ns, minlength=n) / np.maximum(counts, 1)
    out = mean.astype("int64").astype("datetime64[ns]")
    out[counts == 0] = np.datetime64("NaT")
    return out


def _db(linear: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10.0 * np.log10(linear)


# -- volume matching -----------------------------------------------------------------------------


def match_volumes(
    dpr: xr.Dataset | str | os.PathLike,
    gr: xr.DataTree | str | os.PathLike,
    *,
    dpr_variable: str = "zFactorCorrected",
    gr_variable: str = "DBZH",
    gr_beamwidth: float = 1.0,
    dpr_min_dbz: float = 18.0,
    gr_min_dbz: float = 15.0,
    min_valid_fraction: float = 0.7,
    min_range: float = 15e3,
    max_range: float | None = None,
    bb_half_depth: float = 750.0,
    melting_layer: tuple[float, float] | None = None,
    max_time_difference: str | pd.Timedelta = "15min",
) -> xr.Dataset:
    """Match the DPR's reflectivity with a ground radar's where their beams intersect.

    For each DPR ray and each GR sweep (Schwaller and Morris 2011): the DPR bins whose centre
    lies inside the GR beam (elevation within ``gr_beamwidth / 2`` of the sweep's fixed angle,
    seen from the GR with the 4/3 effective-earth model) and at or above the DPR's clutter-free
    bottom are averaged in linear Z; the GR gates of that sweep whose centre lies within the
    DPR footprint radius of the sample's centre are averaged in linear Z. Bin positions include
    the parallax of the slanted DPR ray. Only values at or above ``dpr_min_dbz``/``gr_min_dbz``
    are averaged, and a sample is kept where at least ``min_valid_fraction`` of the DPR bins
    and of the GR gates reach them. Ku is converted to S band per bin before averaging
    (:func:`ku_to_s`, Cao et al. 2013) using the bin's position in the melting layer.

    Parameters
    ----------
    dpr : xarray.Dataset or path
        A 2A-Ku or 2A-DPR swath from :func:`xgpm.open_granule` (NS, MS or FS), with
        ``zFactorCorrected``, ``localZenithAngle``, ``binClutterFreeBottom`` and ``height``
        (V06+) or ``ellipsoidBinOffset`` (V05: heights from 176 bins of 125 m along the ray).
        ``scLon``/``scLat`` give the parallax, ``heightBB``/``flagBB`` the melting layer.
    gr : xarray.DataTree or path
        A polar volume from :func:`xgpm.io.polar.open_polar_volume` (xradar), S band.
    dpr_variable, gr_variable : str
        The reflectivities (dBZ) compared.
    gr_beamwidth : float
        GR half-power beam width (degrees); ODIM files rarely state it.
    dpr_min_dbz, gr_min_dbz : float
        Lowest reflectivity averaged (DPR: Ku, before conversion). NaN (no echo) counts as
        below.
    min_valid_fraction : float
        Smallest fraction of DPR bins and of GR gates at or above their threshold, in (0, 1].
    min_range, max_range : float
        GR slant-range limits of the DPR bins (m); ``max_range`` defaults to each sweep's last
        gate less the footprint radius.
    bb_half_depth : float
        Half depth (m) of the melting layer centred on the median DPR bright-band height of the
        rays near the GR (without a detected bright band: the layer of ``2 * bb_half_depth``
        below the median freezing level ``heightZeroDeg``).
    melting_layer : (float, float), optional
        Melting layer ``(bottom, top)`` in m above sea level, instead of the DPR's.
    max_time_difference : str or pandas.Timedelta
        Largest gap allowed between the DPR's time over the GR and the GR volume's span.

    Returns
    -------
    xarray.Dataset
        Dims ``sample`` (one per DPR ray x GR sweep kept): ``dpr_dbz_ku``, ``dpr_dbz_s``,
        ``gr_dbz`` (dBZ); ``height`` (m, mean of the DPR bins), ``height_bottom``/``height_top``
        (vertical extent), ``gr_beam_height`` (mean altitude of the GR gates); ``sweep``,
        ``elevation`` (deg), ``gr_range`` (slant, m), ``ground_range`` (m),
        ``footprint_radius`` (m); ``dpr_n_bins``, ``dpr_valid_fraction``, ``gr_n_gates``,
        ``gr_valid_fraction``; ``phase`` (0 rain, 1 melting layer, 2 snow, -1 unknown) from the
        sample's extent; ``precip_type`` (DPR typePrecip major class); ``along_track``,
        ``cross_track``, ``dpr_time``, ``gr_time``, ``time_difference`` (s); coords ``lon``,
        ``lat``. The attrs state every choice. Empty (0 samples) when nothing passes.

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        ``gr`` without ``gr_variable`` (e.g. no ``DBZH``) or site, ``dpr`` without a needed
        variable, a DataTree ``dpr``, bad thresholds.
    xgpm.errors.NoOverlapError
        No DPR footprint within the GR's range, or more than ``max_time_difference`` apart.

    Examples
    --------
    >>> import xgpm
    >>> from xgpm.io.polar import open_polar_volume
    >>> from xgpm.verify.ground_radar import match_volumes, score_matches
    >>> dpr = xgpm.open_granule("2A-CS-...V05A.HDF5")  # doctest: +SKIP
    >>> m = match_volumes(dpr, open_polar_volume("IDR66_20141206_094829.vol.h5"))  # doctest: +SKIP
    >>> score_matches(m.where(m.phase != 1, drop=True))  # doctest: +SKIP
    """
    _check_positive(gr_beamwidth=gr_beamwidth, min_range=min_range, bb_half_depth=bb_half_depth)
    if not 0 < min_valid_fraction <= 1:
        raise InvalidArgumentError(
            f"min_valid_fraction must be in (0, 1], got {min_valid_fraction}"
        )
    dpr = as_dpr(dpr)
    volume = as_volume(gr)
    site = site_of(volume)
    sweeps = read_sweeps(volume, site, gr_variable)
    reach = max(s.max_range for s in sweeps) if max_range is None else float(max_range)
    need(dpr, (dpr_variable,), "it is the DPR reflectivity matched")
    rays, prof, bb = dpr_rays(dpr, site, reach, (dpr_variable,))
    gap = _check_times(rays, sweeps, max_time_difference)
    ml_bottom, ml_top, ml_how = place_melting_layer(bb, bb_half_depth, melting_layer)

    z_ku = prof[dpr_variable]
    height = rays.height
    ratio = (height - ml_bottom) / (ml_top - ml_bottom) if np.isfinite(ml_bottom) else None
    z_s = ku_to_s(z_ku, ratio)
    bx, by = rays.xy(height)
    elev, slant = site.antenna(np.hypot(bx, by), height)
    above_clutter = rays.bin_number[None, :] <= rays.clutter_free[:, None]
    valid_ku = np.isfinite(z_ku) & (z_ku >= dpr_min_dbz)
    dz = DPR_BIN_SIZE_M * np.cos(np.radians(rays.zenith))
    radius_bins = rays.footprint_radius(height)

    parts: list[dict[str, np.ndarray]] = []
    for sweep in sweeps:
        limit = (sweep.max_range - radius_bins) if max_range is None else float(max_range)
        inside = (
            above_clutter
            & (np.abs(elev - sweep.elevation) <= gr_beamwidth / 2.0)
            & (slant >= min_range)
            & (slant <= limit)
        )
        n_bins = inside.sum(axis=1)
        use = inside & valid_ku
        n_valid = use.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = n_valid / n_bins
        keep = np.nonzero((n_bins > 0) & (n_valid > 0) & (frac >= min_valid_fraction))[0]
        if keep.size == 0:
            continue
        ins, us = inside[keep], use[keep]
        nb = n_bins[keep]

        def mean_in(a: np.ndarray, mask: np.ndarray, n: np.ndarray) -> np.ndarray:
            return np.where(mask, a, 0.0).sum(axis=1) / n

        h = mean_in(np.nan_to_num(height[keep]), ins, nb)
        sx, sy = mean_in(bx[keep], ins, nb), mean_in(by[keep], ins, nb)
        h_lo = np.where(ins, height[keep], np.inf).min(axis=1) - dz[keep] / 2
        h_hi = np.where(ins, height[keep], -np.inf).max(axis=1) + dz[keep] / 2
        lin_ku = mean_in(10 ** (np.nan_to_num(z_ku[keep]) / 10), us, n_valid[keep])
        lin_s = mean_in(10 ** (np.nan_to_num(z_s[keep]) / 10), us, n_valid[keep])
        radius = rays.footprint_radius(h, keep)
        owner, gates = _gates_in_footprints(sweep, sx, sy, radius)
        n_gates = np.bincount(owner, minlength=keep.size)
        gdbz = sweep.dbz[gates]
        good = np.isfinite(gdbz) & (gdbz >= gr_min_dbz)
        g_valid = np.bincount(owner, good.astype(float), minlength=keep.size)
        g_lin = np.bincount(
            owner, np.where(good, 10 ** (np.nan_to_num(gdbz) / 10), 0.0), minlength=keep.size
        )
        g_z = np.bincount(owner, sweep.z[gates], minlength=keep.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            g_frac = g_valid / n_gates
            ok = (n_gates > 0) & (g_valid > 0) & (g_frac >= min_valid_fraction)
            gr_lin = g_lin / g_valid
            gr_height = g_z / n_gates
        gr_time = _mean_time(sweep.time[gates], owner, keep.size)
        sel = keep[ok]
        mean_slant = mean_in(slant[keep], ins, nb)
        phase = np.full(keep.size, -1, "int8")
        if np.isfinite(ml_bottom):
            phase = np.where(h_hi < ml_bottom, 0, np.where(h_lo > ml_top, 2, 1)).astype("int8")
        parts.append(
            {
                "dpr_dbz_ku": _db(lin_ku)[ok],
                "dpr_dbz_s": _db(lin_s)[ok],
                "gr_dbz": _db(gr_lin)[ok],
                "height": h[ok],
                "height_bottom": h_lo[ok],
                "height_top": h_hi[ok],
                "gr_beam_height": gr_height[ok],
                "sweep": np.full(ok.sum(), sweep.index, "int16"),
                "elevation": np.full(ok.sum(), sweep.elevation),
                "gr_range": mean_slant[ok],
                "ground_range": np.hypot(sx, sy)[ok],
                "footprint_radius": radius[ok],
                "dpr_n_bins": nb[ok].astype("int32"),
                "dpr_valid_fraction": frac[keep][ok],
                "gr_n_gates": n_gates[ok].astype("int32"),
                "gr_valid_fraction": g_frac[ok],
                "phase": phase[ok],
                "precip_type": rays.precip_type[sel],
                "along_track": rays.along[sel].astype("int32"),
                "cross_track": rays.cross[sel].astype("int32"),
                "dpr_time": rays.time[sel].astype("datetime64[ns]"),
                "gr_time": gr_time[ok],
                "x": sx[ok],
                "y": sy[ok],
            }
        )
    attrs = {
        "title": "DPR vs ground radar, geometric volume matching",
        "method": "Schwaller and Morris (2011, JTECH 28, 301-319), as adapted by Warren et al. "
        "(2018, JTECH 35, 323-346): one sample per DPR ray x GR sweep; DPR bins inside the GR "
        "beam averaged along the ray, GR gates inside the DPR footprint averaged, in linear Z",
        "dpr_variable": dpr_variable,
        "gr_variable": gr_variable,
        "ku_to_s": "Cao et al. (2013, JGR 118, 1814-1825) polynomials, per DPR bin before "
        "averaging: rain below the melting layer, dry snow above, the melting-layer columns by "
        "position in it (hail columns not used)",
        "melting_layer": ml_how,
        "melting_layer_bottom_m": ml_bottom,
        "melting_layer_top_m": ml_top,
        "phase": "0 rain (sample top below the melting layer), 1 melting layer (overlaps it), "
        "2 snow (sample bottom above it), -1 unknown; scores usually leave out phase 1",
        "dpr_min_dbz": float(dpr_min_dbz),
        "gr_min_dbz": float(gr_min_dbz),
        "min_valid_fraction": float(min_valid_fraction),
        "gr_beamwidth_deg": float(gr_beamwidth),
        "dpr_beamwidth_deg": DPR_BEAMWIDTH_DEG,
        "geometry": "GR: xradar georeference, 4/3 effective earth radius (WGS84 radius at the "
        "site); DPR bin heights above the ellipsoid from "
        + (
            "'height'"
            if "height" in dpr.variables
            else "ellipsoidBinOffset + (176 - bin) x 125 m along the ray x cos(localZenithAngle)"
        )
        + (
            "; bins shifted towards the satellite by height x tan(localZenithAngle) (parallax)"
            if rays.parallax
            else "; no parallax correction (no scLon/scLat)"
        )
        + "; footprint radius 0.5 (1 + cos a) r tan(0.71 deg / 2); heights above the ellipsoid "
        "compared with GR altitudes above sea level (geoid difference ignored)",
        "dpr_bins": "at or above binClutterFreeBottom; elevation from the GR within half the "
        "GR beam width of the sweep's fixed angle",
        "gr_range_limits_m": f"{min_range:g} to "
        + (
            "the sweep's last gate less the footprint radius"
            if max_range is None
            else f"{float(max_range):g}"
        ),
        "time_gap_dpr_to_gr_volume_s": gap.total_seconds(),
        "gr_site": f"{site.lon:.4f}E {site.lat:.4f}N {site.alt:.0f} m",
        "gr_source": str(volume.attrs.get("odim_source", volume.attrs.get("xgpm_source", ""))),
        "dpr_granule": str(dpr.attrs.get("FileName", "")),
    }
    return _to_dataset(parts, site, attrs, "dBZ")


def _to_dataset(parts: list[dict[str, np.ndarray]], site: Site, attrs: dict, units: str) -> Any:
    if not parts:  # nothing matched: the same variables, 0 samples
        names = (
            "dpr_dbz_ku",
            "dpr_dbz_s",
            "gr_dbz",
            "height",
            "height_bottom",
            "height_top",
            "gr_beam_height",
            "sweep",
            "elevation",
            "gr_range",
            "ground_range",
            "footprint_radius",
            "dpr_n_bins",
            "dpr_valid_fraction",
            "gr_n_gates",
            "gr_valid_fraction",
            "phase",
            "precip_type",
            "along_track",
            "cross_track",
        )
        parts = [{k: np.zeros(0) for k in (*names, "x", "y")}]
        parts[0].update(
            dpr_time=np.zeros(0, "datetime64[ns]"), gr_time=np.zeros(0, "datetime64[ns]")
        )
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n = len(data["x"])
    lon, lat = site.to_lonlat(data.pop("x"), data.pop("y")) if n else (np.zeros(0), np.zeros(0))
    ds = xr.Dataset(
        {k: ("sample", v) for k, v in data.items()},
        coords={"sample": np.arange(n), "lon": ("sample", lon), "lat": ("sample", lat)},
        attrs=attrs,
    )
    if "dpr_time" in ds and "gr_time" in ds:
        dt = (ds["gr_time"] - ds["dpr_time"]).values.astype("timedelta64[ms]").astype(float)
        ds["time_difference"] = ("sample", dt / 1e3)
    meta = {
        "dpr_dbz_ku": (units, "DPR Ku reflectivity averaged over the matched bins"),
        "dpr_dbz_s": (units, "DPR reflectivity converted to S band (Cao et al. 2013), averaged"),
        "gr_dbz": (units, "ground-radar reflectivity averaged over the DPR footprint"),
        "height": ("m", "mean height of the matched DPR bins"),
        "height_bottom": ("m", "bottom of the matched volume"),
        "height_top": ("m", "top of the matched volume"),
        "gr_beam_height": ("m", "mean altitude of the matched GR gates"),
        "elevation": ("degree", "GR sweep fixed angle"),
        "gr_range": ("m", "slant range from the GR"),
        "ground_range": ("m", "distance from the GR along the ground"),
        "footprint_radius": ("m", "DPR footprint radius used to select GR gates"),
        "time_difference": ("s", "GR time minus DPR time"),
        "dpr_rain": ("mm/h", "DPR near-surface rain rate"),
        "gr_rain": ("mm/h", "GR rain rate from the Z-R relation, averaged over the footprint"),
        "near_surface_height": ("m", "height of the DPR clutter-free bottom bin"),
    }
    for name, (unit, long_name) in meta.items():
        if name in ds:
            ds[name].attrs.update(units=unit, long_name=long_name)
    ds["lon"].attrs.update(units="degrees_east")
    ds["lat"].attrs.update(units="degrees_north")
    if "phase" in ds:
        ds["phase"].attrs.update(
            flag_values=[-1, 0, 1, 2], flag_meanings="unknown rain melting_layer snow"
        )
    if "precip_type" in ds:
        ds["precip_type"].attrs.update(
            flag_values=[0, 1, 2, 3], flag_meanings="none stratiform convective other"
        )
    return ds


# -- near-surface rain ---------------------------------------------------------------------------


def match_surface_rain(
    dpr: xr.Dataset | str | os.PathLike,
    gr: xr.DataTree | str | os.PathLike,
    zr: tuple[float, float] = (200.0, 1.6),
    *,
    sweep: int = 0,
    dpr_variable: str = "precipRateNearSurface",
    gr_variable: str = "DBZH",
    gr_min_dbz: float = 0.0,
    max_range: float | None = None,
    max_time_difference: str | pd.Timedelta = "15min",
) -> xr.Dataset:
    """The DPR's near-surface rain against a GR sweep's rain through ``Z = a R^b``.

    On every DPR footprint within the sweep's range (centred where the ray crosses the DPR's
    clutter-free bottom, parallax included): the GR gates of the sweep within the footprint
    radius, each turned into rain with ``Z = a R^b`` (gates below ``gr_min_dbz`` or without
    echo: 0 mm/h), averaged. Footprints dry on both sides are kept (for the categorical
    scores).

    Parameters
    ----------
    dpr : xarray.Dataset or path
        A 2A-Ku/2A-DPR swath (see :func:`match_volumes`) with ``dpr_variable``.
    gr : xarray.DataTree or path
        The polar volume.
    zr : (float, float)
        ``(a, b)`` of ``Z = a R^b`` (Z in mm^6 m^-3, R in mm/h); Marshall-Palmer (200, 1.6) by
        default.
    sweep : int
        The sweep used (0: the lowest).
    dpr_variable, gr_variable : str
        DPR rain (mm/h) and GR reflectivity (dBZ).
    gr_min_dbz : float
        GR gates below it count as 0 mm/h.
    max_range : float, optional
        Largest ground distance from the GR (m); the sweep's last gate by default. The GR beam
        rises with range (about 1.5 km at 100 km for 0.5 deg): ``gr_beam_height`` says how high.
    max_time_difference : str or pandas.Timedelta
        See :func:`match_volumes`.

    Returns
    -------
    xarray.Dataset
        Dims ``sample``: ``dpr_rain``, ``gr_rain`` (mm/h), ``gr_dbz`` (dBZ, linear mean over the
        gates), ``gr_n_gates``, ``gr_beam_height``, ``near_surface_height`` (m), ``ground_range``
        (m), ``footprint_radius`` (m), ``along_track``, ``cross_track``, ``dpr_time``,
        ``gr_time``, ``time_difference`` (s); coords ``lon``, ``lat``; attrs with the choices.

    Raises
    ------
    xgpm.errors.InvalidArgumentError, xgpm.errors.NoOverlapError
        As :func:`match_volumes`; also a bad ``zr`` or ``sweep``.
    """
    try:
        a, b = (float(v) for v in zr)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"zr must be (a, b) of Z = a R^b, got {zr!r}") from err
    if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        raise InvalidArgumentError(f"zr needs a > 0 and b > 0, got {zr!r}")
    dpr = as_dpr(dpr)
    volume = as_volume(gr)
    site = site_of(volume)
    from xgpm.io.polar import polar_sweep_names

    n_sweeps = len(polar_sweep_names(volume))
    if not isinstance(sweep, int | np.integer) or not 0 <= sweep < n_sweeps:
        raise InvalidArgumentError(f"sweep must be an index in 0..{n_sweeps - 1}, got {sweep!r}")
    (swp,) = read_sweeps(volume, site, gr_variable, which={int(sweep)})
    reach = swp.max_range if max_range is None else float(max_range)
    need(dpr, (dpr_variable,), "it is the DPR rain compared")
    rays, _, _ = dpr_rays(dpr, site, reach, ())
    _check_times(rays, [swp], max_time_difference)
    rain = np.asarray(dpr[dpr_variable].transpose("cross_track", "along_track").values, "float64")
    dpr_rain = rain[rays.cross, rays.along]
    # height of the clutter-free bottom bin, and where the ray crosses it
    idx = np.searchsorted(rays.bin_number, rays.clutter_free)
    idx = np.clip(np.where(np.isfinite(rays.clutter_free), idx, 0), 0, rays.height.shape[1] - 1)
    h_ns = rays.height[np.arange(idx.size), idx]
    sx, sy = rays.xy(h_ns)
    ground = np.hypot(sx, sy)
    radius = rays.footprint_radius(h_ns)
    inside = (ground + radius <= reach) & np.isfinite(dpr_rain) & np.isfinite(rays.clutter_free)
    keep = np.nonzero(inside)[0]
    owner, gates = _gates_in_footprints(swp, sx[keep], sy[keep], radius[keep])
    n = keep.size
    n_gates = np.bincount(owner, minlength=n)
    gdbz = swp.dbz[gates]
    echo = np.isfinite(gdbz) & (gdbz >= gr_min_dbz)
    z_lin = np.where(echo, 10 ** (np.nan_to_num(gdbz) / 10), 0.0)
    gate_rain = (z_lin / a) ** (1.0 / b)
    with np.errstate(invalid="ignore", divide="ignore"):
        gr_rain = np.bincount(owner, gate_rain, minlength=n) / n_gates
        n_echo = np.bincount(owner, echo.astype(float), minlength=n)
        gr_dbz = _db(np.bincount(owner, z_lin, minlength=n) / n_echo)
        beam = np.bincount(owner, swp.z[gates], minlength=n) / n_gates
    ok = n_gates > 0
    sel = keep[ok]
    part = {
        "dpr_rain": dpr_rain[sel],
        "gr_rain": gr_rain[ok],
        "gr_dbz": gr_dbz[ok],
        "gr_n_gates": n_gates[ok].astype("int32"),
        "gr_beam_height": beam[ok],
        "near_surface_height": h_ns[sel],
        "ground_range": ground[sel],
        "footprint_radius": radius[sel],
        "along_track": rays.along[sel].astype("int32"),
        "cross_track": rays.cross[sel].astype("int32"),
        "dpr_time": rays.time[sel].astype("datetime64[ns]"),
        "gr_time": _mean_time(swp.time[gates], owner, n)[ok],
        "x": sx[sel],
        "y": sy[sel],
    }
    relation = f"Z = {a:g} R^{b:g}"
    attrs = {
        "title": "DPR near-surface rain vs ground-radar rain on the DPR footprints",
        "dpr_variable": dpr_variable,
        "gr_variable": gr_variable,
        "zr_relation": relation + (" (Marshall-Palmer)" if (a, b) == (200.0, 1.6) else ""),
        "zr_a": a,
        "zr_b": b,
        "gr_sweep": int(sweep),
        "gr_elevation_deg": swp.elevation,
        "gr_min_dbz": float(gr_min_dbz),
        "gr_averaging": "rain per gate from the Z-R relation, then the mean over the gates "
        "within the DPR footprint radius; gates below gr_min_dbz or without echo are 0 mm/h",
        "footprint": "centred where the DPR ray crosses its clutter-free bottom (parallax "
        "included); radius 0.5 (1 + cos a) r tan(0.71 deg / 2)",
        "gr_site": f"{site.lon:.4f}E {site.lat:.4f}N {site.alt:.0f} m",
        "dpr_granule": str(dpr.attrs.get("FileName", "")),
    }
    out = _to_dataset([part], site, attrs, "dBZ")
    out["gr_dbz"].attrs.update(units="dBZ", long_name="GR reflectivity (linear mean of echoes)")
    return out


# -- scores --------------------------------------------------------------------------------------


def score_matches(
    samples: xr.Dataset,
    forecast: str | None = None,
    reference: str | None = None,
    *,
    thresholds: Any = None,
) -> xr.Dataset:
    """Bias, RMSE, correlation (and CSI at ``thresholds``) of matched samples.

    Thin use of :mod:`xgpm.verify`'s functions along ``sample``.

    Parameters
    ----------
    samples : xarray.Dataset
        From :func:`match_volumes` or :func:`match_surface_rain`.
    forecast, reference : str, optional
        Variables compared; default ``dpr_dbz_s`` vs ``gr_dbz`` (volumes) or ``dpr_rain`` vs
        ``gr_rain`` (surface rain).
    thresholds : float or sequence of float, optional
        Event thresholds (event = value >= threshold) for POD, FAR and CSI.

    Returns
    -------
    xarray.Dataset
        ``n``, ``bias`` (mean forecast - reference), ``rmse``, ``pearson_r``, ``mean_forecast``,
        ``mean_reference``; ``pod``, ``far``, ``csi`` along ``threshold`` if asked.
    """
    from xgpm.verify import categorical, continuous

    if forecast is None or reference is None:
        volumes = "dpr_dbz_s" in samples
        forecast = forecast or ("dpr_dbz_s" if volumes else "dpr_rain")
        reference = reference or ("gr_dbz" if volumes else "gr_rain")
    for name in (forecast, reference):
        if name not in samples:
            raise InvalidArgumentError(
                f"samples has no {name!r} (variables: {list(samples.data_vars)})"
            )
    f, r = samples[forecast], samples[reference]
    both = f.notnull() & r.notnull()
    out = xr.Dataset(
        {
            "n": both.sum("sample"),
            "bias": continuous.bias(f, r, dim="sample"),
            "rmse": continuous.rmse(f, r, dim="sample"),
            "pearson_r": continuous.pearson_r(f, r, dim="sample"),
            "mean_forecast": f.where(both).mean("sample"),
            "mean_reference": r.where(both).mean("sample"),
        },
        attrs={
            "forecast": forecast,
            "reference": reference,
            "units": str(r.attrs.get("units", "")),
        },
    )
    if thresholds is not None:
        for name in ("pod", "far", "csi"):
            out[name] = getattr(categorical, name)(f, r, thresholds=thresholds, dim="sample")
    return out
