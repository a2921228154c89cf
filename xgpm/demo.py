"""``xgpm demo``: a simulated constellation morning over France, end to end, as an HTML report.

The demo simulates (once; later runs reuse the files) GMI, SSMIS F17, the DPR, IMERG and a
ground-radar composite over France, then reads every product back with xgpm's readers and
shows the whole chain: swaths of two radiometers, polarisation-corrected temperatures, the DPR
rain colocated onto GMI footprints, SSMIS translated to pseudo-GMI (``ds.gpm.to_gmi()``), rain
retrieved by DRAIN from GMI and from pseudo-GMI (``ds.gpm.rainrate()``), IMERG scored against
the radar reference and scored without it by the learned scorer (predicted scores and
clusters). Each step reports its progress; the report is ``<out>/report.html``.
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

__all__ = ["run_demo", "add_parser", "run"]

SENSORS = "gmi,ssmis-f17,dpr,imerg,radar"
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


def run_demo(
    out: str | os.PathLike = "xgpm-demo",
    *,
    region: str = "france",
    start: str = "2021-06-15T04:30",
    hours: float = 2.5,
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
        Where the report and its figures go.
    region, start, hours, seed
        The simulated window (France, a June morning with GMI, SSMIS and DPR overpasses).
    data_dir : path-like, optional
        Where the simulated granules go; a per-window cache folder by default
        (``$XDG_CACHE_HOME/xgpm/demo/...``), so a second run simulates nothing.
    truth_res_km, radar_step
        Simulation resolution and radar accumulation period (coarser = faster).
    progress : bool
        Progress bars while simulating.
    to_gmi_model : str
        Translation method for SSMIS (``"auto"``: the best one with shipped weights).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import xgpm
    from xgpm.io.odim import open_radar_composite
    from xgpm.reference import reference_for
    from xgpm.simulate.products import simulate_to_disk

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

    _step(f"2/{N_STEPS} reading the granules with xgpm's readers", log)
    gmi_files, ssmis_files, dpr_files = paths("1C-GMI"), paths("1C-SSMIS-F17"), paths("2A-DPR")
    if not gmi_files or not ssmis_files:
        raise xgpm.XGPMError(
            f"no GMI or SSMIS overpass over {region} between {start} and +{hours} h; "
            "choose another start (the default has both)"
        )
    gmi = xgpm.open_granule(gmi_files[-1]).load()
    ssmis = xgpm.open_granule(ssmis_files[0]).load()
    figures: dict[str, str] = {}

    fig, axes = plt.subplots(2, 2, figsize=(12, 10))
    gmi.gpm.plot_swath("Tc", channel="19H", ax=axes[0, 0], vmin=100, vmax=290)
    ssmis.gpm.plot_swath("Tc", channel="19H", ax=axes[0, 1], vmin=100, vmax=290)
    gmi.gpm.plot_swath("Tc", channel="89V", ax=axes[1, 0], vmin=150, vmax=290)
    ssmis.gpm.plot_swath("Tc", channel="91V", ax=axes[1, 1], vmin=150, vmax=290)
    fig.suptitle("The domain gap: GMI 18.7/89 GHz vs SSMIS 19.35/91.655 GHz (footprints differ)")
    figures["swaths"] = _save(fig, out / "swaths.png")

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    gmi.gpm.pct(89).gpm.plot_swath(ax=axes[0], vmin=150, vmax=290)
    ssmis.gpm.pct(89).gpm.plot_swath(ax=axes[1], vmin=150, vmax=290)
    fig.suptitle("PCT89 = 1.7 V - 0.7 H: ice scattering of precipitation lowers it")
    figures["pct"] = _save(fig, out / "pct.png")

    _step(f"3/{N_STEPS} colocating the DPR's rain onto GMI's 89 GHz footprints", log)
    dpr_table, coloc = "", None
    if dpr_files:
        dpr = xgpm.open_granule(dpr_files[-1], variables=["precipRateNearSurface"]).load()
        coloc = xgpm.colocate(
            dpr,
            gmi,
            radius_km=10.0,
            method="gaussian",
            sensor="GMI",
            channel="89V",
            variables=["precipRateNearSurface"],
            on_empty="nan",
        )
        fig, axes = plt.subplots(1, 2, figsize=(12, 5))
        dpr.gpm.plot_swath("precipRateNearSurface", ax=axes[0], vmin=0, vmax=10, cmap="turbo")
        coloc.gpm.plot_swath("precipRateNearSurface", ax=axes[1], vmin=0, vmax=10, cmap="turbo")
        axes[1].set_title("DPR rain on GMI 89 GHz footprints (Gaussian EFOV)")
        figures["dpr"] = _save(fig, out / "dpr_on_gmi.png")
        seen = coloc["precipRateNearSurface"].values
        dpr_table = (
            f"{np.isfinite(seen).sum()} GMI pixels under the DPR swath; "
            f"{np.nanmean(seen >= 0.2) * 100:.1f} % of them with rain >= 0.2 mm/h"
        )

    model = choose_to_gmi_model("SSMIS-F17") if to_gmi_model == "auto" else to_gmi_model
    _step(f"4/{N_STEPS} translating SSMIS to pseudo-GMI with to_gmi(model={model!r})", log)
    pseudo = ssmis.gpm.to_gmi(model=model).load()
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    ssmis.gpm.plot_swath("Tc", channel="91V", ax=axes[0], vmin=150, vmax=290)
    axes[0].set_title("SSMIS F17 91V (source)")
    pseudo.gpm.plot_swath("Tc", channel="89V", ax=axes[1], vmin=150, vmax=290)
    axes[1].set_title(f"pseudo-GMI 89V ({pseudo.attrs.get('xgpm_model', model)})")
    gmi.gpm.plot_swath("Tc", channel="89V", ax=axes[2], vmin=150, vmax=290)
    axes[2].set_title("GMI 89V (its own overpass)")
    fig.suptitle("SSMIS translated to GMI's channels and pixel spacing")
    figures["to_gmi"] = _save(fig, out / "to_gmi.png")

    _step(f"5/{N_STEPS} retrieving rain with DRAIN from GMI and from pseudo-GMI", log)
    rain_gmi = gmi.gpm.rainrate().load()
    rain_pseudo = pseudo.gpm.rainrate().load()
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    rain_gmi.gpm.plot_swath("surface_precip", ax=axes[0])
    axes[0].set_title("DRAIN on GMI")
    rain_pseudo.gpm.plot_swath("surface_precip", ax=axes[1])
    axes[1].set_title("DRAIN on pseudo-GMI (from SSMIS)")
    if coloc is not None:
        coloc["precipRateNearSurface"].attrs["units"] = "mm/h"
        coloc.gpm.plot_swath("precipRateNearSurface", ax=axes[2])
        axes[2].set_title("DPR on GMI footprints (reference)")
    else:
        axes[2].set_axis_off()
    figures["rain"] = _save(fig, out / "rain.png")
    retrieval = _retrieval_table(rain_gmi, coloc)

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
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, field, title in (
        (axes[0], fc.isel(time=wettest), "IMERG (simulated)"),
        (axes[1], ref["precipitation"].isel(time=wettest), "radar reference (0.1 deg, half hour)"),
    ):
        field.plot(ax=ax, vmin=0, vmax=5, cmap="turbo", cbar_kwargs={"label": "mm/h"})
        ax.set_title(f"{title} {pd.Timestamp(fc.time.values[wettest]):%H:%M}")
    figures["imerg"] = _save(fig, out / "imerg_vs_radar.png")
    table = _score_table(scores)
    learned = imerg.sel(time=ref["time"]).gpm.score()
    learned_table = _learned_table(learned, scores)
    figures["scorer"] = _save(_learned_figure(learned, scores), out / "learned_scores.png")
    figures["clusters"] = _save(_cluster_map(learned), out / "cluster_map.png")

    _step(f"7/{N_STEPS} writing the report", log)
    report = out / "report.html"
    report.write_text(
        _html(figures, table, dpr_table, log, catalog, data, retrieval, learned_table),
        encoding="utf-8",
    )
    print(f"[xgpm demo] report: {report.resolve()}", flush=True)
    return report


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


def _retrieval_table(rain: Any, coloc: Any) -> pd.DataFrame:
    """DRAIN on GMI against the DPR on GMI footprints, where the DPR saw."""
    from xgpm.errors import NoValidPairsError
    from xgpm.evaluate import evaluate_retrieval

    if coloc is None:
        return pd.DataFrame()
    reference = coloc["precipRateNearSurface"].transpose(*rain["surface_precip"].dims)
    try:
        result = evaluate_retrieval(rain["surface_precip"], reference, rain_threshold=1.0)
    except NoValidPairsError:
        return pd.DataFrame()
    names = {
        "n_valid": "pixels",
        "bias": "bias",
        "mse": "MSE",
        "correlation": "correlation",
        "pod": "POD > 1 mm/h",
        "far": "FAR > 1 mm/h",
        "csi": "CSI > 1 mm/h",
    }
    rows = {}
    for key, label in names.items():
        if key in result:
            units = result[key].attrs.get("units", "")
            suffix = f" ({units})" if units and units not in ("1", "-") else ""
            value = float(result[key])
            rows[label + suffix] = f"{value:.0f}" if key == "n_valid" else f"{value:.3f}"
    return pd.DataFrame({"DRAIN on GMI vs DPR": rows})


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
    from xgpm.scoring.clusters import plot_som_scores

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
{"" if retrieval is None or retrieval.empty else retrieval.to_html()}
{img("rain", "DRAIN on GMI, DRAIN on pseudo-GMI, and the DPR reference")}
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
    parser.add_argument("--start", default="2021-06-15T04:30")
    parser.add_argument("--hours", type=positive_float, default=2.5, help="hours simulated")
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
