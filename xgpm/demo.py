"""``xgpm demo``: a simulated constellation morning over France, end to end, as an HTML report.

The demo simulates (once; later runs reuse the files) GMI, SSMIS F17, the DPR, IMERG and a
ground-radar composite over France, then reads every product back with xgpm's readers and
shows the whole chain on a showcase overpass: the DPR granule that sees the most rain, GMI on
the same satellite and the SSMIS overpass nearest in time (the default window has GPM over
rain at 06:28 UTC on 13 June 2021 and SSMIS F17 within a minute). Swaths of both radiometers,
polarisation-corrected temperatures, the DPR rain colocated onto GMI footprints, SSMIS
translated to pseudo-GMI (``ds.gpm.to_gmi()``), rain retrieved by DRAIN from GMI and from
pseudo-GMI (``ds.gpm.rainrate()``) and scored for both against the DPR, IMERG scored against
the radar reference and scored without it by the learned scorer (predicted scores and
clusters). Each step reports its progress; the report is ``<out>/report.html`` and the
showcase's numbers are in ``<out>/summary.json``.
"""

from __future__ import annotations

import argparse
import html
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "run_demo",
    "pick_showcase",
    "overpass_time",
    "swath_outline",
    "add_parser",
    "run",
]

SENSORS = "gmi,ssmis-f17,dpr,imerg,radar"
#: The default window: GPM (GMI and the DPR) over rain in France at 06:28 UTC, SSMIS F17 at 06:30.
DEFAULT_START = "2021-06-13T05:00"
DEFAULT_HOURS = 2.0
#: A DPR pixel rains where its near-surface rain is at least this (mm/h): the rain scale's floor.
RAIN_MM_H = 0.1
#: The name of every rain panel's field (the label of the shared colour bar).
RAIN = "rain rate"
#: Fewer rainy DPR pixels than this and the report says the statistics mean little.
MIN_RAINY_DPR_PIXELS = 1000
#: evaluate_retrieval's variables shown in the report, and their labels.
RETRIEVAL_SCORES = {
    "bias": "bias (%)",
    "mse": "MSE ((mm/h)^2)",
    "correlation": "correlation",
    "pod": "POD > 1 mm/h",
    "far": "FAR > 1 mm/h",
    "csi": "CSI > 1 mm/h",
}
#: Translation methods tried by ``--to-gmi-model auto``, best first (those with weights).
TO_GMI_PREFERENCE = ("redgan", "cyclegan_r", "quantile_mapping", "identity")
N_STEPS = 7


def choose_to_gmi_model(sensor: str, preference: tuple[str, ...] = TO_GMI_PREFERENCE) -> str:
    """The best translation method with shipped weights for ``sensor``."""
    from xgpm import models
    from xgpm.errors import ModelNotFoundError
    from xgpm.translate import to_gmi_models

    available = set(models.list_models(with_weights=True))
    methods = {
        str(card.raw.get("method")) for card in to_gmi_models(sensor) if card.name in available
    }
    for method in preference:
        if method in methods:
            return method
    raise ModelNotFoundError(f"no translation model with weights for {sensor}; see docs/to_gmi.md")


def _cache_dir(region: str, start: str, hours: float, seed: int) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "xgpm" / "demo"
    tag = f"{region}-{pd.Timestamp(start):%Y%m%dT%H%M}-{hours:g}h-seed{seed}"
    return root / tag


def _step(message: str, log: list[str]) -> float:
    print(f"[xgpm demo] {message}", flush=True)
    log.append(message)
    return time.perf_counter()


def _save(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path.name


def _mid_time(row: pd.Series) -> pd.Timestamp:
    start, end = pd.Timestamp(row["start"]), pd.Timestamp(row["end"])
    return start + (end - start) / 2


def pick_showcase(catalog: pd.DataFrame, data: Path) -> dict[str, Any]:
    """The overpass to show: the DPR granule that sees the most rain, its GMI, the nearest SSMIS.

    Parameters
    ----------
    catalog : pandas.DataFrame
        The simulation's catalog (``product``, ``path``, ``start``, ``end``, ``granule``).
    data : Path
        The folder the catalog's paths are relative to.

    Returns
    -------
    dict
        ``gmi``, ``ssmis`` and ``dpr`` (paths; ``dpr`` None when no DPR granule has a GMI
        granule of the same orbit), ``dpr_pixels`` and ``rainy_dpr_pixels`` (DPR pixels, and
        those with near-surface rain >= :data:`RAIN_MM_H`), ``ssmis_dt`` (SSMIS minus DPR
        time, a Timedelta).

    Raises
    ------
    xgpm.errors.XGPMError
        No GMI or no SSMIS overpass in the window.
    """
    import xgpm

    rows = {p: catalog.loc[catalog["product"] == p] for p in ("1C-GMI", "1C-SSMIS-F17", "2A-DPR")}
    gmi_rows, ssmis_rows, dpr_rows = rows["1C-GMI"], rows["1C-SSMIS-F17"], rows["2A-DPR"]
    if gmi_rows.empty or ssmis_rows.empty:
        raise xgpm.XGPMError(
            "no GMI or no SSMIS overpass in the simulated window; choose another --start "
            "(the default has both, and the DPR under rain)"
        )
    best: tuple[int, int, pd.Series] | None = None
    for _, row in dpr_rows.iterrows():
        if not (gmi_rows["granule"] == row["granule"]).any():
            continue
        rain = xgpm.open_granule(data / row["path"], variables="precipRateNearSurface")
        values = rain["precipRateNearSurface"].values
        counts = (int((values >= RAIN_MM_H).sum()), int(np.isfinite(values).sum()))
        if best is None or counts[0] > best[0]:
            best = (*counts, row)
    if best is None:  # no DPR: the last GMI and the first SSMIS overpass, as a plain tour
        return {
            "gmi": data / gmi_rows["path"].iloc[-1],
            "ssmis": data / ssmis_rows["path"].iloc[0],
            "dpr": None,
            "dpr_pixels": 0,
            "rainy_dpr_pixels": 0,
            "ssmis_dt": None,
        }
    rainy, pixels, dpr_row = best
    gmi_row = gmi_rows.loc[gmi_rows["granule"] == dpr_row["granule"]].iloc[0]
    when = _mid_time(dpr_row)
    offsets = ssmis_rows.apply(lambda r: _mid_time(r) - when, axis=1)
    nearest = offsets.abs().idxmin()
    return {
        "gmi": data / gmi_row["path"],
        "ssmis": data / ssmis_rows.loc[nearest, "path"],
        "dpr": data / dpr_row["path"],
        "dpr_pixels": pixels,
        "rainy_dpr_pixels": rainy,
        "ssmis_dt": offsets.loc[nearest],
    }


def overpass_time(ds: Any) -> pd.Timestamp:
    """The middle of a swath's scan times (NaT scans left out), to the second."""
    times = np.asarray(ds["time"].values, dtype="datetime64[ns]").ravel()
    times = times[~np.isnat(times)]
    if not times.size:
        return pd.NaT
    return pd.Timestamp(times[times.size // 2]).round("s")


def _name(ds: Any) -> str:
    """``"GMI (GPM)"``, ``"SSMIS (F17)"``, ``"DPR (GPM)"``: instrument and satellite."""
    instrument = str(ds.attrs.get("InstrumentName", "")).strip() or "?"
    satellite = str(ds.attrs.get("SatelliteName", "")).strip()
    return f"{instrument} ({satellite})" if satellite else instrument


def _label(ds: Any, what: str = "") -> str:
    """A panel title: sensor, what is drawn, overpass time (``"GMI (GPM) 89V, 06:28 UTC"``)."""
    when = overpass_time(ds)
    clock = "" if when is pd.NaT else f", {when:%H:%M} UTC"
    return f"{_name(ds)}{' ' + what if what else ''}{clock}"


def swath_outline(ds: Any) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of a swath's edge, closed: its first and last pixels and scans."""
    lon = np.asarray(ds["lon"].transpose("cross_track", "along_track").values, dtype=float)
    lat = np.asarray(ds["lat"].transpose("cross_track", "along_track").values, dtype=float)
    scans = np.flatnonzero(np.isfinite(lon).all(0) & np.isfinite(lat).all(0))
    if not scans.size:
        return np.array([]), np.array([])
    lon, lat = lon[:, scans], lat[:, scans]
    edge = [
        (lon[0, :], lat[0, :]),
        (lon[:, -1], lat[:, -1]),
        (lon[-1, ::-1], lat[-1, ::-1]),
        (lon[::-1, 0], lat[::-1, 0]),
    ]
    return np.concatenate([e[0] for e in edge]), np.concatenate([e[1] for e in edge])


def _outline(axes: Any, outline: tuple[np.ndarray, np.ndarray], label: str = "DPR swath") -> None:
    """Draw the DPR swath's edge on every panel (map axes get their Plate Carree transform)."""
    from xgpm.plot import _is_geoaxes

    lon, lat = outline
    if not lon.size:
        return
    for ax in axes:
        kwargs: dict[str, Any] = {}
        if _is_geoaxes(ax):
            import cartopy.crs as ccrs

            kwargs["transform"] = ccrs.PlateCarree()
        ax.plot(lon, lat, color="black", lw=1.2, ls="--", label=label, **kwargs)
    axes[0].legend(loc="lower left", fontsize="small")


def _rain(da: Any, name: str | None = None) -> Any:
    """A rain-rate DataArray with the units the shared rain scale of ``plot_compare`` wants.

    ``name`` renames it (the colour bar's label).
    """
    da = da.assign_attrs(units="mm/h")
    return da if name is None else da.rename(name)


def run_demo(
    out: str | os.PathLike = "xgpm-demo",
    *,
    region: str = "france",
    start: str = DEFAULT_START,
    hours: float = DEFAULT_HOURS,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    truth_res_km: float = 2.5,
    radar_step: str = "10min",
    progress: bool = True,
    to_gmi_model: str = "auto",
) -> Path:
    """Run the demo and return the path of its HTML report.

    Parameters
    ----------
    out : path-like
        Where the report, its figures and ``summary.json`` (the showcase's numbers) go.
    region, start, hours, seed
        The simulated window: by default France on the morning of 13 June 2021, when GPM
        (GMI and the DPR) passes over rain at 06:28 UTC and SSMIS F17 two minutes later.
    data_dir : path-like, optional
        Where the simulated granules go; a per-window cache folder by default
        (``$XDG_CACHE_HOME/xgpm/demo/...``), so a second run simulates nothing.
    truth_res_km, radar_step
        Simulation resolution and radar accumulation period (coarser = faster).
    progress : bool
        Progress bars while simulating.
    to_gmi_model : str
        Translation method for SSMIS (``"auto"``: the best one with shipped weights).

    Returns
    -------
    Path
        ``<out>/report.html``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import xgpm
    from xgpm.io.odim import open_radar_composite
    from xgpm.plot import plot_compare
    from xgpm.simulate.products import simulate_to_disk
    from xgpm.verify.reference import reference_for

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(data_dir) if data_dir else _cache_dir(region, start, hours, seed)
    log: list[str] = []
    t0 = _step(
        f"1/{N_STEPS} simulating {hours:g} h over {region} from {start} into {data} "
        "(reused if already there)",
        log,
    )
    catalog = simulate_to_disk(
        data,
        region,
        start,
        days=hours / 24.0,
        sensors=SENSORS,
        seed=seed,
        truth_res_km=truth_res_km,
        radar_step=radar_step,
        progress=progress,
    )
    log.append(
        f"   {len(catalog)} files in {time.perf_counter() - t0:.0f} s: "
        + ", ".join(f"{n} {p}" for p, n in catalog.groupby("product").size().items())
    )

    def paths(product: str) -> list[Path]:
        return [data / p for p in catalog.loc[catalog["product"] == product, "path"]]

    _step(f"2/{N_STEPS} reading the granules with xgpm's readers; picking the showcase", log)
    show = pick_showcase(catalog, data)
    gmi = xgpm.open_granule(show["gmi"]).load()
    ssmis = xgpm.open_granule(show["ssmis"]).load()
    dpr = None
    if show["dpr"] is not None:
        dpr = xgpm.open_granule(show["dpr"], variables=["precipRateNearSurface"]).load()
        dpr["precipRateNearSurface"] = _rain(dpr["precipRateNearSurface"])
        log.append(
            f"   showcase: the DPR overpass at {overpass_time(dpr):%H:%M} UTC "
            f"({show['dpr'].name}): {show['rainy_dpr_pixels']} of its {show['dpr_pixels']} "
            f"pixels rain (>= {RAIN_MM_H:g} mm/h); SSMIS F17 passes "
            f"{_minutes(show['ssmis_dt'])} it"
        )
        if show["rainy_dpr_pixels"] < MIN_RAINY_DPR_PIXELS:
            log.append(
                f"   the DPR sees little rain in this window (fewer than {MIN_RAINY_DPR_PIXELS} "
                "rainy pixels): its statistics below mean little; choose another --start"
            )
    outline = swath_outline(dpr) if dpr is not None else (np.array([]), np.array([]))
    figures: dict[str, str] = {}

    fig, axes = plt.subplots(2, 2, figsize=(12, 10))
    for ax, ds, channel, what, low in (
        (axes[0, 0], gmi, "19H", "18.7 GHz H", 100),
        (axes[0, 1], ssmis, "19H", "19.35 GHz H", 100),
        (axes[1, 0], gmi, "89V", "89 GHz V", 150),
        (axes[1, 1], ssmis, "91V", "91.655 GHz V", 150),
    ):
        ds.gpm.plot_swath("Tc", channel=channel, ax=ax, vmin=low, vmax=290)
        ax.set_title(_label(ds, what))
    fig.suptitle("The domain gap: two radiometers, one morning (footprints and channels differ)")
    figures["swaths"] = _save(fig, out / "swaths.png")

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, ds in ((axes[0], gmi), (axes[1], ssmis)):
        ds.gpm.pct(89).gpm.plot_swath(ax=ax, vmin=150, vmax=290)
        ax.set_title(_label(ds, "PCT89"))
    fig.suptitle("PCT89 = 1.7 V - 0.7 H: ice scattering of precipitation lowers it")
    figures["pct"] = _save(fig, out / "pct.png")

    _step(f"3/{N_STEPS} colocating the DPR's rain onto GMI's 89 GHz footprints", log)
    dpr_text, coloc = "No DPR overpass with GMI in this window.", None
    if dpr is not None:
        coloc = _colocate_dpr(xgpm, dpr, gmi)
        fig = plot_compare(
            [
                _rain(dpr["precipRateNearSurface"], RAIN),
                _rain(coloc["precipRateNearSurface"], RAIN),
            ],
            titles=[
                _label(dpr, "near-surface rain"),
                f"the same on GMI 89 GHz footprints, {overpass_time(gmi):%H:%M} UTC",
            ],
            extent=_box(outline, margin=0.5),
            suptitle="DPR rain, and convolved with GMI's Gaussian 89 GHz footprint",
        )
        _outline(fig.axes[:2], outline)
        figures["dpr"] = _save(fig, out / "dpr_on_gmi.png")
        seen = coloc["precipRateNearSurface"].values
        dpr_text = (
            f"The DPR passes over France at {overpass_time(dpr):%H:%M} UTC: "
            f"{show['rainy_dpr_pixels']} of its {show['dpr_pixels']} pixels rain "
            f"(>= {RAIN_MM_H:g} mm/h). On GMI's footprints: {int(np.isfinite(seen).sum())} GMI "
            f"pixels under the DPR swath, {int((seen >= RAIN_MM_H).sum())} of them rainy."
        )

    model = choose_to_gmi_model("SSMIS-F17") if to_gmi_model == "auto" else to_gmi_model
    _step(f"4/{N_STEPS} translating SSMIS to pseudo-GMI with to_gmi(model={model!r})", log)
    pseudo = ssmis.gpm.to_gmi(model=model).load()
    pseudo.attrs.update(InstrumentName="pseudo-GMI from SSMIS", SatelliteName="F17")
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    ssmis.gpm.plot_swath("Tc", channel="91V", ax=axes[0], vmin=150, vmax=290)
    axes[0].set_title(_label(ssmis, "91V (source)"))
    pseudo.gpm.plot_swath("Tc", channel="89V", ax=axes[1], vmin=150, vmax=290)
    axes[1].set_title(_label(pseudo, f"89V ({pseudo.attrs.get('xgpm_to_gmi_model', model)})"))
    gmi.gpm.plot_swath("Tc", channel="89V", ax=axes[2], vmin=150, vmax=290)
    axes[2].set_title(_label(gmi, "89V"))
    fig.suptitle("SSMIS translated to GMI's channels and pixel spacing")
    figures["to_gmi"] = _save(fig, out / "to_gmi.png")

    _step(f"5/{N_STEPS} retrieving rain with DRAIN from GMI and from pseudo-GMI", log)
    rain_gmi = gmi.gpm.rainrate().load()
    rain_pseudo = pseudo.gpm.rainrate().load()
    panels = [_rain(rain_gmi["surface_precip"], RAIN), _rain(rain_pseudo["surface_precip"], RAIN)]
    titles = [_label(gmi, "DRAIN rain"), _label(pseudo, "DRAIN rain")]
    if dpr is not None:
        panels.insert(0, _rain(dpr["precipRateNearSurface"], RAIN))
        titles.insert(0, _label(dpr, "near-surface rain (reference)"))
    frame = _box(outline, margin=2.0) if dpr is not None else None
    fig = plot_compare(
        panels,
        titles=titles,
        extent=frame,
        suptitle="Rain under the DPR: the radar and DRAIN on both radiometers, one scale",
    )
    _outline(fig.axes[: len(panels)], outline)
    figures["rain"] = _save(fig, out / "rain.png")
    statistics: dict[str, dict[str, float]] = {}
    if dpr is not None:
        coloc_pseudo = _colocate_dpr(xgpm, dpr, pseudo)
        statistics = {
            f"DRAIN on GMI ({overpass_time(gmi):%H:%M} UTC)": _retrieval_stats(rain_gmi, coloc),
            f"DRAIN on pseudo-GMI from SSMIS F17 ({overpass_time(pseudo):%H:%M} UTC)": (
                _retrieval_stats(rain_pseudo, coloc_pseudo)
            ),
        }
    retrieval = _retrieval_table(statistics)

    _step(f"6/{N_STEPS} building the radar reference on IMERG's grid and scoring IMERG", log)
    imerg = xgpm.open_granules(
        paths(catalog.loc[catalog["product"].str.startswith("IMERG"), "product"].iloc[0])
    ).load()
    radar = open_radar_composite(paths("RADAR-COMPOSITE"))
    ref = reference_for(radar, imerg, min_coverage=1.0, min_valid_fraction=0.9)
    fc = imerg["precipitation"].sel(time=ref["time"])
    scores = xgpm.score(
        fc.assign_attrs(units="mm/h"),
        ref["precipitation"],
        thresholds=(0.5, 1.0, 5.0),
        scales=(1, 5, 11),
    )
    wettest = int(ref["precipitation"].mean(("lat", "lon")).argmax("time"))
    stamp = f"{pd.Timestamp(fc.time.values[wettest]):%H:%M}"
    fig = plot_compare(
        [_rain(fc.isel(time=wettest), RAIN), _rain(ref["precipitation"].isel(time=wettest), RAIN)],
        titles=[f"IMERG (simulated), {stamp} UTC", f"radar reference (0.1 deg), {stamp} UTC"],
        suptitle="The wettest half hour (half hours start at the time shown)",
    )
    if dpr is not None:
        _outline(fig.axes[:2], outline, f"DPR swath ({overpass_time(dpr):%H:%M} UTC)")
    figures["imerg"] = _save(fig, out / "imerg_vs_radar.png")
    table = _score_table(scores)
    learned = imerg.sel(time=ref["time"]).gpm.score()
    learned_table = _learned_table(learned, scores)
    figures["scorer"] = _save(_learned_figure(learned, scores), out / "learned_scores.png")
    figures["clusters"] = _save(_cluster_map(learned), out / "cluster_map.png")

    _step(f"7/{N_STEPS} writing the report", log)
    _write_summary(out / "summary.json", show, dpr, gmi, ssmis, statistics)
    report = out / "report.html"
    report.write_text(
        _html(figures, table, dpr_text, log, catalog, data, retrieval, learned_table),
        encoding="utf-8",
    )
    print(f"[xgpm demo] report: {report.resolve()}", flush=True)
    return report


def _minutes(delta: Any) -> str:
    """A time offset as ``"26 s after"`` / ``"3 min before"``."""
    if delta is None or pd.isna(delta):
        return "at an unknown time"
    seconds = pd.Timedelta(delta).total_seconds()
    size = f"{abs(seconds):.0f} s" if abs(seconds) < 90 else f"{abs(seconds) / 60:.0f} min"
    return f"{size} {'after' if seconds >= 0 else 'before'}"


def _box(outline: tuple[np.ndarray, np.ndarray], margin: float) -> tuple[float, ...] | None:
    """(lon_min, lon_max, lat_min, lat_max) of the DPR swath plus ``margin`` degrees."""
    lon, lat = outline
    if not lon.size:
        return None
    return (
        float(lon.min() - margin),
        float(lon.max() + margin),
        float(lat.min() - margin),
        float(lat.max() + margin),
    )


def _colocate_dpr(xgpm: Any, dpr: Any, target: Any) -> Any:
    """The DPR's rain on a (pseudo-)GMI swath's 89 GHz footprints (Gaussian EFOV, 10 km)."""
    coloc = xgpm.colocate(
        dpr,
        target,
        radius_km=10.0,
        method="gaussian",
        sensor="GMI",
        channel="89V",
        variables=["precipRateNearSurface"],
        on_empty="nan",
    )
    coloc["precipRateNearSurface"] = _rain(coloc["precipRateNearSurface"])
    return coloc


def _retrieval_stats(rain: Any, coloc: Any) -> dict[str, float]:
    """DRAIN against the DPR on the same footprints, where the DPR saw (SatRain's metrics)."""
    from xgpm.errors import NoValidPairsError
    from xgpm.verify.retrieval import evaluate_retrieval

    reference = coloc["precipRateNearSurface"].transpose(*rain["surface_precip"].dims)
    stats = {
        "pixels": float(np.isfinite(reference.values).sum()),
        "rainy pixels (DPR)": float((reference.values >= RAIN_MM_H).sum()),
    }
    try:
        result = evaluate_retrieval(rain["surface_precip"], reference, rain_threshold=1.0)
    except NoValidPairsError:
        return stats
    for key, label in RETRIEVAL_SCORES.items():
        if key in result:
            stats[label] = float(result[key])
    return stats


def _retrieval_table(statistics: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One column per radiometer: counts as integers, scores to three decimals."""
    columns = {}
    for name, stats in statistics.items():
        columns[f"{name} vs DPR"] = {
            label: f"{value:.0f}" if label in ("pixels", "rainy pixels (DPR)") else f"{value:.3f}"
            for label, value in stats.items()
        }
    return pd.DataFrame(columns)


def _write_summary(
    path: Path, show: dict[str, Any], dpr: Any, gmi: Any, ssmis: Any, statistics: dict
) -> None:
    """The showcase's numbers as JSON (for scripts and tests)."""
    import json

    def clock(ds: Any) -> str | None:
        return None if ds is None else overpass_time(ds).isoformat()

    summary = {
        "showcase": {
            "dpr": None if show["dpr"] is None else show["dpr"].name,
            "gmi": show["gmi"].name,
            "ssmis": show["ssmis"].name,
            "dpr_time": clock(dpr),
            "gmi_time": clock(gmi),
            "ssmis_time": clock(ssmis),
            "dpr_pixels": show["dpr_pixels"],
            "rainy_dpr_pixels": show["rainy_dpr_pixels"],
            "rain_threshold_mm_h": RAIN_MM_H,
        },
        "statistics": statistics,
    }
    path.write_text(json.dumps(summary, indent=2, allow_nan=True), encoding="utf-8")


def _score_table(scores) -> pd.DataFrame:
    rows: dict[str, Any] = {}
    for name in ("bias", "mae", "pearson_r"):
        key = f"pooled_{name}"
        if key in scores:
            rows[name] = float(scores[key])
    for name in ("pod", "far", "csi"):
        key = f"pooled_{name}"
        if key in scores:
            for threshold in scores["threshold"].values:
                rows[f"{name.upper()} >= {threshold:g} mm/h"] = float(
                    scores[key].sel(threshold=threshold)
                )
    if "pooled_fss" in scores:
        for scale in scores["scale"].values:
            rows[f"FSS >= 1 mm/h, {int(scale)} cells"] = float(
                scores["pooled_fss"].sel(threshold=1.0, scale=scale)
            )
    return pd.DataFrame({"IMERG vs radar (pooled)": rows}).round(3)


def _learned_table(learned: Any, scores: Any) -> pd.DataFrame:
    """Per half hour: CSI at 1 mm/h against the radar, and predicted without it."""
    frame = pd.DataFrame(
        {
            "CSI >= 1 mm/h vs radar": scores["csi"].sel(threshold=1.0).values,
            "predicted CSI (no radar)": learned["csi_1"].values,
            "cluster": learned["cluster"].values,
            "cluster label": learned["cluster_label"].values,
        },
        index=pd.DatetimeIndex(learned["time"].values).strftime("%H:%M"),
    )
    return frame.round(3)


def _learned_figure(learned: Any, scores: Any):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    true = scores["csi"].sel(threshold=1.0).values
    predicted = learned["csi_1"].values
    low, high = learned["cluster_csi_q25"].values, learned["cluster_csi_q75"].values
    ax.errorbar(
        true,
        learned["cluster_csi_median"].values,
        yerr=[learned["cluster_csi_median"].values - low, high - learned["cluster_csi_median"]],
        fmt="s",
        color="0.6",
        label="cluster median (IQR)",
    )
    ax.scatter(true, predicted, color="C3", zorder=3, label="predicted from IMERG alone")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="CSI >= 1 mm/h against the radar")
    ax.set(ylabel="score without a reference", title="IMERG half hours: learned scorer")
    ax.legend(loc="upper left")
    return fig


def _cluster_map(learned: Any):
    """The scorer's SOM coloured by its nodes' median CSI, the demo's half hours starred."""
    from xgpm import models
    from xgpm.verify.learned.clusters import plot_som_scores

    net = models.load("scorer", "cpu")
    stats = net.som_stats[:, 0, :].numpy()  # target 0: CSI at 1 mm/h
    fig = plot_som_scores(
        stats, net.som_shape, title="scorer's SOM: median CSI of each node's training maps"
    )
    ax = fig.axes[0]
    cols = net.som_shape[1]
    for node in np.unique(learned["som_node"].values):
        row, col = divmod(int(node), cols)
        ax.plot(col, row - 0.32, marker="*", color="red", markersize=12)
    ax.set_xlabel("red star: a node holding one of this morning's half hours")
    return fig


def _html(figures, table, dpr_text, log, catalog, data, retrieval=None, learned=None) -> str:
    def img(key: str, caption: str) -> str:
        if key not in figures:
            return ""
        return (
            f'<figure><img src="{figures[key]}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    steps = "".join(f"<li>{html.escape(line)}</li>" for line in log)
    files = catalog.groupby("product").size().to_frame("files").to_html()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xgpm demo</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
figcaption {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>xgpm demo: a simulated constellation morning over France</h1>
<p>Every product below was simulated by <code>xgpm.simulate</code> (a physically grounded
observing-system simulator writing NASA's PPS HDF5 and ODIM_H5 formats) into
<code>{html.escape(str(data))}</code>, then read back with xgpm's readers.</p>
<h2>Steps</h2><ol>{steps}</ol>
<h2>Files</h2>{files}
<h2>Two radiometers, one scene</h2>
{img("swaths", "GMI and SSMIS brightness temperatures")}
{img("pct", "Polarisation-corrected temperature at 89 GHz")}
<h2>The DPR on GMI footprints</h2><p>{html.escape(dpr_text)}</p>
{img("dpr", "DPR near-surface rain and the same convolved to GMI footprints")}
<h2>SSMIS as if it were GMI</h2>
<p><code>ssmis.gpm.to_gmi()</code> maps SSMIS's channels onto GMI's 13 and its swath onto
GMI's pixel spacing, so that a retrieval trained on GMI reads it.</p>
{img("to_gmi", "SSMIS 91V, pseudo-GMI 89V and GMI 89V")}
<h2>Rain from one retrieval for both radiometers</h2>
<p>DRAIN (trained on GMI) reads GMI and the pseudo-GMI made from SSMIS; each is scored against
the DPR's rain convolved to its own 89 GHz footprints, on the pixels under the DPR swath
(dashed). Rain rates share one scale: 0.1 to 50 mm/h on log-spaced levels, drier pixels
transparent.</p>
{"" if retrieval is None or retrieval.empty else retrieval.to_html()}
{img("rain", "The DPR, DRAIN on GMI and DRAIN on pseudo-GMI, on the same axes and scale")}
<h2>IMERG against the radar</h2>
{table.to_html()}
{img("imerg", "IMERG and the radar reference for the wettest half hour")}
<h2>Scoring IMERG without the radar</h2>
<p><code>imerg.gpm.score()</code> with no reference predicts each half hour's scores from the
IMERG map and its quality fields, and places it in a cluster of the scorer's latent space,
labelled by the true scores of its training maps.</p>
{"" if learned is None else learned.to_html()}
{img("scorer", "CSI against the radar vs the learned scorer's prediction")}
{img("clusters", "The scorer's self-organising map, coloured by score")}
<p>The shipped models (DRAIN, the translation models, the scorer) are trained on simulated data
only; their model cards say so.</p>
</body></html>
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``xgpm demo``."""
    from xgpm.cli import positive_float

    parser = subparsers.add_parser(
        "demo", help="simulate a constellation morning over France and report on it (HTML)"
    )
    parser.add_argument("--out", default="xgpm-demo", help="report folder (default xgpm-demo)")
    parser.add_argument(
        "--start", default=DEFAULT_START, help=f"start of the window (default {DEFAULT_START})"
    )
    parser.add_argument(
        "--hours", type=positive_float, default=DEFAULT_HOURS, help="hours simulated"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data-dir", default=None, help="where the simulated files go (default: a cache folder)"
    )
    parser.add_argument(
        "--truth-res-km",
        type=positive_float,
        default=2.5,
        help="simulation resolution in km (coarser = faster)",
    )
    parser.add_argument("--radar-step", default="10min", help="radar accumulation period")
    parser.add_argument(
        "--to-gmi-model",
        default="auto",
        help="translation method for SSMIS (default auto: the best with shipped weights)",
    )
    parser.add_argument("--no-progress", action="store_true")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm demo``."""
    run_demo(
        args.out,
        start=args.start,
        hours=args.hours,
        seed=args.seed,
        data_dir=args.data_dir,
        truth_res_km=args.truth_res_km,
        radar_step=args.radar_step,
        progress=not args.no_progress,
        to_gmi_model=args.to_gmi_model,
    )
    return 0
